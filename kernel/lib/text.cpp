#include <gantry/text.hpp>

namespace gantry {

usize edit_distance(std::string_view a, std::string_view b)
{
    usize a_size = a.size() < edit_word_bytes_max ? a.size() : edit_word_bytes_max;
    usize b_size = b.size() < edit_word_bytes_max ? b.size() : edit_word_bytes_max;
    // One row of the dynamic-programming table, reused: distances from a's
    // first i bytes to each prefix of b.
    usize row[edit_word_bytes_max + 1];
    for (usize j = 0; j <= b_size; ++j)
        row[j] = j;
    for (usize i = 1; i <= a_size; ++i) {
        usize diagonal = row[0];
        row[0] = i;
        for (usize j = 1; j <= b_size; ++j) {
            usize above = row[j];
            usize best = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[b_size];
}

} // namespace gantry
