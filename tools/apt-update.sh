# shellcheck shell=sh
#
# tools/apt-update.sh, sourced: apt_update TAG APT-FUNCTION [ARGS...]
# runs `APT-FUNCTION ARGS... update` (a private apt state's wrapper) up to
# three times, 20 s apart (APT_UPDATE_WAIT), because a Debian mirror in
# the middle of a sync serves index files that do not match their
# Release file for a while ("File has unexpected size ... Mirror sync in
# progress?").  Returns 0 at the first success; after the third failure
# prints apt's errors and returns 1, and the caller decides whether the
# lists that did arrive are enough (a later `apt-get download` says).

apt_update() {
	_au_tag=$1
	shift
	_au_log=$(mktemp "${TMPDIR:-/tmp}/nanoshim-aptupdate.XXXXXX") || return 1
	for _au_try in 1 2 3; do
		if "$@" update >"$_au_log" 2>&1; then
			rm -f "$_au_log"
			return 0
		fi
		echo "$_au_tag: apt-get update failed (try $_au_try of 3)" >&2
		[ "$_au_try" = 3 ] || sleep "${APT_UPDATE_WAIT:-20}"
	done
	grep '^[EW]:' "$_au_log" >&2
	rm -f "$_au_log"
	return 1
}
