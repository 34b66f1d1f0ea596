// Export of trace files to other tools' formats.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gantry::harness {

// Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev): one process per
// node, one thread lane per fiber plus a "kernel" lane for boot phases, idle
// time and timers. Returns the exit code; throws CommandError on bad input.
int export_chrome(const std::string& trace_path, const std::string& out_path);

// Length of the valid UTF-8 sequence starting `text` (non-ASCII lead byte), or 0.
std::size_t utf8_sequence_length(std::string_view text);

} // namespace gantry::harness
