#!/bin/bash
# under_load.sh CMD...: run CMD while stress-ng loads the machine the way a
# dense node is loaded (every CPU busy, 1 GiB of memory churn, I/O), then
# stop the load by pid.  Races that a quiet machine hides (issue 8: a Kill
# answered after the Delete) come out here.  STRESS_ARGS overrides the load.
# Exit status: CMD's.
set -u
command -v stress-ng >/dev/null || { echo "SKIP: stress-ng is not installed"; exit 77; }
# shellcheck disable=SC2086 # word splitting wanted
stress-ng ${STRESS_ARGS:---cpu 2 --vm 1 --vm-bytes 1G --io 1} --quiet &
load=$!
trap 'kill -TERM "$load" 2>/dev/null; wait "$load" 2>/dev/null' EXIT INT TERM
sleep 2
"$@"
