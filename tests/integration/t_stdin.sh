# shellcheck shell=bash
# stdin reaches the container: text, all 256 byte values, and 1 MiB of
# random data come back from `cat` byte-exact, and a checksum computed
# inside the container matches; the container sees EOF when ctr's stdin
# ends (ctr then sends CloseIO).  Input is released only once the task
# runs, to dodge a ctr race (see stdin_after_start in lib.sh).

printf 'hello\nworld\n' >"$T/text"
out=$(stdin_after_start in1 "$T/text" | ctr_run --rm in1 cat)
assert_eq $'hello\nworld' "$out" "text through cat"

for i in $(seq 0 255); do
	# shellcheck disable=SC2059 # the format is the byte
	printf "\\$(printf '%03o' "$i")"
done >"$T/bytes"
stdin_after_start in2 "$T/bytes" | ctr_run --rm in2 cat >"$T/bytes.out"
assert_eq 0 $? "exit status (bytes)"
assert_file_eq "$T/bytes" "$T/bytes.out" "all byte values"

head -c 1048576 /dev/urandom >"$T/rand"
stdin_after_start in3 "$T/rand" | ctr_run --rm in3 cat >"$T/rand.out"
assert_eq 0 $? "exit status (1 MiB)"
assert_file_eq "$T/rand" "$T/rand.out" "1 MiB through cat"

want=$(sha256sum <"$T/rand")
got=$(stdin_after_start in4 "$T/rand" | ctr_run --rm in4 sha256sum)
assert_eq "${want%% *}" "${got%% *}" "sha256 computed in the container"

got=$(stdin_after_start in5 /dev/null | ctr_run --rm in5 wc -c)
assert_eq 0 "${got// /}" "empty stdin gives EOF"

for id in in1 in2 in3 in4 in5; do
	no_leftovers "$id"
done
