# Limits a hosted app takes from its command line (docs/limits.md).
add_test(NAME "hosted: --log-rate drops log lines beyond the rate"
         COMMAND sh -c "all=$($<TARGET_FILE:hello> --log-rate 0 2>&1 | grep -c ': ') && \
few=$($<TARGET_FILE:hello> --log-rate 2 2>&1 | grep -c ': ') && echo \"$all lines, $few with --log-rate 2\" \
&& test $few -lt $all")
add_test(NAME "hosted: a bad --log-rate exits 2 with a message"
         COMMAND sh -c "$<TARGET_FILE:hello> --log-rate many 2> err.txt; s=$?; cat err.txt; \
test $s -eq 2 && grep -q 'log-rate' err.txt")
