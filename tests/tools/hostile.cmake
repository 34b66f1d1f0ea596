# Hostile peers from Linux against the hosted echo over tap (issues 4 and 10):
# a SYN flood, odd flag combinations and fragments (hping3), out-of-window RSTs
# and SYNs against an established connection (scapy), and nmap scans. After
# each, a real TCP echo through socat must still work. scripts/hostile-test
# makes and always removes its own namespace; it prints "skipped: <why>" and
# passes without root, /dev/net/tun or the peer tool.
if(TARGET echo)
    foreach(hostile_test syn-flood odd-segments tcp-abuse nmap)
        add_test(NAME "hostile peer: ${hostile_test}"
                 COMMAND ${PROJECT_SOURCE_DIR}/scripts/hostile-test ${hostile_test}
                         ${CMAKE_BINARY_DIR})
        set_tests_properties("hostile peer: ${hostile_test}" PROPERTIES TIMEOUT 120
            FAIL_REGULAR_EXPRESSION "FAIL:")
    endforeach()
endif()
