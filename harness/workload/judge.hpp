// Judging what workload clients recorded, and the counters of nodes and links
// (the http, kv_linearizable and counter checks of docs/scenarios.md).
#pragma once

#include "runner.hpp"
#include "workload.hpp"

#include <map>

namespace gantry::harness {

// Node counters, summed over each node's incarnations: each incarnation adds
// what its kernel counted when it ended (World::on_incarnation_end), and the
// ones still running add theirs at the end of the run.
class CounterBook {
public:
    explicit CounterBook(usize nodes) : m_nodes(nodes) {}
    void add_kernel(usize node, Kernel& kernel);
    void add_world(usize node, sim::World& world, sim::NodeId id);
    void add_service(usize node, const std::map<std::string, u64>& counters);
    const std::map<std::string, u64>& node(usize index) const { return m_nodes.at(index); }

private:
    std::vector<std::map<std::string, u64>> m_nodes;
};

std::map<std::string, u64> link_counters(const sim::LinkCounters& counters);

CheckOutcome judge_counter(const Scenario& scenario, const CheckSpec& check,
                           const CounterBook& book, sim::World& world);
CheckOutcome judge_http(const Scenario& scenario, const CheckSpec& check,
                        const WorkloadLog& log);
CheckOutcome judge_kv(const CheckSpec& check, const WorkloadLog& log);

} // namespace gantry::harness
