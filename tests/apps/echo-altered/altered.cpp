// echo_altered: a deliberately wrong echo for the replay tests. It serves UDP
// and TCP on port 7 like apps/echo, but flips the case bit (0x20) of the
// fourth byte of every UDP datagram and of the fourth byte of each TCP
// connection's stream. ICMP and ARP come from the stack, so they still match:
// `gantry replay` must point at exactly the first altered byte.
#include <gantry/app.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;

constexpr u16 echo_port = 7;
constexpr usize altered_offset = 3;
constexpr u8 case_bit = 0x20;
constexpr usize tcp_chunk_bytes = 4096;

class AlteredEcho final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("echo_altered: no network interface");
            return 1;
        }
        auto bound = stack->udp_bind(echo_port);
        if (!bound.ok() || !stack->tcp())
            return 1;
        auto listening = stack->tcp()->listen(echo_port);
        if (!listening.ok())
            return 1;
        net::TcpListener* listener = listening.value();
        Fiber* acceptor = kernel.sched().spawn("tcp-accept", [this, listener] {
            serve_tcp(*listener);
        });
        if (!acceptor)
            return 1;
        kernel.sched().detach(acceptor);
        kernel.log().info("echo_altered: serving UDP and TCP port {}", echo_port);
        serve_udp(*bound.value());
        return 0;
    }

private:
    void serve_udp(net::UdpSocket& socket)
    {
        for (;;) {
            auto received = socket.recv_from(MutableBytes(m_datagram, sizeof(m_datagram)));
            if (!received.ok())
                return;
            const net::UdpMeta& meta = received.value();
            if (meta.length > altered_offset)
                m_datagram[altered_offset] ^= case_bit;
            (void)socket.send_to(meta.source, meta.source_port, Bytes(m_datagram, meta.length));
        }
    }

    // One connection at a time is enough for the tests.
    void serve_tcp(net::TcpListener& listener)
    {
        for (;;) {
            auto accepted = listener.accept();
            if (!accepted.ok())
                return;
            echo_connection(*accepted.value());
        }
    }

    void echo_connection(net::TcpSocket& socket)
    {
        usize offset = 0;
        for (;;) {
            auto got = socket.read(MutableBytes(m_chunk, sizeof(m_chunk)), deadline_none);
            if (!got.ok() || got.value() == 0)
                break;
            if (offset <= altered_offset && altered_offset < offset + got.value())
                m_chunk[altered_offset - offset] ^= case_bit;
            offset += got.value();
            usize done = 0;
            while (done < got.value()) {
                auto wrote = socket.write(Bytes(m_chunk + done, got.value() - done), deadline_none);
                if (!wrote.ok())
                    break;
                done += wrote.value();
            }
        }
        socket.close();
    }

    u8 m_datagram[2 * net::UdpSocket::payload_bytes_max];
    u8 m_chunk[tcp_chunk_bytes];
};

} // namespace

GANTRY_APP(echo_altered, AlteredEcho)
