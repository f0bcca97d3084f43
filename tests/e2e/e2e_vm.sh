#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_vm.sh - real VMs: QEMU (TCG) guests with a Debian kernel and virtio-net
# on tap devices that mdrd attaches in native mode, served by
# mdr-responder. The guest image is built here from Debian packages
# (tools/vm/build-image.sh; installed by tools/install-deps.sh when
# missing). Each run boots 4 VMs at once on a port-mode node:
#   vm1, vm2  share 10.99.0.10 on tap1 and tap2 (bound by port)
#   vm3       talks through eth0.100 (the guest's 8021q), bound by
#             port+MAC+VLAN 100
#   vm4       multi-queue: -smp 2, a multi_queue tap, -netdev queues=2,
#             virtio-net mq=on: its requests leave from both CPUs, so on
#             both queue pairs, from its first request on
# Each VM gets its own instance (tokens required, 64 KiB user data) and
# runs tools/vm/init.sh: an IMDSv2 token PUT, instance-id, meta_data.json,
# the user data 3 times (sha256 checked against what was loaded), the IPv6
# link-local endpoint, a GET without the token (401), a password POST and
# GET. Two runs: the guests' virtio-net offloads on (QEMU's defaults:
# partial checksums, TSO) and off.
# Before them, "queues": a multi-queue tap without a VM, opened by a "VMM"
# (tests/e2e/mqtap.py) before mdrd starts, so mdr_ifaces lists the one queue
# then in use; its second queue is attached as QEMU attaches it when the
# guest enables its second queue pair: the responder serves it within
# 400 ms (it polls a tap using fewer queues than it has every 50 ms).
# Usage: sh tests/e2e/e2e_vm.sh [queues|on|off ...]   (default: all three)
. "$(dirname "$0")/lib.sh"
e2e_init vm

QEMU_SH=$E2E_ROOT/tools/vm/qemu.sh
DATA=$E2E_ROOT/tests/data/instances
# nova's limit on user data (MDR_USER_DATA_MAX): the largest a guest gets.
UD_SIZE=65535
# Times each VM fetches its user data.
UD_N=3
# Requests per CPU of the multi-queue VM, sent from both CPUs at once.
SPREAD_N=6
# Seconds for all VMs of a run to boot, fetch and power off under TCG on
# 2 shared cores (they take ~20 s; a hung guest must not hang the suite).
VM_WAIT_S=150
VLAN=100
MQ_VM=4

if ! command -v qemu-system-x86_64 >/dev/null || ! dpkg-query -W busybox-static linux-image-amd64 >/dev/null 2>&1; then
	diag "installing the VM packages (tools/install-deps.sh)"
	sh "$E2E_ROOT/tools/install-deps.sh" >"$E2E_TMP/install.log" 2>&1 ||
		{ not_ok "tools/install-deps.sh installed qemu, the kernel and busybox" "$(tail -n 5 "$E2E_TMP/install.log")"; e2e_done; }
fi
if IMG=$(sh "$E2E_ROOT/tools/vm/build-image.sh" "$BUILD_DIR" 2>"$E2E_TMP/image.err"); then
	ok "guest image from Debian packages (kernel $(cat "$IMG/kernel-version"), $(du -k "$IMG/initrd.gz" | cut -f1) KiB initramfs)"
else
	not_ok "guest image built" "$(cat "$E2E_TMP/image.err")"
	e2e_done
fi

jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# Body of what mdr serves instance UUID at PATH (mdrctl get: head, body).
served() { mdrctl get "$1" "$2" | "$GUEST_PY" -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().split(b"\r\n\r\n", 1)[1])'; }
sha() { sha256sum | cut -d' ' -f1; }
_all_dead() { for _p in $VM_PIDS; do _alive "$_p" && return 1; done; return 0; }

run_case() { # offloads on|off
	OFF=$1
	topo_create --mode port --guests 4 --shared-ip 2 --tap-kind vm --multi-queue $MQ_VM || return 0
	start_mdrd --xdp-mode native || { topo_teardown; return 0; }
	check_eq "$OFF: every tap attached in native mode" "$(mdrctl status -j | "$GUEST_PY" -c 'import json,sys; print(" ".join(i["mode"] for i in json.load(sys.stdin)["interfaces"]))')" "native native native native"
	for i in 1 2 3 4; do
		case $i in 1) t=vm1 ;; 2) t=vm2 ;; 3) t=vm3 ;; 4) t=vm4-nokeys ;; esac
		head -c $UD_SIZE /dev/urandom >"$E2E_TMP/ud$i"
		b=port; [ $i = 3 ] && b="port+mac --vlan $VLAN"
		inst_write "$DATA/$t.json" $i $b uuid="\"$(cat /proc/sys/kernel/random/uuid)\"" \
			imds.tokens='"required"' user_data="\"$(base64 -w0 "$E2E_TMP/ud$i")\""
		check "$OFF: vm$i's instance ($t, binding $b) loaded" mdrctl instance load "$DEF_DIR/g$i.json"
	done
	start_responder || { topo_teardown; return 0; }

	VM_PIDS=""
	t0=$(date +%s)
	for i in 1 2 3 4; do
		eval "mac=\$MAC$i ip=\$IP$i"
		set -- --image "$IMG" --ns "$HV" --tap tap$i --mac "$mac" --ip "$ip/24" \
			--log "$E2E_TMP/console-$OFF-$i.log" --offloads "$OFF" --ud $UD_N
		[ $i = 3 ] && set -- "$@" --vlan $VLAN
		[ $i = $MQ_VM ] && set -- "$@" --smp 2 --queues 2 --spread $SPREAD_N --cpu 1
		bg "qemu-$OFF-$i" sh "$QEMU_SH" "$@"
		VM_PIDS="$VM_PIDS $BG_PID"
	done
	if wait_for --timeout $VM_WAIT_S _all_dead; then
		diag "$OFF: 4 VMs booted, fetched and powered off in $(( $(date +%s) - t0 )) s"
	else
		not_ok "$OFF: the VMs finished within $VM_WAIT_S s"
	fi
	for p in $VM_PIDS; do stop_pid "$p"; done

	for i in 1 2 3 4; do
		u=$(jpy "$DEF_DIR/g$i.json" 'd["uuid"]')
		set -- iid="$(served "$u" /latest/meta-data/instance-id | sha)" uuid="$u" \
			meta_size="$(served "$u" /openstack/latest/meta_data.json | wc -c)" \
			ud="$(sha <"$E2E_TMP/ud$i")" ud_size=$UD_SIZE ud_n=$UD_N \
			pw_host="$(served "$u" /openstack/latest/password)"
		[ $i = $MQ_VM ] && set -- "$@" queues=2 spread=$SPREAD_N
		[ $i = 3 ] && set -- "$@" iface=eth0.$VLAN
		"$GUEST_PY" "$E2E_PY/vmcheck.py" "$E2E_TMP/console-$OFF-$i.log" "$OFF: vm$i" "$@" >"$E2E_TMP/vm.tap"
		tap_lines "$E2E_TMP/vm.tap"
		grep -q '^fail' "$E2E_TMP/vm.tap" && diag "console of vm$i:" && sed 's/^/#   /' "$E2E_TMP/console-$OFF-$i.log" | tail -n 40
	done
	mq_id=$(mdrctl instance show "$(jpy "$DEF_DIR/g$MQ_VM.json" 'd["uuid"]')" -j | "$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	check_eq "$OFF: multi-queue vm$MQ_VM: no frame fell back for lack of a socket (no_xsk)" \
		"$(stat_get no_xsk "$mq_id")" 0
	check_eq "$OFF: no frame of any VM fell back for lack of a socket (no_xsk)" "$(stat_get no_xsk)" 0
	check "$OFF: the responder had a socket on tap$MQ_VM queue 1" \
		grep -q "socket up: tap$MQ_VM (ifindex [0-9]*) queue 1 " "$E2E_TMP/responder-$TOPO.log"
	topo_teardown
}

# A multi-queue tap whose second queue is attached the way QEMU attaches it
# when the guest enables its second queue pair (tests/e2e/mqtap.py): the
# responder must serve the new queue within a bound, not at its next retry.
# The "VMM" has the tap open before mdrd starts, so mdrd records the one
# queue in use; the responder must still follow the driver's queues.
queues_case() {
	topo_create --mode port --guests 1 --tap-kind vm --multi-queue 1 || return 0
	mkfifo "$E2E_TMP/mq.go"
	exec 8<>"$E2E_TMP/mq.go" # read-write: opening it does not wait for a reader
	bg mqtap sh -c 'exec nsenter --net="/run/netns/$1" "$2" "$3" tap1 "$4" <"$5"' sh \
		"$HV" "$GUEST_PY" "$E2E_PY/mqtap.py" "$PIN" "$E2E_TMP/mq.go"
	mq_pid=$BG_PID
	wait_for grep -q '^detached' "$E2E_TMP/mqtap.log" || not_ok "queues: mqtap.py opened tap1" "$(cat "$E2E_TMP/mqtap.log")"
	if start_mdrd && start_responder; then
		diag "queues: mdrd recorded tap1 with $(mdrctl status -j | "$GUEST_PY" -c 'import json,sys; print([i["rx_queues"] for i in json.load(sys.stdin)["interfaces"]])') rx queues"
		echo go >&8
		wait_for --timeout 20 _dead "$mq_pid"
	fi
	exec 8>&-
	stop_pid "$mq_pid"
	tap_lines "$E2E_TMP/mqtap.log"
	topo_teardown
}

for c in ${*:-queues on off}; do
	case "$c" in
	queues) queues_case ;;
	on|off) run_case "$c" ;;
	*) not_ok "unknown case $c (queues|on|off)" ;;
	esac
done
[ "$_T_FAIL" -eq 0 ] || dump_logs
e2e_done
