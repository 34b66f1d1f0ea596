#include <gantry/assert.hpp>
#include <gantry/sim/random.hpp>

namespace gantry::sim {

u64 Rng::below(u64 bound)
{
    GANTRY_ASSERT(bound > 0);
    // Reject the few low products that would over-represent small results.
    u64 threshold = (0 - bound) % bound;
    for (;;) {
        unsigned __int128 product = static_cast<unsigned __int128>(next_u64()) * bound;
        if (static_cast<u64>(product) >= threshold)
            return static_cast<u64>(product >> 64);
    }
}

void Rng::fill(MutableBytes out)
{
    usize index = 0;
    while (index < out.size()) {
        u64 value = next_u64();
        for (usize byte = 0; byte < 8 && index < out.size(); ++byte, ++index)
            out[index] = static_cast<u8>(value >> (8 * byte));
    }
}

} // namespace gantry::sim
