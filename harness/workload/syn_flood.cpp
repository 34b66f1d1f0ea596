// syn_flood: SYNs to target:port at a steady rate, each from a different
// spoofed address in 198.18.0.0/15 (RFC 2544's benchmarking range) and port,
// never answering the SYN-ACKs: every SYN takes a slot in the server's SYN
// cache until cookies take over. The node owns its NIC (no stack): it answers
// ARP for its own address (a server whose gateway it is sends the SYN-ACKs
// to it) and drops everything else.
#include "workload.hpp"

#include <gantry/net/wire/checksum.hpp>
#include <gantry/nic.hpp>
#include <gantry/platform.hpp>

#include <cstring>

namespace gantry::harness {

namespace {

constexpr usize ethernet_bytes = 14;
constexpr usize ipv4_bytes = 20;
constexpr usize tcp_bytes = 24; // with an MSS option
constexpr usize syn_frame_bytes = ethernet_bytes + ipv4_bytes + tcp_bytes;
constexpr usize arp_frame_bytes = ethernet_bytes + 28;
constexpr u32 spoofed_base = 0xc612'0000; // 198.18.0.0
constexpr u32 spoofed_mask = 0x0001'ffff; // /15
constexpr TimeNs arp_retry_ns = 100 * ns_per_ms;
constexpr int arp_attempts_max = 50;

void put16(u8* at, u16 value)
{
    at[0] = static_cast<u8>(value >> 8);
    at[1] = static_cast<u8>(value);
}

void put32(u8* at, u32 value)
{
    put16(at, static_cast<u16>(value >> 16));
    put16(at + 2, static_cast<u16>(value));
}

u16 get16(const u8* at) { return static_cast<u16>(at[0] << 8 | at[1]); }
u32 get32(const u8* at) { return u32{get16(at)} << 16 | get16(at + 2); }

class SynFlood final : public App {
public:
    SynFlood(const WorkloadSpec& spec, u32 own_ip, WorkloadLog& log, usize node)
        : m_spec(spec), m_own_ip(own_ip), m_log(log), m_node(node)
    {
    }

    int main(Kernel& kernel, AppArgs) override
    {
        m_nic = kernel.platform().nic(0);
        if (!m_nic) {
            kernel.log().error("syn_flood: no NIC");
            return 1;
        }
        if (!resolve_target(kernel)) {
            kernel.log().error("syn_flood: the target never answered ARP");
            return 1;
        }
        TimeNs gap = static_cast<TimeNs>(1e9 / m_spec.rate);
        TimeNs end = kernel.now() + m_spec.for_ns;
        u64 sent = 0;
        for (TimeNs next = kernel.now(); next < end; next += gap) {
            kernel.sched().sleep_until(next);
            drain(kernel);
            sent += send_syn(kernel) ? 1 : 0;
        }
        m_log.service_counters.at(m_node)["syn_flood.sent"] += sent;
        kernel.log().info("syn_flood: {} SYNs sent in {} ms", sent, m_spec.for_ns / ns_per_ms);
        return 0;
    }

private:
    bool resolve_target(Kernel& kernel)
    {
        for (int attempt = 0; attempt < arp_attempts_max; ++attempt) {
            send_arp(1, net::MacAddress::broadcast(), m_spec.server);
            TimeNs until = kernel.now() + arp_retry_ns;
            while (kernel.now() < until) {
                kernel.sched().sleep_for(ns_per_ms);
                if (drain(kernel))
                    return true;
            }
        }
        return false;
    }

    // Reads every waiting frame: answers ARP requests for our address and
    // learns the target's MAC from its ARP reply (true once known).
    bool drain(Kernel&)
    {
        u8 frame[Nic::frame_bytes_max];
        while (usize length = m_nic->receive(MutableBytes(frame, sizeof(frame)))) {
            if (length < arp_frame_bytes || get16(frame + 12) != 0x0806)
                continue;
            const u8* arp = frame + ethernet_bytes;
            u16 operation = get16(arp + 6);
            u32 sender_ip = get32(arp + 14);
            u32 target_ip = get32(arp + 24);
            if (operation == 2 && sender_ip == m_spec.server) {
                std::memcpy(m_target_mac.octets.data(), arp + 8, 6);
                m_target_known = true;
            } else if (operation == 1 && target_ip == m_own_ip) {
                net::MacAddress asker;
                std::memcpy(asker.octets.data(), arp + 8, 6);
                send_arp(2, asker, sender_ip);
            }
        }
        return m_target_known;
    }

    void send_arp(u16 operation, net::MacAddress to, u32 to_ip)
    {
        u8 frame[arp_frame_bytes] = {};
        std::memcpy(frame, to.octets.data(), 6);
        std::memcpy(frame + 6, m_nic->mac().octets.data(), 6);
        put16(frame + 12, 0x0806);
        u8* arp = frame + ethernet_bytes;
        put16(arp, 1);          // Ethernet
        put16(arp + 2, 0x0800); // IPv4
        arp[4] = 6;
        arp[5] = 4;
        put16(arp + 6, operation);
        std::memcpy(arp + 8, m_nic->mac().octets.data(), 6);
        put32(arp + 14, m_own_ip);
        if (operation == 2)
            std::memcpy(arp + 18, to.octets.data(), 6);
        put32(arp + 24, to_ip);
        m_nic->transmit(Bytes(frame, sizeof(frame)));
    }

    bool send_syn(Kernel& kernel)
    {
        u32 source = spoofed_base | (static_cast<u32>(kernel.random_u64()) & spoofed_mask);
        u16 source_port = static_cast<u16>(1024 + kernel.random_u64() % 64000);
        u8 frame[syn_frame_bytes] = {};
        std::memcpy(frame, m_target_mac.octets.data(), 6);
        std::memcpy(frame + 6, m_nic->mac().octets.data(), 6);
        put16(frame + 12, 0x0800);
        u8* ip = frame + ethernet_bytes;
        ip[0] = 0x45;
        put16(ip + 2, ipv4_bytes + tcp_bytes);
        put16(ip + 4, static_cast<u16>(kernel.random_u64()));
        ip[8] = 64;
        ip[9] = 6; // TCP
        put32(ip + 12, source);
        put32(ip + 16, m_spec.server);
        put16(ip + 10, net::internet_checksum(Bytes(ip, ipv4_bytes)));
        u8* tcp = ip + ipv4_bytes;
        put16(tcp, source_port);
        put16(tcp + 2, m_spec.port != 0 ? m_spec.port : 80);
        put32(tcp + 4, static_cast<u32>(kernel.random_u64()));
        tcp[12] = (tcp_bytes / 4) << 4;
        tcp[13] = 0x02; // SYN
        put16(tcp + 14, 64240);
        tcp[20] = 2; // MSS
        tcp[21] = 4;
        put16(tcp + 22, 1460);
        u32 sum = net::pseudo_header_sum(net::Ipv4Address::from_u32(source),
                                         net::Ipv4Address::from_u32(m_spec.server), 6,
                                         tcp_bytes);
        put16(tcp + 16, net::checksum_finish(net::checksum_partial(Bytes(tcp, tcp_bytes), sum)));
        return m_nic->transmit(Bytes(frame, sizeof(frame)));
    }

    const WorkloadSpec& m_spec;
    u32 m_own_ip;
    WorkloadLog& m_log;
    usize m_node;
    Nic* m_nic = nullptr;
    net::MacAddress m_target_mac;
    bool m_target_known = false;
};

} // namespace

App* make_syn_flood(Kernel& kernel, const WorkloadSpec& spec, u32 own_ip, WorkloadLog& log,
                    usize node)
{
    return kernel.heap().create<SynFlood>(spec, own_ip, log, node);
}

} // namespace gantry::harness
