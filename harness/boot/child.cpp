// Child processes for the replay's live targets (child.hpp).
#include "child.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace gantry::harness {

namespace {

[[noreturn]] void exec_in_child(const std::vector<std::string>& command, int output_fd,
                                ChildStderr stderr_to)
{
    // Its own process group, so one kill reaches QEMU and anything it started.
    ::setpgid(0, 0);
    // No input (and a terminal on stdin would be left in raw mode if QEMU were
    // killed).
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0)
        ::dup2(null_fd, STDIN_FILENO);
    ::dup2(output_fd, STDOUT_FILENO);
    if (stderr_to == ChildStderr::into_pipe)
        ::dup2(output_fd, STDERR_FILENO);
    else if (stderr_to == ChildStderr::discarded && null_fd >= 0)
        ::dup2(null_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& word : command)
        argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "gantry: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
}

} // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& command, ChildStderr stderr_to)
{
    if (command.empty())
        throw std::runtime_error("no command to run");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::fflush(stdout);
    std::fflush(stderr);
    m_pid = ::fork();
    if (m_pid < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (m_pid == 0)
        exec_in_child(command, pipe_fds[1], stderr_to);
    ::close(pipe_fds[1]);
    ::setpgid(m_pid, m_pid); // here too: the group must exist before any kill
    m_output_fd = pipe_fds[0];
    ::fcntl(m_output_fd, F_SETFL, ::fcntl(m_output_fd, F_GETFL) | O_NONBLOCK);
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::keep(std::string line)
{
    m_tail.push_back(std::move(line));
    if (m_tail.size() > tail_lines_max)
        m_tail.pop_front();
}

std::vector<std::string> ChildProcess::read_lines()
{
    std::vector<std::string> lines;
    // Bounded: a child that writes without pause cannot keep us here.
    for (int reads = 0; m_output_fd >= 0 && reads < 64; ++reads) {
        char buffer[4096];
        ssize_t length = ::read(m_output_fd, buffer, sizeof buffer);
        if (length < 0 && errno == EINTR)
            continue;
        if (length < 0)
            break; // EAGAIN: nothing more now
        if (length == 0) {
            ::close(m_output_fd);
            m_output_fd = -1;
            break;
        }
        for (ssize_t i = 0; i < length; ++i) {
            if (buffer[i] == '\r')
                continue;
            if (buffer[i] != '\n') {
                if (m_partial.size() < 4096) // a runaway line is cut, not grown
                    m_partial.push_back(buffer[i]);
                continue;
            }
            lines.push_back(m_partial);
            keep(std::move(m_partial));
            m_partial.clear();
        }
    }
    if (m_output_fd < 0 && !m_partial.empty()) {
        lines.push_back(m_partial);
        keep(std::move(m_partial));
        m_partial.clear();
    }
    return lines;
}

bool ChildProcess::has_exited()
{
    if (m_reaped)
        return true;
    pid_t done = ::waitpid(m_pid, &m_status, WNOHANG);
    if (done == m_pid)
        m_reaped = true;
    return m_reaped;
}

std::string ChildProcess::exit_description() const
{
    if (WIFEXITED(m_status))
        return "exited with status " + std::to_string(WEXITSTATUS(m_status));
    if (WIFSIGNALED(m_status))
        return "killed by signal " + std::to_string(WTERMSIG(m_status));
    return "ended";
}

void ChildProcess::stop(int grace_ms)
{
    if (m_pid > 0 && !m_reaped) {
        ::kill(m_pid, SIGTERM);
        for (int waited_ms = 0; waited_ms < grace_ms && !has_exited(); waited_ms += 5) {
            read_lines(); // a full pipe would keep it from exiting
            ::usleep(5000);
        }
    }
    kill_and_reap();
}

void ChildProcess::kill_and_reap()
{
    if (m_pid > 0 && !m_reaped) {
        ::kill(-m_pid, SIGKILL);
        while (::waitpid(m_pid, &m_status, 0) < 0 && errno == EINTR) {
        }
        m_reaped = true;
    }
    if (m_output_fd >= 0) {
        ::close(m_output_fd);
        m_output_fd = -1;
    }
}

} // namespace gantry::harness
