#!/bin/sh
# capture.sh SHIM - run the integration suite against SHIM (the frame
# capture build, make fuzz-capture) and keep every distinct frame it was
# sent in build/fuzz/capture/frames; then tests/fuzz/corpus.py picks
# corpus inputs from them (tests/fuzz/corpus/frames, task, json, mount).
# Starts containerd: on a shared machine run it under the heavy lock.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
shim=${1:?usage: capture.sh SHIM}
out=$root/build/fuzz/capture
rm -rf "$out"
mkdir -p "$out/frames"
NANOSHIM_FRAME_DUMP=$out/frames NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=20 \
    SHIM=$shim tests/integration/run.sh >"$out/suite.log" 2>&1 ||
	echo "capture: the suite did not pass (the frames are kept): $out/suite.log"
tail -3 "$out/suite.log"
echo "capture: $(ls "$out/frames" | wc -l) distinct frames"
/usr/bin/python3 tests/fuzz/corpus.py "$out/frames" tests/fuzz/corpus
