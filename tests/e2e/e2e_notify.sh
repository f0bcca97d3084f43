#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_notify (issue 18): ETag and If-None-Match/304, query rules, the JSON
# view, long-polls (wait_for_change) woken by `mdrctl instance load` and
# `mdrctl put` within 100 ms, the timeout, tokens, and by the responder's
# generation check when no change datagram arrives; 1,000 held long-polls
# over five guests leave the responder idle, the per-instance share (429)
# and the total (503) refuse the excess.
. "$(dirname "$0")/lib.sh"
e2e_init notify

command -v curl >/dev/null || skip_all "needs curl"

DATA=$E2E_ROOT/tests/data/instances
# A change must reach a waiting guest within this (the issue's bound).
MAX_DELAY_MS=100
# Rounds of each measured change.
ROUNDS=5
# Held long-polls: guest 5 (default cap 64 -> share 48) tries SHARE_TRY,
# guests 1-4 (cap 320 -> share 240) BIG each; the responder holds at most
# TOTAL (--max-waiting).
SHARE_TRY=60
SHARE=48
BIG=238
TOTAL=1000
# The responder may use this share of one CPU while they are held.
IDLE_CPU_PCT=10
CPU_WINDOW_S=3

uuid_of() { printf '8e0d%04x-1c2b-4d4e-8f60-718293a4b5c6' "$1"; }
jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
LP() { _lp_n=$1; shift; gpy "$_lp_n" longpoll.py "$@"; }

topo_create --mode port --guests 5 || e2e_done
RATE='imds.rate_pps=100000 imds.burst=20000'
for n in 1 2 3 4; do
	inst_write "$DATA/vm1.json" $n port uuid="\"$(uuid_of $n)\"" name="\"g$n\"" \
		imds.max_connections=320 $RATE
done
inst_write "$DATA/vm2.json" 5 port imds.max_connections=64
U1=$(uuid_of 1)
start_mdrd || { dump_logs; e2e_done; }
start_responder --max-waiting $TOTAL || { dump_logs; e2e_done; }
for n in 1 2 3 4 5; do mdrctl instance load "$DEF_DIR/g$n.json" >/dev/null || not_ok "instance $n loaded"; done

# ---- ETag, 304, query rules ---------------------------------------------------------
LP 1 get /latest/meta-data/hostname >"$E2E_TMP/a.json"
LP 1 get /latest/meta-data/hostname >"$E2E_TMP/b.json"
E=$(jpy 'd["headers"].get("etag","")' <"$E2E_TMP/a.json")
diag "ETag of /latest/meta-data/hostname: $E"
check "a 200 carries a quoted strong ETag" sh -c "echo '$E' | grep -Eqx '\"[0-9a-f]{16}\"'"
check_eq "the ETag is stable" "$(jpy 'd["headers"]["etag"]' <"$E2E_TMP/b.json")" "$E"
check_eq "If-None-Match with it: 304, no body" \
	"$(in_guest 1 curl -s -m 5 -H "If-None-Match: $E" -o "$E2E_TMP/304" -w '%{http_code} %{size_download}' $META/latest/meta-data/hostname)" "304 0"
check_eq "If-None-Match with another tag: 200" \
	"$(in_guest 1 curl -s -m 5 -H 'If-None-Match: "0000000000000001"' -o /dev/null -w '%{http_code}' $META/latest/meta-data/hostname)" "200"
check_eq "bad timeout_sec: 400" \
	"$(in_guest 1 curl -s -m 5 -o /dev/null -w '%{http_code}' "$META/latest/meta-data/hostname?wait_for_change=true&timeout_sec=abc")" "400"
check_eq "unknown parameters are ignored (same body and tag)" \
	"$(in_guest 1 curl -s -m 5 -D - "$META/latest/meta-data/hostname?cachebuster=42" | grep -i '^etag' | tr -d '\r' | cut -d' ' -f2)" "$E"

# ---- JSON view ---------------------------------------------------------------------------
in_guest 1 curl -s -m 5 -H 'Accept: application/json' $META/latest/meta-data/ >"$E2E_TMP/md.json"
check_eq "Accept: application/json on a directory: its subtree as JSON" \
	"$(jpy 'd["hostname"]' <"$E2E_TMP/md.json")" "$(in_guest 1 curl -s -m 5 $META/latest/meta-data/hostname)"
in_guest 1 curl -s -m 5 "$META/openstack/latest?recursive=true" >"$E2E_TMP/os.json"
check_eq "recursive=true: meta_data.json embedded as an object" "$(jpy 'd["meta_data.json"]["uuid"]' <"$E2E_TMP/os.json")" "$U1"
check_eq "alt=json on a leaf: a JSON string" \
	"$(in_guest 1 curl -s -m 5 "$META/latest/meta-data/hostname?alt=json" | jpy 'd')" \
	"$(in_guest 1 curl -s -m 5 $META/latest/meta-data/hostname)"
check "without a query the directory is nova's listing" sh -c \
	"in_guest() { ip netns exec '$TOPO-g'\$1 \"\$@\"; }; [ \"\$(ip netns exec $TOPO-g1 curl -s -m 5 $META/latest/meta-data/ | head -n1)\" = ami-id ]"

# ---- long-poll: timeout ----------------------------------------------------------------------
T=$(in_guest 1 curl -s -m 10 -o "$E2E_TMP/t.body" -D "$E2E_TMP/t.head" -w '%{http_code} %{time_total}' \
	"$META/latest/meta-data/hostname?wait_for_change=true&last_etag=$(echo $E | tr -d '"')&timeout_sec=1")
check "unchanged: held until timeout_sec (1 s), then 200 with the same tag ($T)" sh -c \
	"[ '${T%% *}' = 200 ] && awk 'BEGIN{exit !(${T#* } >= 0.95)}' && grep -qiF 'etag: $E' '$E2E_TMP/t.head'"
T=$(in_guest 1 curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}' \
	"$META/latest/meta-data/hostname?wait_for_change=true&last_etag=0000000000000001&timeout_sec=5")
check "a last_etag that differs: answered at once ($T)" awk "BEGIN{exit !(${T%% *} == 200 && ${T#* } < 1)}"

# ---- long-poll: woken by changes -----------------------------------------------------------
for i in $(seq 0 $((ROUNDS - 1))); do
	"$GUEST_PY" "$E2E_PY/defn.py" "$DEF_DIR/g1.json" --binding port --port tap1 \
		meta.round="\"r$i\"" >"$DEF_DIR/g1-$i.json"
	printf 'value %s' "$i" >"$E2E_TMP/v$i"
done
MDRCTL="nsenter --net=/run/netns/$HV $BUILD_DIR/mdrctl --pin-dir $PIN"
# The change happens inside mdrctl: its median from mdrctl's start, and
# every answer no later than MAX_DELAY_MS after mdrctl exited (mdrctl's own
# start-up, up to hundreds of ms on a loaded 2-core machine, is not the
# responder's delay).
delay_checks() { # file what
	_dc=$(jpy '"p50 %.1f ms, max %.1f ms from mdrctl start; mdrctl alone p50 %.1f ms; answer - mdrctl exit <= %.1f ms" % (d["p50_ms"], d["max_ms"], d["cmd_p50_ms"], d["max_after_cmd_ms"])' <"$1")
	diag "$2 -> guest answer over $ROUNDS changes: $_dc"
	check "... median from mdrctl start within $MAX_DELAY_MS ms ($_dc)" \
		awk "BEGIN{exit !($(jpy 'd["p50_ms"]' <"$1") < $MAX_DELAY_MS)}"
	check "... every answer within $MAX_DELAY_MS ms of mdrctl's exit" \
		awk "BEGIN{exit !($(jpy 'd["max_after_cmd_ms"]' <"$1") < $MAX_DELAY_MS)}"
}
LP 1 delay /openstack/latest/meta_data.json $ROUNDS "$MDRCTL instance load $DEF_DIR/g1-{i}.json" >"$E2E_TMP/d1.json"
check_eq "meta_data.json long-poll: the new meta after mdrctl instance load" \
	"$(jpy 'json.loads(d["body"])["meta"]["round"]' <"$E2E_TMP/d1.json" 2>&1)" "r$((ROUNDS - 1))"
delay_checks "$E2E_TMP/d1.json" "instance load"
LP 1 delay "/latest/meta-data/?recursive=true" $ROUNDS "$MDRCTL put $U1 /latest/meta-data/e2e-key $E2E_TMP/v{i}" >"$E2E_TMP/d2.json"
check_eq "recursive long-poll: the new key after mdrctl put" \
	"$(jpy 'json.loads(d["body"])["e2e-key"]' <"$E2E_TMP/d2.json" 2>&1)" "value $((ROUNDS - 1))"
check_eq "... with a new ETag" "$(jpy 'd["old_etag"] != d["new_etag"]' <"$E2E_TMP/d2.json")" True
delay_checks "$E2E_TMP/d2.json" "mdrctl put"

check_not "mdrctl notify of an unknown instance fails" mdrctl notify 00000000-0000-4000-8000-000000000000
check "mdrctl notify of an instance (after a change by hand) succeeds" mdrctl notify "$U1"

# ---- tokens apply --------------------------------------------------------------------------------
check_eq "tokens required (guest 5): a long-poll without a token gets 401 at once" \
	"$(in_guest 5 curl -s -m 5 -o /dev/null -w '%{http_code}' "$META/latest/meta-data/?wait_for_change=true&timeout_sec=2")" "401"
TOK=$(in_guest 5 curl -s -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $META/latest/api/token)
T=$(in_guest 5 curl -s -m 10 -H "X-aws-ec2-metadata-token: $TOK" -o /dev/null -w '%{http_code} %{time_total}' \
	"$META/latest/meta-data/?wait_for_change=true&timeout_sec=1")
check "... with a token it is held (1 s) and answered ($T)" awk "BEGIN{exit !(${T%% *} == 200 && ${T#* } >= 0.95)}"

# ---- bounds and idle CPU ---------------------------------------------------------------------------
held_line() { sed -n "s/^$2 //p" "$1" | head -n1; }
count_status() { grep -c "^status $2\$" "$1"; }
LPPATH="/latest/meta-data/?wait_for_change=true&timeout_sec=120"
bg hold5 ip netns exec "$TOPO-g5" "$GUEST_PY" "$E2E_PY/longpoll.py" hold $SHARE_TRY "/openstack/latest/meta_data.json?wait_for_change=true&timeout_sec=120" "$E2E_TMP/ready5"
wait_for --timeout 20 test -e "$E2E_TMP/ready5"
check_eq "guest 5 (cap 64): $SHARE of $SHARE_TRY long-polls held" "$(held_line "$E2E_TMP/ready5" held)" "$SHARE"
check_eq "... the other $((SHARE_TRY - SHARE)) refused with 429" "$(count_status "$E2E_TMP/ready5" 429)" "$((SHARE_TRY - SHARE))"
check_eq "... its held long-polls count against its cap: an ordinary GET still answered" \
	"$(in_guest 5 curl -s -m 5 -o /dev/null -w '%{http_code}' $META/openstack/latest/meta_data.json)" "200"
for n in 1 2 3 4; do
	bg hold$n ip netns exec "$TOPO-g$n" "$GUEST_PY" "$E2E_PY/longpoll.py" hold $BIG "$LPPATH" "$E2E_TMP/ready$n"
done
for n in 1 2 3 4; do wait_for --timeout 30 test -e "$E2E_TMP/ready$n"; done
H=$SHARE
for n in 1 2 3 4; do H=$((H + $(held_line "$E2E_TMP/ready$n" held))); done
check_eq "$TOTAL long-polls held over five guests" "$H" "$TOTAL"
bg hold1b ip netns exec "$TOPO-g1" "$GUEST_PY" "$E2E_PY/longpoll.py" hold 5 "$LPPATH" "$E2E_TMP/ready1b"
wait_for --timeout 20 test -e "$E2E_TMP/ready1b"
check_eq "past the total (--max-waiting $TOTAL): 503" "$(count_status "$E2E_TMP/ready1b" 503)" "5"
cpu() { awk '{print $14 + $15}' "/proc/$RESP_PID/stat"; }
c0=$(cpu); t0=$(date +%s%N)
sleep $CPU_WINDOW_S # measuring CPU over a window: nothing to await
c1=$(cpu); t1=$(date +%s%N)
PCT=$(awk "BEGIN{printf \"%.1f\", ($c1 - $c0) * 100 / $(getconf CLK_TCK) / (($t1 - $t0) / 1e9)}")
diag "responder CPU with $TOTAL held long-polls: $PCT % of one CPU over ${CPU_WINDOW_S} s"
check "... the responder stays idle (< $IDLE_CPU_PCT %: $PCT %)" awk "BEGIN{exit !($PCT < $IDLE_CPU_PCT)}"
# A new connection after these bursts: the responder reclaims the boosted
# fill rings the bursts left idle by reopening their sockets (xsk.c), which
# used to leave new connections unanswered for seconds (libxdp's ring
# indexes reused; docs/robustness.md).
T=$(in_guest 5 curl -s -m 5 -o /dev/null -w "%{http_code} %{time_total}" "$META/openstack/latest/meta_data.json")
diag "a new connection of guest 5 after the bursts: $T (status, s)"
check_eq "a new connection of guest 5 after the bursts is answered" "${T%% *}" 200
for p in $_E2E_PIDS; do case " $RESP_PID $MDRD_PID " in *" $p "*) ;; *) stop_pid "$p" ;; esac; done

# ---- no change datagram: the generation check -------------------------------------------------
# Another process holds the channel's name (as when a second responder
# runs): the responder starts without it and learns of changes from its
# once-a-second check of the instances that have waiters.
stop_pid "$RESP_PID"
mv "$E2E_TMP/responder-$TOPO.log" "$E2E_TMP/responder-first.log"
NAME=$("$GUEST_PY" -c "import os; s=os.stat('$PIN'); print('mdr-change:%x:%x' % (s.st_dev, s.st_ino))")
bg squat nsenter --net="/run/netns/$HV" "$GUEST_PY" -c "
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0$NAME')
open('$E2E_TMP/squat', 'w').close()
time.sleep(3600)"
wait_for test -e "$E2E_TMP/squat"
start_responder || { dump_logs; e2e_done; }
check "the responder says it runs without the change channel" grep -q "no change channel" "$E2E_TMP/responder-$TOPO.log"
LP 1 delay /openstack/latest/meta_data.json 2 "$MDRCTL instance load $DEF_DIR/g1-{i}.json" >"$E2E_TMP/d3.json"
D=$(jpy '"%.0f" % d["max_ms"]' <"$E2E_TMP/d3.json")
check_eq "without a datagram the change still reaches the guest" \
	"$(jpy 'json.loads(d["body"])["meta"]["round"]' <"$E2E_TMP/d3.json" 2>&1)" "r1"
check "... within the 1 s check (+ slack: $D ms)" awk "BEGIN{exit !($D < 2500)}"

e2e_done
