// DNS, RFC 1035 (4.1 message format, 4.1.4 compression, 2.3.4 limits);
// RFC 4343 (case-insensitive comparison).
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/dns.hpp>

namespace gantry::net {

namespace {

constexpr u8 pointer_tag = 0xc0;
constexpr usize record_fixed_len = 10; // type, class, TTL, rdlength

u8 ascii_lower(u8 c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<u8>(c + ('a' - 'A')) : c;
}

} // namespace

Status<WireError> DnsName::append_label(Bytes label)
{
    if (label.empty() || label.size() > label_len_max)
        return fail(WireError::bad_length);
    // m_len counts the root byte; the new label goes just before it.
    if (m_len + 1 + label.size() > wire_len_max)
        return fail(WireError::bad_length);
    usize at = m_len - 1;
    m_wire[at++] = static_cast<u8>(label.size());
    for (u8 c : label)
        m_wire[at++] = c;
    m_wire[at++] = 0;
    m_len = at;
    return {};
}

Result<DnsName, WireError> DnsName::from_dotted(std::string_view text)
{
    if (!text.empty() && text.back() == '.')
        text.remove_suffix(1);
    DnsName name;
    if (text.empty())
        return name;
    auto* bytes = reinterpret_cast<const u8*>(text.data());
    usize label_start = 0;
    for (usize i = 0; i <= text.size(); i++) {
        if (i < text.size() && text[i] != '.')
            continue;
        GANTRY_TRY(name.append_label(Bytes(bytes + label_start, i - label_start)));
        label_start = i + 1;
    }
    return name;
}

bool DnsName::equals(const DnsName& other) const
{
    if (m_len != other.m_len)
        return false;
    // Length bytes are below 64, so lowering them is harmless.
    for (usize i = 0; i < m_len; i++)
        if (ascii_lower(m_wire[i]) != ascii_lower(other.m_wire[i]))
            return false;
    return true;
}

void DnsName::format(FormatBuffer& out) const
{
    if (is_root()) {
        out.append('.');
        return;
    }
    usize at = 0;
    while (m_wire[at] != 0) {
        usize length = m_wire[at];
        if (at != 0)
            out.append('.');
        out.append(std::string_view(reinterpret_cast<const char*>(&m_wire[at + 1]), length));
        at += 1 + length;
    }
}

Result<DnsNameAt, WireError> dns_read_name(Bytes message, usize offset)
{
    DnsNameAt result{DnsName(), 0};
    usize position = offset;
    // Pointers must land strictly before `limit`, which then moves down to the
    // landing place: the positions strictly decrease, so no chain can cycle.
    usize limit = offset;
    usize jumps = 0;
    bool jumped = false;
    // Each pass consumes a label (at least two name bytes, bounded by the name
    // length limit) or a jump (bounded by pointer_jumps_max).
    for (;;) {
        if (position >= message.size())
            return fail(WireError::truncated);
        u8 length = message[position];
        if ((length & pointer_tag) == pointer_tag) {
            if (position + 2 > message.size())
                return fail(WireError::truncated);
            usize target = load_be16(message, position) & 0x3fffu;
            if (target >= limit || ++jumps > DnsName::pointer_jumps_max)
                return fail(WireError::malformed);
            if (!jumped)
                result.end = position + 2;
            jumped = true;
            position = limit = target;
            continue;
        }
        // 0x40 and 0x80 are the obsolete extended label types (RFC 6891 6.2).
        if ((length & pointer_tag) != 0)
            return fail(WireError::unsupported);
        if (length == 0)
            break;
        if (position + 1 + length > message.size())
            return fail(WireError::truncated);
        if (!result.name.append_label(message.subspan(position + 1, length)))
            return fail(WireError::malformed);
        position += 1 + length;
    }
    if (!jumped)
        result.end = position + 1;
    return result;
}

namespace {

// Validates one answer record at `offset` and returns the offset after it.
Result<usize, WireError> check_record(Bytes message, usize offset)
{
    auto owner = GANTRY_TRY(dns_read_name(message, offset));
    usize at = owner.end;
    if (at + record_fixed_len > message.size())
        return fail(WireError::truncated);
    u16 type = load_be16(message, at);
    u16 klass = load_be16(message, at + 2);
    usize rdata_len = load_be16(message, at + 8);
    at += record_fixed_len;
    if (at + rdata_len > message.size())
        return fail(WireError::truncated);
    if (klass == static_cast<u16>(DnsClass::in) && type == static_cast<u16>(DnsRecordType::a) &&
        rdata_len != Ipv4Address::size)
        return fail(WireError::bad_length);
    if (type == static_cast<u16>(DnsRecordType::cname)) {
        // The target may be compressed, but must end exactly where rdata ends.
        auto target = GANTRY_TRY(dns_read_name(message.first(at + rdata_len), at));
        if (target.end != at + rdata_len)
            return fail(WireError::bad_length);
    }
    return at + rdata_len;
}

} // namespace

Result<DnsPacket, WireError> DnsPacket::check(Bytes message)
{
    if (message.size() < header_len)
        return fail(WireError::truncated);
    usize questions = load_be16(message, 4);
    usize answers = load_be16(message, 6);
    if (questions > questions_max || answers > answers_max)
        return fail(WireError::unsupported);
    usize at = header_len;
    for (usize i = 0; i < questions; i++) {
        auto name = GANTRY_TRY(dns_read_name(message, at));
        at = name.end + 4; // type, class
        if (at > message.size())
            return fail(WireError::truncated);
    }
    usize answers_offset = at;
    for (usize i = 0; i < answers; i++)
        at = GANTRY_TRY(check_record(message, at));
    return DnsPacket(message, answers_offset);
}

u16 DnsPacket::id() const { return load_be16(m_bytes, 0); }
DnsFlags DnsPacket::flags() const { return DnsFlags{load_be16(m_bytes, 2)}; }
u16 DnsPacket::question_count() const { return load_be16(m_bytes, 4); }
u16 DnsPacket::answer_count() const { return load_be16(m_bytes, 6); }

std::optional<DnsQuestion> DnsPacket::question() const
{
    if (question_count() == 0)
        return std::nullopt;
    auto name = dns_read_name(m_bytes, header_len);
    GANTRY_ASSERT(name.ok()); // check() read it
    usize at = name.value().end;
    return DnsQuestion{name.value().name, static_cast<DnsRecordType>(load_be16(m_bytes, at)),
                       load_be16(m_bytes, at + 2)};
}

std::optional<DnsRecord> DnsRecordReader::next()
{
    if (m_remaining == 0)
        return std::nullopt;
    m_remaining--;
    auto owner = dns_read_name(m_message, m_offset);
    GANTRY_ASSERT(owner.ok()); // check() validated every answer
    DnsRecord record;
    record.name = owner.value().name;
    usize at = owner.value().end;
    record.type = static_cast<DnsRecordType>(load_be16(m_message, at));
    record.klass = load_be16(m_message, at + 2);
    record.ttl_s = load_be32(m_message, at + 4);
    // RFC 2181 section 8: a TTL with the top bit set is treated as zero.
    if (record.ttl_s > 0x7fffffff)
        record.ttl_s = 0;
    usize rdata_len = load_be16(m_message, at + 8);
    record.rdata_offset = at + record_fixed_len;
    record.rdata = m_message.subspan(record.rdata_offset, rdata_len);
    if (record.type == DnsRecordType::a && record.klass == static_cast<u16>(DnsClass::in))
        record.address = Ipv4Address::from_bytes(record.rdata);
    if (record.type == DnsRecordType::cname) {
        auto target = dns_read_name(m_message, record.rdata_offset);
        GANTRY_ASSERT(target.ok());
        record.cname = target.value().name;
    }
    m_offset = record.rdata_offset + rdata_len;
    return record;
}

DnsRepr DnsRepr::parse(const DnsPacket& packet)
{
    return {packet.id(), packet.flags(), packet.question()};
}

usize DnsRepr::buffer_len() const
{
    return DnsPacket::header_len + (question ? question->name.wire().size() + 4 : 0);
}

void DnsRepr::emit(MutableBytes buffer) const
{
    GANTRY_ASSERT(buffer.size() >= buffer_len());
    store_be16(buffer, 0, id);
    store_be16(buffer, 2, flags.bits);
    store_be16(buffer, 4, question ? 1 : 0);
    store_be16(buffer, 6, 0);
    store_be16(buffer, 8, 0);
    store_be16(buffer, 10, 0);
    if (!question)
        return;
    Bytes name = question->name.wire();
    copy_bytes(buffer.subspan(DnsPacket::header_len), name);
    usize at = DnsPacket::header_len + name.size();
    store_be16(buffer, at, static_cast<u16>(question->type));
    store_be16(buffer, at + 2, question->klass);
}

} // namespace gantry::net
