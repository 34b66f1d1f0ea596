# `gantry trace`: dump, stats and Chrome export of a real trace, JSON validity of
# the export, and exit status 2 with a message for bad input and bad usage.
# Input comes from gantry_trace_sample (every record kind, two nodes, through the
# real Tracer) and, when the hello app is built, from `hello --trace`.
add_executable(gantry_trace_sample ${CMAKE_CURRENT_LIST_DIR}/trace_sample.cpp)
target_link_libraries(gantry_trace_sample PRIVATE gantry_core gantry_panic_abort gantry_warnings)

set(GANTRY_TRACE_TEST_DIR ${CMAKE_CURRENT_BINARY_DIR}/trace)
file(MAKE_DIRECTORY ${GANTRY_TRACE_TEST_DIR})
set(sample ${GANTRY_TRACE_TEST_DIR}/sample.trace)

add_test(NAME "trace tool: write sample" COMMAND gantry_trace_sample ${sample})
set_tests_properties("trace tool: write sample" PROPERTIES FIXTURES_SETUP trace_sample)

# gantry_trace_check(NAME SCRIPT [FIXTURE]): runs a POSIX shell snippet in which
# $GANTRY is the tool and $DIR the scratch directory; it must exit 0.
function(gantry_trace_check name script fixture)
    add_test(NAME "trace tool: ${name}"
             COMMAND /bin/sh -c "set -u; ${script}"
             WORKING_DIRECTORY ${GANTRY_TRACE_TEST_DIR})
    set_tests_properties("trace tool: ${name}" PROPERTIES
        ENVIRONMENT "GANTRY=$<TARGET_FILE:gantry>;DIR=${GANTRY_TRACE_TEST_DIR}"
        FIXTURES_REQUIRED "${fixture}" TIMEOUT 60)
endfunction()

gantry_trace_check("dump sample"
    "$GANTRY trace dump sample.trace > dump.txt && grep -q 'node 1 fiber_switch from=0 to=1' dump.txt && grep -q 'mem_stats pages_total=1024' dump.txt && test $(wc -l < dump.txt) -eq 36"
    trace_sample)
gantry_trace_check("stats sample"
    "$GANTRY trace stats sample.trace | grep -Eq 'records +36'"
    trace_sample)
gantry_trace_check("export sample is valid JSON"
    "$GANTRY trace export --chrome sample.trace sample.json && /usr/bin/python3 -m json.tool sample.json > /dev/null && grep -q '\"ph\":\"C\"' sample.json && grep -q '\"thread_name\"' sample.json"
    trace_sample)
gantry_trace_check("not a trace gives exit 2 and a message"
    "printf 'hello world' > not_a_trace; $GANTRY trace dump not_a_trace 2> err1.txt; test $? -eq 2 && grep -q 'not_a_trace:0: not a Gantry trace' err1.txt && grep -q '^hint:' err1.txt"
    "")
gantry_trace_check("truncated trace gives exit 2 at the record's offset"
    "head -c 100 sample.trace > cut.trace; $GANTRY trace dump cut.trace > /dev/null 2> err2.txt; test $? -eq 2 && grep -q 'cut.trace:[0-9]*: record truncated' err2.txt"
    trace_sample)
gantry_trace_check("failed export leaves no output file"
    "head -c 100 sample.trace > cut2.trace; rm -f cut.json; $GANTRY trace export --chrome cut2.trace cut.json 2> /dev/null; test $? -eq 2 && test ! -e cut.json"
    trace_sample)
gantry_trace_check("usage errors give exit 2"
    "$GANTRY trace 2> /dev/null; a=$?; $GANTRY trace export x 2> /dev/null; b=$?; $GANTRY nosuch 2> /dev/null; c=$?; test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && $GANTRY --help | grep -q trace"
    "")

if(TARGET hello)
    add_test(NAME "trace tool: hello --trace" COMMAND hello --trace ${GANTRY_TRACE_TEST_DIR}/hello.trace
             WORKING_DIRECTORY ${GANTRY_TRACE_TEST_DIR})
    set_tests_properties("trace tool: hello --trace" PROPERTIES FIXTURES_SETUP trace_hello TIMEOUT 60)
    gantry_trace_check("dump and export hello"
        "$GANTRY trace dump hello.trace | grep -q node_info && $GANTRY trace export --chrome hello.trace hello.json && /usr/bin/python3 -m json.tool hello.json > /dev/null"
        trace_hello)
endif()
