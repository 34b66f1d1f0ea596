// A child process for the replay's live targets (a hosted app, QEMU with an
// image) and for `gantry boot`'s QEMU: in its own process group, stdin on
// /dev/null, stdout (and by default stderr) on one pipe read without blocking.
// It is always killed and reaped: the destructor kills the whole group with
// SIGKILL and waits for it, so neither an error nor a timeout can leave a QEMU
// behind.
#pragma once

#include <deque>
#include <string>
#include <sys/types.h>
#include <vector>

namespace gantry::harness {

// Where the child's stderr goes. The replay reads a target's messages with its
// output (into_pipe); `gantry boot` keeps the pipe for the guest's serial
// console alone, and QEMU's own errors go to the user's stderr (inherited) or,
// when probing KVM, nowhere (discarded).
enum class ChildStderr : unsigned char { into_pipe, inherited, discarded };

class ChildProcess {
public:
    // Throws std::runtime_error when pipe or fork fail. A program that cannot
    // be executed exits 127 after writing why to its stderr.
    explicit ChildProcess(const std::vector<std::string>& command,
                          ChildStderr stderr_to = ChildStderr::into_pipe);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // The pipe's read end, for poll(); -1 once it reached end of file.
    int output_fd() const { return m_output_fd; }

    // Reads what the pipe holds now (never blocks) and returns the lines that
    // became complete, without CRs. The last `tail_lines_max` stay in tail().
    std::vector<std::string> read_lines();
    const std::deque<std::string>& tail() const { return m_tail; }

    // Whether it has exited (reaps it if so); never blocks.
    bool has_exited();
    // "exited with status N" / "killed by signal N"; only after has_exited().
    std::string exit_description() const;
    // The wait status (<sys/wait.h> macros), only after has_exited().
    int wait_status() const { return m_status; }

    // SIGKILL to the group, then wait. Idempotent.
    void kill_and_reap();
    // SIGTERM to the child, so it can flush what it writes (a hosted app's
    // capture and trace); SIGKILL to the group if it has not exited within
    // `grace_ms`. Always reaps.
    void stop(int grace_ms);

    static constexpr std::size_t tail_lines_max = 20;

private:
    void keep(std::string line);

    pid_t m_pid = -1;
    int m_output_fd = -1;
    bool m_reaped = false;
    int m_status = 0;
    std::string m_partial;
    std::deque<std::string> m_tail;
};

} // namespace gantry::harness
