// TraceReader: rejects malformed files with the right error and offset, streams
// the same records whatever the source's read sizes, skips unknown kinds, and
// survives random corruption.
#include "trace_test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;
using namespace gantry::trace_test;

namespace {

// A small valid trace with every string and fixed-size kind in it.
std::vector<u8> sample_trace()
{
    SinkPlatform platform;
    std::vector<u8> buffer(512);
    Tracer tracer;
    tracer.attach(platform, 2, buffer);
    tracer.set_enabled(true);
    for (u32 i = 0; i < 20; ++i) {
        platform.m_now = 1000 * i;
        tracer.node_info("app", "sim");
        tracer.fiber_spawn(i, 0, "f");
        tracer.fiber_switch(0, i);
        tracer.log(1, "line");
        tracer.mem_stats(1, 2, 3, 4, 5, 6);
    }
    tracer.flush();
    return trace_file(platform);
}

void check_error(const std::vector<u8>& file, TraceReadError error, u64 offset)
{
    ReadOutcome out = read_all(file);
    REQUIRE(out.error);
    CHECK(*out.error == error);
    CHECK(out.error_offset == offset);
    CHECK_FALSE(describe(error).empty());
}

// xorshift64: the corruption test must be reproducible from its seed.
u64 next_random(u64& state)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

} // namespace

TEST_CASE("reader rejects a bad magic at offset 0")
{
    std::vector<u8> file = file_header();
    file[3] = 'X';
    check_error(file, TraceReadError::not_a_trace, 0);
    check_error({'P', 'K', 3}, TraceReadError::not_a_trace, 0);
}

TEST_CASE("reader rejects versions it does not know at the version field")
{
    std::vector<u8> file = file_header();
    file[8] = 2;
    check_error(file, TraceReadError::unsupported_version, 8);
    file[8] = 0;
    check_error(file, TraceReadError::unsupported_version, 8);
}

TEST_CASE("reader rejects a truncated file header")
{
    std::vector<u8> file = file_header();
    check_error({}, TraceReadError::truncated_header, 0);
    check_error({file.begin(), file.begin() + 5}, TraceReadError::truncated_header, 0);
    check_error({file.begin(), file.begin() + 31}, TraceReadError::truncated_header, 0);
    file[10] = 40; // claims 8 bytes more than the file has
    check_error(file, TraceReadError::truncated_header, 0);
}

TEST_CASE("reader rejects a header length below 32 and skips a longer header")
{
    std::vector<u8> file = file_header();
    file[10] = 16;
    check_error(file, TraceReadError::bad_header_length, 10);

    file = file_header();
    file[10] = 48;
    file.insert(file.end(), 16, 0xee); // fields of some later header
    append_record(file, 20, 7, 1, 5, {9, 0, 0, 0});
    ReadOutcome out = read_all(file);
    REQUIRE_FALSE(out.error);
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].file_offset == 48);
}

TEST_CASE("reader rejects truncated records at the record's offset")
{
    std::vector<u8> file = file_header();
    append_record(file, 20, 7, 1, 5, {9, 0, 0, 0});
    std::vector<u8> whole = file;
    append_record(file, 20, 7, 1, 6, {9, 0, 0, 0});

    SECTION("inside the record header")
    {
        check_error({file.begin(), file.begin() + 52 + 10}, TraceReadError::truncated_record,
                    52);
    }
    SECTION("inside the payload")
    {
        check_error({file.begin(), file.end() - 1}, TraceReadError::truncated_record, 52);
    }
    SECTION("a complete trace reads to the end")
    {
        ReadOutcome out = read_all(whole);
        CHECK_FALSE(out.error);
        CHECK(out.records.size() == 1);
    }
}

TEST_CASE("reader rejects a record length shorter than the record header")
{
    std::vector<u8> file = file_header();
    append_record(file, 20, 7, 1, 5, {9, 0, 0, 0});
    append_record(file, 15, 7, 1, 5, {});
    check_error(file, TraceReadError::bad_record_length, 52);
    file = file_header();
    append_record(file, 0, 7, 1, 5, {}); // length 0 must not loop forever
    check_error(file, TraceReadError::bad_record_length, 32);
}

TEST_CASE("reader reports I/O errors, and errors are sticky")
{
    std::vector<u8> file = sample_trace();
    FailingSource source(file, 100);
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    TraceRecord record{};
    TraceReadError error = TraceReadError::not_a_trace;
    for (int i = 0; i < 1000; ++i) {
        auto more = reader.next(record);
        REQUIRE((!more || more.value())); // never a clean end
        if (!more) {
            error = more.error();
            break;
        }
    }
    CHECK(error == TraceReadError::io_error);
    auto again = reader.next(record);
    REQUIRE_FALSE(again);
    CHECK(again.error() == TraceReadError::io_error);
}

TEST_CASE("a source returning one byte at a time gives the same records")
{
    std::vector<u8> file = sample_trace();
    ReadOutcome whole = read_all(file);
    REQUIRE_FALSE(whole.error);
    REQUIRE(whole.records.size() == 100);
    for (usize chunk : {usize{1}, usize{3}, usize{17}, usize{4096}}) {
        INFO("chunk " << chunk);
        ReadOutcome streamed = read_all(file, chunk);
        CHECK_FALSE(streamed.error);
        CHECK(streamed.records == whole.records);
    }
}

TEST_CASE("records of the maximal length stream through the fixed buffer")
{
    std::vector<u8> file = file_header();
    for (int i = 0; i < 3; ++i) {
        append_record(file, 0xffff, 200, 1, i,
                      std::vector<u8>(0xffff - 16, static_cast<u8>(i)));
        append_record(file, 20, 7, 1, i, {1, 0, 0, 0});
    }
    ReadOutcome whole = read_all(file);
    REQUIRE_FALSE(whole.error);
    REQUIRE(whole.records.size() == 6);
    CHECK(whole.records[4].payload.size() == 0xffff - 16);
    CHECK(whole.records[4].payload.back() == 2);
    CHECK(read_all(file, 1).records == whole.records);
    CHECK(read_all(file, 1000).records == whole.records);
}

TEST_CASE("unknown kinds are returned for skipping and the stream stays in step")
{
    std::vector<u8> file = file_header();
    append_record(file, 20, 7, 1, 5, {9, 0, 0, 0});
    append_record(file, 21, 200, 1, 6, {1, 2, 3, 4, 5});
    append_record(file, 16, 0, 1, 6, {});
    // A known kind with fields appended by a later version.
    append_record(file, 22, 7, 1, 7, {4, 0, 0, 0, 0xaa, 0xbb});
    ReadOutcome out = read_all(file);
    REQUIRE_FALSE(out.error);
    REQUIRE(out.records.size() == 4);
    CHECK_FALSE(is_known(out.records[1].kind));
    CHECK_FALSE(is_known(out.records[2].kind));
    CHECK(to_string(out.records[1].kind) == "unknown");
    TraceFields fields;
    TraceRecord unknown{out.records[1].kind, 1, 6, out.records[1].payload, 52};
    auto status = decode_fields(unknown, fields);
    REQUIRE_FALSE(status);
    CHECK(status.error() == TraceDecodeError::unknown_kind);
    TraceRecord extended{out.records[3].kind, 1, 7, out.records[3].payload, 0};
    REQUIRE(decode_fields(extended, fields).ok());
    CHECK(fields.count == 4);
}

TEST_CASE("a known kind with a short payload fails to decode")
{
    std::vector<u8> payload = {1, 0, 0};
    TraceRecord record{TraceKind::timer_fire, 0, 0, payload, 0};
    TraceFields fields;
    auto status = decode_fields(record, fields);
    REQUIRE_FALSE(status);
    CHECK(status.error() == TraceDecodeError::truncated_payload);
}

TEST_CASE("payload cursor reads little-endian and fails closed")
{
    std::vector<u8> bytes = {1, 2, 0, 3, 0, 0, 0, 2, 0, 'h', 'i', 9};
    PayloadCursor cursor(bytes);
    CHECK(cursor.read_u8() == 1);
    CHECK(cursor.read_u16() == 2);
    CHECK(cursor.read_u32() == 3);
    CHECK(cursor.read_str() == "hi");
    CHECK(cursor.ok());
    CHECK_FALSE(cursor.at_end());
    CHECK(cursor.read_u64() == 0); // one byte left
    CHECK_FALSE(cursor.ok());
    CHECK(cursor.read_u8() == 0);  // stays failed
    std::vector<u8> lying = {200, 0, 'x'};
    PayloadCursor string_cursor(lying);
    CHECK(string_cursor.read_str().empty());
    CHECK_FALSE(string_cursor.ok());
}

TEST_CASE("random corruption never crashes: records or an error")
{
    const std::vector<u8> original = sample_trace();
    for (u64 seed = 1; seed <= 500; ++seed) {
        INFO("seed " << seed);
        u64 state = seed * 0x9e3779b97f4a7c15ULL;
        std::vector<u8> file = original;
        u64 flips = 1 + next_random(state) % 8;
        for (u64 i = 0; i < flips; ++i)
            file[next_random(state) % file.size()] = static_cast<u8>(next_random(state));
        if (next_random(state) % 2 == 0)
            file.resize(next_random(state) % (file.size() + 1));
        ReadOutcome out = read_all(file, 1 + next_random(state) % 64);
        CHECK((out.error || out.records.size() <= original.size() / 16));
        for (const OwnedRecord& owned : out.records) {
            TraceRecord record{owned.kind, owned.node, owned.time, owned.payload, 0};
            TraceFields fields;
            (void)decode_fields(record, fields);
            CHECK(owned.payload.size() + 16 <= 0xffff);
        }
    }
}
