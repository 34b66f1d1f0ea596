#include <gantry/format.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;

namespace {

template<typename... Args>
std::string fmt(std::string_view format, const Args&... args)
{
    InlineFormatBuffer<128> out;
    format_to(out, format, args...);
    return std::string(out.view());
}

} // namespace

TEST_CASE("format: integers, strings and specs")
{
    CHECK(fmt("a{}b", 42) == "a42b");
    CHECK(fmt("{}", -17) == "-17");
    CHECK(fmt("{}", std::numeric_limits<i64>::min()) == "-9223372036854775808");
    CHECK(fmt("{}", std::numeric_limits<u64>::max()) == "18446744073709551615");
    CHECK(fmt("{:x}", 255u) == "ff");
    CHECK(fmt("{:08x}", 0xbeefu) == "0000beef");
    CHECK(fmt("[{:5}]", 42) == "[   42]");
    CHECK(fmt("[{:05}]", -42) == "[-0042]");
    CHECK(fmt("[{:6}]", "ab") == "[ab    ]");
    CHECK(fmt("{} {} {}", true, 'x', std::string_view("sv")) == "true x sv");
    CHECK(fmt("{{}} {}", 1) == "{} 1");
}

TEST_CASE("format: mismatched placeholders stay visible and never overrun")
{
    CHECK(fmt("{} {}", 1) == "1 {?}");
    CHECK(fmt("{", 1) == "{");
    InlineFormatBuffer<4> small;
    format_to(small, "{}", 123456);
    CHECK(small.view() == "1234");
    CHECK(small.truncated());
}

#include <gantry/text.hpp>

TEST_CASE("text: edit distance for did-you-mean")
{
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("memory", "memory") == 0);
    CHECK(edit_distance("memroy", "memory") == 2);
    CHECK(edit_distance("--trcae", "--trace") == 2);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("", "abc") == 3);
    // Longer words are compared on their first edit_word_bytes_max bytes, never overrun.
    std::string long_a(200, 'a'), long_b(200, 'b');
    CHECK(edit_distance(long_a, long_b) == edit_word_bytes_max);
}
