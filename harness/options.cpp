#include "options.hpp"

#include <charconv>

namespace gantry::harness {

std::string_view option_value(Args args, usize& i, const std::string& hint)
{
    if (i + 1 >= args.size())
        throw CommandError(std::string(args[i]) + " needs a value", hint);
    return args[++i];
}

u64 parse_number_option(std::string_view text, std::string_view what, const std::string& hint)
{
    u64 value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw CommandError(std::string(what) + ": '" + std::string(text) + "' is not a number",
                           hint);
    return value;
}

SeedRange parse_seed_range(std::string_view text, const std::string& number_hint)
{
    auto dots = text.find("..");
    if (dots == std::string_view::npos)
        throw CommandError("--seeds: '" + std::string(text) + "' is not a range",
                           "write --seeds 1..100");
    SeedRange range;
    range.first = parse_number_option(text.substr(0, dots), "--seeds", number_hint);
    range.last = parse_number_option(text.substr(dots + 2), "--seeds", number_hint);
    if (range.last < range.first)
        throw CommandError("--seeds: the range is empty", "write --seeds LOW..HIGH");
    return range;
}

} // namespace gantry::harness
