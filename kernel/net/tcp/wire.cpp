// TCP header and options: RFC 9293 sections 3.1, 3.2 and 3.7.1; RFC 7323
// sections 2 and 3 (window scale, timestamps); RFC 2018 sections 2 and 3 (SACK).
#include <gantry/net/endian.hpp>
#include <gantry/net/tcp/wire.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ipv4.hpp>

namespace gantry::net {

namespace {

constexpr usize options_len_max = TcpPacket::header_len_max - TcpPacket::header_len_min;

// The length each fixed-size option must have (RFC 9293 3.2, RFC 7323, RFC 2018).
constexpr u8 option_len(TcpOptionKind kind)
{
    switch (kind) {
    case TcpOptionKind::mss: return 4;
    case TcpOptionKind::window_scale: return 3;
    case TcpOptionKind::sack_permitted: return 2;
    case TcpOptionKind::timestamps: return 10;
    default: return 0;
    }
}

// Walks the options, validating each; calls `visit(kind, body)` for the
// well-formed ones. Bounded: every step consumes at least one byte of at most 40.
template<typename Visit>
Status<WireError> walk_options(Bytes options, Visit&& visit)
{
    usize at = 0;
    while (at < options.size()) {
        auto kind = static_cast<TcpOptionKind>(options[at]);
        if (kind == TcpOptionKind::end)
            return {};
        if (kind == TcpOptionKind::nop) {
            at++;
            continue;
        }
        if (at + 2 > options.size())
            return fail(WireError::malformed);
        u8 length = options[at + 1];
        if (length < 2 || at + length > options.size())
            return fail(WireError::malformed);
        u8 expected = option_len(kind);
        if (expected != 0 && length != expected)
            return fail(WireError::malformed);
        // RFC 2018 3: 2 + 8n bytes, n >= 1; 40 option bytes allow at most 4 blocks.
        if (kind == TcpOptionKind::sack && (length < 10 || (length - 2) % 8 != 0))
            return fail(WireError::malformed);
        visit(kind, options.subspan(at + 2, length - 2));
        at += length;
    }
    return {};
}

} // namespace

Status<WireError> TcpPacket::check_options(Bytes options)
{
    if (options.size() > options_len_max)
        return fail(WireError::malformed);
    return walk_options(options, [](TcpOptionKind, Bytes) {});
}

Result<TcpPacket, WireError> TcpPacket::check(Bytes segment, Ipv4Address source,
                                              Ipv4Address destination, ChecksumCheck checksum)
{
    if (segment.size() < header_len_min)
        return fail(WireError::truncated);
    if (segment.size() > Ipv4Packet::total_len_max)
        return fail(WireError::bad_length);
    usize header_len = usize{static_cast<u8>(segment[12] >> 4)} * 4;
    if (header_len < header_len_min)
        return fail(WireError::bad_length);
    if (header_len > segment.size())
        return fail(WireError::truncated);
    if (checksum == ChecksumCheck::verify) {
        u32 sum = pseudo_header_sum(source, destination, static_cast<u8>(IpProtocol::tcp),
                                    static_cast<u16>(segment.size()));
        if (checksum_finish(checksum_combine(sum, checksum_partial(segment))) != 0)
            return fail(WireError::bad_checksum);
    }
    GANTRY_TRY(check_options(segment.subspan(header_len_min, header_len - header_len_min)));
    return TcpPacket(segment, header_len);
}

u16 TcpPacket::source_port() const { return load_be16(m_bytes, 0); }
u16 TcpPacket::destination_port() const { return load_be16(m_bytes, 2); }
SeqNumber TcpPacket::seq() const { return SeqNumber(load_be32(m_bytes, 4)); }
SeqNumber TcpPacket::ack() const { return SeqNumber(load_be32(m_bytes, 8)); }
u16 TcpPacket::window() const { return load_be16(m_bytes, 14); }
u16 TcpPacket::checksum() const { return load_be16(m_bytes, 16); }
u16 TcpPacket::urgent() const { return load_be16(m_bytes, 18); }

TcpRepr TcpRepr::parse(const TcpPacket& packet)
{
    TcpRepr repr;
    repr.source_port = packet.source_port();
    repr.destination_port = packet.destination_port();
    repr.seq = packet.seq();
    repr.ack = packet.ack();
    repr.flags = packet.flags();
    repr.window = packet.window();
    repr.urgent = packet.urgent();
    auto walked = walk_options(packet.options(), [&repr](TcpOptionKind kind, Bytes body) {
        switch (kind) {
        case TcpOptionKind::mss: repr.mss = load_be16(body, 0); break;
        case TcpOptionKind::window_scale:
            // RFC 7323 2.3: a shift above 14 is used as 14.
            repr.window_scale = body[0] > window_scale_max ? window_scale_max : body[0];
            break;
        case TcpOptionKind::sack_permitted: repr.sack_permitted = SackPermitted::yes; break;
        case TcpOptionKind::timestamps:
            repr.timestamps = TcpTimestamps{load_be32(body, 0), load_be32(body, 4)};
            break;
        case TcpOptionKind::sack:
            repr.sack_count = 0;
            for (usize at = 0; at + 8 <= body.size() && repr.sack_count < sack_blocks_max;
                 at += 8) {
                SeqNumber left(load_be32(body, at));
                SeqNumber right(load_be32(body, at + 4));
                repr.sack[repr.sack_count++] = TcpSackBlock{left, right};
            }
            break;
        default: break;
        }
    });
    GANTRY_ASSERT(walked.ok()); // check() validated the options
    return repr;
}

usize TcpRepr::sack_blocks_fitting() const
{
    usize used = (mss ? 4 : 0) + (timestamps || sack_permitted == SackPermitted::yes ? 12 : 0) +
                 (window_scale ? 4 : 0);
    if (!timestamps && sack_permitted == SackPermitted::yes)
        used -= 8; // NOP NOP SACK-permitted alone takes 4
    usize room = options_len_max - used;
    if (room < 12)
        return 0;
    usize blocks = (room - 4) / 8;
    return blocks < sack_blocks_max ? blocks : sack_blocks_max;
}

usize TcpRepr::header_len() const
{
    usize length = TcpPacket::header_len_min;
    if (mss)
        length += 4;
    if (timestamps)
        length += 12; // [SACK-permitted or NOP NOP] + timestamps
    else if (sack_permitted == SackPermitted::yes)
        length += 4;
    if (window_scale)
        length += 4;
    usize blocks = sack_count < sack_blocks_fitting() ? sack_count : sack_blocks_fitting();
    if (blocks > 0)
        length += 4 + 8 * blocks;
    GANTRY_ASSERT(length <= TcpPacket::header_len_max);
    return length;
}

namespace {

usize put_sack_permitted_and_timestamps(const TcpRepr& repr, MutableBytes out, usize at)
{
    if (repr.timestamps) {
        if (repr.sack_permitted == SackPermitted::yes) {
            out[at++] = static_cast<u8>(TcpOptionKind::sack_permitted);
            out[at++] = 2;
        } else {
            out[at++] = static_cast<u8>(TcpOptionKind::nop);
            out[at++] = static_cast<u8>(TcpOptionKind::nop);
        }
        out[at++] = static_cast<u8>(TcpOptionKind::timestamps);
        out[at++] = 10;
        store_be32(out, at, repr.timestamps->value);
        store_be32(out, at + 4, repr.timestamps->echo);
        return at + 8;
    }
    if (repr.sack_permitted == SackPermitted::yes) {
        out[at++] = static_cast<u8>(TcpOptionKind::nop);
        out[at++] = static_cast<u8>(TcpOptionKind::nop);
        out[at++] = static_cast<u8>(TcpOptionKind::sack_permitted);
        out[at++] = 2;
    }
    return at;
}

usize put_options(const TcpRepr& repr, MutableBytes out)
{
    usize at = TcpPacket::header_len_min;
    if (repr.mss) {
        out[at++] = static_cast<u8>(TcpOptionKind::mss);
        out[at++] = 4;
        store_be16(out, at, *repr.mss);
        at += 2;
    }
    at = put_sack_permitted_and_timestamps(repr, out, at);
    if (repr.window_scale) {
        out[at++] = static_cast<u8>(TcpOptionKind::nop);
        out[at++] = static_cast<u8>(TcpOptionKind::window_scale);
        out[at++] = 3;
        out[at++] = *repr.window_scale;
    }
    usize fitting = repr.sack_blocks_fitting();
    usize blocks = repr.sack_count < fitting ? repr.sack_count : fitting;
    if (blocks > 0) {
        out[at++] = static_cast<u8>(TcpOptionKind::nop);
        out[at++] = static_cast<u8>(TcpOptionKind::nop);
        out[at++] = static_cast<u8>(TcpOptionKind::sack);
        out[at++] = static_cast<u8>(2 + 8 * blocks);
        for (usize i = 0; i < blocks; i++) {
            store_be32(out, at, repr.sack[i].left.value());
            store_be32(out, at + 4, repr.sack[i].right.value());
            at += 8;
        }
    }
    return at;
}

} // namespace

void TcpRepr::emit_header(MutableBytes header, Ipv4Address source, Ipv4Address destination,
                          usize payload_len, u32 payload_sum) const
{
    usize length = header_len();
    GANTRY_ASSERT(header.size() == length);
    store_be16(header, 0, source_port);
    store_be16(header, 2, destination_port);
    store_be32(header, 4, seq.value());
    store_be32(header, 8, has(TcpFlags::ack) ? ack.value() : 0);
    header[12] = static_cast<u8>((length / 4) << 4);
    header[13] = flags;
    store_be16(header, 14, window);
    store_be16(header, 16, 0);
    store_be16(header, 18, urgent);
    usize end = put_options(*this, header);
    GANTRY_ASSERT(end == length);
    usize total = length + payload_len;
    GANTRY_ASSERT(total <= Ipv4Packet::total_len_max);
    u32 sum = pseudo_header_sum(source, destination, static_cast<u8>(IpProtocol::tcp),
                                static_cast<u16>(total));
    sum = checksum_combine(sum, checksum_partial(header));
    sum = checksum_combine(sum, payload_sum);
    store_be16(header, 16, checksum_finish(sum));
}

void TcpRepr::emit(MutableBytes buffer, Ipv4Address source, Ipv4Address destination,
                   Bytes payload) const
{
    usize length = header_len();
    GANTRY_ASSERT(buffer.size() == length + payload.size());
    copy_bytes(buffer.subspan(length), payload);
    emit_header(buffer.first(length), source, destination, payload.size(),
                checksum_partial(buffer.subspan(length)));
}

} // namespace gantry::net
