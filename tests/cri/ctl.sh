#!/bin/bash
# tests/cri/ctl.sh restart: stop the CRI suite's containerd (SIGTERM, by
# pid) and start it again in its network namespace, for cases.py's
# containerd-restart case.  Needs the variables cri_setup exported (D,
# NETNS, CTR_ADDR, CONTAINERD_BIN, CTR_BIN).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in
restart)
	containerd_stop || exit 1
	containerd_start
	;;
*)
	log "usage: $0 restart"
	exit 2
	;;
esac
