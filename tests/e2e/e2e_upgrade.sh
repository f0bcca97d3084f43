#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_upgrade: upgrading a running node to this build, under traffic.
# A build of an earlier commit (git archive of UPGRADE_FROM into a temp
# tree, built once and kept under $BUILD/upgrade-from/) runs mdrd and the
# responder; a guest holds an IMDSv2 token and requests its metadata back to
# back (tests/e2e/availability.py). The upgrade, as README describes it:
# the old mdrd exits leaving its program attached (releases before SIGUSR2:
# SIGKILL), the new mdrd loads over the old pins (carrying token keys,
# bindings and instances over, rebuilding maps of another layout) and swaps
# its program in atomically; the responder is restarted on the new build.
# Checked: the guest never goes longer than MAX_GAP_MS without an answer,
# the token issued before still works, the responder's counters carry on,
# mdr_abi records the versions, the program was replaced (not detached and
# attached).
# Cases:
#   tag     2a14da1 (metadata-area tag "MDR1", no version record; mdr_rstats
#           has 20 counters there, more now: carried over zero-extended);
#           on a kernel that refuses bpf_xdp_adjust_meta 2a14da1 cannot run,
#           so there is nothing to upgrade from it: e15609a stands in (the
#           first release tagging with bpf_xdp_adjust_head: no version
#           record either, 20 counters)
#   layout  the same release with MDR_MAX_PORTS 2048: mdr_ports of another
#           layout, rebuilt with its bindings carried over
#   self    this build to itself, the old mdrd leaving with SIGUSR2
# Usage: sh tests/e2e/e2e_upgrade.sh   (UPGRADE_CASES="tag" for one case)
. "$(dirname "$0")/lib.sh"
e2e_init upgrade

UPGRADE_FROM=2a14da1
UPGRADE_CASES=${UPGRADE_CASES:-tag layout self}
# The longest a guest may go without an answer during the upgrade.
MAX_GAP_MS=1000
# Traffic before and after the upgrade (seconds).
SETTLE_S=1
DATA=$E2E_ROOT/tests/data/instances
U1=d8e02d56-2648-415b-b62a-3a1b9ce1d0f8
NEW_BUILD=$BUILD_DIR

if "$NEW_BUILD/mdrctl" features 2>/dev/null | grep -q '^missing *helper bpf_xdp_adjust_meta'; then
	diag "this kernel refuses bpf_xdp_adjust_meta, which $UPGRADE_FROM needs: upgrading from e15609a"
	UPGRADE_FROM=e15609a
fi
command -v git >/dev/null || skip_all "needs git"
git -C "$E2E_ROOT" cat-file -e "$UPGRADE_FROM^{commit}" 2>/dev/null || skip_all "commit $UPGRADE_FROM not in this repository"

# old_build CASE: builds $UPGRADE_FROM (patched for CASE) once; prints its dir.
old_build() {
	_ob=$BUILD_DIR/upgrade-from/$UPGRADE_FROM-$1
	if [ ! -x "$_ob/build/mdrd" ] || [ ! -x "$_ob/build/mdr-responder" ]; then
		rm -rf "$_ob" && mkdir -p "$_ob"
		git -C "$E2E_ROOT" archive "$UPGRADE_FROM" | tar -x -C "$_ob" || return 1
		if [ "$1" = layout ]; then
			sed -i 's/^#define MDR_MAX_PORTS 4096$/#define MDR_MAX_PORTS 2048/' "$_ob/maps/mdr_abi.h"
			grep -q '^#define MDR_MAX_PORTS 2048$' "$_ob/maps/mdr_abi.h" || return 1
		fi
		make -C "$_ob" -j2 BUILD=build build/mdrd build/mdr-responder build/mdrctl >"$_ob.log" 2>&1 || return 1
	fi
	echo "$_ob/build"
}

abi_field() { # FIELD of the mdr_abi record
	bpftool -j map lookup pinned "$PIN/mdr_abi" key 0 0 0 0 2>/dev/null |
		"$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print(d['formatted']['value']['$1'])" 2>/dev/null
}
ports_max() {
	bpftool -j map show pinned "$PIN/mdr_ports" | "$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["max_entries"])'
}

# The pinned-map layout version of this build (maps/mdr_abi.h).
ABI_NOW=$(sed -n 's/^#define MDR_ABI_VERSION \([0-9]*\).*/\1/p' maps/mdr_abi.h)

run_case() {
	case_name=$1
	if [ "$case_name" = self ]; then
		OLD=$NEW_BUILD old_version=$ABI_NOW leave=USR2
	else
		OLD=$(old_build "$case_name") || { not_ok "$case_name: build of $UPGRADE_FROM" "$(tail -n 20 "$BUILD_DIR/upgrade-from/$UPGRADE_FROM-$case_name.log")"; return; }
		ok "$case_name: $UPGRADE_FROM built ($OLD)"
		old_version=1 leave=KILL
	fi
	topo_create --mode port --guests 1 || return
	inst_write "$DATA/vm1.json" 1 port
	cp "$DEF_DIR/g1.json" "$INST_DIR/"
	BUILD_DIR=$OLD
	start_mdrd || { BUILD_DIR=$NEW_BUILD; dump_logs; return; }
	start_responder || { BUILD_DIR=$NEW_BUILD; dump_logs; return; }
	BUILD_DIR=$NEW_BUILD
	[ "$case_name" = layout ] && check_eq "$case_name: the old build's mdr_ports holds 2048" "$(ports_max)" 2048
	if [ "$old_version" = 1 ]; then
		check_not "$case_name: the old pins have no version record" test -e "$PIN/mdr_abi"
	else
		check_eq "$case_name: the old pins record version $ABI_NOW" "$(abi_field version)" "$ABI_NOW"
	fi
	tok=$(in_guest 1 curl -sf -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 600' $META/latest/api/token)
	check "$case_name: token issued by the old build works" in_guest 1 curl -sf -m 5 -o /dev/null \
		-H "X-aws-ec2-metadata-token: $tok" $META/openstack/latest/meta_data.json

	# the responder's counters of the instance (flushed once a second)
	_reqs() { mdrctl stats "$U1" -j | "$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["responder"]["requests"])'; }
	_counted() { [ "$(_reqs)" -ge 1 ]; }
	check "$case_name: this build's mdrctl reads the old pins" wait_for _counted
	req_before=$(_reqs)

	rm -f "$E2E_TMP/stop" "$E2E_TMP/first-ok"
	bg "avail-$case_name" ip netns exec "$TOPO-g1" "$GUEST_PY" "$E2E_PY/availability.py" \
		--token "$tok" --stop "$E2E_TMP/stop" --ready "$E2E_TMP/first-ok"
	AV_PID=$BG_PID
	diag "$case_name: probe starts at $(date +%T.%N | cut -c1-12)"
	wait_for test -e "$E2E_TMP/first-ok"
	sleep "$SETTLE_S"
	# the upgrade: old mdrd leaves its program attached (no SIGUSR2 before
	# this release: SIGKILL), the new one takes over
	loaded_before=$(abi_field loaded_ns)
	diag "$case_name: upgrade starts at $(date +%T.%N | cut -c1-12)"
	kill -$leave "$MDRD_PID"; wait_for _dead "$MDRD_PID"; stop_pid "$MDRD_PID"
	old_log=$E2E_TMP/mdrd-$TOPO.log
	mv "$old_log" "$E2E_TMP/mdrd-old-$case_name.log"
	start_mdrd_bg() {
		bg "mdrd-$TOPO" nsenter --net="/run/netns/$HV" "$NEW_BUILD/mdrd" --pin-dir "$PIN" \
			--iface "$MDR_IFACE" --instances "$INST_DIR"
		MDRD_PID=$BG_PID
	}
	start_mdrd_bg
	# as soon as the new program is loaded, the responder moves to the new build
	_loaded() { [ "$(abi_field loaded_ns)" != "$1" ]; }
	wait_for _loaded "$loaded_before"
	stop_pid "$RESP_PID"
	bg "responder-new-$TOPO" nsenter --net="/run/netns/$HV" "$NEW_BUILD/mdr-responder" --pin-dir "$PIN"
	RESP_PID=$BG_PID
	wait_for grep -q 'mdrd: info: ready' "$E2E_TMP/mdrd-$TOPO.log"
	sleep "$SETTLE_S"
	touch "$E2E_TMP/stop"
	wait_for _dead "$AV_PID"
	stop_pid "$AV_PID"
	res=$(grep '^requests=' "$E2E_TMP/avail-$case_name.log")
	diag "$case_name: $res"
	grep -i fail "$E2E_TMP/avail-$case_name.log" | head -n 20 | sed 's/^/# /'
	gap=$(echo "$res" | sed -n 's/.*longest_gap_ms=\([0-9]*\).*/\1/p')
	if [ -n "$gap" ] && [ "$gap" -le "$MAX_GAP_MS" ]; then
		ok "$case_name: the guest is answered throughout (longest gap ${gap} ms <= $MAX_GAP_MS)"
	else
		not_ok "$case_name: the guest is answered throughout (longest gap <= $MAX_GAP_MS ms)" "$res" "$(tail -n 20 "$E2E_TMP/mdrd-$TOPO.log")"
	fi
	check "$case_name: the token issued before the upgrade still works" in_guest 1 curl -sf -m 5 -o /dev/null \
		-H "X-aws-ec2-metadata-token: $tok" $META/openstack/latest/meta_data.json
	check "$case_name: the program was replaced atomically" grep -q 'tap1: older mdr program replaced atomically' "$E2E_TMP/mdrd-$TOPO.log"
	check_eq "$case_name: mdr_abi records version $ABI_NOW, found $old_version" "$(abi_field version) $(abi_field prev_version)" "$ABI_NOW $old_version"
	if [ "$case_name" = layout ]; then
		check_eq "$case_name: mdr_ports rebuilt with 4096 entries" "$(ports_max)" 4096
		check "$case_name: its binding was carried over" grep -q 'upgrade: mdr_ports: 1 entries carried over' "$E2E_TMP/mdrd-$TOPO.log"
		check_not "$case_name: the old pins are gone" test -e "$PIN/mdr_old"
	fi
	_kept() { [ "$(_reqs)" -ge "$req_before" ]; }
	check "$case_name: the responder's counters were carried over ($req_before requests before)" _kept
	if [ "$case_name" != self ]; then
		check "$case_name: mdr_rstats gained two counters, entries carried over" \
			grep -Eq 'upgrade: mdr_rstats: [1-9][0-9]* entries carried over' "$E2E_TMP/mdrd-$TOPO.log"
	fi
	check "$case_name: mdrctl why tap1 after the upgrade" mdrctl why tap1 -w 0
	topo_teardown
}

for c in $UPGRADE_CASES; do run_case "$c"; done
e2e_done
