// --net-faults: loss, delay, jitter, duplication, reordering and corruption
// applied at the NIC in both directions, for hosted runs against real peers on
// machines whose kernel has no netem. Wraps the real NIC the way smoltcp's
// FaultInjector wraps a Device. Decisions come from a PRNG seeded by seed=N,
// so a run's fault pattern is reproducible for the same traffic.
#pragma once

#include <gantry/nic.hpp>

#include <deque>
#include <string>
#include <vector>

namespace gantry::hosted {

struct NetFaults {
    u32 loss_ppm = 0;     // parts per million
    u32 dup_ppm = 0;
    u32 reorder_ppm = 0;
    u32 corrupt_ppm = 0;
    TimeNs delay_ns = 0;
    TimeNs jitter_ns = 0;
    u64 seed = 1;
    bool any() const
    {
        return loss_ppm || dup_ppm || reorder_ppm || corrupt_ppm || delay_ns || jitter_ns;
    }
};

// "loss=5%,delay=10ms,jitter=2ms,dup=1%,reorder=2%,corrupt=0.1%,seed=N".
std::string parse_net_faults(std::string_view text, NetFaults& out);

class FaultNic final : public Nic {
public:
    static constexpr usize queue_max = 4096; // frames held per direction
    static constexpr usize pull_max = 64;    // frames taken from the device per call

    using Clock = TimeNs (*)(void* context);
    FaultNic(Nic& inner, const NetFaults& faults, Clock clock, void* clock_context);

    net::MacAddress mac() const override { return m_inner.mac(); }
    usize mtu() const override { return m_inner.mtu(); }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

    // Sends held frames that are due; the earliest time something is due
    // (deadline_none if nothing is held), for the idle loop.
    void flush(TimeNs now);
    TimeNs next_due() const;

    struct Stats {
        u64 lost = 0, duplicated = 0, reordered = 0, corrupted = 0, overflow = 0;
    };
    const Stats& stats() const { return m_stats; }

private:
    struct Held {
        TimeNs due;
        u64 sequence;
        std::vector<u8> frame;
    };
    using Queue = std::deque<Held>;

    u64 next_random();
    bool chance(u32 ppm);
    // Applies loss/dup/corrupt/delay/reorder to one frame entering `queue`.
    void admit(Queue& queue, Bytes frame, TimeNs now);
    static void insert(Queue& queue, Held held);

    Nic& m_inner;
    NetFaults m_faults;
    Clock m_clock;
    void* m_clock_context;
    u64 m_state;
    u64 m_sequence = 0;
    Queue m_rx;
    Queue m_tx;
    Stats m_stats;
};

} // namespace gantry::hosted
