// The benchmark process's resident memory, for the per-node memory figures
// of the simulator benchmarks (Linux: /proc/self/statm). 0 if unreadable.
#pragma once

#include <cstddef>
#include <cstdio>
#include <unistd.h>

namespace gantry::bench {

inline std::size_t resident_bytes()
{
    long pages = 0;
    long resident = 0;
    std::FILE* statm = std::fopen("/proc/self/statm", "r");
    if (!statm)
        return 0;
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    std::fclose(statm);
    return static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

} // namespace gantry::bench
