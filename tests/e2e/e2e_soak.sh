#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_soak: mixed traffic for SOAK_MINUTES (default 2; `make soak` runs 60),
# sampled, fitted and judged. Port mode, 5 guests:
#   g1  keep-alive meta_data.json + IMDSv2 tokens      (soakload.py)
#   g2  new connection per request + 64 KiB user data   (its definition is
#       reloaded every CHURN_S with a changed meta value: definition churn)
#   g3  keep-alive + 64 KiB user data with a token
#   g4  the flooding guest: raw SYNs at FLOOD_SYN_PPS and held-open
#       connections (tools/bench/flood.c); its requests are not judged
#   g5  hot-plugged: tap5 deleted and re-created every HOTPLUG_S; the time
#       until g5 is served again is measured each time
# plus CHURN_EXTRA unbound instances loaded, then deleted, every CHURN_S.
# Every SAMPLE_S (10 s; 5 s for runs under 10 minutes) one CSV row: RSS and
# open fds of mdrd and the responder, UMEM frames in use (not on the
# responder's free stack), responder sockets, open connections (opened -
# closed, mdr_rstats), entries of every pinned map, orphans (tools/mdrfsck.py)
# and the guests' request counts. Then tests/e2e/soakfit.py fits a slope per
# series after a warm-up and fails any above its stated threshold; any
# failed request of g1..g3, an orphan in any sample, a churn load that
# failed or a hot-plug not served within HOTPLUG_MAX_S fails the suite.
# Output in SOAK_OUT (default: the temp dir): soak.csv, summary.txt, and
# with SOAK_PLOT=FILE.png a gnuplot figure (tools/soak.gp).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
e2e_init soak

SOAK_MINUTES=${SOAK_MINUTES:-2}
# Sampling period: 10 s as the issue asks; short runs sample more often so
# the fit has enough points.
if [ "$SOAK_MINUTES" -ge 10 ]; then SAMPLE_S=10; else SAMPLE_S=5; fi
# Definition churn and tap hot-plug periods (seconds).
CHURN_S=5
HOTPLUG_S=30
# Unbound instances loaded and deleted per churn round (8 KiB user data each).
CHURN_EXTRA=8
# Requests per second per mode per guest: steady, light on 2 shared cores.
LOAD_RATE=20
# The flooding guest: raw SYNs/s (~2x the default per-instance XDP allowance)
# and new held connections/s, at most FLOOD_HOLD open at once.
FLOOD_SYN_PPS=2000
FLOOD_CONN_RATE=20
FLOOD_HOLD=200
# A re-created tap must be served within this (mdrd's hot-plug contract is
# 1 s; slack for the shared machine).
HOTPLUG_MAX_S=5
# Traffic goes on this long after the flood stopped (the flooder's socket
# is reclaimed after RSP_RECLAIM_IDLE_TICKS, about 2 s).
POSTFLOOD_S=10
RSP_METRICS=127.0.0.1:9464
SOAK_OUT=${SOAK_OUT:-$E2E_TMP}
mkdir -p "$SOAK_OUT"
CSV=$SOAK_OUT/soak.csv
DUR_S=$((SOAK_MINUTES * 60))

command -v "${CC:-cc}" >/dev/null || skip_all "needs a C compiler for tools/bench/flood.c"
FLOOD=$E2E_TMP/flood
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE "$E2E_ROOT/tools/bench/flood.c" -o "$FLOOD" ||
	skip_all "cannot build tools/bench/flood.c"

topo_create --mode port --guests 5 || e2e_done
start_mdrd || { dump_logs; e2e_done; }
start_responder --metrics "$RSP_METRICS" ${SOAK_RESP_ARGS:-} || { dump_logs; e2e_done; }
UMEM_TOTAL=$(sed -n 's/.*serving (.*, \([0-9]*\) UMEM frames.*/\1/p' "$E2E_TMP/responder-$TOPO.log" | head -n1)
for n in 1 2 3 4 5; do
	mkdefn "$n" "$DEF_DIR/g$n.json" meta.churn='"0"'
	check "guest $n's instance (64 KiB user data) loaded" mdrctl instance load "$DEF_DIR/g$n.json"
done
check "guest 5 is served before the soak" wait_for --timeout 5 served 5

load_start 1 "$LOAD_RATE" keepalive token
load_start 2 "$LOAD_RATE" newconn userdata
load_start 3 "$LOAD_RATE" keepalive userdata
# The flooders run in FLOOD_SEG_S rounds (flood.c runs 120 s at most)
# until $FLOOD_STOP exists (after the last sample).
FLOOD_STOP=$E2E_TMP/flood.stop
FLOOD_SEG_S=$((DUR_S < 110 ? DUR_S : 110))
bg flood-syn ip netns exec "$TOPO-g4" sh -c 'while [ ! -e "$1" ]; do "$2" syn -R "$3" -D "$4"; done' \
	sh "$FLOOD_STOP" "$FLOOD" "$FLOOD_SYN_PPS" "$FLOOD_SEG_S"
FLOOD_SYN_PID=$BG_PID
bg flood-conn ip netns exec "$TOPO-g4" sh -c 'while [ ! -e "$1" ]; do "$2" conn -R "$3" -n "$4" -D "$5"; done' \
	sh "$FLOOD_STOP" "$FLOOD" "$FLOOD_CONN_RATE" "$FLOOD_HOLD" "$FLOOD_SEG_S"
FLOOD_CONN_PID=$BG_PID
diag "soak: $SOAK_MINUTES min, sample every ${SAMPLE_S}s, churn every ${CHURN_S}s, hot-plug every ${HOTPLUG_S}s, UMEM $UMEM_TOTAL frames"

scrape() { in_hv curl -sS -m 2 "http://$RSP_METRICS/metrics" 2>/dev/null | sed -n "s/^$1 //p"; }
conns_open() {
	mdrctl stats -j 2>/dev/null | "$GUEST_PY" -c \
		'import json,sys; r=json.load(sys.stdin)["responder"]; print(r["conns_opened"] - r["conns_closed"])' 2>/dev/null || echo NaN
}
MAPS="mdr_inst mdr_uuids mdr_chunk0 mdr_chunk1 mdr_chunk2 mdr_chunk3 mdr_chunk4 mdr_chunk5 mdr_ports mdr_macs mdr_limits mdr_rl mdr_passwords mdr_istats mdr_rstats"
fsck_field() { # fsck.json map|orphans
	"$GUEST_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); k=sys.argv[2]
print(len(d["orphans"]) if k == "orphans" else d["entries"].get(k, 0))' "$E2E_TMP/fsck.json" "$1" 2>/dev/null || echo NaN
}
sample() { # elapsed seconds
	"$GUEST_PY" "$E2E_ROOT/tools/mdrfsck.py" "$PIN" -j >"$E2E_TMP/fsck.json" 2>"$E2E_TMP/fsck.err"
	_free=$(scrape mdr_responder_umem_free_frames)
	_row="$1,$(proc_rss_kb "$MDRD_PID"),$(proc_rss_kb "$RESP_PID"),$(proc_fds "$MDRD_PID"),$(proc_fds "$RESP_PID")"
	_row="$_row,$((UMEM_TOTAL - ${_free:-$UMEM_TOTAL})),$(scrape mdr_responder_sockets),$(conns_open)"
	_chunks=0
	for _m in $MAPS; do
		_v=$(fsck_field "$_m")
		_row="$_row,$_v"
	done
	_orph=$(fsck_field orphans)
	[ "$_orph" = 0 ] || cp "$E2E_TMP/fsck.json" "$SOAK_OUT/orphans-at-$1s.json"
	_row="$_row,$_orph,$(load_sum ok "$E2E_TMP"/load-g[123].out),$(load_sum failed "$E2E_TMP"/load-g[123].out)"
	echo "$_row" >>"$CSV"
}
echo "t_s,mdrd_rss_kb,resp_rss_kb,mdrd_fds,resp_fds,umem_in_use,resp_sockets,conns_open,$(echo $MAPS | tr ' ' ','),orphans,req_ok,req_failed" >"$CSV"

churn_n=0 churn_fail=0 hp_n=0 hp_fail=0 hp_max=0 hp_sum=0
churn() {
	churn_n=$((churn_n + 1))
	mkdefn 2 "$DEF_DIR/g2.json" meta.churn="\"$churn_n\""
	mdrctl instance load "$DEF_DIR/g2.json" >>"$E2E_TMP/churn.log" 2>&1 || churn_fail=$((churn_fail + 1))
	_k=1
	while [ $_k -le "$CHURN_EXTRA" ]; do
		_u=$(printf '5a5a5a5a-0000-4000-9000-%012d' "$_k")
		if [ $((churn_n % 2)) = 1 ]; then
			"$GUEST_PY" "$E2E_PY/defn.py" "$E2E_ROOT/tests/data/instances/vm1.json" --binding none \
				uuid="\"$_u\"" name="\"extra$_k\"" \
				user_data="\"$(head -c 8192 /dev/urandom | base64 -w0)\"" >"$DEF_DIR/extra.json"
			mdrctl instance load "$DEF_DIR/extra.json" >>"$E2E_TMP/churn.log" 2>&1 || churn_fail=$((churn_fail + 1))
		else
			mdrctl instance del "$_u" >>"$E2E_TMP/churn.log" 2>&1 || churn_fail=$((churn_fail + 1))
		fi
		_k=$((_k + 1))
	done
}
hotplug() {
	hp_n=$((hp_n + 1))
	tap_unplug 5
	# mdrd forgets the port (its binding is deferred again) ...
	wait_for --timeout 5 port_gone 5
	tap_plug 5 || { hp_fail=$((hp_fail + 1)); return 0; }
	_ms=$(time_to_service 5 "$HOTPLUG_MAX_S")
	if [ "$_ms" -lt 0 ]; then hp_fail=$((hp_fail + 1)); diag "hot-plug $hp_n: tap5 not served within ${HOTPLUG_MAX_S}s"
	else
		hp_sum=$((hp_sum + _ms))
		[ "$_ms" -gt "$hp_max" ] && hp_max=$_ms
	fi
	echo "$hp_n $_ms" >>"$SOAK_OUT/hotplug.txt"
}
port_gone() { ! mdrctl status -j | grep -q '"tap'"$1"'"'; }

START=$(date +%s)
next_sample=0 next_churn=$CHURN_S next_hp=$HOTPLUG_S
while :; do
	t=$(( $(date +%s) - START ))
	[ "$t" -ge "$DUR_S" ] && break
	if [ "$t" -ge "$next_sample" ]; then sample "$t"; next_sample=$((next_sample + SAMPLE_S)); fi
	if [ "$t" -ge "$next_churn" ]; then churn; next_churn=$((t + CHURN_S)); fi
	if [ "$t" -ge "$next_hp" ]; then hotplug; next_hp=$((t + HOTPLUG_S)); fi
	sleep 1
done
sample "$(( $(date +%s) - START ))"
for n in 1 2 3; do cp "$E2E_TMP/load-g$n.out" "$E2E_TMP/load-g$n.main"; done
# After the flood: the flooder's socket goes idle holding its boosted fill
# ring, which the responder reclaims; the other guests must not notice.
touch "$FLOOD_STOP"
wait_for --timeout $((FLOOD_SEG_S + 5)) _dead "$FLOOD_SYN_PID"
wait_for --timeout $((FLOOD_SEG_S + 5)) _dead "$FLOOD_CONN_PID"
sleep "$POSTFLOOD_S"
touch "$LOAD_STOP"
for p in $_E2E_PIDS; do
	case " $MDRD_PID $RESP_PID " in *" $p "*) continue ;; esac
	wait_for --timeout 10 _dead "$p"
done

# ---- verdicts ----------------------------------------------------------------------
check "mdrd ran throughout" _alive "$MDRD_PID"
check "the responder ran throughout" _alive "$RESP_PID"
for n in 1 2 3; do
	diag "guest $n: $(tr '\n' ' ' <"$E2E_TMP/load-g$n.main")"
	check_eq "guest $n: no request failed during the soak" "$(load_sum failed "$E2E_TMP/load-g$n.main")" 0
	[ "$(load_sum failed "$E2E_TMP/load-g$n.main")" = 0 ] || diag "$(head -n 10 "$E2E_TMP/load-g$n.log")"
	check_not "guest $n: every mode was answered" grep -q ' ok=0 ' "$E2E_TMP/load-g$n.main"
done
post_failed=$(( $(load_sum failed "$E2E_TMP"/load-g[123].out) - $(load_sum failed "$E2E_TMP"/load-g[123].main) ))
post_ok=$(( $(load_sum ok "$E2E_TMP"/load-g[123].out) - $(load_sum ok "$E2E_TMP"/load-g[123].main) ))
check_eq "the other guests are served on in the ${POSTFLOOD_S}s after the flood stops (its idle socket reclaimed; $post_ok ok)" \
	"$post_failed" 0
echo "postflood_ok=$post_ok postflood_failed=$post_failed" >>"$SOAK_OUT/summary-extra.txt"
diag "flooding guest, last rounds: $(tail -n1 "$E2E_TMP/flood-syn.log") $(tail -n1 "$E2E_TMP/flood-conn.log")"
check_eq "definition churn: all $churn_n rounds' loads and deletes succeeded" "$churn_fail" 0
[ "$hp_n" -gt 0 ] && diag "hot-plug: $hp_n re-created taps, time to service mean $((hp_sum / hp_n)) ms, max $hp_max ms"
check_eq "hot-plug: every re-created tap5 served within ${HOTPLUG_MAX_S}s ($hp_n times)" "$hp_fail" 0
_sanarg=""
san_build && _sanarg=--sanitized
"$GUEST_PY" "$E2E_PY/soakfit.py" "$CSV" "$SOAK_MINUTES" "$SOAK_OUT/summary.txt" $_sanarg >"$E2E_TMP/fit.tap"
tap_lines "$E2E_TMP/fit.tap"
sed 's/^/# /' "$SOAK_OUT/summary.txt"
if [ -n "${SOAK_PLOT:-}" ]; then
	check "plot written to $SOAK_PLOT" gnuplot -e "csv='$CSV'; out='$SOAK_PLOT'; subtitle='$SOAK_MINUTES min, $(date -u +%F)'" \
		"$E2E_ROOT/tools/soak.gp"
fi
e2e_done
