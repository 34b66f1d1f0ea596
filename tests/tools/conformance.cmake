# `gantry pkt` (docs/conformance.md): the FreeBSD TCP test suite against the
# recorded baseline (skipped when ../shared/conformance is missing), Gantry's
# own regression scripts (every one must pass), and the command's behaviour on
# bad input.
if(TARGET gantry)
    set(gantry_bin $<TARGET_FILE:gantry>)
    set(conformance_dir ${PROJECT_SOURCE_DIR}/tests/conformance)

    add_test(NAME "conformance: FreeBSD TCP suite (IPv4) at or above the baseline"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/conformance-suite ${gantry_bin})
    add_test(NAME "conformance: regression scripts all pass"
             COMMAND ${gantry_bin} pkt ${conformance_dir}/regressions)
    add_test(NAME "conformance: --help"
             COMMAND ${gantry_bin} pkt --help)
    set_tests_properties("conformance: --help" PROPERTIES
                         PASS_REGULAR_EXPRESSION "usage: gantry pkt")
    add_test(NAME "conformance: a missing script is bad input (exit 2)"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/expect-error
                     ${conformance_dir}/bad/missing.expect
                     ${gantry_bin} pkt ${conformance_dir}/bad/no-such-file.pkt)
    # Unsupported syntax is a runner error with file:line and exit status 1,
    # never a pass; a wrong expectation fails at its own line.
    add_test(NAME "conformance: unsupported syntax is a runner error with file:line"
             COMMAND /bin/sh -c "out=$(${gantry_bin} pkt ${conformance_dir}/bad/unsupported-option.pkt); rc=$?; echo \"$out\"; test $rc -eq 1 && echo \"$out\" | grep -q \"^runner error .*unsupported-option.pkt:9: unsupported TCP option 'FO'\"")
    add_test(NAME "conformance: a wrong expectation fails at its line"
             COMMAND /bin/sh -c "out=$(${gantry_bin} pkt ${conformance_dir}/bad/wrong-window.pkt); rc=$?; echo \"$out\"; test $rc -eq 1 && echo \"$out\" | grep -q \"^failed .*wrong-window.pkt:11: expected: > S. 0:0(0) ack 1 win 1000\"")
    set_tests_properties(
        "conformance: FreeBSD TCP suite (IPv4) at or above the baseline"
        "conformance: regression scripts all pass"
        PROPERTIES TIMEOUT 120)
endif()
