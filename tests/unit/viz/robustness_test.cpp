// Bad input never crashes the viewer: mutated and cut traces either load or
// raise LoadError, and whatever loads can be laid out, hit-tested and searched.
// A followed trace that ends mid-record loads up to the last whole record.
#include "viz_test_support.hpp"

#include <gantry/viz/layout.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

void exercise(const TraceModel& model)
{
    Layout layout = compute_layout(model, {640, 480}, full_window(model));
    usize described = 0, hits = 0;
    for (int y = 0; y < 480; y += 7)
        for (int x = 0; x < 640; x += 13)
            if (auto hit = hit_test(model, layout, x, y)) {
                ++hits;
                described += describe(model, *hit).empty() ? 0 : 1;
            }
    CHECK(described == hits);
    (void)layout_json(model, layout);
    (void)search(model, "a", 50);
}

} // namespace

TEST_CASE("robustness: mutated traces load or fail cleanly, never crash")
{
    const std::vector<u8> original = kernel_trace();
    u64 state = 0x9e3779b97f4a7c15;
    auto next = [&] { // xorshift64: the same mutations on every run
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    usize loaded = 0, rejected = 0;
    for (int round = 0; round < 400; ++round) {
        std::vector<u8> bytes = original;
        int flips = 1 + static_cast<int>(next() % 8);
        for (int i = 0; i < flips; ++i)
            bytes[32 + next() % (bytes.size() - 32)] = static_cast<u8>(next());
        if (round % 5 == 0)
            bytes.resize(32 + next() % (bytes.size() - 32));
        try {
            TraceModel model = load_trace_bytes(bytes);
            exercise(model);
            ++loaded;
        } catch (const LoadError& error) {
            CHECK_FALSE(error.message.empty());
            CHECK(error.offset <= bytes.size());
            ++rejected;
        }
    }
    CHECK(loaded > 0);
    CHECK(rejected > 0);
}

TEST_CASE("robustness: a followed trace cut mid-record loads its whole records")
{
    std::vector<u8> bytes = kernel_trace();
    auto path = std::filesystem::temp_directory_path() / "gantry_viz_follow_test.trace";
    std::FILE* file = std::fopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    std::fwrite(bytes.data(), 1, bytes.size() - 5, file); // the writer is mid-record
    std::fclose(file);
    CHECK_THROWS_AS(load_trace_file(path), LoadError);
    TraceModel model = load_trace_file(path, TruncatedTail::ignore);
    TraceModel whole = load_trace_bytes(bytes);
    CHECK(model.records == whole.records - 1);
    std::filesystem::remove(path);
}
