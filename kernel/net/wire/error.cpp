// Names of the wire-format drop reasons, for logs, counters and the trace.
#include <gantry/net/wire/error.hpp>

namespace gantry::net {

const char* wire_error_name(WireError error)
{
    switch (error) {
    case WireError::truncated: return "truncated";
    case WireError::bad_length: return "bad_length";
    case WireError::bad_checksum: return "bad_checksum";
    case WireError::bad_version: return "bad_version";
    case WireError::unsupported: return "unsupported";
    case WireError::malformed: return "malformed";
    }
    return "unknown";
}

} // namespace gantry::net
