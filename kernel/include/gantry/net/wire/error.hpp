// The one error enum of every wire-format parser. A parser's caller drops the
// frame and counts the reason, so the values are the drop reasons the stack's
// counters and trace name; finer detail would have no caller that acts on it.
#pragma once

#include <gantry/types.hpp>

namespace gantry::net {

enum class WireError : u8 {
    truncated,     // the buffer ends before the header or a length field says
    bad_length,    // a length field is impossible (smaller than its header, ...)
    bad_checksum,
    bad_version,   // IPv4 version, DHCP magic cookie, ...
    unsupported,   // well formed, but a kind this stack does not handle
    malformed,     // structure broken (options overrun, compression loop, ...)
};

const char* wire_error_name(WireError error);

// Checksum verification can be skipped when a NIC has already verified it, or in
// fuzzing to reach deeper code. Verification is the default everywhere.
enum class ChecksumCheck : u8 { verify, skip };

} // namespace gantry::net
