#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_responder.sh - mdr-responder (AF_XDP TCP/HTTP) end to end:
#  1. port mode, two guests with the SAME IPv4 address behind tap1/tap2
#     (veth): each gets its own instance over IPv4 and over IPv6 link-local
#     (zone id); a 64 KiB user data arrives intact over both; wrk keep-alive
#     and Connection: close runs finish without one error; pipelined and
#     byte-by-byte requests; a request over one UMEM frame without a
#     retransmission; an update is served on the next request; the
#     password POST/GET/409 round trip; counters reach mdr_rstats;
#  2. an interface appearing (a new guest) and disappearing while the
#     responder runs is followed without restart;
#  3. restart in the middle of traffic: sockets are unregistered on exit,
#     curl keeps succeeding once the new responder registered, tokens
#     survive; a SIGKILLed responder's stale registrations are cleared;
#  4. bridge mode with the program on the bridge ports (tapN);
#  5. real tap devices (a VMM relay holds them), port mode, same IPv4;
#  6. many taps on the default UMEM: every guest is answered (fill frames
#     are shared fairly, not handed out first come first served), and one
#     busy guest still runs wrk without an error next to them;
#  7. a UMEM too small for its taps: idle taps created while it had room
#     hold larger fill shares than later ones get; a guest on a tap created
#     afterwards is still answered (idle sockets are reopened to take their
#     frames back), and the guests whose sockets were reopened too.
# Usage: sh tests/e2e/e2e_responder.sh
#   RSP_SECTIONS="1 6" runs only those sections (default: all).
. "$(dirname "$0")/lib.sh"
e2e_init responder

DATA=$E2E_ROOT/tests/data/instances
# wrk run length and connections: long enough for thousands of requests,
# short enough for the suite (two runs per mode).
WRK_S=3
WRK_CONNS=16
# The largest user data nova accepts (bytes, decoded).
BIG_USER_DATA=65535
# Requests of the background traffic during the restart test, and how many
# must succeed after the new responder registered its sockets.
RESTART_OK_AFTER=20
# Taps of the scale section: more than the ~15 sockets the first-come fill
# rings of the old responder served from the default 8192 UMEM frames.
MANY_TAPS=${RSP_MANY_TAPS:-40}
# Section 7: the smallest UMEM and rings the responder accepts, and more
# idle taps than its frames cover (10 at the full base share of 64, the
# whole ring, the next ones at smaller shares down to the floor of 8, the
# last from the TX reserve).
SMALL_UMEM="--umem-frames 1024 --ring-size 64"
IDLE_TAPS=${RSP_IDLE_TAPS:-80}
RSP_SECTIONS=${RSP_SECTIONS:-1 2 3 4 5 6 7}
section() { case " $RSP_SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

command -v wrk >/dev/null || skip_all "needs wrk"
command -v curl >/dev/null || skip_all "needs curl"

LL_URL="http://[fe80::a9fe:a9fe%25eth0]"
gcurl() { _n=$1; shift; in_guest "$_n" curl -sS -m 5 -g "$@"; }
json_get() { "$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" 2>&1; }
uuid_of() { "$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$1"; }
# A copy of TEMPLATE with a fresh uuid/name (and optional big user data).
mkdefn() { # template name n [user_data_file]
	"$GUEST_PY" - "$@" <<'EOF'
import base64, json, sys, uuid
tpl, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(tpl))
d["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_DNS, "mdr-e2e-responder-%s" % name))
d["name"] = name
d["hostname"] = name + ".novalocal"
d["binding"] = {"port": "tap%d" % n}
# This suite measures the responder, not XDP's per-instance rate limit.
d["imds"] = {"rate_pps": 10000000, "burst": 1000000}
if len(sys.argv) > 4:
    d["user_data"] = base64.b64encode(open(sys.argv[4], "rb").read()).decode()
json.dump(d, sys.stdout, indent=1)
EOF
}
load() { mdrctl instance load "$1" >/dev/null; }
# wrk's report: requests were made, and no socket error nor non-2xx answer.
wrk_clean() {
	grep -q 'requests in' "$1" && ! grep -q 'Socket errors' "$1" && ! grep -q 'Non-2xx' "$1"
}
wrk_run() { # guest name [wrk args]
	_wn=$1 _wname=$2; shift 2
	in_guest "$_wn" wrk -t1 -c$WRK_CONNS -d${WRK_S}s "$@" >"$E2E_TMP/wrk-$_wname.out" 2>&1
	diag "wrk $_wname: $(grep -E 'Requests/sec|requests in' "$E2E_TMP/wrk-$_wname.out" | tr -s ' ' | tr '\n' ' ')"
	if wrk_clean "$E2E_TMP/wrk-$_wname.out"; then ok "wrk $_wname: no errors"
	else not_ok "wrk $_wname: no errors" "$(cat "$E2E_TMP/wrk-$_wname.out")"; fi
}
# Entries of a pinned map (lib.sh's map_count counts BTF-formatted keys twice).
entries() {
	bpftool -j map dump pinned "$PIN/$1" | "$GUEST_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
slots() { entries mdr_xsk_slot; }
# The registered XSKMAP slots taken by each of N threads (slot % N is the
# thread, user/responder/xsk.h): slots_by_thread N prints N counts.
slots_by_thread() {
	bpftool -j map dump pinned "$PIN/mdr_xsk_slot" 2>/dev/null | python3 -c '
import json, sys
n = int(sys.argv[1]); c = [0] * n
for e in json.load(sys.stdin):
    v = e["formatted"]["value"] if "formatted" in e else int.from_bytes(bytes(int(b, 16) for b in e["value"]), "little")
    c[v % n] += 1
print(" ".join(map(str, c)))' "$1"
}
# A guest appearing while everything runs: namespace $TOPO-g3 behind tap3
# (removed with the topology's other guests).
add_guest3() { # ipv4
	ip netns add "$TOPO-g3"
	ip -n "$TOPO-g3" link set lo up
	ip -n "$HV" link add tap3 type veth peer name eth0 address 52:54:00:00:01:03 netns "$TOPO-g3"
	ip -n "$HV" link set tap3 up
	ip -n "$TOPO-g3" addr add "$1/24" dev eth0
	# A plain veth guest end: mdrd attaches to a veth in generic mode, whose
	# ARP replies need nothing of the guest (tools/topo.sh gives its guests
	# GRO, what native mode would need).
	ip -n "$TOPO-g3" link set eth0 up
	ip -n "$TOPO-g3" route add 169.254.169.254 dev eth0
}
slots_eq() { [ "$(slots)" -eq "$1" ]; }
log_has() { grep -q "$2" "$E2E_TMP/$1.log"; }

if section 1 || section 2 || section 3; then
# ---- 1. port mode, overlapping IPv4 -------------------------------------------
diag "==== port mode, two guests on one IPv4 address"
topo_create --mode port --guests 2 --same-ip || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
head -c $BIG_USER_DATA /dev/urandom >"$E2E_TMP/big.bin"
BIG_SUM=$(sha256sum <"$E2E_TMP/big.bin")
mkdefn "$DATA/minimal.json" rsp-a 1 "$E2E_TMP/big.bin" >"$E2E_TMP/a.json"
mkdefn "$DATA/minimal.json" rsp-b 2 >"$E2E_TMP/b.json"
check "load instance a (tap1)" load "$E2E_TMP/a.json"
check "load instance b (tap2)" load "$E2E_TMP/b.json"
UA=$(uuid_of "$E2E_TMP/a.json") UB=$(uuid_of "$E2E_TMP/b.json")

check_eq "guests 1 and 2 share one IPv4 address" "$IP2" "$IP1"
check_eq "guest 1 gets its own uuid (IPv4)" \
	"$(gcurl 1 $META/openstack/latest/meta_data.json | json_get uuid)" "$UA"
check_eq "guest 2 gets its own uuid (IPv4)" \
	"$(gcurl 2 $META/openstack/latest/meta_data.json | json_get uuid)" "$UB"
check_eq "guest 1 gets its own uuid (IPv6 link-local, zone id)" \
	"$(gcurl 1 "$LL_URL/openstack/latest/meta_data.json" | json_get uuid)" "$UA"
check_eq "guest 2 gets its own hostname (IPv6 link-local, zone id)" \
	"$(gcurl 2 "$LL_URL/latest/meta-data/hostname")" "rsp-b.novalocal"
check_eq "64 KiB user data intact (IPv4)" \
	"$(gcurl 1 $META/openstack/latest/user_data | sha256sum)" "$BIG_SUM"
check_eq "64 KiB user data intact (IPv6)" \
	"$(gcurl 1 "$LL_URL/latest/user-data" | sha256sum)" "$BIG_SUM"
check_eq "guest 2 has no user data (404)" \
	"$(in_guest 2 curl -s -o /dev/null -w '%{http_code}' -m 5 $META/openstack/latest/user_data)" 404

wrk_run 2 "keep-alive" $META/latest/meta-data/hostname
wrk_run 2 "Connection: close" -H 'Connection: close' $META/latest/meta-data/hostname
wrk_run 1 "64 KiB keep-alive" $META/openstack/latest/user_data

# Raw HTTP through the glue: pipelined requests in one segment are answered
# in order; a request sent one byte per segment is answered once.
cat >"$E2E_TMP/raw.py" <<'EOF'
import socket, sys, time
mode = sys.argv[1]
s = socket.create_connection(("169.254.169.254", 80), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
reqs = (b"GET /latest/meta-data/hostname HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /openstack/latest/user_data HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
if mode == "pipelined":
    s.sendall(reqs)
else:
    for b in reqs:
        s.send(bytes([b]))
        time.sleep(0.001)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
# Split the stream into responses (the second request is a HEAD: no body).
out = []
for head_only in (False, True, False):
    end = data.index(b"\r\n\r\n") + 4
    lines = data[:end].split(b"\r\n")
    clen = [int(l.split(b":")[1]) for l in lines if l.lower().startswith(b"content-length:")][0]
    out.append(lines[0].split(b" ")[1].decode())
    data = data[end + (0 if head_only else clen):]
print(" ".join(out) + (" +%d bytes" % len(data) if data else ""))
EOF
check_eq "three pipelined requests in one segment answered in order, then FIN" \
	"$(in_guest 2 "$GUEST_PY" "$E2E_TMP/raw.py" pipelined 2>&1)" "200 404 404"
check_eq "requests sent one byte per segment answered in order, then FIN" \
	"$(in_guest 1 "$GUEST_PY" "$E2E_TMP/raw.py" bytewise 2>&1)" "200 200 404"
# A request larger than one UMEM frame: the guest keeps TSO on a veth that
# mdrd attached in generic mode, so unless our window bounds its segments,
# it sends one GSO segment that cannot be copied to the socket and gets
# through only as a retransmission (0.6 s). Counted in the guest's SNMP.
retrans() { in_guest 1 nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ {print $2}'; }
PAD=$(head -c 6000 /dev/zero | tr '\0' a)
r0=$(retrans)
check_eq "a 6 KB request (over one UMEM frame) is answered" \
	"$(gcurl 1 -o /dev/null -w '%{http_code}' -H "X-Pad: $PAD" $META/latest/meta-data/hostname)" 200
check_eq "... without a retransmission by the guest (segments fit the window)" "$(( $(retrans) - r0 ))" 0

# An update is served on the very next request (cache by generation).
printf renamed.novalocal | mdrctl put "$UB" /latest/meta-data/hostname - >/dev/null
check_eq "an update is visible on the next request" \
	"$(gcurl 2 $META/latest/meta-data/hostname)" "renamed.novalocal"

# The one write path: POST password once (200), again (409), GET it back.
PW_URL=$META/openstack/2013-04-04/password
check_eq "password POST stores (200)" \
	"$(in_guest 2 curl -s -o /dev/null -w '%{http_code}' -m 5 --data-binary s3cret $PW_URL)" 200
check_eq "second password POST conflicts (409)" \
	"$(in_guest 2 curl -s -o /dev/null -w '%{http_code}' -m 5 --data-binary other $PW_URL)" 409
check_eq "password GET returns it" "$(gcurl 2 $PW_URL)" "s3cret"
check_eq "the other instance has no password" "$(gcurl 1 $PW_URL)" ""

stats_ok() { mdrctl stats -j "$UB" | grep -q '"status_200": *[1-9]'; }
check "responder counters reach mdr_rstats (mdrctl stats)" wait_for --timeout 3 stats_ok

# ---- 2. interfaces appearing and disappearing -----------------------------------
diag "==== hot-plug: a third guest appears, the second disappears"
add_guest3 10.99.0.10
mkdefn "$DATA/minimal.json" rsp-c 3 >"$E2E_TMP/c.json"
check "load instance c (tap3)" mdrctl instance load --allow-missing-port "$E2E_TMP/c.json"
check "a socket is registered for the new tap3" wait_for slots_eq 3
check_eq "the new guest is served without a restart" \
	"$(in_guest 3 curl -sS -m 5 $META/latest/meta-data/hostname)" "rsp-c.novalocal"
ip -n "$HV" link del tap2
check "the socket of a removed tap is unregistered" wait_for slots_eq 2
check "the removal is logged" log_has "responder-$TOPO" 'socket down: tap2'
check_eq "the remaining guests are still served" \
	"$(gcurl 1 $META/latest/meta-data/hostname) $(in_guest 3 curl -sS -m 5 $META/latest/meta-data/hostname)" \
	"rsp-a.novalocal rsp-c.novalocal"

# ---- 3. restart in the middle of traffic ------------------------------------------
diag "==== restart during traffic"
# Guest 1 fetches in a loop (a new connection each time) and logs ok/fail.
cat >"$E2E_TMP/loop.sh" <<EOF
while [ ! -e "$E2E_TMP/loop.stop" ]; do
	if curl -sf -m 5 $META/latest/meta-data/hostname >/dev/null; then echo ok; else echo fail; fi
done
EOF
in_guest 1 sh "$E2E_TMP/loop.sh" >"$E2E_TMP/loop.out" 2>&1 &
LOOP_PID=$!
_E2E_PIDS="$_E2E_PIDS $LOOP_PID"
oks() { grep -c '^ok' "$E2E_TMP/loop.out"; }
oks_ge() { [ "$(oks)" -ge "$1" ]; }
check "traffic flows before the restart" wait_for oks_ge 5
# A token minted before the restart stays valid after it (key in mdr_tokkey).
TOKEN=$(in_guest 1 curl -sS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' $META/latest/api/token)
stop_pid "$RESP_PID"
RESP_PID=""
check_eq "every socket is unregistered on exit" "$(slots)" 0
before=$(oks)
mv "$E2E_TMP/responder-$TOPO.log" "$E2E_TMP/responder-$TOPO.1.log"
start_responder || dump_logs
check "curl succeeds again after the restart" wait_for --timeout 15 oks_ge $((before + RESTART_OK_AFTER))
# Only requests in flight at the switch may fail; everything after succeeds.
tail -n $RESTART_OK_AFTER "$E2E_TMP/loop.out" >"$E2E_TMP/loop.tail"
check_eq "the last $RESTART_OK_AFTER requests after the restart all succeeded" \
	"$(sort -u "$E2E_TMP/loop.tail")" ok
touch "$E2E_TMP/loop.stop"
wait "$LOOP_PID" 2>/dev/null
diag "restart: $(grep -c '^fail' "$E2E_TMP/loop.out") of $(wc -l <"$E2E_TMP/loop.out") requests failed around the switch"
check_eq "a token minted before the restart is accepted after it" \
	"$(in_guest 1 curl -s -o /dev/null -w '%{http_code}' -m 5 -H "X-aws-ec2-metadata-token: $TOKEN" $META/latest/meta-data/hostname)" 200

# A responder killed outright leaves its (ifindex, queue) -> slot entries
# behind (the kernel empties the XSKMAP slots of its closed sockets); the
# next one clears them and serves.
kill -KILL "$RESP_PID"
wait_for _dead "$RESP_PID"
stop_pid "$RESP_PID"
RESP_PID=""
check "stale registrations remain after SIGKILL" [ "$(slots)" -gt 0 ]
mv "$E2E_TMP/responder-$TOPO.log" "$E2E_TMP/responder-$TOPO.2.log"
start_responder || dump_logs
check_eq "a responder started after a SIGKILL serves" \
	"$(gcurl 1 $META/latest/meta-data/hostname)" "rsp-a.novalocal"
check "it cleared the stale registrations" log_has "responder-$TOPO" 'cleared .* stale'
topo_teardown
fi

# ---- 4. bridge mode, program on the bridge ports ------------------------------------
if section 4; then
diag "==== bridge mode, program on the ports"
topo_create --mode bridge --guests 2 || e2e_done
start_mdrd && start_responder || { dump_logs; e2e_done; }
mkdefn "$DATA/minimal.json" rsp-d 1 >"$E2E_TMP/d.json"
mkdefn "$DATA/minimal.json" rsp-e 2 >"$E2E_TMP/e.json"
check "load instance d (tap1)" load "$E2E_TMP/d.json"
check "load instance e (tap2)" load "$E2E_TMP/e.json"
check_eq "bridge: guest 1 gets its own uuid (IPv4)" \
	"$(gcurl 1 $META/openstack/latest/meta_data.json | json_get uuid)" "$(uuid_of "$E2E_TMP/d.json")"
check_eq "bridge: guest 2 gets its own uuid (IPv4)" \
	"$(gcurl 2 $META/openstack/latest/meta_data.json | json_get uuid)" "$(uuid_of "$E2E_TMP/e.json")"
check_eq "bridge: guest 2 gets its own hostname (IPv6 link-local)" \
	"$(gcurl 2 "$LL_URL/latest/meta-data/hostname")" "rsp-e.novalocal"
wrk_run 1 "bridge keep-alive" $META/latest/meta-data/hostname
wrk_run 1 "bridge Connection: close" -H 'Connection: close' $META/latest/meta-data/hostname
topo_teardown
fi

# ---- 5. real tap devices ---------------------------------------------------------------
if section 5; then
diag "==== real tap devices, port mode, one IPv4 address"
if [ -x "$BUILD_DIR/tools/vmm-tap" ] && topo_create --mode port --guests 2 --same-ip --tap-kind tap; then
	if start_mdrd && start_responder; then
		mkdefn "$DATA/minimal.json" rsp-f 1 "$E2E_TMP/big.bin" >"$E2E_TMP/f.json"
		mkdefn "$DATA/minimal.json" rsp-g 2 >"$E2E_TMP/g.json"
		check "load instance f (tap1)" load "$E2E_TMP/f.json"
		check "load instance g (tap2)" load "$E2E_TMP/g.json"
		check_eq "tap: real taps are attached natively by --xdp-mode auto" \
			"$(mdrctl status -j | "$GUEST_PY" -c 'import json,sys; print(sorted(i["mode"] for i in json.load(sys.stdin)["interfaces"]))')" \
			"['native', 'native']"
		check_eq "tap: guest 1 gets its own uuid (IPv4)" \
			"$(gcurl 1 $META/openstack/latest/meta_data.json | json_get uuid)" "$(uuid_of "$E2E_TMP/f.json")"
		check_eq "tap: guest 2 gets its own uuid (IPv6 link-local)" \
			"$(gcurl 2 "$LL_URL/openstack/latest/meta_data.json" | json_get uuid)" "$(uuid_of "$E2E_TMP/g.json")"
		check_eq "tap: 64 KiB user data intact" \
			"$(gcurl 1 $META/openstack/latest/user_data | sha256sum)" "$BIG_SUM"
		wrk_run 2 "tap keep-alive" $META/latest/meta-data/hostname
		wrk_run 2 "tap Connection: close" -H 'Connection: close' $META/latest/meta-data/hostname
	else
		dump_logs
	fi
	topo_teardown
else
	skip "real tap devices" "build/tools/vmm-tap missing or topology failed"
fi
fi

# ---- 6. many taps on the default UMEM ---------------------------------------------------
if section 6; then
diag "==== $MANY_TAPS taps, default --umem-frames, two threads"
if topo_create --mode port --guests $MANY_TAPS; then
	_t0=$(date +%s%N)
	if start_mdrd && _t1=$(date +%s%N) && start_responder --threads 2; then
		diag "mdr-responder registered $MANY_TAPS sockets in $(( ($(date +%s%N) - _t1) / 1000000 )) ms (mdrd attached in $(( (_t1 - _t0) / 1000000 )) ms)"
		check "the responder runs two threads" log_has "responder-$TOPO" 'UMEM frames, rings of [0-9]*, 2 threads)'
		# Each thread serves its share of the taps (each takes the slots
		# of its own parity): neither holds them all.
		_s=$(slots_by_thread 2) _s0=0 _s1=0
		case $_s in *" "*) _s0=${_s% *} _s1=${_s#* } ;; esac
		diag "sockets of thread 0 / thread 1: $_s0 / $_s1"
		check "both threads serve taps (at least a quarter each)" \
			test "$_s0" -ge $((MANY_TAPS / 4)) -a "$_s1" -ge $((MANY_TAPS / 4))
		i=1 loaded=0
		while [ $i -le $MANY_TAPS ]; do
			mkdefn "$DATA/minimal.json" rsp-m$i $i >"$E2E_TMP/m$i.json" &&
				load "$E2E_TMP/m$i.json" && loaded=$((loaded + 1))
			i=$((i + 1))
		done
		check_eq "$MANY_TAPS instances loaded, one per tap" "$loaded" $MANY_TAPS
		check_eq "one socket per tap" "$(slots)" $MANY_TAPS
		# Every guest, the last taps included, gets its own hostname.
		i=1 bad=""
		while [ $i -le $MANY_TAPS ]; do
			got=$(in_guest $i curl -sS -m 5 $META/latest/meta-data/hostname 2>&1)
			[ "$got" = "rsp-m$i.novalocal" ] || bad="$bad tap$i($got)"
			i=$((i + 1))
		done
		check_eq "every one of $MANY_TAPS guests is answered" "${bad:-none}" none
		# One busy guest next to them: its socket grows past its small
		# base share of the fill frames, without an error.
		wrk_run $MANY_TAPS "keep-alive next to $((MANY_TAPS - 1)) idle taps" $META/latest/meta-data/hostname
		wrk_run 1 "Connection: close next to $((MANY_TAPS - 1)) idle taps" -H 'Connection: close' \
			$META/latest/meta-data/hostname
		got=$(in_guest $((MANY_TAPS / 2)) curl -sS -m 5 $META/latest/meta-data/hostname 2>&1)
		check_eq "an idle guest is still answered after the busy ones" "$got" "rsp-m$((MANY_TAPS / 2)).novalocal"
		check_not "no UMEM warning at $MANY_TAPS taps" log_has "responder-$TOPO" 'spread thin'
	else
		dump_logs
	fi
	topo_teardown
fi
fi

# ---- 7. reclaiming fill frames from idle sockets --------------------------------------
if section 7; then
diag "==== $IDLE_TAPS idle taps on a UMEM of 1024 frames, then a new guest"
if topo_create --mode port --guests 2; then
	if start_mdrd && start_responder $SMALL_UMEM; then
		i=1
		while [ $i -le 3 ]; do
			mkdefn "$DATA/minimal.json" rsp-r$i $i >"$E2E_TMP/r$i.json"
			check "load instance r$i (tap$i)" mdrctl instance load --allow-missing-port "$E2E_TMP/r$i.json"
			i=$((i + 1))
		done
		check_eq "guest 1 is answered before the idle taps" \
			"$(gcurl 1 $META/latest/meta-data/hostname 2>&1)" rsp-r1.novalocal
		: >"$E2E_TMP/idle.batch"
		i=1
		while [ $i -le "$IDLE_TAPS" ]; do
			echo "link add tap$((100 + i)) type veth peer name idle$i" >>"$E2E_TMP/idle.batch"
			echo "link set tap$((100 + i)) up" >>"$E2E_TMP/idle.batch"
			echo "link set idle$i up" >>"$E2E_TMP/idle.batch"
			i=$((i + 1))
		done
		ip -n "$HV" -batch "$E2E_TMP/idle.batch"
		check "a socket for each of the $IDLE_TAPS idle taps" wait_for --timeout 60 slots_eq $((2 + IDLE_TAPS))
		# Guest 3 on a tap created now: the pool is empty, idle sockets
		# (quiet for two ticks) give their frames back.
		add_guest3 10.99.0.13
		g3_ok() { [ "$(in_guest 3 curl -sS -m 1 $META/latest/meta-data/hostname 2>/dev/null)" = rsp-r3.novalocal ]; }
		check "the guest on the tap created last is answered" wait_for --timeout 20 g3_ok
		check_eq "guests 1 and 2 are still answered (their idle sockets were reopened)" \
			"$(gcurl 1 $META/latest/meta-data/hostname 2>&1) $(gcurl 2 $META/latest/meta-data/hostname 2>&1)" \
			"rsp-r1.novalocal rsp-r2.novalocal"
		wrk_run 1 "keep-alive on a socket reopened to reclaim its frames" $META/latest/meta-data/hostname
		stop_pid "$RESP_PID"; RESP_PID=""
		check "the responder reports frames reclaimed by reopening idle sockets" \
			log_has "responder-$TOPO" 'frames: .* [1-9][0-9]* frames reclaimed by reopening [1-9]'
		# A socket reopened to free its boost frames is bound again (the
		# XSKMAP entry that kept the old one bound goes first), never
		# left unbound.
		check_not "no socket failed to be bound again after a reclaim" \
			log_has "responder-$TOPO" 'reopening to reclaim frames'
		ip netns del "$TOPO-g3"
	else
		dump_logs
	fi
	topo_teardown
fi
fi

e2e_done
