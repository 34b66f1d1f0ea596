// TCP segments on the wire: the header of RFC 9293 section 3.1, the checksum
// over the IPv4 pseudo-header (RFC 9293 3.1, RFC 1071), and the options Gantry
// speaks: end of list and no-operation (RFC 9293 3.2), maximum segment size
// (RFC 9293 3.7.1), window scale and timestamps (RFC 7323 sections 2 and 3),
// SACK-permitted and SACK blocks (RFC 2018 sections 2 and 3).
//
// check() validates the header, the checksum and every option once; after that
// TcpRepr::parse cannot fail. An option with a length that does not match its
// kind, or running past the header, makes the segment `malformed` (RFC 9293
// 3.1 wants a receiver to be robust against malformed options: dropping the
// segment is the robust choice, as Linux does for a bad length). Unknown
// options with a sane length are skipped (RFC 1122 4.2.2.5).
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/tcp/seq.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

#include <optional>

namespace gantry::net {

// Control bits (RFC 9293 3.1; ECE/CWR from RFC 3168, carried but unused).
struct TcpFlags {
    static constexpr u8 fin = 0x01;
    static constexpr u8 syn = 0x02;
    static constexpr u8 rst = 0x04;
    static constexpr u8 psh = 0x08;
    static constexpr u8 ack = 0x10;
    static constexpr u8 urg = 0x20;
    static constexpr u8 ece = 0x40;
    static constexpr u8 cwr = 0x80;
};

enum class TcpOptionKind : u8 {
    end = 0,
    nop = 1,
    mss = 2,
    window_scale = 3,
    sack_permitted = 4,
    sack = 5,
    timestamps = 8,
};

class TcpPacket {
public:
    static constexpr usize header_len_min = 20;
    static constexpr usize header_len_max = 60;

    static Result<TcpPacket, WireError> check(Bytes segment, Ipv4Address source,
                                              Ipv4Address destination,
                                              ChecksumCheck checksum = ChecksumCheck::verify);
    // The option walk alone (the fuzz target's entry point): ok when every
    // option is well formed.
    static Status<WireError> check_options(Bytes options);

    u16 source_port() const;
    u16 destination_port() const;
    SeqNumber seq() const;
    SeqNumber ack() const;
    usize header_len() const { return m_header_len; }
    u8 flags() const { return m_bytes[13]; }
    u16 window() const;
    u16 checksum() const;
    u16 urgent() const;
    Bytes options() const { return m_bytes.subspan(header_len_min, m_header_len - header_len_min); }
    Bytes payload() const { return m_bytes.subspan(m_header_len); }
    Bytes bytes() const { return m_bytes; }

private:
    TcpPacket(Bytes bytes, usize header_len) : m_bytes(bytes), m_header_len(header_len) {}
    Bytes m_bytes;
    usize m_header_len;
};

struct TcpSackBlock {
    SeqNumber left;  // first sequence number of the block
    SeqNumber right; // one past its last
    friend bool operator==(const TcpSackBlock&, const TcpSackBlock&) = default;
};

struct TcpTimestamps {
    u32 value = 0; // TSval
    u32 echo = 0;  // TSecr
    friend bool operator==(const TcpTimestamps&, const TcpTimestamps&) = default;
};

enum class SackPermitted : u8 { no, yes };

// The parsed header with its options. emit writes options in the order
// MSS, SACK-permitted, timestamps, window scale, SACK, padded with NOPs so each
// multi-byte option is 4-aligned (RFC 7323 appendix A's layout).
struct TcpRepr {
    static constexpr usize sack_blocks_max = 4;
    static constexpr u8 window_scale_max = 14; // RFC 7323 2.3

    u16 source_port = 0;
    u16 destination_port = 0;
    SeqNumber seq;
    SeqNumber ack; // meaningful only with TcpFlags::ack
    u8 flags = 0;
    u16 window = 0; // as on the wire (unscaled)
    u16 urgent = 0;
    std::optional<u16> mss;
    std::optional<u8> window_scale;
    SackPermitted sack_permitted = SackPermitted::no;
    std::optional<TcpTimestamps> timestamps;
    u8 sack_count = 0;
    TcpSackBlock sack[sack_blocks_max] = {};
    // Not on the wire: set by a sender whose link segments for it (TSO), the
    // payload of each segment the link cuts this one into; 0: one segment.
    u16 tso_segment_payload = 0;

    static TcpRepr parse(const TcpPacket& packet);

    bool has(u8 flag) const { return (flags & flag) != 0; }
    // SEG.LEN of RFC 9293 3.4: payload plus one for SYN and one for FIN.
    u32 segment_len(usize payload_len) const
    {
        return static_cast<u32>(payload_len) + (has(TcpFlags::syn) ? 1 : 0) +
               (has(TcpFlags::fin) ? 1 : 0);
    }
    // How many SACK blocks fit beside the other options (40 option bytes).
    usize sack_blocks_fitting() const;
    usize header_len() const;
    // Writes the header into `header` (exactly header_len() bytes) with the
    // checksum over the pseudo-header, the header and a payload whose partial
    // sum (checksum_partial over its bytes, in order) is `payload_sum`.
    void emit_header(MutableBytes header, Ipv4Address source, Ipv4Address destination,
                     usize payload_len, u32 payload_sum) const;
    // Header and payload into `buffer` (header_len() + payload.size() bytes).
    void emit(MutableBytes buffer, Ipv4Address source, Ipv4Address destination,
              Bytes payload) const;
};

} // namespace gantry::net
