// Fuzzes TCP option parsing (RFC 9293 3.2, RFC 7323, RFC 2018): the input is
// the option area of a header. Malformed options must be rejected, never read
// out of bounds; accepted ones must survive parse -> emit -> check -> parse.
#include <gantry/net/tcp/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace gantry;
using namespace gantry::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size > 40)
        size = 40;
    usize padded = (size + 3) / 4 * 4;
    std::vector<u8> frame(20 + padded, 0);
    frame[12] = static_cast<u8>(((20 + padded) / 4) << 4);
    frame[13] = TcpFlags::ack;
    for (usize i = 0; i < size; i++)
        frame[20 + i] = data[i];
    Ipv4Address a = Ipv4Address::from_u32(0x0a000001);
    Ipv4Address b = Ipv4Address::from_u32(0x0a000002);
    auto checked = TcpPacket::check(Bytes(frame), a, b, ChecksumCheck::skip);
    GANTRY_ASSERT(checked.ok() == TcpPacket::check_options(Bytes(frame).subspan(20)).ok());
    if (!checked.ok())
        return 0;
    TcpRepr repr = TcpRepr::parse(checked.value());
    GANTRY_ASSERT(repr.sack_count <= TcpRepr::sack_blocks_max);
    GANTRY_ASSERT(!repr.window_scale || *repr.window_scale <= TcpRepr::window_scale_max);
    std::vector<u8> out(repr.header_len());
    repr.emit(MutableBytes(out), a, b, {});
    auto again = TcpPacket::check(Bytes(out), a, b);
    GANTRY_ASSERT(again.ok());
    TcpRepr parsed = TcpRepr::parse(again.value());
    GANTRY_ASSERT(parsed.mss == repr.mss);
    GANTRY_ASSERT(parsed.window_scale == repr.window_scale);
    GANTRY_ASSERT(parsed.sack_permitted == repr.sack_permitted);
    GANTRY_ASSERT(parsed.timestamps == repr.timestamps);
    GANTRY_ASSERT(parsed.sack_count == (repr.sack_count < repr.sack_blocks_fitting()
                                            ? repr.sack_count
                                            : repr.sack_blocks_fitting()));
    return 0;
}
