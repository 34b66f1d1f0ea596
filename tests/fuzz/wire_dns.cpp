// Fuzzes the DNS parser with whole messages: compression loops, pointer chains
// and overlong names must be rejected, never followed forever; accepted
// messages can be walked completely, and their question re-emits as a query.
#include <gantry/net/wire/dns.hpp>

#include <cstddef>
#include <cstdint>

using namespace gantry;
using namespace gantry::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto packet = DnsPacket::check(Bytes(data, size));
    if (!packet.ok())
        return 0;
    DnsRecordReader answers = packet.value().answers();
    usize count = 0;
    for (auto record = answers.next(); record; record = answers.next()) {
        GANTRY_ASSERT(record->name.wire().size() <= DnsName::wire_len_max);
        count++;
    }
    GANTRY_ASSERT(count == packet.value().answer_count());
    DnsRepr repr = DnsRepr::parse(packet.value());
    u8* out = new u8[repr.buffer_len()];
    repr.emit(MutableBytes(out, repr.buffer_len()));
    auto again = DnsPacket::check(Bytes(out, repr.buffer_len()));
    GANTRY_ASSERT(again.ok());
    GANTRY_ASSERT(again.value().id() == repr.id);
    if (repr.question)
        GANTRY_ASSERT(again.value().question()->name.equals(repr.question->name));
    delete[] out;
    return 0;
}
