// RFC 6528 initial sequence numbers; SipHash-2-4 (Aumasson and Bernstein, 2012)
// as the keyed function F of RFC 6528 section 3.
#include <gantry/assert.hpp>
#include <gantry/net/tcp/isn.hpp>

#include <bit>

namespace gantry::net {

namespace {

struct SipState {
    u64 v0, v1, v2, v3;

    void round()
    {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    void absorb(u64 m)
    {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

u64 load_le64(Bytes bytes, usize at)
{
    u64 value = 0;
    for (usize i = 0; i < 8; i++)
        value |= u64{bytes[at + i]} << (8 * i);
    return value;
}

} // namespace

u64 siphash24(u64 k0, u64 k1, u64 m0, u64 m1)
{
    SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
               k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    s.absorb(m0);
    s.absorb(m1);
    s.absorb(u64{16} << 56); // the final block: message length, no tail bytes
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

TcpSecret::TcpSecret(Bytes key)
{
    GANTRY_ASSERT(key.size() == key_bytes);
    m_k0 = load_le64(key, 0);
    m_k1 = load_le64(key, 8);
}

u64 TcpSecret::hash(TcpEndpoint local, TcpEndpoint remote, u32 tweak) const
{
    u64 m0 = (u64{local.address.to_u32()} << 32) | remote.address.to_u32();
    u64 m1 = (u64{local.port} << 48) | (u64{remote.port} << 32) | tweak;
    return siphash24(m_k0, m_k1, m0, m1);
}

SeqNumber TcpSecret::isn(TcpEndpoint local, TcpEndpoint remote, TimeNs now) const
{
    u32 clock = static_cast<u32>(now / (4 * ns_per_us));
    return SeqNumber(clock + static_cast<u32>(hash(local, remote, 0)));
}

u32 TcpSecret::timestamp_offset(TcpEndpoint local, TcpEndpoint remote) const
{
    return static_cast<u32>(hash(local, remote, 1));
}

} // namespace gantry::net
