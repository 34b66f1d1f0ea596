// DNS messages, RFC 1035: header 4.1.1, question 4.1.2, resource records 4.1.3,
// name compression 4.1.4, size limits 2.3.4; TTL rules RFC 2181 section 8;
// case-insensitive names RFC 4343. A stub resolver needs A and CNAME answers:
// other record types are walked over (validated for length) but not decoded.
//
// Compression is where hostile messages attack parsers (loops, pointer chains,
// names longer than 255 bytes): a pointer must land strictly before the place
// the previous jump landed (or the name's own start), so every chain ends, and
// jumps are bounded by `pointer_jumps_max` besides.
#pragma once

#include <gantry/format.hpp>
#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

#include <array>
#include <optional>
#include <string_view>

namespace gantry::net {

enum class DnsRecordType : u16 { a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, aaaa = 28, opt = 41 };
enum class DnsClass : u16 { in = 1 };
enum class DnsRcode : u8 {
    no_error = 0,
    format_error = 1,
    server_failure = 2,
    name_error = 3,
    not_implemented = 4,
    refused = 5,
};

inline constexpr u16 dns_port = 53;

// A name in uncompressed wire form: length-prefixed labels, then the root (0).
class DnsName {
public:
    static constexpr usize wire_len_max = 255;
    static constexpr usize label_len_max = 63;
    static constexpr usize pointer_jumps_max = 16;

    DnsName() { m_wire[0] = 0; }

    // "www.example.com" or "www.example.com."; rejects empty labels and labels
    // or names over the RFC 1035 limits.
    static Result<DnsName, WireError> from_dotted(std::string_view text);

    Bytes wire() const { return Bytes(m_wire.data(), m_len); }
    // ASCII case-insensitive, as RFC 4343 requires.
    bool equals(const DnsName& other) const;
    bool is_root() const { return m_len == 1; }
    // Appends one label before the root; `bad_length` past the RFC limits.
    Status<WireError> append_label(Bytes label);
    // Dotted text, root as ".".
    void format(FormatBuffer& out) const;

private:
    std::array<u8, wire_len_max> m_wire{};
    usize m_len = 1;
};

// The name at `offset` in `message` (compression followed) and the offset right
// after it in place.
struct DnsNameAt {
    DnsName name;
    usize end;
};
Result<DnsNameAt, WireError> dns_read_name(Bytes message, usize offset);

struct DnsFlags {
    static constexpr u16 response = 0x8000;
    static constexpr u16 authoritative = 0x0400;
    static constexpr u16 truncated = 0x0200;
    static constexpr u16 recursion_desired = 0x0100;
    static constexpr u16 recursion_available = 0x0080;

    u16 bits = 0;

    bool has(u16 flag) const { return (bits & flag) != 0; }
    u8 opcode() const { return static_cast<u8>((bits >> 11) & 0x0f); }
    DnsRcode rcode() const { return static_cast<DnsRcode>(bits & 0x0f); }
};

struct DnsQuestion {
    DnsName name;
    DnsRecordType type = DnsRecordType::a;
    u16 klass = static_cast<u16>(DnsClass::in);
};

// One resource record of the answer section.
struct DnsRecord {
    DnsName name;
    DnsRecordType type = DnsRecordType::a;
    u16 klass = 0;
    u32 ttl_s = 0;
    Bytes rdata;
    usize rdata_offset = 0;  // in the message: CNAME targets may point before it
    Ipv4Address address;     // type A, class IN
    DnsName cname;           // type CNAME
};

class DnsPacket;

// Walks the answer section of a checked packet; cannot fail.
class DnsRecordReader {
public:
    std::optional<DnsRecord> next();

private:
    friend class DnsPacket;
    DnsRecordReader(Bytes message, usize offset, usize count)
        : m_message(message), m_offset(offset), m_remaining(count)
    {
    }
    Bytes m_message;
    usize m_offset;
    usize m_remaining;
};

class DnsPacket {
public:
    static constexpr usize header_len = 12;
    static constexpr usize questions_max = 4;
    static constexpr usize answers_max = 32;
    // Over UDP without EDNS (RFC 1035 4.2.1); longer messages are accepted when
    // the buffer holds them, this only sizes the stack's own buffers.
    static constexpr usize udp_message_len_max = 512;

    // Validates the header, every question and every answer record (names,
    // lengths, A and CNAME data). Authority and additional sections are ignored.
    static Result<DnsPacket, WireError> check(Bytes message);

    u16 id() const;
    DnsFlags flags() const;
    u16 question_count() const;
    u16 answer_count() const;
    // The first question; nullopt when there is none.
    std::optional<DnsQuestion> question() const;
    DnsRecordReader answers() const
    {
        return DnsRecordReader(m_bytes, m_answers_offset, answer_count());
    }
    Bytes bytes() const { return m_bytes; }

private:
    DnsPacket(Bytes bytes, usize answers_offset) : m_bytes(bytes), m_answers_offset(answers_offset)
    {
    }
    Bytes m_bytes;
    usize m_answers_offset;
};

// Header and (first) question: what a stub resolver sends and matches replies by.
struct DnsRepr {
    u16 id = 0;
    DnsFlags flags{DnsFlags::recursion_desired};
    std::optional<DnsQuestion> question;

    static DnsRepr parse(const DnsPacket& packet);
    usize buffer_len() const;
    // Writes header and question, no compression: a query.
    void emit(MutableBytes buffer) const;
};

} // namespace gantry::net
