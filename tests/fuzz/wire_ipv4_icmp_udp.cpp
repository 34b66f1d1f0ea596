// Fuzzes IPv4, ICMPv4 and UDP. The input is an Ethernet frame or, failing that,
// a bare IPv4 packet (captures of other link types are stored that way). Both
// checksum modes run, so mutated bytes reach the decoders behind the checksums.
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/icmpv4.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

#include <cstddef>
#include <cstdint>

using namespace gantry;
using namespace gantry::net;

namespace {

constexpr usize buffer_bytes_max = 65536;

void fuzz_icmp(Bytes payload, ChecksumCheck mode, u8* scratch)
{
    auto icmp = Icmpv4Packet::check(payload, mode);
    if (!icmp.ok())
        return;
    auto repr = Icmpv4Repr::parse(icmp.value());
    if (!repr.ok())
        return;
    repr.value().emit(MutableBytes(scratch, repr.value().buffer_len()));
    // What we emit always verifies.
    GANTRY_ASSERT(Icmpv4Packet::check(Bytes(scratch, repr.value().buffer_len())).ok());
}

void fuzz_udp(const Ipv4Packet& ip, ChecksumCheck mode, u8* scratch)
{
    auto udp = UdpPacket::check(ip.payload(), ip.source(), ip.destination(), mode);
    if (!udp.ok())
        return;
    UdpRepr repr = UdpRepr::parse(udp.value());
    repr.emit(MutableBytes(scratch, repr.buffer_len()), ip.source(), ip.destination());
    auto again = UdpPacket::check(Bytes(scratch, repr.buffer_len()), ip.source(), ip.destination());
    GANTRY_ASSERT(again.ok());
    GANTRY_ASSERT(again.value().payload().size() == repr.payload.size());
}

void fuzz_ipv4(Bytes packet, ChecksumCheck mode, u8* scratch)
{
    auto ip = Ipv4Packet::check(packet, mode);
    if (!ip.ok())
        return;
    Ipv4Repr repr = Ipv4Repr::parse(ip.value());
    repr.emit(MutableBytes(scratch, Ipv4Repr::header_len));
    GANTRY_ASSERT(ip.value().header_len() + repr.payload_len == ip.value().total_len());
    if (ip.value().is_fragment())
        return;
    if (repr.protocol == IpProtocol::icmp)
        fuzz_icmp(ip.value().payload(), mode, scratch);
    if (repr.protocol == IpProtocol::udp)
        fuzz_udp(ip.value(), mode, scratch);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // No static buffers (the core's rule holds in its tests too): one per input.
    static_assert(buffer_bytes_max >= 65535);
    u8* scratch = new u8[buffer_bytes_max];
    Bytes input(data, size);
    auto frame = EthernetFrame::check(input);
    Bytes packet = frame.ok() && frame.value().ethertype() == EtherType::ipv4
                       ? frame.value().payload()
                       : input;
    fuzz_ipv4(packet, ChecksumCheck::verify, scratch);
    fuzz_ipv4(packet, ChecksumCheck::skip, scratch);
    delete[] scratch;
    return 0;
}
