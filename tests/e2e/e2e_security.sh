#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_security.sh - the security rules of issue 6 end to end, from guests
# (port mode, five guests; isolation itself is e2e_isolation.sh's):
#  1. IMDSv2 token PUT: TTL 1..21600 -> 200 + token + TTL echoed; 0,
#     21601, non-numeric, empty, missing, repeated -> 400; X-Forwarded-For
#     in any capitalisation -> 400;
#  2. tokens=optional: v1 GETs work; a bogus, tampered or expired token ->
#     401 (also on the OpenStack tree);
#  3. tokens=required: missing / malformed / tampered / expired -> 401,
#     valid -> 200; tokens survive a responder restart (key in the pinned
#     mdr_tokkey map); after `mdrctl token-key rotate` old tokens still
#     work and new ones use the new key; after a second rotation the first
#     key's tokens are refused;
#  4. hop limit: the token PUT reply leaves with IP TTL / IPv6 hop limit =
#     imds.hop_limit (1 by default, 3 on guest 3), every other reply (GETs,
#     SYN-ACKs, a GET after a PUT on one keep-alive connection) with 64;
#     captured with scapy on the guest's eth0;
#  5. limits: max_connections (excess refused, counted, another guest still
#     served); the XDP rate limit (rate_limited grows, the instance gets at
#     most burst + rate x time through, another guest unaffected, the
#     flooder is served again afterwards); oversized requests -> 414 / 431
#     / 413 and the connection closes, the responder keeps serving;
#  6. flood fairness: guest 5 floods (SYN flood, connection flood, request
#     flood, each FLOOD_S seconds) while guest 1 makes sequential requests:
#     every one of guest 1's requests succeeds; its p50/p99 are printed as
#     "# flood:" comments (figures, not assertions; docs/security.md);
#  7. output amplification (issue 12): guest 5 announces MSS 88 and a
#     64 KiB window, pipelines user-data GETs and ACKs the highest
#     sequence ~900 times a second (sec_amp.py) while guest 1 probes: the
#     responder's frames for guest 5 over guest 5's packets stay <=
#     AMP_RATIO_MAX, no segment is under 536 bytes but a reply's last,
#     every guest 1 request succeeds; the ratio is printed "# amp:".
#  8. hostile guests (issue 12): the floods of 6 and the amplification of
#     7 (measured there, not run twice), a 404 flood (thousands of made-up
#     paths, guest 5), zero-window connections (guest 6: 64 connections,
#     8 pipelined user-data GETs each, window 0, every probe answered) and
#     a forged neighbour MAC (guest 5, bound by port + MAC, sends with
#     guest 1's MAC), each while guest 1 probes as in 6; one table (TAP
#     "# " lines, also $E2E_TMP/hostile-table.md, copied next to the test
#     log): what the attacker achieved, guest 1's success and p99 against
#     the quiet p99, isolation held. Asserted per row: guest 1 100%, p99
#     under the bound below; the 404 flood is held to the request budget
#     (requests_deferred counts, answers <= burst + rate x time); the
#     zero-window connections are given up (within ZW_PERSIST_MAX_S) and
#     the forged frames served nothing and counted.
# Floods use the bench's tools/bench/flood.c and synack_drop.bpf.c (built
# into the temp dir) and wrk; parts needing a missing tool are skipped.
# Usage: sh tests/e2e/e2e_security.sh
. "$(dirname "$0")/lib.sh"
e2e_init security

DATA=$E2E_ROOT/tests/data/instances
BT=$E2E_ROOT/tools/bench
# curl's per-request bound for probes that must answer at once.
CURL_S=5
# Guest 3's limits: few connections, a small request size, hop limit 3.
G3_MAX_CONNS=8
G3_MAX_REQUEST=1024
G3_HOP_LIMIT=3
# Connections guest 3 opens at once (twice its limit).
G3_OPEN=16
# Guest 4's XDP token bucket: 20 packets/s, burst 5 (a handful of requests).
G4_RATE=20
G4_BURST=5
# Guest 4's SYN burst: rate (packets/s) and seconds; far above its bucket.
RL_FLOOD_PPS=1000
RL_FLOOD_S=2
# Seconds within which a TTL-1 token must be seen expired (TTL + clock
# granularity of 1 s + slack for a loaded machine).
EXPIRY_WAIT_S=5
# The responder re-reads token keys and flushes counters once a second.
RESPONDER_TICK_WAIT_S=4
# Flood fairness: flood length, victim probing time inside it, per-request
# timeout (cloud-init's is 10 s), fewest victim requests for a valid figure.
FLOOD_S=6
VICTIM_S=3
VICTIM_TIMEOUT_S=5
VICTIM_MIN=10
# The victim starts a request at most every 10 ms: 100 new connections/s
# (~7 packets each) stay under its own XDP allowance (1024 packets/s), so
# what is measured is the attacker's effect, not the victim's own limit.
VICTIM_INTERVAL_MS=10
# Attacker packets the XDP program must have seen before the victim starts
# (the flood is established, not just launched).
FLOOD_BUILDUP_PKTS=200
# SYN flood rate (packets/s), connection flood rate (new/s) and cap on held
# connections, request flood connections (wrk, keep-alive).
SYN_FLOOD_PPS=20000
CONN_FLOOD_RATE=2000
CONN_FLOOD_HOLD=5000
REQ_FLOOD_CONNS=64
# Guest 5 (the flooder) runs with the daemon defaults: a fresh uuid.
G5_UUID=5ec0a77a-0000-4000-8000-00000000f100
# Guest 5's user data: big replies for the amplification attack.
G5_USER_DATA_BYTES=16384
# Amplification attack: seconds, ACKs per second (under guest 5's 1024
# packets/s), and the bound on responder frames per guest packet: an ACK
# releases at most twice the bytes it acknowledges (tcp.h), and the
# instance's output budget gives at most 8 frames per packet/s of its
# allowance (RSP_OUT_FRAMES_PER_PKT: ~9 per packet at 900 packets/s), plus
# the ACK/RST replies.
AMP_S=5
AMP_ACK_RATE=900
AMP_RATIO_MAX=11
# Hostile-guest table (8). The victim's p99 under an attack must stay
# under P99_FACTOR x its quiet p99, or under P99_FLOOR_MS when that is
# larger: p99 of ~290 probes is their third-worst request; quiet p99s
# here are 1-5 ms, and on this 2-core machine shared with the attacker,
# both daemons and other work (a bench of another tree pushed the load
# average to 6-12 during the runs) one scheduling hiccup moves it by
# 10-30 ms in any row (29.5 ms seen under the connection flood), so 2x
# alone flakes. This loose floor still fails what output amplification
# did before issue 12 (p99 53 ms), by a small margin only: the per-row
# figures are printed and kept in docs/security.md, "Hostile guests,
# measured".
P99_FACTOR=2
P99_FLOOR_MS=40
# 404 flood: connections and requests in flight on each (pipelined).
PATHS_CONNS=4
PATHS_DEPTH=16
# Zero-window hold by guest 6: its connection limit (the default, 64),
# GETs of its 16 KiB user data per connection: 8 x 16 KiB fill the
# 128 KiB send buffer of a connection (TCP_SNDBUF_MAX), so the 64 would
# want 8 MiB, twice the per-instance cap (TCP_DEFAULT_INST_SNDBUF_MAX).
ZW_CONNS=64
ZW_GETS=8
ZW_UNCAPPED_KB=$((ZW_CONNS * 128))
# Seconds within which the responder must give the held connections up.
# TCP_DEFAULT_MAX_PROBES (8) unanswered-window probes take ~40 s, but
# Linux's receiver reopens a shut window by a segment now and then (its
# receive queue is collapsed), which is progress and restarts the count;
# measured: all given up 75-82 s after opening. Plus slack.
ZW_PERSIST_MAX_S=100
# Forged neighbour MAC: frames per second (a Python sender; the XDP
# program drops them before the rate limit matters).
FORGE_PPS=2000
G6_UUID=5ec0a77a-0000-4000-8000-00000000f106

command -v curl >/dev/null || skip_all "needs curl"
"$GUEST_PY" -c 'import scapy' 2>/dev/null || skip_all "needs python3-scapy"

gcurl() { _n=$1; shift; in_guest "$_n" curl -sS -m $CURL_S -g "$@"; }
code() { _n=$1; shift; gcurl "$_n" -o /dev/null -w '%{http_code}' "$@"; }
# code_is WANT N curl-args: for wait_for.
code_is() { _w=$1; shift; [ "$(code "$@" 2>/dev/null)" = "$_w" ]; }
tok_hdr() { echo "X-aws-ec2-metadata-token: $1"; }
put_token() { # N TTL
	gcurl "$1" -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: $2" $META/latest/api/token
}
uuid_of() { "$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DEF_DIR/g$1.json"; }
# Python expression over the JSON object in a file (d): jget FILE EXPR.
jget() { "$GUEST_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }
# One counter of `mdrctl stats -j UUID`: mstat N responder|xdp FIELD.
mstat() {
	mdrctl stats -j "$(uuid_of "$1")" |
		"$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$2" "$3" 2>/dev/null ||
		echo 0
}
inst_id() { mdrctl stats -j "$(uuid_of "$1")" | "$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
# mstat_ge N SECTION FIELD MIN: for wait_for (responder counters lag by
# up to a tick).
mstat_ge() { [ "$(mstat "$1" "$2" "$3")" -ge "$4" ]; }
# XDP counter of an instance id >= MIN, live (per-CPU map, no flush delay).
xstat_ge() { [ "$(stat_get "$1" "$2")" -ge "$3" ]; } # FIELD ID MIN
# Key id inside a token (token.h: version byte, then the u32 BE key id).
key_id() {
	"$GUEST_PY" -c 'import base64,sys; t=sys.argv[1]; b=base64.urlsafe_b64decode(t+"="*(-len(t)%4)); print(int.from_bytes(b[1:5],"big"))' "$1" 2>/dev/null || echo "?"
}
new_key_id() { # N OLD_ID: a freshly minted token carries another key id
	[ "$(key_id "$(put_token "$1" 60)")" != "$2" ]
}
# kv FILE KEY: value of KEY=V in a "k=v k=v" line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | head -n 1; }
resp_alive() { _alive "$RESP_PID"; }
# ---- hostile-guest table (8) ----
HT=$E2E_TMP/hostile-rows.json
HT_MD=$E2E_TMP/hostile-table.md
rss_kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$RESP_PID/status" 2>/dev/null || echo 0; }
# hsnap N KEY PHASE: guest N's counters and the responder's RSS ->
# $E2E_TMP/h-KEY-PHASE.json (0 before the attack, 1 after the probe).
hsnap() {
	mdrctl stats -j "$(uuid_of "$1")" |
		"$GUEST_PY" "$E2E_PY/hostile_table.py" snap --rss-kb "$(rss_kb)" >"$E2E_TMP/h-$2-$3.json"
}
# held N: guest N's connections the responder holds (its counters, up to
# a tick old).
held() { echo $(( $(mstat "$1" responder conns_opened) - $(mstat "$1" responder conns_closed) )); }
held_none() { [ "$(held "$1")" -eq 0 ]; }
# g5_flush LABEL: guest 5's own sockets from the rows before go first. With
# the handshake in XDP (xdp-synack, the default) its kernel holds the
# connection flood's sockets as established, and their FINs, retransmitted
# for minutes, keep its instance's table busy (a new connection of the
# next row is then refused) and get the responder's RSTs (frames a row
# would count). Kill them (ss -K; TIME_WAIT sends nothing), then wait
# until the responder holds none of guest 5's connections.
g5_quiet() { [ "$(ip netns exec "$TOPO-g5" ss -Htan exclude time-wait dst 169.254.169.254 | wc -l)" -eq 0 ]; }
g5_flush() {
	ip netns exec "$TOPO-g5" ss -K dst 169.254.169.254 >/dev/null 2>&1
	check "$1: guest 5 holds no connection to the metadata address before it" wait_for --timeout 10 g5_quiet
	wait_for --timeout 10 held_none 5 || diag "$1: the responder still holds $(held 5) of guest 5's connections"
}
# hrow ATTACK KEY SENT [hostile_table.py row options]: one table row from
# the snapshots of KEY and the probe victim-KEY.out (VSENT, VFAIL of
# victim()), asserted: every victim request succeeded, p99 under the
# bound. Isolation held: the victim got its own data every time and the
# responder runs (callers add their attack's own condition with
# HISO=no).
hrow() {
	_ha=$1 _hk=$2 _hs=$3; shift 3
	_hiso=${HISO:-yes}
	[ "${VFAIL:-x}" = 0 ] && resp_alive || _hiso=no
	"$GUEST_PY" "$E2E_PY/hostile_table.py" row "$HT" --attack "$_ha" --sent "$_hs" \
		--before "$E2E_TMP/h-$_hk-0.json" --after "$E2E_TMP/h-$_hk-1.json" \
		--victim "$E2E_TMP/victim-$_hk.out" --isolation $_hiso "$@" >/dev/null
	_hp=$(kv "$E2E_TMP/victim-$_hk.out" p99_ms)
	_hb=$(awk -v q="$QUIET_P99" -v f=$P99_FACTOR -v m=$P99_FLOOR_MS 'BEGIN { b = q * f; if (b < m) b = m; print b }')
	check "hostile $_ha: guest 1 100% served ($((VSENT - VFAIL))/$VSENT)" \
		test "${VFAIL:-x}" = 0 -a "${VSENT:-0}" -ge $VICTIM_MIN
	check "hostile $_ha: guest 1 p99 ${_hp:-?} ms < max(${P99_FACTOR} x quiet ${QUIET_P99} ms, ${P99_FLOOR_MS} ms)" \
		awk -v p="${_hp:-inf}" -v b="$_hb" 'BEGIN { exit !(p + 0 < b + 0) }'
	check_eq "hostile $_ha: isolation held" "$_hiso" yes
	HISO=""
}

# ---- topology and instances ----------------------------------------------------
topo_create --mode port --guests 6 || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
inst_write "$DATA/vm1.json" 1 port # tokens optional, hop limit 1
# tokens required on both trees (vm2.json's "required" alone is the EC2 tree)
inst_write "$DATA/vm2.json" 2 port imds.tokens='{"ec2":"required","openstack":"required"}'
inst_write "$DATA/vm3.json" 3 port imds.hop_limit=$G3_HOP_LIMIT \
	imds.max_connections=$G3_MAX_CONNS imds.max_request=$G3_MAX_REQUEST
inst_write "$DATA/vm4-nokeys.json" 4 port imds.rate_pps=$G4_RATE imds.burst=$G4_BURST
# Guest 5 is bound by port and MAC (its MAC checked on tap5: 8's forged
# neighbour MAC); guest 6 (zero-window holder of 8) like it, by port.
inst_write "$DATA/minimal.json" 5 port+mac uuid="\"$G5_UUID\"" name='"flooder"' \
	hostname='"flooder.novalocal"' \
	user_data="\"$(head -c $G5_USER_DATA_BYTES /dev/urandom | base64 -w0)\""
inst_write "$DATA/minimal.json" 6 port uuid="\"$G6_UUID\"" name='"holder"' \
	hostname='"holder.novalocal"' \
	user_data="\"$(head -c $G5_USER_DATA_BYTES /dev/urandom | base64 -w0)\""
for i in 1 2 3 4 5 6; do check "load guest $i's definition" mdrctl instance load "$DEF_DIR/g$i.json"; done
check "guest 1 is served (v1 GET)" code_is 200 1 $META/latest/meta-data/instance-id

# ---- 1. token PUT rules ------------------------------------------------------------
diag "==== 1. PUT /latest/api/token"
gpy 1 sec_http.py put-matrix >"$E2E_TMP/put-matrix.out" 2>&1
tap_lines "$E2E_TMP/put-matrix.out"
check_eq "GET on the token path: 405" "$(code 1 $META/latest/api/token)" 405

# ---- 2. tokens optional (guest 1) ---------------------------------------------------
diag "==== 2. imds.tokens optional (guest 1)"
BOGUS=AQAAAAEAAAAAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
t1=$(put_token 1 300)
check_eq "optional: v1 GET without a token: 200 with its data" \
	"$(gcurl 1 $META/latest/meta-data/instance-id)" i-0000000a
check_eq "optional: GET with a valid token: 200" \
	"$(gcurl 1 -H "$(tok_hdr "$t1")" $META/latest/meta-data/instance-id)" i-0000000a
check_eq "optional: GET with a bogus token: 401" \
	"$(code 1 -H "$(tok_hdr $BOGUS)" $META/latest/meta-data/instance-id)" 401
t1x=$(printf '%s' "$t1" | sed 's/.$/A/')
[ "$t1x" = "$t1" ] && t1x=$(printf '%s' "$t1" | sed 's/.$/B/')
check_eq "optional: GET with a tampered token (last char changed): 401" \
	"$(code 1 -H "$(tok_hdr "$t1x")" $META/latest/meta-data/instance-id)" 401
check_eq "optional: OpenStack tree with a bogus token: 401" \
	"$(code 1 -H "$(tok_hdr $BOGUS)" $META/openstack/latest/meta_data.json)" 401
check_eq "optional: the 401 has an empty body (as EC2)" \
	"$(gcurl 1 -H "$(tok_hdr $BOGUS)" $META/latest/meta-data/instance-id | wc -c)" 0
te=$(put_token 1 1)
check_eq "optional: a TTL-1 token is issued" "${#te}" 76
check "optional: the TTL-1 token is refused (401) within ${EXPIRY_WAIT_S}s" \
	wait_for --timeout $EXPIRY_WAIT_S code_is 401 1 -H "$(tok_hdr "$te")" $META/latest/meta-data/instance-id
check_eq "optional: v1 GET still works after that" "$(code 1 $META/latest/meta-data/instance-id)" 200

# ---- 3. tokens required (guest 2) -----------------------------------------------------
diag "==== 3. imds.tokens required (guest 2)"
for p in /latest/meta-data/instance-id /latest/user-data /openstack/latest/meta_data.json /openstack/latest/user_data; do
	check_eq "required: $p without a token: 401" "$(code 2 $META$p)" 401
done
t2=$(put_token 2 300)
check_eq "required: GET with a valid token: 200 with its data" \
	"$(gcurl 2 -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id)" i-0000000b
check_eq "required: OpenStack tree with a valid token: 200" \
	"$(code 2 -H "$(tok_hdr "$t2")" $META/openstack/latest/meta_data.json)" 200
check_eq "required: a malformed token (not base64url): 401" \
	"$(code 2 -H 'X-aws-ec2-metadata-token: not a token!' $META/latest/meta-data/instance-id)" 401
check_eq "required: a truncated token: 401" \
	"$(code 2 -H "$(tok_hdr "$(printf '%s' "$t2" | cut -c1-40)")" $META/latest/meta-data/instance-id)" 401
t2x=$(printf '%s' "$t2" | sed 's/^\(.\{30\}\)./\1A/;t;s/^/x/')
[ "$t2x" = "$t2" ] && t2x=$(printf '%s' "$t2" | sed 's/^\(.\{30\}\)./\1B/')
check_eq "required: a tampered token (one char in the middle changed): 401" \
	"$(code 2 -H "$(tok_hdr "$t2x")" $META/latest/meta-data/instance-id)" 401
check_eq "required: the token twice: 400" \
	"$(code 2 -H "$(tok_hdr "$t2")" -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id)" 400
te=$(put_token 2 1)
check "required: a TTL-1 token is refused (401) within ${EXPIRY_WAIT_S}s" \
	wait_for --timeout $EXPIRY_WAIT_S code_is 401 2 -H "$(tok_hdr "$te")" $META/latest/meta-data/instance-id

diag "---- restart of the responder"
stop_pid "$RESP_PID"
RESP_PID=""
start_responder || dump_logs
check_eq "a token minted before a responder restart still works (required)" \
	"$(code 2 -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id)" 200
check_eq "a token minted before a responder restart still works (optional)" \
	"$(code 1 -H "$(tok_hdr "$t1")" $META/latest/meta-data/instance-id)" 200

diag "---- key rotation"
k_old=$(key_id "$t2")
check "mdrctl token-key rotate" mdrctl token-key rotate
check_eq "after a rotation, an old token still works" \
	"$(code 2 -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id)" 200
check "after a rotation, new tokens carry the new key id (responder reloads within ${RESPONDER_TICK_WAIT_S}s)" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S new_key_id 2 "$k_old"
t2b=$(put_token 2 300)
diag "token key ids: before rotation $k_old, after $(key_id "$t2b")"
check_eq "after a rotation, a new token works" \
	"$(code 2 -H "$(tok_hdr "$t2b")" $META/latest/meta-data/instance-id)" 200
check_eq "after a rotation, the old token still works next to it" \
	"$(code 2 -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id)" 200
check "second mdrctl token-key rotate" mdrctl token-key rotate
check "after a second rotation, a token of the first key is refused (401)" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S code_is 401 2 -H "$(tok_hdr "$t2")" $META/latest/meta-data/instance-id
check_eq "after a second rotation, a token of the previous key still works" \
	"$(code 2 -H "$(tok_hdr "$t2b")" $META/latest/meta-data/instance-id)" 200

# ---- 4. hop limit ------------------------------------------------------------------------
diag "==== 4. hop limit of the token PUT reply (scapy capture on the guest's eth0)"
hop_check() { # N ADDR HOP LABEL
	_f=$E2E_TMP/hop-$1-$4.json
	gpy "$1" sec_hoplimit.py --addr "$2" >"$_f" 2>&1
	diag "guest $1 $4: $(cat "$_f")"
	check_eq "guest $1 ($4): the requests were answered (PUT, GET, PUT+GET keep-alive)" \
		"$(jget "$_f" 'sorted(set(d["status"].values()))')" "[200]"
	check_eq "guest $1 ($4): token PUT reply TTL = hop_limit $3" "$(jget "$_f" 'sorted(set(d["put"]))')" "[$3]"
	check_eq "guest $1 ($4): GET reply TTL 64" "$(jget "$_f" 'sorted(set(d["get"]))')" "[64]"
	check_eq "guest $1 ($4): keep-alive: PUT reply TTL $3, then GET reply TTL 64" \
		"$(jget "$_f" '[sorted(set(d["ka_put"])), sorted(set(d["ka_get"]))]')" "[[$3], [64]]"
	check_eq "guest $1 ($4): SYN-ACK TTL 64" "$(jget "$_f" 'd["synack"]')" "[64]"
}
hop_check 1 169.254.169.254 1 IPv4
hop_check 1 'fe80::a9fe:a9fe%eth0' 1 IPv6
hop_check 3 169.254.169.254 $G3_HOP_LIMIT IPv4
hop_check 3 'fe80::a9fe:a9fe%eth0' $G3_HOP_LIMIT IPv6

# ---- 5. limits ------------------------------------------------------------------------------
diag "==== 5a. max_connections $G3_MAX_CONNS (guest 3 opens $G3_OPEN at once)"
refused0=$(mstat 3 responder conns_refused)
rel=$E2E_TMP/release-conns
bg conns3 ip netns exec "$TOPO-g3" "$GUEST_PY" "$E2E_PY/sec_http.py" conns --count $G3_OPEN \
	--release "$rel" --hold-max 20
cpid=$BG_PID
wait_for --timeout 10 grep -q established "$E2E_TMP/conns3.log"
c1=$E2E_TMP/conns3-1.json
c2=$E2E_TMP/conns3-2.json
grep -m1 established "$E2E_TMP/conns3.log" >"$c1" 2>/dev/null
check_eq "max_connections: guest 1 is served while guest 3 holds $G3_OPEN connections" \
	"$(gcurl 1 $META/latest/meta-data/instance-id)" i-0000000a
touch "$rel"
wait_for --timeout 15 _dead "$cpid"
stop_pid "$cpid"
sed -n '2p' "$E2E_TMP/conns3.log" >"$c2"
diag "guest 3: $(cat "$c1") then $(cat "$c2")"
# A SYN over the limit may still get a SYN-ACK (its ISN is a cookie: XDP
# answers every SYN, the responder's engine drops the oldest half-open
# connection for one); the connection is reset when its ACK or request
# reaches a full table. With the handshake in XDP a connection exists in
# the responder only from its request on (XDP drops the handshake ACK), so
# the guest sends its 16 GETs before reading any answer. Either way the
# responder holds at most the limit.
check_eq "max_connections: exactly $G3_MAX_CONNS of guest 3's $G3_OPEN connections are served" \
	"$(jget "$c2" 'd["served"]')" $G3_MAX_CONNS
check_eq "max_connections: the other $((G3_OPEN - G3_MAX_CONNS)) are refused (RST at connect or at first use) or dropped" \
	"$("$GUEST_PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(a["refused"] + a["reset"] + a["timed_out"] + b["reset"])' "$c1" "$c2" 2>&1)" \
	$((G3_OPEN - G3_MAX_CONNS))
check "max_connections: responder counter conns_refused of guest 3 grew by >= $((G3_OPEN - G3_MAX_CONNS))" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 3 responder conns_refused $((refused0 + G3_OPEN - G3_MAX_CONNS))
diag "guest 3 conns_refused: $refused0 -> $(mstat 3 responder conns_refused)"
check_eq "max_connections: guest 3 is served again once its connections closed" \
	"$(code 3 $META/latest/meta-data/instance-id)" 200

diag "==== 5b. XDP rate limit: guest 4 at ${G4_RATE} pps, burst $G4_BURST"
FLOOD_BIN=$E2E_TMP/flood
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE "$BT/flood.c" -o "$FLOOD_BIN" \
	>"$E2E_TMP/flood-build.log" 2>&1 || FLOOD_BIN=""
SYNACK_DROP=$E2E_TMP/synack_drop.bpf.o
${CLANG:-clang} -g -O2 -target bpf -Wall -Wextra -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
	-c "$BT/synack_drop.bpf.c" -o "$SYNACK_DROP" >>"$E2E_TMP/flood-build.log" 2>&1 || SYNACK_DROP=""
if [ -z "$FLOOD_BIN" ]; then
	skip "rate limit: SYN burst from guest 4" "cannot build tools/bench/flood.c: $(head -c 200 "$E2E_TMP/flood-build.log")"
else
	id4=$(inst_id 4)
	rl0=$(stat_get rate_limited "$id4")
	rd0=$(stat_get redirected "$id4")
	bg victim-rl ip netns exec "$TOPO-g1" "$GUEST_PY" "$E2E_PY/sec_http.py" seq --duration $RL_FLOOD_S \
		--interval $VICTIM_INTERVAL_MS --expect i-0000000a
	vpid=$BG_PID
	t0=$(date +%s%N)
	in_guest 4 "$FLOOD_BIN" syn -R $RL_FLOOD_PPS -D $RL_FLOOD_S >"$E2E_TMP/flood-rl.out" 2>&1
	t1=$(date +%s%N)
	wait_for --timeout $((RL_FLOOD_S + 30)) _dead "$vpid"
	stop_pid "$vpid"
	sent=$(kv "$E2E_TMP/flood-rl.out" sent)
	rl1=$(stat_get rate_limited "$id4")
	rd1=$(stat_get redirected "$id4")
	t2=$(date +%s%N)
	# Packets the bucket may pass: the burst plus the rate over the time
	# from the flood's start to this reading (rounded up by a second):
	# guest 4's kernel answers the SYN-ACKs that keep arriving after the
	# flood ended (RSTs), and those count too.
	allowed=$((G4_BURST + G4_RATE * ((t2 - t0) / 1000000000 + 1)))
	diag "guest 4 SYN burst: sent=${sent:-?}, XDP rate_limited +$((rl1 - rl0)), redirected +$((rd1 - rd0)) (bucket allows <= $allowed)"
	check "rate limit: guest 4's XDP rate_limited counter grew by >= sent - allowed" \
		test "$((rl1 - rl0))" -ge "$(( ${sent:-0} - allowed ))" -a "$((rl1 - rl0))" -gt 0
	check "rate limit: at most burst + rate x time of guest 4's packets reached the responder" \
		test "$((rd1 - rd0))" -le "$allowed"
	check_eq "rate limit: guest 1's requests during guest 4's burst all succeeded" \
		"$(kv "$E2E_TMP/victim-rl.log" failed)" 0
	diag "guest 1 during guest 4's burst: $(head -n 1 "$E2E_TMP/victim-rl.log")"
	check "rate limit: guest 4 is served again after its burst" \
		wait_for --timeout 10 code_is 200 4 $META/latest/meta-data/instance-id
fi

diag "==== 5c. request size limits"
gpy 1 sec_http.py oversize --label "guest 1 (default limits)" >"$E2E_TMP/oversize1.out" 2>&1
tap_lines "$E2E_TMP/oversize1.out"
gpy 3 sec_http.py oversize --label "guest 3 (max_request $G3_MAX_REQUEST)" \
	--max-request $G3_MAX_REQUEST >"$E2E_TMP/oversize3.out" 2>&1
tap_lines "$E2E_TMP/oversize3.out"
check "request size: the responder is still running" resp_alive
check "request size: responder counters show guest 1's 431s" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 1 responder status_431 3
check "request size: responder counters show guest 1's 413s" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 1 responder status_413 2
check "request size: responder counters show guest 1's 414s" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 1 responder status_414 2

# ---- 6. flood fairness -------------------------------------------------------------------------
diag "==== 6. flood fairness: guest 5 floods for ${FLOOD_S}s, guest 1 probes sequentially"
id5=$(inst_id 5)
id1=$(inst_id 1)
victim() { # label: sequential requests of guest 1 -> VSENT VFAIL VLINE
	_vrl0=$(stat_get rate_limited "$id1")
	gpy 1 sec_http.py seq --duration $VICTIM_S --timeout $VICTIM_TIMEOUT_S --min $VICTIM_MIN \
		--interval $VICTIM_INTERVAL_MS --expect i-0000000a >"$E2E_TMP/victim-$1.out" 2>&1
	VSENT=$(kv "$E2E_TMP/victim-$1.out" sent)
	VFAIL=$(kv "$E2E_TMP/victim-$1.out" failed)
	# The victim's own packets the XDP limiter dropped: a slow request
	# then has a cause on the victim's side, not the attacker's.
	VLINE="$(head -n 1 "$E2E_TMP/victim-$1.out") own_rate_limited=$(( $(stat_get rate_limited "$id1") - _vrl0 ))"
}
attacker_synack_drop() { # on|off: a SYN flooder ignores SYN-ACKs (no RST back)
	if [ "$1" = on ]; then
		[ -n "$SYNACK_DROP" ] && ip -n "$TOPO-g5" -force link set dev eth0 xdpdrv obj "$SYNACK_DROP" sec xdp
	else
		ip -n "$TOPO-g5" link set dev eth0 xdp off
	fi
}
victim base
QUIET_P99=$(kv "$E2E_TMP/victim-base.out" p99_ms)
diag "flood: none: guest 1 $VLINE"
check "flood none: all guest 1 requests succeed ($VSENT sent)" test "${VFAIL:-x}" = 0 -a "${VSENT:-0}" -ge $VICTIM_MIN

for ft in syn conn req; do
	case $ft in
	syn | conn) [ -n "$FLOOD_BIN" ] || { skip "flood $ft" "tools/bench/flood.c did not build"; continue; } ;;
	req) command -v wrk >/dev/null || { skip "flood req" "needs wrk"; continue; } ;;
	esac
	m0=$(stat_get matched "$id5")
	rl0=$(stat_get rate_limited "$id5")
	ref0=$(mstat 5 responder conns_refused)
	hsnap 5 $ft 0
	case $ft in
	syn)
		attacker_synack_drop on
		bg flood-syn ip netns exec "$TOPO-g5" "$FLOOD_BIN" syn -R $SYN_FLOOD_PPS -D $FLOOD_S ;;
	conn)
		bg flood-conn ip netns exec "$TOPO-g5" "$FLOOD_BIN" conn -R $CONN_FLOOD_RATE -n $CONN_FLOOD_HOLD -D $FLOOD_S ;;
	req)
		bg flood-req timeout -k 5 $((FLOOD_S + 20)) nsenter --net="/run/netns/$TOPO-g5" \
			sh "$E2E_ROOT/tools/bench/wrk-flood.sh" $FLOOD_S $REQ_FLOOD_CONNS \
			$META/latest/meta-data/hostname ;;
	esac
	fpid=$BG_PID
	wait_for --timeout 3 xstat_ge matched "$id5" $((m0 + FLOOD_BUILDUP_PKTS)) ||
		diag "flood $ft: the attacker's traffic did not reach $FLOOD_BUILDUP_PKTS packets in 3 s"
	victim $ft
	hsnap 5 $ft 1
	attacker_running=no
	_alive "$fpid" && attacker_running=yes
	wait_for --timeout $((FLOOD_S + 25)) _dead "$fpid"
	stop_pid "$fpid"
	[ $ft = syn ] && attacker_synack_drop off
	m1=$(stat_get matched "$id5")
	rl1=$(stat_get rate_limited "$id5")
	ref1=$(mstat 5 responder conns_refused)
	att=$(grep -E '^(sent|opened)=|Requests/sec|^wrk-exit=' "$E2E_TMP/flood-$ft.log" | tr -s ' \n' ' ')
	diag "flood: $ft: guest 1 $VLINE; attacker: ${att:-?} XDP matched +$((m1 - m0)) rate_limited +$((rl1 - rl0)), responder conns_refused +$((ref1 - ref0)); attacker still flooding when the probe ended: $attacker_running"
	check "flood $ft: all guest 1 requests succeed ($VSENT sent)" \
		test "${VFAIL:-x}" = 0 -a "${VSENT:-0}" -ge $VICTIM_MIN
	check "flood $ft: the flood outlasted guest 1's probe" test $attacker_running = yes
	check "flood $ft: the responder is still running" resp_alive
	[ $ft = syn ] && check "flood syn: the XDP rate limit dropped part of it" test $((rl1 - rl0)) -gt 0
	case $ft in
	syn) hrow "SYN flood" syn "$(kv "$E2E_TMP/flood-syn.log" sent) SYNs in ${FLOOD_S} s (SYN-ACKs dropped)" ;;
	conn) hrow "connection flood" conn "$(kv "$E2E_TMP/flood-conn.log" opened) opened, $(kv "$E2E_TMP/flood-conn.log" refused) refused in ${FLOOD_S} s" ;;
	req) hrow "request flood" req "wrk -c$REQ_FLOOD_CONNS: $(sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' "$E2E_TMP/flood-req.log") requests/s" ;;
	esac
done
check "after the floods, guest 5 is served again" \
	wait_for --timeout 10 code_is 200 5 $META/latest/meta-data/hostname

# ---- 7. output amplification ------------------------------------------------------------------
diag "==== 7. output amplification: guest 5, MSS 88, window 65535, ${AMP_ACK_RATE} ACKs/s for ${AMP_S}s; guest 1 probes"
g5_rx() { in_guest 5 cat /sys/class/net/eth0/statistics/rx_packets; }
g5_flush "amp"
g0=$(g5_rx)
f0=$(mstat 5 responder frames_sent)
fd0=$(mstat 5 responder frames_deferred)
cc0=$(mstat 5 responder conns_closed)
r0=$(stat_get redirected "$id5")
rl0=$(stat_get rate_limited "$id5")
hsnap 5 amp 0
bg amp ip netns exec "$TOPO-g5" "$GUEST_PY" "$E2E_PY/sec_amp.py" --duration $AMP_S \
	--ack-rate $AMP_ACK_RATE --path /openstack/latest/user_data
apid=$BG_PID
wait_for --timeout 3 xstat_ge redirected "$id5" $((r0 + FLOOD_BUILDUP_PKTS)) ||
	diag "amp: the attacker's traffic did not reach $FLOOD_BUILDUP_PKTS packets in 3 s"
victim amp
hsnap 5 amp 1
attacker_running=no
_alive "$apid" && attacker_running=yes
wait_for --timeout $((AMP_S + 10)) _dead "$apid"
stop_pid "$apid"
r1=$(stat_get redirected "$id5")
rl1=$(stat_get rate_limited "$id5")
g1=$(g5_rx)
# The attacker's RST ends its flow (and a plain connect before it closed):
# once conns_closed shows both, the flush holding every frame is in.
wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 5 responder conns_closed $((cc0 + 2)) ||
	diag "amp: conns_closed of guest 5 did not reach $((cc0 + 2))"
f1=$(mstat 5 responder frames_sent)
fd1=$(mstat 5 responder frames_deferred)
amp_out=$(tail -n 1 "$E2E_TMP/amp.log")
# Frames the guest received (its eth0: only the responder talks to it
# here) over its packets the XDP program handed to the responder.
rx=$((r1 - r0))
tx=$((g1 - g0))
ratio=$("$GUEST_PY" -c 'import sys; r, t = int(sys.argv[1]), int(sys.argv[2]); print(f"{t / r:.2f}" if r else "inf")' $rx $tx)
diag "amp: guest 5 packets to the responder +$rx (XDP rate_limited +$((rl1 - rl0))), frames guest 5 received +$tx (responder frames_sent, flushed once a second, +$((f1 - f0))), ratio $ratio, frames_deferred +$((fd1 - fd0)); attacker saw: $amp_out"
diag "amp: guest 1 $VLINE"
check "amp: the attack ran (SYN-ACK, GETs answered)" \
	test "$(jget "$E2E_TMP/amp.log" 'd.get("gets_sent", 0) > 0 and d.get("data_frames", 0) > 0')" = True
# Under 536 bytes only the last segment of what is queued (PSH): a piece
# cut by the window waits for more window while data is in flight.
check "amp: no data segment under 536 bytes but the last of a reply" \
	test "$(jget "$E2E_TMP/amp.log" 'd.get("small_segs")')" = 0
check "amp: responder frames per guest packet <= $AMP_RATIO_MAX (got $ratio)" \
	"$GUEST_PY" -c 'import sys; sys.exit(not (int(sys.argv[1]) > 0 and int(sys.argv[2]) <= int(sys.argv[3]) * int(sys.argv[1])))' $rx $tx $AMP_RATIO_MAX
check "amp: all guest 1 requests succeed ($VSENT sent)" \
	test "${VFAIL:-x}" = 0 -a "${VSENT:-0}" -ge $VICTIM_MIN
check "amp: the attack outlasted guest 1's probe" test $attacker_running = yes
check "amp: the responder is still running" resp_alive
hrow "output amplification" amp "MSS 88, $(jget "$E2E_TMP/amp.log" 'd.get("acks_sent")') ACKs, $(jget "$E2E_TMP/amp.log" 'd.get("gets_sent")') GETs in ${AMP_S} s" \
	--note "frames per guest packet $ratio (<= $AMP_RATIO_MAX)"

# ---- 8. hostile guests --------------------------------------------------------------------------
diag "==== 8. hostile guests: each attack while guest 1 probes (floods and amplification measured in 6, 7)"
g5_served() { code_is 200 5 $META/latest/meta-data/hostname; }

diag "---- 404 flood: guest 5 asks for made-up paths, ${PATHS_CONNS} connections x ${PATHS_DEPTH} in flight, ${FLOOD_S}s"
check "404 flood: guest 5 is served before it" wait_for --timeout 10 g5_served
m0=$(stat_get matched "$id5")
rq0=$(mstat 5 responder requests)
rd0=$(mstat 5 responder requests_deferred)
pt0=$(date +%s%N)
hsnap 5 404 0
bg paths ip netns exec "$TOPO-g5" "$GUEST_PY" "$E2E_PY/sec_hostile.py" paths --duration $FLOOD_S \
	--conns $PATHS_CONNS --depth $PATHS_DEPTH
ppid=$BG_PID
wait_for --timeout 3 xstat_ge matched "$id5" $((m0 + FLOOD_BUILDUP_PKTS)) ||
	diag "404 flood: the attacker's traffic did not reach $FLOOD_BUILDUP_PKTS packets in 3 s"
victim 404
hsnap 5 404 1
wait_for --timeout $((FLOOD_S + 10)) _dead "$ppid"
stop_pid "$ppid"
diag "404 flood: attacker saw $(tail -n 1 "$E2E_TMP/paths.log"); guest 1 $VLINE"
n404=$(jget "$E2E_TMP/paths.log" 'd["status"].get("404", 0)')
check "404 flood: thousands of made-up paths answered 404 ($n404)" test "${n404:-0}" -ge 1000 2>/dev/null
# The request budget (RSP_REQ_PER_PKT x its rate_pps, 1,024/s, 256 deep):
# pipelining 16 per connection gets guest 5 no more requests answered.
check "404 flood: the request budget held guest 5's requests back (requests_deferred)" \
	wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 5 responder requests_deferred $((rd0 + 1))
rq1=$(mstat 5 responder requests)
pt1=$(date +%s%N)
diag "404 flood: guest 5 requests answered +$((rq1 - rq0)) in $(( (pt1 - pt0) / 1000000 )) ms, requests_deferred +$(( $(mstat 5 responder requests_deferred) - rd0 ))"
check "404 flood: at most the budget answered (256 + 1,024/s x $(( (pt1 - pt0) / 1000000 )) ms: $((rq1 - rq0)))" \
	test $((rq1 - rq0)) -le $((256 + 1024 * (pt1 - pt0) / 1000000000 + 1024))
# The memo's non-200 entries are not exported: RSP_MEMO_MAX_MISSES (32)
# bounds them (test_cache counts them); the RSS delta is the measure here.
hrow "404 flood" 404 "$(jget "$E2E_TMP/paths.log" 'd["sent"]') GETs of $(jget "$E2E_TMP/paths.log" 'd["distinct_paths"]') distinct paths, $n404 answered 404" \
	--memo "<= 32 (RSP_MEMO_MAX_MISSES; not exported)"

diag "---- zero-window connections: guest 6 opens $ZW_CONNS, $ZW_GETS user-data GETs each, window 0"
id6=$(inst_id 6)
zrel=$E2E_TMP/zw-release
hsnap 6 zw 0
zt0=$(date +%s)
bg zw ip netns exec "$TOPO-g6" "$GUEST_PY" "$E2E_PY/sec_hostile.py" zerowin --count $ZW_CONNS \
	--gets $ZW_GETS --release "$zrel" --hold-max $((ZW_PERSIST_MAX_S + 15))
zpid=$BG_PID
check "zero-window: guest 6's connections are open and their requests sent" \
	wait_for --timeout 10 grep -q connected "$E2E_TMP/zw.log"
# Held: once the responder's counters show them (a tick).
wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 6 responder conns_opened $ZW_CONNS
victim zw
hsnap 6 zw 1
zheld=$(held 6)
zrss=$(( $(jget "$E2E_TMP/h-zw-1.json" 'd["rss_kb"]') - $(jget "$E2E_TMP/h-zw-0.json" 'd["rss_kb"]') ))
diag "zero-window: guest 6 $(head -n 1 "$E2E_TMP/zw.log"); the responder holds $zheld, RSS +${zrss} KiB; guest 1 $VLINE"
check "zero-window: the responder holds at most guest 6's $ZW_CONNS connections ($zheld)" \
	test "$zheld" -le $ZW_CONNS
# Under AddressSanitizer the RSS holds its quarantine of freed chunks (the
# rows before), redzones and shadow memory: no measure of live buffers
# there (the per-instance cap itself is test_tcp's).
if san_build; then
	skip "zero-window: the responder's RSS grew by less than the uncapped send buffers" \
		"sanitized build: ASan's quarantine and shadow are in the RSS (+${zrss} KiB)"
else
	check "zero-window: the responder's RSS grew by less than the uncapped send buffers (${zrss} < ${ZW_UNCAPPED_KB} KiB)" \
		test "$zrss" -lt $ZW_UNCAPPED_KB
fi
hrow "zero-window connections" zw "$ZW_CONNS connections x $ZW_GETS GETs of 16 KiB, window 0, probes answered" \
	--note "held while the other rows ran; all given up ZW_GIVEUP after opening"

diag "---- forged neighbour MAC: guest 5 (bound to tap5 + its MAC) sends with guest 1's MAC, ${FORGE_PPS} frames/s for ${FLOOD_S}s"
# Guest 5's own sockets go first (g5_flush), then the responder flushes
# its counters once after that (a guest 1 request seen in them), so the
# snapshot holds every frame sent before.
g5_flush "forged MAC"
rq1_0=$(mstat 1 responder requests)
code 1 $META/latest/meta-data/instance-id >/dev/null
wait_for --timeout $RESPONDER_TICK_WAIT_S mstat_ge 1 responder requests $((rq1_0 + 1)) ||
	diag "forged MAC: guest 1's request did not show in the counters"
sp0=$(stat_get spoofed "$id5")
hsnap 5 mac 0
# The metadata MAC as guest 5 resolved it (no new connection: the row
# counts every frame the responder sends guest 5's instance).
meta_mac=$(in_guest 5 ip neigh show 169.254.169.254 dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
bg forged ip netns exec "$TOPO-g5" "$GUEST_PY" "$E2E_PY/sec_hostile.py" forge --src-mac "$MAC1" \
	--dst-mac "${meta_mac:-none}" --src-ip "$IP5" --duration $FLOOD_S --rate $FORGE_PPS
fpid=$BG_PID
wait_for --timeout 3 xstat_ge spoofed "$id5" $((sp0 + FLOOD_BUILDUP_PKTS)) ||
	diag "forged MAC: the attacker's frames did not reach $FLOOD_BUILDUP_PKTS in 3 s"
victim mac
hsnap 5 mac 1
wait_for --timeout $((FLOOD_S + 10)) _dead "$fpid"
stop_pid "$fpid"
sp1=$(stat_get spoofed "$id5")
fout=$(( $(jget "$E2E_TMP/h-mac-1.json" 'd["responder"]["frames_sent"]') - $(jget "$E2E_TMP/h-mac-0.json" 'd["responder"]["frames_sent"]') ))
freplies=$(jget "$E2E_TMP/forged.log" 'd["replies"]')
diag "forged MAC: attacker saw $(tail -n 1 "$E2E_TMP/forged.log"); XDP spoofed +$((sp1 - sp0)); responder frames to guest 5 +$fout; guest 1 $VLINE"
check_eq "forged MAC: guest 5 got no TCP frame back for its forged SYNs and GETs" "$freplies" 0
check_eq "forged MAC: the responder sent guest 5's instance nothing meanwhile" "$fout" 0
check "forged MAC: every forged frame is counted as spoofed (+$((sp1 - sp0)) of $(jget "$E2E_TMP/forged.log" 'd["sent"]'))" \
	test $((sp1 - sp0)) -ge "$(jget "$E2E_TMP/forged.log" 'd["sent"]')"
[ "$freplies" = 0 ] && [ "$fout" = 0 ] && [ $((sp1 - sp0)) -gt 0 ] || HISO=no
hrow "forged neighbour MAC" mac "$(jget "$E2E_TMP/forged.log" 'd["sent"]') frames (SYNs, $(jget "$E2E_TMP/forged.log" 'd["gets"]') GETs) with guest 1's MAC from tap5" \
	--note "$((sp1 - sp0)) frames counted spoofed, $freplies answered"
check "forged MAC: guest 5 is served again" wait_for --timeout 10 g5_served

diag "---- zero-window connections: persist bound"
check "zero-window: the responder gave up every held connection within ${ZW_PERSIST_MAX_S}s of their opening" \
	wait_for --timeout $((ZW_PERSIST_MAX_S - ($(date +%s) - zt0))) held_none 6
zgive=$(( $(date +%s) - zt0 ))
touch "$zrel"
wait_for --timeout 10 _dead "$zpid"
stop_pid "$zpid"
diag "zero-window: held $(held 6) after ${zgive}s; guest 6 then $(tail -n 1 "$E2E_TMP/zw.log")"
sed -i "s/ZW_GIVEUP/${zgive} s/" "$HT"

diag "---- hostile-guest table (quiet p99 of guest 1: ${QUIET_P99} ms)"
"$GUEST_PY" "$E2E_PY/hostile_table.py" print "$HT" --quiet "$E2E_TMP/victim-base.out" >"$HT_MD" 2>&1
while IFS= read -r l; do diag "$l"; done <"$HT_MD"
[ -d "$BUILD_DIR/test-logs" ] && cp "$HT_MD" "$BUILD_DIR/test-logs/e2e_security-hostile.md"

[ "$_T_FAIL" -gt 0 ] && dump_logs
topo_teardown
e2e_done
