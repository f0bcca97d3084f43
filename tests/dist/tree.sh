#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tree.sh - what the repository holds (TAP): one SPDX form in every source
# file, no compiled Python committed, warnings that are errors include
# -Wshadow for user code and BPF alike.
# Usage: sh tests/dist/tree.sh   (run by tests/run.sh)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
cd "$ROOT" || exit 1
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "ok 1 - not a git checkout # SKIP"; echo "1..1"; exit 0
fi
SPDX='SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)'
bad=$(git ls-files '*.c' '*.h' '*.sh' '*.py' Makefile | while read -r f; do
	head -n 3 "$f" | grep -qF "$SPDX" || echo "$f"; done)
if [ -z "$bad" ]; then ok "every source file starts with: $SPDX"
else not_ok "every source file starts with: $SPDX" $bad; fi
pyc=$(git ls-files | grep -E '__pycache__|\.pyc$')
if [ -z "$pyc" ]; then ok "no compiled Python is committed"; else not_ok "no compiled Python is committed" $pyc; fi
if git check-ignore -q tests/e2e/__pycache__/x.pyc; then ok "__pycache__ is ignored"
else not_ok "__pycache__ is ignored"; fi
if grep -q '^WARN *:= -Wall -Wextra -Wshadow -Werror' Makefile; then ok "-Wshadow is an error for every C file"
else not_ok "-Wshadow is an error for every C file"; fi
echo "1..$n"
