# The simulation fuzzer (gantry simfuzz, docs/scenarios.md "Simulation
# fuzzing"): a fixed range of seeds (the time-bounded run from a fresh seed is
# a CI step in scripts/test), the failure path (the world written as a
# scenario that `gantry sim` runs), proof that its checks bite, and every world
# it ever failed in, kept as a regression scenario.
add_test(NAME "gantry simfuzz: seeds 1..40 pass"
         COMMAND gantry simfuzz --seeds 1..40 --out simfuzz-regress)
set_tests_properties("gantry simfuzz: seeds 1..40 pass" PROPERTIES TIMEOUT 300)

# A world that overruns its wall-clock limit is a failure: it must be written
# out with the reproduce commands, and the file must be a valid scenario that
# reproduces the (passing) run under `gantry sim`.
add_test(NAME "gantry simfuzz: a failing world is written as a scenario gantry sim runs"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> simfuzz --seed 7 --timeout 0 \
--out $d > $d/out.txt; s=$?; cat $d/out.txt; test $s -eq 1 && \
grep -q 'gantry simfuzz --seed 7' $d/out.txt && grep -q \"gantry sim $d/simfuzz-7.yaml\" $d/out.txt \
&& $<TARGET_FILE:gantry> sim $d/simfuzz-7.yaml --quiet; r=$?; rm -rf $d; exit $r")

# The checks bite: the same world with its TCP echo server crashed for good
# mid-transfer must fail (a crash ends the connection; the client says so).
add_test(NAME "gantry simfuzz: its checks catch a TCP echo server that crashes"
         COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:gantry> simfuzz --seed 1 --print \
> $d/w.yaml && printf 'faults:\\n  - {at: 60ms, crash: echo0}\\n' >> $d/w.yaml && \
$<TARGET_FILE:gantry> sim $d/w.yaml > $d/out.txt; s=$?; cat $d/out.txt; test $s -eq 1 && \
grep -q 'node echo0-tcp1 exited with 1' $d/out.txt; r=$?; rm -rf $d; exit $r")

add_test(NAME "gantry simfuzz: bad usage exits 2"
         COMMAND sh -c "$<TARGET_FILE:gantry> simfuzz --seeds 9..3; test $? -eq 2")

file(GLOB GANTRY_SIMFUZZ_WORLDS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/tests/scenarios/simfuzz/*.yaml)
foreach(world ${GANTRY_SIMFUZZ_WORLDS})
    get_filename_component(name ${world} NAME_WE)
    add_test(NAME "simfuzz regression: ${name}" COMMAND gantry sim ${world} --quiet)
    set_tests_properties("simfuzz regression: ${name}" PROPERTIES TIMEOUT 120)
endforeach()

# A chaos block's last undoing can land exactly on liveness.after; shrinking
# used to write it out as a fault the loader refuses there (exit 2). The 2446
# world has one; an impossible check makes it fail so shrink has work to do.
add_test(NAME "gantry shrink: a chaos undoing at liveness.after is left to the liveness phase"
         COMMAND sh -c "d=$(mktemp -d) && cp ${PROJECT_SOURCE_DIR}/tests/scenarios/simfuzz/arp-corrupt-binding-2446.yaml \
$d/w.yaml && printf '  - {node: pinger0, log_contains: \"never printed\"}\\n' >> $d/w.yaml && \
$<TARGET_FILE:gantry> shrink $d/w.yaml --seed 2446 > $d/out.txt 2>&1; s=$?; cat $d/out.txt; test $s -eq 0 && \
grep -q 'left to the liveness phase' $d/out.txt && $<TARGET_FILE:gantry> sim $d/w.shrunk.yaml --quiet; \
r=$?; rm -rf $d; test $r -eq 1")
