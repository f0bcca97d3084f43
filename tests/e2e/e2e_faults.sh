#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_faults: faults injected into the daemons' own calls. A transient
# failure reading mdr_ifaces (the bpf() batch lookup failing once, through
# fault_bpf_fail.so) changes nothing: the responder keeps its sockets and
# reads again, instead of tearing down every socket as "gone". The responder's
# event loop breaking (epoll_wait failing, through the fault_epoll_fail.so
# LD_PRELOAD shim) ends it with a failure status and one log line, so
# systemd restarts it (Restart=on-failure) instead of counting a clean stop;
# XDP falls back at once and, once restarted, guests are served again.
. "$(dirname "$0")/lib.sh"
e2e_init faults
DATA=$E2E_ROOT/tests/data/instances

topo_create --mode port --guests 1 || e2e_done
start_mdrd || { dump_logs; e2e_done; }
inst_write "$DATA/vm1.json" 1 port
check "instance loaded" mdrctl instance load "$DEF_DIR/g1.json"

# ---- a transient error reading mdr_ifaces --------------------------------------
BPF_MAP_LOOKUP_BATCH=24 # enum bpf_cmd
served() { [ "$(in_guest 1 curl -sS -m 1 $META/latest/meta-data/instance-id 2>/dev/null)" = i-0000000a ]; }
start_responder_faulty() {
	bg "responder-bpffault" nsenter --net="/run/netns/$HV" env LD_PRELOAD="$BUILD_DIR/tests/fault_bpf_fail.so" \
		MDR_FAULT_BPF_CMD=$BPF_MAP_LOOKUP_BATCH MDR_FAULT_BPF_AFTER=1 MDR_FAULT_BPF_TIMES=1 \
		MDR_FAULT_BPF_ERRNO=12 "$BUILD_DIR/mdr-responder" --pin-dir "$PIN"
	RESP_PID=$BG_PID
}
start_responder_faulty
check "the responder registers its socket" wait_for --timeout "$READY_WAIT_S" _resp_ready 1
check "the guest is served" wait_for --timeout 5 served
injected() { grep -q 'fault: bpf command 24 failed' "$E2E_TMP/responder-bpffault.log"; }
check "the next read of mdr_ifaces fails (injected ENOMEM)" wait_for --timeout 10 injected
check "the failure is logged as one warning, sockets kept" \
	grep -q "warning: reading mdr_ifaces: Cannot allocate memory (sockets kept, retrying)" "$E2E_TMP/responder-bpffault.log"
check_not "no socket was torn down as if its interface were gone" \
	grep -q "interface gone" "$E2E_TMP/responder-bpffault.log"
check_eq "its socket is still registered" "$(map_count mdr_xsk_slot)" 1
check "the guest is still served" served
stop_pid "$RESP_PID"

# ---- the responder's event loop fails ----------------------------------------
SHIM=$BUILD_DIR/tests/fault_epoll_fail.so
bg "responder-fault" nsenter --net="/run/netns/$HV" env LD_PRELOAD="$SHIM" MDR_FAULT_EPOLL_AFTER=20 \
	"$BUILD_DIR/mdr-responder" --pin-dir "$PIN"
FPID=$BG_PID
check "the responder whose epoll_wait fails stops" wait_for --timeout 10 _dead "$FPID"
wait "$FPID"
FRC=$?
_E2E_PIDS=$(printf '%s\n' $_E2E_PIDS | grep -vx "$FPID" | tr '\n' ' ')
check_not "it exits with a failure status, not 0" test "$FRC" -eq 0
check_eq "one error line names the failed call" \
	"$(grep -c 'error.*epoll_wait: Bad file descriptor' "$E2E_TMP/responder-fault.log")" 1
check_eq "it unregistered its sockets on the way out (XDP falls back)" "$(map_count mdr_xsk_slot)" 0

# ---- and a healthy one serves again --------------------------------------------
start_responder || { dump_logs; e2e_done; }
check "a restarted responder serves the guest again" wait_for --timeout 5 served

e2e_done
