// Option values that several subcommands take (`gantry sim`, `gantry simfuzz`),
// parsed once so that they are spelt and refused the same way everywhere.
// `hint` is the subcommand's own hint line for the error ("see gantry simfuzz
// --help"); empty means none.
#pragma once

#include "command.hpp"

#include <gantry/types.hpp>

#include <string>
#include <string_view>

namespace gantry::harness {

// The value after the option at args[i], moving i onto it; refuses
// "<option> needs a value" when there is none.
std::string_view option_value(Args args, usize& i, const std::string& hint);

// A whole decimal number; refuses "<what>: '<text>' is not a number".
u64 parse_number_option(std::string_view text, std::string_view what,
                        const std::string& hint = {});

// `--seeds A..B`: both ends included, A <= B. A bad end is refused like a bad
// number (with `number_hint`), a bad shape with how to write one.
struct SeedRange {
    u64 first = 0;
    u64 last = 0;
};
SeedRange parse_seed_range(std::string_view text, const std::string& number_hint = {});

} // namespace gantry::harness
