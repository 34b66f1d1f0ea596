#include <gantry/virtio/net.hpp>

#include <gantry/assert.hpp>


namespace gantry::virtio {

namespace {

// A locally administered address for a device without VIRTIO_NET_F_MAC.
constexpr u8 fallback_mac[6] = {0x02, 0x67, 0x61, 0x6e, 0x74, 0x01};
constexpr usize ethernet_header_bytes = 14;

} // namespace

Status<VirtioError> VirtioNet::start(DmaArena& arena)
{
    GANTRY_TRY(m_transport.begin(DeviceType::net));
    // Offered offloads cost nothing to accept: the same register writes.
    // (A device offering HOST_TSO4 without CSUM breaks section 5.1.3.1; the
    // driver then uses neither.)
    const u64 features = GANTRY_TRY(m_transport.negotiate(
        feature::version_1 | net_feature::mac | net_feature::checksum | net_feature::host_tso4,
        feature::version_1));
    GANTRY_TRY(m_transport.attach_queue(rx_queue, queue_entries_max, 2, m_rx, arena));
    GANTRY_TRY(m_transport.attach_queue(tx_queue, queue_entries_max, 2, m_tx, arena));
    m_offloads.tx_checksum = (features & net_feature::checksum) != 0;
    // The largest TSO frame fills tx_chain_max buffers, header included.
    const u16 quarter_ring = static_cast<u16>(m_tx.size() / 4);
    m_tx_chain_max = quarter_ring < tx_chain_max ? quarter_ring : tx_chain_max;
    if (m_offloads.tx_checksum && (features & net_feature::host_tso4) && m_tx_chain_max >= 2)
        m_offloads.tso_packet_bytes_max =
            usize{m_tx_chain_max} * buffer_bytes - header_bytes - ethernet_header_bytes;
    // The device writes a receive buffer before the driver reads it (and only
    // the length it reports is read); transmit() fills a buffer before posting it.
    m_rx_buffers = static_cast<u8*>(arena.allocate_unzeroed(usize{m_rx.size()} * buffer_bytes, 64));
    m_tx_buffers = static_cast<u8*>(arena.allocate_unzeroed(usize{m_tx.size()} * buffer_bytes, 64));
    if (!m_rx_buffers || !m_tx_buffers) {
        m_transport.mark_failed();
        return fail(VirtioError::out_of_memory);
    }
    const bool device_mac = (features & net_feature::mac) != 0;
    for (usize i = 0; i < net::MacAddress::size; ++i)
        m_mac.octets[i] = device_mac ? static_cast<u8>(m_transport.config(static_cast<u32>(i), 1))
                                     : fallback_mac[i];
    m_transport.finish();
    while (m_rx.free_descriptors() > 0)
        post_receive_buffer();
    m_transport.notify(rx_queue);
    m_rx_posted_unnotified = 0;
    return {};
}

void VirtioNet::post_receive_buffer()
{
    const u16 head = m_rx.next_head();
    GANTRY_ASSERT(head < m_rx.size());
    const BufferRef buffer{dma_address(rx_buffer(head)), buffer_bytes, true};
    const i32 added = m_rx.add({&buffer, 1});
    GANTRY_ASSERT(added == head);
    ++m_rx_posted_unnotified;
}

bool VirtioNet::has_received()
{
    m_transport.let_device_run();
    return m_rx.has_used();
}

usize VirtioNet::receive(MutableBytes out)
{
    m_transport.let_device_run();
    usize length = 0;
    UsedElement used{};
    while (length == 0 && m_rx.pop_used(used)) {
        const u16 head = static_cast<u16>(used.id);
        if (used.bytes < header_bytes || used.bytes > buffer_bytes) {
            ++m_stats.rx_malformed;
        } else if (used.bytes - header_bytes > out.size()) {
            ++m_stats.rx_too_long;
        } else {
            length = used.bytes - header_bytes;
            __builtin_memcpy(out.data(), rx_buffer(head) + header_bytes, length);
            ++m_stats.received;
        }
        post_receive_buffer();
    }
    // The buffers go straight back, so the device never runs dry; telling it
    // in batches saves a VM exit per frame.
    if (m_rx_posted_unnotified >= m_rx.size() / 4) {
        m_transport.notify(rx_queue);
        m_rx_posted_unnotified = 0;
    }
    return length;
}

void VirtioNet::reclaim_transmitted()
{
    UsedElement used{};
    while (m_tx.pop_used(used)) {
    }
}

bool VirtioNet::transmit(Bytes frame)
{
    // No offloads: flags 0, GSO none, the rest unused.
    return send(frame, NetHeader{});
}

bool VirtioNet::transmit_offloaded(Bytes frame, const NicTxOffload& offload)
{
    // The seam's contract: only what offloads() advertised, and a checksum
    // field inside the frame (section 5.1.6.2: csum_start + csum_offset + 2
    // within the packet).
    GANTRY_ASSERT(m_offloads.tx_checksum);
    GANTRY_ASSERT(offload.checksum_start < frame.size());
    GANTRY_ASSERT(usize{offload.checksum_offset} + 2 <= frame.size() - offload.checksum_start);
    NetHeader header{};
    if (offload.checksum_start != 0) {
        header.flags = net_header::needs_checksum;
        header.checksum_start = offload.checksum_start;
        header.checksum_offset = offload.checksum_offset;
    }
    // Section 5.1.6.2: a GSO frame also has NEEDS_CSUM; hdr_len covers the
    // Ethernet, IPv4 and TCP headers; gso_size is the payload of each piece.
    if (offload.segment_payload != 0) {
        GANTRY_ASSERT(m_offloads.tso_packet_bytes_max > 0);
        GANTRY_ASSERT(header.flags == net_header::needs_checksum);
        GANTRY_ASSERT(offload.header_bytes > offload.checksum_start);
        GANTRY_ASSERT(offload.header_bytes < frame.size());
        header.gso_type = net_header::gso_tcpv4;
        header.segment_bytes = offload.segment_payload;
        header.header_bytes = offload.header_bytes;
    }
    if (!send(frame, header))
        return false;
    if (header.flags != 0)
        ++m_stats.tx_offloaded;
    if (header.gso_type != net_header::gso_none)
        ++m_stats.tx_segmented;
    return true;
}

// One frame behind its header, copied into the transmit buffers of as many
// descriptors as it needs (one, unless the device segments it).
bool VirtioNet::send(Bytes frame, const NetHeader& header)
{
    const bool segmented = header.gso_type != net_header::gso_none;
    const usize frame_max = segmented ? m_offloads.tso_packet_bytes_max + ethernet_header_bytes
                                      : buffer_bytes - header_bytes;
    if (frame.size() > frame_max || frame.empty()) {
        ++m_stats.tx_dropped;
        return false;
    }
    const auto count =
        static_cast<u16>((header_bytes + frame.size() + buffer_bytes - 1) / buffer_bytes);
    GANTRY_ASSERT(count == 1 || (segmented && count <= m_tx_chain_max));
    reclaim_transmitted();
    if (m_tx.free_descriptors() < count) {
        m_transport.let_device_run();
        reclaim_transmitted();
    }
    u16 descriptors[tx_chain_max];
    if (!m_tx.next_chain({descriptors, count})) {
        ++m_stats.tx_dropped;
        return false;
    }
    BufferRef chain[tx_chain_max];
    usize copied = 0;
    for (u16 i = 0; i < count; ++i) {
        u8* buffer = tx_buffer(descriptors[i]);
        usize filled = 0;
        if (i == 0) {
            __builtin_memcpy(buffer, &header, header_bytes);
            filled = header_bytes;
        }
        const usize left = frame.size() - copied;
        const usize piece = left < buffer_bytes - filled ? left : buffer_bytes - filled;
        __builtin_memcpy(buffer + filled, frame.data() + copied, piece);
        copied += piece;
        chain[i] = BufferRef{dma_address(buffer), static_cast<u32>(filled + piece), false};
    }
    GANTRY_ASSERT(copied == frame.size());
    const i32 head = m_tx.add({chain, count});
    if (head < 0) {
        ++m_stats.tx_dropped;
        return false;
    }
    GANTRY_ASSERT(head == descriptors[0]);
    m_transport.notify(tx_queue);
    ++m_stats.transmitted;
    return true;
}

} // namespace gantry::virtio
