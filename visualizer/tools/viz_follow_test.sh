#!/bin/sh
# gantry-viz --follow on a trace that grows while it is open (Xvfb): the first
# half of TRACE is there when it starts, the rest is appended (cut mid-record
# first, as a writer mid-flush leaves it); the picture before must be drawn
# and steady, and the one after must differ from it (the new records are
# drawn), a click on the page map must not crash it, and q quits with status
# 0. Missing tools: "skipped: why", pass.
# usage: viz_follow_test.sh TRACE   (environment: VIZ = gantry-viz, CHECK = viz_check.py)
set -u
viz_test=viz-follow
. "$(dirname "$0")/viz_xvfb.sh"
viz_under_xvfb xvfb-run xwd xdotool -- "$@"
trace=$1

size=$(wc -c < "$trace")
half=$((size / 2))
head -c $half "$trace" > growing.trace
viz_start $VIZ --follow growing.trace --view memory
xdotool mousemove 1100 80 sleep 0.3          # the cursor (and the page map's time) at the right
# The picture before the append must be drawn and steady (two looks 1 s apart
# agree), or "the pictures differ" below would prove nothing.
before_drawn_and_steady()
{
    xwd -root -silent > follow-before.xwd && $CHECK xwd follow-before.xwd && sleep 1 &&
        xwd -root -silent > follow-before-again.xwd &&
        ! $CHECK xwd-differ follow-before.xwd follow-before-again.xwd > /dev/null
}
viz_look_until $pid before_drawn_and_steady
tail -c +$((half + 1)) "$trace" | head -c 7 >> growing.trace   # a record cut short
sleep 1.2
tail -c +$((half + 8)) "$trace" >> growing.trace              # and the rest
sleep 1.5

# The appended records must be drawn: the picture differs from the steady one
# before, with the mouse where it was (the page map follows the cursor's time,
# which the appended records move on).
appended_records_drawn()
{
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
