// Fuzz target for `gantry replay`'s capture ingestion: any bytes go through
// libpcap (pcap and pcapng), the cooked-header conversion, an optional BPF
// filter, and the replay's decoder and TCP rewriting of every frame. The only
// acceptable outcomes are frames or a CaptureError: never a crash, an
// assertion, a leak or a read out of bounds.
#include "capture.hpp"
#include "packet.hpp"

#include <cstdint>

namespace {

using namespace gantry;
using namespace gantry::harness::replay;

u64 consume(const Capture& capture)
{
    u64 sum = capture.records + capture.filtered_out + capture.not_ethernet;
    for (const CapturedFrame& frame : capture.frames) {
        Packet packet = decode(frame.ethernet, Checksums::skip);
        sum += static_cast<u64>(packet.proto) + packet.payload.size() + packet.seq;
        if (packet.proto == Proto::tcp) {
            std::vector<u8> copy = frame.ethernet;
            shift_tcp_client_segment(copy, packet, 0x12345678u, 0x9abcdef0u);
            Packet shifted = decode(copy, Checksums::verify);
            sum += shifted.ack;
        }
        if (packet.is_ip() || packet.proto == Proto::arp) {
            // --node-ip readdresses whatever the capture holds.
            std::vector<u8> moved = frame.ethernet;
            move_destination(moved, packet,
                             packet.proto == Proto::arp ? packet.arp_target_ip
                                                        : packet.destination_ip,
                             gantry::net::Ipv4Address::from_u32(0x0a4d0063));
            sum += decode(moved, Checksums::skip).destination_ip.to_u32();
        }
    }
    return sum;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // The first byte chooses a filter, so the BPF path is fuzzed too.
    static const char* const filters[] = {"", "tcp", "udp port 7", "icmp or arp"};
    if (size == 0)
        return 0;
    const std::string filter = filters[data[0] % 4];
    try {
        Capture capture = read_capture_bytes(Bytes(data + 1, size - 1), "fuzz-input", filter);
        volatile u64 sink = consume(capture);
        (void)sink;
    } catch (const CaptureError&) {
    }
    return 0;
}
