// Small Linux helpers shared by the hosted platform and its NICs.
#pragma once

#include <string>
#include <string_view>

namespace gantry::hosted {

// CLOCK_MONOTONIC in nanoseconds.
long long monotonic_ns();

// "<what>: <strerror(errno)>", for messages about a failed system call.
std::string errno_text(std::string_view what);

} // namespace gantry::hosted
