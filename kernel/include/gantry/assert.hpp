// Assertions that stay on in every build type. A failed assertion ends the
// kernel instance through the platform's panic seam: hosted aborts the process,
// the simulator records a node failure with its seed, bare metal prints and halts.
#pragma once

namespace gantry::arch {
[[noreturn]] void panic(const char* file, int line, const char* message);
}

#define GANTRY_ASSERT(condition)                                                     \
    do {                                                                             \
        if (!(condition)) [[unlikely]]                                               \
            ::gantry::arch::panic(__FILE__, __LINE__, "assertion failed: " #condition); \
    } while (0)

#define GANTRY_PANIC(message) ::gantry::arch::panic(__FILE__, __LINE__, message)

#define GANTRY_UNREACHABLE() ::gantry::arch::panic(__FILE__, __LINE__, "unreachable")
