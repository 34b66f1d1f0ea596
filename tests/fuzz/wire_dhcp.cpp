// Fuzzes the DHCP parser with whole DHCP messages (UDP payloads): accepted
// messages re-emit to a message that parses back to the same fields.
#include <gantry/net/wire/dhcp.hpp>

#include <cstddef>
#include <cstdint>

using namespace gantry;
using namespace gantry::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto packet = DhcpPacket::check(Bytes(data, size));
    if (!packet.ok())
        return 0;
    DhcpOptionReader reader = packet.value().option_reader();
    usize options = 0;
    for (auto option = reader.next(); option; option = reader.next())
        options++;
    GANTRY_ASSERT(options <= size);
    auto repr = DhcpRepr::parse(packet.value());
    if (!repr.ok())
        return 0;
    // Hostnames over the limit were rejected; the rest fits the emitter.
    u8* out = new u8[repr.value().buffer_len()];
    repr.value().emit(MutableBytes(out, repr.value().buffer_len()));
    auto again = DhcpPacket::check(Bytes(out, repr.value().buffer_len()));
    GANTRY_ASSERT(again.ok());
    auto reparsed = DhcpRepr::parse(again.value());
    GANTRY_ASSERT(reparsed.ok());
    GANTRY_ASSERT(reparsed.value().xid == repr.value().xid);
    GANTRY_ASSERT(reparsed.value().message_type == repr.value().message_type);
    GANTRY_ASSERT(reparsed.value().lease_time_s == repr.value().lease_time_s);
    GANTRY_ASSERT(reparsed.value().dns_server_count == repr.value().dns_server_count);
    GANTRY_ASSERT(reparsed.value().hostname == repr.value().hostname);
    delete[] out;
    return 0;
}
