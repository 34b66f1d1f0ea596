# gantry mkimage: the same tree gives the same bytes, --list verifies with the
# kernel's reader, and bad input is exit 2 with a message.
if(TARGET gantry)
    set(mk $<TARGET_FILE:gantry>)
    add_test(NAME "mkimage: the same tree gives the same bytes, and --list verifies it"
             COMMAND /bin/sh -c "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; mkdir -p $d/t/css; echo hi > $d/t/index.html; echo x > $d/t/css/a.css; : > $d/t/empty; head -c 70000 /dev/urandom > $d/t/blob; ${mk} mkimage $d/t $d/a.img; touch $d/t/css/a.css; ${mk} mkimage $d/t $d/b.img; cmp $d/a.img $d/b.img; ${mk} mkimage --list $d/a.img | grep -q '4 files, 70005 bytes of data.*all checksums ok'")
    add_test(NAME "mkimage: a missing directory, a non-image and a corrupt file are exit 2"
             COMMAND /bin/sh -c "d=$(mktemp -d); trap 'rm -rf $d' EXIT; mkdir $d/t; head -c 9000 /dev/urandom > $d/t/f; ${mk} mkimage $d/t $d/a.img > /dev/null || exit 1; ${mk} mkimage $d/nope $d/x.img 2> $d/e1; s1=$?; ${mk} mkimage --list $d/t/f 2> $d/e2; s2=$?; printf 'Z' | dd of=$d/a.img bs=1 seek=8200 conv=notrunc 2> /dev/null; ${mk} mkimage --list $d/a.img 2> $d/e3; s3=$?; test $s1 -eq 2 && grep -q 'is not a directory' $d/e1 && test $s2 -eq 2 && grep -q 'not a gantryfs image' $d/e2 && test $s3 -eq 2 && grep -q 'does not match its checksum' $d/e3")
    set_tests_properties("mkimage: the same tree gives the same bytes, and --list verifies it"
                         "mkimage: a missing directory, a non-image and a corrupt file are exit 2"
                         PROPERTIES TIMEOUT 30)
endif()
