// Small text helpers shared by the core's users (command lines, scenario
// files): freestanding, so the hosted runner and the harness use one copy.
#pragma once

#include <gantry/types.hpp>

namespace gantry {

// Words are compared on at most this many leading bytes.
inline constexpr usize edit_word_bytes_max = 64;

// Levenshtein distance (insertions, deletions, substitutions), for "did you
// mean" suggestions on mistyped names.
usize edit_distance(std::string_view a, std::string_view b);

} // namespace gantry
