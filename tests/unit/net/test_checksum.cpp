// Internet checksum (RFC 1071, RFC 1624) against a byte-at-a-time reference.
#include <catch2/catch.hpp>

#include <gantry/net/wire/checksum.hpp>

#include <random>
#include <vector>

using namespace gantry;
using namespace gantry::net;

namespace {

// The textbook loop of RFC 1071 section 4.1, one big-endian word at a time.
u16 reference_checksum(const u8* data, usize length)
{
    u32 sum = 0;
    for (usize i = 0; i + 1 < length; i += 2)
        sum += (u32{data[i]} << 8) | data[i + 1];
    if (length % 2)
        sum += u32{data[length - 1]} << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<u16>(~sum);
}

} // namespace

TEST_CASE("checksum: RFC 1071 section 3 example")
{
    const u8 data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    // The RFC's sum is 0xddf2; the checksum is its complement.
    CHECK(internet_checksum(Bytes(data, sizeof(data))) == static_cast<u16>(~0xddf2));
}

TEST_CASE("checksum: empty and all-ones inputs")
{
    CHECK(internet_checksum(Bytes()) == 0xffff);
    std::vector<u8> ones(4096, 0xff);
    for (usize length : {1u, 2u, 7u, 8u, 9u, 31u, 32u, 33u, 4096u})
        CHECK(internet_checksum(Bytes(ones.data(), length)) ==
              reference_checksum(ones.data(), length));
}

TEST_CASE("checksum: random data, every length 0..2000, odd offsets")
{
    std::mt19937 rng(1071);
    std::vector<u8> buffer(2000 + 16);
    for (auto& byte : buffer)
        byte = static_cast<u8>(rng());
    for (usize offset = 0; offset < 4; offset++) {
        for (usize length = 0; length <= 2000; length++) {
            const u8* data = buffer.data() + offset;
            INFO("offset " << offset << " length " << length);
            REQUIRE(internet_checksum(Bytes(data, length)) == reference_checksum(data, length));
        }
    }
}

TEST_CASE("checksum: partial sums combine across even-length pieces")
{
    std::mt19937 rng(7);
    std::vector<u8> data(1500);
    for (auto& byte : data)
        byte = static_cast<u8>(rng());
    for (usize split = 0; split <= data.size(); split += 2) {
        u32 first = checksum_partial(Bytes(data.data(), split));
        u32 second = checksum_partial(Bytes(data.data() + split, data.size() - split));
        REQUIRE(checksum_finish(checksum_combine(first, second)) ==
                internet_checksum(Bytes(data.data(), data.size())));
        REQUIRE(checksum_finish(checksum_partial(Bytes(data.data() + split,
                                                       data.size() - split), first)) ==
                internet_checksum(Bytes(data.data(), data.size())));
    }
}

TEST_CASE("checksum: a buffer including its checksum verifies to zero")
{
    std::mt19937 rng(11);
    for (usize length = 2; length < 300; length += 2) {
        std::vector<u8> data(length);
        for (auto& byte : data)
            byte = static_cast<u8>(rng());
        data[0] = data[1] = 0;
        u16 checksum = internet_checksum(Bytes(data.data(), length));
        data[0] = static_cast<u8>(checksum >> 8);
        data[1] = static_cast<u8>(checksum);
        REQUIRE(internet_checksum(Bytes(data.data(), length)) == 0);
    }
}

TEST_CASE("checksum: RFC 1624 incremental update matches a full recomputation")
{
    std::mt19937 rng(1624);
    for (int round = 0; round < 2000; round++) {
        std::vector<u8> data(40);
        for (auto& byte : data)
            byte = static_cast<u8>(rng());
        u16 before = internet_checksum(Bytes(data.data(), data.size()));
        usize word = (rng() % 20) * 2;
        u16 old_word = static_cast<u16>((data[word] << 8) | data[word + 1]);
        // Include the values that trip equation 2 of RFC 1624 (0x0000, 0xffff).
        u16 new_word = round % 3 == 0 ? 0 : round % 3 == 1 ? 0xffff : static_cast<u16>(rng());
        data[word] = static_cast<u8>(new_word >> 8);
        data[word + 1] = static_cast<u8>(new_word);
        u16 after = internet_checksum(Bytes(data.data(), data.size()));
        u16 updated = checksum_update16(before, old_word, new_word);
        // One's complement has two zeros; both verify, so compare by verification.
        data.push_back(static_cast<u8>(updated >> 8));
        data.push_back(static_cast<u8>(updated));
        INFO("round " << round);
        REQUIRE((updated == after || (updated ^ after) == 0xffff));
        REQUIRE(internet_checksum(Bytes(data.data(), data.size())) == 0);
    }
}

TEST_CASE("checksum: RFC 1624 32-bit update (TTL-style and address rewrite)")
{
    u8 header[20] = {0x45, 0x00, 0x00, 0x54, 0x14, 0xe7, 0x00, 0x00, 0x40, 0x01,
                     0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x4a, 0x7d, 0xe1, 0x63};
    u16 checksum = internet_checksum(Bytes(header, sizeof(header)));
    CHECK(checksum == 0x2fe1); // tshark: Header Checksum: 0x2fe1
    u32 old_address = 0x0a000001;
    u32 new_address = 0xc0a80101;
    header[12] = 0xc0, header[13] = 0xa8, header[14] = 0x01, header[15] = 0x01;
    CHECK(checksum_update32(checksum, old_address, new_address) ==
          internet_checksum(Bytes(header, sizeof(header))));
}
