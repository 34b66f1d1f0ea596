#include <gantry/virtio/model.hpp>

#include <gantry/net/wire/checksum.hpp>

#include <cstring>

namespace gantry::virtio {

namespace {

constexpr u16 rx_queue = 0;
constexpr u16 tx_queue = 1;
constexpr usize header_bytes = sizeof(NetHeader);

// The checksum field a NEEDS_CSUM header points at lies inside the frame
// (section 5.1.6.2.1; the driver cannot be trusted to keep to it).
bool checksum_field_inside(const NetHeader& header, usize frame_bytes)
{
    return header.checksum_start < frame_bytes &&
           usize{header.checksum_offset} + 2 <= frame_bytes - header.checksum_start;
}

u64 offered_features(const NicOffloads& backend)
{
    u64 features = net_feature::mac | net_feature::checksum;
    if (backend.tx_checksum && backend.tso_packet_bytes_max > 0)
        features |= net_feature::host_tso4;
    return features;
}

usize largest_frame(const NicOffloads& backend)
{
    const usize tso_frame = backend.tso_packet_bytes_max + 14; // + Ethernet
    const bool tso = backend.tso_packet_bytes_max > 0 && tso_frame > Nic::frame_bytes_max;
    return tso ? tso_frame : Nic::frame_bytes_max;
}

// What a NIC does for NEEDS_CSUM: the Internet checksum of the frame from
// checksum_start on, over the pseudo-header sum the field holds, stored there.
void complete_checksum(MutableBytes frame, const NetHeader& header)
{
    const Bytes summed = frame.subspan(header.checksum_start);
    const u16 sum = net::checksum_finish(net::checksum_partial(summed));
    u8* field = frame.data() + header.checksum_start + header.checksum_offset;
    field[0] = static_cast<u8>(sum >> 8);
    field[1] = static_cast<u8>(sum);
}

} // namespace

NetModel::NetModel(Nic& backend)
    : DeviceModel(DeviceType::net, offered_features(backend.offloads()), 2), m_backend(backend),
      m_backend_offloads(backend.offloads()), m_mac(backend.mac()),
      m_transmitted(header_bytes + largest_frame(m_backend_offloads))
{
}

u8 NetModel::config_byte(u32 offset)
{
    return offset < net::MacAddress::size ? m_mac.octets[offset] : 0;
}

void NetModel::on_notify(u16 queue)
{
    if (queue == tx_queue)
        transmit_pending();
    else
        deliver_received();
}

void NetModel::run()
{
    transmit_pending();
    deliver_received();
}

void NetModel::transmit_pending()
{
    Chain chain;
    u8* frame = m_transmitted.data();
    while (next_chain(tx_queue, chain)) {
        usize length = 0;
        bool fits = true;
        for (usize i = 0; i < chain.count; ++i) {
            const Segment& segment = chain.segments[i];
            if (segment.device_writes || segment.bytes > m_transmitted.size() - length) {
                fits = false;
                break;
            }
            std::memcpy(frame + length, segment.data, segment.bytes);
            length += segment.bytes;
        }
        // A malformed transmit is dropped, as a NIC drops a runt; the chain
        // still goes back so the driver can reuse it.
        if (fits && transmit_one(MutableBytes(frame, length)))
            ++m_from_driver;
        else
            ++m_tx_malformed;
        complete(tx_queue, chain.head, 0);
    }
}

// One header and frame from the driver (a copy: the driver may reuse its
// buffer once the chain is returned, and the checksum is completed in place).
bool NetModel::transmit_one(MutableBytes chain_bytes)
{
    if (chain_bytes.size() <= header_bytes)
        return false;
    NetHeader header;
    std::memcpy(&header, chain_bytes.data(), header_bytes);
    const MutableBytes frame = chain_bytes.subspan(header_bytes);
    if (header.flags & ~net_header::needs_checksum)
        return false; // no other flag means anything on transmit
    if (header.gso_type != net_header::gso_none)
        return transmit_segmented(frame, header);
    if (frame.size() > Nic::frame_bytes_max)
        return false;
    if (!(header.flags & net_header::needs_checksum)) {
        m_backend.transmit(frame);
        return true;
    }
    // NEEDS_CSUM without VIRTIO_NET_F_CSUM agreed, or pointing outside the frame.
    if (!(driver_features() & net_feature::checksum))
        return false;
    if (!checksum_field_inside(header, frame.size()))
        return false;
    // checksum_start 0 cannot be said through NicTxOffload (it means "none");
    // no IP frame starts its checksummed part there, but a driver may say it.
    if (m_backend_offloads.tx_checksum && header.checksum_start != 0) {
        NicTxOffload offload;
        offload.checksum_start = header.checksum_start;
        offload.checksum_offset = header.checksum_offset;
        m_backend.transmit_offloaded(frame, offload);
        return true;
    }
    complete_checksum(frame, header);
    ++m_checksums_completed;
    m_backend.transmit(frame);
    return true;
}

// A TSO frame (section 5.1.6.2) for a backend that cuts it up itself; the
// model checks what the backend relies on, since the driver may lie.
bool NetModel::transmit_segmented(MutableBytes frame, const NetHeader& header)
{
    if (!(driver_features() & net_feature::host_tso4) || header.gso_type != net_header::gso_tcpv4)
        return false; // only TCPv4 is offered, and no ECN
    if (!(header.flags & net_header::needs_checksum) || header.checksum_start == 0 ||
        !checksum_field_inside(header, frame.size()))
        return false;
    // The headers end after the checksum field and before the frame does.
    if (header.header_bytes < usize{header.checksum_start} + header.checksum_offset + 2 ||
        header.header_bytes >= frame.size() || header.segment_bytes == 0)
        return false;
    if (frame.size() > m_backend_offloads.tso_packet_bytes_max + 14)
        return false;
    NicTxOffload offload;
    offload.checksum_start = header.checksum_start;
    offload.checksum_offset = header.checksum_offset;
    offload.segment_payload = header.segment_bytes;
    offload.header_bytes = header.header_bytes;
    m_backend.transmit_offloaded(frame, offload);
    return true;
}

void NetModel::deliver_received()
{
    for (;;) {
        if (m_staged_bytes == 0) {
            m_staged_bytes = m_backend.receive(MutableBytes(m_staged, sizeof(m_staged)));
            if (m_staged_bytes == 0)
                return;
        }
        Chain chain;
        if (!next_chain(rx_queue, chain))
            return; // no buffer: the frame waits here, the rest in the backend
        // Without VIRTIO_NET_F_MRG_RXBUF one chain holds header and frame.
        NetHeader header{};
        header.buffer_count = 1;
        const u8* pieces[2] = {reinterpret_cast<const u8*>(&header), m_staged};
        const usize sizes[2] = {header_bytes, m_staged_bytes};
        usize piece = 0, piece_offset = 0, written = 0;
        for (usize i = 0; i < chain.count && piece < 2; ++i) {
            const Segment& segment = chain.segments[i];
            if (!segment.device_writes)
                continue;
            usize room = segment.bytes, at = 0;
            while (room > 0 && piece < 2) {
                const usize n = sizes[piece] - piece_offset < room ? sizes[piece] - piece_offset : room;
                std::memcpy(segment.data + at, pieces[piece] + piece_offset, n);
                at += n;
                room -= n;
                written += n;
                piece_offset += n;
                if (piece_offset == sizes[piece]) {
                    ++piece;
                    piece_offset = 0;
                }
            }
        }
        if (piece < 2) {
            // The buffer was too small for the frame: a real device drops it.
            complete(rx_queue, chain.head, 0);
        } else {
            complete(rx_queue, chain.head, static_cast<u32>(written));
            ++m_to_driver;
        }
        m_staged_bytes = 0;
    }
}

} // namespace gantry::virtio
