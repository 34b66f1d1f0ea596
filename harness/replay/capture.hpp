// Reading a capture file (pcap or pcapng) for `gantry replay`, through libpcap
// only. Every record the BPF filter selects comes back as an Ethernet frame:
// Linux cooked captures (SLL, SLL2: `tcpdump -i any`) are turned into Ethernet
// frames with the sender's link-layer address as source MAC and a zero
// destination (the replay fills that in). Anything libpcap rejects, a link type
// other than Ethernet/SLL/SLL2 or a bad filter is a CaptureError naming the
// file and the problem: `gantry replay` exits 2 on it.
#pragma once

#include <gantry/types.hpp>

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace gantry::harness::replay {

class CaptureError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Bounds on what one replay reads (docs/replay.md, "Limits").
inline constexpr usize capture_frames_max = 1'000'000;
inline constexpr usize capture_bytes_max = 256 * 1024 * 1024;

struct CapturedFrame {
    u64 record = 0;      // 1-based record number in the file (what Wireshark shows as No.)
    TimeNs time_ns = 0;  // the record's timestamp, ns since the epoch
    std::vector<u8> ethernet;
    usize wire_len = 0;  // the length on the wire (> captured bytes when snapped)
    bool truncated = false;
    bool cooked = false; // came from an SLL/SLL2 record: destination MAC unknown
};

struct Capture {
    std::string path;
    int link_type = 0;
    std::string link_name; // "EN10MB", "LINUX_SLL", ...
    std::vector<CapturedFrame> frames; // the records the filter selected, in file order
    u64 records = 0;                   // all records read
    u64 filtered_out = 0;              // rejected by the BPF filter
    u64 not_ethernet = 0;              // cooked records of a non-Ethernet device or protocol
};

// Reads the whole file. `filter` is a BPF expression (tcpdump syntax, compiled by
// libpcap for the capture's link type); empty selects everything.
Capture read_capture(const std::string& path, const std::string& filter);
// The same from bytes in memory (the fuzz target); `name` appears in errors.
Capture read_capture_bytes(std::span<const u8> bytes, const std::string& name,
                           const std::string& filter);

} // namespace gantry::harness::replay
