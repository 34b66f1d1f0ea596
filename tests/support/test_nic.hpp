// An in-memory NIC for network stack tests, fuzzing and benchmarks: the test
// injects received frames and inspects (and takes) what the stack transmitted.
// Header-only, so it needs no change to the test support library's sources.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/nic.hpp>

#include <cstring>
#include <deque>
#include <vector>

namespace gantry::testing {

class TestNic final : public Nic {
public:
    using Frame = std::vector<u8>;

    explicit TestNic(net::MacAddress mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}}) : m_mac(mac) {}

    net::MacAddress mac() const override { return m_mac; }
    usize mtu() const override { return m_mtu; }

    usize receive(MutableBytes out) override
    {
        while (!m_rx.empty()) {
            Frame frame = std::move(m_rx.front());
            m_rx.pop_front();
            if (frame.size() > out.size()) {
                m_rx_too_long++;
                continue;
            }
            if (!frame.empty())
                std::memcpy(out.data(), frame.data(), frame.size());
            if (frame.empty())
                continue; // a zero-length frame means "nothing" to the stack
            return frame.size();
        }
        return 0;
    }

    bool transmit(Bytes frame) override
    {
        if (m_fail_transmit)
            return false;
        m_tx.emplace_back(frame.begin(), frame.end());
        return true;
    }

    // Offloads this NIC advertises (none by default, like a plain device);
    // what the stack asked of each frame is kept beside it in sent_offloads().
    NicOffloads offloads() const override { return m_offloads; }
    bool transmit_offloaded(Bytes frame, const NicTxOffload& offload) override
    {
        // The seam's contract: only what was advertised.
        GANTRY_ASSERT(m_offloads.tx_checksum);
        GANTRY_ASSERT(offload.segment_payload == 0 || m_offloads.tso_packet_bytes_max > 0);
        if (m_fail_transmit)
            return false;
        m_tx.emplace_back(frame.begin(), frame.end());
        m_tx_offloads.resize(m_tx.size());
        m_tx_offloads.back() = offload;
        return true;
    }
    void set_offloads(NicOffloads offloads) { m_offloads = offloads; }
    // One entry per sent() frame (none() for a plain transmit), until take_sent.
    std::vector<NicTxOffload> sent_offloads() const
    {
        std::vector<NicTxOffload> offloads = m_tx_offloads;
        offloads.resize(m_tx.size());
        return offloads;
    }

    void inject(Bytes frame) { m_rx.emplace_back(frame.begin(), frame.end()); }
    void inject(Frame frame) { m_rx.push_back(std::move(frame)); }
    // Frames transmitted since the last take.
    std::vector<Frame> take_sent()
    {
        std::vector<Frame> sent = std::move(m_tx);
        m_tx.clear();
        m_tx_offloads.clear();
        return sent;
    }
    const std::vector<Frame>& sent() const { return m_tx; }
    usize pending_rx() const { return m_rx.size(); }
    void set_fail_transmit(bool fail) { m_fail_transmit = fail; }
    void set_mtu(usize mtu) { m_mtu = mtu; }

private:
    net::MacAddress m_mac;
    std::deque<Frame> m_rx;
    std::vector<Frame> m_tx;
    std::vector<NicTxOffload> m_tx_offloads; // may be shorter than m_tx: none() for the rest
    NicOffloads m_offloads;
    usize m_mtu = 1500;
    u64 m_rx_too_long = 0;
    bool m_fail_transmit = false;
};

} // namespace gantry::testing
