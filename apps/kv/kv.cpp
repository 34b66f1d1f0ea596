// kv: a key-value server over TCP (port 7070) with a write-ahead log on disk 0.
// A SET or DEL is answered only once its log record is durable (written and
// flushed); on boot the log is replayed. Protocol and log format: docs/apps.md.
//
//   kv                      serve (needs a NIC and --disk FILE)
//   kv -- check A.B.C.D [OPS] [KEYS]
//                           a client that checks durability: it issues OPS
//                           random SET/DEL/GET over KEYS keys, reconnects when
//                           the server goes away, and verifies that every read
//                           returns the last acknowledged value (or one whose
//                           request got no answer); exits 0 only if all did.
#include "check.hpp"
#include "protocol.hpp"
#include "store.hpp"

#include <gantry/app.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/stack.hpp>

namespace kv {

namespace {

constexpr TimeNs dhcp_wait_ns = 60 * ns_per_s;

class KvApp final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("kv: no network interface (run with --net tap,ifname=IF)");
            return 1;
        }
        if (net::DhcpClient* dhcp = stack->dhcp()) {
            if (!dhcp->wait_bound(kernel.now() + dhcp_wait_ns)) {
                kernel.log().error("kv: no DHCP lease within {} s", dhcp_wait_ns / ns_per_s);
                return 1;
            }
        }
        if (args.values.size() >= 1 && args.values[0] == "check")
            return run_check(kernel, *stack, args);
        if (!args.values.empty()) {
            kernel.log().error("kv: usage: kv | kv -- check A.B.C.D [OPS] [KEYS]");
            return 2;
        }
        return serve(kernel, *stack);
    }
};

} // namespace

} // namespace kv

GANTRY_APP(kv, kv::KvApp)
