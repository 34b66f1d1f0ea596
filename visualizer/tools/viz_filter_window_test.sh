#!/bin/sh
# The network filter in the interactive viewer, on a real X server (Xvfb):
# opened with --protocol (the picture shows only those frames and the filter
# banner), then `c` clears the filter, which must change the picture, and `q`
# quits with status 0. Missing tools: "skipped: why", and the test passes.
# usage: viz_filter_window_test.sh TRACE  (environment: VIZ, CHECK as viz_window_test.sh)
set -u
trace=$1
if [ "${2:-}" != "--inside-xvfb" ]; then
    for tool in xvfb-run xwd xdotool; do
        if ! command -v $tool > /dev/null; then
            echo "skipped: $tool is not installed (apt-get install xvfb x11-apps xdotool)"
            exit 0
        fi
    done
    exec xvfb-run -a -s "-screen 0 1600x1000x24" "$0" "$trace" --inside-xvfb
fi

$VIZ "$trace" --view network --from 0 --to 120ms --protocol icmp > viz-filter.log 2>&1 &
pid=$!
window=""
for _ in $(seq 100); do
    window=$(xdotool search --name '^gantry-viz' 2> /dev/null | head -n 1)
    [ -n "$window" ] && break
    kill -0 $pid 2> /dev/null || break
    sleep 0.1
done
sleep 1
if [ -z "$window" ] || ! kill -0 $pid 2> /dev/null; then
    echo "gantry-viz did not open a window:"; cat viz-filter.log; kill $pid 2> /dev/null; exit 1
fi
# The mouse stays still between the screenshots: only the filter may change them.
xdotool mousemove 1300 900 sleep 0.5
xwd -root -silent > filtered.xwd
xdotool key c sleep 0.8
xwd -root -silent > cleared.xwd
xdotool key q
for _ in $(seq 100); do
    kill -0 $pid 2> /dev/null || break
    sleep 0.1
done
if kill -0 $pid 2> /dev/null; then
    echo "gantry-viz did not quit"; kill -9 $pid; exit 1
fi
wait $pid
status=$?
cat viz-filter.log
[ $status -eq 0 ] || { echo "gantry-viz exited with $status"; exit 1; }
$CHECK xwd filtered.xwd && $CHECK xwd-differ filtered.xwd cleared.xwd || exit 1
echo "ok: opened filtered, c cleared the filter (the picture changed), quit cleanly"
