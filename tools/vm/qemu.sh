#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# qemu.sh - boot one test VM (tools/vm/build-image.sh's image) on a tap that
# already exists in a network namespace, with QEMU inside that namespace.
# The guest (tools/vm/init.sh) fetches its metadata, prints the results on
# its serial console (written to --log) and powers off; QEMU then exits.
#
#   qemu.sh --image DIR --ns NS --tap TAP --mac MAC --ip A.B.C.D/N --log FILE
#           [--vlan ID] [--smp N] [--queues N] [--offloads on|off]
#           [--ud N] [--spread N] [--cpu C] [--gw A.B.C.D] [--quick 1]
#           [--iperf HOST --iperf-s SECONDS]
#
# --queues N: -netdev tap,queues=N and virtio-net-pci mq=on with 2N+2
#   vectors (the tap must be multi_queue: topo.sh --multi-queue).
# --offloads off: the virtio-net device offers no checksum offload, TSO,
#   ECN or UFO in either direction (the guest computes every checksum);
#   on (default): QEMU's defaults, the guest sends partial checksums and
#   TSO segments.
# --gw, --quick, --iperf: see tools/vm/init.sh (mdr.gw, mdr.quick, mdr.iperf).
# TCG (no KVM is assumed): -accel tcg. Exec's QEMU: the caller's PID is
# QEMU's.
set -eu

img="" ns="" tap="" mac="" ip="" log="" vlan="" smp=1 queues=1 offloads=on ud=3 spread=0 cpu=0 gw="" quick=0 iperf="" iperf_s=5
while [ $# -gt 0 ]; do
	case "$1" in
	--image) img=$2 ;; --ns) ns=$2 ;; --tap) tap=$2 ;; --mac) mac=$2 ;;
	--ip) ip=$2 ;; --log) log=$2 ;; --vlan) vlan=$2 ;; --smp) smp=$2 ;;
	--queues) queues=$2 ;; --offloads) offloads=$2 ;; --ud) ud=$2 ;;
	--spread) spread=$2 ;; --cpu) cpu=$2 ;; --gw) gw=$2 ;; --quick) quick=$2 ;;
	--iperf) iperf=$2 ;; --iperf-s) iperf_s=$2 ;;
	*) echo "qemu.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
for v in img ns tap mac ip log; do
	eval "[ -n \"\$$v\" ]" || { echo "qemu.sh: --$v is required" >&2; exit 2; }
done

# Guest RAM: the kernel, the initramfs and a 64 KiB body fit many times.
MEM_MB=192
NETDEV="tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
# romfile=: no iPXE option ROM for the firmware to run (seconds under TCG).
DEVICE="virtio-net-pci,netdev=n0,mac=$mac,romfile="
if [ "$queues" -gt 1 ]; then
	NETDEV="$NETDEV,queues=$queues"
	# One vector per virtqueue (2 per pair) plus config and control.
	DEVICE="$DEVICE,mq=on,vectors=$((2 * queues + 2))"
fi
case "$offloads" in
on) ;;
off) DEVICE="$DEVICE,csum=off,guest_csum=off,gso=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off" ;;
*) echo "qemu.sh: --offloads on|off" >&2; exit 2 ;;
esac
# no_timer_check: on a loaded host a TCG guest can miss the kernel's early
# IO-APIC timer check and panic ("IO-APIC + timer doesn't work").
APPEND="console=ttyS0 loglevel=4 mitigations=off no_timer_check panic=-1 mdr.ip=$ip mdr.ud=$ud mdr.spread=$spread mdr.cpu=$cpu"
[ -n "$vlan" ] && APPEND="$APPEND mdr.vlan=$vlan"
[ -n "$gw" ] && APPEND="$APPEND mdr.gw=$gw"
[ "$quick" = 1 ] && APPEND="$APPEND mdr.quick=1"
[ -n "$iperf" ] && APPEND="$APPEND mdr.iperf=$iperf mdr.iperf_s=$iperf_s"

# The unpacked ELF kernel boots through PVH (no decompression).
kernel=$img/vmlinux
[ -f "$kernel" ] || kernel=$img/vmlinuz
exec nsenter --net="/run/netns/$ns" qemu-system-x86_64 -accel tcg -m $MEM_MB -smp "$smp" \
	-nodefaults -nographic -monitor none -serial "file:$log" -no-reboot \
	-kernel "$kernel" -initrd "$img/initrd.gz" -append "$APPEND" \
	-netdev "$NETDEV" -device "$DEVICE"
