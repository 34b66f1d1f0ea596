#include "tap_nic.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pcap/pcap.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace gantry::hosted {

PcapWriter::~PcapWriter() { (void)close(); }

std::string PcapWriter::open(const std::string& path)
{
    m_pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
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

std::string TapNic::open(const std::string& ifname, net::MacAddress mac)
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
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
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
    return {};
}

usize TapNic::receive(MutableBytes out)
{
    // Bounded: a frame that does not fit is dropped and the next one tried, at
    // most batch_max times per call.
    for (usize attempt = 0; attempt < batch_max; ++attempt) {
        u8 frame[65536];
        ssize_t got = ::read(m_fd, frame, sizeof(frame));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        auto length = static_cast<usize>(got);
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
    for (int attempt = 0; attempt < 2; ++attempt) {
        ssize_t written = ::write(m_fd, frame.data(), frame.size());
        if (written == static_cast<ssize_t>(frame.size()))
            return true;
        if (written < 0 && errno == EINTR)
            continue;
        break;
    }
    m_tx_failed++;
    return false;
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
