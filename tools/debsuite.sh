#!/bin/sh
# tools/debsuite.sh - unpack packages of another Debian suite into build/.
#
# Owns: a private apt configuration per suite (its own sources list, lists
# directory, package cache and archive directory under build/apt/SUITE) and
# the unpacked trees under build/suites/SUITE.  Does not own the machine's
# apt: its sources, lists, cache and dpkg database are never read for
# packages nor written; nothing is installed.
#
# Usage: tools/debsuite.sh [--refresh] SUITE PKG...
#   Downloads the current version of each PKG in SUITE (bookworm, trixie,
#   sid, ...) with `apt-get download` and unpacks it with `dpkg -x` into
#   build/suites/SUITE.  Prints, per package, "SUITE PKG VERSION".
#   A package already unpacked is kept (build/ is the cache); --refresh
#   updates the lists and fetches the suite's current version again.
#
# Dependencies are not resolved: name every package wanted.  Used by
# tools/deps.sh (containerd 1.7 from trixie, 2.x and its .proto files from
# sid) so that a clean clone gets them with the rest of the test deps.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
refresh=0
if [ "${1:-}" = --refresh ]; then
	refresh=1
	shift
fi
[ $# -ge 2 ] || { echo "usage: $0 [--refresh] SUITE PKG..." >&2; exit 2; }
suite=$1
shift
case $suite in
*[!a-z0-9-]* | '') echo "debsuite: bad suite name: $suite" >&2; exit 2 ;;
esac

apt=$root/build/apt/$suite
out=$root/build/suites/$suite
mirror=${DEBSUITE_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)

mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" \
	"$out/.stamps"
cat >"$apt/sources.list" <<EOF
deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main
EOF
: >"$apt/status"

# Every path apt would use on the machine is pointed into $apt; the
# machine's sources.list.d, preferences and dpkg status are not read.
aptget() {
	apt-get -q -o DPkg::Lock::Timeout=600 \
		-o Dir::Etc::sourcelist="$apt/sources.list" \
		-o Dir::Etc::sourceparts=- \
		-o Dir::Etc::preferences=/dev/null \
		-o Dir::Etc::preferencesparts=- \
		-o Dir::State::Lists="$apt/lists" \
		-o Dir::State::status="$apt/status" \
		-o Dir::Cache="$apt/cache" \
		-o Dir::Cache::archives="$apt/cache/archives" \
		-o APT::Architectures::="$arch" \
		"$@"
}

need_update=$refresh
for p in "$@"; do
	[ -e "$out/.stamps/$p" ] || need_update=1
done
if [ "$need_update" = 1 ]; then
	if [ "$refresh" = 1 ] || ! ls "$apt/lists/"*_Packages* >/dev/null 2>&1; then
		echo "debsuite: apt-get update ($suite)" >&2
		# shellcheck source=tools/apt-update.sh
		. "$(dirname "$0")/apt-update.sh"
		apt_update debsuite aptget ||
			ls "$apt/lists/"*_Packages* >/dev/null 2>&1 || {
			echo "debsuite: apt-get update for $suite failed" >&2
			exit 1
		}
	fi
fi

for p in "$@"; do
	if [ "$refresh" = 0 ] && [ -e "$out/.stamps/$p" ]; then
		echo "$suite $p $(cat "$out/.stamps/$p")"
		continue
	fi
	rm -f "$apt/debs/${p}_"*.deb
	(cd "$apt/debs" && aptget download "$p" >"$apt/download.log" 2>&1) || {
		cat "$apt/download.log" >&2
		echo "debsuite: apt-get download $p ($suite) failed" >&2
		exit 1
	}
	deb=$(ls "$apt/debs/${p}_"*.deb)
	dpkg -x "$deb" "$out"
	ver=$(dpkg-deb -f "$deb" Version)
	rm -f "$deb"
	echo "$ver" >"$out/.stamps/$p"
	echo "$suite $p $ver"
done
