// DMA memory for one virtio test: page-aligned, freed at the end.
#pragma once

#include <gantry/virtio/mmio.hpp>

#include <cstdlib>
#include <memory>

namespace gantry::virtio::testing {

struct Arena {
    explicit Arena(usize bytes = 2 * 1024 * 1024)
        : memory(static_cast<u8*>(std::aligned_alloc(4096, bytes)), &std::free),
          arena(memory.get(), bytes)
    {
    }
    std::unique_ptr<u8, decltype(&std::free)> memory;
    DmaArena arena;
};

} // namespace gantry::virtio::testing
