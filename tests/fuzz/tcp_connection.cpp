// Fuzzes a TcpConnection with arbitrary segments, user calls and time steps,
// against a listening TCB and against an established one (the first input
// byte chooses). Sequence and acknowledgment numbers are taken relative to
// the connection's own ISS/IRS, so the fuzzer reaches the in-window paths
// (challenge ACKs, reassembly, recovery) instead of bouncing off the window
// check. Every core assertion stays armed; the target adds its own on the
// deadlines and counters.
#include "test_platform.hpp"

#include <gantry/net/tcp/connection.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace gantry;
using namespace gantry::net;
using namespace gantry::testing;

namespace {

class NullOutput final : public TcpOutput {
public:
    void tcp_transmit(TcpEndpoint, TcpEndpoint, const TcpRepr& repr, RingSlices payload) override
    {
        GANTRY_ASSERT(repr.header_len() <= TcpPacket::header_len_max);
        GANTRY_ASSERT(payload.size() <= 65535);
        segments++;
    }
    u64 segments = 0;
};

struct Input {
    const uint8_t* data;
    size_t size;
    size_t at = 0;
    u8 u8_() { return at < size ? data[at++] : 0; }
    u16 u16_() { return static_cast<u16>(u8_() << 8 | u8_()); }
    u32 u32_() { return static_cast<u32>(u16_()) << 16 | u16_(); }
    bool done() const { return at >= size; }
};

const TcpEndpoint local{Ipv4Address::from_u32(0x0a000001), 80};
const TcpEndpoint remote{Ipv4Address::from_u32(0x0a000002), 40000};

TcpRepr segment(Input& in, TcpConnection& tcb)
{
    TcpRepr repr;
    repr.source_port = remote.port;
    repr.destination_port = local.port;
    repr.flags = in.u8_();
    // Offsets are small signed numbers around the expected values.
    repr.seq = tcb.irs() + 1 + static_cast<u32>(static_cast<i16>(in.u16_()));
    repr.ack = tcb.iss() + static_cast<u32>(static_cast<i16>(in.u16_()));
    repr.window = in.u16_();
    u8 options = in.u8_();
    if (options & 1)
        repr.mss = in.u16_();
    if (options & 2)
        repr.window_scale = static_cast<u8>(in.u8_() % 16);
    if (options & 4)
        repr.sack_permitted = SackPermitted::yes;
    if (options & 8)
        repr.timestamps = TcpTimestamps{in.u32_(), in.u32_()};
    if (options & 16) {
        repr.sack_count = static_cast<u8>(1 + in.u8_() % 3);
        for (u8 i = 0; i < repr.sack_count; i++)
            repr.sack[i] = TcpSackBlock{tcb.iss() + in.u16_(), tcb.iss() + in.u16_()};
    }
    return repr;
}

void run(Input& in, TcpConnection& tcb, TimeNs& now)
{
    static constexpr usize steps_max = 4096;
    u8 payload[2048];
    for (usize i = 0; i < sizeof(payload); i++)
        payload[i] = static_cast<u8>(i);
    for (usize step = 0; step < steps_max && !in.done(); step++) {
        u8 op = in.u8_();
        switch (op % 6) {
        case 0:
        case 1: {
            TcpRepr repr = segment(in, tcb);
            usize length = in.u16_() % sizeof(payload);
            tcb.input(remote.address, repr, Bytes(payload, length), now);
            break;
        }
        case 2: (void)tcb.send(Bytes(payload, in.u16_() % sizeof(payload)), now); break;
        case 3: {
            u8 out[4096];
            (void)tcb.recv(MutableBytes(out, in.u16_() % sizeof(out)), now);
            break;
        }
        case 4:
            if (in.u8_() % 4 == 0)
                (void)tcb.shutdown_write(now);
            break;
        case 5: now += TimeNs{in.u16_()} * ns_per_ms; break;
        }
        TimeNs next = tcb.poll(now);
        GANTRY_ASSERT(next == deadline_none || next > now);
        TcpStats stats = tcb.stats();
        GANTRY_ASSERT(stats.cwnd > 0 || tcb.state() == TcpState::closed ||
                      tcb.state() == TcpState::listen);
        GANTRY_ASSERT(tcb.recv_available() <= 64 * 1024);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    Input in{data, size};
    // A small kernel: booting 16 MiB per input would dominate the run time.
    TestKernel tk(KernelConfig{}, 2 * 1024 * 1024);
    u8 key[TcpSecret::key_bytes] = {};
    TcpSecret secret(Bytes(key, sizeof(key)));
    NullOutput output;
    TcpConfig config;
    config.send_buffer_bytes = 16 * 1024;
    config.receive_buffer_bytes = 16 * 1024;
    config.ooo_bytes_max = 8 * 1024;
    config.challenge_acks_per_s_max = 1000;
    u8 mode = in.u8_();
    config.nagle = mode & 2 ? Nagle::off : Nagle::on;
    config.delayed_ack = mode & 4 ? DelayedAck::off : DelayedAck::on;
    config.keepalive = mode & 8 ? Keepalive::on : Keepalive::off;
    auto created = TcpConnection::create(tk.kernel->heap(), config, output, secret);
    GANTRY_ASSERT(created.ok());
    TcpConnection* tcb = created.value();
    TimeNs now = ns_per_s;
    GANTRY_ASSERT(tcb->listen(local).ok());
    if (mode & 1) {
        // Established: a SYN with every option, then the ACK of our SYN-ACK.
        TcpRepr syn;
        syn.source_port = remote.port;
        syn.destination_port = local.port;
        syn.seq = SeqNumber(0xfffff000); // near the wrap
        syn.flags = TcpFlags::syn;
        syn.window = 65535;
        syn.mss = 1460;
        syn.window_scale = 2;
        syn.sack_permitted = SackPermitted::yes;
        syn.timestamps = TcpTimestamps{1, 0};
        tcb->input(remote.address, syn, {}, now);
        TcpRepr ack = syn;
        ack.flags = TcpFlags::ack;
        ack.seq = syn.seq + 1;
        ack.ack = tcb->iss() + 1;
        ack.window_scale.reset();
        ack.mss.reset();
        ack.sack_permitted = SackPermitted::no;
        ack.timestamps = TcpTimestamps{2, 0};
        tcb->input(remote.address, ack, {}, now);
        GANTRY_ASSERT(tcb->state() == TcpState::established);
    }
    run(in, *tcb, now);
    TcpConnection::destroy(tk.kernel->heap(), tcb);
    return 0;
}
