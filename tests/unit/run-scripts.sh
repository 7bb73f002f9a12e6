#!/bin/sh
# run-scripts.sh - run every tests/unit/*.sh (sorted) from the repository
# root; print PASS, FAIL or SKIP for each.  A script passes with exit 0 and
# is skipped with exit 77; anything else fails.  Exits 1 if any failed.
# An executable script runs by its #! line, any other with sh.  The output
# of a failed script is shown; a passing one stays quiet.
set -u

cd "$(dirname "$0")/../.." || exit 1

self=run-scripts.sh
pass=0 fail=0 skip=0
out=$(mktemp /tmp/run-scripts.XXXXXX) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

for s in $(ls tests/unit/*.sh 2>/dev/null | LC_ALL=C sort); do
	[ "$(basename "$s")" = "$self" ] && continue
	if [ -x "$s" ]; then
		"./$s" > "$out" 2>&1
	else
		sh "$s" > "$out" 2>&1
	fi
	rc=$?
	case $rc in
	0)
		echo "PASS: $s"
		pass=$((pass + 1)) ;;
	77)
		echo "SKIP: $s ($(tail -n 1 "$out"))"
		skip=$((skip + 1)) ;;
	*)
		echo "FAIL: $s (exit $rc)"
		sed 's/^/    /' "$out"
		fail=$((fail + 1)) ;;
	esac
done
echo "scripts: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
