// kv's log: record encoding, CRC-32C, and replay over torn and stale data,
// with the Store on an in-memory block device.
#include "memory_block_device.hpp"
#include "store.hpp"
#include "test_platform.hpp"
#include "wal.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace gantry;
using gantry::testing::MemoryBlockDevice;
using gantry::testing::TestKernel;

namespace {

Bytes bytes_of(const std::string& text)
{
    return Bytes(reinterpret_cast<const u8*>(text.data()), text.size());
}

// Records 1..count, as the store writes them (a chain from crc 0), back to back.
std::vector<u8> chain(u64 count, usize value_bytes, u64 first = 1, u32 prev_crc = 0)
{
    std::vector<u8> log;
    for (u64 sequence = first; sequence < first + count; ++sequence) {
        std::string key = "key" + std::to_string(sequence);
        std::string value(value_bytes, static_cast<char>('a' + sequence % 26));
        usize at = log.size();
        log.resize(at + kv::record_bytes(key.size(), value.size()));
        prev_crc = kv::encode_record(log.data() + at, kv::RecordOp::set, sequence, prev_crc,
                                     bytes_of(key), bytes_of(value));
    }
    return log;
}

// Opens a Store on the device in a fiber, optionally applies SETs, reports.
struct Opened {
    u64 replayed = 0;
    u64 end_sector = 0;
    usize keys = 0;
    std::vector<std::string> values; // of the keys asked for
};

Opened open_store(MemoryBlockDevice& device, std::vector<std::string> sets = {},
                  std::vector<std::string> lookups = {})
{
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Kernel& kernel = *tk.kernel;
    auto* store = kernel.heap().create<kv::Store>(kernel, *kernel.disk(0));
    REQUIRE(store != nullptr);
    Opened opened;
    Fiber* main = kernel.sched().spawn("main", [&] {
        REQUIRE(store->open().ok());
        opened.replayed = store->stats().replayed;
        opened.end_sector = store->log_end_sector();
        Fiber* committer = kernel.sched().spawn("commit", [store] { store->run_committer(); });
        REQUIRE(committer != nullptr);
        for (const std::string& key : sets)
            REQUIRE(store->update(kv::RecordOp::set, bytes_of(key), bytes_of("v-" + key)) ==
                    kv::UpdateResult::stored);
        store->stop();
        kernel.sched().join(committer);
        opened.keys = store->keys();
        for (const std::string& key : lookups) {
            auto found = store->get(bytes_of(key));
            opened.values.push_back(found.found ? std::string(reinterpret_cast<const char*>(
                                                                  found.value.data()),
                                                              found.value.size())
                                                : "<none>");
        }
    });
    REQUIRE(main != nullptr);
    kernel.sched().detach(main);
    tk.run_until_idle();
    kernel.heap().destroy(store);
    return opened;
}

} // namespace

TEST_CASE("kv log: CRC-32C matches the standard check value")
{
    CHECK(kv::crc32c(0, bytes_of("123456789")) == 0xe3069283u);
    CHECK(kv::crc32c(kv::crc32c(0, bytes_of("1234")), bytes_of("56789")) == 0xe3069283u);
}

TEST_CASE("kv log: a record decodes back, and any flipped byte makes it invalid")
{
    std::vector<u8> log = chain(1, 40);
    kv::Record record{};
    REQUIRE(kv::decode_record(log, record) == kv::DecodeStatus::ok);
    CHECK(record.sequence == 1);
    CHECK(record.prev_crc == 0);
    CHECK(std::string(reinterpret_cast<const char*>(record.key.data()), record.key.size()) ==
          "key1");
    CHECK(record.value.size() == 40);
    for (usize i = 0; i < log.size(); ++i) {
        std::vector<u8> damaged = log;
        damaged[i] ^= 0x10;
        CHECK(kv::decode_record(damaged, record) != kv::DecodeStatus::ok);
    }
    // Cut short: invalid, not an overread.
    CHECK(kv::decode_record(Bytes(log.data(), log.size() - 1), record) ==
          kv::DecodeStatus::invalid);
    std::vector<u8> zeros(64, 0);
    CHECK(kv::decode_record(zeros, record) == kv::DecodeStatus::zero);
}

TEST_CASE("kv log: replay stops at a torn commit, and a later commit is found past it")
{
    // Six 200-byte records from one commit: 1200 bytes over sectors 0..2. The
    // crash kept sectors 0 and 1 only, so record 6 (bytes 1000..1199) is torn.
    MemoryBlockDevice device(64);
    std::vector<u8> commit = chain(6, 200 - kv::record_bytes(4, 0));
    REQUIRE(commit.size() == 1200);
    std::memcpy(device.data().data(), commit.data(), 1024);
    Opened first = open_store(device, {"after"});
    CHECK(first.replayed == 5);
    CHECK(first.end_sector == 2); // the next commit starts on a fresh sector
    // The torn record's first bytes are still in sector 1; a replay must step
    // over them to the commit written at sector 2.
    Opened second = open_store(device, {}, {"key5", "key6", "after"});
    CHECK(second.replayed == 6);
    CHECK(second.end_sector == 3);
    CHECK(second.values == std::vector<std::string>{std::string(200 - kv::record_bytes(4, 0), 'f'),
                                                  "<none>", "v-after"});
}

TEST_CASE("kv log: a stale record past the end never continues the log")
{
    // Records 1..3 (commit A, sector 0), then at sector 1 a record 4 from
    // another history (chained to a different record 3): it must be ignored.
    MemoryBlockDevice device(64);
    std::vector<u8> good = chain(3, 50);
    std::memcpy(device.data().data(), good.data(), good.size());
    std::vector<u8> other = chain(4, 60); // the same sequence numbers, other contents
    usize fourth = other.size() - kv::record_bytes(4, 60);
    std::memcpy(device.data().data() + 512, other.data() + fourth, other.size() - fourth);
    Opened opened = open_store(device);
    CHECK(opened.replayed == 3);
    CHECK(opened.end_sector == 1);
    CHECK(opened.keys == 3);
}

TEST_CASE("kv store: updates are durable on the device and replay in order")
{
    MemoryBlockDevice device(256);
    std::vector<std::string> keys;
    for (int i = 0; i < 40; ++i)
        keys.push_back("k" + std::to_string(i % 10)); // rewrites: the last value wins
    Opened first = open_store(device, keys);
    CHECK(first.replayed == 0);
    CHECK(device.flushes >= 1);
    Opened again = open_store(device, {}, {"k3", "nope"});
    CHECK(again.replayed == 40);
    CHECK(again.keys == 10);
    CHECK(again.values == std::vector<std::string>{"v-k3", "<none>"});
}
