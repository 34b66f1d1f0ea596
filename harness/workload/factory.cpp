// The workload kinds' factories, for the runner's NodeConfig.
#include "workload.hpp"

namespace gantry::harness {

App* make_http_client(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node);
App* make_kv_client(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node);
App* make_syn_flood(Kernel& kernel, const WorkloadSpec& spec, u32 own_ip, WorkloadLog& log,
                    usize node);
App* make_dhcp_server(Kernel& kernel, const WorkloadSpec& spec, u32 own_ip, u8 prefix,
                      WorkloadLog& log, usize node);
App* make_dns_server(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node);

sim::SimAppFactory workload_factory(const NodeSpec& node, WorkloadLog& log, usize node_index)
{
    const WorkloadSpec* spec = &node.workload;
    WorkloadLog* into = &log;
    switch (spec->kind) {
    case WorkloadKind::http_client:
        return [spec, into, node_index](Kernel& kernel) {
            return make_http_client(kernel, *spec, *into, node_index);
        };
    case WorkloadKind::kv_client:
        return [spec, into, node_index](Kernel& kernel) {
            return make_kv_client(kernel, *spec, *into, node_index);
        };
    case WorkloadKind::syn_flood:
        return [spec, into, node_index, ip = node.ip](Kernel& kernel) {
            return make_syn_flood(kernel, *spec, ip, *into, node_index);
        };
    case WorkloadKind::dhcp_server:
        return [spec, into, node_index, ip = node.ip, prefix = node.prefix](Kernel& kernel) {
            return make_dhcp_server(kernel, *spec, ip, prefix, *into, node_index);
        };
    case WorkloadKind::dns_server:
        return [spec, into, node_index](Kernel& kernel) {
            return make_dns_server(kernel, *spec, *into, node_index);
        };
    case WorkloadKind::none:
        break;
    }
    return {};
}

sim::NicOwner workload_nic_owner(WorkloadKind kind)
{
    return kind == WorkloadKind::syn_flood ? sim::NicOwner::app : sim::NicOwner::kernel;
}

} // namespace gantry::harness
