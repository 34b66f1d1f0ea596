// Initial sequence numbers, RFC 6528 section 3: ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), M a clock ticking every 4 microseconds and
// F a keyed pseudorandom function. F is SipHash-2-4 (a keyed PRF designed for
// short inputs). The 128-bit key comes from the platform's entropy
// (Kernel::random_bytes) when the owner is created: no global secret, and the
// simulator's seed makes it reproducible. The same function, with a different
// tweak, gives the per-connection timestamp offset of RFC 7323 section 7.1
// and the SYN cookie MAC.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/tcp/seq.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

struct TcpEndpoint {
    Ipv4Address address;
    u16 port = 0;
    friend bool operator==(const TcpEndpoint&, const TcpEndpoint&) = default;
};

class TcpSecret {
public:
    static constexpr usize key_bytes = 16;

    TcpSecret() = default;
    explicit TcpSecret(Bytes key); // exactly key_bytes

    // RFC 6528 3: the 4-microsecond clock plus the keyed hash of the 4-tuple.
    SeqNumber isn(TcpEndpoint local, TcpEndpoint remote, TimeNs now) const;
    // A per-connection offset for TSval (RFC 7323 7.1: timestamps must not leak
    // the host clock across connections).
    u32 timestamp_offset(TcpEndpoint local, TcpEndpoint remote) const;
    // The keyed hash of the 4-tuple and one extra word (SYN cookies).
    u64 hash(TcpEndpoint local, TcpEndpoint remote, u32 tweak) const;

private:
    u64 m_k0 = 0;
    u64 m_k1 = 0;
};

// SipHash-2-4 of at most two 64-bit words (little-endian message of 16 bytes).
u64 siphash24(u64 k0, u64 k1, u64 m0, u64 m1);

} // namespace gantry::net
