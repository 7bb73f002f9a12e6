# shellcheck shell=bash
# --log-uri file:///abs/path: stdout and stderr both go to that file, its
# directory is created, and a second run appends; a fast stream arrives
# whole and in order.

log="$T/logs/sub/out.log"
ctr_run --rm --log-uri="file://$log" lf1 sh -c 'echo out1; echo err1 >&2; exit 4'
assert_eq 4 $? "exit status"
assert_eventually 5 "log has both lines" grep -q err1 "$log"
assert_eq $'err1\nout1' "$(sort "$log")" "log content"

ctr_run --rm --log-uri="file://$log" lf2 sh -c 'echo out2'
assert_eq 0 $? "exit status (second run)"
assert_eventually 5 "second run appended" grep -q out2 "$log"
assert_eq 3 "$(wc -l <"$log")" "appended, not truncated"
no_leftovers lf1
no_leftovers lf2

# A fast stream (about 15 MB from seq, fast enough to switch the shim to
# timer-driven copying in big reads: the file is O_APPEND, which splice
# refuses) arrives whole and in order after a line of stderr.
log2="$T/logs/stream.log"
N=2000000
ctr_run --rm --log-uri="file://$log2" lf3 sh -c "echo start >&2; sleep 0.5; seq 1 $N"
assert_eq 0 $? "exit status (stream)"
want=$({ echo start; seq 1 "$N"; } | md5sum | cut -d' ' -f1)
got() { md5sum <"$log2" | cut -d' ' -f1; }
assert_eventually 10 "streamed log complete" test "$(got)" = "$want"
assert_eq "$want" "$(got)" "streamed log: every line, in order (md5)"
no_leftovers lf3
