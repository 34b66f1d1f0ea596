#!/bin/sh
# The network filter in the interactive viewer, on a real X server (Xvfb):
# opened with --protocol (the picture shows only those frames and the filter
# banner), then `c` clears the filter, which must change the picture, and `q`
# quits with status 0. Missing tools: "skipped: why", and the test passes.
# usage: viz_filter_window_test.sh TRACE  (environment: VIZ, CHECK as viz_window_test.sh)
set -u
viz_test=viz-filter
. "$(dirname "$0")/viz_xvfb.sh"
viz_under_xvfb xvfb-run xwd xdotool -- "$@"
trace=$1

viz_start $VIZ "$trace" --view network --from 0 --to 120ms --protocol icmp
if [ -z "$window" ]; then
    echo "gantry-viz did not open a window:"; viz_report_viewer $pid; exit 1
fi
# The mouse stays still between the screenshots: only the filter may change them.
xdotool mousemove 1300 900 sleep 0.5
filtered_is_drawn()
{
    xwd -root -silent > filtered.xwd && $CHECK xwd filtered.xwd
}
viz_look_until $pid filtered_is_drawn

xdotool key c sleep 0.8
cleared_picture_differs()
{
    xwd -root -silent > cleared.xwd && $CHECK xwd-differ filtered.xwd cleared.xwd
}
viz_look_until $pid cleared_picture_differs

xdotool key q
viz_expect_clean_exit $pid
echo "ok: opened filtered, c cleared the filter (the picture changed), quit cleanly"
