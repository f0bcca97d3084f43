#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs one libFuzzer target for a bounded time from its seed corpus and
# reports it as one TAP test.
# Usage: run-one.sh FUZZER CORPUS_DIR
f=$1; corpus=$2
secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
if "$f" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 "$work" 2>&1 | tail -n 30; then
	echo "ok 1 - $(basename "$f") ran ${secs}s without a crash"
else
	echo "not ok 1 - $(basename "$f") found a crash"
	exit 1
fi
