# gantry-viz: headless PNGs of real traces (hello --trace and the trace sample)
# checked against the layout's own rectangles (visualizer/tools/viz_check.py,
# stdlib Python), bad traces giving exit 2 with FILE:OFFSET messages, and the
# interactive window under Xvfb (the scripts say "skipped" without Xvfb or
# the X tools they drive).
if(NOT TARGET gantry-viz)
    return()
endif()

set(GANTRY_VIZ_TEST_DIR ${CMAKE_CURRENT_BINARY_DIR}/viz)
file(MAKE_DIRECTORY ${GANTRY_VIZ_TEST_DIR})
set(GANTRY_VIZ_CHECK "/usr/bin/python3 ${PROJECT_SOURCE_DIR}/visualizer/tools/viz_check.py")

# gantry_viz_check(NAME SCRIPT FIXTURES): a POSIX shell snippet with $VIZ (the
# tool), $CHECK (the checker) and $DIR (scratch); it must exit 0.
function(gantry_viz_check name script fixtures)
    add_test(NAME "viz: ${name}" COMMAND /bin/sh -c "set -u; ${script}"
             WORKING_DIRECTORY ${GANTRY_VIZ_TEST_DIR})
    set_tests_properties("viz: ${name}" PROPERTIES
        ENVIRONMENT "VIZ=$<TARGET_FILE:gantry-viz>;CHECK=${GANTRY_VIZ_CHECK};DIR=${GANTRY_VIZ_TEST_DIR}"
        FIXTURES_REQUIRED "${fixtures}" TIMEOUT 120)
endfunction()

if(TARGET hello)
    add_test(NAME "viz: hello --trace" COMMAND hello --trace ${GANTRY_VIZ_TEST_DIR}/hello.trace
             WORKING_DIRECTORY ${GANTRY_VIZ_TEST_DIR})
    set_tests_properties("viz: hello --trace" PROPERTIES FIXTURES_SETUP viz_hello TIMEOUT 60)
    gantry_viz_check("hello: all views to PNG, marks where the layout says"
        "$VIZ hello.trace --png all.png --size 900x600 --layout-json all.json && $CHECK png all.png 900 600 && $CHECK marks all.png all.json"
        viz_hello)
    # Hello's phases take microseconds of a run of milliseconds: zoom on them
    # (their times come from the whole-run layout) and require them drawn.
    # Each phase is zoomed on by itself: on a loaded machine the gap between them
    # can be 200x a phase, which would leave it a few pixels wide.
    gantry_viz_check("hello: timeline zoomed on the boot phases"
        "$VIZ hello.trace --view timeline --layout-json whole.json && /usr/bin/python3 -c 'import json; p=json.load(open(\"whole.json\"))[\"timeline\"][\"phases\"]; assert len(p) >= 2, p; [print(\"--from %dns --to %dns\" % (x[\"begin\"] - d // 4, x[\"end\"] + d // 4)) for x in p for d in [max(x[\"end\"] - x[\"begin\"], 100)]]' > windows.txt && n=0 && while read window; do n=$((n+1)); $VIZ hello.trace $window --view timeline --size 800x200 --png boot$n.png --layout-json boot$n.json && $CHECK png boot$n.png 800 200 && $CHECK marks boot$n.png boot$n.json --require-phases 1 || exit 1; done < windows.txt && test $n -ge 2"
        viz_hello)
    gantry_viz_check("hello: memory view alone"
        "$VIZ hello.trace --png mem.png --view memory --size 640x360 --layout-json mem.json && $CHECK png mem.png 640 360 && $CHECK marks mem.png mem.json"
        viz_hello)
    # The page map and heap classes at the end of hello's run, and half-way
    # through it (--at): both drawn where the layout says, at the time asked for.
    gantry_viz_check("hello: page map and heap classes where the layout says"
        "$VIZ hello.trace --png map.png --view memory --size 1000x500 --layout-json map.json && $CHECK pagemap map.png map.json && at=$(/usr/bin/python3 -c 'import json; w=json.load(open(\"map.json\"))[\"window\"]; print((w[0] + w[1]) // 2)') && $VIZ hello.trace --view memory --size 1000x500 --at \${at}ns --png mid.png --layout-json mid.json && $CHECK pagemap mid.png mid.json && grep -q \"\\\"at\\\":$at,\" mid.json"
        viz_hello)
    gantry_viz_check("interactive --follow under Xvfb: appended records are drawn"
        "${PROJECT_SOURCE_DIR}/visualizer/tools/viz_follow_test.sh hello.trace"
        viz_hello)
    gantry_viz_check("interactive window under Xvfb"
        "${PROJECT_SOURCE_DIR}/visualizer/tools/viz_window_test.sh hello.trace"
        viz_hello)
endif()

if(TARGET gantry_trace_sample)
    add_test(NAME "viz: write sample" COMMAND gantry_trace_sample ${GANTRY_VIZ_TEST_DIR}/sample.trace)
    set_tests_properties("viz: write sample" PROPERTIES FIXTURES_SETUP viz_sample)
    gantry_viz_check("sample: two nodes, nested phases, every view"
        "$VIZ sample.trace --png sample.png --size 1000x700 --layout-json sample.json && $CHECK png sample.png 1000 700 && $CHECK marks sample.png sample.json && grep -q '\"node\":1' sample.json"
        viz_sample)
    gantry_viz_check("truncated trace: exit 2 at the record's offset"
        "head -c 100 sample.trace > cut.trace; $VIZ cut.trace --png cut.png 2> cut-err.txt; test $? -eq 2 && grep -q 'cut.trace:[0-9]*: record truncated' cut-err.txt && grep -q '^hint:' cut-err.txt && test ! -e cut.png"
        viz_sample)
    # No display: a clear error and an exit, not a viewer running on SDL's
    # window-less fallback driver (what it did before, until killed).
    gantry_viz_check("no display: an error naming DISPLAY, not an invisible window"
        "env -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER DISPLAY=:8731 timeout 20 $VIZ sample.trace 2> nodisplay-err.txt; rc=$?; cat nodisplay-err.txt; test $rc -ne 0 && test $rc -ne 124 && grep -q 'cannot open a display (DISPLAY=:8731)' nodisplay-err.txt && grep -q '^hint:.*--png' nodisplay-err.txt"
        viz_sample)
    gantry_viz_check("header-only trace: exit 2, no records"
        "head -c 32 sample.trace > header.trace; $VIZ header.trace --png h.png 2> header-err.txt; test $? -eq 2 && grep -q 'header.trace:32: the trace has no records' header-err.txt"
        viz_sample)
endif()

if(TARGET gantry)
    # Quickstart partitions pinger from server at 60-75 ms: drops must be drawn.
    add_test(NAME "viz: quickstart sim trace"
             COMMAND $<TARGET_FILE:gantry> sim ${PROJECT_SOURCE_DIR}/scenarios/quickstart.yaml
                     --out ${GANTRY_VIZ_TEST_DIR}/quickstart
             WORKING_DIRECTORY ${GANTRY_VIZ_TEST_DIR})
    set_tests_properties("viz: quickstart sim trace" PROPERTIES
                         FIXTURES_SETUP viz_quickstart TIMEOUT 120)
    gantry_viz_check("quickstart: link-frame arrows in their fates' colours"
        "$VIZ quickstart/trace.gtrace --png qs.png --size 1400x800 --layout-json qs.json && $CHECK png qs.png 1400 800 && $CHECK arrows qs.png qs.json 1"
        viz_quickstart)
    gantry_viz_check("quickstart: page maps of every node at 70ms"
        "$VIZ quickstart/trace.gtrace --view memory --at 70ms --size 1200x900 --png qm.png --layout-json qm.json && $CHECK pagemap qm.png qm.json"
        viz_quickstart)
    # The network filter: the same window unfiltered, then by protocol and by the
    # UDP echo's connection (taken from the unfiltered layout): the matching arrows
    # are drawn, the others are gone from the picture (viz_check.py filter).
    gantry_viz_check("quickstart: network filter by protocol and by connection"
        "W='--view network --from 0 --to 120ms --size 1400x260' && $VIZ quickstart/trace.gtrace $W --png qfa.png --layout-json qfa.json && $VIZ quickstart/trace.gtrace $W --protocol icmp,arp --png qfp.png --layout-json qfp.json && $CHECK filter qfa.png qfa.json qfp.png qfp.json --protocols icmp,arp && conn=$(/usr/bin/python3 -c 'import json; print(next(a[6] for a in json.load(open(\"qfa.json\"))[\"network\"][\"arrows\"] if a[5] == \"udp\"))') && $VIZ quickstart/trace.gtrace $W --connection $conn --png qfc.png --layout-json qfc.json && $CHECK filter qfa.png qfa.json qfc.png qfc.json --connection $conn"
        viz_quickstart)
    gantry_viz_check("interactive network filter under Xvfb: c clears --protocol"
        "${PROJECT_SOURCE_DIR}/visualizer/tools/viz_filter_window_test.sh quickstart/trace.gtrace"
        viz_quickstart)
    gantry_viz_check("quickstart: network view zoomed on the partition"
        "$VIZ quickstart/trace.gtrace --view network --from 55ms --to 80ms --size 900x200 --png qz.png --layout-json qz.json && $CHECK arrows qz.png qz.json 1"
        viz_quickstart)
endif()

gantry_viz_check("empty, missing and foreign files: exit 2 with a message"
    ": > empty.trace; $VIZ empty.trace --png e.png 2> e1.txt; a=$?; $VIZ no/such.trace --png e.png 2> e2.txt; b=$?; printf 'not a trace at all' > foreign.trace; $VIZ foreign.trace --png e.png 2> e3.txt; c=$?; test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && grep -q 'empty.trace:0: the file is empty' e1.txt && grep -q 'no/such.trace:0: cannot open' e2.txt && grep -q 'foreign.trace:0: not a Gantry trace' e3.txt"
    "")
gantry_viz_check("network filter usage errors: exit 2 with what is wrong; --help names them"
    "$VIZ x.trace --protocol sctp 2> p1.txt; a=$?; $VIZ x.trace --protocol 2> p2.txt; b=$?; $VIZ x.trace --connection 10.0.0.1:80 2> c1.txt; c=$?; $VIZ x.trace --connection 10.0.0.1:80-300.0.0.2:1 2> c2.txt; d=$?; $VIZ x.trace --connection udp:10.0.0.1:99999-10.0.0.2:1 2> c3.txt; e=$?; test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && test $d -eq 2 && test $e -eq 2 && grep -q \"gantry-viz: --protocol: unknown protocol 'sctp': use arp, icmp, udp, tcp or other\" p1.txt && grep -q 'gantry-viz: --protocol needs a value' p2.txt && grep -q \"gantry-viz: --connection: '10.0.0.1:80' is not two endpoints\" c1.txt && grep -q \"'300.0.0.2' is not an IPv4 address\" c2.txt && grep -q \"port '99999' is not 1-65535\" c3.txt && grep -q -- '--connection' c3.txt && $VIZ --help | grep -q -- '--protocol P' && $VIZ --help | grep -q -- '--connection \\[tcp:|udp:\\]IP:PORT-IP:PORT'"
    "")
gantry_viz_check("usage errors: exit 2; --help: exit 0"
    "$VIZ 2> /dev/null; a=$?; $VIZ x.trace --size 10 2> /dev/null; b=$?; $VIZ x.trace --view pcap 2> /dev/null; c=$?; $VIZ x.trace --bogus 2> /dev/null; d=$?; test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && test $d -eq 2 && $VIZ --help | grep -q -- '--png'"
    "")

# The interactive tests open a real SDL window: the D-Bus, X11 and GL modules
# SDL loads leave allocations LeakSanitizer cannot attribute (their modules
# are unloaded, or the fast unwinder stops at their frames: the allocation
# stacks end in garbage addresses), so no suppression can name them. Leaks
# are not judged in these three; ASan still checks every access, and the
# headless --png tests, which run the same model and renderer code, are
# leak-checked.
if(GANTRY_SANITIZE)
    foreach(interactive "interactive window under Xvfb"
                        "interactive --follow under Xvfb: appended records are drawn"
                        "interactive network filter under Xvfb: c clears --protocol")
        if(TEST "viz: ${interactive}")
            set_tests_properties("viz: ${interactive}" PROPERTIES
                                 ENVIRONMENT_MODIFICATION "ASAN_OPTIONS=set:detect_leaks=0")
        endif()
    endforeach()
endif()
