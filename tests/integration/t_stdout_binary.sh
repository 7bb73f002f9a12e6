# shellcheck shell=bash
# Arbitrary bytes, all 256 values (repeated, in every position mod 256),
# pass byte-exact through stdout and through stderr.

bin="$ROOTFS/tmp/$TEST_NAME.$$.bin"
for i in $(seq 0 255); do
	# shellcheck disable=SC2059 # the format is the byte
	printf "\\$(printf '%03o' "$i")"
done >"$T/bytes"
for i in 1 2 3 4 5 6 7 8; do cat "$T/bytes"; done >"$bin"
head -c 1000 "$T/bytes" >>"$bin"
assert_eq $((8 * 256 + 256)) "$(wc -c <"$bin")" "test file size"

ctr_run --rm bin1 cat "/tmp/${bin##*/}" >"$T/got.out"
assert_eq 0 $? "exit status (stdout)"
assert_file_eq "$bin" "$T/got.out" "binary stdout"

ctr_run --rm bin2 sh -c "cat /tmp/${bin##*/} >&2" 2>"$T/got.err"
assert_eq 0 $? "exit status (stderr)"
assert_file_eq "$bin" "$T/got.err" "binary stderr"

rm -f "$bin"
no_leftovers bin1
no_leftovers bin2
