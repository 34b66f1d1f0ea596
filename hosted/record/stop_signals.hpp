// What Ctrl-C (SIGINT, SIGTERM) does to a hosted kernel, shared by the hosted
// runner and `gantry replay-run`: a re-run must do exactly what the recorded
// run did, down to the log line (it reads the clock).
#pragma once

#include <gantry/kernel.hpp>

namespace gantry::recording {

inline constexpr int exit_forced_stop = 130;

// The first signal asks the app to stop; a second (or two at once) ends the
// kernel at once.
inline void handle_stop_signals(Kernel& kernel, int signals)
{
    if (!kernel.shutdown_requested() && signals == 1) {
        kernel.log().warn("stop requested; press Ctrl-C again to stop at once");
        kernel.request_shutdown();
    } else {
        kernel.log().warn("stopping at once");
        kernel.exit(exit_forced_stop);
    }
}

} // namespace gantry::recording
