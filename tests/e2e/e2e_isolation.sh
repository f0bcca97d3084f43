#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_isolation.sh - guests get their own data and nothing else:
#  1. port mode, four guests on the SAME IPv4 address, bound by port + MAC
#     (guest 4 also to VLAN 100): each gets only its own data, also when
#     all ask at once;
#  2. a guest sending with another instance's MAC on its own port gets no
#     SYN-ACK and the XDP `spoofed` counter grows (scapy frames);
#  3. a frame tagged with a VLAN the instance is not bound to is not served;
#  4. an IMDSv2 token minted by one instance is refused by another (401);
#  5. bridge mode: a MAC bound to one port is not trusted on another port
#     until the binding is updated (VM migration), then it is;
#  6. a MAC pinned to a port that does not exist yet is trusted nowhere
#     (counted as unknown) until the port appears, then it is served;
#  7. bridge-device mode (XDP on br0): mdrd installs per-bridge-port
#     source-MAC rules (nftables) for MACs bound with their port; guest 2
#     forging guest 1's MAC (SYN, GET) is not served, the bridge does not
#     learn MAC1 on tap2, the drops are counted, mdrctl status says so.
# Usage: sh tests/e2e/e2e_isolation.sh
. "$(dirname "$0")/lib.sh"
e2e_init isolation

DATA=$E2E_ROOT/tests/data/instances
# Requests per guest in the concurrent same-IP round.
CONCURRENT_REQS=30
# Seconds a probe waits for a SYN-ACK that must not come.
PROBE_WAIT_S=1

defn_of() { echo "$DEF_DIR/g$1.json"; }
uuid_of() { "$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$(defn_of "$1")"; }
gcurl() { _n=$1; shift; in_guest "$_n" curl -sS -m 5 "$@"; }
probe() { # N probe.py args...
	_n=$1; shift
	gpy "$_n" probe.py --timeout $PROBE_WAIT_S "$@"
}

# ---- port mode -------------------------------------------------------------
MODE=port
diag "==== port mode, four guests on one IPv4 address"
topo_create --mode port --guests 4 --same-ip || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
inst_write "$DATA/vm1.json" 1 port+mac
inst_write "$DATA/vm2.json" 2 port+mac
inst_write "$DATA/vm3.json" 3 port+mac
# Guest 4 is bound to VLAN 100 (probed with scapy: the kernel here may lack
# 802.1Q interfaces).
inst_write "$DATA/vm4-nokeys.json" 4 port+mac --vlan 100
for i in 1 2 3 4; do check "$MODE: load guest $i's definition" mdrctl instance load "$(defn_of $i)"; done

check_eq "$MODE: guests 1..4 share one IPv4 address" "$IP1 $IP2 $IP3 $IP4" "$IP1 $IP1 $IP1 $IP1"
tok() { gcurl "$1" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $META/latest/api/token; }
for i in 1 2 3; do
	t=$(tok $i)
	check_eq "$MODE: guest $i gets its own uuid" "$(meta_uuid $i)" "$(uuid_of $i)"
	check_eq "$MODE: guest $i gets its own user data" \
		"$(gcurl $i -H "X-aws-ec2-metadata-token: $t" $META/openstack/latest/user_data | sha256sum)" \
		"$("$GUEST_PY" -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["user_data"]))' "$(defn_of $i)" | sha256sum)"
	check_eq "$MODE: guest $i gets its own instance-id" \
		"$(gcurl $i -H "X-aws-ec2-metadata-token: $t" $META/latest/meta-data/instance-id)" \
		"$("$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ec2"]["instance_id"])' "$(defn_of $i)")"
done

# All at once: every answer is the asker's. (Wait for these PIDs only: a
# bare `wait` would also wait for the daemons.)
conc_pids=""
for i in 1 2 3; do
	(
		n=0
		while [ $n -lt $CONCURRENT_REQS ]; do
			meta_uuid $i
			n=$((n + 1))
		done
	) >"$E2E_TMP/conc$i.out" 2>&1 &
	conc_pids="$conc_pids $!"
done
for p in $conc_pids; do wait "$p"; done
for i in 1 2 3; do
	check_eq "$MODE: $CONCURRENT_REQS concurrent requests of guest $i all get its uuid" \
		"$(sort -u "$E2E_TMP/conc$i.out")" "$(uuid_of $i)"
done

# ---- spoofed source MAC ----
meta_mac=$(in_guest 1 ip neigh show 169.254.169.254 dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
[ -n "$meta_mac" ] || meta_mac=02:a9:fe:a9:fe:fe
diag "metadata MAC seen by guest 1: $meta_mac"
check "$MODE: control: guest 1 SYN with its own MAC gets a SYN-ACK" \
	probe 1 --src-mac "$MAC1" --src-ip "$IP1" --dst-mac "$meta_mac"
before=$(stat_get spoofed)
check_not "$MODE: guest 1 sending with guest 2's MAC gets no SYN-ACK" \
	probe 1 --src-mac "$MAC2" --src-ip "$IP1" --dst-mac "$meta_mac"
after=$(stat_get spoofed)
check "$MODE: the spoofed frame is counted as spoofed ($before -> $after)" \
	test "${after:-0}" -gt "${before:-0}"

# ---- VLANs ----
check_not "$MODE: guest 1 (bound untagged) tagged VLAN 100 gets no SYN-ACK" \
	probe 1 --src-mac "$MAC1" --src-ip "$IP1" --dst-mac "$meta_mac" --vlan 100
check "$MODE: control: guest 4 (bound to VLAN 100) tagged 100 gets a SYN-ACK" \
	probe 4 --src-mac "$MAC4" --src-ip "$IP4" --dst-mac "$meta_mac" --vlan 100
check_not "$MODE: guest 4 (bound to VLAN 100) tagged VLAN 200 gets no SYN-ACK" \
	probe 4 --src-mac "$MAC4" --src-ip "$IP4" --dst-mac "$meta_mac" --vlan 200
check_not "$MODE: guest 4 (bound to VLAN 100) untagged gets no SYN-ACK" \
	probe 4 --src-mac "$MAC4" --src-ip "$IP4" --dst-mac "$meta_mac"

# ---- IMDSv2 tokens are bound to the instance ----
put_token() { gcurl "$1" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' $META/latest/api/token; }
t1=$(put_token 1)
t2=$(put_token 2)
check "$MODE: guests 1 and 2 got tokens" test -n "$t1" -a -n "$t2" -a "$t1" != "$t2"
code() { _n=$1; shift; gcurl "$_n" -o /dev/null -w '%{http_code}' "$@"; }
check_eq "$MODE: guest 2 (tokens required) with its own token: 200" \
	"$(code 2 -H "X-aws-ec2-metadata-token: $t2" $META/latest/meta-data/instance-id)" 200
check_eq "$MODE: guest 2 (tokens required) with guest 1's token: 401" \
	"$(code 2 -H "X-aws-ec2-metadata-token: $t1" $META/latest/meta-data/instance-id)" 401
check_eq "$MODE: guest 1 (tokens optional) presenting guest 2's token: 401" \
	"$(code 1 -H "X-aws-ec2-metadata-token: $t2" $META/latest/meta-data/instance-id)" 401
check_eq "$MODE: guest 2 with a malformed token: 401" \
	"$(code 2 -H 'X-aws-ec2-metadata-token: AAAA' $META/latest/meta-data/instance-id)" 401

# ---- a MAC pinned to a port that is absent (issue 12 hole 2) ----
# Instance V is bound to port tapv (absent: a VM migrating in) and MAC M
# (guest 3's). Until tapv exists, M must be trusted nowhere: guest 3,
# sending with M from tap3 (now unbound), is not served V's data and the
# frame is counted as unknown. When tap3 becomes tapv (renamed: the port
# appears), mdrd writes both bindings and guest 3 is served V.
UV=11111111-2222-4333-8444-5555555555aa
macs_of() { mdrctl instance list -j | "$GUEST_PY" -c "import json,sys; print([m['mac'] for i in json.load(sys.stdin) if i['uuid']=='$1' for m in i['bindings']['macs']])"; }
check "$MODE: guest 3's instance deleted (tap3 and its MAC are free)" mdrctl instance del "$(uuid_of 3)"
"$GUEST_PY" "$E2E_PY/defn.py" "$DATA/vm3.json" --binding port+mac --port tapv --mac "$MAC3" \
	uuid="\"$UV\"" >"$DEF_DIR/gv.json"
check "$MODE: instance V (port tapv absent, MAC of guest 3) loads" \
	mdrctl instance load --allow-missing-port "$DEF_DIR/gv.json"
check_eq "$MODE: no MAC binding is written while its port is absent" "$(macs_of "$UV")" "[]"
before=$(stat_get unknown)
check_not "$MODE: guest 3 sending with V's MAC from another port gets no SYN-ACK" \
	probe 3 --src-mac "$MAC3" --src-ip "$IP3" --dst-mac "$meta_mac"
after=$(stat_get unknown)
check "$MODE: the attempt is counted as unknown ($before -> $after)" \
	test "${after:-0}" -gt "${before:-0}"
in_hv ip link set tap3 down && in_hv ip link set tap3 name tapv && in_hv ip link set tapv up
v_mac_bound() { [ "$(macs_of "$UV")" = "['$MAC3']" ]; }
check "$MODE: when tapv appears, mdrd writes V's MAC binding" wait_for v_mac_bound
check_eq "$MODE: then guest 3 (on tapv, MAC M) is served V" "$(meta_uuid 3)" "$UV"
[ "$_T_FAIL" -gt 0 ] && dump_logs
topo_teardown

# ---- bridge mode: a MAC that moves to another port ---------------------------
MODE=bridge
diag "==== bridge mode, MAC bound to tap1, frames with it arrive on tap2"
topo_create --mode bridge --guests 2 || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
inst_write "$DATA/vm1.json" 1 port+mac # MAC1, trusted on tap1 only
check "$MODE: load guest 1's definition (MAC pinned to tap1)" mdrctl instance load "$(defn_of 1)"
gw_mac=$(ip -n "$HV" -o link show br0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
check_eq "$MODE: guest 1 is served" "$(meta_uuid 1)" "$(uuid_of 1)"
check "$MODE: control: guest 1 SYN with its MAC gets a SYN-ACK" \
	probe 1 --src-mac "$MAC1" --src-ip "$IP1" --dst-mac "$gw_mac"
before=$(stat_get spoofed)
check_not "$MODE: guest 2 sending with guest 1's MAC from tap2 gets no SYN-ACK" \
	probe 2 --src-mac "$MAC1" --src-ip "$IP2" --dst-mac "$gw_mac"
after=$(stat_get spoofed)
check "$MODE: the moved MAC is counted as spoofed ($before -> $after)" \
	test "${after:-0}" -gt "${before:-0}"
# Orchestration moves the binding (migration): now tap2 is trusted for it.
inst_write "$DATA/vm1.json" 2 port+mac --mac "$MAC1"
check "$MODE: rebind guest 1's instance to tap2" mdrctl instance load "$(defn_of 2)"
check "$MODE: after the binding update, MAC1 on tap2 gets a SYN-ACK" \
	probe 2 --src-mac "$MAC1" --src-ip "$IP2" --dst-mac "$gw_mac"
check_not "$MODE: after the binding update, MAC1 on tap1 gets no SYN-ACK" \
	probe 1 --src-mac "$MAC1" --src-ip "$IP1" --dst-mac "$gw_mac"
[ "$_T_FAIL" -gt 0 ] && dump_logs
topo_teardown

# ---- bridge-device mode: a forged neighbour's MAC (issue 12 hole 3) ----------
# XDP on br0 sees every frame as coming from br0, so XDP cannot pin a MAC
# binding to its port: mdrd does it in the bridge, with a per-port
# source-MAC rule (nftables bridge family, prerouting, before FDB learning)
# for every bound MAC whose binding names its port. Everything lives in this
# run's hypervisor namespace.
MODE=bridge-device
diag "==== bridge-device mode, guest 2 forges guest 1's MAC"
topo_create --mode bridge-device --guests 2 || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
for i in 1 2; do
	inst_write "$DATA/vm$i.json" $i port+mac # tapI is a port of br0
	check "$MODE: load guest $i's definition (bound to its bridge port and MAC)" \
		mdrctl instance load "$(defn_of $i)"
done
gw_mac=$(ip -n "$HV" -o link show br0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ps_json() { mdrctl status -j | "$GUEST_PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin).get("port_security", [])))'; }
ps_enforced() { ps_json | grep -q '"enforced": 2'; }
check "$MODE: mdrd installs per-port source-MAC rules for both bindings" wait_for ps_enforced
check_eq "$MODE: guest 1 is served" "$(meta_uuid 1)" "$(uuid_of 1)"
check_eq "$MODE: guest 2 is served" "$(meta_uuid 2)" "$(uuid_of 2)"
check "$MODE: mdrctl status says enforcement is on (no warning)" \
	sh -c "nsenter --net=/run/netns/$HV '$BUILD_DIR/mdrctl' --pin-dir '$PIN' status >'$E2E_TMP/ps-status.txt' &&
		grep -q '^port security: port br0: source-MAC anti-spoofing enforced per bridge port for 2 MAC binding' '$E2E_TMP/ps-status.txt' &&
		! grep -q '^warning: port br0' '$E2E_TMP/ps-status.txt'"
ip -n "$TOPO-g1" neigh flush all; meta_uuid 1 >/dev/null # the bridge learns MAC1 on tap1
check_not "$MODE: guest 2 SYN with guest 1's MAC gets no SYN-ACK" \
	probe 2 --src-mac "$MAC1" --src-ip "$IP2" --dst-mac "$gw_mac"
# A GET with guest 1's MAC: guest 2's interface takes MAC1 for the request.
in_guest 2 ip link set eth0 address "$MAC1"
in_guest 2 ip neigh flush all
forged=$(in_guest 2 curl -s -m 3 $META/openstack/latest/meta_data.json)
in_guest 2 ip link set eth0 address "$MAC2"
in_guest 2 ip neigh flush all
check_eq "$MODE: guest 2 GET with guest 1's MAC is not served" "$forged" ""
check "$MODE: the bridge did not learn guest 1's MAC on guest 2's port" \
	sh -c "! ip -n '$HV' -o link show tap2 >/dev/null || ! bridge -n '$HV' fdb show br br0 dev tap2 | grep -qi '^$MAC1 '"
check_eq "$MODE: guest 1 is still served its own data" "$(meta_uuid 1)" "$(uuid_of 1)"
check_eq "$MODE: guest 2 is still served with its own MAC" "$(meta_uuid 2)" "$(uuid_of 2)"
drops=$(ps_json | "$GUEST_PY" -c 'import json, sys; print(sum(b["dropped"] for b in json.load(sys.stdin)))')
check "$MODE: the forged frames are counted (mdrctl status: $drops dropped)" test "${drops:-0}" -gt 0
table=$(in_hv nft -j list tables bridge | "$GUEST_PY" -c 'import json, sys
print(" ".join(t["table"]["name"] for t in json.load(sys.stdin)["nftables"] if "table" in t and t["table"]["name"].startswith("mdr_ps_")))')
diag "$MODE: mdrd's table: bridge $table"
# The binding goes: its rule goes with it (atomic replacement).
check "$MODE: delete guest 2's instance" mdrctl instance del "$(uuid_of 2)"
one_rule() { [ "$(in_hv nft list chain bridge "$table" prerouting 2>/dev/null | grep -c 'ether saddr')" = 1 ]; }
check "$MODE: mdrd removes guest 2's rule (one rule left)" wait_for one_rule
stop_pid "$MDRD_PID"; MDRD_PID=""
check "$MODE: a clean mdrd exit removes its table" sh -c "! nsenter --net=/run/netns/$HV nft list table bridge '$table' >/dev/null 2>&1"
[ "$_T_FAIL" -gt 0 ] && dump_logs
topo_teardown
e2e_done
