# `gantry replay` (docs/replay.md) on real captures: the ones checked in under
# tests/replay/captures (made by scripts/replay-capture, see the README there)
# and fresh ones made at test time in a network namespace (root only; they
# print "skipped: <why>" elsewhere).
if(TARGET gantry AND TARGET echo AND TARGET echo_altered)
    set(replay_dir ${PROJECT_SOURCE_DIR}/tests/replay)
    set(expect ${replay_dir}/expect)
    set(gantry_bin $<TARGET_FILE:gantry>)

    # Every checked-in capture replays against the app it was made with.
    file(GLOB replay_captures CONFIGURE_DEPENDS ${replay_dir}/captures/*.pcap
         ${replay_dir}/captures/*.pcapng)
    foreach(capture ${replay_captures})
        get_filename_component(name ${capture} NAME)
        add_test(NAME "replay: ${name} matches echo"
                 COMMAND ${expect} 0 "result: MATCH" -- ${gantry_bin} replay ${capture} --app echo)
        list(APPEND replay_tests "replay: ${name} matches echo")
    endforeach()

    # The deliberately altered echo: the first divergence is the flipped byte.
    add_test(NAME "replay: altered echo diverges on UDP at byte 3"
             COMMAND ${expect} 1 "first divergence (different): udp 10.77.0.1:"
                     "payload differs at byte 3: expected 0x61 'a', got 0x41 'A'"
                     "record 5  client > UDP" "result: DIVERGED"
                     -- ${gantry_bin} replay ${replay_dir}/captures/udp.pcap --app echo_altered)
    add_test(NAME "replay: altered echo diverges on TCP at stream byte 3"
             COMMAND ${expect} 1 "first divergence (different): tcp 10.77.0.1:"
                     "the node's byte stream differs from byte 3 (recorded 2120 bytes, node sent 2120)"
                     "expected 0x65 'e', got 0x45 'E'"
                     -- ${gantry_bin} replay ${replay_dir}/captures/tcp.pcap --app echo_altered)
    add_test(NAME "replay: altered echo diverges in a cooked SLL2 capture"
             COMMAND ${expect} 1 "the node's byte stream differs from byte 3"
                     -- ${gantry_bin} replay ${replay_dir}/captures/tcp-sll2.pcap --app echo_altered)
    add_test(NAME "replay: altered echo still answers ping like echo"
             COMMAND ${expect} 0 "icmp echo 10.77.0.1 id" "result: MATCH"
                     -- ${gantry_bin} replay ${replay_dir}/captures/ping.pcap --app echo_altered)
    add_test(NAME "replay: JSON report names the first divergence"
             COMMAND /bin/sh -c "${gantry_bin} replay ${replay_dir}/captures/udp.pcap --app echo_altered --report replay-udp.json > /dev/null; test $? -eq 1 && /usr/bin/python3 -c \"import json; r = json.load(open('replay-udp.json')); d = r['first_divergence']; assert r['match'] is False and d['kind'] == 'different' and d['expected']['record'] == 6, d; assert 'byte 3' in d['detail'][0]; print('ok', d['what'])\"")
    list(APPEND replay_tests "replay: altered echo diverges on UDP at byte 3"
         "replay: altered echo diverges on TCP at stream byte 3"
         "replay: altered echo diverges in a cooked SLL2 capture"
         "replay: altered echo still answers ping like echo"
         "replay: JSON report names the first divergence")

    # Timing modes and flow selection.
    add_test(NAME "replay: TCP as fast as possible still matches"
             COMMAND ${expect} 0 "result: MATCH"
                     -- ${gantry_bin} replay ${replay_dir}/captures/tcp.pcap --app echo --timing asap)
    add_test(NAME "replay: TCP at ten times the recorded gaps matches"
             COMMAND ${expect} 0 "result: MATCH"
                     -- ${gantry_bin} replay ${replay_dir}/captures/tcp.pcapng --app echo --timing scale=10)
    add_test(NAME "replay: a BPF filter selects one flow"
             COMMAND ${expect} 0 "13 records, 2 selected" "result: MATCH"
                     -- ${gantry_bin} replay ${replay_dir}/captures/udp.pcap --app echo_altered
                        --server 10.77.0.2 --filter "arp")
    list(APPEND replay_tests "replay: TCP as fast as possible still matches"
         "replay: TCP at ten times the recorded gaps matches"
         "replay: a BPF filter selects one flow")

    # Bad input: exit 2 and a message naming the file and the problem.
    set(broken ${replay_dir}/broken)
    foreach(case
            "truncated.pcap|record 7: truncated dump file"
            "not-a-capture.pcap|cannot read it as a capture: unknown file format"
            "empty.pcap|cannot read it as a capture: truncated dump file"
            "cut-header.pcapng|cannot read it as a capture"
            "raw-ip.pcap|link type 12 (RAW) is not supported"
            "snapped.pcap|record 1 was cut to 60 of 86 bytes when captured (snap length)")
        string(REPLACE "|" ";" parts "${case}")
        list(GET parts 0 file)
        list(GET parts 1 message)
        add_test(NAME "replay: bad capture ${file} exits 2"
                 COMMAND ${expect} 2 "${broken}/${file}: ${message}"
                         -- ${gantry_bin} replay ${broken}/${file} --app echo)
        list(APPEND replay_tests "replay: bad capture ${file} exits 2")
    endforeach()
    add_test(NAME "replay: a bad filter exits 2"
             COMMAND ${expect} 2 "filter 'tcp port': can't parse filter expression"
                     -- ${gantry_bin} replay ${replay_dir}/captures/tcp.pcap --app echo --filter "tcp port")
    add_test(NAME "replay: bad options exit 2"
             COMMAND /bin/sh -c "g=${gantry_bin}; c=${replay_dir}/captures/tcp.pcap; $g replay $c 2>/dev/null; a=$?; $g replay $c --app echo --timing fast 2>/dev/null; b=$?; $g replay $c --app nosuch 2>/dev/null; d=$?; $g replay --help | grep -q 'usage: gantry replay'; e=$?; test $a -eq 2 && test $b -eq 2 && test $d -eq 2 && test $e -eq 0")
    list(APPEND replay_tests "replay: a bad filter exits 2" "replay: bad options exit 2")

    # In a scenario: a replay check that expects the altered echo to diverge
    # (scenarios/replay-echo.yaml, the matching side, runs with every scenario).
    add_test(NAME "replay: a scenario's replay check expects a divergence"
             COMMAND ${expect} 0 "replay-altered: 1 seed passed"
                     -- ${gantry_bin} sim ${PROJECT_SOURCE_DIR}/tests/scenarios/replay-altered.yaml)
    list(APPEND replay_tests "replay: a scenario's replay check expects a divergence")

    # Fresh captures made now with real tools (root: netns + tap).
    foreach(live "ping|tcpdump" "udp|any-sll2" "tcp|dumpcap" "tcp|tcpdump" "udp|gantry")
        string(REPLACE "|" ";" parts "${live}")
        list(GET parts 0 workload)
        list(GET parts 1 tool)
        add_test(NAME "replay live: ${workload} captured by ${tool}"
                 COMMAND ${replay_dir}/live-test ${workload} ${tool} ${CMAKE_BINARY_DIR})
        set_tests_properties("replay live: ${workload} captured by ${tool}" PROPERTIES TIMEOUT 60)
    endforeach()

    # Record and re-run (part 2): a hosted echo recorded over tap, re-executed.
    foreach(recorded_app echo httpd)
        if(TARGET ${recorded_app})
            add_test(NAME "replay-run: a recorded hosted ${recorded_app} re-executes identically"
                     COMMAND ${replay_dir}/record-test ${CMAKE_BINARY_DIR} ${recorded_app})
            set_tests_properties(
                "replay-run: a recorded hosted ${recorded_app} re-executes identically"
                PROPERTIES TIMEOUT 60)
        endif()
    endforeach()
    add_test(NAME "replay-run: a file that is not a recording exits 2"
             COMMAND ${expect} 2 "not a Gantry recording (no GREC magic)"
                     -- ${gantry_bin} replay-run ${replay_dir}/captures/udp.pcap)
    list(APPEND replay_tests "replay-run: a file that is not a recording exits 2")

    set_tests_properties(${replay_tests} PROPERTIES TIMEOUT 60
                         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

    # Differential runs (part 3): the same captures against echo in the
    # simulator, as a hosted process and as a VM image (QEMU, TCG), over a UDP
    # cable on the loopback; the vm cases print "skipped: <why>" without QEMU
    # or the image. tests/replay/diff-test also checks the JSON report's target
    # and that no process of the run is left behind.
    set(diff_test ${replay_dir}/diff-test)
    set(diff_tests "")
    set(diff_scenario sim:${replay_dir}/differential.yaml)
    foreach(target sim hosted vm)
        foreach(capture udp.pcap tcp.pcap ping.pcap tcp-sll2.pcap)
            add_test(NAME "replay diff: ${capture} matches echo on ${target}"
                     COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo 0
                             ${replay_dir}/captures/${capture} "result: MATCH")
            list(APPEND diff_tests "replay diff: ${capture} matches echo on ${target}")
        endforeach()
        add_test(NAME "replay diff: a simulated run's capture matches echo on ${target}"
                 COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo 0 ${diff_scenario}
                         "udp 10.0.0.2:49152 <> port 7                   20 recorded   20 node  match"
                         "icmp echo 10.0.0.4 id 5" "result: MATCH"
                         -- --timing asap)
        add_test(NAME "replay diff: altered echo diverges on TCP at byte 3 on ${target}"
                 COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo_altered 1
                         ${replay_dir}/captures/tcp.pcap
                         "the node's byte stream differs from byte 3 (recorded 2120 bytes, node sent 2120)"
                         "expected 0x65 'e', got 0x45 'E'" "result: DIVERGED")
        add_test(NAME "replay diff: altered echo diverges in a simulated run's capture on ${target}"
                 COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo_altered 1 ${diff_scenario}
                         "first divergence (different): udp 10.0.0.2:49152 <> port 7"
                         "payload differs at byte 3" "result: DIVERGED")
        # --node-ip: the node runs elsewhere; the stack checks every
        # readdressed frame's checksums, so a match means they are right.
        foreach(capture udp.pcap tcp.pcap ping-frag.pcap)
            add_test(NAME "replay diff: ${capture} with --node-ip matches echo on ${target}"
                     COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo 0
                             ${replay_dir}/captures/${capture} "node IP 10.77.0.99"
                             "result: MATCH" -- --node-ip 10.77.0.99 --timing asap)
            list(APPEND diff_tests
                 "replay diff: ${capture} with --node-ip matches echo on ${target}")
        endforeach()
        list(APPEND diff_tests
             "replay diff: a simulated run's capture matches echo on ${target}"
             "replay diff: altered echo diverges on TCP at byte 3 on ${target}"
             "replay diff: altered echo diverges in a simulated run's capture on ${target}")
    endforeach()
    # --target all: one command, three targets, a verdict. A platform
    # difference is made here by booting the altered image on the vm target
    # while sim and hosted run echo; the verdict must name the vm.
    add_test(NAME "replay diff: all targets agree on tcp.pcap"
             COMMAND ${diff_test} ${CMAKE_BINARY_DIR} all echo 0 ${replay_dir}/captures/tcp.pcap
                     "verdict: every target matches the recording" -- --timing asap)
    add_test(NAME "replay diff: all targets agree on a simulated run's capture"
             COMMAND ${diff_test} ${CMAKE_BINARY_DIR} all echo 0 ${diff_scenario}
                     "verdict: every target matches the recording" -- --timing asap --quiet)
    add_test(NAME "replay diff: the altered echo diverges the same way on every target"
             COMMAND ${diff_test} ${CMAKE_BINARY_DIR} all echo_altered 1
                     ${replay_dir}/captures/udp.pcap
                     "verdict: every target diverges the same way" -- --timing asap --quiet)
    add_test(NAME "replay diff: a different answer on one target is platform-dependent"
             COMMAND ${diff_test} ${CMAKE_BINARY_DIR} all echo 1 ${replay_dir}/captures/tcp.pcap
                     "  vm      DIVERGED  different: tcp 10.77.0.1:53016 <> port 7"
                     "verdict: PLATFORM-DEPENDENT: the targets disagree (sim, hosted match; vm diverges: different)"
                     -- --timing asap --quiet --image ${CMAKE_BINARY_DIR}/images/echo_altered.elf)
    list(APPEND diff_tests "replay diff: all targets agree on tcp.pcap"
         "replay diff: all targets agree on a simulated run's capture"
         "replay diff: the altered echo diverges the same way on every target"
         "replay diff: a different answer on one target is platform-dependent")

    # The live targets are bounded and clean up after a failure.
    foreach(target hosted vm)
        add_test(NAME "replay diff: an app that never gets ready ends the ${target} run in time"
                 COMMAND ${diff_test} ${CMAKE_BINARY_DIR} ${target} echo 1
                         ${replay_dir}/captures/udp.pcap "first divergence (node-failed)"
                         "printed no line with 'no such line'" "result: DIVERGED"
                         -- --ready "no such line" --timeout 3)
        add_test(NAME "replay diff: Ctrl-C stops the ${target} app and reaps it"
                 COMMAND ${replay_dir}/interrupt-test ${CMAKE_BINARY_DIR} ${target})
        list(APPEND diff_tests
             "replay diff: an app that never gets ready ends the ${target} run in time"
             "replay diff: Ctrl-C stops the ${target} app and reaps it")
    endforeach()
    if(TARGET hello)
        add_test(NAME "replay diff: a hosted app that exits before it serves is a node failure"
                 COMMAND ${diff_test} ${CMAKE_BINARY_DIR} hosted hello 1
                         ${replay_dir}/captures/udp.pcap "first divergence (node-failed)"
                         "the app exited with status 0 before it was ready")
        list(APPEND diff_tests
             "replay diff: a hosted app that exits before it serves is a node failure")
    endif()
    add_test(NAME "replay diff: a bad target or a missing binary exits 2"
             COMMAND /bin/sh -c "g=${gantry_bin}; c=${replay_dir}/captures/udp.pcap; $g replay $c --app echo --target cloud 2>/dev/null; a=$?; $g replay $c --app echo --target hosted --bin-dir /nonexistent > out.txt 2>&1; b=$?; grep -q 'no hosted binary for app' out.txt; m=$?; test $a -eq 2 && test $b -eq 2 && test $m -eq 0")
    list(APPEND diff_tests "replay diff: a bad target or a missing binary exits 2")
    set_tests_properties(${diff_tests} PROPERTIES TIMEOUT 60
                         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endif()
