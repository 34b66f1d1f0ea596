# Shared by the interactive gantry-viz tests (viz_window_test.sh,
# viz_follow_test.sh, viz_filter_window_test.sh), which source it: re-running
# the test under Xvfb, waiting for the window, looking for a drawn picture with
# retries, and waiting for a clean quit. POSIX sh; the tests run with `set -u`.
#
# Each test names itself once (viz_test=NAME before sourcing): its log and
# check output are NAME.log and NAME-check.log, so tests that share the scratch
# directory and run in parallel never write the same file.

# viz_under_xvfb TOOL... -- ARG...: outside Xvfb, says "skipped: why" and exits
# 0 when a tool is missing (the project's rule for tests needing a missing
# tool), else re-runs this script with ARGs under a fresh Xvfb display and does
# not return. Inside Xvfb it returns at once.
viz_under_xvfb()
{
    [ "${GANTRY_VIZ_INSIDE_XVFB:-}" = yes ] && return 0
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if ! command -v "$1" > /dev/null; then
            echo "skipped: $1 is not installed (apt-get install $(viz_package_of "$1"))"
            exit 0
        fi
        shift
    done
    shift
    GANTRY_VIZ_INSIDE_XVFB=yes exec xvfb-run -a -s "-screen 0 1600x1000x24" "$0" "$@"
}

viz_package_of()
{
    case $1 in
        xvfb-run) echo xvfb ;;
        xwd) echo x11-apps ;;
        *) echo "$1" ;;
    esac
}

# viz_wait_for_window PID: looks 100 times, 0.1 s apart (10 s, more when
# xdotool itself is slow), for a window titled gantry-viz* (when xdotool is
# there to see it), then waits 1 s more for it to settle. Sets $window (empty
# if none was seen); returns 1 if the viewer is no longer running.
viz_wait_for_window()
{
    viz_started=$(date +%s)
    window=""
    for _ in $(seq 100); do
        if command -v xdotool > /dev/null; then
            window=$(xdotool search --name '^gantry-viz' 2> /dev/null | head -n 1)
            [ -n "$window" ] && break
        fi
        kill -0 "$1" 2> /dev/null || break
        sleep 0.1
    done
    sleep 1
    kill -0 "$1" 2> /dev/null
}

# viz_start COMMAND...: starts the viewer (its output in $viz_test.log), sets
# $pid and waits for its window (viz_wait_for_window); exits 1 with the log if
# the viewer died. A viewer that could not open Xvfb's display exits at once
# saying so (it refuses SDL's window-less fallback). A window never seen, about
# once in 300 starts, looked like this before the viewer refused (why the
# display failed is not known): the first time, it is printed, with whether
# xdotool reaches the display, and the viewer started once more.
viz_start()
{
    for viz_attempt in 1 2; do
        "$@" > "$viz_test.log" 2>&1 &
        pid=$!
        viz_wait_for_window $pid && return 0
        if [ $viz_attempt = 1 ] && grep -q "cannot open a display" "$viz_test.log"; then
            echo "start 1: the viewer could not open display $DISPLAY" \
                "(xdotool there: $(xdotool getdisplaygeometry 2>&1)); load average:" \
                "$(cut -d' ' -f1-3 /proc/loadavg)"
            cat "$viz_test.log"
            sleep 1
            continue
        fi
        break
    done
    echo "gantry-viz exited early:"; cat "$viz_test.log"; exit 1
}

# viz_look_until PID LOOK...: the picture must be drawn, but not by a fixed
# moment: a loaded machine (a blank root window was seen at load 20, and 1.8 s
# after an append at load 0.3) can take longer than any fixed wait. Runs the
# command LOOK (a screenshot and its checks; LOOK gets the attempt number as its
# last argument) up to 8 times, 0.5 s apart, until it succeeds. On failure it
# reports on the viewer (viz_report_viewer) and exits 1.
viz_look_until()
{
    viz_pid=$1
    shift
    for attempt in 1 2 3 4 5 6 7 8; do
        if "$@" $attempt > "$viz_test-check.log" 2>&1; then
            cat "$viz_test-check.log"
            return 0
        fi
        echo "look $attempt: $(tail -n 1 "$viz_test-check.log")"
        kill -0 "$viz_pid" 2> /dev/null || break
        sleep 0.5
    done
    cat "$viz_test-check.log"
    viz_report_viewer "$viz_pid"
    exit 1
}

# viz_report_viewer PID: after a failed wait or look, what the next person
# needs: whether the viewer still runs (it is then stopped), for how long, and
# starved (state R, little CPU) or blocked (state S, and where); whether its
# window was ever seen; the load; and the viewer's log.
viz_report_viewer()
{
    if kill -0 "$1" 2> /dev/null; then
        echo "gantry-viz is still running, $(($(date +%s) - viz_started)) s after it started:" \
            "$(awk '{ printf "state %s, %.2f s of CPU", $3, ($14 + $15) / 100 }' \
                   "/proc/$1/stat"), waiting in $(cat "/proc/$1/wchan")"
        kill "$1"
    else
        echo "gantry-viz is no longer running"
    fi
    echo "its window: ${window:-never seen}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$viz_test.log"
}

# viz_expect_clean_exit PID: after the test asked the viewer to quit, waits up
# to 10 s for it, prints its log and exits 1 unless it quit with status 0.
viz_expect_clean_exit()
{
    for _ in $(seq 100); do
        kill -0 "$1" 2> /dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2> /dev/null; then
        echo "gantry-viz did not quit"; kill -9 "$1"; exit 1
    fi
    wait "$1"
    viz_status=$?
    cat "$viz_test.log"
    [ $viz_status -eq 0 ] || { echo "gantry-viz exited with $viz_status"; exit 1; }
}
