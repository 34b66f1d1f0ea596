// --follow: a trace read while it grows, poll by poll, ends as the same model as
// reading the finished file at once, and each poll reads only what was added.
#include "viz_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unistd.h>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

struct TempFile {
    std::string path = "/tmp/gantry-viz-follow-" + std::to_string(::getpid()) + ".trace";
    ~TempFile() { std::remove(path.c_str()); }
    void write(const std::vector<u8>& bytes, usize from, usize to, const char* mode = "ab")
    {
        std::FILE* file = std::fopen(path.c_str(), mode);
        REQUIRE(file != nullptr);
        if (to > from)
            REQUIRE(std::fwrite(bytes.data() + from, 1, to - from, file) == to - from);
        std::fclose(file);
    }
};

void check_same(const TraceModel& a, const TraceModel& b)
{
    CHECK(a.records == b.records);
    REQUIRE(a.nodes.size() == b.nodes.size());
    for (usize i = 0; i < a.nodes.size(); ++i) {
        const NodeIndex& x = a.nodes[i];
        const NodeIndex& y = b.nodes[i];
        CHECK(x.phases.size() == y.phases.size());
        CHECK(x.fibers.size() == y.fibers.size());
        for (usize f = 0; f < x.fibers.size() && f < y.fibers.size(); ++f)
            CHECK(x.fibers[f].runs.size() == y.fibers[f].runs.size());
        CHECK(x.logs.size() == y.logs.size());
        CHECK(x.mem.size() == y.mem.size());
        CHECK(x.pages.size() == y.pages.size());
        CHECK(x.heap.size() == y.heap.size());
        CHECK(x.idles.size() == y.idles.size());
        CHECK(x.last_time == y.last_time);
        CHECK(page_map_at(x, x.last_time).used == page_map_at(y, y.last_time).used);
    }
}

} // namespace

TEST_CASE("follow: a growing trace, cut anywhere, ends as the whole file's model")
{
    std::vector<u8> bytes = kernel_trace();
    TempFile file;
    file.write(bytes, 0, 0, "wb");
    TraceFollower follower(file.path);
    CHECK_FALSE(follower.poll()); // empty: waits for the writer
    // Appends in uneven pieces: mid-header, mid-record, several records at once.
    REQUIRE(bytes.size() > 1200);
    std::vector<usize> cuts = {7, 32, 45, 300, 301, 1000, bytes.size() / 2, bytes.size() - 3,
                               bytes.size()};
    std::sort(cuts.begin(), cuts.end());
    usize written = 0;
    usize polls = 0;
    for (usize cut : cuts) {
        file.write(bytes, written, cut);
        written = cut;
        follower.poll();
        ++polls;
        CHECK(follower.consumed() <= written);
    }
    CHECK(follower.consumed() == bytes.size());
    check_same(follower.model(), load_trace_bytes(bytes));
    // Each byte is read once, plus a record cut off at a poll's end read again
    // by the next poll (at most one maximal record per poll).
    CHECK(follower.bytes_read() <= bytes.size() + polls * 1024);
    CHECK_FALSE(follower.poll()); // nothing new
}

TEST_CASE("follow: a rewritten file starts over; corrupt bytes are an error at their offset")
{
    std::vector<u8> bytes = kernel_trace();
    TempFile file;
    file.write(bytes, 0, bytes.size(), "wb");
    TraceFollower follower(file.path);
    CHECK(follower.poll());
    u64 records = follower.model().records;
    // A new run truncates and writes a shorter trace.
    file.write(bytes, 0, 200, "wb");
    follower.poll();
    CHECK(follower.restarts() == 1);
    CHECK(follower.model().records < records);
    file.write(bytes, 200, bytes.size());
    follower.poll();
    CHECK(follower.model().records == records);
    // A record claiming to be 3 bytes long.
    std::vector<u8> bad = {3, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    file.write(bad, 0, bad.size());
    try {
        follower.poll();
        FAIL("a corrupt record must be reported");
    } catch (const LoadError& error) {
        CHECK(error.offset == bytes.size());
        CHECK(error.message.find("shorter than a record header") != std::string::npos);
    }
    CHECK(follower.model().records == records); // what came before stays
    CHECK_FALSE(follower.poll());               // and it does not re-report every poll
    TraceFollower missing("/nonexistent/dir/x.trace");
    CHECK_THROWS_AS(missing.poll(), LoadError);
}
