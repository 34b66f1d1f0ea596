// DHCP, RFC 2131 (message), RFC 2132 (options), RFC 1542 (minimum size).
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/dhcp.hpp>

namespace gantry::net {

namespace {

constexpr u16 flag_broadcast = 0x8000;
constexpr u8 hardware_ethernet = 1;

// Fills `out` from a 4-byte option; false on any other length.
bool read_address(const DhcpOption& option, std::optional<Ipv4Address>& out)
{
    if (option.data.size() != Ipv4Address::size)
        return false;
    out = Ipv4Address::from_bytes(option.data);
    return true;
}

bool read_seconds(const DhcpOption& option, std::optional<u32>& out)
{
    if (option.data.size() != 4)
        return false;
    out = load_be32(option.data, 0);
    return true;
}

bool read_servers(const DhcpOption& option, DhcpRepr& repr)
{
    if (option.data.empty() || option.data.size() % Ipv4Address::size != 0)
        return false;
    repr.dns_server_count = 0;
    for (usize at = 0; at < option.data.size() && repr.dns_server_count < repr.dns_servers_max;
         at += Ipv4Address::size)
        repr.dns_servers[repr.dns_server_count++] =
            Ipv4Address::from_bytes(option.data.subspan(at));
    return true;
}

// Applies one option to `repr`; false when its length or value is impossible.
bool apply_option(const DhcpOption& option, DhcpRepr& repr)
{
    switch (option.code) {
    case dhcp_option::message_type:
        if (option.data.size() != 1 || option.data[0] < 1 || option.data[0] > 8)
            return false;
        repr.message_type = static_cast<DhcpMessageType>(option.data[0]);
        return true;
    case dhcp_option::server_id: return read_address(option, repr.server_id);
    case dhcp_option::requested_ip: return read_address(option, repr.requested_ip);
    case dhcp_option::subnet_mask: return read_address(option, repr.subnet_mask);
    case dhcp_option::router:
        if (option.data.empty() || option.data.size() % Ipv4Address::size != 0)
            return false;
        repr.router = Ipv4Address::from_bytes(option.data);
        return true;
    case dhcp_option::dns_server: return read_servers(option, repr);
    case dhcp_option::lease_time: return read_seconds(option, repr.lease_time_s);
    case dhcp_option::renewal_time: return read_seconds(option, repr.renewal_time_s);
    case dhcp_option::rebinding_time: return read_seconds(option, repr.rebinding_time_s);
    case dhcp_option::hostname:
        if (option.data.empty() || option.data.size() > repr.hostname_len_max)
            return false;
        repr.hostname = std::string_view(reinterpret_cast<const char*>(option.data.data()),
                                         option.data.size());
        return true;
    case dhcp_option::parameter_request_list:
        if (option.data.empty() || option.data.size() > repr.parameter_request_max)
            return false;
        repr.parameter_request_list = option.data;
        return true;
    default:
        return true; // unknown options are skipped (RFC 2132 section 2)
    }
}

} // namespace

std::optional<DhcpOption> DhcpOptionReader::next()
{
    while (m_position < m_options.size()) {
        u8 code = m_options[m_position];
        if (code == dhcp_option::end) {
            m_position = m_options.size();
            return std::nullopt;
        }
        if (code == dhcp_option::pad) {
            m_position++;
            continue;
        }
        // check() proved every option fits; assert it stays so.
        GANTRY_ASSERT(m_position + 2 <= m_options.size());
        usize length = m_options[m_position + 1];
        GANTRY_ASSERT(m_position + 2 + length <= m_options.size());
        DhcpOption option{code, m_options.subspan(m_position + 2, length)};
        m_position += 2 + length;
        return option;
    }
    return std::nullopt;
}

Result<DhcpPacket, WireError> DhcpPacket::check(Bytes packet)
{
    if (packet.size() < options_offset)
        return fail(WireError::truncated);
    if (packet[0] != static_cast<u8>(DhcpOp::request) &&
        packet[0] != static_cast<u8>(DhcpOp::reply))
        return fail(WireError::malformed);
    if (packet[2] > chaddr_len)
        return fail(WireError::bad_length);
    if (load_be32(packet, fixed_len) != magic_cookie)
        return fail(WireError::bad_version);
    // Every iteration consumes at least one byte, so the walk is bounded by the
    // buffer. A missing `end` is tolerated: buggy servers omit it, and nothing
    // after the buffer can be misread.
    Bytes options = packet.subspan(options_offset);
    usize position = 0;
    while (position < options.size()) {
        u8 code = options[position];
        if (code == dhcp_option::end)
            break;
        if (code == dhcp_option::pad) {
            position++;
            continue;
        }
        if (position + 2 > options.size() || position + 2 + options[position + 1] > options.size())
            return fail(WireError::malformed);
        position += 2 + usize{options[position + 1]};
    }
    return DhcpPacket(packet);
}

u32 DhcpPacket::xid() const { return load_be32(m_bytes, 4); }
u16 DhcpPacket::secs() const { return load_be16(m_bytes, 8); }

DhcpBroadcast DhcpPacket::broadcast() const
{
    return (load_be16(m_bytes, 10) & flag_broadcast) ? DhcpBroadcast::yes : DhcpBroadcast::no;
}

Result<DhcpRepr, WireError> DhcpRepr::parse(const DhcpPacket& packet)
{
    if (packet.hardware_type() != hardware_ethernet || packet.hardware_len() != MacAddress::size)
        return fail(WireError::unsupported);
    DhcpRepr repr;
    repr.op = packet.op();
    repr.xid = packet.xid();
    repr.secs = packet.secs();
    repr.broadcast = packet.broadcast();
    repr.client_ip = packet.client_ip();
    repr.your_ip = packet.your_ip();
    repr.server_ip = packet.server_ip();
    repr.relay_ip = packet.relay_ip();
    repr.client_mac = packet.client_mac();
    bool has_message_type = false;
    DhcpOptionReader reader = packet.option_reader();
    for (auto option = reader.next(); option; option = reader.next()) {
        if (!apply_option(*option, repr))
            return fail(WireError::malformed);
        if (option->code == dhcp_option::message_type)
            has_message_type = true;
    }
    if (!has_message_type)
        return fail(WireError::unsupported);
    return repr;
}

namespace {

// Option bytes emit() writes, end option included.
usize options_len(const DhcpRepr& repr)
{
    usize length = 3 + 1; // message type, end
    length += repr.server_id ? 6 : 0;
    length += repr.requested_ip ? 6 : 0;
    length += repr.subnet_mask ? 6 : 0;
    length += repr.router ? 6 : 0;
    length += repr.lease_time_s ? 6 : 0;
    length += repr.renewal_time_s ? 6 : 0;
    length += repr.rebinding_time_s ? 6 : 0;
    length += repr.dns_server_count ? 2 + 4 * repr.dns_server_count : 0;
    length += repr.hostname.empty() ? 0 : 2 + repr.hostname.size();
    length += repr.parameter_request_list.empty() ? 0 : 2 + repr.parameter_request_list.size();
    return length;
}

class OptionWriter {
public:
    explicit OptionWriter(MutableBytes out) : m_out(out) {}
    void header(u8 code, usize length)
    {
        GANTRY_ASSERT(length <= 255);
        m_out[m_at++] = code;
        m_out[m_at++] = static_cast<u8>(length);
    }
    void byte(u8 value) { m_out[m_at++] = value; }
    void address(u8 code, const std::optional<Ipv4Address>& value)
    {
        if (!value)
            return;
        header(code, 4);
        value->write_to(m_out.subspan(m_at));
        m_at += 4;
    }
    void seconds(u8 code, const std::optional<u32>& value)
    {
        if (!value)
            return;
        header(code, 4);
        store_be32(m_out, m_at, *value);
        m_at += 4;
    }
    void bytes(u8 code, Bytes data)
    {
        if (data.empty())
            return;
        header(code, data.size());
        for (u8 value : data)
            m_out[m_at++] = value;
    }
    usize position() const { return m_at; }

private:
    MutableBytes m_out;
    usize m_at = 0;
};

} // namespace

usize DhcpRepr::buffer_len() const
{
    usize length = DhcpPacket::options_offset + options_len(*this);
    return length < message_len_min ? message_len_min : length;
}

void DhcpRepr::emit(MutableBytes buffer) const
{
    GANTRY_ASSERT(buffer.size() >= buffer_len());
    GANTRY_ASSERT(dns_server_count <= dns_servers_max);
    GANTRY_ASSERT(hostname.size() <= hostname_len_max);
    GANTRY_ASSERT(parameter_request_list.size() <= parameter_request_max);
    MutableBytes out = buffer.first(buffer_len());
    fill_bytes(out, 0);
    out[0] = static_cast<u8>(op);
    out[1] = hardware_ethernet;
    out[2] = MacAddress::size;
    store_be32(out, 4, xid);
    store_be16(out, 8, secs);
    store_be16(out, 10, broadcast == DhcpBroadcast::yes ? flag_broadcast : 0);
    client_ip.write_to(out.subspan(12));
    your_ip.write_to(out.subspan(16));
    server_ip.write_to(out.subspan(20));
    relay_ip.write_to(out.subspan(24));
    client_mac.write_to(out.subspan(28));
    store_be32(out, DhcpPacket::fixed_len, DhcpPacket::magic_cookie);

    OptionWriter writer(out.subspan(DhcpPacket::options_offset));
    writer.header(dhcp_option::message_type, 1);
    writer.byte(static_cast<u8>(message_type));
    writer.address(dhcp_option::server_id, server_id);
    writer.address(dhcp_option::requested_ip, requested_ip);
    writer.address(dhcp_option::subnet_mask, subnet_mask);
    writer.address(dhcp_option::router, router);
    writer.seconds(dhcp_option::lease_time, lease_time_s);
    writer.seconds(dhcp_option::renewal_time, renewal_time_s);
    writer.seconds(dhcp_option::rebinding_time, rebinding_time_s);
    if (dns_server_count > 0) {
        writer.header(dhcp_option::dns_server, 4 * dns_server_count);
        for (usize i = 0; i < dns_server_count; i++)
            for (u8 octet : dns_servers[i].octets)
                writer.byte(octet);
    }
    writer.bytes(dhcp_option::hostname,
                 Bytes(reinterpret_cast<const u8*>(hostname.data()), hostname.size()));
    writer.bytes(dhcp_option::parameter_request_list, parameter_request_list);
    writer.byte(dhcp_option::end);
    GANTRY_ASSERT(writer.position() == options_len(*this));
}

} // namespace gantry::net
