# Architecture checks and the hosted hello app's command-line behaviour.
find_program(GANTRY_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT GANTRY_PYTHON)
    find_program(GANTRY_PYTHON python3)
endif()

add_test(NAME "layers: dependency rule holds"
         COMMAND ${GANTRY_PYTHON} ${PROJECT_SOURCE_DIR}/scripts/check-layers.py)
add_test(NAME "layers: freestanding core needs no OS"
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-freestanding
                 $<TARGET_FILE:gantry_core_freestanding>)

add_test(NAME "hello: runs and exits 0" COMMAND hello)
set_tests_properties("hello: runs and exits 0" PROPERTIES TIMEOUT 30
    PASS_REGULAR_EXPRESSION "boot phases:.*round 5 done.*memory: .*hello: done")
add_test(NAME "hello: --help" COMMAND hello --help)
set_tests_properties("hello: --help" PROPERTIES PASS_REGULAR_EXPRESSION "usage: .*--trace FILE")
add_test(NAME "hello: unknown option message"
         COMMAND sh -c "$<TARGET_FILE:hello> --trcae x 2>&1; test $? -eq 2")
set_tests_properties("hello: unknown option message" PROPERTIES
    PASS_REGULAR_EXPRESSION "did you mean --trace")
add_test(NAME "hello: bad --mem exits 2"
         COMMAND sh -c "$<TARGET_FILE:hello> --mem lots 2>&1; test $? -eq 2")
set_tests_properties("hello: bad --mem exits 2" PROPERTIES
    PASS_REGULAR_EXPRESSION "--mem: 'lots' is not a size")
add_test(NAME "hello: unwritable trace path exits 2"
         COMMAND sh -c "$<TARGET_FILE:hello> --trace /nonexistent/dir/t.gtrace 2>&1; test $? -eq 2")
set_tests_properties("hello: unwritable trace path exits 2" PROPERTIES
    PASS_REGULAR_EXPRESSION "cannot open trace file")
add_test(NAME "hello: too little memory fails to boot with advice"
         COMMAND sh -c "$<TARGET_FILE:hello> --mem 64K 2>&1; test $? -eq 70")
set_tests_properties("hello: too little memory fails to boot with advice" PROPERTIES
    PASS_REGULAR_EXPRESSION "raise --mem")

# --disk: a file becomes block device 0; bad files are refused before booting.
add_test(NAME "hello: --disk attaches a file as disk 0"
         COMMAND sh -c "d=$(mktemp -d) && truncate -s 1M $d/disk.img && \
                        $<TARGET_FILE:hello> --disk $d/disk.img,ro 2>&1; s=$?; rm -rf $d; exit $s")
set_tests_properties("hello: --disk attaches a file as disk 0" PROPERTIES TIMEOUT 30
    PASS_REGULAR_EXPRESSION "disk 0: 2048 sectors of 512 bytes \\(read-only\\).*hello: done")
add_test(NAME "hello: --disk of a size not a multiple of 512 exits 2"
         COMMAND sh -c "d=$(mktemp -d) && printf abc > $d/odd.img && \
                        $<TARGET_FILE:hello> --disk $d/odd.img 2>&1; s=$?; rm -rf $d; test $s -eq 2")
set_tests_properties("hello: --disk of a size not a multiple of 512 exits 2" PROPERTIES
    PASS_REGULAR_EXPRESSION "is 3 bytes, not a positive multiple of 512")
add_test(NAME "hello: --disk of a missing file exits 2"
         COMMAND sh -c "$<TARGET_FILE:hello> --disk /nonexistent/disk.img 2>&1; test $? -eq 2")
set_tests_properties("hello: --disk of a missing file exits 2" PROPERTIES
    PASS_REGULAR_EXPRESSION "cannot open '/nonexistent/disk.img'")
