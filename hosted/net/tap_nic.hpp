// The hosted NIC on a Linux tap device (--net tap,ifname=IF), with an optional
// pcap capture (--pcap FILE) of every frame it sends and receives.
#pragma once

#include <gantry/nic.hpp>

#include <string>

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace gantry::hosted {

// Writes Ethernet frames to a pcap file with nanosecond timestamps.
class PcapWriter {
public:
    PcapWriter() = default;
    PcapWriter(const PcapWriter&) = delete;
    ~PcapWriter();

    // Empty string on success, otherwise what went wrong.
    std::string open(const std::string& path);
    bool is_open() const { return m_dumper != nullptr; }
    void write(Bytes frame);
    // Flushes and closes; false if writing failed.
    bool close();

private:
    pcap_t* m_pcap = nullptr;
    pcap_dumper_t* m_dumper = nullptr;
};

class TapNic final : public Nic {
public:
    // Frames read per receive() call from the kernel: the tap is drained in
    // batches into a small ring so one poll costs few syscalls per frame.
    static constexpr usize batch_max = 32;

    TapNic() = default;
    TapNic(const TapNic&) = delete;
    ~TapNic() override;

    // Opens an existing tap device. Empty string on success, otherwise a message
    // that says how to fix it (create the device, check permissions).
    std::string open(const std::string& ifname, net::MacAddress mac);
    int fd() const { return m_fd; }
    PcapWriter& pcap() { return m_pcap; }

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

    u64 rx_dropped_too_long() const { return m_rx_too_long; }
    u64 tx_failed() const { return m_tx_failed; }

private:
    int m_fd = -1;
    net::MacAddress m_mac;
    PcapWriter m_pcap;
    u64 m_rx_too_long = 0;
    u64 m_tx_failed = 0;
};

// A locally administered unicast MAC derived from the interface name (FNV-1a),
// so the same tap always gets the same address.
net::MacAddress mac_for_ifname(std::string_view ifname);

} // namespace gantry::hosted
