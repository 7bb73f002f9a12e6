# shellcheck shell=bash
# A command that does not exist: `ctr run --rm` fails with runc's own
# message behind the shim's "OCI runtime create failed" prefix (Docker
# derives 126/127 from those words), and nothing is left: no shim, mount,
# process, cgroup, socket, bundle or container record.

out=$(ctr_run --rm nx1 /nonexistent 2>&1)
assert_ne 0 $? "run of /nonexistent fails"
assert_contains "$out" "OCI runtime create failed" "error prefix"
assert_contains "$out" "/nonexistent" "error names the binary"
assert_contains "$out" "no such file or directory" "runc's reason"

out=$(ctr_run --rm nx2 nonexistent 2>&1)
assert_ne 0 $? "run of a command not in PATH fails"
assert_contains "$out" "executable file not found" "runc's reason (PATH)"

# ctr may leave the container record when the task cannot be created.
for id in nx1 nx2; do
	ctr_ns container rm "$id" >/dev/null 2>&1
	assert_eq "" "$(task_status "$id")" "no task $id"
	no_leftovers "$id"
done

# The same id works afterwards.
ctr_run --rm nx1 true
assert_eq 0 $? "the id is free again"
no_leftovers nx1
