// Chaos blocks into concrete faults (docs/scenarios.md, "Chaos"). Each kind of
// fault of each block is a Poisson process over [from, until) drawn from its
// own seeded stream (sim::Stream::chaos), with exponentially distributed
// durations; a fault that would hit a node, a pair or a link still under an
// earlier fault of the block is skipped, so every fault is undone exactly once.
// The result is plain FaultSpecs: what `gantry shrink` writes into the file.
#include "scenario.hpp"

#include <gantry/sim/random.hpp>

#include <algorithm>
#include <cmath>
#include <map>

namespace gantry::harness {

namespace {

enum class ChaosKind : u32 {
    crash = 0,
    pause = 1,
    partition = 2,
    loss_burst = 3,
    one_way_partition = 4,
    kernel_faults = 5,
};
constexpr u32 chaos_kinds = 6;
// The first four kinds own streams block * 4 + kind (kept as they were, so
// existing seeds keep their schedules); later kinds own streams of their own.
constexpr u32 chaos_kinds_original = 4;
constexpr u32 chaos_later_owner_base = 0x4000'0000;

u32 stream_owner(usize block, ChaosKind kind)
{
    auto index = static_cast<u32>(kind);
    if (index < chaos_kinds_original)
        return static_cast<u32>(block * chaos_kinds_original + index);
    return chaos_later_owner_base +
           static_cast<u32>(block * (chaos_kinds - chaos_kinds_original) + index -
                            chaos_kinds_original);
}
// A safety net under the loader's own bound on the expected count.
constexpr usize candidates_max = 20'000;
// A generated fault lasts at least this long (an instant fault would be undone
// in the same event).
constexpr TimeNs lasts_min_ns = 1 * ns_per_us;

class ChaosStream {
public:
    ChaosStream(u64 seed, usize block, ChaosKind kind)
        : m_rng(seed, stream_owner(block, kind), sim::Stream::chaos)
    {
    }
    // Uniform in [0, bound), multiply-shift.
    usize below(usize bound)
    {
        return static_cast<usize>((static_cast<unsigned __int128>(m_rng.next_u64()) * bound) >> 64);
    }
    // Exponentially distributed with the given mean, at least 1 ns.
    TimeNs exponential(double mean_ns)
    {
        double unit = (static_cast<double>(m_rng.next_u64() >> 11) + 0.5) * 0x1p-53; // (0, 1)
        double value = -std::log(unit) * mean_ns;
        return value >= 1e18 ? TimeNs{1'000'000'000'000'000'000} : std::max<TimeNs>(1, std::llround(value));
    }

private:
    sim::Rng m_rng;
};

struct Candidate {
    TimeNs at;
    ChaosKind kind;
    TimeNs lasts;
    usize a; // a node (crash, pause, partition) or a link (loss_burst)
    usize b; // partition: the second node
};

std::vector<std::string> node_pool(const Scenario& scenario, const ChaosSpec& chaos)
{
    if (!chaos.nodes.empty())
        return chaos.nodes;
    std::vector<std::string> names;
    for (const NodeSpec& node : scenario.nodes)
        names.push_back(node.name);
    return names;
}

std::vector<std::string> link_pool(const Scenario& scenario, const ChaosSpec& chaos)
{
    if (!chaos.links.empty())
        return chaos.links;
    std::vector<std::string> names;
    for (const LinkSpec& link : scenario.links)
        names.push_back(link.name);
    return names;
}

double rate_of(const ChaosSpec& chaos, ChaosKind kind)
{
    switch (kind) {
    case ChaosKind::crash: return chaos.crash_rate;
    case ChaosKind::pause: return chaos.pause_rate;
    case ChaosKind::partition: return chaos.partition_rate;
    case ChaosKind::loss_burst: return chaos.loss_burst_rate;
    case ChaosKind::one_way_partition: return chaos.one_way_partition_rate;
    case ChaosKind::kernel_faults: return chaos.kernel_fault_rate;
    }
    return 0;
}

// One kind's arrivals over the block's window, targets and durations drawn
// at each arrival from the kind's stream.
void generate(const ChaosSpec& chaos, usize block, ChaosKind kind, usize pool, u64 seed,
              std::vector<Candidate>& out)
{
    double rate = rate_of(chaos, kind);
    bool pair = kind == ChaosKind::partition || kind == ChaosKind::one_way_partition;
    if (rate <= 0 || pool == 0 || (pair && pool < 2))
        return;
    ChaosStream stream(seed, block, kind);
    double mean_gap_ns = 1e9 / rate;
    TimeNs at = chaos.from_ns;
    for (usize count = 0; count < candidates_max; ++count) {
        at += stream.exponential(mean_gap_ns);
        if (at >= chaos.until_ns)
            return;
        Candidate candidate{at, kind, 0, stream.below(pool), 0};
        if (pair) {
            candidate.b = stream.below(pool - 1);
            candidate.b += candidate.b >= candidate.a ? 1 : 0;
        }
        TimeNs lasts = stream.exponential(static_cast<double>(chaos.mean_duration_ns));
        candidate.lasts = std::min(std::max(lasts, lasts_min_ns), chaos.until_ns - at);
        out.push_back(candidate);
    }
}

FaultSpec make_fault(const ChaosSpec& chaos, FaultKind kind, TimeNs at)
{
    FaultSpec fault;
    fault.kind = kind;
    fault.at_ns = at;
    fault.generated = true;
    fault.mark = chaos.mark;
    return fault;
}

// Turns the accepted candidates of one block into faults and their undoing.
void emit(const ChaosSpec& chaos, const std::vector<std::string>& nodes,
          const std::vector<std::string>& links, const std::vector<Candidate>& candidates,
          std::vector<FaultSpec>& out)
{
    // "node:x", "kernel:x", "pair:a|b", "link:l": one fault at a time on each.
    // A one-way partition shares its pair's key: a heal ends both directions.
    std::map<std::string, TimeNs> busy_until;
    for (const Candidate& c : candidates) {
        std::string key;
        if (c.kind == ChaosKind::loss_burst) {
            key = "link:" + links[c.a];
        } else if (c.kind == ChaosKind::partition || c.kind == ChaosKind::one_way_partition) {
            usize low = std::min(c.a, c.b), high = std::max(c.a, c.b);
            key = "pair:" + nodes[low] + "|" + nodes[high];
        } else if (c.kind == ChaosKind::kernel_faults) {
            key = "kernel:" + nodes[c.a];
        } else {
            key = "node:" + nodes[c.a];
        }
        if (auto found = busy_until.find(key); found != busy_until.end() && found->second > c.at)
            continue;
        busy_until[key] = c.at + c.lasts;
        TimeNs end = c.at + c.lasts;
        switch (c.kind) {
        case ChaosKind::crash:
        case ChaosKind::pause: {
            bool crash = c.kind == ChaosKind::crash;
            FaultSpec start = make_fault(chaos, crash ? FaultKind::crash : FaultKind::pause, c.at);
            FaultSpec undo = make_fault(chaos, crash ? FaultKind::restart : FaultKind::resume, end);
            start.node = undo.node = nodes[c.a];
            out.push_back(start);
            out.push_back(undo);
            break;
        }
        case ChaosKind::partition:
        case ChaosKind::one_way_partition: {
            FaultSpec start = make_fault(chaos, FaultKind::partition, c.at);
            FaultSpec undo = make_fault(chaos, FaultKind::heal, end);
            start.node = undo.node = nodes[c.a];
            start.node2 = undo.node2 = nodes[c.b];
            start.one_way = c.kind == ChaosKind::one_way_partition;
            out.push_back(start);
            out.push_back(undo);
            break;
        }
        case ChaosKind::kernel_faults: {
            FaultSpec start = make_fault(chaos, FaultKind::kernel_faults, c.at);
            FaultSpec undo = make_fault(chaos, FaultKind::kernel_faults, end);
            start.node = undo.node = nodes[c.a];
            start.kernel_faults = chaos.kernel_faults;
            out.push_back(start);
            out.push_back(undo); // all zero: the node's kernel runs clean again
            break;
        }
        case ChaosKind::loss_burst: {
            FaultSpec burst = make_fault(chaos, FaultKind::loss_burst, c.at);
            burst.link = links[c.a];
            burst.loss_ppm = chaos.burst_loss_ppm;
            burst.for_ns = c.lasts;
            out.push_back(burst);
            break;
        }
        }
    }
}

} // namespace

std::vector<FaultSpec> expand_chaos(const Scenario& scenario, u64 seed)
{
    std::vector<FaultSpec> faults;
    for (usize block = 0; block < scenario.chaos.size(); ++block) {
        const ChaosSpec& chaos = scenario.chaos[block];
        std::vector<std::string> nodes = node_pool(scenario, chaos);
        std::vector<std::string> links = link_pool(scenario, chaos);
        std::vector<Candidate> candidates;
        for (u32 kind = 0; kind < chaos_kinds; ++kind) {
            auto chaos_kind = static_cast<ChaosKind>(kind);
            usize pool = chaos_kind == ChaosKind::loss_burst ? links.size() : nodes.size();
            generate(chaos, block, chaos_kind, pool, seed, candidates);
        }
        // Time order, kinds in a fixed order on ties: the busy check below
        // then sees the faults as the run will.
        std::stable_sort(candidates.begin(), candidates.end(),
                         [](const Candidate& x, const Candidate& y) {
                             return x.at != y.at ? x.at < y.at : x.kind < y.kind;
                         });
        emit(chaos, nodes, links, candidates, faults);
    }
    std::stable_sort(faults.begin(), faults.end(),
                     [](const FaultSpec& x, const FaultSpec& y) { return x.at_ns < y.at_ns; });
    return faults;
}

std::vector<FaultSpec> resolve_random_faults(const Scenario& scenario, u64 seed)
{
    std::vector<FaultSpec> faults;
    for (usize index = 0; index < scenario.faults.size(); ++index) {
        FaultSpec fault = scenario.faults[index];
        if (fault.random) {
            // Two draws from the fault's own stream: whether, then when.
            // (Multiply-shift bounds: sim::Rng::below lives in the simulator's
            // library, which the loader does not link.)
            sim::Rng rng(seed, static_cast<u32>(index), sim::Stream::random_fault);
            auto below = [&rng](u64 bound) {
                return static_cast<u64>((static_cast<unsigned __int128>(rng.next_u64()) * bound) >>
                                        64);
            };
            bool happens = below(1'000'000) < fault.probability_ppm;
            TimeNs window = fault.random_until_ns - fault.random_from_ns;
            fault.at_ns = fault.random_from_ns + static_cast<TimeNs>(below(window));
            fault.random = false;
            if (!happens)
                continue;
        }
        if (fault.every_ns == 0) {
            faults.push_back(std::move(fault));
            continue;
        }
        // A repeated fault: one concrete fault per time.
        TimeNs every = fault.every_ns;
        TimeNs until = fault.until_ns;
        fault.every_ns = fault.until_ns = 0;
        for (TimeNs at = fault.at_ns; at <= until; at += every) {
            faults.push_back(fault);
            faults.back().at_ns = at;
        }
    }
    return faults;
}

std::vector<FaultSpec> faults_for_seed(const Scenario& scenario, u64 seed)
{
    std::vector<FaultSpec> faults = resolve_random_faults(scenario, seed);
    for (FaultSpec& generated : expand_chaos(scenario, seed))
        faults.push_back(std::move(generated));
    return faults;
}

} // namespace gantry::harness
