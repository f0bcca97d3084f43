#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_why: `mdrctl why PORT|MAC|UUID` on a served guest says every link
# holds; then each link of the chain is broken in turn (interface down,
# program detached, binding removed, definition deleted, responder stopped,
# frames spoofed) and `why` names that link first, in text and in JSON (-j),
# with its fix; after each repair the guest is served and `why` agrees.
. "$(dirname "$0")/lib.sh"
e2e_init why

command -v curl >/dev/null || skip_all "needs curl"

DATA=$E2E_ROOT/tests/data/instances
U1=d8e02d56-2648-415b-b62a-3a1b9ce1d0f8
# Counter window of the runs that do not look at counters, and of the one
# that does (long enough for several of the guest's SYN retries).
FAST_W=0
CNT_W=1500

topo_create --mode port --guests 1 || e2e_done
inst_write "$DATA/vm1.json" 1 port
start_mdrd || { dump_logs; e2e_done; }
check "instance loaded" mdrctl instance load "$DEF_DIR/g1.json"
start_responder || { dump_logs; e2e_done; }

served() { in_guest 1 curl -sf -m 2 -o /dev/null $META/openstack/latest/meta_data.json; }
# first_broken TARGET [W]: the link `why -j` names first ("" = none)
first_broken() {
	mdrctl why "$1" -j -w "${2:-$FAST_W}" |
		"$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["first_broken"] or "")'
}
# expect_broken LINK TARGET FIX-PATTERN [W]: text and JSON name LINK, fix matches
expect_broken() {
	_eb_link=$1 _eb_t=$2 _eb_fix=$3 _eb_w=${4:-$FAST_W}
	mdrctl why "$_eb_t" -w "$_eb_w" >"$E2E_TMP/why.txt" 2>&1
	_eb_rc=$?
	if [ "$_eb_rc" = 1 ] && grep -q "^first broken link: $_eb_link\$" "$E2E_TMP/why.txt" &&
		grep -q "^✗ $_eb_link " "$E2E_TMP/why.txt" && grep -Eq "^fix: .*$_eb_fix" "$E2E_TMP/why.txt"; then
		ok "why $_eb_t names the $_eb_link link ($(grep '^fix:' "$E2E_TMP/why.txt" | cut -c1-90))"
	else
		not_ok "why $_eb_t names the $_eb_link link" "exit $_eb_rc" "$(cat "$E2E_TMP/why.txt")"
	fi
	check_eq "why -j $_eb_t: first_broken is $_eb_link" "$(first_broken "$_eb_t" "$_eb_w")" "$_eb_link"
}
expect_served() { # what
	wait_for served
	check "guest served $1" served
	# carrier comes back asynchronously (linkwatch): await why's verdict
	wait_for mdrctl why tap1 -w "$FAST_W"
	mdrctl why tap1 -w "$FAST_W" >"$E2E_TMP/why.txt" 2>&1
	_es_rc=$?
	if [ "$_es_rc" = 0 ] && grep -q '^served: every link holds$' "$E2E_TMP/why.txt" &&
		[ "$(grep -c '^✓ ' "$E2E_TMP/why.txt")" = 5 ]; then
		ok "why tap1: every link holds $1"
	else
		not_ok "why tap1: every link holds $1" "exit $_es_rc" "$(cat "$E2E_TMP/why.txt")"
	fi
}

# ---- a served guest: by port, uuid, MAC ------------------------------------------
expect_served "at the start"
mdrctl why tap1 -w 300 >"$E2E_TMP/why-ok.txt" 2>&1
check "why tap1 with counters: exit 0, six links hold" sh -c "[ \$(grep -c '^✓ ' '$E2E_TMP/why-ok.txt') = 6 ]"
sed 's/^/# /' "$E2E_TMP/why-ok.txt"
check "why UUID: served" mdrctl why "$U1" -w 0
check_eq "why -j UUID: served, its port" \
	"$(mdrctl why "$U1" -j -w 0 | "$GUEST_PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["served"], d["port"], d["instance"])')" \
	"True tap1 $U1"
MAC1=$(sh "$TOPO_SH" mac "$TOPO" 1)
expect_broken binding "$MAC1" "mdrctl bind UUID --mac"

# ---- 1. interface down ----------------------------------------------------------------
in_hv ip link set tap1 down
expect_broken interface tap1 "ip link set tap1 up"
in_hv ip link set tap1 up
expect_served "after the interface came up"

# ---- 2. program detached behind mdrd's back -----------------------------------------------
in_hv ip link set dev tap1 xdpgeneric off
expect_broken program tap1 "restart mdrd"
stop_pid "$RESP_PID"; RESP_PID=""
stop_pid "$MDRD_PID"; MDRD_PID=""
start_mdrd && start_responder
expect_served "after mdrd restarted"

# ---- 3. binding removed ---------------------------------------------------------------------
mdrctl unbind "$U1" --port tap1 >/dev/null
expect_broken binding tap1 "mdrctl bind $U1 --port tap1"
expect_broken binding "$U1" "mdrctl bind $U1 --port tap1"
mdrctl bind "$U1" --port tap1 >/dev/null
expect_served "after the binding was restored"

# ---- 4. definition deleted ------------------------------------------------------------------
mdrctl instance del "$U1" >/dev/null
expect_broken definition "$U1" "mdrctl instance load"
expect_broken binding tap1 "binding"
mdrctl instance load "$DEF_DIR/g1.json" >/dev/null
expect_served "after the definition was loaded again"

# ---- 5. responder stopped ----------------------------------------------------------------------
stop_pid "$RESP_PID"; RESP_PID=""
expect_broken responder tap1 "start mdr-responder"
start_responder
expect_served "after the responder started"

# ---- 6. frames spoofed (binding expects another MAC) --------------------------------------------
mdrctl bind "$U1" --port tap1 --mac 02:00:00:00:00:99 --force >/dev/null
# the guest keeps trying while why samples the counters
bg guest-tries ip netns exec "$TOPO-g1" sh -c "while :; do curl -s -m 1 -o /dev/null $META/; done"
TRIES_PID=$BG_PID
expect_broken counters tap1 "another MAC" "$CNT_W"
stop_pid "$TRIES_PID"
mdrctl bind "$U1" --port tap1 --force >/dev/null
expect_served "after the MAC check was removed"

check_eq "why: usage error on a bad window" "$(mdrctl why tap1 -w x >/dev/null 2>&1; echo $?)" 2
topo_teardown
e2e_done
