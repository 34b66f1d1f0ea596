// libpcap does all the file parsing (pcap in either byte order and timestamp
// precision, pcapng with its blocks); this file only turns records into
// Ethernet frames and enforces the replay's bounds.
#include "capture.hpp"

#include <pcap/pcap.h>

#include <cstdio>
#include <memory>

namespace gantry::harness::replay {

namespace {

constexpr usize ethernet_header_bytes = 14;
constexpr usize sll_header_bytes = 16;
constexpr usize sll2_header_bytes = 20;
constexpr u16 arphrd_ether = 1;
// Protocol values below 0x0600 in a cooked header are not EtherTypes (802.2 LLC,
// CAN, ...): no Ethernet frame can carry them.
constexpr u16 ethertype_min = 0x0600;

struct PcapCloser {
    void operator()(pcap_t* handle) const { pcap_close(handle); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

u16 read_be16(const u8* bytes) { return static_cast<u16>((bytes[0] << 8) | bytes[1]); }

std::string link_type_name(int link_type)
{
    const char* name = pcap_datalink_val_to_name(link_type);
    return name ? name : "unknown";
}

// The cooked header's fields that matter for an Ethernet frame.
struct CookedHeader {
    usize length;
    u16 protocol;
    u16 device_type;
    u8 address_len;
    const u8* address;
};

bool parse_cooked(int link_type, const u8* data, usize size, CookedHeader& out)
{
    if (link_type == DLT_LINUX_SLL) {
        if (size < sll_header_bytes)
            return false;
        out = {sll_header_bytes, read_be16(data + 14), read_be16(data + 2),
               static_cast<u8>(read_be16(data + 4) > 8 ? 8 : read_be16(data + 4)), data + 6};
        return true;
    }
    if (size < sll2_header_bytes)
        return false;
    out = {sll2_header_bytes, read_be16(data), read_be16(data + 8),
           static_cast<u8>(data[11] > 8 ? 8 : data[11]), data + 12};
    return true;
}

// An Ethernet frame from a cooked record: false when the record cannot be one
// (a non-Ethernet device, an LLC protocol, a header cut short).
bool cooked_to_ethernet(int link_type, const u8* data, usize size, std::vector<u8>& frame)
{
    CookedHeader header{};
    if (!parse_cooked(link_type, data, size, header))
        return false;
    if (header.device_type != arphrd_ether || header.protocol < ethertype_min)
        return false;
    frame.assign(ethernet_header_bytes, 0);
    if (header.address_len == 6)
        std::copy(header.address, header.address + 6, frame.begin() + 6);
    frame[12] = static_cast<u8>(header.protocol >> 8);
    frame[13] = static_cast<u8>(header.protocol);
    frame.insert(frame.end(), data + header.length, data + size);
    return true;
}

class Reader {
public:
    Reader(PcapHandle handle, std::string name) : m_handle(std::move(handle))
    {
        m_capture.path = std::move(name);
    }

    Capture read(const std::string& filter)
    {
        m_capture.link_type = pcap_datalink(m_handle.get());
        m_capture.link_name = link_type_name(m_capture.link_type);
        check_link_type();
        compile(filter);
        read_records();
        if (m_program_valid)
            pcap_freecode(&m_program);
        return std::move(m_capture);
    }

private:
    [[noreturn]] void fail(const std::string& problem)
    {
        if (m_program_valid)
            pcap_freecode(&m_program);
        throw CaptureError(m_capture.path + ": " + problem);
    }

    void check_link_type()
    {
        int type = m_capture.link_type;
        if (type == DLT_EN10MB || type == DLT_LINUX_SLL || type == DLT_LINUX_SLL2)
            return;
        fail("link type " + std::to_string(type) + " (" + m_capture.link_name +
             ") is not supported; replay reads Ethernet (EN10MB) and Linux cooked "
             "(LINUX_SLL, LINUX_SLL2) captures");
    }

    void compile(const std::string& filter)
    {
        if (filter.empty())
            return;
        if (pcap_compile(m_handle.get(), &m_program, filter.c_str(), 1,
                         PCAP_NETMASK_UNKNOWN) != 0)
            fail("filter '" + filter + "': " + pcap_geterr(m_handle.get()));
        m_program_valid = true;
    }

    void read_records()
    {
        usize bytes_total = 0;
        for (;;) {
            pcap_pkthdr* header = nullptr;
            const u_char* data = nullptr;
            int status = pcap_next_ex(m_handle.get(), &header, &data);
            if (status == PCAP_ERROR_BREAK)
                return; // the end of the file
            if (status != 1)
                fail("record " + std::to_string(m_capture.records + 1) + ": " +
                     pcap_geterr(m_handle.get()) +
                     " (the file is corrupt or was cut short; re-capture or cut it with "
                     "editcap)");
            ++m_capture.records;
            if (m_program_valid && pcap_offline_filter(&m_program, header, data) == 0) {
                ++m_capture.filtered_out;
                continue;
            }
            bytes_total += header->caplen;
            if (m_capture.frames.size() >= capture_frames_max || bytes_total > capture_bytes_max)
                fail("more than " + std::to_string(capture_frames_max) + " frames or " +
                     std::to_string(capture_bytes_max >> 20) +
                     " MiB selected; narrow it with --filter");
            add(*header, data);
        }
    }

    void add(const pcap_pkthdr& header, const u8* data)
    {
        CapturedFrame frame;
        frame.record = m_capture.records;
        frame.time_ns = static_cast<TimeNs>(header.ts.tv_sec) * ns_per_s +
                        static_cast<TimeNs>(header.ts.tv_usec); // nanosecond precision
        frame.wire_len = header.len;
        frame.truncated = header.caplen < header.len;
        if (m_capture.link_type == DLT_EN10MB) {
            frame.ethernet.assign(data, data + header.caplen);
        } else {
            frame.cooked = true;
            if (!cooked_to_ethernet(m_capture.link_type, data, header.caplen, frame.ethernet)) {
                ++m_capture.not_ethernet;
                return;
            }
        }
        m_capture.frames.push_back(std::move(frame));
    }

    PcapHandle m_handle;
    Capture m_capture;
    bpf_program m_program{};
    bool m_program_valid = false;
};

} // namespace

Capture read_capture(const std::string& path, const std::string& filter)
{
    char error[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, error);
    if (!handle)
        throw CaptureError(path + ": cannot read it as a capture: " + error +
                           " (replay reads pcap and pcapng files)");
    return Reader(PcapHandle(handle), path).read(filter);
}

Capture read_capture_bytes(std::span<const u8> bytes, const std::string& name,
                           const std::string& filter)
{
    if (bytes.empty())
        throw CaptureError(name + ": the file is empty");
    // fmemopen needs a mutable buffer it may not outlive; pcap_close closes it.
    std::vector<u8> copy(bytes.begin(), bytes.end());
    FILE* file = fmemopen(copy.data(), copy.size(), "rb");
    if (!file)
        throw CaptureError(name + ": cannot open the bytes as a stream");
    char error[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, error);
    if (!handle) {
        std::fclose(file);
        throw CaptureError(name + ": cannot read it as a capture: " + error +
                           " (replay reads pcap and pcapng files)");
    }
    return Reader(PcapHandle(handle), name).read(filter);
}

} // namespace gantry::harness::replay
