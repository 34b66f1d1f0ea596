#include <gantry/virtio/model.hpp>

#include <cstring>

namespace gantry::virtio {

namespace {

constexpr u64 feature_mac = u64{1} << 5;
constexpr u16 rx_queue = 0;
constexpr u16 tx_queue = 1;
constexpr usize header_bytes = 12;

} // namespace

NetModel::NetModel(Nic& backend)
    : DeviceModel(DeviceType::net, feature_mac, 2), m_backend(backend), m_mac(backend.mac())
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
    u8 frame[header_bytes + Nic::frame_bytes_max];
    while (next_chain(tx_queue, chain)) {
        usize length = 0;
        bool fits = true;
        for (usize i = 0; i < chain.count; ++i) {
            const Segment& segment = chain.segments[i];
            if (segment.device_writes || segment.bytes > sizeof(frame) - length) {
                fits = false;
                break;
            }
            std::memcpy(frame + length, segment.data, segment.bytes);
            length += segment.bytes;
        }
        // A malformed transmit is dropped, as a NIC drops a runt; the chain
        // still goes back so the driver can reuse it.
        if (fits && length > header_bytes) {
            m_backend.transmit(Bytes(frame + header_bytes, length - header_bytes));
            ++m_from_driver;
        }
        complete(tx_queue, chain.head, 0);
    }
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
        u8 header[header_bytes] = {};
        header[10] = 1; // num_buffers
        const u8* pieces[2] = {header, m_staged};
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
