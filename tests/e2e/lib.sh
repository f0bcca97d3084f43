# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tests/e2e/lib.sh - shared harness of the end-to-end suites (POSIX sh/dash).
#
# A suite (tests/e2e/e2e_NAME.sh, run as `sh tests/e2e/e2e_NAME.sh` from the
# repository root, BUILD=build by default) looks like:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init NAME                 # root check, RUN_ID, E2E_TMP, cleanup trap
#   topo_create --mode port --guests 2 [--same-ip] [--tap-kind tap] [--dhcp]
#                                 # tools/topo.sh + a private bpffs; sets TOPO,
#                                 # HV, NGUESTS, PIN, INST_DIR, DEF_DIR, MDR_IFACE,
#                                 # G1.. MAC1.. IP1.. LL1.. (see topo.sh info)
#   inst_write tests/data/instances/vm1.json 1 port   # -> $DEF_DIR/g1.json
#   start_mdrd                    # build/mdrd in $HV, waits until attached
#   start_responder               # build/mdr-responder in $HV, waits for XSKs
#   mdrctl instance load "$DEF_DIR/g1.json"    # mdrctl --pin-dir $PIN, in $HV
#                                 # ($INST_DIR is the directory mdrd follows)
#   check "guest 1 gets its uuid" in_guest 1 curl -sf http://169.254.169.254/
#   topo_teardown                 # optional: stop daemons, destroy, umount
#   e2e_done                      # prints the plan, exits 1 if anything failed
#
# TAP (plan printed at the end; tests/run.sh counts ok / not ok lines):
#   ok NAME | not_ok NAME [DIAG...] | skip NAME REASON | diag MSG...
#   check NAME CMD...        ok if CMD exits 0 (its output becomes diagnostics)
#   check_not NAME CMD...    ok if CMD exits non-zero
#   check_eq NAME GOT WANT   ok if the strings are equal
#   tap_lines FILE           turns "ok<TAB>name" / "fail<TAB>name<TAB>why"
#                            lines written by the python helpers into TAP
# Helpers:
#   wait_for [--timeout S] CMD... [--timeout S]   polls CMD (50 ms) until it
#                            succeeds; returns 1 after S seconds (default 10)
#   in_guest N CMD...        ip netns exec $TOPO-gN CMD
#   in_hv CMD...             nsenter --net=/run/netns/$HV CMD (shares our bpffs)
#   gpy N SCRIPT ARGS...     /usr/bin/python3 tests/e2e/SCRIPT inside guest N
#   meta_uuid N [CURL ARGS]  uuid in the meta_data.json guest N receives (curl
#                            with an IMDSv2 token, so tokens-required works)
#   bg NAME CMD...           start CMD (an executable, not a shell function, so
#                            the PID is the program's) in the background, log
#                            $E2E_TMP/NAME.log; PID in BG_PID, killed by the trap
#   stop_pid PID             SIGTERM, wait (SIGKILL after STOP_WAIT_S)
#   stat_get FIELD [ID]      sum of an XDP counter over CPUs (mdr_stats, or
#                            mdr_istats of instance ID)
#   map_count MAP            entries of a pinned map under $PIN (bpftool)
#   mdrctl ARGS...           build/mdrctl --pin-dir $PIN, run in $HV
#   skip_all REASON          the whole suite cannot run: one skipped test, exit 0
#   dump_logs                tails of every log in $E2E_TMP (as diagnostics)
# Sanitizers: with a sanitized build (make SAN=1) every mdr process stops at
# its first AddressSanitizer / LeakSanitizer / UndefinedBehaviorSanitizer
# report and writes it under $E2E_TMP/san; e2e_done stops the daemons (so
# exit-time leak reports are written) and fails the suite on any report,
# there or in a daemon's log.
# Environment: BUILD (build dir), E2E_KEEP=1 keeps $E2E_TMP, E2E_NO_BINS=1
# runs without mdr binaries (harness work), MDR_IFACE overrides the --iface
# glob after topo_create, MDRD_WANT_IFACES how many attachments to await.
# The cleanup trap (EXIT, INT, TERM) kills only the PIDs started here,
# destroys the topologies, unmounts the bpffs mounts, removes the temp dir;
# it is idempotent.

# Seconds a daemon gets to exit on SIGTERM before SIGKILL.
STOP_WAIT_S=5
# Seconds to wait for mdrd to attach / the responder to register sockets.
READY_WAIT_S=15
# Poll interval of wait_for: short enough to add no visible latency.
POLL_S=0.05

E2E_ROOT=${E2E_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) BUILD_DIR=$BUILD ;; *) BUILD_DIR=$E2E_ROOT/$BUILD ;; esac
TOPO_SH=$E2E_ROOT/tools/topo.sh
E2E_PY=$E2E_ROOT/tests/e2e
GUEST_PY=/usr/bin/python3
META=http://169.254.169.254

_T_N=0
_T_FAIL=0
_E2E_PIDS=""
_E2E_TOPOS=""
_E2E_MOUNTS=""
_E2E_CLEANED=0
_E2E_K=0

# ---- TAP --------------------------------------------------------------------
diag() { printf '# %s\n' "$*"; }
ok() { _T_N=$((_T_N + 1)); printf 'ok %d - %s\n' "$_T_N" "$1"; }
not_ok() {
	_T_N=$((_T_N + 1)); _T_FAIL=$((_T_FAIL + 1))
	printf 'not ok %d - %s\n' "$_T_N" "$1"; shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/#   /'
	return 0
}
skip() { _T_N=$((_T_N + 1)); printf 'ok %d - %s # SKIP %s\n' "$_T_N" "$1" "${2:-}"; }
check() {
	_c_name=$1; shift
	if "$@" >"$E2E_TMP/check.out" 2>&1; then ok "$_c_name"
	else
		_c_rc=$?
		not_ok "$_c_name" "command: $*" "exit status: $_c_rc" "$(tail -n 15 "$E2E_TMP/check.out")"
	fi
}
check_not() {
	_c_name=$1; shift
	if "$@" >"$E2E_TMP/check.out" 2>&1; then
		not_ok "$_c_name" "command unexpectedly succeeded: $*" "$(tail -n 15 "$E2E_TMP/check.out")"
	else ok "$_c_name"; fi
}
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1" "got:  $(printf '%s' "$2" | head -c 400)" "want: $(printf '%s' "$3" | head -c 400)"; fi
}
tap_lines() { # file written by a python helper
	[ -s "$1" ] || { not_ok "helper output $1 is empty"; return 0; }
	_tl_tab=$(printf '\t')
	while IFS="$_tl_tab" read -r _tl_st _tl_name _tl_why; do
		case "$_tl_st" in
		ok) ok "$_tl_name" ;;
		fail) not_ok "$_tl_name" "$_tl_why" ;;
		skip) skip "$_tl_name" "$_tl_why" ;;
		*) diag "$_tl_st $_tl_name $_tl_why" ;;
		esac
	done <"$1"
}
e2e_done() {
	san_check
	printf '1..%d\n' "$_T_N"
	[ "$_T_FAIL" -eq 0 ] && exit 0
	diag "$_T_FAIL of $_T_N failed"
	exit 1
}
# The whole suite cannot run (no root, missing tool): one skipped test.
skip_all() { skip "$E2E_NAME" "$1"; printf '1..%d\n' "$_T_N"; exit 0; }

# ---- processes ----------------------------------------------------------------
_alive() { # pid: running (a zombie child counts as gone)
	[ -r "/proc/$1/stat" ] || return 1
	case "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" in Z|X|'') return 1 ;; esac
	return 0
}
bg() { # name cmd...
	_bg_name=$1; shift
	"$@" >"$E2E_TMP/$_bg_name.log" 2>&1 &
	BG_PID=$!
	_E2E_PIDS="$_E2E_PIDS $BG_PID"
}
stop_pid() {
	[ -n "${1:-}" ] || return 0
	if _alive "$1"; then
		kill -TERM "$1" 2>/dev/null
		wait_for --timeout "$STOP_WAIT_S" _dead "$1" || kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	_E2E_PIDS=$(printf '%s\n' $_E2E_PIDS | grep -vx "$1" | tr '\n' ' ')
	return 0
}
_dead() { ! _alive "$1"; }

wait_for() {
	_wf_t=10; _wf_n=$#; _wf_i=0
	while [ $_wf_i -lt $_wf_n ]; do
		_wf_a=$1; shift; _wf_i=$((_wf_i + 1))
		if [ "$_wf_a" = --timeout ]; then _wf_t=$1; shift; _wf_i=$((_wf_i + 1)); continue; fi
		set -- "$@" "$_wf_a"
	done
	_wf_end=$(( $(date +%s%N) / 1000000 + ${_wf_t%.*} * 1000 ))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $(( $(date +%s%N) / 1000000 )) -ge $_wf_end ] && return 1
		sleep $POLL_S
	done
}

# ---- namespaces -----------------------------------------------------------------
in_guest() { _ig_n=$1; shift; ip netns exec "$TOPO-g$_ig_n" "$@"; }
in_hv() { nsenter --net="/run/netns/$HV" "$@"; }
gpy() { _gp_n=$1; _gp_s=$2; shift 2; in_guest "$_gp_n" "$GUEST_PY" "$E2E_PY/$_gp_s" "$@"; }

meta_uuid() {
	_mu_n=$1; shift
	_mu_t=$(in_guest "$_mu_n" curl -s -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$@" $META/latest/api/token)
	in_guest "$_mu_n" curl -sS -m 5 -H "X-aws-ec2-metadata-token: $_mu_t" "$@" $META/openstack/latest/meta_data.json |
		"$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["uuid"])' 2>&1
}

topo_create() { # topo.sh create args (without --name)
	_E2E_K=$((_E2E_K + 1))
	TOPO=$RUN_ID$_E2E_K
	_E2E_TOPOS="$_E2E_TOPOS $TOPO"
	sh "$TOPO_SH" create --name "$TOPO" --owner $$ "$@" >"$E2E_TMP/topo-$TOPO.info" 2>"$E2E_TMP/topo-$TOPO.err" || {
		not_ok "topology $* created" "$(cat "$E2E_TMP/topo-$TOPO.err")"
		return 1
	}
	. "$E2E_TMP/topo-$TOPO.info"
	NGUESTS=$GUESTS
	PIN=$E2E_TMP/bpf-$TOPO
	mkdir -p "$PIN"
	mount -t bpf bpf "$PIN" || { not_ok "bpffs mounted on $PIN"; return 1; }
	_E2E_MOUNTS="$_E2E_MOUNTS $PIN"
	INST_DIR=$E2E_TMP/inst-$TOPO
	DEF_DIR=$E2E_TMP/defs-$TOPO
	mkdir -p "$INST_DIR" "$DEF_DIR"
	MDRD_PID="" RESP_PID=""
	return 0
}

topo_teardown() { # stops this topology's daemons, destroys it, unmounts PIN
	stop_pid "${RESP_PID:-}"; RESP_PID=""
	stop_pid "${MDRD_PID:-}"; MDRD_PID=""
	[ -n "${TOPO:-}" ] && sh "$TOPO_SH" destroy --name "$TOPO" >/dev/null 2>&1
	if [ -n "${PIN:-}" ] && mountpoint -q "$PIN"; then umount "$PIN"; fi
	_E2E_TOPOS=$(printf '%s\n' $_E2E_TOPOS | grep -vx "${TOPO:-}" | tr '\n' ' ')
	_E2E_MOUNTS=$(printf '%s\n' $_E2E_MOUNTS | grep -vx "${PIN:-}" | tr '\n' ' ')
	TOPO="" PIN=""
	return 0
}

# ---- mdr processes -------------------------------------------------------------------
mdrctl() { in_hv "$BUILD_DIR/mdrctl" --pin-dir "$PIN" "$@"; }

# Entries in a pinned map (0 when it does not exist yet).
map_count() {
	[ -e "$PIN/$1" ] || { echo 0; return 0; }
	# With BTF, bpftool -j prints each key twice (raw and "formatted"):
	# count top-level entries with python's JSON parser instead.
	bpftool -j map dump pinned "$PIN/$1" 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d) if isinstance(d, list) else 0)' 2>/dev/null || echo 0
}
_ifaces_ready() { [ -e "$PIN/mdr_prog" ] && [ "$(map_count mdr_ifaces)" -ge "$1" ]; }
_ready_or_dead() { ! _alive "$1" || "$@"; }

# start_mdrd [extra mdrd args]: attaches to $MDR_IFACE (topo default, override
# by setting MDR_IFACE), follows $INST_DIR. Waits until every expected
# interface is recorded in mdr_ifaces (MDRD_WANT_IFACES, default: taps).
start_mdrd() {
	_want=${MDRD_WANT_IFACES:-}
	if [ -z "$_want" ]; then
		if [ "$MDR_IFACE" = br0 ]; then _want=1; else _want=$NGUESTS; fi
	fi
	bg "mdrd-$TOPO" nsenter --net="/run/netns/$HV" "$BUILD_DIR/mdrd" --pin-dir "$PIN" --iface "$MDR_IFACE" \
		--instances "$INST_DIR" "$@"
	MDRD_PID=$BG_PID
	wait_for --timeout "$READY_WAIT_S" _mdrd_ready "$_want"
	if ! _alive "$MDRD_PID" || ! _ifaces_ready "$_want"; then
		not_ok "mdrd attached to $_want interface(s) ($MDR_IFACE)" "$(tail -n 20 "$E2E_TMP/mdrd-$TOPO.log")"
		return 1
	fi
	return 0
}
_mdrd_ready() { ! _alive "$MDRD_PID" || _ifaces_ready "$1"; }

# start_responder [extra args]: waits until the responder registered at least
# one socket per attached interface (mdr_xsk_slot entries).
start_responder() {
	_want=$(map_count mdr_ifaces)
	[ "$_want" -ge 1 ] || _want=1
	bg "responder-$TOPO" nsenter --net="/run/netns/$HV" "$BUILD_DIR/mdr-responder" --pin-dir "$PIN" "$@"
	RESP_PID=$BG_PID
	wait_for --timeout "$READY_WAIT_S" _resp_ready "$_want"
	if ! _alive "$RESP_PID" || [ "$(map_count mdr_xsk_slot)" -lt "$_want" ]; then
		not_ok "mdr-responder registered sockets on $_want interface(s)" "$(tail -n 20 "$E2E_TMP/responder-$TOPO.log")"
		return 1
	fi
	return 0
}
_resp_ready() { ! _alive "$RESP_PID" || [ "$(map_count mdr_xsk_slot)" -ge "$1" ]; }

# Sum of one XDP counter (struct mdr_xdp_counters field) over CPUs, global or
# for one instance id: stat_get FIELD [INSTANCE_ID].
stat_get() {
	"$GUEST_PY" "$E2E_PY/mdrstats.py" "$PIN" "$@"
}
# abi_u64_count STRUCT: the u64 fields of struct STRUCT in maps/mdr_abi.h
# (a counter struct: one JSON key, one Prometheus series per field).
abi_u64_count() { sed -n "/^struct $1 {/,/^};/p" "$E2E_ROOT/maps/mdr_abi.h" | grep -c '__u64'; }

# inst_write TEMPLATE N BINDING [ARGS...]: writes $DEF_DIR/gN.json from
# TEMPLATE with binding rewritten for guest N: port -> {"port": "tapN"},
# mac -> {"mac": MAC_N, "vlan": 0}, port+mac -> both, none -> no binding.
# Extra ARGS go to defn.py: --vlan N, --mac MAC (overrides guest N's), and
# KEY=JSON pairs setting top-level or dotted keys (imds.tokens='"required"').
# $DEF_DIR is not watched by mdrd (load with mdrctl, or copy to $INST_DIR).
inst_write() {
	_iw_t=$1 _iw_n=$2 _iw_b=$3; shift 3
	_iw_mac=$(sh "$TOPO_SH" mac "$TOPO" "$_iw_n")
	"$GUEST_PY" "$E2E_PY/defn.py" "$_iw_t" --binding "$_iw_b" --port "tap$_iw_n" \
		--mac "$_iw_mac" "$@" >"$DEF_DIR/g$_iw_n.json"
}

dump_logs() {
	for _dl in "$E2E_TMP"/*.log; do
		[ -f "$_dl" ] || continue
		diag "---- $(basename "$_dl")"
		tail -n 20 "$_dl" | sed 's/^/#   /'
	done
}

# ---- sanitizers -------------------------------------------------------------------
# A sanitizer's report, as it starts in a log.
SAN_RE='ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer|: runtime error: '

# Options for sanitized mdr binaries (ignored by everything else): stop at
# the first report, write it to $E2E_TMP/san/<tool>.<pid>. Link order is not
# checked: the fault suites LD_PRELOAD an uninstrumented shim.
san_env() {
	mkdir -p "$E2E_TMP/san"
	ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:verify_asan_link_order=0:log_path=$E2E_TMP/san/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$E2E_TMP/san/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
	export ASAN_OPTIONS UBSAN_OPTIONS
}

# Whether the mdr programs under test are a sanitized build (make SAN=1).
san_build() { ldd "$BUILD_DIR/mdr-responder" 2>/dev/null | grep -q libasan; }

# Fails the suite on any sanitizer report (one test, only emitted for a
# sanitized build or when there is a report).
san_check() {
	for _p in $_E2E_PIDS; do stop_pid "$_p"; done
	_sc_files=$( { ls "$E2E_TMP"/san/* 2>/dev/null; grep -lE "$SAN_RE" "$E2E_TMP"/*.log 2>/dev/null; } | sort -u)
	if [ -n "$_sc_files" ]; then
		not_ok "no sanitizer report from any process" "$(for _f in $_sc_files; do
			printf '%s\n' "---- $_f"; grep -m1 -A25 -E "$SAN_RE" "$_f" || head -n 25 "$_f"
		done)"
	elif san_build; then
		ok "no sanitizer report from any process"
	fi
}

# ---- setup and cleanup ---------------------------------------------------------
e2e_cleanup() {
	[ "$_E2E_CLEANED" = 1 ] && return 0
	_E2E_CLEANED=1
	for _p in $_E2E_PIDS; do stop_pid "$_p"; done
	for _t in $_E2E_TOPOS; do sh "$TOPO_SH" destroy --name "$_t" >/dev/null 2>&1; done
	for _m in $_E2E_MOUNTS; do mountpoint -q "$_m" && umount "$_m"; done
	[ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$E2E_TMP"
	return 0
}

e2e_init() { # suite name
	E2E_NAME=$1
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, XDP)"
	# E2E_NO_BINS=1: harness work without mdr binaries (e.g. fakemeta.py).
	[ -n "${E2E_NO_BINS:-}" ] || for _b in mdrd mdr-responder mdrctl; do
		[ -x "$BUILD_DIR/$_b" ] || skip_all "$BUILD_DIR/$_b not built (run make)"
	done
	command -v nsenter >/dev/null && command -v bpftool >/dev/null || skip_all "needs nsenter and bpftool"
	# Short and unique: interface names are fixed (tapN, br0), so only the
	# namespace names carry it; 3 letters of the suite + pid + random byte.
	RUN_ID=$(printf '%.3s%d%02x' "$E2E_NAME" $$ "$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')")
	E2E_TMP=$(mktemp -d "/tmp/mdr-e2e-$E2E_NAME.XXXXXX")
	san_env
	trap e2e_cleanup EXIT
	trap 'e2e_cleanup; exit 130' INT
	trap 'e2e_cleanup; exit 143' TERM
	sh "$TOPO_SH" cleanup-stale >/dev/null 2>&1 || true
	diag "run $RUN_ID, temp $E2E_TMP"
}
