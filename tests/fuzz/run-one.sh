#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs one libFuzzer target for a bounded time from its seed corpus and
# reports it as one TAP test. A crash fails the test and its input is
# printed (hex) in the log.
# Usage: run-one.sh FUZZER CORPUS_DIR
f=$1; corpus=$2
secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/crash"
[ -d "$corpus" ] && cp -r "$corpus"/. "$work/corpus"/ 2>/dev/null
"$f" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -artifact_prefix="$work/crash/" \
	"$work/corpus" >"$work/out" 2>&1
rc=$?
tail -n 30 "$work/out"
if [ "$rc" -eq 0 ]; then
	echo "ok 1 - $(basename "$f") ran ${secs}s without a crash"
else
	for a in "$work"/crash/*; do
		[ -f "$a" ] || continue
		echo "# input $(basename "$a"):"
		od -An -tx1 -v "$a" | head -n 64 | sed 's/^/#  /'
	done
	echo "not ok 1 - $(basename "$f") found a crash (exit status $rc)"
	exit 1
fi
