#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test suite of mdr and prints one summary line:
#   N passed, N failed
# Each suite speaks TAP ("ok N - name" / "not ok N - name"). A suite that
# exits non-zero without reporting a failure counts as one failed test, and
# so does a suite that reports no test at all.
# Usage: tests/run.sh [SUITE-GLOB]   (e.g. tests/run.sh 'e2e_*')
set -u
BUILD=${BUILD:-build}
FILTER=${1:-*}
export BUILD
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0
failed_names=""

run_suite() { # name, command...
	name=$1; shift
	case "$name" in $FILTER) ;; *) return 0 ;; esac
	log=$LOGDIR/$name.log
	printf '# suite %s\n' "$name"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	grep -E '^(not ok|ok) ' "$log" | sed 's/^/  /'
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "  not ok - $name exited with status $rc (see $log)"
		tail -n 20 "$log" | sed 's/^/  | /'
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "  not ok - $name reported no test (see $log)"
	elif [ "$f" -ne 0 ]; then
		grep -B2 -A12 '^not ok ' "$log" | grep -vE '^ok ' | sed 's/^/  | /' | head -n 60
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failed_names="$failed_names $name"
	printf '# suite %s: %d passed, %d failed (%ss)\n' "$name" "$p" "$f" "$(( $(date +%s) - start ))"
}

# Pure cores (cmocka, TAP output).
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit_$(basename "$t" | sed 's/^test_//')" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done

# The XDP program through BPF_PROG_TEST_RUN.
for t in "$BUILD"/tests/bpf_*; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done

# Fuzzers: a bounded run each, from their seed corpora.
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	run_suite "$n" sh tests/fuzz/run-one.sh "$f" "tests/fuzz/corpus/${n#fuzz_}"
done

# make install and the systemd units.
for t in tests/dist/*.sh; do
	[ -f "$t" ] || continue
	run_suite "dist_$(basename "$t" .sh)" sh "$t"
done

# End to end, in network namespaces.
for t in tests/e2e/e2e_*.sh; do
	[ -f "$t" ] || continue
	run_suite "$(basename "$t" .sh)" sh "$t"
done

[ -n "$failed_names" ] && echo "# failed suites:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
