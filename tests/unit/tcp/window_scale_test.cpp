// TcpConfig::window_scale_bytes: the window scale offered can cover more than
// the receive buffer (FreeBSD sizes it for kern.ipc.maxsockbuf; RFC 7323 2.3
// leaves the shift to the receiver), and windows are then scaled by it.
#include "tcp_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;

TEST_CASE("window scaling: window_scale_bytes sets the shift offered", "[tcp][wscale]")
{
    TcpConfig config = plain_config();
    config.window_scaling = WindowScaling::on;
    config.receive_buffer_bytes = 65700;
    config.window_scale_bytes = 2 * 1024 * 1024; // 2 MiB needs a shift of 6
    CHECK(tcp_window_scale_for(config, 65700) == 6);
    CHECK(tcp_window_scale_for(config, 64 * 1024 * 1024) == 11); // the buffer wins if larger
    config.window_scale_bytes = 0;
    CHECK(tcp_window_scale_for(config, 65700) == 1); // default: sized for the buffer

    config.window_scale_bytes = 2 * 1024 * 1024;
    TcpFixture f(config);
    TcpRepr syn = f.seg(TcpFlags::syn, 1000, 0, 1000);
    syn.window_scale = 0;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(syn);
    SentSegment syn_ack = f.sent_one();
    CHECK(syn_ack.repr.window_scale == u8{6});
    CHECK(syn_ack.repr.window == 65535); // never scaled in a SYN
    u32 iss = syn_ack.repr.seq.value();
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 1000));
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1, 1000), "data");
    // The SYN-ACK could offer only 65535; the first segment after it offers
    // the whole free buffer, 65700 - 4 bytes, scaled by 6 (a window that large
    // is no silly window, RFC 9293 3.8.6.2.2).
    CHECK(f.sent_one().repr.window == (65700 - 4) >> 6);
}
