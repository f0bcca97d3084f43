#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_nics.sh - one instance, several NICs (issue 15): a guest namespace
# with two NICs on two taps (tap1 <-> eth0, tap2 <-> eth1), each with its
# own MAC and address, one definition whose "bindings" names both. The
# guest fetches through each NIC and is the same instance through both;
# network/interfaces/macs/ answers for each NIC; network_data.json is
# generated from the bindings; cloud-init's Ec2 datasource (Debian's
# python3 cloudinit, unmodified) builds the guest's network configuration
# from the tree. Then: a third NIC whose tap is absent stays pending (its
# MAC is not trusted anywhere) until mdrd sees the tap appear; removing
# the definition leaves no binding behind.
# Usage: sh tests/e2e/e2e_nics.sh
. "$(dirname "$0")/lib.sh"
e2e_init nics

# Events must take effect within this many seconds (mdrd's contract).
EVENT_S=1

jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
within() {
	_w_name=$1; shift
	if wait_for --timeout "$EVENT_S" "$@"; then ok "$_w_name (within ${EVENT_S}s)"
	else not_ok "$_w_name (within ${EVENT_S}s)" "still false: $*" "$(tail -n 5 "$E2E_TMP/mdrd-$TOPO.log")"; fi
}

topo_create --mode port --guests 2 || e2e_done
G=$TOPO-g1
MAC1=$(sh "$TOPO_SH" mac "$TOPO" 1)
MAC2=$(sh "$TOPO_SH" mac "$TOPO" 2)
MAC3=52:54:00:00:01:33
IP1=$(sh "$TOPO_SH" ip "$TOPO" 1)
# NIC 2 on its own subnet, with a secondary address and an IPv6 one.
IP2=10.99.1.12
IP2B=10.99.1.13
IP6=2001:db8:99:1::12

# Guest 2's NIC moves into guest 1 as eth1 (renamed first: eth0 exists there).
ip -n "$TOPO-g2" link set eth0 down
ip -n "$TOPO-g2" link set eth0 name eth1
ip -n "$TOPO-g2" link set eth1 netns "$G"
ip -n "$G" addr flush dev eth1
ip -n "$G" addr add "$IP2/24" dev eth1
ip -n "$G" link set eth1 up
# The metadata address on-link through eth1 too (curl --interface eth1
# binds to the device, so its lookup takes this route).
ip -n "$G" route add 169.254.169.254 dev eth1 src "$IP2" metric 200

U=8c3b6f0a-15a1-4c2e-9f0e-000000000015
nics_json() { # extra binding objects
	cat <<EOF
{"uuid": "$U", "name": "two-nics", "project_id": "4fd44f30292945e481c7b8a0c8908869",
 "bindings": [
  {"port": "tap1", "mac": "$MAC1", "addresses": ["$IP1/24"], "gateway4": "10.99.0.1",
   "dns": ["10.99.0.53"], "mtu": 1500},
  {"port": "tap2", "mac": "$MAC2", "addresses": ["$IP2/24", "$IP2B/24", "$IP6/64"],
   "interface_id": "eni-0000000000000002", "security_group_ids": ["sg-2"]}$1
 ],
 "ec2": {"security_groups": ["default"]}}
EOF
}
put_file() { # name content: atomic (temporary dot-name, rename)
	printf '%s' "$2" >"$INST_DIR/.$1.tmp" && mv "$INST_DIR/.$1.tmp" "$INST_DIR/$1"
}
bindings_of() { # the instance's bindings in the maps, as mdrctl lists them
	mdrctl instance list -j | jpy "[(sorted(p['ifname'] for p in i['bindings']['ports']), sorted((m['mac'], m['ifindex']) for m in i['bindings']['macs'])) for i in d if i['uuid']=='$U']"
}
ifindex() { ip -n "$HV" -j link show dev "$1" | jpy 'd[0]["ifindex"]'; }
has_ports() { # ports...: exactly these ports bound to U
	[ "$(mdrctl instance list -j | jpy "sorted(p['ifname'] for i in d if i['uuid']=='$U' for p in i['bindings']['ports'])")" = "$1" ]
}

put_file nics.json "$(nics_json)"
start_mdrd || { dump_logs; e2e_done; }
start_responder || { dump_logs; e2e_done; }
within "mdrd loads the two-NIC definition and binds both taps" has_ports "['tap1', 'tap2']"
T1=$(ifindex tap1)
T2=$(ifindex tap2)
check_eq "both MACs are bound, each pinned to its own tap" "$(bindings_of)" \
	"[(['tap1', 'tap2'], [('$MAC1', $T1), ('$MAC2', $T2)])]"
check "mdrd logs one line per port" grep -q "instance $U port tap2: created from nics.json" "$E2E_TMP/mdrd-$TOPO.log"

# ---- the guest, through each NIC -------------------------------------------------------
gc() { _if=$1; shift; in_guest 1 curl -sS -m 5 --interface "$_if" "$@"; }
uuid_via() { gc "$1" $META/openstack/latest/meta_data.json | jpy 'd["uuid"]' 2>&1; }
check_eq "through eth0 (tap1) the guest is the instance" "$(uuid_via eth0)" "$U"
check_eq "through eth1 (tap2) the guest is the same instance" "$(uuid_via eth1)" "$U"
check_eq "local-ipv4 through eth0 is eth0's address" "$(gc eth0 $META/latest/meta-data/local-ipv4)" "$IP1"
check_eq "local-ipv4 through eth1 is eth1's address (the request came through tap2)" \
	"$(gc eth1 $META/latest/meta-data/local-ipv4)" "$IP2"
for nic in eth0 eth1; do
	check_eq "via $nic: meta-data/mac is the primary NIC's" "$(gc $nic $META/latest/meta-data/mac)" "$MAC1"
	check_eq "via $nic: network/interfaces/macs/ lists both NICs" \
		"$(gc $nic $META/latest/meta-data/network/interfaces/macs/)" "$(printf '%s/\n%s/' "$MAC1" "$MAC2")"
done
M2=$META/latest/meta-data/network/interfaces/macs/$MAC2
check_eq "NIC 2: device-number 1" "$(gc eth1 $M2/device-number)" 1
check_eq "NIC 2: local-ipv4s" "$(gc eth1 $M2/local-ipv4s)" "$(printf '%s\n%s' "$IP2" "$IP2B")"
check_eq "NIC 2: subnet-ipv4-cidr-block" "$(gc eth1 $M2/subnet-ipv4-cidr-block)" 10.99.1.0/24
check_eq "NIC 2: ipv6s" "$(gc eth1 $M2/ipv6s)" "$IP6"
check_eq "NIC 2: subnet-ipv6-cidr-blocks" "$(gc eth1 $M2/subnet-ipv6-cidr-blocks)" 2001:db8:99:1::/64
check_eq "NIC 2: interface-id, security-group-ids, owner-id" \
	"$(gc eth1 $M2/interface-id; echo; gc eth1 $M2/security-group-ids; echo; gc eth1 $M2/owner-id)" \
	"$(printf 'eni-0000000000000002\nsg-2\n4fd44f30292945e481c7b8a0c8908869')"
check_eq "NIC 1: device-number 0, local-ipv4s" \
	"$(gc eth0 $META/latest/meta-data/network/interfaces/macs/$MAC1/device-number; echo; gc eth0 $META/latest/meta-data/network/interfaces/macs/$MAC1/local-ipv4s)" \
	"$(printf '0\n%s' "$IP1")"
check_eq "nova's 2009-04-04 has no network/ (byte-identical to nova)" \
	"$(in_guest 1 curl -s -m 5 -o /dev/null -w '%{http_code}' $META/2009-04-04/meta-data/network/)" 404
gc eth1 $META/openstack/latest/network_data.json >"$E2E_TMP/nd.json" 2>&1
check_eq "network_data.json is generated from the bindings (links: ports and MACs; networks)" \
	"$(jpy '[(l["id"], l["ethernet_mac_address"], l["mtu"]) for l in d["links"]], [(n["type"], n["link"], n["ip_address"], n["netmask"]) for n in d["networks"]], d["services"]' <"$E2E_TMP/nd.json")" \
	"[('tap1', '$MAC1', 1500), ('tap2', '$MAC2', None)] [('ipv4', 'tap1', '$IP1', '255.255.255.0'), ('ipv4', 'tap2', '$IP2', '255.255.255.0'), ('ipv6', 'tap2', '$IP6', 'ffff:ffff:ffff:ffff::')] [{'type': 'dns', 'address': '10.99.0.53'}]"

"$GUEST_PY" "$E2E_PY/nics_nova_nd.py" "$INST_DIR/nics.json" >"$E2E_TMP/nd-nova.json" 2>&1
check "network_data.json is byte-identical to nova's get_network_metadata() of the same NICs" \
	cmp "$E2E_TMP/nd.json" "$E2E_TMP/nd-nova.json"

# ---- cloud-init's Ec2 datasource builds the network configuration ----------------------------
gpy 1 nics_cloudinit.py >"$E2E_TMP/ci.json" 2>"$E2E_TMP/ci.err"
diag "cloud-init path: $(jpy 'd["path"], d["api"], d.get("datasource_error", "")' <"$E2E_TMP/ci.json" 2>&1)"
check_eq "cloud-init's DataSourceEc2 itself crawled (get_data, network_config)" \
	"$(jpy 'd["path"]' <"$E2E_TMP/ci.json" 2>&1)" datasource
check_eq "cloud-init crawls with its newest API version" "$(jpy 'd["api"]' <"$E2E_TMP/ci.json" 2>&1)" 2021-03-23
check_eq "cloud-init sees this namespace's NICs by MAC" \
	"$(jpy 'sorted(m for m in d["nics"].items() if m[1] != "lo")' <"$E2E_TMP/ci.json" 2>&1)" "[('$MAC1', 'eth0'), ('$MAC2', 'eth1')]"
check_eq "cloud-init: eth0 by MAC, DHCP, route metric 100 (device 0)" \
	"$(jpy 'sorted(d["netcfg"]["ethernets"]["eth0"].items())' <"$E2E_TMP/ci.json" 2>&1)" \
	"[('dhcp4', True), ('dhcp4-overrides', {'route-metric': 100}), ('dhcp6', False), ('match', {'macaddress': '$MAC1'}), ('set-name', 'eth0')]"
check_eq "cloud-init: eth1 by MAC, DHCP4 and DHCP6 (it has an IPv6), metric 200, its secondary address" \
	"$(jpy 'sorted(d["netcfg"]["ethernets"]["eth1"].items())' <"$E2E_TMP/ci.json" 2>&1)" \
	"[('addresses', ['$IP2B/24']), ('dhcp4', True), ('dhcp4-overrides', {'route-metric': 200}), ('dhcp6', True), ('dhcp6-overrides', {'route-metric': 200}), ('match', {'macaddress': '$MAC2'}), ('set-name', 'eth1')]"

# ---- a third NIC whose tap is absent: pending, its MAC trusted nowhere ---------------------------
put_file nics.json "$(nics_json ", {\"port\": \"tap3\", \"mac\": \"$MAC3\"}")"
lists_mac3() { gc eth0 $META/latest/meta-data/network/interfaces/macs/ | grep -q "$MAC3"; }
within "the replaced definition is served: the third NIC is listed" lists_mac3
check_eq "network/interfaces/macs/ lists the three NICs" \
	"$(gc eth0 $META/latest/meta-data/network/interfaces/macs/)" "$(printf '%s/\n%s/\n%s/' "$MAC1" "$MAC2" "$MAC3")"
check_eq "tap3 absent: its port and its pinned MAC are pending, never bound to any port" \
	"$(bindings_of)" "[(['tap1', 'tap2'], [('$MAC1', $T1), ('$MAC2', $T2)])]"
in_hv ip link add tap3 type veth peer name peer3
within "tap3 appears: mdrd binds the third NIC" has_ports "['tap1', 'tap2', 'tap3']"
T3=$(ifindex tap3)
check_eq "its MAC is pinned to tap3" "$(bindings_of)" \
	"[(['tap1', 'tap2', 'tap3'], [('$MAC1', $T1), ('$MAC2', $T2), ('$MAC3', $T3)])]"
check "the late binding is logged" grep -q "instance $U port tap3: bound" "$E2E_TMP/mdrd-$TOPO.log"

# ---- mdrctl: load, bind --mac on an instance with several NICs ------------------------------------
UC=8c3b6f0a-15a1-4c2e-9f0e-0000000000c7
MX=52:54:00:00:07:01 MY=52:54:00:00:07:02
printf '{"uuid": "%s", "bindings": [{"port": "tap1", "mac": "%s"}, {"port": "tap7", "mac": "%s"}]}' \
	"$UC" "$MX" "$MY" >"$E2E_TMP/c.json"
mdrctl instance load "$E2E_TMP/c.json" >"$E2E_TMP/c.out" 2>&1
check_eq "mdrctl instance load: tap1 is the other instance's, bindings[1]'s port absent: refused" \
	"$(grep -c 'already bound to instance\|no interface named' "$E2E_TMP/c.out")/$(mdrctl instance list -j | jpy "'$UC' in [i['uuid'] for i in d]")" "1/False"
printf '{"uuid": "%s", "bindings": [{"mac": "%s"}, {"port": "tap7", "mac": "%s"}, {"port": "tap8"}]}' \
	"$UC" "$MX" "$MY" >"$E2E_TMP/c.json"
check_eq "mdrctl instance load --allow-missing-port names each pending port" \
	"$(mdrctl instance load --allow-missing-port "$E2E_TMP/c.json" | grep -o 'port tap[0-9]: no such interface yet' | tr '\n' ' ')" \
	"port tap7: no such interface yet port tap8: no such interface yet "
check_eq "its MAC pinned to absent tap7 is not bound; the other MAC is (any port)" \
	"$(mdrctl instance list -j | jpy "[sorted((m['mac'], m['ifindex']) for m in i['bindings']['macs']) for i in d if i['uuid']=='$UC']")" \
	"[[('$MX', 0)]]"
check_eq "mdrctl bind --mac of the NIC on absent tap7: refused, never trusted on any port" \
	"$(mdrctl bind "$UC" --mac "$MY" 2>&1 | grep -c 'tap7, which is not present')" 1
check_eq "mdrctl bind --mac of a MAC no NIC names: refused (several ports, name one)" \
	"$(mdrctl bind "$UC" --mac 52:54:00:00:07:09 2>&1 | grep -c 'binds several ports')" 1
mdrctl instance del "$UC" >/dev/null

# ---- back to one NIC, then removed: no orphan ------------------------------------------------------
put_file nics.json "{\"uuid\": \"$U\", \"bindings\": [{\"port\": \"tap2\", \"mac\": \"$MAC2\"}]}"
within "a definition with one NIC left drops the other two bindings" has_ports "['tap2']"
check_eq "only NIC 2's bindings remain" "$(bindings_of)" "[(['tap2'], [('$MAC2', $T2)])]"
check_eq "through eth1 the guest is still the instance" "$(uuid_via eth1)" "$U"
check_eq "through eth0 (unbound now) no metadata answers" \
	"$(in_guest 1 curl -s -m 2 --interface eth0 -o /dev/null -w '%{http_code}' $META/openstack/latest/meta_data.json)" 000
rm -f "$INST_DIR/nics.json"
no_instance() { [ "$(mdrctl instance list -j | jpy "'$U' in [i['uuid'] for i in d]")" = False ]; }
within "the definition removed: the instance is deleted" no_instance
check_eq "no port binding, MAC binding or record is left (mdr_ports/mdr_macs/mdr_inst)" \
	"$(map_count mdr_ports)/$(map_count mdr_macs)/$(map_count mdr_inst)" 0/0/0

e2e_done
