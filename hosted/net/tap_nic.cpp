#include "tap_nic.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pcap/pcap.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gantry/net/wire/checksum.hpp>
#include <vector>

namespace gantry::hosted {

namespace {

// struct VnetHeader (virtio 1.2 section 5.1.6, the legacy 10 bytes without
// num_buffers) in the host's byte order, as a tap reads and writes it.
// <linux/virtio_net.h> has a field named `class`, so C++ cannot include it.
struct VnetHeader {
    u8 flags;
    u8 gso_type;
    u16 hdr_len;
    u16 gso_size;
    u16 csum_start;
    u16 csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr u8 vnet_needs_csum = 1;  // vnet_needs_csum
constexpr u8 vnet_gso_none = 0;    // vnet_gso_none
constexpr u8 vnet_gso_tcpv4 = 1;   // vnet_gso_tcpv4

// Stores the Internet checksum of frame[start..] at start + offset, the field
// holding the pseudo-header sum before: what a NIC does for NEEDS_CSUM.
bool complete_checksum(MutableBytes frame, usize start, usize offset)
{
    if (start >= frame.size() || offset + 2 > frame.size() - start)
        return false;
    u16 sum = net::checksum_finish(net::checksum_partial(frame.subspan(start)));
    frame[start + offset] = static_cast<u8>(sum >> 8);
    frame[start + offset + 1] = static_cast<u8>(sum);
    return true;
}

} // namespace

PcapWriter::~PcapWriter() { (void)close(); }

std::string PcapWriter::open(const std::string& path)
{
    m_pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
    if (!m_pcap)
        return "cannot set up libpcap";
    m_dumper = pcap_dump_open(m_pcap, path.c_str());
    if (!m_dumper) {
        std::string error = "cannot open capture file '" + path + "': " + pcap_geterr(m_pcap);
        pcap_close(m_pcap);
        m_pcap = nullptr;
        return error;
    }
    return {};
}

void PcapWriter::write(Bytes frame)
{
    if (!m_dumper)
        return;
    // Wall-clock time, so captures line up with other tools' captures of the run.
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    pcap_pkthdr header{};
    header.ts.tv_sec = now.tv_sec;
    header.ts.tv_usec = now.tv_nsec; // nanoseconds: the file was opened with NANO precision
    header.caplen = static_cast<bpf_u_int32>(frame.size());
    header.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(m_dumper), &header, frame.data());
}

bool PcapWriter::close()
{
    bool ok = true;
    if (m_dumper) {
        ok = pcap_dump_flush(m_dumper) == 0;
        pcap_dump_close(m_dumper);
        m_dumper = nullptr;
    }
    if (m_pcap) {
        pcap_close(m_pcap);
        m_pcap = nullptr;
    }
    return ok;
}

TapNic::~TapNic()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

std::string TapNic::open(const std::string& ifname, net::MacAddress mac, bool offload)
{
    m_mac = mac;
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
        return "--net tap: ifname must be 1 to 15 characters";
    std::string fix = "create it once with:\n  sudo ip tuntap add dev " + ifname +
                      " mode tap user $USER && sudo ip link set " + ifname + " up";
    m_fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (m_fd < 0)
        return std::string("cannot open /dev/net/tun: ") + std::strerror(errno) +
               " (is the tun module loaded? 'sudo modprobe tun')";
    ifreq request{};
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    std::memcpy(request.ifr_name, ifname.c_str(), ifname.size());
    // TUNSETIFF on a missing device would create it (as root) and leave it
    // behind; refuse unless it exists, so Gantry never changes the host's network.
    if (access(("/sys/class/net/" + ifname).c_str(), F_OK) != 0)
        return "tap device '" + ifname + "' does not exist; " + fix;
    if (ioctl(m_fd, TUNSETIFF, &request) < 0) {
        int error = errno;
        if (error == EPERM || error == EACCES)
            return "not permitted to use tap device '" + ifname +
                   "' (it belongs to another user, or is not a tap); " + fix;
        return "cannot attach to tap device '" + ifname + "': " + std::strerror(error);
    }
    if (!offload)
        return {};
    // The header is the legacy 10 bytes (no num_buffers); Linux takes GSO
    // frames from us whatever TUNSETOFFLOAD says, which only sets what it may
    // hand to us: nothing, so received frames stay complete and MTU-sized.
    int header_bytes = sizeof(VnetHeader);
    if (ioctl(m_fd, TUNSETVNETHDRSZ, &header_bytes) < 0 || ioctl(m_fd, TUNSETOFFLOAD, 0u) < 0)
        return "cannot set up the vnet header on tap device '" + ifname + "': " +
               std::strerror(errno) + " (try --net tap,ifname=" + ifname + ",offload=off)";
    m_vnet_header = true;
    return {};
}

NicOffloads TapNic::offloads() const
{
    NicOffloads offloads;
    if (m_vnet_header) {
        offloads.tx_checksum = true;
        offloads.tso_packet_bytes_max = 65535; // GSO's limit: one IPv4 packet
    }
    return offloads;
}

usize TapNic::receive(MutableBytes out)
{
    // Bounded: a frame that does not fit is dropped and the next one tried, at
    // most batch_max times per call.
    for (usize attempt = 0; attempt < batch_max; ++attempt) {
        u8 buffer[sizeof(VnetHeader) + 65536];
        ssize_t got = ::read(m_fd, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        auto length = static_cast<usize>(got);
        u8* frame = buffer;
        if (m_vnet_header) {
            VnetHeader header{};
            if (length < sizeof(header))
                continue;
            std::memcpy(&header, buffer, sizeof(header));
            frame += sizeof(header);
            length -= sizeof(header);
            if (header.gso_type != vnet_gso_none) {
                m_rx_gso++;
                continue;
            }
            // Not expected with TUNSETOFFLOAD(0), but correct if it comes: a
            // partial checksum is completed as the NIC would have.
            if ((header.flags & vnet_needs_csum) != 0 &&
                !complete_checksum(MutableBytes(frame, length), header.csum_start,
                                   header.csum_offset))
                continue;
        }
        m_pcap.write(Bytes(frame, length));
        if (length > out.size()) {
            m_rx_too_long++;
            continue;
        }
        std::memcpy(out.data(), frame, length);
        return length;
    }
    return 0;
}

bool TapNic::transmit(Bytes frame)
{
    m_pcap.write(frame);
    VnetHeader header{}; // nothing to do for Linux
    return write_frame(&header, m_vnet_header ? sizeof(header) : 0, frame);
}

bool TapNic::transmit_offloaded(Bytes frame, const NicTxOffload& offload)
{
    GANTRY_ASSERT(m_vnet_header);
    capture_tx(frame, offload);
    VnetHeader header{};
    if (offload.checksum_start != 0) {
        header.flags = vnet_needs_csum;
        header.csum_start = offload.checksum_start;
        header.csum_offset = offload.checksum_offset;
    }
    if (offload.segment_payload != 0) {
        header.gso_type = vnet_gso_tcpv4;
        header.gso_size = offload.segment_payload;
        header.hdr_len = offload.header_bytes;
    }
    return write_frame(&header, sizeof(header), frame);
}

bool TapNic::write_frame(const void* header, usize header_bytes, Bytes frame)
{
    iovec parts[2] = {{const_cast<void*>(header), header_bytes},
                      {const_cast<u8*>(frame.data()), frame.size()}};
    auto expected = static_cast<ssize_t>(header_bytes + frame.size());
    for (int attempt = 0; attempt < 2; ++attempt) {
        ssize_t written = ::writev(m_fd, parts, 2);
        if (written == expected)
            return true;
        if (written < 0 && errno == EINTR)
            continue;
        break;
    }
    m_tx_failed++;
    return false;
}

void TapNic::capture_tx(Bytes frame, const NicTxOffload& offload)
{
    if (!m_pcap.is_open())
        return;
    if (offload.checksum_start == 0)
        return m_pcap.write(frame);
    // A capture shows what the peer gets: the checksum Linux fills in. A TSO
    // frame stays one large frame (as tcpdump on a GSO interface shows it).
    std::vector<u8> copy(frame.begin(), frame.end());
    (void)complete_checksum(MutableBytes(copy.data(), copy.size()), offload.checksum_start,
                            offload.checksum_offset);
    m_pcap.write(Bytes(copy.data(), copy.size()));
}

net::MacAddress mac_for_ifname(std::string_view ifname)
{
    u64 hash = 0xcbf29ce484222325ull;
    for (char c : ifname) {
        hash ^= static_cast<u8>(c);
        hash *= 0x100000001b3ull;
    }
    net::MacAddress mac;
    for (usize i = 0; i < net::MacAddress::size; ++i)
        mac.octets[i] = static_cast<u8>(hash >> (8 * i));
    // Locally administered (bit 1), unicast (bit 0 clear): IEEE 802 section 8.2.
    mac.octets[0] = static_cast<u8>((mac.octets[0] | 0x02) & 0xfe);
    return mac;
}

} // namespace gantry::hosted
