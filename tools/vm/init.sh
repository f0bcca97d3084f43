#!/bin/busybox sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# init.sh - /init of the test VMs (tools/vm/build-image.sh). Configures the
# guest's NIC from the kernel command line, fetches its metadata through
# mdr with the guest kernel's own TCP, prints one line per request on the
# serial console, and powers off. Parameters (kernel command line):
#   mdr.ip=A.B.C.D/N   IPv4 address of the interface (required)
#   mdr.vlan=ID        talk through eth0.ID (8021q) instead of eth0
#   mdr.ud=N           fetch the user data N times (default 3)
#   mdr.cpu=C          CPU of the first request (the token PUT)
#   mdr.spread=N       then N requests pinned to each CPU, in parallel
#                      (each CPU sends on its own virtio-net queue pair)
#   mdr.gw=A.B.C.D     reach 169.254.169.254 via this router (a bridge)
#                      instead of on-link (a port)
#   mdr.quick=1        stop after the token, instance-id and meta_data.json
#                      (the bench's boot storm)
#   mdr.iperf=HOST     instead of fetching metadata: iperf3 -c HOST for
#                      mdr.iperf_s seconds (default 5); prints
#                      "MDR-IPERF mbps N" (the receiver's rate)
# Output lines (the host parses them; nothing else starts with "MDR-"):
#   MDR-RESULT NAME STATUS MS SIZE SHA256      one request
#   MDR-RESULT NAME ERR REASON                 a request that failed
#   MDR-BODY NAME TEXT                         a short body, for people
#   MDR-FIELD NAME KEY VALUE                   a string field of a JSON body
#   MDR-TEXT NAME LINE                         the first line of a body
#   MDR-INFO KEY VALUE...                      facts about the guest
#   MDR-DONE
export PATH=/bin:/usr/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
# IPv6 addresses usable at once (no DAD), no router solicitations.
for k in accept_dad dad_transmits router_solicitations; do
	echo 0 >/proc/sys/net/ipv6/conf/default/$k
done

P_ip="" P_vlan="" P_ud=3 P_cpu=0 P_spread=0 P_gw="" P_quick=0 P_iperf="" P_iperf_s=5
for w in $(cat /proc/cmdline); do
	case "$w" in
	mdr.*=*) k=${w%%=*}; k=${k#mdr.}; v=${w#*=}
		case "$k" in ip|vlan|ud|cpu|spread|gw|quick|iperf|iperf_s) eval "P_$k=\$v" ;; esac ;;
	esac
done

while read -r m; do insmod "/lib/modules/$m.ko" || echo "MDR-INFO insmod-failed $m"; done </lib/modules/order
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
IF=eth0
ip link set lo up
ip link set eth0 up
if [ -n "$P_vlan" ]; then
	IF=eth0.$P_vlan
	ip link add link eth0 name "$IF" type vlan id "$P_vlan"
	ip link set "$IF" up
fi
ip addr add "$P_ip" dev "$IF"
if [ -n "$P_gw" ]; then
	ip route add 169.254.169.254 via "$P_gw" dev "$IF"
else
	ip route add 169.254.169.254 dev "$IF"
fi
# The link-local address (and its fe80::/64 route) comes with the carrier.
n=0
while ! ip -6 addr show dev "$IF" scope link | grep -q fe80 && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
echo # ends the firmware's last line on the console
echo "MDR-INFO ll $(ip -6 addr show dev "$IF" scope link | sed -n 's/.*inet6 \([^ ]*\).*/\1/p' | tr '\n' ' ')after $((n * 50)) ms"
echo "MDR-INFO iface $IF $(cat /sys/class/net/$IF/address) $P_ip"
echo "MDR-INFO queues $(ls /sys/class/net/eth0/queues | tr '\n' ' ')"
echo "MDR-INFO cpus $(nproc)"
echo "MDR-INFO uptime-start $(cut -d' ' -f1 /proc/uptime)"

if [ -n "$P_iperf" ]; then
	iperf3 -c "$P_iperf" -t "$P_iperf_s" -f m >/tmp/iperf.out 2>&1
	echo "MDR-IPERF mbps $(sed -n 's/.* \([0-9.]*\) Mbits\/sec.*receiver.*/\1/p' /tmp/iperf.out)"
	echo "MDR-DONE"
	poweroff -f
fi
M=http://169.254.169.254
TOK_HDR=""
# req NAME [vmhttp args...] URL: one request, one MDR-RESULT line.
req() {
	_n=$1; shift
	_b=/tmp/body.$_n
	if _r=$(vmhttp -o "$_b" "$@" 2>/tmp/err.$_n); then
		echo "${_r%% *}" >/tmp/status.$_n
		_s=$(sha256sum "$_b")
		echo "MDR-RESULT $_n $_r $(wc -c <"$_b") ${_s%% *}"
		if [ "$(wc -c <"$_b")" -le 100 ] && [ "$(wc -l <"$_b")" -eq 0 ]; then
			echo "MDR-BODY $_n $(cat "$_b")"
		fi
	else
		echo "MDR-RESULT $_n ERR $(tr '\n ' '__' </tmp/err.$_n | head -c 200)"
	fi
}

req token -c "$P_cpu" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' $M/latest/api/token
# A server without IMDSv2 (the bench's nginx) gets a harmless header.
T="X-No-Token: 1"
[ "$(cat /tmp/status.token 2>/dev/null)" = 200 ] && T="X-aws-ec2-metadata-token: $(cat /tmp/body.token)"
if [ "$P_spread" -gt 0 ]; then
	# Requests from every CPU at once: each CPU's flows leave on its own
	# queue pair (XPS), so every queue of the tap carries requests.
	c=0
	while [ $c -lt "$(nproc)" ]; do
		(i=1; while [ $i -le "$P_spread" ]; do req "spread-c$c-$i" -c $c -H "$T" $M/latest/meta-data/instance-id; i=$((i + 1)); done) >/tmp/spread.$c &
		c=$((c + 1))
	done
	wait
	cat /tmp/spread.*
	# Interrupts per virtio vector ("virtio0-input.1 7"), summed over CPUs.
	grep virtio /proc/interrupts | while read -r _irq rest; do
		set -- $rest
		_sum=0 _c=0
		while [ $_c -lt "$(nproc)" ]; do _sum=$((_sum + $1)); shift; _c=$((_c + 1)); done
		echo "MDR-INFO irq ${rest##* } $_sum"
	done
fi
req iid -H "$T" $M/latest/meta-data/instance-id
# meta_data.json differs per request (random_seed): report its fields.
jfield() { echo "MDR-FIELD $1 $2 $(sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p" /tmp/body.$1 2>/dev/null)"; }
req meta -H "$T" $M/openstack/latest/meta_data.json
jfield meta uuid
jfield meta hostname
if [ "$P_quick" = 1 ]; then
	echo "MDR-DONE"
	poweroff -f
fi
i=1
while [ $i -le "$P_ud" ]; do req "ud$i" -H "$T" $M/openstack/latest/user_data; i=$((i + 1)); done
[ -s /tmp/body.ud1 ] && echo "MDR-TEXT ud1 $(head -n 1 /tmp/body.ud1 | head -c 80 | tr -cd ' -~')"
req ll -H "$T" "http://[fe80::a9fe:a9fe%$IF]/openstack/latest/meta_data.json"
jfield ll uuid
if [ "$(cat /tmp/status.ll 2>/dev/null)" != 200 ]; then # for whoever reads the console
	ip -6 addr show dev "$IF" | sed 's/^/MDR-INFO ll-diag addr /'
	ip -6 route show dev "$IF" | sed 's/^/MDR-INFO ll-diag route /'
	dmesg | tail -n 8 | sed 's/^/MDR-INFO ll-diag dmesg /'
fi
req notoken $M/latest/meta-data/instance-id
PW="pw-$(cat /tmp/body.iid 2>/dev/null)"
req pwpost -X POST -H "$T" -d "$PW" $M/openstack/latest/password
req pwget -H "$T" $M/openstack/latest/password
echo "MDR-INFO password-sent $PW"
echo "MDR-INFO uptime-done $(cut -d' ' -f1 /proc/uptime)"
echo "MDR-DONE"
sync
poweroff -f
