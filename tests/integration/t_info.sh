# shellcheck shell=bash
# `SHIM -info` (containerd 2.x's binary contract, spec 1.1): with the
# runtime options on stdin (or none) the shim prints an encoded
# containerd.types.RuntimeInfo: its name and version, the options echoed
# (type containerd.runc.v1.Options, bare or type.googleapis.com/ on input),
# and the OCI runtime's `features` JSON in an Any typed
# types.containerd.io/opencontainers/runtime-spec/1/features/Features.
# Checked against `runc features` itself and, when Debian sid's
# containerd 2.x is unpacked (make suites), against its Go shim's output
# for the same input: same features bytes, same options, the same
# failures (an options Any of another type, a runtime binary not found).
# With containerd 2.x running the suite, `ctr plugins inspect-runtime
# --runtime $SHIM` shows it (runc's features included).

GO2=${GO2_SHIM:-$LIB_DIR/../../build/suites/sid/usr/bin/containerd-shim-runc-v2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DEC=$LIB_DIR/info_decode.py
RUNC=$(command -v runc)

"$SHIM" -info </dev/null >"$T/none.bin" 2>"$T/none.err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'flag provided but not defined: -info' "$T/none.err"; then
	skip "$("$SHIM" -v | sed -n 's/^ *Version: *//p') of $SHIM has no -info (containerd 2.0 added it)"
fi
assert_eq 0 "$rc" "-info exit status ($(cat "$T/none.err"))" || exit 1

# Inputs: runc's options under both type URLs, crun's, a missing binary,
# an Any of another type.
"$PY" "$DEC" --options containerd.runc.v1.Options "$RUNC" >"$T/opts.in"
"$PY" "$DEC" --options type.googleapis.com/containerd.runc.v1.Options \
	"$RUNC" >"$T/optsg.in"
"$PY" "$DEC" --options containerd.runc.v1.Options crun >"$T/crun.in"
"$PY" "$DEC" --options containerd.runc.v1.Options /nonexistent/runc >"$T/nobin.in"
"$PY" "$DEC" --any containerd.runc.v1.CheckpointOptions 0801 >"$T/other.in"

# run_info <shim> <prefix>: -info for every input; .bin, .rc and .err.
run_info() {
	local f in
	for f in none opts optsg crun nobin other; do
		in=$T/$f.in
		[ "$f" = none ] && in=/dev/null
		"$1" -info <"$in" >"$T/$2$f.bin" 2>"$T/$2$f.err"
		echo $? >"$T/$2$f.rc"
	done
}
field() { # <file> <name>
	sed -n "s/^$2=//p" "$T/$1.bin.txt"
}

run_info "$SHIM" ""
"$PY" "$DEC" "$T/none.bin" "$T/opts.bin" "$T/optsg.bin" "$T/crun.bin"
assert_eq 0 $? "RuntimeInfo decodes" || exit 1

if is_nanoshim; then
	assert_eq io.containerd.nanoshim.v2 "$(field none name)" "name"
else
	assert_eq io.containerd.runc.v2 "$(field none name)" "name"
fi
assert_eq "$("$SHIM" -v | sed -n 's/^ *Version: *//p')" \
	"$(field none version)" "version (as -v prints it)"
assert_eq 0 "$(field none has_options)" "no options without stdin"
assert_eq 1 "$(field none has_features)" "features present (runc has them)"
assert_eq types.containerd.io/opencontainers/runtime-spec/1/features/Features \
	"$(field none features_url)" "features type URL"
# The same document runc prints, re-encoded without blanks.
want=$(runc features | "$PY" -c 'import json, sys, hashlib
print(hashlib.sha256(json.dumps(json.load(sys.stdin),
    separators=(",", ":")).encode()).hexdigest())')
assert_eq "$want" "$(field none features_sha256)" "features = runc features"
assert_eq "" "$(field none annotations)" "annotations"

# Options{binary_name (6) = $RUNC}, as hex.
val=32$(printf '%02x' "${#RUNC}")$(printf '%s' "$RUNC" | od -An -v -tx1 | tr -d ' \n')
for f in opts optsg; do
	assert_eq 0 "$(cat "$T/$f.rc")" "-info with options ($f): $(cat "$T/$f.err")"
	assert_eq containerd.runc.v1.Options "$(field $f options_url)" \
		"options type URL echoed ($f)"
	assert_eq "$val" "$(field $f options_hex)" "options echoed ($f)"
	assert_eq "$want" "$(field $f features_sha256)" "features of $RUNC ($f)"
done

# A runtime without `features` (Debian 12's crun): no features, no error.
if command -v crun >/dev/null && ! crun features >/dev/null 2>&1; then
	assert_eq 0 "$(cat "$T/crun.rc")" "-info for crun: $(cat "$T/crun.err")"
	assert_eq 0 "$(field crun has_features)" "no features from $(crun --version | head -1)"
	assert_eq 1 "$(field crun has_options)" "crun's options echoed"
fi

# Failures: exit 1 and the reason on stderr.
assert_eq 1 "$(cat "$T/nobin.rc")" "-info with a missing runtime binary"
assert_contains "$(cat "$T/nobin.err")" \
	'failed to look up the path of "/nonexistent/runc"' "its reason"
assert_eq 1 "$(cat "$T/other.rc")" "-info with options of another type"
assert_contains "$(cat "$T/other.err")" "failed to read runtime options" \
	"its reason"

# The Go shim of containerd 2.x, for the same inputs.
if [ -x "$GO2" ] && [ "$(readlink -f "$GO2")" != "$(readlink -f "$SHIM")" ]; then
	run_info "$GO2" go-
	"$PY" "$DEC" "$T/go-none.bin" "$T/go-opts.bin" "$T/go-optsg.bin" \
		"$T/go-crun.bin"
	for f in none opts optsg crun nobin other; do
		assert_eq "$(cat "$T/go-$f.rc")" "$(cat "$T/$f.rc")" \
			"exit status ($f): ours vs the Go 2.x shim"
		[ -e "$T/$f.bin.txt" ] || continue
		for k in has_options options_url options_hex has_features \
			features_url features_sha256 annotations; do
			assert_eq "$(field "go-$f" "$k")" "$(field "$f" "$k")" \
				"$k ($f): ours vs the Go 2.x shim"
		done
	done
else
	log "note: no Go shim of containerd 2.x at $GO2 (make suites): no cross-check"
fi

# containerd 2.x asks the shim itself (introspection PluginInfo).
if ctrd_at_least 2 0; then
	out=$("$CTR_BIN" --address "$CTR_ADDR" plugins inspect-runtime \
		--runtime "$SHIM" 2>&1)
	assert_eq 0 $? "ctr plugins inspect-runtime: $out"
	printf '%s\n' "$out" >"$T/inspect.json"
	got=$("$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["Name"], d["Version"]["Version"], d["Features"]["ociVersionMax"],
      "hooks" in d["Features"])' "$T/inspect.json" 2>&1)
	assert_eq "$(field none name) $(field none version) $(field none features_ociVersionMax) True" \
		"$got" "name, version and runc's features through containerd $CTRD_VERSION"
fi
