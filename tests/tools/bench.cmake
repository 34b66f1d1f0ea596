# bench/run's smoke mode: every peer comparison runs once at small sizes and
# the table comes out with a ratio in every row that is not skipped (peers not
# installed print "skipped: why"). The figures themselves are not judged here.
add_test(NAME "bench/run --quick prints the ratio table"
         COMMAND sh -c "if [ ! -x ${CMAKE_BINARY_DIR}/bin/gantry-bench ]; then \
echo 'skipped: gantry-bench is not built in this preset'; exit 0; fi; \
out=$(mktemp) && ${PROJECT_SOURCE_DIR}/bench/run --quick \
--build ${CMAKE_BINARY_DIR} > $out 2>&1; s=$?; cat $out; test $s -eq 0 && \
grep -q '^| TCP bulk in memory' $out && grep -q '^| heap alloc+free 64 B' $out && \
grep -q '^| simulate 10 MB over TCP, 10 Gbit/s' $out && \
! grep -q 'nan' $out; r=$?; rm -f $out; exit $r")
set_tests_properties("bench/run --quick prints the ratio table" PROPERTIES TIMEOUT 300)
