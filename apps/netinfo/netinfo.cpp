// netinfo: brings the network up (a DHCP lease with --dhcp, else the static
// --ip), prints the interface's configuration, resolves every name given as an
// argument (`netinfo --net ... --dhcp -- example.com`) and exits 0 when all
// resolved. The smallest end-to-end check of DHCP and DNS against real servers.
#include <gantry/app.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/dns_resolver.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;

constexpr TimeNs dhcp_wait_ns = 60 * ns_per_s;
constexpr TimeNs resolve_wait_ns = 10 * ns_per_s;

struct AddressText {
    explicit AddressText(net::Ipv4Address address) { address.to_chars(text); }
    std::string_view view() const
    {
        usize length = 0;
        while (text[length] != '\0')
            ++length;
        return {text, length};
    }
    char text[net::Ipv4Address::text_bytes_max] = {};
};

class NetInfo final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("netinfo: no network interface (run with --net ...)");
            return 1;
        }
        if (net::DhcpClient* dhcp = stack->dhcp()) {
            if (!dhcp->wait_bound(kernel.now() + dhcp_wait_ns)) {
                kernel.log().error("netinfo: no DHCP lease within {} s", dhcp_wait_ns / ns_per_s);
                return 1;
            }
            const net::DhcpLease& lease = dhcp->lease();
            kernel.print("lease: {}/{} from {} for {} s\n",
                         AddressText(lease.address.address).view(), lease.address.prefix_len,
                         AddressText(lease.server).view(),
                         (lease.expires - lease.obtained) / ns_per_s);
        }
        kernel.print("address: {}/{} gateway: {} dns servers: {}\n",
                     AddressText(stack->address().address).view(), stack->address().prefix_len,
                     AddressText(stack->gateway()).view(), stack->dns().server_count());
        int failures = 0;
        for (std::string_view name : args.values) {
            auto resolved = stack->dns().resolve(name, kernel.now() + resolve_wait_ns);
            if (resolved.ok()) {
                kernel.print("{} -> {}\n", name, AddressText(resolved.value()).view());
            } else {
                kernel.print("{}: {}\n", name, net::dns_error_name(resolved.error()));
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }
};

} // namespace

GANTRY_APP(netinfo, NetInfo)
