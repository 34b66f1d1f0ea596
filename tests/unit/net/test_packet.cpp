// Packet buffers and the bounded pool.
#include <catch2/catch.hpp>

#include <gantry/net/packet.hpp>

#include <vector>

using namespace gantry;
using namespace gantry::net;

namespace {

PacketPoolConfig small_config()
{
    PacketPoolConfig config;
    config.count = 4;
    config.buffer_bytes = 256;
    config.headroom = 64;
    return config;
}

} // namespace

TEST_CASE("packet pool: exhaustion, reuse, deterministic order")
{
    PacketPoolConfig config = small_config();
    alignas(PacketPool::storage_alignment) static u8 storage[8192];
    REQUIRE(PacketPool::storage_bytes(config) <= sizeof(storage));
    auto created = PacketPool::create(MutableBytes(storage, sizeof(storage)), config);
    REQUIRE(created.ok());
    PacketPool pool = created.release_value();

    std::vector<PacketBuffer*> buffers;
    for (usize i = 0; i < config.count; i++) {
        auto buffer = pool.alloc();
        REQUIRE(buffer.ok());
        CHECK(buffer.value()->index() == i);
        CHECK(buffer.value()->size() == 0);
        CHECK(buffer.value()->headroom() == 64);
        buffers.push_back(buffer.value());
    }
    auto none = pool.alloc();
    REQUIRE_FALSE(none.ok());
    CHECK(none.error() == PacketError::exhausted);
    CHECK(pool.stats().failures == 1);
    CHECK(pool.available() == 0);

    // LIFO reuse: the most recently freed buffer comes back first, reset.
    buffers[1]->append(10);
    pool.free(buffers[2]);
    pool.free(buffers[1]);
    auto again = pool.alloc();
    REQUIRE(again.ok());
    CHECK(again.value() == buffers[1]);
    CHECK(again.value()->size() == 0);
    CHECK(again.value()->headroom() == 64);
    CHECK(pool.alloc().value() == buffers[2]);
    CHECK(pool.stats().in_use == 4);
    CHECK(pool.stats().in_use_high_water == 4);
    CHECK(pool.stats().allocations == 6);
    for (PacketBuffer* buffer : buffers)
        pool.free(buffer);
    CHECK(pool.available() == 4);
}

TEST_CASE("packet buffer: prepend headers without copying, trim, slice")
{
    alignas(PacketPool::storage_alignment) static u8 storage[8192];
    PacketPool pool = PacketPool::create(MutableBytes(storage, sizeof(storage)), small_config())
                          .release_value();
    PacketBuffer* buffer = pool.alloc().value();
    MutableBytes payload = buffer->append(5);
    for (usize i = 0; i < 5; i++)
        payload[i] = static_cast<u8>('a' + i);
    const u8* payload_address = payload.data();
    MutableBytes udp = buffer->prepend(8);
    udp[0] = 0x11;
    MutableBytes ip = buffer->prepend(20);
    ip[0] = 0x45;
    CHECK(buffer->size() == 33);
    CHECK(buffer->headroom() == 64 - 28);
    CHECK(buffer->data()[0] == 0x45);
    CHECK(buffer->data()[20] == 0x11);
    CHECK(buffer->data().data() + 28 == payload_address); // nothing moved

    // Receive path: strip headers, drop padding.
    buffer->append(3);
    buffer->trim_back(3);
    buffer->trim_front(28);
    CHECK(buffer->size() == 5);
    CHECK(buffer->data()[0] == 'a');
    MutableBytes middle = buffer->slice(1, 3);
    CHECK(middle.size() == 3);
    CHECK(middle[0] == 'b');
    CHECK(buffer->tailroom() == 256 - 64 - 5);
    pool.free(buffer);
}

TEST_CASE("packet pool: from a heap, bad configurations")
{
    alignas(page_size) static u8 region[64 * page_size];
    PageAllocator pages;
    REQUIRE(pages.add_region(region, sizeof(region)).ok());
    Heap heap(pages);
    {
        auto created = PacketPool::create(heap, small_config());
        REQUIRE(created.ok());
        PacketPool pool = created.release_value();
        CHECK(heap.stats().allocations == 1);
        PacketBuffer* buffer = pool.alloc().value();
        buffer->append(100);
        pool.free(buffer);
    }
    CHECK(heap.stats().frees == 1); // the storage went back with the pool

    PacketPoolConfig config = small_config();
    config.headroom = config.buffer_bytes;
    alignas(PacketPool::storage_alignment) static u8 storage[8192];
    CHECK(PacketPool::create(MutableBytes(storage, sizeof(storage)), config).error() ==
          PacketError::bad_config);
    config = small_config();
    config.count = 0;
    CHECK(PacketPool::create(MutableBytes(storage, sizeof(storage)), config).error() ==
          PacketError::bad_config);
    config = small_config();
    CHECK(PacketPool::create(MutableBytes(storage, 100), config).error() ==
          PacketError::bad_config);
}
