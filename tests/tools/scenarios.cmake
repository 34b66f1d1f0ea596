# Every scenario in scenarios/ runs under ctest with a few seeds (and a
# determinism re-run); every file in scenarios/broken/ must be rejected with
# exit status 2 and the message its first line names.
file(GLOB GANTRY_SCENARIOS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/scenarios/*.yaml)
foreach(scenario ${GANTRY_SCENARIOS})
    get_filename_component(name ${scenario} NAME_WE)
    add_test(NAME "scenario: ${name}"
             COMMAND gantry sim ${scenario} --seeds 1..5 --check-determinism 0.4 --quiet
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties("scenario: ${name}" PROPERTIES TIMEOUT 300)
endforeach()

file(GLOB GANTRY_BROKEN_SCENARIOS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/scenarios/broken/*.yaml)
foreach(scenario ${GANTRY_BROKEN_SCENARIOS})
    get_filename_component(name ${scenario} NAME_WE)
    add_test(NAME "scenario rejected: ${name}"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/expect-error ${scenario}
                     $<TARGET_FILE:gantry> sim ${scenario})
    add_test(NAME "scenario rejected by check-scenario: ${name}"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/expect-error ${scenario}
                     $<TARGET_FILE:gantry> check-scenario ${scenario})
endforeach()
# unknown-app is only found when the world is built, not by check-scenario.
set_tests_properties("scenario rejected by check-scenario: unknown-app" PROPERTIES WILL_FAIL TRUE)

add_test(NAME "gantry sim: sweep with jobs writes one JUnit testcase per seed"
         COMMAND sh -c "rm -rf sweep-out && $<TARGET_FILE:gantry> sim \
${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --seeds 1..12 --jobs 2 --out sweep-out --quiet && \
test $(grep -c '<testcase' sweep-out/junit.xml) -eq 12 && test -f sweep-out/seed-7/trace.gtrace")
add_test(NAME "gantry sim: shards split the seed range"
         COMMAND sh -c "$<TARGET_FILE:gantry> sim \
${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --seeds 1..10 --shard 1/3 --verbose \
| grep -c '^seed .*: ok' | grep -qx 3")

# The deliberately buggy racy app: a sweep must find failing seeds, print the
# reproduce command, and that command must reproduce the run bit for bit.
add_test(NAME "gantry sim: a sweep finds the racy app's bug and prints how to reproduce it"
         COMMAND sh -c "out=$(mktemp) && $<TARGET_FILE:gantry> sim tests/scenarios/racy.yaml \
--seeds 1..30 --quiet > $out; status=$?; cat $out; test $status -eq 1 && \
grep -q 'reproduce with:' $out && grep -q 'gantry sim tests/scenarios/racy.yaml --seed 6' $out; \
r=$?; rm -f $out; exit $r"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "gantry sim: the reproduce command replays the failure bit for bit"
         COMMAND sh -c "d=$(mktemp -d) && \
$<TARGET_FILE:gantry> sim tests/scenarios/racy.yaml --seed 6 --out $d/a > $d/a.txt; a=$?; \
$<TARGET_FILE:gantry> sim tests/scenarios/racy.yaml --seed 6 --out $d/b > $d/b.txt; b=$?; \
cat $d/a.txt; test $a -eq 1 && test $b -eq 1 && grep -q 'assertion failed: m_counter' $d/a.txt \
&& cmp $d/a/trace.gtrace $d/b/trace.gtrace && cmp $d/a/counter.log $d/b/counter.log; r=$?; \
rm -rf $d; exit $r"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# --out writes one capture per link (readable pcap) and link_frame records in the trace.
add_test(NAME "gantry sim: --out writes a pcap per link and link_frame trace records"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> sim \
${PROJECT_SOURCE_DIR}/scenarios/switched-lan.yaml --out $d --quiet && \
test -s $d/alpha-sw.pcap && test -s $d/beta-sw.pcap && test -s $d/gamma-uplink.pcap && \
test $(head -c 4 $d/alpha-sw.pcap | od -An -tx1 | tr -d ' ') = 4d3cb2a1 && \
$<TARGET_FILE:gantry> trace dump $d/trace.gtrace | grep -q 'link_frame link=2 from=0 to=2'; \
r=$?; rm -rf $d; exit $r")

# gantry shrink keeps the one fault that matters out of seven, shortens the
# run, and the scenario it writes still fails the same way.
add_test(NAME "gantry shrink: keeps only the fault that causes the failure"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> shrink \
tests/scenarios/crash-without-restart.yaml --seed 1 --out $d/s.yaml > $d/log.txt; s=$?; \
cat $d/log.txt $d/s.yaml; test $s -eq 0 && grep -q '1 of 7 faults left' $d/log.txt && \
test $(grep -c 'crash: beta' $d/s.yaml) -eq 1 && test $(grep -c '  - at:' $d/s.yaml) -eq 1 && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/run.txt; r=$?; cat $d/run.txt; \
test $r -eq 1 && grep -q 'node beta did not exit' $d/run.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "gantry shrink: a passing seed has nothing to shrink (exit 1)"
         COMMAND sh -c "$<TARGET_FILE:gantry> shrink scenarios/quickstart.yaml --seed 1 \
--out /dev/null; test $? -eq 1"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# The editors' JSON Schema accepts every scenario the runner runs and rejects a
# misspelt key, so it cannot drift from the loader unnoticed.
file(GLOB GANTRY_ALL_SCENARIOS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/scenarios/*.yaml
     ${PROJECT_SOURCE_DIR}/tests/scenarios/*.yaml)
add_test(NAME "scenario schema: accepts every scenario"
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/check-schema.py
                 ${GANTRY_ALL_SCENARIOS})
add_test(NAME "scenario schema: rejects a misspelt key"
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/check-schema.py --invalid
                 ${PROJECT_SOURCE_DIR}/scenarios/broken/unknown-key.yaml)

# Determinism across processes: the networked quickstart run twice, in two
# processes, gives byte-identical traces, link captures and node logs.
add_test(NAME "gantry sim: two processes, same seed, byte-identical trace and pcaps"
         COMMAND sh -c "d=$(mktemp -d) && \
$<TARGET_FILE:gantry> sim scenarios/quickstart.yaml --seed 5 --out $d/a --quiet && \
$<TARGET_FILE:gantry> sim scenarios/quickstart.yaml --seed 5 --out $d/b --quiet && \
$<TARGET_FILE:gantry> sim scenarios/quickstart.yaml --seed 6 --out $d/c --quiet && \
cmp $d/a/trace.gtrace $d/b/trace.gtrace && cmp $d/a/client-port.pcap $d/b/client-port.pcap && \
cmp $d/a/pinger-port.pcap $d/b/pinger-port.pcap && cmp $d/a/server.log $d/b/server.log && \
! cmp -s $d/a/trace.gtrace $d/c/trace.gtrace; r=$?; rm -rf $d; exit $r"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# Chaos blocks (issue 6): gantry shrink expands the block into the concrete
# faults of the seed (checking they fail exactly as the chaos did), cuts them
# down, and the scenario it writes has no chaos left and still fails.
add_test(NAME "gantry shrink: expands chaos into concrete faults and cuts them down"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> shrink \
tests/scenarios/chaos-late-exit.yaml --seed 1 --out $d/s.yaml > $d/log.txt; s=$?; \
cat $d/log.txt $d/s.yaml; test $s -eq 0 && \
grep -q 'expanded 1 chaos block(s) into 8 faults for seed 1' $d/log.txt && \
grep -q '1 of 8 faults left' $d/log.txt && ! grep -q '^chaos:' $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/run.txt; r=$?; cat $d/run.txt; \
test $r -eq 1 && grep -q 'node alpha was running at the deadline' $d/run.txt; x=$?; \
rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
# The chaos of one seed is the same in two processes (traces, logs), and
# another seed's differs.
add_test(NAME "gantry sim: chaos is a function of the seed, across processes"
         COMMAND sh -c "d=$(mktemp -d) && \
$<TARGET_FILE:gantry> sim scenarios/chaos-liveness.yaml --seed 3 --out $d/a --quiet && \
$<TARGET_FILE:gantry> sim scenarios/chaos-liveness.yaml --seed 3 --out $d/b --quiet && \
$<TARGET_FILE:gantry> sim scenarios/chaos-liveness.yaml --seed 4 --out $d/c --quiet && \
cmp $d/a/trace.gtrace $d/b/trace.gtrace && cmp $d/a/backup.log $d/b/backup.log && \
! cmp -s $d/a/trace.gtrace $d/c/trace.gtrace; r=$?; rm -rf $d; exit $r"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
# The liveness phase is what lets chaos-liveness pass: the same world without
# it (the backup stays crashed, the last pings are lost) fails its checks.
add_test(NAME "gantry sim: without its liveness phase chaos-liveness fails"
         COMMAND sh -c "d=$(mktemp -d) && sed -e 's/^liveness:/duration: 10s/' \
-e '/^  after: 2s/d' -e '/^  within: 8s/d' scenarios/chaos-liveness.yaml > $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/out.txt; r=$?; cat $d/out.txt; \
test $r -eq 1 && grep -q 'pinger-b.s console lacks' $d/out.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "scenario schema: rejects a bad chaos rate"
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/check-schema.py --invalid
                 ${PROJECT_SOURCE_DIR}/scenarios/broken/bad-rate.yaml)

# The CI seed sweep (issue 6): 20 more seeds (6..25) of every scenario, with
# the 5% determinism self-check; 30 s of CPU, 46-73 s of wall time on the
# loaded 2-core machines (measured, see scripts/scenario-sweep). SCENARIO_SWEEP_SEEDS raises it for a nightly run.
if(DEFINED ENV{SCENARIO_SWEEP_SEEDS})
    set(GANTRY_SWEEP_SEEDS $ENV{SCENARIO_SWEEP_SEEDS})
else()
    set(GANTRY_SWEEP_SEEDS 20)
endif()
add_test(NAME "scenario sweep: ${GANTRY_SWEEP_SEEDS} more seeds of every scenario"
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/scenario-sweep $<TARGET_FILE:gantry>
                 ${GANTRY_SWEEP_SEEDS} 2)
set_tests_properties("scenario sweep: ${GANTRY_SWEEP_SEEDS} more seeds of every scenario"
                     PROPERTIES TIMEOUT 600 PROCESSORS 2)

# random_within faults (issue 6): gantry shrink first gives each its time for
# the seed (or drops it when its probability says no), then cuts them down;
# the result has no random_within left and fails the same way.
add_test(NAME "gantry shrink: resolves random_within faults, then cuts them down"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> shrink \
tests/scenarios/random-crash.yaml --seed 3 --out $d/s.yaml > $d/log.txt; s=$?; \
cat $d/log.txt $d/s.yaml; test $s -eq 0 && \
grep -q 'resolved 4 random_within fault(s) for seed 3: 3 of them happen' $d/log.txt && \
grep -q '1 of 3 faults left' $d/log.txt && ! grep -q 'random_within' $d/s.yaml && \
grep -q 'crash: beta' $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 3 > $d/run.txt; r=$?; cat $d/run.txt; \
test $r -eq 1 && grep -q 'node beta did not exit' $d/run.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# The teaching scenarios' points are real: the bloated link's small requests
# do take more than 400 ms (the bound the lean link meets), and the zero
# window probes come from the browser's pause (without it there are none).
add_test(NAME "gantry sim: slow-link-bufferbloat's deep queue delays small requests past 400 ms"
         COMMAND sh -c "d=$(mktemp -d) && sed -e 's/node: browser-b, latency_max: 10s/node: browser-b, latency_max: 400ms/' \
-e \"s#image: site#image: $PWD/scenarios/site#g\" scenarios/slow-link-bufferbloat.yaml > $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/out.txt; r=$?; cat $d/out.txt; \
test $r -eq 1 && grep -q \"browser-b's GET /style.css at .* took\" $d/out.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "gantry sim: zero-window's probes come from the browser's pause"
         COMMAND sh -c "d=$(mktemp -d) && sed -e 's/read_pause: 3s/read_pause: 0s/' \
-e \"s#image: site#image: $PWD/scenarios/site#\" scenarios/zero-window.yaml > $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/out.txt; r=$?; cat $d/out.txt; \
test $r -eq 1 && grep -q 'tcp.zero_window_probes is 0, below the minimum 2' $d/out.txt; x=$?; \
rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# clock_drift faults (issue 6): clock-drift.yaml's checks fail without its
# drift fault (so they do show the drift), and gantry shrink keeps the one
# drift change that breaks a check, writing it back as a clock_drift fault.
add_test(NAME "gantry sim: clock-drift's checks fail without the drift fault"
         COMMAND sh -c "d=$(mktemp -d) && sed -e '/at: 205ms/,+1d' scenarios/clock-drift.yaml > $d/s.yaml && \
! grep -q 'clock_drift: {node: pinger' $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/out.txt; r=$?; cat $d/out.txt; \
test $r -eq 1 && grep -q 'lacks \"icmp_seq=40 time=2.100 ms\"' $d/out.txt && \
grep -q 'node pinger was running at the deadline' $d/out.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "gantry shrink: keeps the clock_drift fault that breaks the check"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> shrink \
tests/scenarios/drift-breaks-rtt.yaml --seed 1 --out $d/s.yaml > $d/log.txt; s=$?; \
cat $d/log.txt $d/s.yaml; test $s -eq 0 && grep -q '1 of 5 faults left' $d/log.txt && \
grep -q 'clock_drift: {node: pinger, ppm: 50000}' $d/s.yaml && \
$<TARGET_FILE:gantry> sim $d/s.yaml --seed 1 > $d/run.txt; r=$?; cat $d/run.txt; \
test $r -eq 1 && grep -q 'lacks \"icmp_seq=40 time=2.000 ms\"' $d/run.txt; x=$?; rm -rf $d; exit $x"
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME "gantry sim: the liveness phase sets clocks back to their node's drift"
         COMMAND $<TARGET_FILE:gantry> sim tests/scenarios/drift-liveness.yaml --seeds 1..2 --quiet
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# Determinism across builds (issue 5): a Debug (-O0) gantry, which scripts/test
# builds in build-debug/, and this optimised one write byte-identical traces,
# pcaps and consoles for the same scenarios and seeds (docs/simulator.md).
add_test(NAME "gantry sim: Debug and optimised builds write byte-identical traces, pcaps and logs"
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/debug-release-determinism $<TARGET_FILE:gantry>
                 ${PROJECT_SOURCE_DIR}/build-debug/bin/gantry
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties("gantry sim: Debug and optimised builds write byte-identical traces, pcaps and logs"
                     PROPERTIES TIMEOUT 300)

# Bad options: exit 2 and say what is wrong (a --jobs that does not fit 32 bits
# must not wrap to a valid count).
add_test(NAME "gantry sim: bad --jobs and --seeds values exit 2 with what is wrong"
    COMMAND sh -c "$<TARGET_FILE:gantry> sim ${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --jobs 4294967297 2> simopt-j1.txt; a=$?; \
$<TARGET_FILE:gantry> sim ${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --jobs 0 2> simopt-j2.txt; b=$?; \
$<TARGET_FILE:gantry> sim ${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --jobs two 2> simopt-j3.txt; c=$?; \
$<TARGET_FILE:gantry> sim ${PROJECT_SOURCE_DIR}/scenarios/hello-fleet.yaml --seeds 9..3 2> simopt-s1.txt; d=$?; \
test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && test $d -eq 2 && \
grep -q -- '--jobs must be between 1 and 256' simopt-j1.txt && grep -q -- '--jobs must be between 1 and 256' simopt-j2.txt && \
grep -q -- \"--jobs: 'two' is not a number\" simopt-j3.txt && grep -q -- '--seeds: the range is empty' simopt-s1.txt"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties("gantry sim: bad --jobs and --seeds values exit 2 with what is wrong" PROPERTIES TIMEOUT 60)
