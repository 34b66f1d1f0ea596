#include "recording.hpp"

#include <cerrno>
#include <cstring>

namespace gantry::recording {

namespace {

constexpr u8 magic[4] = {'G', 'R', 'E', 'C'};
constexpr usize varint_bytes_max = 10;

u64 zigzag(i64 value) { return (static_cast<u64>(value) << 1) ^ static_cast<u64>(value >> 63); }
i64 unzigzag(u64 value) { return static_cast<i64>(value >> 1) ^ -static_cast<i64>(value & 1); }

} // namespace

const char* tag_name(Tag tag)
{
    switch (tag) {
    case Tag::clock: return "clock";
    case Tag::entropy: return "entropy";
    case Tag::frame_in: return "frame in";
    case Tag::no_frame: return "no frame";
    case Tag::frame_out: return "frame out";
    case Tag::signals: return "signals";
    case Tag::end: return "end";
    case Tag::disk_submit: return "disk submit";
    case Tag::disk_idle: return "disk idle";
    case Tag::disk_done: return "disk done";
    }
    return "unknown";
}

u64 fnv1a64(Bytes bytes)
{
    u64 hash = 0xcbf29ce484222325ull;
    for (u8 byte : bytes) {
        hash ^= byte;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

// --- Writer -------------------------------------------------------------------

Writer::~Writer()
{
    if (m_file)
        std::fclose(m_file);
}

bool Writer::open(const std::string& path, const Header& header, std::string& error)
{
    m_file = std::fopen(path.c_str(), "wb");
    if (!m_file) {
        error = "cannot create the recording '" + path + "': " + std::strerror(errno);
        return false;
    }
    for (u8 byte : magic)
        put(byte);
    put(static_cast<u8>(format_version));
    put(static_cast<u8>(format_version >> 8));
    put_text(header.app);
    put_text(header.platform_name);
    put_varint(header.args.size());
    for (const std::string& arg : header.args)
        put_text(arg);
    put_varint(header.memory_bytes);
    put_varint(header.log_level);
    put_varint((header.trace ? 1u : 0u) | (header.dhcp ? 2u : 0u));
    put_varint(header.ip);
    put_varint(header.prefix);
    put_varint(header.gateway);
    put_varint(header.dns);
    put_varint(header.nics.size());
    for (const NicInfo& nic : header.nics) {
        put_bytes(Bytes(nic.mac.data(), nic.mac.size()));
        put_varint(nic.mtu);
    }
    put_varint(header.disks.size());
    for (const DiskInfo& disk : header.disks) {
        put_varint(disk.sector_bytes);
        put_varint(disk.sector_count);
        put_varint(disk.read_only ? 1 : 0);
    }
    return true;
}

void Writer::put(u8 byte)
{
    if (!m_file)
        return; // finished (or never opened): nothing more is recorded
    if (std::fputc(byte, m_file) == EOF)
        m_failed = true;
    ++m_bytes;
}

void Writer::put_varint(u64 value)
{
    while (value >= 0x80) {
        put(static_cast<u8>(value | 0x80));
        value >>= 7;
    }
    put(static_cast<u8>(value));
}

void Writer::put_bytes(Bytes bytes)
{
    if (!m_file)
        return;
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), m_file) != bytes.size())
        m_failed = true;
    m_bytes += bytes.size();
}

void Writer::put_text(const std::string& text)
{
    put_varint(text.size());
    put_bytes(Bytes(reinterpret_cast<const u8*>(text.data()), text.size()));
}

void Writer::clock(TimeNs now)
{
    put(static_cast<u8>(Tag::clock));
    put_varint(zigzag(static_cast<i64>(now - m_last_clock)));
    m_last_clock = now;
}

void Writer::entropy(Bytes bytes)
{
    put(static_cast<u8>(Tag::entropy));
    put_varint(bytes.size());
    put_bytes(bytes);
}

void Writer::frame_in(u32 nic, Bytes frame)
{
    put(static_cast<u8>(Tag::frame_in));
    put_varint(nic);
    put_varint(frame.size());
    put_bytes(frame);
}

void Writer::no_frame(u32 nic)
{
    put(static_cast<u8>(Tag::no_frame));
    put_varint(nic);
}

void Writer::frame_out(u32 nic, Bytes frame)
{
    put(static_cast<u8>(Tag::frame_out));
    put_varint(nic);
    put_varint(frame.size());
    u64 hash = fnv1a64(frame);
    for (int i = 0; i < 8; ++i)
        put(static_cast<u8>(hash >> (8 * i)));
}

void Writer::signals(u64 iteration, int count)
{
    put(static_cast<u8>(Tag::signals));
    put_varint(iteration);
    put_varint(static_cast<u64>(count));
}

void Writer::disk_submit(u32 disk, bool accepted)
{
    put(static_cast<u8>(Tag::disk_submit));
    put_varint(disk);
    put_varint(accepted ? 1 : 0);
}

void Writer::disk_idle(u32 disk)
{
    put(static_cast<u8>(Tag::disk_idle));
    put_varint(disk);
}

void Writer::disk_done(u32 disk, u64 request, u8 status, Bytes data)
{
    put(static_cast<u8>(Tag::disk_done));
    put_varint(disk);
    put_varint(request);
    put_varint(status);
    put_varint(data.size());
    put_bytes(data);
}

bool Writer::finish(int exit_code)
{
    if (!m_file)
        return false;
    put(static_cast<u8>(Tag::end));
    put_varint(zigzag(exit_code));
    bool ok = !m_failed && std::fclose(m_file) == 0;
    m_file = nullptr;
    return ok;
}

// --- Reader -------------------------------------------------------------------

bool Reader::fail(std::string& error, const std::string& what)
{
    error = "byte " + std::to_string(m_at) + ": " + what;
    return false;
}

bool Reader::get(u8& byte)
{
    if (m_at >= m_bytes.size())
        return false;
    byte = m_bytes[m_at++];
    return true;
}

bool Reader::get_varint(u64& value)
{
    value = 0;
    for (usize i = 0; i < varint_bytes_max; ++i) {
        u8 byte = 0;
        if (!get(byte))
            return false;
        value |= static_cast<u64>(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80))
            return true;
    }
    return false; // longer than any 64-bit value
}

bool Reader::get_text(std::string& text, usize max)
{
    u64 length = 0;
    if (!get_varint(length) || length > max || length > m_bytes.size() - m_at)
        return false;
    text.assign(reinterpret_cast<const char*>(m_bytes.data() + m_at), length);
    m_at += length;
    return true;
}

bool Reader::read_header(Header& header, std::string& error)
{
    for (u8 expected : magic) {
        u8 byte = 0;
        if (!get(byte) || byte != expected)
            return fail(error, "not a Gantry recording (no GREC magic)");
    }
    u8 low = 0;
    u8 high = 0;
    if (!get(low) || !get(high))
        return fail(error, "the header is cut short");
    u16 version = static_cast<u16>(low | (high << 8));
    if (version != format_version)
        return fail(error, "format version " + std::to_string(version) +
                               " (this gantry reads version " +
                               std::to_string(format_version) + ")");
    u64 count = 0;
    if (!get_text(header.app, text_bytes_max) || !get_text(header.platform_name, text_bytes_max) ||
        !get_varint(count) || count > args_max)
        return fail(error, "a malformed header (app, platform or arguments)");
    header.args.resize(count);
    for (std::string& arg : header.args)
        if (!get_text(arg, text_bytes_max))
            return fail(error, "a malformed argument");
    u64 log_level = 0, flags = 0, ip = 0, prefix = 0, gateway = 0, dns = 0, nics = 0;
    if (!get_varint(header.memory_bytes) || !get_varint(log_level) || !get_varint(flags) ||
        !get_varint(ip) || !get_varint(prefix) || !get_varint(gateway) || !get_varint(dns) ||
        !get_varint(nics) || log_level > 255 || ip > 0xffffffffu || prefix > 32 ||
        gateway > 0xffffffffu || dns > 0xffffffffu || nics > nics_max)
        return fail(error, "a malformed header (configuration)");
    header.log_level = static_cast<u8>(log_level);
    header.trace = flags & 1;
    header.dhcp = flags & 2;
    header.ip = static_cast<u32>(ip);
    header.prefix = static_cast<u8>(prefix);
    header.gateway = static_cast<u32>(gateway);
    header.dns = static_cast<u32>(dns);
    header.nics.resize(nics);
    for (NicInfo& nic : header.nics) {
        u64 mtu = 0;
        for (u8& byte : nic.mac)
            if (!get(byte))
                return fail(error, "a NIC's MAC is cut short");
        if (!get_varint(mtu) || mtu < 68 || mtu > 65535)
            return fail(error, "a NIC's MTU is malformed");
        nic.mtu = static_cast<u32>(mtu);
    }
    u64 disks = 0;
    if (!get_varint(disks) || disks > disks_max)
        return fail(error, "a malformed disk count");
    header.disks.resize(disks);
    for (DiskInfo& disk : header.disks) {
        u64 sector_bytes = 0, read_only = 0;
        if (!get_varint(sector_bytes) || sector_bytes == 0 || sector_bytes > 65536 ||
            !get_varint(disk.sector_count) || !get_varint(read_only) || read_only > 1)
            return fail(error, "a disk's geometry is malformed");
        disk.sector_bytes = static_cast<u32>(sector_bytes);
        disk.read_only = read_only == 1;
    }
    return true;
}

bool Reader::next(Record& record, std::string& error)
{
    error.clear();
    u8 tag = 0;
    if (!get(tag))
        return false;
    usize start = m_at - 1;
    record = Record{};
    record.tag = static_cast<Tag>(tag);
    u64 a = 0, b = 0;
    bool ok = false;
    switch (record.tag) {
    case Tag::clock:
        ok = get_varint(a);
        m_last_clock += static_cast<TimeNs>(unzigzag(a));
        record.value = m_last_clock;
        break;
    case Tag::entropy:
        ok = get_varint(a) && a <= record_bytes_max && a <= m_bytes.size() - m_at;
        if (ok) {
            record.bytes.assign(m_bytes.begin() + static_cast<long>(m_at),
                                m_bytes.begin() + static_cast<long>(m_at + a));
            m_at += a;
        }
        break;
    case Tag::frame_in:
        ok = get_varint(a) && a < nics_max && get_varint(b) && b <= record_bytes_max &&
             b <= m_bytes.size() - m_at;
        if (ok) {
            record.nic = static_cast<u32>(a);
            record.bytes.assign(m_bytes.begin() + static_cast<long>(m_at),
                                m_bytes.begin() + static_cast<long>(m_at + b));
            m_at += b;
        }
        break;
    case Tag::no_frame:
        ok = get_varint(a) && a < nics_max;
        record.nic = static_cast<u32>(a);
        break;
    case Tag::frame_out:
        ok = get_varint(a) && a < nics_max && get_varint(record.length) &&
             record.length <= record_bytes_max && m_bytes.size() - m_at >= 8;
        if (ok) {
            record.nic = static_cast<u32>(a);
            for (int i = 0; i < 8; ++i)
                record.hash |= static_cast<u64>(m_bytes[m_at++]) << (8 * i);
        }
        break;
    case Tag::signals:
        ok = get_varint(record.value) && get_varint(a) && a < 1000;
        record.number = static_cast<i64>(a);
        break;
    case Tag::end:
        ok = get_varint(a);
        record.number = unzigzag(a);
        break;
    case Tag::disk_submit:
        ok = get_varint(a) && a < disks_max && get_varint(b) && b <= 1;
        record.nic = static_cast<u32>(a);
        record.status = static_cast<u8>(b);
        break;
    case Tag::disk_idle:
        ok = get_varint(a) && a < disks_max;
        record.nic = static_cast<u32>(a);
        break;
    case Tag::disk_done: {
        u64 status = 0, length = 0;
        ok = get_varint(a) && a < disks_max && get_varint(record.value) && get_varint(status) &&
             status <= 255 && get_varint(length) && length <= record_bytes_max &&
             length <= m_bytes.size() - m_at;
        if (ok) {
            record.nic = static_cast<u32>(a);
            record.status = static_cast<u8>(status);
            record.bytes.assign(m_bytes.begin() + static_cast<long>(m_at),
                                m_bytes.begin() + static_cast<long>(m_at + length));
            m_at += length;
        }
        break;
    }
    default:
        m_at = start;
        return fail(error, "unknown record tag " + std::to_string(tag));
    }
    if (!ok) {
        m_at = start;
        return fail(error, std::string("a malformed or cut-short ") + tag_name(record.tag) +
                               " record");
    }
    ++m_records;
    return true;
}

} // namespace gantry::recording
