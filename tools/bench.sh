#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/bench.sh - `make bench`: mdr side by side with nginx, one report.
#
# A measurement, never a pass/fail test: it prints one markdown table (also
# $BUILD/bench/report.md) and writes a plot ($BUILD/bench/bench.png). Run as
# root from the repository root (make bench does: BUILD=build sh tools/bench.sh).
#
#   BENCH_QUICK=1   short runs for development (2 s wrk, 16-guest storm, ...)
#   BENCH_REPS=N    A/B repetitions per comparison (default 2: A/B/A/B)
#   BENCH_BUDGET_S  wall-clock budget; sections that would overrun are skipped
#   BENCH_SECTIONS  subset of "wrk storm vmstorm flood pass notify scale" (development)
#   BENCH_WRK       subset of the wrk rows (ka_small ka_16k close_small close_16k
#                   ka_lone multi_ka multi_close; development)
#   BENCH_VMS       VMs in the VM boot storm (default 8)
#   BENCH_RESP_ARGS extra mdr-responder arguments (default: none, its own
#                   defaults, which serve 256 taps; see docs/perf.md)
#   BENCH_KEEP=1    keep the temp dir (daemon logs, docroot) for inspection
#   BENCH_PERF=1    record a system-wide profile (perf record -a -g) of every
#                   wrk and boot-storm run into $BUILD/bench/logs/*.perf
#
# Everything runs in namespaces made by tools/topo.sh (bridge mode: guests
# route 169.254.169.254 via br0 in the hypervisor namespace). nginx (Debian
# nginx-light, private config/pid/logs in a temp dir) listens on
# 169.254.169.254:80 in the hypervisor namespace and serves guest 1's tree,
# exported as static files. "mdr" = mdrd's XDP program on every tap plus
# mdr-responder; "nginx" = mdr's endpoint moved to an unused port so its
# program passes the metadata TCP on, and nginx answers over the same
# bridge. Runs alternate mdr, nginx, mdr, nginx... and the table shows
# medians. Everything started here is stopped by PID and every namespace
# and mount removed on exit, also on Ctrl-C. docs/bench.md explains each row.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
E2E_ROOT=$ROOT
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

BT=$ROOT/tools/bench
OUT=$BUILD_DIR/bench
PY=/usr/bin/python3
TEMPLATE=$ROOT/tests/data/instances/vm1.json
META_URL=http://169.254.169.254
SMALL_PATH=/latest/meta-data/instance-id
BIG_PATH=/latest/user-data
# The "16 KiB user-data" of the issue.
BIG_LEN=16384
# wrk shape from the issue: one thread, 32 connections.
WRK_CONN=32
# Guests in the multi-guest run (issue: 4 guests, one wrk each).
MULTI_GUESTS=4
# Victim probe during floods: new-connection GETs per second, timeout.
PROBE_RATE=100
PROBE_TIMEOUT_MS=1000
# SYN flood rate (packets/s): ~20x the per-instance XDP allowance (1024 pps)
# and bounded so the flooder does not simply eat one of the 2 cores.
SYN_RATE=20000
# Connection flood: new connections/s and how many it holds at most.
CONN_RATE=2000
CONN_HOLD=5000
# cloud-init's per-request timeout and retries (url_helper defaults it uses).
CI_TIMEOUT_MS=10000
CI_RETRIES=5

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	DUR=2 REPS=${BENCH_REPS:-1} STORM_GUESTS=16 STORM_ROUNDS=2 IPERF_S=2 FLOOD_S=2
	SCALE_N=100 SCALE_TAPS=32
else
	# the long storm: 64 guests x 8 crawls = 512 guest boots (issue 16: >= 256)
	DUR=10 REPS=${BENCH_REPS:-2} STORM_GUESTS=64 STORM_ROUNDS=8 IPERF_S=5 FLOOD_S=5
	SCALE_N=1000 SCALE_TAPS=256
fi
# 20 minutes for `make bench` in all (the VM storm alone takes ~8), ~2 of them building.
BUDGET_S=${BENCH_BUDGET_S:-1200}
# Extra mdr-responder arguments: none by default. Its default UMEM shares
# fill frames fairly across sockets (docs/perf.md), so 64 taps need nothing.
RESP_ARGS=${BENCH_RESP_ARGS-}
T_START=$(date +%s)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
raw() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }
note() { printf 'note\t%s\n' "$*" >>"$RAW"; }
elapsed() { echo $(( $(date +%s) - T_START )); }
# have_time SECONDS: is there room for a section of about that long?
have_time() { [ $(( $(elapsed) + $1 )) -le "$BUDGET_S" ]; }
# want SECTION: selected by BENCH_SECTIONS (development: e.g. "storm scale")?
want() { case " ${BENCH_SECTIONS:-wrk storm vmstorm flood pass notify scale} " in *" $1 "*) return 0 ;; esac; return 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Is PID running (a zombie is not)?
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'; }
# Entries of a pinned map of ours.
entries() { "$PY" "$BT/mapmem.py" count "$PIN/$1"; }
# wait_entries MAP N MAX_S: until MAP holds N entries; gives up after MAX_S
# seconds, or after STALL_S seconds without progress. Prints the last count.
STALL_S=10
wait_entries() {
	_we_end=$(( $(now_ms) + $3 * 1000 )); _we_last=-1; _we_since=$(now_ms)
	while :; do
		_we_n=$(entries "$1")
		[ "$_we_n" -ge "$2" ] && break
		[ "$_we_n" != "$_we_last" ] && { _we_last=$_we_n; _we_since=$(now_ms); }
		[ "$(now_ms)" -ge "$_we_end" ] && break
		[ $(( $(now_ms) - _we_since )) -ge $((STALL_S * 1000)) ] && break
		sleep 0.1
	done
	echo "$_we_n"
}
# profiled NAME CMD...: CMD, under a system-wide perf record when BENCH_PERF=1.
profiled() {
	_pn=$1; shift
	if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -a -g -o "$OUT/logs/$_pn.perf" -- "$@"
	else
		"$@"
	fi
}
# Machine-wide busy jiffies (user nice system irq softirq steal).
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
HZ=$(getconf CLK_TCK)
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "nan"; else printf "%.6f\n", a / b }'; }
gns() { echo "$TOPO-g$1"; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run: sudo make bench"
for t in wrk nginx iperf3 gnuplot bpftool nsenter curl; do
	command -v $t >/dev/null || die "missing $t (make deps installs it)"
done

# ---- setup -------------------------------------------------------------------
mkdir -p "$OUT/logs"
rm -f "$OUT"/logs/* "$OUT/report.md" "$OUT/bench.png" "$OUT/plot.dat"
RAW=$OUT/raw.tsv
: >"$RAW"
printf 'meta\tstorm_guests\t%s\nmeta\tstorm_rounds\t%s\nmeta\tscale_n\t%s\nmeta\tscale_taps\t%s\n' \
	"$STORM_GUESTS" "$STORM_ROUNDS" "$SCALE_N" "$SCALE_TAPS" >>"$RAW"
RUN_ID=bch$$
E2E_NAME=bench
E2E_TMP=$(mktemp -d /tmp/mdr-bench.XXXXXX)
chmod 755 "$E2E_TMP" # nginx workers (nobody) read the docroot below it
NGINX_PID="" CG_BASE="" # CG_BASE: this run's cgroups (below), once made
# Leftover processes back to the parent, then the groups removed (idempotent).
cg_remove() {
	[ -n "$CG_BASE" ] && [ -d "$CG_BASE" ] || return 0
	for _g in ours nginx client; do
		[ -f "$CG_BASE/$_g/cgroup.procs" ] || continue
		while read -r _p; do echo "$_p" >"$CG_BASE/../cgroup.procs" 2>/dev/null || true; done \
			<"$CG_BASE/$_g/cgroup.procs"
		rmdir "$CG_BASE/$_g" 2>/dev/null
	done
	rmdir "$CG_BASE" 2>/dev/null || true
}
bench_cleanup() {
	trap - EXIT INT TERM HUP
	stop_pid "$NGINX_PID"
	# Daemon logs and start-up diagnostics outlive the temp dir.
	for _l in "$E2E_TMP"/*.log "$E2E_TMP"/*.out "$E2E_TMP"/nginx/error.log; do
		[ -f "$_l" ] && cp "$_l" "$OUT/logs/tmp-$(basename "$_l")"
	done
	E2E_KEEP=${BENCH_KEEP:-}
	e2e_cleanup
	cg_remove
}
trap bench_cleanup EXIT
trap 'bench_cleanup; exit 130' INT
trap 'bench_cleanup; exit 143' TERM
trap 'bench_cleanup; exit 129' HUP
sh "$TOPO_SH" cleanup-stale >/dev/null 2>&1 || true

log "building helpers"
mkdir -p "$OUT/bin"
for c in storm flood; do
	${CC:-cc} -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE "$BT/$c.c" -o "$OUT/bin/$c" ||
		die "cannot build tools/bench/$c.c"
done
${CLANG:-clang} -g -O2 -target bpf -Wall -Wextra -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
	-c "$BT/synack_drop.bpf.c" -o "$OUT/bin/synack_drop.bpf.o" ||
	die "cannot build tools/bench/synack_drop.bpf.c"
STORM=$OUT/bin/storm
FLOOD=$OUT/bin/flood

NG=$STORM_GUESTS
log "topology: bridge, $NG guests"
topo_create --mode bridge --guests "$NG" >/dev/null || die "topology failed: $(cat "$E2E_TMP"/topo-*.err)"
# nginx's address lives in the hypervisor namespace; guests reach it via br0.
ip -n "$HV" addr add 169.254.169.254/32 dev lo
i=1
while [ $i -le "$NG" ]; do
	# A benchmarking client's usual settings: wide port range, reuse of
	# TIME_WAIT ports (wrk closes first when the server says close).
	ip netns exec "$(gns $i)" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" \
		net.ipv4.tcp_tw_reuse=1 >/dev/null
	i=$((i + 1))
done
CPU_MODEL=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
MEM_GIB=$(awk '/MemTotal/{printf "%.0f", $2 / 1048576}' /proc/meminfo)
note "machine: $(nproc) cores ($CPU_MODEL), $MEM_GIB GiB, kernel $(uname -r);" \
	"client and servers share the cores"
note "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other load slows" \
	"every rate and counts in the machine-wide CPU figures)"

log "instances: $NG definitions (vm1 template, $BIG_LEN-byte user data, raised XDP limits)"
"$PY" "$BT/mkinst.py" "$TEMPLATE" "$INST_DIR" --count "$NG" --user-data-len "$BIG_LEN" --fast \
	--content "$E2E_TMP/bench.content" || die "mkinst failed"
UUID1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$INST_DIR/bench1.json")

# ---- each server's own CPU: one cgroup per server ---------------------------
# The clients' cost is the same for both servers and hides the difference,
# so each server's processes (mdr: mdrd and mdr-responder with its threads;
# nginx: master and workers) go into a cgroup of their own, named per run,
# whose cpu.stat usage_usec (cgroup v2: kept by the core, no controller
# needed; here the unified hierarchy beside v1, or the only one) is read
# around each run. Softirq work is charged to whichever task it interrupts
# (mostly the guests' senders: the XDP program, the SYN-ACK in XDP, nginx's
# kernel handshake), so neither side's figure holds it. Without cgroup v2:
# the processes' own CPU from /proc/PID/stat (clock ticks).
for _d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if [ "$(stat -fc %T "$_d" 2>/dev/null)" = cgroup2fs ] && mkdir "$_d/mdr-$RUN_ID" 2>/dev/null; then
		CG_BASE=$_d/mdr-$RUN_ID
		mkdir "$CG_BASE/ours" "$CG_BASE/nginx" "$CG_BASE/client" || CG_BASE=""
		break
	fi
done
# cg_join SIDE PID...: the server's processes into its cgroup.
cg_join() {
	_cs=$1; shift
	[ -n "$CG_BASE" ] || return 0
	for _p in "$@"; do echo "$_p" >"$CG_BASE/$_cs/cgroup.procs" 2>/dev/null || true; done
}
note "server CPU: $([ -n "$CG_BASE" ] && echo "each server's processes in a cgroup of their own" \
	"(cpu.stat usage_usec)" || echo "each server's processes' /proc/PID/stat (no cgroup v2 here)");" \
	"softirq work (XDP, the SYN-ACK, the host stack) is charged to the task it interrupts," \
	"mostly the guests, and is in neither server's figure"

# ---- mdr up (or n/a) ---------------------------------------------------------
# mdrd attaches to every tap*, the responder opens one socket per tap; both
# are waited for by exact map counts (a 64-port UMEM takes a while).
READY_S=90
mdr_start() {
	if [ -z "${MDRD_PID:-}" ]; then
		# shellcheck disable=SC2086 # MDRD_MODE_ARGS: "" or "--xdp-mode M" (row 7)
		bg "mdrd-$TOPO" nsenter --net="/run/netns/$HV" "$BUILD_DIR/mdrd" --pin-dir "$PIN" \
			--iface 'tap*' --instances "$INST_DIR" $MDRD_MODE_ARGS
		MDRD_PID=$BG_PID
		cg_join ours "$MDRD_PID"
		[ "$(wait_entries mdr_ifaces "$NG" $READY_S)" -ge "$NG" ] && alive "$MDRD_PID" ||
			{ log "mdrd did not attach to $NG taps"; return 1; }
	fi
	if [ -z "${RESP_PID:-}" ]; then
		# shellcheck disable=SC2086
		bg "responder-$TOPO" nsenter --net="/run/netns/$HV" "$BUILD_DIR/mdr-responder" \
			--pin-dir "$PIN" $RESP_ARGS
		RESP_PID=$BG_PID
		cg_join ours "$RESP_PID"
		_want=$(entries mdr_ifaces)
		[ "$(wait_entries mdr_xsk_slot "$_want" $READY_S)" -ge "$_want" ] && alive "$RESP_PID" ||
			{ log "mdr-responder did not open sockets on $_want taps"; return 1; }
	fi
	return 0
}
mdr_stop() {
	stop_pid "${RESP_PID:-}"; RESP_PID=""
	stop_pid "${MDRD_PID:-}"; MDRD_PID=""
}
OURS=0
MDRD_PID="" RESP_PID="" MDRD_MODE_ARGS=${BENCH_MDRD_MODE_ARGS:-}
_t0=$(now_ms)
if mdr_start && wait_for --timeout 20 ip netns exec "$(gns 1)" curl -sf -m 2 -o /dev/null \
	"$META_URL$SMALL_PATH"; then
	OURS=1
	log "mdr is up in $(( $(now_ms) - _t0 )) ms (mdrd $MDRD_PID, responder $RESP_PID $RESP_ARGS)"
	[ -n "$RESP_ARGS" ] && note "mdr-responder ran with $RESP_ARGS"
else
	log "mdr is not serving yet: its column will read n/a (see $OUT/logs/mdr-start.log)"
	{ tail -n 30 "$E2E_TMP"/mdrd-*.log "$E2E_TMP"/responder-*.log
	  ip netns exec "$(gns 1)" curl -sv -m 2 "$META_URL$SMALL_PATH"; mdrctl status; mdrctl stats; } \
		>"$OUT/logs/mdr-start.log" 2>&1
	mdr_stop
	note "mdr did not serve in this run (mdrd/mdr-responder not working yet): its column is n/a"
fi

# ---- nginx's docroot: guest 1's tree, exported -----------------------------
DOCROOT=$E2E_TMP/docroot
mkdir -p "$DOCROOT"
EXPORTED=""
if [ $OURS = 1 ]; then
	if "$PY" "$BT/export.py" --docroot "$DOCROOT" --list "$E2E_TMP/export.list" \
		--mdrctl "nsenter --net=/run/netns/$HV $BUILD_DIR/mdrctl --pin-dir $PIN" --uuid "$UUID1" \
		>"$OUT/logs/export.log" 2>&1; then
		EXPORTED="mdrctl get"
	elif ip netns exec "$(gns 1)" "$PY" "$BT/export.py" --docroot "$DOCROOT" \
		--list "$E2E_TMP/export.list" --http "$META_URL" >>"$OUT/logs/export.log" 2>&1; then
		EXPORTED="HTTP crawl of mdr from guest 1"
	fi
fi
if [ -z "$EXPORTED" ]; then
	"$PY" "$BT/export.py" --docroot "$DOCROOT" --list "$E2E_TMP/export.list" --synthetic \
		--user-data-len "$BIG_LEN" >>"$OUT/logs/export.log" 2>&1 || die "export failed"
	EXPORTED="built-in nova-shaped tree (mdr could not export)"
fi
chmod -R a+rX "$DOCROOT"
NPATHS=$(grep -c '^200 ' "$E2E_TMP/export.list")
note "nginx serves guest 1's tree as static files ($NPATHS paths, exported by $EXPORTED) to" \
	"every guest; nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), worker_processes auto," \
	"access log off, sendfile, open_file_cache"

NGX=$E2E_TMP/nginx
mkdir -p "$NGX"
nginx_start() { # [access log]
	sh "$BT/nginx-conf.sh" "$NGX" "$DOCROOT" "${1:-off}" >"$NGX/nginx.conf"
	bg nginx nsenter --net="/run/netns/$HV" nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log"
	NGINX_PID=$BG_PID
	if wait_for --timeout 10 sh -c "ip netns exec $(gns 1) curl -sf -m 2 -o /dev/null $META_URL$SMALL_PATH"; then
		# master and the workers it forked (answering proves they are up)
		# shellcheck disable=SC2046 # a list of PIDs
		cg_join nginx "$NGINX_PID" $(pgrep -P "$NGINX_PID")
		return 0
	fi
	log "nginx did not start: $(tail -n 5 "$NGX/error.log" "$E2E_TMP/nginx.log" 2>/dev/null)"
	return 1
}
nginx_stop() { stop_pid "$NGINX_PID"; NGINX_PID=""; }

# Which server answers guest 1 right now: nginx, mdr or none?
server_of() {
	_h=$(ip netns exec "$(gns 1)" curl -sf -m 2 -D - -o /dev/null "$META_URL$SMALL_PATH" 2>/dev/null) ||
		{ echo none; return 0; }
	if printf '%s\n' "$_h" | grep -qi '^server: nginx'; then echo nginx; else echo mdr; fi
}
is_side() { [ "$(server_of)" = "$1" ]; }
# use_side ours|nginx: which server answers the guests' metadata requests.
# mdrd and mdr-responder keep running across switches (a restart with 64
# taps takes ~15 s); for nginx's turns mdr's endpoint list is swapped for an
# address:port no guest uses, so the XDP program passes metadata TCP to the
# host stack and nginx answers. nginx therefore runs with mdr's program on
# the taps, at the pass-through cost of section 7 (a few ns per packet).
# nginx stays up; during mdr's turns it sees none of the metadata traffic.
# Every switch waits until guest 1 is answered by the expected server.
UNUSED_EP=169.254.169.254:9
MDR_EPS=""
mdr_intercept() { # on|off
	if [ "$1" = on ]; then
		[ -n "$MDR_EPS" ] || return 0
		# shellcheck disable=SC2046
		mdrctl config $(for e in $MDR_EPS; do printf -- '--endpoint %s ' "$e"; done) >/dev/null
	else
		[ -n "$MDR_EPS" ] || MDR_EPS=$(mdrctl config | awk '$1 == "endpoint" {print $2}')
		mdrctl config --endpoint "$UNUSED_EP" >/dev/null
	fi
}
use_side() {
	if [ "$1" = ours ]; then
		mdr_start || return 1
		mdr_intercept on || return 1
		wait_for --timeout 10 is_side mdr
	else
		[ -n "${MDRD_PID:-}" ] && { mdr_intercept off || return 1; }
		if [ -n "$NGINX_PID" ]; then wait_for --timeout 10 is_side nginx; fi
	fi
}
sides() { if [ $OURS = 1 ]; then echo "ours nginx"; else echo nginx; fi; }

# ---- cloud-init's request sequence -------------------------------------------
SEQ=$E2E_TMP/storm.seq
nginx_start "$NGX/seq.log" || die "nginx failed to start"
[ $OURS = 1 ] && { use_side nginx || die "cannot switch to nginx"; }
: >"$NGX/seq.log" # only cloud-init's requests from here on (nginx appends)
if ip netns exec "$(gns 1)" timeout 60 "$PY" "$BT/cloudinit-crawl.py" "$META_URL" \
	>"$OUT/logs/cloudinit.log" 2>&1 &&
	[ "$(wc -l <"$NGX/seq.log")" -ge 10 ]; then
	awk '{print ($1 == 404 ? 404 : 200), $2}' "$NGX/seq.log" >"$SEQ"
	SEQ_FROM="recorded from cloud-init 22.4's own OpenStack crawl"
else
	grep -E '^[0-9]+ (/openstack(/2018-08-27(/.*)?)?|/openstack/content/.*|/latest/meta-data/.*)$' \
		"$E2E_TMP/export.list" >"$SEQ"
	SEQ_FROM="derived from the export (cloud-init's crawl failed, see logs/cloudinit.log)"
fi
cp "$SEQ" "$OUT/logs/storm.seq"
nginx_stop
nginx_start || die "nginx failed to restart"
note "boot storm: each guest replays $(wc -l <"$SEQ") requests ($SEQ_FROM), one new" \
	"connection each, cloud-init's timeout ${CI_TIMEOUT_MS} ms and $CI_RETRIES retries"

# ---- 1, 2, 4: one guest, wrk --------------------------------------------------
# CPU time (clock ticks, user + system) of processes, and the server's
# processes of a side: the responder (mdrd idles), or nginx's master and
# workers. Softirq work (XDP, the host stack) is not in either.
proc_ticks() {
	for _p in "$@"; do
		[ -r "/proc/$_p/stat" ] && sed 's/.*) //' "/proc/$_p/stat" | awk '{print $12 + $13}'
	done | awk '{s += $1} END {print s + 0}'
}
server_pids() { # side
	if [ "$1" = ours ]; then echo "${MDRD_PID:-} ${RESP_PID:-}"
	else echo "${NGINX_PID:-} $(pgrep -P "${NGINX_PID:-0}" | tr '\n' ' ')"; fi
}
# The client of the wrk rows (wrk in guest 1, with the guest's TCP and the
# softirq work it runs) in a cgroup too: its CPU shows the client ceiling.
# wrk_run starts wrk through `sh -c` that first joins it (a plain command,
# so that perf can run it).
CLIENT_PROCS=${CG_BASE:+$CG_BASE/client/cgroup.procs}
# cg_us GROUP: CPU of one of this run's cgroups so far, microseconds.
cg_us() { awk '$1 == "usage_usec" {print $2}' "$CG_BASE/$1/cpu.stat"; }
cli_us() { if [ -n "$CG_BASE" ]; then cg_us client; else echo 0; fi; }
# srv_us SIDE: the server's CPU so far, microseconds (its cgroup, or failing
# that its processes' ticks; compare two readings of one run only).
srv_us() {
	if [ -n "$CG_BASE" ]; then
		cg_us "$1"
	else
		# shellcheck disable=SC2046 # a list of PIDs
		echo $(( $(proc_ticks $(server_pids "$1")) * 1000000 / HZ ))
	fi
}
# TCP segments the kernels of these namespaces retransmitted so far (SNMP).
ns_retrans() {
	for _ns in "$@"; do
		nsenter --net="/run/netns/$_ns" cat /proc/net/snmp
	done | awk '$1 == "Tcp:" && $2 ~ /^[0-9]+$/ { s += $13 } END { print s + 0 }'
}
wrk_run() { # side cfg path close(0|1) rep
	_f=$OUT/logs/wrk-$2-$1-$5.txt
	# ka_lone: one guest alone with one connection (issue 16: its every
	# request waits on the server's wake-up path)
	_wc=$WRK_CONN
	[ "$2" = ka_lone ] && _wc=1
	_s0=$(srv_us "$1")
	_c0=$(cpu_busy)
	_r0=$(ns_retrans "$(gns 1)")
	_u0=$(cli_us)
	_hdr=""
	[ "$4" = 1 ] && _hdr="Connection: close"
	profiled "wrk-$2-$1-$5" sh -c '[ -z "$0" ] || echo $$ >"$0"; exec "$@"' "$CLIENT_PROCS" \
		timeout -k 5 $((DUR + 30)) ip netns exec "$(gns 1)" wrk -t1 -c$_wc \
		-d${DUR}s --latency ${_hdr:+-H "$_hdr"} "$META_URL$3" >"$_f" 2>&1
	_u1=$(cli_us)
	_c1=$(cpu_busy)
	_s1=$(srv_us "$1")
	_r1=$(ns_retrans "$(gns 1)")
	# shellcheck disable=SC2046 # split into fields on purpose
	set -- "$@" $("$PY" "$BT/report.py" wrk "$_f" 2>/dev/null)
	[ $# -eq 10 ] || { log "wrk $2 ($1) produced no result (see $_f)"; return 0; }
	raw "$2_rps" "$1" "$6"
	raw "$2_p50_ms" "$1" "$7"
	raw "$2_p99_ms" "$1" "$8"
	raw "$2_err" "$1" "${10}"
	raw "$2_cpu" "$1" "$(fdiv "$(( (_c1 - _c0) * 1000 ))" "$((HZ * $9))")"
	raw "$2_srv_cpu" "$1" "$(fdiv "$((_s1 - _s0))" "$((1000 * $9))")"
	raw "$2_retrans" "$1" "$((_r1 - _r0))"
	[ -n "$CG_BASE" ] && raw "$2_cli_cores" "$1" "$(fdiv "$((_u1 - _u0))" "$((DUR * 1000000))")"
	log "  $2 $1: $6 req/s, p99 $8 ms, errors ${10}, guest TCP retransmissions $((_r1 - _r0))"
}

multi_run() { # side cfg path close rep
	_pids=""
	_g=1
	while [ $_g -le $MULTI_GUESTS ]; do
		_f=$OUT/logs/wrk-$2-$1-$5-g$_g.txt
		if [ "$4" = 1 ]; then
			bg "wrk-multi-$_g" timeout -k 5 $((DUR + 30)) ip netns exec "$(gns $_g)" wrk -t1 -c$WRK_CONN \
				-d${DUR}s --latency -H 'Connection: close' "$META_URL$3"
		else
			bg "wrk-multi-$_g" timeout -k 5 $((DUR + 30)) ip netns exec "$(gns $_g)" wrk -t1 -c$WRK_CONN \
				-d${DUR}s --latency "$META_URL$3"
		fi
		_pids="$_pids $BG_PID"
		_g=$((_g + 1))
	done
	for _p in $_pids; do wait "$_p"; stop_pid "$_p"; done # stop_pid forgets the finished PID
	_sum=0
	_g=1
	while [ $_g -le $MULTI_GUESTS ]; do
		cp "$E2E_TMP/wrk-multi-$_g.log" "$OUT/logs/wrk-$2-$1-$5-g$_g.txt"
		_r=$("$PY" "$BT/report.py" wrk "$E2E_TMP/wrk-multi-$_g.log" 2>/dev/null | cut -d' ' -f1)
		[ -n "$_r" ] || { log "wrk $2 ($1) guest $_g produced no result"; return 0; }
		_sum=$(awk -v a="$_sum" -v b="$_r" 'BEGIN{print a + b}')
		_g=$((_g + 1))
	done
	raw "$2_rps" "$1" "$_sum"
	log "  $2 $1: $_sum req/s total"
}

# Alternation: for each comparison, rep 1 mdr then nginx, rep 2 mdr then
# nginx, ... (A/B/A/B) so that slow drift of the machine hits both alike.
compare() { # runner cfg path close
	_rep=1
	while [ $_rep -le "$REPS" ]; do
		for _s in $(sides); do
			use_side "$_s" || { log "cannot switch to $_s"; continue; }
			"$1" "$_s" "$2" "$3" "$4" "$_rep"
		done
		_rep=$((_rep + 1))
	done
}

for spec in "wrk_run ka_small $SMALL_PATH 0" "wrk_run ka_16k $BIG_PATH 0" \
	"wrk_run close_small $SMALL_PATH 1" "wrk_run close_16k $BIG_PATH 1" \
	"wrk_run ka_lone $SMALL_PATH 0" \
	"multi_run multi_ka $SMALL_PATH 0" "multi_run multi_close $SMALL_PATH 1"; do
	set -- $spec
	want wrk || continue
	# BENCH_WRK: a subset of the rows by name (development), e.g. "ka_lone"
	case " ${BENCH_WRK:-$2} " in *" $2 "*) ;; *) continue ;; esac
	have_time $(( (DUR + 3) * REPS * 2 + 60 )) || { note "skipped $2: time budget"; continue; }
	log "$2: wrk -t1 -c$([ "$2" = ka_lone ] && echo 1 || echo $WRK_CONN) -d${DUR}s $3$([ "$4" = 1 ] && echo ' (Connection: close)')"
	compare "$@"
done
note "wrk: -t1 -c$WRK_CONN -d${DUR}s --latency from guest 1 ($MULTI_GUESTS guests for" \
	"section 3); CPU = machine-wide busy time from /proc/stat over the run / requests completed"

# ---- 5: boot storm ------------------------------------------------------------
STORM_NS=""
i=1
while [ $i -le "$NG" ]; do STORM_NS="$STORM_NS $(gns $i)"; i=$((i + 1)); done
# TCP segments the storm guests retransmitted so far (their kernels' SNMP).
# shellcheck disable=SC2086 # a list of namespaces
guests_retrans() { ns_retrans $STORM_NS; }
storm_run() { # side rep rounds key
	_f=$OUT/logs/$4-$1-$2.txt
	_r0=$(guests_retrans)
	_c0=$(cpu_busy)
	_s0=$(srv_us "$1")
	# shellcheck disable=SC2086
	profiled "$4-$1-$2" timeout -k 5 300 "$STORM" crawl -s "$SEQ" -t $CI_TIMEOUT_MS -r $CI_RETRIES -d 240 \
		-n "$3" $STORM_NS >"$_f" 2>&1
	_s1=$(srv_us "$1")
	_c1=$(cpu_busy)
	_r1=$(guests_retrans)
	_t=$("$PY" "$BT/report.py" kv "$_f" time_s) || { log "storm ($1) failed: $(cat "$_f")"; return 0; }
	raw "$4_s" "$1" "$_t"
	raw "$4_failed" "$1" "$("$PY" "$BT/report.py" kv "$_f" failed_attempts)"
	for _k in crawl_p50_s crawl_p99_s crawl_max_s; do
		raw "$4_$_k" "$1" "$("$PY" "$BT/report.py" kv "$_f" $_k)"
	done
	raw "$4_retrans" "$1" "$((_r1 - _r0))"
	raw "$4_srv_cpu_s" "$1" "$(fdiv "$((_s1 - _s0))" 1000000)"
	raw "$4_cpu_s" "$1" "$(fdiv "$((_c1 - _c0))" "$HZ")"
	log "  $4 $1: $(cat "$_f") server_cpu_s=$(fdiv "$((_s1 - _s0))" 1000000)" \
		"machine_cpu_s=$(fdiv $((_c1 - _c0)) "$HZ") (incl. process start) guest_retransmits=$((_r1 - _r0))"
}
# The long storm (issue 16): every guest crawls STORM_ROUNDS times back to
# back, so it lasts seconds and neither process start-up nor one scheduler
# hiccup decides it; the 64-guest one-round row stays for continuity.
if want storm && have_time $(( (REPS + 1) * 2 * 8 + 30 )); then
	log "boot storm: $NG guests at once, 1 crawl and $STORM_ROUNDS crawls each"
	_rep=1
	while [ $_rep -le $((REPS + 1)) ]; do
		for _s in $(sides); do
			use_side "$_s" || continue
			storm_run "$_s" $_rep 1 storm
			storm_run "$_s" $_rep "$STORM_ROUNDS" stormx
		done
		_rep=$((_rep + 1))
	done
	note "boot storm: all $NG guests start together on a barrier; 'storm' = one crawl each," \
		"'long storm' = $STORM_ROUNDS crawls each back to back ($((NG * STORM_ROUNDS)) guest" \
		"boots); crawl time = one guest's whole sequence, p50/p99/max over every crawl;" \
		"retransmissions = the guests' kernels' TCP RetransSegs; server CPU from its cgroup"
else
	note "skipped the boot storm: time budget"
fi

# ---- 5b: VM boot storm -----------------------------------------------------------
# Real VMs: VM_STORM_N QEMU guests (TCG; Debian's kernel, busybox, virtio-net;
# tools/vm/) boot at once on taps in br0, as a compute node's VMs do; mdrd
# attaches the new taps like any other. Per VM: from its QEMU start to its
# meta_data.json fetched (the guest's own TCP, after an IMDSv2 token PUT and
# its instance-id), as its serial console shows it (polled every 50 ms).
# Under TCG the boot dominates: the mdr/nginx ratio is what counts.
VM_STORM_N=${BENCH_VMS:-8}
# First address of the storm VMs: after the namespace guests' 10.99.0.(10+i).
VM_IP0=$((10 + NG))
# Seconds all VMs of one storm get to fetch their metadata.
VM_STORM_WAIT_S=240
vm_seen() { grep -q 'MDR-RESULT meta ' "$1" 2>/dev/null; }
vmstorm_run() { # side rep
	_d=$E2E_TMP/vmstorm-$1-$2
	mkdir -p "$_d"
	_pids="" i=1
	while [ $i -le "$VM_STORM_N" ]; do
		now_ms >"$_d/start$i"
		bg "vmstorm-$1-$2-$i" sh "$ROOT/tools/vm/qemu.sh" --image "$VMIMG" --ns "$HV" \
			--tap "tapv$((200 + i))" --mac "$(printf '52:54:00:00:02:%02x' $i)" \
			--ip "10.99.0.$((VM_IP0 + i))/24" --gw "$GATEWAY" --log "$_d/console$i.log" \
			--ud 0 --quick 1
		echo "$BG_PID" >"$_d/pid$i"
		_pids="$_pids $BG_PID"
		i=$((i + 1))
	done
	_end=$(( $(now_ms) + VM_STORM_WAIT_S * 1000 ))
	while [ "$(now_ms)" -lt $_end ]; do
		_left=0 i=1
		while [ $i -le "$VM_STORM_N" ]; do
			if [ ! -f "$_d/seen$i" ]; then
				if vm_seen "$_d/console$i.log"; then now_ms >"$_d/seen$i"
				elif alive "$(cat "$_d/pid$i")"; then _left=$((_left + 1)); fi
			fi
			i=$((i + 1))
		done
		[ $_left = 0 ] && break
		sleep 0.05
	done
	for _p in $_pids; do wait_for --timeout 30 _dead "$_p"; stop_pid "$_p"; done
	"$PY" - "$_d" "$VM_STORM_N" "$ROOT/tools/vm" >"$OUT/logs/vmstorm-$1-$2.txt" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[3])
import console
d, n = sys.argv[1], int(sys.argv[2])
times, failed = [], 0
for i in range(1, n + 1):
    r = console.parse(f"{d}/console{i}.log").res.get("meta") if os.path.exists(f"{d}/console{i}.log") else None
    if not os.path.exists(f"{d}/seen{i}") or not r or r[0] != "200":
        failed += 1
        continue
    times.append((int(open(f"{d}/seen{i}").read()) - int(open(f"{d}/start{i}").read())) / 1000)
times.sort()
def pct(p):
    return times[min(len(times) - 1, int(p / 100 * len(times)))] if times else float("nan")
print(f"p50_s={pct(50):.2f} p99_s={pct(99):.2f} max_s={times[-1] if times else float('nan'):.2f} "
      f"failed={failed} vms={n} times={','.join('%.2f' % t for t in times)}")
EOF
	for _k in p50_s p99_s max_s failed; do
		raw "vmstorm_$_k" "$1" "$("$PY" "$BT/report.py" kv "$OUT/logs/vmstorm-$1-$2.txt" $_k)"
	done
	log "  VM storm $1: $(cat "$OUT/logs/vmstorm-$1-$2.txt")"
}
if want vmstorm && have_time $((VM_STORM_WAIT_S * 2)) && VMIMG=$(sh "$ROOT/tools/vm/build-image.sh" "$BUILD_DIR" 2>"$OUT/logs/vm-image.log"); then
	log "VM boot storm: $VM_STORM_N QEMU VMs at once"
	printf 'meta\tvm_storm\t%s\n' "$VM_STORM_N" >>"$RAW"
	"$PY" "$BT/mkinst.py" "$TEMPLATE" "$INST_DIR" --count "$VM_STORM_N" --first 201 --prefix vmst \
		--ports $((200 + VM_STORM_N)) --port-fmt tapv%d --fast --content "$E2E_TMP/vmst.content" ||
		log "VM storm: mkinst failed"
	i=1
	while [ $i -le "$VM_STORM_N" ]; do
		ip -n "$HV" tuntap add dev "tapv$((200 + i))" mode tap
		ip -n "$HV" link set "tapv$((200 + i))" master br0 up
		i=$((i + 1))
	done
	_want=$((NG + VM_STORM_N))
	if [ $OURS = 1 ]; then
		[ "$(wait_entries mdr_xsk_slot "$_want" 60)" -ge "$_want" ] || log "VM storm: the responder has fewer than $_want sockets"
	fi
	_rep=1
	while [ $_rep -le "$REPS" ]; do
		for _s in $(sides); do use_side "$_s" && vmstorm_run "$_s" $_rep; done
		_rep=$((_rep + 1))
	done
	note "VM boot storm: $VM_STORM_N QEMU VMs (TCG, 192 MiB, 1 vCPU, virtio-net on taps in br0," \
		"Debian $(cat "$VMIMG/kernel-version") booted through PVH, busybox initramfs) start at once;" \
		"per VM, QEMU start -> meta_data.json fetched (after a token PUT and its instance-id);" \
		"nginx has no token to give (404 for the PUT) and serves guest 1's tree"
	i=1
	while [ $i -le "$VM_STORM_N" ]; do ip -n "$HV" link del "tapv$((200 + i))"; i=$((i + 1)); done
	rm -f "$INST_DIR"/vmst*.json
elif want vmstorm; then
	note "skipped the VM boot storm: time budget, or the VM image failed (logs/vm-image.log)"
fi

# ---- flood fairness (issue 6) ----------------------------------------------
# Guest 1 probes (open loop, new connection per request) while guest 2 floods.
# For the SYN flood the attacker's eth0 runs synack_drop, removed afterwards.
attacker_rst_drop() { # on|off: a SYN flooder ignores SYN-ACKs (no RST back)
	if [ "$1" = on ]; then
		ip -n "$(gns 2)" -force link set dev eth0 xdpdrv obj "$OUT/bin/synack_drop.bpf.o" sec xdp ||
			note "SYN flood: could not drop the attacker's SYN-ACKs; its kernel answered them with RST"
	else
		ip -n "$(gns 2)" link set dev eth0 xdp off
	fi
	return 0
}
flood_case() { # side type
	_f=$OUT/logs/flood-$2-$1.txt
	_apid=""
	case $2 in
	syn)
		attacker_rst_drop on
		bg flood-syn ip netns exec "$(gns 2)" "$FLOOD" syn -R $SYN_RATE -D $((FLOOD_S + 1)) ;;
	conn)
		bg flood-conn ip netns exec "$(gns 2)" "$FLOOD" conn -R $CONN_RATE -n $CONN_HOLD -D $((FLOOD_S + 1)) ;;
	req)
		bg flood-req timeout -k 5 $((FLOOD_S + 30)) nsenter --net="/run/netns/$(gns 2)" \
			sh "$BT/wrk-flood.sh" $((FLOOD_S + 1)) 64 "$META_URL$SMALL_PATH" ;;
	esac
	[ "$2" = base ] || { _apid=$BG_PID; sleep 0.5; } # let the flood build up first
	_c0=$(srv_us "$1")
	timeout -k 5 $((FLOOD_S + 30)) ip netns exec "$(gns 1)" "$STORM" probe -p "$SMALL_PATH" -R $PROBE_RATE \
		-D "$FLOOD_S" -t $PROBE_TIMEOUT_MS >"$_f" 2>&1
	_c1=$(srv_us "$1")
	# server CPU ms per second of the probe (victim's requests included)
	raw "flood_$2_cpu_ms" "$1" "$(fdiv "$((_c1 - _c0))" "$((1000 * FLOOD_S))")"
	echo "server_cpu_us=$((_c1 - _c0))" >>"$_f"
	if [ -n "$_apid" ]; then
		wait "$_apid"
		stop_pid "$_apid" # forgets the finished PID
		cp "$E2E_TMP/flood-$2.log" "$OUT/logs/flood-$2-$1-attacker.txt"
		grep -E '^(sent|opened)=|Requests/sec' "$E2E_TMP/flood-$2.log" | sed 's/^/attacker: /' >>"$_f"
	fi
	[ "$2" = syn ] && attacker_rst_drop off
	_sent=$("$PY" "$BT/report.py" kv "$_f" sent) || { log "flood $2 ($1): no probe result"; return 0; }
	_ok=$("$PY" "$BT/report.py" kv "$_f" ok)
	raw "flood_$2_ok" "$1" "$(fdiv "$((_ok * 100))" "$_sent")"
	raw "flood_$2_p99_ms" "$1" "$("$PY" "$BT/report.py" kv "$_f" p99_ms)"
	log "  flood $2 $1: $(tr '\n' ' ' <"$_f")"
	# Recovery before the next case: the victim is served again.
	wait_for --timeout 10 ip netns exec "$(gns 1)" curl -sf -m 1 -o /dev/null "$META_URL$SMALL_PATH"
}
if want flood && have_time $(( (FLOOD_S + 3) * 8 + 20 )); then
	log "flood fairness: guest 2 floods, guest 1 probes at $PROBE_RATE req/s"
	if [ $OURS = 1 ]; then
		# Victim and attacker get the template's (default) limits back.
		"$PY" "$BT/mkinst.py" "$TEMPLATE" "$E2E_TMP/flood-inst" --count 2 --user-data-len "$BIG_LEN" \
			--content "$E2E_TMP/flood.content"
		for i in 1 2; do
			cp "$E2E_TMP/flood-inst/bench$i.json" "$INST_DIR/bench$i.json"
			mdrctl instance load "$INST_DIR/bench$i.json" >/dev/null 2>&1 || true
		done
		IMDS=$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["imds"]))' \
			"$TEMPLATE")
		note "flood: victim and attacker have vm1.json's limits ($IMDS)"
	fi
	note "flood: SYN flood $SYN_RATE pps (the attacker drops the SYN-ACKs, so no RST frees the" \
		"server's half-open state), connection flood $CONN_RATE/s holding up to $CONN_HOLD," \
		"request flood wrk -c64 keep-alive; probe ${PROBE_RATE}/s new connections," \
		"${PROBE_TIMEOUT_MS} ms timeout (a failure counts as the timeout in p99)"
	for ft in base syn conn req; do
		for _s in $(sides); do use_side "$_s" && flood_case "$_s" "$ft"; done
	done
else
	note "skipped flood fairness: time budget"
fi

# ---- 7: pass-through ----------------------------------------------------------
# iperf3 guest 1 -> hypervisor with mdr's program (a) detached, (b) attached
# as mdrd does by default (generic mode on veth taps), (c) forced native
# (mdrd restarted with --xdp-mode native). A native program on a veth tap
# strips GSO from its peer, the guest's eth0 (drivers/net/veth.c:
# veth_xdp_set, veth_fix_features), so the guest sends MTU-sized frames;
# generic does not, which is why mdrd's auto mode picks it on veth.
# Raw keys: iperf_gbps ours=generic ref=detached (the table row), and
# iperf_native_gbps ours=native ref=detached (same detached runs).
iperf_run() { # side(native|generic|detached) rep
	_f=$OUT/logs/iperf-$1-$2.json
	timeout -k 5 $((IPERF_S + 30)) ip netns exec "$(gns 1)" iperf3 -c "$GATEWAY" -t "$IPERF_S" -J >"$_f" 2>&1
	_bps=$("$PY" -c 'import json,sys
print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9)' "$_f" 2>/dev/null) ||
		{ log "iperf3 ($1) failed (see $_f)"; return 0; }
	case $1 in
	generic) raw iperf_gbps ours "$_bps" ;;
	native) raw iperf_native_gbps ours "$_bps" ;;
	detached) raw iperf_gbps ref "$_bps"; raw iperf_native_gbps ref "$_bps" ;;
	esac
	log "  iperf3 $1: $_bps Gbit/s"
}
# XDP mode of tap1 in the kernel's view: native, generic or none.
tap1_xdp_mode() {
	ip -n "$HV" -j -d link show dev tap1 | "$PY" -c 'import json,sys
x = json.load(sys.stdin)[0].get("xdp", {})
print({1: "native", 2: "generic"}.get(x.get("mode"), "none") if x.get("prog") else "none")'
}
# mdr up with the program attached in MODE on every tap (restarting mdrd,
# and the responder with it, when the mode changes); 0 when tap1 shows it.
iperf_mdr_mode() { # native|generic
	if [ "$(tap1_xdp_mode)" != "$1" ]; then
		mdr_stop
		MDRD_MODE_ARGS="--xdp-mode $1"
	fi
	mdr_start && mdr_intercept on && [ "$(tap1_xdp_mode)" = "$1" ] ||
		{ log "iperf3: cannot attach in $1 mode (tap1: $(tap1_xdp_mode))"; return 1; }
}
# The same from a real VM (tools/vm/, TCG) over virtio-net on a tun tap in
# br0, where mdrd attaches natively: attached (mdrd and the responder
# running) vs detached. Raw key iperf_vm_gbps ours=attached ref=detached.
# Seconds one VM run may take: boot under TCG plus the transfer.
IPERF_VM_S=$((IPERF_S + 60))
iperf_vm_run() { # attached|detached rep
	_l=$OUT/logs/iperf-vm-$1-$2.log
	bg "iperf-vm-$1-$2" sh "$ROOT/tools/vm/qemu.sh" --image "$VMIMG" --ns "$HV" --tap tapv1 \
		--mac 52:54:00:00:03:01 --ip "10.99.0.$((11 + NG))/24" --gw "$GATEWAY" --log "$_l" \
		--iperf "$GATEWAY" --iperf-s "$IPERF_S"
	wait_for --timeout $IPERF_VM_S _dead "$BG_PID"
	stop_pid "$BG_PID"
	_m=$(sed -n 's/.*MDR-IPERF mbps \([0-9.][0-9.]*\).*/\1/p' "$_l")
	[ -n "$_m" ] || { log "iperf3 from a VM ($1) failed (see $_l)"; return 0; }
	_g=$(fdiv "$_m" 1000)
	case $1 in attached) raw iperf_vm_gbps ours "$_g" ;; *) raw iperf_vm_gbps ref "$_g" ;; esac
	log "  iperf3 VM $1: $_g Gbit/s"
}
tapv1_native() { ip -n "$HV" -d link show dev tapv1 2>/dev/null | grep -q 'xdp '; }
# One mdr (re)start: wait for every tap and socket (about 1 s per 16 taps).
IPERF_RESTART_S=20
if want pass && have_time $(( ((IPERF_S + 3) * 3 + 2 * IPERF_RESTART_S + 2 * IPERF_VM_S) * REPS + 30 )); then
	log "pass-through: iperf3 guest 1 -> hypervisor, program generic (default) / native / detached"
	nginx_stop
	[ -n "${VMIMG:-}" ] || VMIMG=$(sh "$ROOT/tools/vm/build-image.sh" "$BUILD_DIR" 2>"$OUT/logs/vm-image.log") || VMIMG=""
	if [ -n "$VMIMG" ]; then
		ip -n "$HV" tuntap add dev tapv1 mode tap
		ip -n "$HV" link set tapv1 master br0 up
	fi
	bg iperf3-server nsenter --net="/run/netns/$HV" iperf3 -s -B "$GATEWAY"
	IPERF_PID=$BG_PID
	wait_for --timeout 5 sh -c "nsenter --net=/run/netns/$HV ss -ltn | grep -q ':5201 '"
	_rep=1
	while [ $_rep -le "$REPS" ]; do
		for _m in generic native; do
			[ $OURS = 1 ] && iperf_mdr_mode $_m && iperf_run $_m $_rep
		done
		# mdrd attaches a tun tap natively in every mode: as by default.
		[ $OURS = 1 ] && [ -n "$VMIMG" ] && { wait_for tapv1_native || log "tapv1 has no XDP program"; } &&
			iperf_vm_run attached $_rep
		mdr_stop # mdrd detaches its program on exit
		[ "$(tap1_xdp_mode)" = none ] || log "tap1 still has an XDP program after mdrd stopped"
		iperf_run detached $_rep
		[ -n "$VMIMG" ] && iperf_vm_run detached $_rep
		_rep=$((_rep + 1))
	done
	stop_pid "$IPERF_PID"
	if [ -n "$VMIMG" ]; then
		ip -n "$HV" link del tapv1
		note "iperf3 VM -> hypervisor: one QEMU VM (TCG, 1 vCPU, virtio-net, offloads on) on a tun" \
			"tap in br0, iperf3 -c $GATEWAY -t ${IPERF_S} from its kernel, mdr's program attached" \
			"natively as mdrd attaches taps (mdrd + responder running) vs detached (stopped);" \
			"under TCG the guest's emulated CPU bounds the rate"
	fi
	MDRD_MODE_ARGS="" # sections after this one: mdrd's default mode again
	_ratios=$("$PY" - "$RAW" <<'PYEOF'
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if len(p) == 3 and p[0] in ("iperf_gbps", "iperf_native_gbps"):
        v.setdefault((p[0], p[1]), []).append(float(p[2]))
def med(k, s):
    return statistics.median(v[(k, s)]) if (k, s) in v else None
d, g, n = med("iperf_gbps", "ref"), med("iperf_gbps", "ours"), med("iperf_native_gbps", "ours")
def r(x):
    return "n/a" if x is None or not d else "%.2f Gbit/s = %.2fx" % (x, x / d)
print("detached %s Gbit/s; generic (default) %s; native %s" % ("n/a" if d is None else "%.2f" % d, r(g), r(n)))
PYEOF
)
	log "  iperf3 medians: $_ratios"
	note "iperf3: TCP guest 1 -> hypervisor (br0), ${IPERF_S} s, mdr's program on every tap" \
		"(mdrd + responder running) attached as mdrd does by default (generic mode on veth" \
		"taps; the table row) or forced native (mdrd --xdp-mode native), vs detached (both" \
		"stopped); alternated generic, native, detached; medians: $_ratios. A native program" \
		"on a veth tap strips GSO from the guest's end (veth_xdp_set), generic leaves it"
	# BPF_PROG_TEST_RUN: the repository's BPF test binary, else bpftool.
	# Several runs (each the best of its alternating rounds); the table
	# takes the median of the runs, the ratio and the difference in ns.
	PASS_RUNS=5
	_pb=$OUT/logs/bpf_xdp-bench.txt
	if [ -x "$BUILD_DIR/tests/bpf_xdp" ] && "$BUILD_DIR/tests/bpf_xdp" --bench >"$_pb" 2>&1; then
		_k=1
		while [ $_k -le $PASS_RUNS ]; do
			[ $_k = 1 ] || "$BUILD_DIR/tests/bpf_xdp" --bench >"$_pb.$_k" 2>&1 || break
			# shellcheck disable=SC2046 # split into fields on purpose
			set -- $("$PY" "$BT/passns.py" parse "$_pb$([ $_k = 1 ] || echo ".$_k")")
			[ $# -eq 2 ] || break
			raw pass_ns ours "$1"; raw pass_ns ref "$2"
			raw pass_delta_ns ours "$(awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a - b}')"
			_k=$((_k + 1))
		done
		# every row: its name (all words before the four figures), empty, mdr
		_rows=$(awk 'NR > 2 && NF >= 5 { n = $1; for (i = 2; i <= NF - 4; i++) n = n " " $i
			printf "%s%s: empty %s, mdr %s", (c++ ? "; " : ""), n, $(NF-3), $(NF-2) }' "$_pb")
		note "pass-through ns/packet: build/tests/bpf_xdp --bench (BPF_PROG_TEST_RUN, each run" \
			"the best of 15 alternating rounds), median of $PASS_RUNS runs, row TCP/IPv4" \
			"pass-through; all rows of the first run: $_rows"
	elif [ $OURS = 1 ] && use_side ours; then
		# shellcheck disable=SC2046 # split into fields on purpose
		set -- $("$PY" "$BT/passns.py" run "$PIN/mdr_prog" "$BUILD_DIR/bpf/empty.bpf.o" \
			"$PIN/bench_empty" 2>"$OUT/logs/passns.log")
		if [ $# -eq 2 ]; then raw pass_ns ours "$1"; raw pass_ns ref "$2"
			note "pass-through ns/packet: bpftool prog run (BPF_PROG_TEST_RUN) of a" \
				"non-metadata TCP frame, pinned mdr_prog vs empty.bpf.o"
		fi
	fi
else
	note "skipped pass-through: time budget"
fi

# ---- 9: change notification (issue 18) -------------------------------------------
# Guest 1 long-polls one value (wait_for_change with its last ETag); the
# hypervisor changes it with `mdrctl put`; delay = mdrctl started -> the
# guest has the new answer (mdrctl's own start-up included), NOTIFY_N times.
NOTIFY_N=${BENCH_NOTIFY_N:-100}
NOTIFY_PATH=/latest/meta-data/bench-notify
if [ $OURS = 1 ] && want notify && have_time 60; then
	log "change notification: $NOTIFY_N changes"
	use_side ours
	_nd=$E2E_TMP/notify
	mkdir -p "$_nd"
	i=0
	while [ $i -lt "$NOTIFY_N" ]; do printf 'change %d' $i >"$_nd/v$i"; i=$((i + 1)); done
	printf 'initial' >"$_nd/v"
	mdrctl put "$UUID1" "$NOTIFY_PATH" "$_nd/v" >/dev/null 2>&1
	if ip netns exec "$(gns 1)" "$PY" "$ROOT/tests/e2e/longpoll.py" delay "$NOTIFY_PATH" "$NOTIFY_N" \
		"nsenter --net=/run/netns/$HV $BUILD_DIR/mdrctl --pin-dir $PIN put $UUID1 $NOTIFY_PATH $_nd/v{i}" \
		>"$OUT/logs/notify.json" 2>&1; then
		# shellcheck disable=SC2046 # split into fields on purpose
		set -- $("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["p50_ms"], d["p99_ms"], d["cmd_p50_ms"], d["cmd_p99_ms"])' \
			"$OUT/logs/notify.json")
		raw notify_p50_ms ours "$1"
		raw notify_p99_ms ours "$2"
		raw notify_cmd_p50_ms ours "$3"
		raw notify_cmd_p99_ms ours "$4"
	else
		log "change notification failed (see logs/notify.json)"
	fi
	note "change notification: guest 1 long-polls $NOTIFY_PATH (wait_for_change=true, last_etag of" \
		"its previous answer) and the hypervisor runs mdrctl put on it; delay = mdrctl started ->" \
		"answer received in the guest (mdrctl's start-up and map writes included), $NOTIFY_N changes"
elif [ $OURS = 1 ] && want notify; then
	note "skipped change notification: time budget"
fi

# ---- 6: scale -----------------------------------------------------------------
if [ $OURS = 1 ] && want scale && have_time 150; then
	log "scale: $SCALE_N definitions, $SCALE_TAPS taps"
	nginx_stop
	use_side ours
	"$PY" "$BT/mkinst.py" "$TEMPLATE" "$E2E_TMP/scale" --count "$SCALE_N" --first 1001 --prefix scale \
		--ports $((1000 + SCALE_TAPS)) --port-fmt tapx%d --user-data-len "$BIG_LEN" \
		--content "$E2E_TMP/scale.content"
	_m0=$("$PY" "$BT/mapmem.py" "$PIN")
	_base=$(entries mdr_inst)
	# All at once into mdrd's instances directory, as orchestration would
	# drop them; timed until every one is stored in the maps.
	_t0=$(now_ms)
	cp "$E2E_TMP"/scale/*.json "$INST_DIR/"
	_n=$(wait_entries mdr_inst $((_base + SCALE_N)) 120)
	_t1=$(now_ms)
	_m1=$("$PY" "$BT/mapmem.py" "$PIN")
	if [ "$_n" -ge $((_base + SCALE_N)) ]; then
		raw load_s ours "$(fdiv $((_t1 - _t0)) 1000)"
		raw mem_per_inst ours "$(fdiv $((_m1 - _m0)) "$SCALE_N")"
		raw mem_per_inst ref "$(awk '{s += $2} END {printf "%.0f", s / NR}' "$E2E_TMP/scale.content")"
		note "scale: definitions copied at once into mdrd's instances directory, timed until" \
			"all are in mdr_inst; map memory = sum of bytes_memlock (bpftool map show, the" \
			"kernel's accounting) over the pinned mdr maps, after - before, / $SCALE_N; unique" \
			"content = decoded user data + files + compact JSON of the rest"
	else
		log "scale: only $((_n - _base)) of $SCALE_N definitions stored (see logs/tmp-mdrd-*.log)"
		note "scale: only $((_n - _base)) of $SCALE_N definitions were stored"
	fi
	raw rss_mib ours "$(awk '/VmRSS/{printf "%.1f", $2 / 1024}' "/proc/$RESP_PID/status")"
	# 256 taps appear at once (veth pairs, host ends named like the guests').
	_b=$E2E_TMP/taps.batch
	: >"$_b"
	i=1
	while [ $i -le "$SCALE_TAPS" ]; do
		echo "link add tapx$((1000 + i)) type veth peer name px$i" >>"$_b"
		echo "link set tapx$((1000 + i)) up" >>"$_b"
		echo "link set px$i up" >>"$_b"
		i=$((i + 1))
	done
	# Done when mdr_ifaces holds the guests' taps and every new one (mdrd may
	# re-read all links on a netlink overrun, so count against the total).
	_t0=$(now_ms)
	ip -n "$HV" -batch "$_b"
	_n=$(wait_entries mdr_ifaces $((NG + SCALE_TAPS)) 120)
	if [ "$_n" -ge $((NG + SCALE_TAPS)) ]; then
		raw attach_s ours "$(fdiv $(($(now_ms) - _t0)) 1000)"
	else
		log "scale: mdrd recorded $_n of $((NG + SCALE_TAPS)) taps (no progress for ${STALL_S} s)"
		note "scale: after $SCALE_TAPS taps appeared at once, mdrd recorded only $_n of" \
			"$((NG + SCALE_TAPS)) taps in mdr_ifaces (no progress for ${STALL_S} s)"
	fi
	# A tap appears for an instance defined beforehand: time to its first answer.
	"$PY" "$BT/mkinst.py" "$TEMPLATE" "$E2E_TMP/late" --count 1 --first 900 --prefix late \
		--port-fmt tapz%d --fast --content "$E2E_TMP/late.content"
	mdrctl instance load --allow-missing-port "$E2E_TMP/late/late900.json" >"$OUT/logs/late-load.log" 2>&1 ||
		log "scale: loading the late instance failed (see logs/late-load.log)"
	LATE=$TOPO-g$((NG + 1)) # topo.sh destroy removes it with the others
	ip netns add "$LATE"
	ip -n "$LATE" link set lo up
	_t0=$(now_ms)
	ip -n "$HV" link add tapz900 type veth peer name eth0 netns "$LATE"
	ip -n "$HV" link set tapz900 master br0 up
	ip -n "$LATE" addr add 10.99.0.250/24 dev eth0
	nsenter --net="/run/netns/$LATE" ethtool -K eth0 gro on >/dev/null # as topo.sh does
	ip -n "$LATE" link set eth0 up
	ip -n "$LATE" route add 169.254.169.254 via "$GATEWAY" dev eth0
	_k=0
	while [ $_k -lt 2000 ]; do # bounded: 2000 tries, or 20 s
		[ "$(ip netns exec "$LATE" curl -s -m 1 "$META_URL$SMALL_PATH" 2>/dev/null)" = i-00000384 ] && break
		[ $(( $(now_ms) - _t0 )) -gt 20000 ] && break
		_k=$((_k + 1))
	done
	_t1=$(now_ms)
	if [ $(( _t1 - _t0 )) -le 20000 ] && [ $_k -lt 2000 ]; then
		raw firstreq_ms ours $((_t1 - _t0))
	else
		log "scale: the new tap was not served within 20 s (see logs/late-diag.log)"
		note "scale: a tap created for a defined instance was not served within 20 s"
		{ ip netns exec "$LATE" curl -sv -m 2 "$META_URL$SMALL_PATH"; ip -n "$LATE" neigh
		  ip -n "$HV" -d link show dev tapz900; mdrctl status; mdrctl stats; } >"$OUT/logs/late-diag.log" 2>&1
	fi
	note "new tap: veth created, enslaved, guest address set, then curl every ~10 ms until the" \
		"instance's own id comes back"
elif [ $OURS = 1 ] && want scale; then
	note "skipped scale: time budget"
fi

# ---- report --------------------------------------------------------------------
note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
QUICK_NOTE=""
[ "${BENCH_QUICK:-0}" = 1 ] && QUICK_NOTE=" (BENCH_QUICK=1: shortened, not the reference run)"
note "A/B alternation: $REPS x (mdr, nginx) per comparison, boot storm $((REPS + 1)) x;" \
	"medians; run took $(elapsed) s$QUICK_NOTE"
note "reproduce: sudo make bench (report in $BUILD/bench/report.md, plot" \
	"$BUILD/bench/bench.png, raw logs $BUILD/bench/logs/)"
log "done in $(elapsed) s"
echo
echo "## mdr vs nginx ($(date -u +%Y-%m-%d), $(uname -r))"
echo
"$PY" "$BT/report.py" table "$RAW" "$OUT"
gnuplot -e "dat='$OUT/plot.dat'; out='$OUT/bench.png'; subtitle='($(date -u +%Y-%m-%d))'" "$BT/plot.gp" \
	>"$OUT/logs/gnuplot.log" 2>&1 || log "gnuplot failed (see $OUT/logs/gnuplot.log)"
echo
echo "report: $OUT/report.md, plot: $OUT/bench.png"
exit 0
