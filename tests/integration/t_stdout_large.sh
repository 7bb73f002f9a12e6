# shellcheck shell=bash
# stdout and stderr arrive separately and exactly: 1 MiB of a
# deterministic pattern on stdout (sha256 compared with the same pattern
# made on the host) plus 64 KiB on stderr, first one after the other and
# then both written at the same time.

pattern() { # <line> <bytes>
	yes "$1" | head -c "$2"
}

pattern 0123456789abcdef 1048576 >"$T/want.out"
pattern err-line 65536 >"$T/want.err"

ctr_run --rm big1 sh -c \
	'yes 0123456789abcdef | head -c 1048576; yes err-line | head -c 65536 >&2' \
	>"$T/got.out" 2>"$T/got.err"
assert_eq 0 $? "exit status"
assert_eq 1048576 "$(wc -c <"$T/got.out")" "stdout size"
assert_eq "$(sha256sum <"$T/want.out")" "$(sha256sum <"$T/got.out")" "stdout sha256"
assert_file_eq "$T/want.err" "$T/got.err" "stderr"

# Both streams at once: the shim must copy them concurrently.
pattern err-line 1048576 >"$T/want2.err"
ctr_run --rm big2 sh -c \
	'yes err-line | head -c 1048576 >&2 & yes 0123456789abcdef | head -c 1048576; wait' \
	>"$T/got2.out" 2>"$T/got2.err"
assert_eq 0 $? "exit status (concurrent)"
assert_file_eq "$T/want.out" "$T/got2.out" "stdout (concurrent)"
assert_file_eq "$T/want2.err" "$T/got2.err" "stderr (concurrent)"

no_leftovers big1
no_leftovers big2
