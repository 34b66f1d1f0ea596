// Seeded randomness for the simulator. One master seed; every consumer (a
// node's entropy, a link's loss, a disk's errors) draws from its own stream,
// derived from (seed, owner, purpose) by hashing rather than by drawing from a
// shared generator. Adding a node or a fault source therefore never shifts the
// numbers anyone else sees, and a stream can be recreated from its name alone.
#pragma once

#include <gantry/types.hpp>

namespace gantry::sim {

// The finalizer of splitmix64 (Steele, Lea, Flood 2014): a bijection on u64 with
// good avalanche, used both to derive stream states and to hash the event stream.
constexpr u64 mix64(u64 z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// What a stream is for. Values feed the derivation: never renumber, only add.
enum class Stream : u32 {
    entropy = 1, // Platform::fill_entropy of a node
    faults = 2,  // node-level fault decisions (allocation failures, timer jitter)
    network = 3, // reserved for the NIC and its links
    disk = 4,    // reserved for simulated disks
    world = 5,   // decisions of the world itself (scenario randomness)
    link = 6,    // a link direction's faults and jitter (owner: link id * 2 + side)
    chaos = 7,   // a scenario's chaos block (owner: block index * 4 + fault kind)
    random_fault = 8, // a scenario's random_within fault (owner: its place in the file)
};

// Owner id for streams that belong to the world rather than to a node.
inline constexpr u32 world_owner = 0xffff'ffff;

constexpr u64 derive_stream_state(u64 seed, u32 owner, Stream stream)
{
    // Each step is a bijection of the xored value, so different (owner, stream)
    // pairs under one seed give different states except with negligible chance.
    u64 state = mix64(seed ^ 0x6a09e667f3bcc909ull);
    state = mix64(state ^ (u64{owner} + 0x9e3779b97f4a7c15ull));
    return mix64(state ^ (u64{static_cast<u32>(stream)} << 32));
}

// splitmix64: tiny state, fast, and statistically sound for simulation.
class Rng {
public:
    constexpr explicit Rng(u64 state = 0) : m_state(state) {}
    constexpr Rng(u64 seed, u32 owner, Stream stream)
        : m_state(derive_stream_state(seed, owner, stream))
    {
    }

    constexpr u64 next_u64()
    {
        m_state += 0x9e3779b97f4a7c15ull;
        return mix64(m_state);
    }
    // Uniform in [0, bound) without modulo bias (Lemire's multiply-shift method).
    u64 below(u64 bound);
    // true with probability `permille` / 1000.
    bool chance_permille(u32 permille) { return below(1000) < permille; }
    void fill(MutableBytes out);

private:
    u64 m_state;
};

} // namespace gantry::sim
