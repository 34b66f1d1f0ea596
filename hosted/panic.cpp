// Hosted panic: report and abort, so a debugger or a core dump sees the state.
#include <gantry/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace gantry::arch {

void panic(const char* file, int line, const char* message)
{
    std::fflush(stdout);
    std::fprintf(stderr, "gantry: panic at %s:%d: %s\n", file, line, message);
    std::fflush(stderr);
    std::abort();
}

} // namespace gantry::arch
