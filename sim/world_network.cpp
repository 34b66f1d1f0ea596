// The world's network API: it validates and forwards to the fabric.
#include "fabric.hpp"
#include "node.hpp"

#include <gantry/assert.hpp>
#include <gantry/sim/trace_writer.hpp>

#include <stdexcept>

namespace gantry::sim {

SwitchId World::add_switch(SwitchConfig config)
{
    GANTRY_ASSERT(m_running == nullptr);
    return m_fabric->add_switch(std::move(config));
}

LinkId World::add_link(Endpoint a, Endpoint b, LinkConfig config)
{
    GANTRY_ASSERT(m_running == nullptr);
    auto nics_of = [this](Endpoint end) -> std::vector<std::unique_ptr<SimNic>>* {
        if (end.kind != Endpoint::Kind::node)
            return nullptr;
        if (end.id >= m_nodes.size())
            throw std::invalid_argument("a link names node " + std::to_string(end.id) +
                                        ", which does not exist");
        return &m_nodes[end.id]->nics;
    };
    if (a.kind == b.kind && a.id == b.id)
        throw std::invalid_argument("a link needs two different ends");
    auto* nics_a = nics_of(a);
    auto* nics_b = nics_of(b);
    LinkId link = m_fabric->add_link(a, b, std::move(config), nics_a, nics_b);
    // A node that is already running sees the new NIC at once (its kernel's stack,
    // created at boot, does not: add links before the nodes boot).
    for (auto* nics : {nics_a, nics_b})
        if (nics)
            if (Node& node = *m_nodes[nics->back()->node()]; node.platform)
                node.platform->attach_nic(nics->back().get());
    return link;
}

void World::trace_fault(SimFault fault, u32 a, u32 b, u8 detail)
{
    if (m_trace)
        m_trace->write_fault(m_now, static_cast<u8>(fault), a, b, detail);
}

void World::partition(NodeId from, NodeId to, Partition kind)
{
    node_ref(from);
    node_ref(to);
    m_fabric->partition(from, to, kind);
    trace_fault(SimFault::partition, from, to, kind == Partition::both_ways ? 0 : 1);
}

void World::heal(NodeId a, NodeId b)
{
    m_fabric->heal(a, b);
    trace_fault(SimFault::heal, a, b);
}

void World::heal_all()
{
    m_fabric->heal_all();
    trace_fault(SimFault::heal_all, no_node, no_node);
}

void World::set_link_faults(LinkId link, LinkFaults faults)
{
    m_fabric->set_faults(link, faults);
    trace_fault(SimFault::link_faults, link, no_node, 
                (faults.loss_ppm | faults.duplicate_ppm | faults.reorder_ppm |
                 faults.corrupt_ppm) != 0);
}

const LinkConfig& World::link_config(LinkId link) const
{
    return m_fabric->config(link);
}

const LinkCounters& World::link_counters(LinkId link) const
{
    return m_fabric->counters(link);
}

usize World::link_count() const
{
    return m_fabric->link_count();
}

std::optional<LinkId> World::find_link(std::string_view name) const
{
    return m_fabric->find_link(name);
}

u64 World::switch_table_size(SwitchId id) const
{
    return m_fabric->switch_table_size(id);
}

SimNic* World::nic(NodeId node, usize index)
{
    auto& nics = node_ref(node).nics;
    return index < nics.size() ? nics[index].get() : nullptr;
}

void World::schedule_frame(TimeNs time, u64 slot)
{
    push(time, EventKind::frame, world_owner, slot);
}

} // namespace gantry::sim
