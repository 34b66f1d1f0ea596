# `gantry boot` (issue 9): boots images under QEMU TCG through the workbench, checks
# the decoded exit code, the fault path, --dry-run, the timeout and bad input.
# Only where images are built; each check prints "skipped: ..." and passes when
# qemu-system-x86_64 is not installed (CI runners without QEMU).
if(TARGET hello_image)
    set(GANTRY_BOOT_TEST_DIR ${CMAKE_CURRENT_BINARY_DIR}/boot)
    file(MAKE_DIRECTORY ${GANTRY_BOOT_TEST_DIR})
    set(GANTRY_BOOT_NEEDS_QEMU
        "if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then echo 'skipped: qemu-system-x86_64 is not installed'; exit 0; fi")

    # gantry_boot_check(NAME SCRIPT): a POSIX shell snippet with $GANTRY the tool,
    # run in a scratch directory; it must exit 0.
    function(gantry_boot_check name script)
        add_test(NAME "boot tool: ${name}"
                 COMMAND /bin/sh -c "set -u; ${GANTRY_BOOT_NEEDS_QEMU}; ${script}"
                 WORKING_DIRECTORY ${GANTRY_BOOT_TEST_DIR})
        # QEMU's own deadline is 30 s at most; ctest's is a backstop.
        set_tests_properties("boot tool: ${name}" PROPERTIES
            ENVIRONMENT "GANTRY=$<TARGET_FILE:gantry>" TIMEOUT 60)
    endfunction()

    gantry_boot_check("hello boots under TCG and exits 0"
        "$GANTRY boot hello --tcg --timeout 30 > out.txt 2> err.txt; s=$?; cat out.txt err.txt; test $s -eq 0 && grep -q 'Gantry hello: node 0, platform x86_64-pvh' out.txt && grep -q 'gantry: app hello exited with code 0' out.txt")
    gantry_boot_check("dry-run prints the QEMU command with -accel tcg"
        "$GANTRY boot hello --tcg --dry-run > dry.txt; s=$?; cat dry.txt; test $s -eq 0 && grep -q -- '-M microvm -accel tcg' dry.txt && grep -q 'isa-debug-exit,iobase=0xf4' dry.txt && grep -q -- '-kernel .*hello.elf' dry.txt")
    gantry_boot_check("a hung guest is killed at the timeout"
        "$GANTRY boot hello --tcg --timeout 2 -- -S > /dev/null 2> hang.txt; s=$?; cat hang.txt; test $s -eq 1 && grep -q 'timed out after 2 s' hang.txt")
    gantry_boot_check("the default probes KVM and says what it uses"
        "$GANTRY boot hello --timeout 30 > /dev/null 2> probe.txt; s=$?; cat probe.txt; test $s -eq 0 && grep -Eq '^kvm: (works|not usable here \\(.*\\), using TCG)' probe.txt")
    gantry_boot_check("a missing image gives exit 2 and a build hint"
        "$GANTRY boot no_such_app 2> missing.txt; s=$?; cat missing.txt; test $s -eq 2 && grep -q 'no image for app' missing.txt && grep -q 'cmake --build --preset dev' missing.txt")
    gantry_boot_check("bad --net, --disk and kernel options are exit 2 with a reason"
        "$GANTRY boot hello --net tap 2> net.txt; a=$?; $GANTRY boot hello --disk no-such.img 2> disk.txt; b=$?; $GANTRY boot hello --ip 10.0.0.300 2> ip.txt; c=$?; $GANTRY boot hello --net wifi 2> kind.txt; d=$?; cat net.txt disk.txt ip.txt kind.txt; test $a -eq 2 && test $b -eq 2 && test $c -eq 2 && test $d -eq 2 && grep -q 'needs ifname=IF' net.txt && grep -q 'does not exist' disk.txt && grep -q 'not an IPv4 address' ip.txt && grep -q \"unknown kind 'wifi'\" kind.txt")
    gantry_boot_check("--dry-run shows the virtio devices and the guest's command line"
        "truncate -s 1M d.img && $GANTRY boot hello --tcg --dry-run --net user --disk d.img,ro --ip 10.0.2.15/24 --append '-- x' > cmd.txt; s=$?; cat cmd.txt; test $s -eq 0 && grep -q 'virtio-net-device,netdev=net0' cmd.txt && grep -q 'format=raw,readonly=on' cmd.txt && grep -q 'virtio-blk-device,drive=disk0' cmd.txt && grep -q 'virtio-mmio.force-legacy=false' cmd.txt && grep -qF -- \"-append '--ip 10.0.2.15/24 -- x'\" cmd.txt")
    if(TARGET crash_image)
        gantry_boot_check("a faulting guest exits non-zero and says so"
            "$GANTRY boot crash --tcg --timeout 30 > crash.txt 2>&1; s=$?; cat crash.txt; test $s -ne 0 && grep -q 'CPU exception 14 (page fault)' crash.txt && grep -q 'guest panicked or faulted' crash.txt")
    endif()
endif()
