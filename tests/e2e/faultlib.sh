# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tests/e2e/faultlib.sh - helpers shared by e2e_faultinj.sh and e2e_soak.sh
# (sourced after lib.sh, once a port-mode topology exists).
#   mkdefn N OUT [KEY=JSON...]    guest N's definition from vm1.json: uuid
#                                 soak-uuid(N), port tapN, 64 KiB user data
#   soak_uuid N                   that uuid
#   expected UUID PATH            the body the renderer gives (mdrctl get)
#   tap_unplug N / tap_plug N     delete / re-create guest N's veth pair
#                                 (same MACs, guest address and route)
#   load_start N MODES... [-- ARGS]  tests/e2e/soakload.py in guest N
#   load_stop                     stops every soakload of this run
#   served N                      guest N gets its instance-id (one try)
#   time_to_service N [S]         ms until guest N is served (-1 after S s)
#   proc_rss_kb PID / proc_fds PID
#   pinned_orphans                tools/mdrfsck.py on $PIN: orphan count

# 64 KiB of user data (MDR_USER_DATA_MAX): the largest a definition holds.
UD_LEN=65535
soak_uuid() { printf '5a5a5a5a-0000-4000-8000-%012d' "$1"; }
# mkdefn N OUT [KEY=JSON...]
mkdefn() {
	_md_n=$1 _md_out=$2; shift 2
	_md_ud=$E2E_TMP/ud-$_md_n.b64
	[ -s "$_md_ud" ] || "$GUEST_PY" -c "
import base64, hashlib, sys
n, ln = int(sys.argv[1]), int(sys.argv[2])
head = b'#cloud-config\n# soak guest %d\n' % n
body = b''.join(hashlib.sha256(b'%d-%d' % (n, i)).hexdigest().encode() + b'\n' for i in range(ln // 65 + 1))
sys.stdout.write(base64.b64encode((head + body)[:ln]).decode())" "$_md_n" "$UD_LEN" >"$_md_ud"
	"$GUEST_PY" "$E2E_PY/defn.py" "$E2E_ROOT/tests/data/instances/vm1.json" --binding port \
		--port "tap$_md_n" uuid="\"$(soak_uuid "$_md_n")\"" name="\"soak$_md_n\"" \
		hostname="\"soak$_md_n\"" user_data="\"$(cat "$_md_ud")\"" "$@" >"$_md_out"
}
ud_sha256() { base64 -d "$E2E_TMP/ud-$1.b64" | sha256sum | cut -d' ' -f1; }
# The body mdrctl's renderer gives for UUID PATH (what a guest must receive).
expected() { mdrctl get "$1" "$2" | sed '1,/^\r\{0,1\}$/d'; }

# ---- taps -------------------------------------------------------------------------
tap_unplug() { ip -n "$HV" link del "tap$1"; }
tap_plug() { # N: as tools/topo.sh make_link (veth) + the guest's address and route
	_tp_g=$TOPO-g$1
	ip -n "$HV" link add "tap$1" address "$(printf '52:54:00:00:fe:%02x' "$1")" type veth \
		peer name eth0 address "$(sh "$TOPO_SH" mac "$TOPO" "$1")" netns "$_tp_g" || return 1
	nsenter --net="/run/netns/$_tp_g" ethtool -K eth0 gro on >/dev/null 2>&1
	ip -n "$_tp_g" addr add "$(sh "$TOPO_SH" ip "$TOPO" "$1")/24" dev eth0
	ip -n "$_tp_g" link set eth0 up
	ip -n "$_tp_g" route add "$META_IP" dev eth0
	ip -n "$HV" link set "tap$1" up
}

# ---- guest traffic -------------------------------------------------------------------
LOAD_STOP=""
# load_start N RATE MODE... : soakload.py in guest N, counts in $E2E_TMP/load-gN.out
load_start() {
	_ls_n=$1 _ls_rate=$2; shift 2
	LOAD_STOP=$E2E_TMP/load.stop
	rm -f "$LOAD_STOP"
	_ls_modes=""
	for _ls_m in "$@"; do _ls_modes="$_ls_modes --mode $_ls_m"; done
	bg "load-g$_ls_n" ip netns exec "$TOPO-g$_ls_n" "$GUEST_PY" "$E2E_PY/soakload.py" \
		--stop "$LOAD_STOP" --out "$E2E_TMP/load-g$_ls_n.out" --rate "$_ls_rate" $_ls_modes \
		--uuid "$(soak_uuid "$_ls_n")" --iid "$(expected "$(soak_uuid "$_ls_n")" /latest/meta-data/instance-id)" \
		--ud-sha256 "$(ud_sha256 "$_ls_n")"
}
# Sum of ok= / failed= over the load files: load_sum ok|failed [FILE...]
load_sum() {
	_lsum_k=$1; shift
	cat "$@" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$_lsum_k=//p" | awk '{s += $1} END {print s + 0}'
}

# served N: guest N gets its instance-id (one try). A SYN lost while
# nothing serves is only retransmitted after 1 s: a try gives up on the
# connection after 0.2 s, so the next try's fresh SYN measures the return
# to within a poll.
served() {
	[ -n "$(in_guest "$1" curl -sf --connect-timeout 0.2 -m 1 "$META/latest/meta-data/instance-id" 2>/dev/null)" ]
}
# time_to_service N [MAX_S]: ms from now until guest N is served, polled
# every POLL_S; -1 when not within MAX_S (default 5) seconds.
time_to_service() {
	_tts_t0=$(date +%s%N)
	if wait_for --timeout "${2:-5}" served "$1"; then
		echo $(( ($(date +%s%N) - _tts_t0) / 1000000 ))
	else echo -1; fi
}

# ---- process and map figures ----------------------------------------------------------
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# Orphans in the pinned maps (tools/mdrfsck.py): prints the count, details
# to $E2E_TMP/fsck.out.
pinned_orphans() {
	"$GUEST_PY" "$E2E_ROOT/tools/mdrfsck.py" "$PIN" >"$E2E_TMP/fsck.out" 2>&1
	_po_rc=$?
	if [ $_po_rc -gt 1 ]; then echo "fsck-error"; return 0; fi
	sed -n 's/^orphans: //p' "$E2E_TMP/fsck.out"
}
