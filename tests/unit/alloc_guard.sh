#!/bin/sh
# alloc_guard.sh - proves the allocation guard (src/alloc.c) catches what
# the no-heap promise forbids: after alloc_seal(true), a direct malloc and
# an allocation made inside libc (fopen) both abort the process with a
# message naming the call; before sealing, and with the guard sealed
# non-strict, the program goes on.  Built against musl (the release libc)
# and glibc (the debug build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/t.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
int main(int argc, char **argv)
{
	void *p = malloc(100);		/* before sealing: fine */

	if (p == NULL)
		return 3;
	alloc_seal(strcmp(argv[1], "strict") == 0);
	if (strcmp(argv[2], "malloc") == 0)
		p = malloc(10);
	else
		p = fopen("/dev/null", "r");
	(void)argc;
	printf("survived %llu\n", (unsigned long long)alloc_violations());
	return 0;
}
C
fail=0
for cc in musl-gcc gcc; do
	command -v $cc >/dev/null || { echo "SKIP: no $cc"; exit 77; }
	$cc -std=c11 -D_GNU_SOURCE -static -I"$root/src" "$tmp/t.c" \
	    "$root/src/alloc.c" -o "$tmp/t" || { echo "build with $cc failed"; exit 1; }
	for what in malloc fopen; do
		out=$("$tmp/t" strict $what 2>&1); rc=$?
		if [ $rc -ne 134 ] || ! echo "$out" | grep -q "allocation after startup"; then
			echo "FAIL $cc strict $what: rc=$rc out=$out"; fail=1
		else
			echo "ok   $cc strict $what aborts: $(echo "$out" | head -1)"
		fi
		out=$("$tmp/t" lax $what 2>&1); rc=$?
		if [ $rc -ne 0 ] || ! echo "$out" | grep -q "survived 1"; then
			echo "FAIL $cc lax $what: rc=$rc out=$out"; fail=1
		else
			echo "ok   $cc lax $what is counted: $(echo "$out" | tail -1)"
		fi
	done
done
exit $fail
