# shellcheck shell=bash disable=SC2016 # container scripts in single quotes
# `ctr run -t`: the container's output comes through the terminal and its
# exit status is returned; ctr's window size reaches the container pty
# (ResizePty at start: 33x111), and so does a later resize of ctr's
# terminal (SIGWINCH -> ResizePty: 44x122).  ctr needs a terminal itself,
# so it runs under ptyrun.py.

pty() {
	python3 "$LIB_DIR/ptyrun.py" -t $((30 * ${SLOW:-1})) "$@"
}
run_t() { # <id>: RUN_T, the ctr run -t command line up to the id
	runtime_flags "$1"
	RUN_T=("${CTR[@]}" run "${RUNTIME_FLAGS[@]}" --fifo-dir "$D/fifo"
		--env PATH=/bin --rm -t --rootfs "$ROOTFS" "$1")
}

run_t ty1
out=$(pty -- "${RUN_T[@]}" sh -c 'echo hello-from-tty; tty; exit 4')
assert_eq 4 $? "exit status of run -t"
assert_contains "$out" "hello-from-tty" "output through the terminal"
assert_contains "$out" "/dev/pts/" "init has a pty"

# ctr sends its size just after Start, so wait until it is there.
# (busybox stty fails, or prints nothing, while the size is 0x0.)
script='size() { stty size 2>/dev/null; }
until s=$(size); [ -n "$s" ] && [ "$s" != "0 0" ]; do sleep 0.05; done
echo "INIT $s"
while [ "$(size)" = "$s" ]; do sleep 0.05; done
echo "NEW $(size)"'
run_t ty2
out=$(pty -s 33x111 -r 44x122 -w INIT -- "${RUN_T[@]}" sh -c "$script")
assert_eq 0 $? "exit status of resize run"
assert_contains "$out" "INIT 33 111" "initial size"
assert_contains "$out" "NEW 44 122" "size after resize"

no_leftovers ty1
no_leftovers ty2
