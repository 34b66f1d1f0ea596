// The platform interface: everything the core needs from the world it runs in.
// Hosted (Linux process), sim (deterministic simulator) and bare metal each
// implement it. Kept narrow on purpose: a simulator creates many of these.
//
// Context switching and panics are not here: they are once-per-target seams
// (gantry/arch/context.hpp, gantry/assert.hpp), chosen at link time.
#pragma once

#include <gantry/types.hpp>

namespace gantry {

class Nic;
class BlockDevice;

struct MemoryRegion {
    u8* base;
    usize bytes;
};

class Platform {
public:
    virtual ~Platform() = default;

    // Monotonic time in nanoseconds. Never goes backwards.
    virtual TimeNs now() = 0;

    // Blocks until `deadline` (monotonic ns, or deadline_none) passes or an
    // external event (a frame, a signal, a block completion) arrives. The
    // simulator never calls this: it drives Kernel::poll itself.
    virtual void idle_until(TimeNs deadline) = 0;

    virtual void console_write(std::string_view text) = 0;

    // Fills `out` with random bytes; under the simulator they come from the seed.
    virtual void fill_entropy(MutableBytes out) = 0;

    // Memory the kernel may use for its page allocator. Stable for the kernel's life.
    virtual std::span<const MemoryRegion> memory_regions() = 0;

    // Where encoded trace bytes go (a file when hosted). Platforms without a
    // sink return false; the tracer then discards its buffer whenever it fills
    // and counts the records lost.
    virtual bool trace_sink_enabled() { return false; }
    virtual void trace_sink_write(Bytes) {}

    // The kernel is entering boot phase `name` ("memory", "net", "app start"),
    // before doing its work. The simulator crashes a node here on request (a
    // crash during a chosen boot phase); everyone else ignores it.
    virtual void boot_phase_entered(std::string_view /*name*/) {}

    // Device slots filled by the network and block issues; nullptr when absent.
    virtual Nic* nic(usize /*index*/) { return nullptr; }
    virtual BlockDevice* block_device(usize /*index*/) { return nullptr; }
};

} // namespace gantry
