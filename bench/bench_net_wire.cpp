// Network wire benchmarks: the Internet checksum against a plain byte-at-a-time
// loop over the same buffer in the same run (bytes/s), and the per-packet cost
// of checking and parsing a whole Ethernet/IPv4/UDP/DNS frame.
#include "ratio.hpp"

#include <benchmark/benchmark.h>

#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/dns.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

#include <cstdlib>
#include <random>
#include <vector>

namespace {

using namespace gantry;
using namespace gantry::net;

std::vector<u8> random_bytes(usize length)
{
    std::mt19937 rng(1071);
    std::vector<u8> data(length);
    for (auto& byte : data)
        byte = static_cast<u8>(rng());
    return data;
}

// The RFC 1071 textbook loop: the baseline the fast path must beat.
u16 byte_loop_checksum(const u8* data, usize length)
{
    u32 sum = 0;
    for (usize i = 0; i + 1 < length; i += 2)
        sum += (u32{data[i]} << 8) | data[i + 1];
    if (length % 2)
        sum += u32{data[length - 1]} << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<u16>(~sum);
}

void BM_NetChecksum(benchmark::State& state)
{
    auto length = static_cast<usize>(state.range(0));
    // Offset by one: the fast path must not depend on alignment.
    std::vector<u8> data = random_bytes(length + 1);
    for (auto _ : state)
        benchmark::DoNotOptimize(internet_checksum(Bytes(data.data() + 1, length)));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

void BM_NetChecksumByteLoop(benchmark::State& state)
{
    auto length = static_cast<usize>(state.range(0));
    std::vector<u8> data = random_bytes(length + 1);
    for (auto _ : state)
        benchmark::DoNotOptimize(byte_loop_checksum(data.data() + 1, length));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

BENCHMARK(BM_NetChecksum)->Arg(64)->Arg(1500)->Arg(9000);
BENCHMARK(BM_NetChecksumByteLoop)->Arg(64)->Arg(1500)->Arg(9000);
GANTRY_RATIO("internet checksum 1500 B vs byte loop", "BM_NetChecksum/1500",
             "BM_NetChecksumByteLoop/1500", 0.5);

// tcpdump/dns_udp.pcap frame 2 would do, but a generated frame keeps the bench
// independent of test data: a DNS A response, Ethernet/IPv4/UDP with checksums.
std::vector<u8> dns_response_frame()
{
    DnsRepr query;
    query.id = 0x5934;
    query.flags.bits = 0x8180;
    query.question = DnsQuestion{DnsName::from_dotted("www.example.com").value(), DnsRecordType::a,
                                 static_cast<u16>(DnsClass::in)};
    usize dns_len = query.buffer_len();
    std::vector<u8> frame(14 + 20 + 8 + dns_len);
    MutableBytes all(frame.data(), frame.size());
    query.emit(all.subspan(42));
    UdpRepr udp{53, 40000, all.subspan(42)};
    Ipv4Address server{{192, 0, 2, 53}};
    Ipv4Address client{{192, 0, 2, 10}};
    udp.emit(all.subspan(34), server, client);
    Ipv4Repr ip;
    ip.source = server;
    ip.destination = client;
    ip.protocol = IpProtocol::udp;
    ip.payload_len = static_cast<u16>(udp.buffer_len());
    ip.emit(all.subspan(14));
    EthernetRepr{MacAddress{{2, 0, 0, 0, 0, 1}}, MacAddress{{2, 0, 0, 0, 0, 2}},
                 EtherType::ipv4}
        .emit(all);
    return frame;
}

// Check + parse of every layer, checksums verified: the receive path's cost
// per packet before any socket lookup.
void BM_NetParseDnsFrame(benchmark::State& state)
{
    std::vector<u8> frame = dns_response_frame();
    for (auto _ : state) {
        auto ethernet = EthernetFrame::check(Bytes(frame.data(), frame.size()));
        auto ip = Ipv4Packet::check(ethernet.value().payload());
        auto udp = UdpPacket::check(ip.value().payload(), ip.value().source(),
                                    ip.value().destination());
        auto dns = DnsPacket::check(udp.value().payload());
        benchmark::DoNotOptimize(dns.value().question()->type);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NetParseDnsFrame);

} // namespace
