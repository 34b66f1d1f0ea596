#!/bin/sh
# gantry-viz --follow on a trace that grows while it is open (Xvfb): the first
# half of TRACE is there when it starts, the rest is appended (cut mid-record
# first, as a writer mid-flush leaves it); screenshots before and after must
# differ (the new records are drawn), a click on the page map must not crash
# it, and q quits with status 0. Missing tools: "skipped: why", pass.
# usage: viz_follow_test.sh TRACE   (environment: VIZ = gantry-viz, CHECK = viz_check.py)
set -u
viz_test=viz-follow
. "$(dirname "$0")/viz_xvfb.sh"
viz_under_xvfb xvfb-run xwd xdotool -- "$@"
trace=$1

size=$(wc -c < "$trace")
half=$((size / 2))
head -c $half "$trace" > growing.trace
$VIZ --follow growing.trace --view memory > $viz_test.log 2>&1 &
pid=$!
viz_wait_for_window $pid
xdotool mousemove 1100 80 sleep 0.3          # the cursor (and the page map's time) at the right
xwd -root -silent > follow-before.xwd
tail -c +$((half + 1)) "$trace" | head -c 7 >> growing.trace   # a record cut short
sleep 1.2
tail -c +$((half + 8)) "$trace" >> growing.trace              # and the rest
sleep 1.5

# The appended records must be drawn: the picture differs from the one before.
# The mouse moves a little each look (the page map follows the cursor's time).
appended_records_drawn()
{
    xdotool mousemove 1100 $((80 + $1 * 2)) sleep 0.3
    xwd -root -silent > follow-after.xwd &&
        $CHECK xwd follow-after.xwd && $CHECK xwd-differ follow-before.xwd follow-after.xwd
}
viz_look_until $pid appended_records_drawn

xdotool mousemove 300 700 click 1 sleep 0.3  # somewhere in the memory view's lower half
xdotool key q
viz_expect_clean_exit $pid
if grep -q "record truncated\|corrupt" $viz_test.log; then
    echo "the cut-off record was reported as an error"; exit 1
fi
echo "ok: followed the growing trace, redrew, quit cleanly"
