// The hosted NIC on a Linux tap device (--net tap,ifname=IF), with an optional
// pcap capture (--pcap FILE) of every frame it sends and receives.
//
// With offloads (the default) the tap is opened with IFF_VNET_HDR: every frame
// carries a virtio_net_hdr, so the stack can leave TCP checksums to Linux and
// hand it TCP segments of up to 64 KiB that Linux cuts into MSS-sized ones
// (TSO). Receiving stays plain: TUNSETOFFLOAD(0) makes Linux deliver complete,
// MTU-sized frames with their checksums.
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
    std::string open(const std::string& ifname, net::MacAddress mac, bool offload = true);
    int fd() const { return m_fd; }
    PcapWriter& pcap() { return m_pcap; }

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;
    NicOffloads offloads() const override;
    bool transmit_offloaded(Bytes frame, const NicTxOffload& offload) override;

    u64 rx_dropped_too_long() const { return m_rx_too_long; }
    u64 tx_failed() const { return m_tx_failed; }
    // Received frames Linux handed over as GSO packets (it should not, with
    // TUNSETOFFLOAD(0)); dropped.
    u64 rx_dropped_gso() const { return m_rx_gso; }
    bool vnet_header() const { return m_vnet_header; }

private:
    bool write_frame(const void* header, usize header_bytes, Bytes frame);
    // The frame as a capture shows it: with the checksum the NIC completes.
    void capture_tx(Bytes frame, const NicTxOffload& offload);

    int m_fd = -1;
    bool m_vnet_header = false;
    u64 m_rx_gso = 0;
    net::MacAddress m_mac;
    PcapWriter m_pcap;
    u64 m_rx_too_long = 0;
    u64 m_tx_failed = 0;
};

// A locally administered unicast MAC derived from the interface name (FNV-1a),
// so the same tap always gets the same address.
net::MacAddress mac_for_ifname(std::string_view ifname);

} // namespace gantry::hosted
