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
