#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# wrk-flood.sh SECS CONNS URL - a keep-alive request flood (wrk -t1) that
# lasts SECS seconds: a wrk that ends early (seen once in a few dozen runs,
# without output) is started again for the time left. Prints each wrk's
# report and "wrk-exit=STATUS" after it. Run inside the flooding guest's
# network namespace (tests/e2e/e2e_security.sh, tools/bench.sh).
set -u
end=$(($(date +%s) + $1))
while left=$((end - $(date +%s))); [ "$left" -gt 0 ]; do
	wrk -t1 -c"$2" -d"${left}s" "$3"
	echo "wrk-exit=$?"
done
