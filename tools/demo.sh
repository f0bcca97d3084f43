#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# demo.sh - a compute node in namespaces with three guests served by mdr.
#   sh tools/demo.sh up     (make demo)       build first with `make`
#   VM=1 sh tools/demo.sh up  (make demo VM=1)  real QEMU VMs instead of
#                           guest namespaces
#   sh tools/demo.sh down   (make demo-down)  idempotent
# up: creates the node "mdrdemo" (tools/topo.sh, port mode: guests 1 and 2
# share 10.99.0.10, guest 3 has 10.99.0.13), mounts a bpffs for the pinned
# maps, starts mdrd and mdr-responder in the hypervisor namespace, loads
# examples/vm{1,2,3}.json (through mdrd's instances directory), runs
# cloud-init's OpenStack crawl in every guest and prints what each got, then
# leaves everything running. State: /run/mdr-demo/ (names, pids, pin dir,
# logs, instances directory).
# VM=1: the guests are QEMU VMs (TCG) with Debian's kernel on tap1..tap3
# (tools/vm/: image built from Debian packages, cached in BUILD/vm), vm1 and
# vm2 with the same IP; each boots, fetches its metadata, user data,
# link-local endpoint, an IMDSv2 token and posts a password (init.sh), then
# powers off; the demo prints what each VM got from its serial console.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
STATE=/run/mdr-demo
NAME=mdrdemo
HV=$NAME-hv
PIN=$STATE/bpf
INST=$STATE/instances
PY=/usr/bin/python3
# Seconds to wait for mdrd to attach / load and for the responder's sockets.
READY_WAIT_S=20
# Seconds a daemon gets to exit on SIGTERM before SIGKILL.
STOP_WAIT_S=5

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# wait_until SECONDS CMD...: polls CMD every 50 ms.
wait_until() {
	_end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge $_end ] && return 1
		sleep 0.05
	done
}

map_count() {
	# bpftool -j prints BTF maps' keys twice: count the JSON list instead.
	bpftool -j map dump pinned "$PIN/$1" 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d) if isinstance(d, list) else 0)' 2>/dev/null || echo 0
}
ifaces_ready() { [ -e "$PIN/mdr_prog" ] && [ "$(map_count mdr_ifaces)" -ge 3 ]; }
xsks_ready() { [ "$(map_count mdr_xsk_slot)" -ge 3 ]; }
loaded() { for u in $UUIDS; do "$BUILD/mdrctl" --pin-dir "$PIN" instance show "$u" || return 1; done; }
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Kills a recorded daemon only if the pid still runs that program.
stop_recorded() { # pidfile program
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(printf '%.15s' "$2")" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait_until $STOP_WAIT_S sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$1"
}

down() {
	for p in "$STATE"/qemu-vm*.pid; do [ -f "$p" ] && stop_recorded "$p" qemu-system-x86_64; done
	stop_recorded "$STATE/responder.pid" mdr-responder
	stop_recorded "$STATE/mdrd.pid" mdrd
	sh "$ROOT/tools/topo.sh" destroy --name $NAME >/dev/null 2>&1 || true
	if mountpoint -q "$PIN" 2>/dev/null; then umount "$PIN"; fi
	rm -rf "$STATE"
}

start_daemon() { # name pidfile program args...
	_n=$1 _pf=$2; shift 2
	# setsid: the daemons outlive `make demo` and its terminal.
	setsid nsenter --net="/run/netns/$HV" "$@" </dev/null >"$STATE/$_n.log" 2>&1 &
	echo $! >"$_pf"
}

fail_with_log() { # message log
	printf 'demo: %s; last lines of %s:\n' "$1" "$2" >&2
	tail -n 15 "$2" >&2 || true
	printf 'demo: state left in %s for inspection; `make demo-down` removes it\n' "$STATE" >&2
	exit 1
}

# Seconds for the VMs to boot, fetch and power off under TCG.
VM_WAIT_S=180

# VM=1: boot guest I on tapI; prints nothing, the console goes to a file.
boot_vm() { # i
	eval "_mac=\$MAC$1 _ip=\$IP$1"
	sh "$ROOT/tools/vm/qemu.sh" --image "$IMG" --ns "$HV" --tap "tap$1" --mac "$_mac" \
		--ip "$_ip/24" --log "$STATE/console-vm$1.log" --ud 1 >"$STATE/qemu-vm$1.log" 2>&1 &
	echo $! >"$STATE/qemu-vm$1.pid"
}
vms_done() { for i in 1 2 3; do alive "$(cat "$STATE/qemu-vm$i.pid")" && return 1; done; return 0; }

# What VM I printed on its console (tools/vm/init.sh's MDR- lines).
show_vm() { # i
	eval "_ip=\$IP$1"
	"$PY" "$ROOT/tools/vm/console.py" "$STATE/console-vm$1.log" "vm$1" "$_ip" "tap$1"
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root (namespaces, XDP)"
	for b in mdrd mdr-responder mdrctl; do
		[ -x "$BUILD/$b" ] || die "$BUILD/$b missing: run make first"
	done
	[ -x "$PY" ] && "$PY" -c 'import cloudinit' 2>/dev/null ||
		die "cloud-init missing in $PY (make deps installs it)"
	if [ "${VM:-0}" = 1 ]; then
		IMG=$(sh "$ROOT/tools/vm/build-image.sh" "$BUILD") || die "building the VM image failed (make deps installs qemu, the kernel, busybox)"
	fi
	if [ -d "$STATE" ]; then
		say "demo: an old demo is up; tearing it down first"
		down
	fi
	t0=$(date +%s%N)
	mkdir -p "$STATE" "$PIN" "$INST"
	kind=veth; [ "${VM:-0}" = 1 ] && kind=vm
	sh "$ROOT/tools/topo.sh" create --name $NAME --mode port --guests 3 --shared-ip 2 \
		--tap-kind $kind >"$STATE/topo.info"
	. "$STATE/topo.info"
	mount -t bpf bpf "$PIN"
	UUIDS=""
	for i in 1 2 3; do
		cp "$ROOT/examples/vm$i.json" "$INST/vm$i.json"
		UUIDS="$UUIDS $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$INST/vm$i.json")"
	done
	cat >"$STATE/env" <<EOF
# mdr demo state (sh-sourceable; demo.sh down uses the pid files next to it)
NAME=$NAME
HV=$HV
GUESTS="$NAME-g1 $NAME-g2 $NAME-g3"
PIN=$PIN
INSTANCES=$INST
BUILD=$BUILD
UUIDS="$UUIDS"
EOF
	start_daemon mdrd "$STATE/mdrd.pid" "$BUILD/mdrd" --pin-dir "$PIN" --iface 'tap*' --instances "$INST"
	wait_until $READY_WAIT_S ifaces_ready || fail_with_log "mdrd did not attach to tap1..tap3" "$STATE/mdrd.log"
	wait_until $READY_WAIT_S loaded || fail_with_log "mdrd did not load examples/vm{1,2,3}.json" "$STATE/mdrd.log"
	start_daemon mdr-responder "$STATE/responder.pid" "$BUILD/mdr-responder" --pin-dir "$PIN"
	wait_until $READY_WAIT_S xsks_ready || fail_with_log "mdr-responder registered no sockets" "$STATE/mdr-responder.log"
	t1=$(date +%s%N)
	if [ "${VM:-0}" = 1 ]; then
		up_vms
		return 0
	fi

	say ""
	say "mdr demo: compute node \"$NAME\" with 3 guests (port mode), ready in $(( (t1 - t0) / 1000000 )) ms"
	say "  hypervisor namespace $HV: tap1 tap2 tap3 with the XDP program"
	say "  mdrd pid $(cat "$STATE/mdrd.pid"), mdr-responder pid $(cat "$STATE/responder.pid"), maps pinned in $PIN"
	say ""
	say "cloud-init $(dpkg-query -W -f='${Version}' cloud-init 2>/dev/null || echo '?') OpenStack crawl from each guest:"
	for i in 1 2 3; do
		ip netns exec "$NAME-g$i" "$PY" "$ROOT/tests/e2e/clients.py" openstack >"$STATE/crawl-g$i.json" 2>"$STATE/crawl-g$i.err" || true
		"$PY" - "$STATE/crawl-g$i.json" "$NAME-g$i" "$(sh "$ROOT/tools/topo.sh" ip $NAME $i)" "tap$i" <<'EOF'
import base64, json, sys
res = json.load(open(sys.argv[1]))
ns, ip, tap = sys.argv[2:5]
shared = "  (same IP as g2)" if ns.endswith("g1") else "  (same IP as g1)" if ns.endswith("g2") else ""
print(f"\n  guest {ns}  ip {ip}{shared}  port {tap}")
if res.get("error"):
    print(f"    FAILED: {res['error']}")
    for l in res.get("log", [])[-5:]:
        print(f"    | {l}")
    sys.exit(0)
r = res["result"]
md = r["metadata"]
keys = md.get("public_keys") or {}
key = ", ".join(f"{n} ({v.split()[0]})" for n, v in keys.items()) or "(none)"
ud = r.get("userdata") or {}
ud = base64.b64decode(ud["b64"]) if isinstance(ud, dict) else (ud or b"")
first = ud.split(b"\n", 1)[0].decode(errors="replace") if ud else "(none)"
ec2 = r.get("ec2-metadata") or {}
reqs = res["requests"]
bad = sum(1 for q in reqs if q[2] != 200)
print(f"    hostname   {md.get('hostname')}")
print(f"    uuid       {md.get('uuid')}")
print(f"    key        {key}")
print(f"    user data  {first}   ({len(ud)} bytes)")
print(f"    files      {len(r.get('files') or {})}, EC2 instance-id {ec2.get('instance-id', '?')}")
print(f"    timing     {len(reqs)} requests ({bad} not 200) in {res['elapsed'] * 1000:.0f} ms")
EOF
	done
	say ""
	say "Explore (everything keeps running):"
	say "  ip netns exec $NAME-g1 curl http://169.254.169.254/openstack/latest/meta_data.json"
	say "  ip netns exec $NAME-g2 curl http://169.254.169.254/latest/meta-data/instance-id   # g2 shares g1's IP"
	say "  T=\$(ip netns exec $NAME-g2 curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)"
	say "  ip netns exec $NAME-g2 curl -H \"X-aws-ec2-metadata-token: \$T\" http://169.254.169.254/latest/meta-data/placement/availability-zone"
	say "  ip netns exec $NAME-g3 curl -g 'http://[fe80::a9fe:a9fe%25eth0]/openstack/latest/user_data'"
	say "  $BUILD/mdrctl --pin-dir $PIN instance list"
	say "  $BUILD/mdrctl --pin-dir $PIN stats"
	say "  edit $INST/vm1.json: mdrd reloads it within a second"
	say "  logs: $STATE/mdrd.log $STATE/mdr-responder.log"
	say "Tear down: make demo-down"
}

up_vms() {
	say ""
	say "mdr demo: compute node \"$NAME\" ready in $(( (t1 - t0) / 1000000 )) ms; booting 3 QEMU VMs (TCG) on tap1 tap2 tap3"
	say "  hypervisor namespace $HV, mdrd pid $(cat "$STATE/mdrd.pid"), mdr-responder pid $(cat "$STATE/responder.pid"), maps in $PIN"
	for i in 1 2 3; do boot_vm $i; done
	wait_until $VM_WAIT_S vms_done || say "demo: some VM did not finish within $VM_WAIT_S s (consoles in $STATE)"
	say "  VMs done in $(( ($(date +%s%N) - t1) / 1000000000 )) s (boot, fetch, power off)"
	for i in 1 2 3; do show_vm $i; done
	say ""
	say "Explore (mdrd and the responder keep running; the VMs powered off):"
	say "  cat $STATE/console-vm1.log                        # what vm1 printed"
	say "  $BUILD/mdrctl --pin-dir $PIN instance list"
	say "  $BUILD/mdrctl --pin-dir $PIN stats"
	say "  $BUILD/mdrctl --pin-dir $PIN get $(echo $UUIDS | cut -d' ' -f1) /openstack/latest/password"
	say "  boot vm1 again: sh tools/vm/qemu.sh --image $IMG --ns $HV --tap tap1 --mac $MAC1 --ip $IP1/24 --log /tmp/vm1.log"
	say "Tear down: make demo-down"
}

case "${1:-}" in
up) up ;;
down) down; say "demo: down" ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
