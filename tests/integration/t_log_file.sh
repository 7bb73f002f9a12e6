# shellcheck shell=bash
# --log-uri file:///abs/path: stdout and stderr both go to that file, its
# directory is created, and a second run appends.

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
