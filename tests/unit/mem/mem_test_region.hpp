// Page-aligned memory for the memory tests: hosted code, so libc is fine here.
#pragma once

#include <gantry/mem.hpp>

#include <cstdlib>
#include <memory>

namespace gantry::test {

struct FreeDeleter {
    void operator()(gantry::u8* memory) const { std::free(memory); }
};

// A page-aligned buffer of `pages` pages handed to `allocator` as one region.
class TestRegion {
public:
    explicit TestRegion(gantry::usize pages)
        : m_bytes(pages * gantry::page_size),
          m_memory(static_cast<gantry::u8*>(std::aligned_alloc(gantry::page_size, m_bytes)))
    {
    }
    gantry::u8* data() const { return m_memory.get(); }
    gantry::usize bytes() const { return m_bytes; }

private:
    gantry::usize m_bytes;
    std::unique_ptr<gantry::u8, FreeDeleter> m_memory;
};

} // namespace gantry::test

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace gantry::test {

// Runs `body` in a forked child and reports whether it died (a failed
// GANTRY_ASSERT panics) instead of returning normally. The child's stderr goes
// to /dev/null so expected panics do not clutter the test output.
template<typename Body>
bool dies(Body body)
{
    pid_t child = fork();
    if (child == 0) {
        // Catch2's handlers would report the expected panic as a test failure.
        for (int signal_number : {SIGABRT, SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP})
            signal(signal_number, SIG_DFL);
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
        }
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

} // namespace gantry::test
