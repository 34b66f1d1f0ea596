#include <gantry/hosted/os.hpp>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace gantry::hosted {

long long monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

std::string errno_text(std::string_view what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

} // namespace gantry::hosted
