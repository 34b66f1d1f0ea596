// A raw-frame app for the network tests: it owns its NICs (NicOwner::app, no
// IP stack), sends scripted Ethernet frames through platform().nic(0) and logs
// every frame it receives into a host-side struct the test owns.
#pragma once

#include "sim_test_apps.hpp"

#include <gantry/nic.hpp>
#include <gantry/platform.hpp>

#include <cstring>
#include <memory>
#include <vector>

namespace sim_test {

inline constexpr u16 test_ethertype = 0x88b5; // IEEE local experimental

struct RawSend {
    TimeNs at_ns = 0;
    net::MacAddress destination = {};
    u32 count = 1;
    TimeNs interval_ns = 0; // 0: back to back in one go
    usize length = 100;     // whole frame, header included
};

struct RawFrame {
    TimeNs time;
    net::MacAddress source;
    u32 sequence;
    usize length;
    bool intact; // the payload pattern survived
};

struct RawLog {
    std::vector<RawFrame> received;
    u32 transmit_refused = 0;
    bool operator==(const RawLog& other) const
    {
        if (received.size() != other.received.size())
            return false;
        for (usize i = 0; i < received.size(); ++i)
            if (received[i].time != other.received[i].time ||
                received[i].sequence != other.received[i].sequence ||
                received[i].intact != other.received[i].intact)
                return false;
        return transmit_refused == other.transmit_refused;
    }
};

struct RawScript {
    std::vector<RawSend> sends;
    TimeNs stop_ns = 100 * ns_per_ms; // the app exits at this (node) time
    TimeNs poll_ns = 10 * ns_per_us;  // how often it drains its NIC
    RawLog* log = nullptr;
};

inline u8 pattern_byte(u32 sequence, usize index)
{
    return static_cast<u8>(sequence * 31 + index * 7);
}

class RawApp final : public App {
public:
    explicit RawApp(RawScript script) : m_script(std::move(script)) {}

    int main(Kernel& kernel, AppArgs) override
    {
        Nic* nic = kernel.platform().nic(0);
        GANTRY_ASSERT(nic != nullptr);
        Fiber* sender =
            kernel.sched().spawn("send", [this, &kernel, nic] { send_all(kernel, *nic); });
        GANTRY_ASSERT(sender != nullptr);
        kernel.sched().detach(sender);
        while (kernel.now() < m_script.stop_ns) {
            drain(kernel, *nic);
            kernel.sched().sleep_for(m_script.poll_ns);
        }
        drain(kernel, *nic);
        return 0;
    }

private:
    void send_all(Kernel& kernel, Nic& nic)
    {
        u32 sequence = 0;
        for (const RawSend& send : m_script.sends) {
            kernel.sched().sleep_until(send.at_ns);
            for (u32 i = 0; i < send.count; ++i) {
                if (i > 0 && send.interval_ns > 0)
                    kernel.sched().sleep_for(send.interval_ns);
                if (!nic.transmit(frame(nic, send, sequence++)))
                    ++m_script.log->transmit_refused;
            }
        }
    }

    Bytes frame(Nic& nic, const RawSend& send, u32 sequence)
    {
        GANTRY_ASSERT(send.length <= sizeof(m_frame));
        GANTRY_ASSERT(send.length >= 18);
        send.destination.write_to(MutableBytes(m_frame, 6));
        nic.mac().write_to(MutableBytes(m_frame + 6, 6));
        m_frame[12] = test_ethertype >> 8;
        m_frame[13] = test_ethertype & 0xff;
        std::memcpy(m_frame + 14, &sequence, 4);
        for (usize i = 18; i < send.length; ++i)
            m_frame[i] = pattern_byte(sequence, i);
        return Bytes(m_frame, send.length);
    }

    void drain(Kernel& kernel, Nic& nic)
    {
        while (usize length = nic.receive(MutableBytes(m_rx, sizeof(m_rx)))) {
            RawFrame got{kernel.now(), net::MacAddress::from_bytes(Bytes(m_rx + 6, 6)), 0,
                         length, true};
            std::memcpy(&got.sequence, m_rx + 14, 4);
            for (usize i = 18; i < length; ++i)
                got.intact = got.intact && m_rx[i] == pattern_byte(got.sequence, i);
            m_script.log->received.push_back(got);
        }
    }

    RawScript m_script;
    u8 m_frame[9000];
    u8 m_rx[9100];
};

inline sim::NodeConfig raw_node(RawScript script, std::string name = "raw")
{
    sim::NodeConfig config;
    config.factory = [script](Kernel& kernel) -> App* {
        return kernel.heap().create<RawApp>(script);
    };
    config.name = std::move(name);
    config.nic_owner = sim::NicOwner::app;
    return config;
}

} // namespace sim_test
