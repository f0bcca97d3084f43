#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs one libFuzzer target for a bounded time from its seed corpus and
# reports it as one TAP test. A crash fails the test and its input is
# printed (hex) in the log. FUZZ_SECONDS (default 20) bounds the run;
# FUZZ_GROW=1 merges new coverage back into CORPUS_DIR.
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
	# FUZZ_GROW=1: keep what the run found, minimised against the seeds.
	if [ "${FUZZ_GROW:-0}" = 1 ] && [ -d "$corpus" ]; then
		before=$(ls "$corpus" | wc -l)
		"$f" -merge=1 "$corpus" "$work/corpus" >"$work/merge" 2>&1 ||
			tail -n 5 "$work/merge"
		echo "# corpus $corpus: $before -> $(ls "$corpus" | wc -l) inputs"
	fi
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
