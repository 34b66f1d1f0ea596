# The hosted apps under valgrind's leak check with real traffic over user
# networking (scripts/leak-test): no block definitely, indirectly or possibly
# lost after a clean SIGTERM stop. About 35 s of CPU for the four together.
foreach(app hello echo httpd kv)
    add_test(NAME "leaks: ${app} under valgrind, with traffic"
             COMMAND ${PROJECT_SOURCE_DIR}/scripts/leak-test ${CMAKE_BINARY_DIR} ${app})
    set_tests_properties("leaks: ${app} under valgrind, with traffic" PROPERTIES TIMEOUT 240)
endforeach()
