// The built-in bitmap font (see font.cpp).
#pragma once

#include <gantry/types.hpp>

namespace gantry::viz {

inline constexpr int glyph_w = 5;
inline constexpr int glyph_h = 8; // 7 + a descender row
inline constexpr int glyph_advance = 6; // one column between glyphs

// glyph_h rows of five bits (bit 4 = leftmost pixel) for a character.
const u8* glyph_rows(char c);

inline int text_width(usize chars) { return static_cast<int>(chars) * glyph_advance; }

} // namespace gantry::viz
