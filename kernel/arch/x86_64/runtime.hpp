// Start-up of the image's C++ runtime (runtime.cpp holds the libc-free symbols).
#pragma once

namespace gantry::x86 {

// Runs the .init_array entries. Called once, by the boot entry, before any other C++.
void run_static_constructors();

} // namespace gantry::x86
