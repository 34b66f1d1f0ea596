// Fuzzes the Ethernet and ARP parsers: any bytes are accepted or rejected with
// an error, and whatever is accepted survives parse -> emit -> check unchanged.
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/ethernet.hpp>

#include <cstddef>
#include <cstdint>

using namespace gantry;
using namespace gantry::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto frame = EthernetFrame::check(Bytes(data, size));
    if (!frame.ok())
        return 0;
    EthernetRepr ethernet = EthernetRepr::parse(frame.value());
    u8 header[EthernetRepr::header_len];
    ethernet.emit(MutableBytes(header, sizeof(header)));
    auto again = EthernetFrame::check(Bytes(header, sizeof(header)));
    GANTRY_ASSERT(again.ok());
    GANTRY_ASSERT(again.value().source() == ethernet.source);
    GANTRY_ASSERT(again.value().ethertype() == ethernet.ethertype);
    if (frame.value().ethertype() != EtherType::arp)
        return 0;
    auto arp = ArpPacket::check(frame.value().payload());
    if (!arp.ok())
        return 0;
    ArpRepr repr = ArpRepr::parse(arp.value());
    u8 out[ArpRepr::buffer_len];
    repr.emit(MutableBytes(out, sizeof(out)));
    auto arp_again = ArpPacket::check(Bytes(out, sizeof(out)));
    GANTRY_ASSERT(arp_again.ok());
    for (usize i = 0; i < sizeof(out); i++)
        GANTRY_ASSERT(out[i] == frame.value().payload()[i]);
    return 0;
}
