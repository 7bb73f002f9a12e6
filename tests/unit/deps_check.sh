#!/bin/bash
# deps_check.sh - every program the test suites run comes from a package
# that tools/deps.sh installs, so a fresh machine (CI) has it.  A test that
# finds a tool missing would skip or fail there although it passes here,
# where someone installed the tool by hand (criu was such a case).
#
# TOOLS lists the programs the suites call that are not part of every
# Debian system (coreutils, bash, util-linux's basics are); add one when a
# test starts using it.  Each must be installed here and be owned (dpkg -S,
# after resolving symlinks) by a package named in tools/deps.sh.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)

TOOLS="containerd ctr runc crun criu busybox script unshare nsenter ip
protoc musl-gcc /usr/bin/python3 git curl stress-ng"

pkgs=$(sed -n '/^pkgs="/,/"$/p' "$root/tools/deps.sh" | tr -d '"' |
	sed 's/^pkgs=//' | tr -s ' \t\n' '\n')
[ -n "$pkgs" ] || { echo "no package list found in tools/deps.sh"; exit 1; }

# owner_of <path>: the package owning path (dpkg records /bin paths of
# merged-/usr systems under their old name).
owner_of() {
	local o
	for f in "$1" "/bin/${1##*/}" "/sbin/${1##*/}" "$(readlink -f "$1")"; do
		o=$(dpkg -S "$f" 2>/dev/null) && break
	done
	o=${o%%:*}
	echo "${o%%,*}"
}

# listed <package>: named in deps.sh, or a direct dependency of one that is
# (musl-gcc is musl-dev's, which musl-tools pulls in).
listed() {
	local p
	printf '%s\n' "$pkgs" | grep -qx "$1" && return 0
	for p in $pkgs; do
		dpkg-query -W -f='${Depends},${Pre-Depends}\n' "$p" 2>/dev/null |
			tr ',|' '\n\n' | sed 's/^ *//; s/[ :(].*//' | grep -qx "$1" &&
			return 0
	done
	return 1
}

bad=0
for t in $TOOLS; do
	path=$(command -v "$t") || {
		echo "FAIL $t: not installed (is its package in tools/deps.sh?)"
		bad=1
		continue
	}
	owner=$(owner_of "$path")
	if [ -z "$owner" ]; then
		echo "FAIL $t: $path belongs to no Debian package"
		bad=1
	elif ! listed "$owner"; then
		echo "FAIL $t: package $owner is not in tools/deps.sh"
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "every tool the suites run comes from tools/deps.sh"
exit "$bad"
