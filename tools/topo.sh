#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# topo.sh - build a compute node in network namespaces (tests, demo, bench).
#
# Usage:
#   topo.sh create --name PREFIX --mode port|bridge|bridge-device --guests N
#                  [--same-ip | --shared-ip K] [--tap-kind veth|tap|vm] [--dhcp]
#                  [--multi-queue LIST] [--owner PID]
#   topo.sh destroy --name PREFIX        (idempotent: a missing topology is fine)
#   topo.sh cleanup-stale                destroys topologies created with
#                                        --owner PID whose PID is gone (a run
#                                        killed before its trap ran); ones
#                                        created without --owner are kept
#   topo.sh mac PREFIX N                 guest N's eth0 MAC
#   topo.sh ip PREFIX N                  guest N's IPv4 address (no prefix length)
#   topo.sh ll PREFIX N                  guest N's IPv6 link-local address
#   topo.sh info PREFIX                  the topology as shell assignments
#
# Layout (PREFIX short, e.g. "e2e$$"; namespaces are PREFIX-hv, PREFIX-g1..gN):
#   PREFIX-hv    the hypervisor: tap1..tapN (host ends), lo up, no address on
#                taps in port mode; bridge modes add br0 with 10.99.0.1/24.
#   PREFIX-gI    guest I: eth0 (MAC 52:54:00:00:01:II, hex), lo up,
#                IPv4 10.99.0.(10+I)/24; port mode: --same-ip gives every
#                guest 10.99.0.10, --shared-ip K only guests 1..K,
#                IPv6 link-local fe80::5054:ff:fe00:1II (DAD off, no race).
#   port:          route 169.254.169.254 dev eth0 (on-link: the guest ARPs for
#                  it, the XDP program answers). Attach mdrd to 'tap*'.
#   bridge:        tapI enslaved to br0; route 169.254.169.254 via 10.99.0.1.
#                  Attach mdrd to 'tap*' (the ports).
#   bridge-device: same wiring as bridge; the program is meant for br0 itself
#                  (generic mode), instances bound by MAC. Attach mdrd to 'br0'.
#   --dhcp (bridge modes): PREFIX-dhcp namespace on br0 (port "dhcpp" in hv,
#                  eth0 10.99.0.2/24 in the namespace, nothing listening): the
#                  "metadata unreachable" next hop of the classic ticket.
#   --tap-kind tap: hv ends are real tap devices; build/tools/vmm-tap (a tiny
#                  "VMM") relays frames between tapI's fd and a tap eth0 in
#                  the guest namespace. Default veth (pair tapI <-> eth0;
#                  the guest end has GRO on, as a virtio guest; see
#                  guest_gro below about XDP_TX and native mode).
#   --tap-kind vm: tapI are persistent tap devices for real VMs (QEMU opens
#                  them: tools/vm/qemu.sh), no guest namespaces; IP/MAC/LL
#                  are what the VM is to configure. --multi-queue "2 3"
#                  makes tap2 and tap3 multi_queue (-netdev tap,queues=N).
# No routes out of the machine; nothing in the root namespace is touched.
# State (info file, VMM pids) lives in /run/mdr-topo/PREFIX/.
set -eu

STATE_ROOT=${MDR_TOPO_STATE:-/run/mdr-topo}
# Linux interface names are at most 15 characters; namespace names get a
# suffix of up to 5 ("-dhcp"), keep them readable in `ip netns list`.
PREFIX_MAX=24
# Upper bound on guests: the MAC's last byte and the 10.99.0.(10+I) scheme.
GUESTS_MAX=200
# How long to wait for a VMM relay to create the guest's tap.
VMM_WAIT_S=5

SUBNET=10.99.0
GATEWAY=$SUBNET.1
DHCP_IP=$SUBNET.2
META_IP=169.254.169.254

die() { echo "topo.sh: $*" >&2; exit 1; }

hexbyte() { printf '%02x' "$1"; }

guest_mac() { echo "52:54:00:00:01:$(hexbyte "$1")"; }
# Host-end MAC of tapI (deterministic too, so captures are readable).
host_mac() { echo "52:54:00:00:fe:$(hexbyte "$1")"; }
# EUI-64 link-local for 52:54:00:00:01:II (U/L bit flipped: 50:54).
guest_ll() { echo "fe80::5054:ff:fe00:1$(hexbyte "$1")"; }
# Guests 1..shared (port mode) share 10.99.0.10: the same address behind
# different ports, as on a real node with overlapping tenant networks.
ip_for() { # i shared
	if [ "$1" -le "$2" ]; then echo "$SUBNET.10"; else echo "$SUBNET.$((10 + $1))"; fi
}
guest_ip() { ip_for "$2" "$(info_get "$1" SHARED_IP)"; }

info_get() { # prefix key
	f=$STATE_ROOT/$1/info
	[ -f "$f" ] || { echo ""; return 0; }
	sed -n "s/^$2=//p" "$f" | tr -d "'"
}

ns_exists() { [ -e "/run/netns/$1" ]; }

# Sysctls every namespace gets: IPv6 DAD off (addresses usable at once),
# no router solicitations (nothing answers them; they would only add noise).
ns_sysctls() {
	for k in all default; do
		ip netns exec "$1" sysctl -qw "net.ipv6.conf.$k.accept_dad=0" \
			"net.ipv6.conf.$k.dad_transmits=0" \
			"net.ipv6.conf.$k.router_solicitations=0" \
			"net.ipv6.conf.$k.accept_ra=0" >/dev/null
	done
}

new_ns() {
	ns_exists "$1" && die "namespace $1 already exists (destroy it first)"
	ip netns add "$1"
	ip -n "$1" link set lo up
	ns_sysctls "$1"
}

# A veth guest end gets GRO (and with it NAPI), as a virtio-net guest has.
# Not an XDP program: one on the guest end would strip the host end's GSO
# (veth_fix_features), taxing every host -> guest stream. mdrd attaches to
# veth taps in generic mode, whose XDP_TX replies need nothing of the peer;
# a NATIVE program on a veth tap only gets its XDP_TX frames (ARP/ND
# replies) to a peer that runs an XDP program itself (tests that force
# --xdp-mode native attach build/bpf/empty.bpf.o to the guest). A real VM's
# tap has none of these quirks.
guest_gro() { # guest namespace
	nsenter --net="/run/netns/$1" ethtool -K eth0 gro on >/dev/null ||
		die "ethtool -K eth0 gro on failed in $1 (is ethtool installed?)"
}

vmm_bin() {
	for b in "${BUILD:-build}/tools/vmm-tap" "$(dirname "$0")/../build/tools/vmm-tap"; do
		[ -x "$b" ] && { echo "$b"; return 0; }
	done
	return 1
}

# Creates guest I's link: tapI in hv, eth0 in the guest.
make_link() { # prefix i kind [multi-queue guests]
	hv=$1-hv; g=$1-g$2; t=tap$2
	if [ "$3" = veth ]; then
		ip -n "$hv" link add "$t" address "$(host_mac "$2")" type veth \
			peer name eth0 address "$(guest_mac "$2")" netns "$g"
		guest_gro "$g"
	elif [ "$3" = vm ]; then
		mq=""
		case " $4 " in *" $2 "*) mq=multi_queue ;; esac
		ip -n "$hv" tuntap add dev "$t" mode tap $mq
		ip -n "$hv" link set "$t" address "$(host_mac "$2")"
	else
		vmm=$(vmm_bin) || die "--tap-kind tap needs build/tools/vmm-tap (run make)"
		ip -n "$hv" tuntap add dev "$t" mode tap
		ip -n "$hv" link set "$t" address "$(host_mac "$2")"
		# The relay opens tapI in hv and creates eth0 in the guest, then
		# shuttles frames until killed (recorded for destroy).
		"$vmm" --hv-ns "/run/netns/$hv" --hv-tap "$t" \
			--guest-ns "/run/netns/$g" --guest-tap eth0 \
			--guest-mac "$(guest_mac "$2")" \
			>"$STATE_ROOT/$1/vmm$2.log" 2>&1 &
		echo $! >"$STATE_ROOT/$1/vmm$2.pid"
		n=0
		while ! grep -q '^ready' "$STATE_ROOT/$1/vmm$2.log" 2>/dev/null; do
			n=$((n + 1))
			[ $n -gt $((VMM_WAIT_S * 20)) ] && die "vmm-tap did not create eth0 in $g"
			kill -0 "$(cat "$STATE_ROOT/$1/vmm$2.pid")" 2>/dev/null ||
				die "vmm-tap exited: $(cat "$STATE_ROOT/$1/vmm$2.log")"
			sleep 0.05
		done
	fi
	ip -n "$hv" link set "$t" up
}

cmd_create() {
	name="" mode="" guests="" shared=0 kind=veth dhcp=0 owner="" mqs=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--name) name=$2; shift 2 ;;
		--mode) mode=$2; shift 2 ;;
		--guests) guests=$2; shift 2 ;;
		--same-ip) shared=all; shift ;;
		--shared-ip) shared=$2; shift 2 ;;
		--tap-kind) kind=$2; shift 2 ;;
		--dhcp) dhcp=1; shift ;;
		--multi-queue) mqs=$(echo "$2" | tr ',' ' '); shift 2 ;;
		--owner) owner=$2; shift 2 ;;
		*) die "create: unknown argument $1" ;;
		esac
	done
	[ -n "$name" ] || die "create: --name PREFIX is required"
	case "$name" in *[!A-Za-z0-9_.-]*) die "create: name must be [A-Za-z0-9_.-]" ;; esac
	[ ${#name} -le $PREFIX_MAX ] || die "create: name longer than $PREFIX_MAX"
	case "$mode" in port|bridge|bridge-device) ;; *) die "create: --mode port|bridge|bridge-device" ;; esac
	case "$guests" in ''|*[!0-9]*) die "create: --guests N" ;; esac
	[ "$guests" -ge 1 ] && [ "$guests" -le $GUESTS_MAX ] || die "create: 1 <= guests <= $GUESTS_MAX"
	case "$kind" in veth|tap|vm) ;; *) die "create: --tap-kind veth|tap|vm" ;; esac
	[ -z "$mqs" ] || [ "$kind" = vm ] || die "create: --multi-queue needs --tap-kind vm"
	[ "$shared" = all ] && shared=$guests
	case "$shared" in ''|*[!0-9]*) die "create: --shared-ip K" ;; esac
	[ "$mode" = port ] || [ "$shared" = 0 ] || die "create: --same-ip/--shared-ip need --mode port (a bridge is one L2 segment)"
	[ "$mode" != port ] || [ $dhcp = 0 ] || die "create: --dhcp needs a bridge mode"

	st=$STATE_ROOT/$name
	[ -e "$st/info" ] && die "topology $name exists (destroy it first)"
	mkdir -p "$st"
	# The info file is written first so that destroy can clean a half-built one.
	iface='tap*'; [ "$mode" = bridge-device ] && iface=br0
	cat >"$st/info" <<EOF
TOPO_NAME='$name'
TOPO_MODE='$mode'
GUESTS='$guests'
SHARED_IP='$shared'
TAP_KIND='$kind'
DHCP='$dhcp'
OWNER='$owner'
HV='$name-hv'
MDR_IFACE='$iface'
META_IP='$META_IP'
GATEWAY='$GATEWAY'
EOF
	trap 'cmd_destroy --name "$name" >/dev/null 2>&1' EXIT
	new_ns "$name-hv"
	if [ "$mode" != port ]; then
		ip -n "$name-hv" link add br0 address 52:54:00:00:fe:00 type bridge
		# No STP and no forwarding delay: ports forward as soon as they're up.
		ip -n "$name-hv" link set br0 type bridge stp_state 0 forward_delay 0
		ip -n "$name-hv" addr add "$GATEWAY/24" dev br0
		ip -n "$name-hv" link set br0 up
	fi
	i=1
	while [ $i -le "$guests" ]; do
		g=$name-g$i
		ip4=$(ip_for $i "$shared")
		if [ "$kind" = vm ]; then # the VM configures itself
			make_link "$name" $i vm "$mqs"
			[ "$mode" != port ] && ip -n "$name-hv" link set "tap$i" master br0
			echo "G$i='' MAC$i='$(guest_mac $i)' IP$i='$ip4' LL$i='$(guest_ll $i)'" >>"$st/info"
			i=$((i + 1))
			continue
		fi
		new_ns "$g"
		make_link "$name" $i "$kind"
		[ "$mode" != port ] && ip -n "$name-hv" link set "tap$i" master br0
		ip -n "$g" addr add "$ip4/24" dev eth0
		ip -n "$g" link set eth0 up
		if [ "$mode" = port ]; then
			ip -n "$g" route add "$META_IP" dev eth0
		else
			ip -n "$g" route add "$META_IP" via "$GATEWAY" dev eth0
		fi
		echo "G$i='$g' MAC$i='$(guest_mac $i)' IP$i='$ip4' LL$i='$(guest_ll $i)'" >>"$st/info"
		i=$((i + 1))
	done
	if [ $dhcp = 1 ]; then
		new_ns "$name-dhcp"
		ip -n "$name-hv" link add dhcpp type veth peer name eth0 \
			address 52:54:00:00:fd:02 netns "$name-dhcp"
		ip -n "$name-hv" link set dhcpp master br0 up
		ip -n "$name-dhcp" addr add "$DHCP_IP/24" dev eth0
		ip -n "$name-dhcp" link set eth0 up
		echo "DHCP_NS='$name-dhcp' DHCP_IP='$DHCP_IP'" >>"$st/info"
	fi
	trap - EXIT
	cat "$st/info"
}

cmd_destroy() {
	name=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--name) name=$2; shift 2 ;;
		*) name=$1; shift ;;
		esac
	done
	[ -n "$name" ] || die "destroy: --name PREFIX is required"
	st=$STATE_ROOT/$name
	# Relays first (they hold the taps), only the PIDs we recorded.
	for p in "$st"/vmm*.pid; do
		[ -f "$p" ] || continue
		pid=$(cat "$p")
		kill "$pid" 2>/dev/null || true
		rm -f "$p"
	done
	# Deleting a namespace deletes its interfaces (and veth peers).
	for ns in "$name-hv" "$name-dhcp"; do
		ns_exists "$ns" && ip netns del "$ns" 2>/dev/null || true
	done
	for f in /run/netns/"$name"-g*; do
		[ -e "$f" ] || continue
		case "${f##*/}" in "$name"-g*[!0-9]*) continue ;; esac # only PREFIX-gN
		ip netns del "${f##*/}" 2>/dev/null || true
	done
	rm -rf "$st"
	return 0
}

cmd_cleanup_stale() {
	[ -d "$STATE_ROOT" ] || return 0
	for st in "$STATE_ROOT"/*/; do
		[ -f "$st/info" ] || continue
		name=$(basename "$st")
		owner=$(info_get "$name" OWNER)
		[ -n "$owner" ] || continue
		if ! kill -0 "$owner" 2>/dev/null; then
			echo "topo.sh: destroying stale topology $name (owner $owner gone)"
			cmd_destroy --name "$name"
		fi
	done
	return 0
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
create) cmd_create "$@" ;;
destroy) cmd_destroy "$@" ;;
cleanup-stale) cmd_cleanup_stale ;;
mac) [ $# -eq 2 ] || die "mac PREFIX N"; guest_mac "$2" ;;
ip) [ $# -eq 2 ] || die "ip PREFIX N"; guest_ip "$1" "$2" ;;
ll) [ $# -eq 2 ] || die "ll PREFIX N"; guest_ll "$2" ;;
info) [ -f "$STATE_ROOT/${1:-}/info" ] || die "no topology ${1:-}"; cat "$STATE_ROOT/$1/info" ;;
*) sed -n '3,/^set -eu/s/^# \{0,1\}//p' "$0" | grep -v '^set -eu'; exit 2 ;;
esac
