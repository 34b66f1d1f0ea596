// What Linux does with a frame a Gantry stack left to the NIC's offloads
// (NicTxOffload): completing a partial TCP checksum, and cutting a TSO frame
// into MSS pieces as its GSO does. For the TCP and virtio-net offload tests,
// which hand the result to a stack without offloads that checks it all.
#pragma once

#include "test_nic.hpp"

#include <gantry/net/endian.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/nic.hpp>

#include <algorithm>
#include <vector>

namespace gantry::testing {

namespace gso {
constexpr usize ethernet_bytes = 14;
constexpr usize ip_bytes = 20;
constexpr u8 tcp_fin = 0x01;
constexpr u8 tcp_psh = 0x08;
} // namespace gso

// Stores the TCP checksum over the pseudo-header and frame[start..] at
// start + offset (an Ethernet + IPv4 frame without options).
inline void complete_tcp_checksum(TestNic::Frame& frame, usize start, usize offset)
{
    using namespace gso;
    auto ip_at = [&](usize at) { return net::Ipv4Address::from_u32(net::load_be32(Bytes(frame), at)); };
    net::store_be16(MutableBytes(frame), start + offset, 0);
    u32 sum = net::pseudo_header_sum(ip_at(ethernet_bytes + 12), ip_at(ethernet_bytes + 16), 6,
                                     static_cast<u16>(frame.size() - start));
    sum = net::checksum_combine(sum, net::checksum_partial(Bytes(frame).subspan(start)));
    net::store_be16(MutableBytes(frame), start + offset, net::checksum_finish(sum));
}

// Linux's GSO for a TCPV4 frame: pieces of segment_payload bytes behind a copy
// of the headers, each with its IP length, identification, IP checksum,
// sequence number and TCP checksum; FIN and PSH only on the last.
inline std::vector<TestNic::Frame> cut_like_gso(const TestNic::Frame& frame,
                                                const NicTxOffload& offload)
{
    using namespace gso;
    const usize headers = offload.header_bytes;
    const usize payload = frame.size() - headers;
    const u32 seq = net::load_be32(Bytes(frame), ethernet_bytes + ip_bytes + 4);
    const u16 ident = net::load_be16(Bytes(frame), ethernet_bytes + 4);
    std::vector<TestNic::Frame> pieces;
    for (usize at = 0; at < payload; at += offload.segment_payload) {
        const usize length = std::min<usize>(offload.segment_payload, payload - at);
        TestNic::Frame piece(frame.begin(), frame.begin() + static_cast<long>(headers));
        piece.insert(piece.end(), frame.begin() + static_cast<long>(headers + at),
                     frame.begin() + static_cast<long>(headers + at + length));
        MutableBytes bytes(piece);
        net::store_be16(bytes, ethernet_bytes + 2, static_cast<u16>(piece.size() - ethernet_bytes));
        net::store_be16(bytes, ethernet_bytes + 4, static_cast<u16>(ident + pieces.size()));
        net::store_be16(bytes, ethernet_bytes + 10, 0);
        const Bytes ip_header = Bytes(piece).subspan(ethernet_bytes, ip_bytes);
        net::store_be16(bytes, ethernet_bytes + 10, net::internet_checksum(ip_header));
        net::store_be32(bytes, ethernet_bytes + ip_bytes + 4, seq + static_cast<u32>(at));
        if (at + length < payload)
            piece[ethernet_bytes + ip_bytes + 13] &= static_cast<u8>(~(tcp_fin | tcp_psh));
        complete_tcp_checksum(piece, offload.checksum_start, offload.checksum_offset);
        pieces.push_back(std::move(piece));
    }
    return pieces;
}

} // namespace gantry::testing
