# Boot tests of the bootable images (issue 9): each boots an image under QEMU
# microvm with TCG through scripts/boot-test, which checks the serial console and
# QEMU's exit status, and prints "skipped: ..." when QEMU is not installed.
# Images exist only where cmake/Image.cmake can build them.
set(GANTRY_BOOT_TEST ${PROJECT_SOURCE_DIR}/scripts/boot-test)

if(TARGET trivial_image)
    add_test(NAME "image: trivial boots and exits 0"
             COMMAND ${GANTRY_BOOT_TEST} $<TARGET_FILE:trivial_image> --status 1
                     --expect "gantry: trivial image")
endif()

if(TARGET hello_image)
    # App exit code 0 -> isa-debug-exit value 0 -> QEMU status 1.
    add_test(NAME "image: hello boots, runs its fibers and exits 0"
             COMMAND ${GANTRY_BOOT_TEST} $<TARGET_FILE:hello_image> --status 1
                     --expect "gantry: x86_64-pvh image, app hello"
                     --expect "Gantry hello: node 0, platform x86_64-pvh"
                     --expect "boot phases:"
                     --expect "machine"
                     --expect "memory"
                     --expect "app start"
                     --expect "round 5 done"
                     --expect "hello: done"
                     --expect "gantry: app hello exited with code 0")
endif()

if(TARGET crash_image)
    # A null dereference: register dump, backtrace, panic status 255, no hang.
    add_test(NAME "image: a null dereference prints a register dump and exits non-zero"
             COMMAND ${GANTRY_BOOT_TEST} $<TARGET_FILE:crash_image> --status 255
                     --expect "crash: dereferencing a null pointer"
                     --expect "*** CPU exception 14 (page fault)"
                     --expect "cr2 0x0000000000000000"
                     --expect "rip 0x"
                     --expect "backtrace")
endif()

foreach(test_name "image: trivial boots and exits 0"
                  "image: hello boots, runs its fibers and exits 0"
                  "image: a null dereference prints a register dump and exits non-zero")
    if(TEST "${test_name}")
        # QEMU's own timeout is 30 s; ctest's is a backstop.
        set_tests_properties("${test_name}" PROPERTIES TIMEOUT 60)
    endif()
endforeach()

# Images on devices (virtio-net on a tap in a private netns, virtio-blk on a
# file) against Linux peers: scripts/vm-net-test. They need the gantry binary
# (gantry boot, gantry mkimage) and the app images.
if(TARGET httpd_image AND TARGET kv_image)
    foreach(vm_test httpd kv-power-off)
        add_test(NAME "image: ${vm_test} over virtio-net and virtio-blk"
                 COMMAND ${PROJECT_SOURCE_DIR}/scripts/vm-net-test ${vm_test} ${CMAKE_BINARY_DIR})
        set_tests_properties("image: ${vm_test} over virtio-net and virtio-blk" PROPERTIES
                             TIMEOUT 150 SKIP_REGULAR_EXPRESSION "^skipped:")
    endforeach()
    # Transmit checksum and segmentation offload on a tap with a vnet header
    # (QEMU offers VIRTIO_NET_F_CSUM and HOST_TSO4) and without (it does not):
    # tshark checks every checksum after Linux forwarded the frames
    # (scripts/vm-net-test).
    foreach(vm_test httpd-offload httpd-plain)
        add_test(NAME "image: ${vm_test} over virtio-net, checksums checked by tshark"
                 COMMAND ${PROJECT_SOURCE_DIR}/scripts/vm-net-test ${vm_test} ${CMAKE_BINARY_DIR})
        set_tests_properties("image: ${vm_test} over virtio-net, checksums checked by tshark"
                             PROPERTIES TIMEOUT 150 SKIP_REGULAR_EXPRESSION "^skipped:")
    endforeach()
    # The same drivers over virtio-pci on QEMU's pc machine.
    add_test(NAME "image: httpd over virtio-pci on the pc machine"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/vm-net-test httpd ${CMAKE_BINARY_DIR} pc)
    set_tests_properties("image: httpd over virtio-pci on the pc machine" PROPERTIES
                         TIMEOUT 150 SKIP_REGULAR_EXPRESSION "^skipped:")
    add_test(NAME "image: httpd-offload over virtio-pci on the pc machine"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/vm-net-test httpd-offload ${CMAKE_BINARY_DIR} pc)
    set_tests_properties("image: httpd-offload over virtio-pci on the pc machine" PROPERTIES
                         TIMEOUT 150 SKIP_REGULAR_EXPRESSION "^skipped:")
endif()

# A booted image's trace, written over the second serial port by
# `gantry boot --trace`, reads like any other trace.
if(TARGET hello_image AND TARGET gantry)
    add_test(NAME "image: hello's trace over COM2 is a readable trace"
             COMMAND sh -c "command -v qemu-system-x86_64 > /dev/null || { echo 'skipped: no QEMU'; exit 0; }; \
d=$(mktemp -d) && trap 'rm -rf $d' EXIT && \
$<TARGET_FILE:gantry> boot hello --tcg --timeout 60 --trace $d/hello.gtrace > $d/console.txt && \
$<TARGET_FILE:gantry> trace dump $d/hello.gtrace > $d/dump.txt && \
grep -q 'node_info app=\"hello\" platform=\"x86_64-pvh\"' $d/dump.txt && \
grep -q 'fiber_switch' $d/dump.txt && grep -q 'kernel_exit' $d/dump.txt")
    set_tests_properties("image: hello's trace over COM2 is a readable trace" PROPERTIES
                         TIMEOUT 90 SKIP_REGULAR_EXPRESSION "^skipped:")
endif()

# The image's clock (TSC and APIC timer calibrations) against the host's: httpd's
# 6 s idle timeout, timed by a host client over user networking.
if(TARGET httpd_image AND TARGET gantry)
    add_test(NAME "image: the guest's timers keep the host's time (httpd idle timeout)"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/boot-clock-test ${CMAKE_BINARY_DIR})
    set_tests_properties("image: the guest's timers keep the host's time (httpd idle timeout)"
                         PROPERTIES TIMEOUT 90 SKIP_REGULAR_EXPRESSION "^skipped:")
endif()
