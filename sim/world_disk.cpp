// The world's side of simulated disks: making them with a node, routing their
// completion events, and handing them to tests.
#include "node.hpp"

#include <gantry/assert.hpp>

#include <stdexcept>

namespace gantry::sim {

std::vector<std::unique_ptr<SimDisk>> World::make_disks(NodeId node,
                                                        const std::vector<DiskConfig>& configs)
{
    if (configs.size() > disks_per_node_max)
        throw std::invalid_argument("a node has at most " + std::to_string(disks_per_node_max) +
                                    " disks");
    std::vector<std::unique_ptr<SimDisk>> disks;
    for (usize index = 0; index < configs.size(); ++index)
        disks.push_back(
            std::make_unique<SimDisk>(*this, node, static_cast<u32>(index), configs[index]));
    return disks;
}

void World::schedule_disk(TimeNs time, NodeId node, u64 data)
{
    GANTRY_ASSERT(node < m_nodes.size());
    GANTRY_ASSERT((data & 0xff) < m_nodes[node]->disks.size());
    push(time, EventKind::disk, node, data);
}

SimDisk* World::disk(NodeId node, usize index)
{
    Node& owner = node_ref(node);
    return index < owner.disks.size() ? owner.disks[index].get() : nullptr;
}

} // namespace gantry::sim
