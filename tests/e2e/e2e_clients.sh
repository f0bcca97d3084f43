#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_clients.sh - unmodified clients (cloud-init, botocore, curl) in guest
# namespaces against mdrd + mdr-responder, in every topology mode:
#   port           4 guests, guests 1 and 2 share 10.99.0.10, bound by port
#   bridge         4 guests on br0 (program on the ports), bound by port;
#                  guest 3 routes 169.254.169.254 via a "dhcp" namespace
#                  that does not serve metadata (the classic ticket)
#   bridge-device  4 guests on br0, program on br0 (generic), bound by MAC
#   port-tap       2 guests on real tap devices (tools/vmm-tap relays)
# Each guest gets its own definition (tests/data/instances): vm1 (tokens
# optional), vm2 (tokens required), vm3 (16 KiB user data, two keys),
# vm4-nokeys (no user data, no keys, defaults).
# Usage: sh tests/e2e/e2e_clients.sh [MODE...]   (default: all four)
. "$(dirname "$0")/lib.sh"
e2e_init clients

DATA=$E2E_ROOT/tests/data/instances
DEFS="vm1 vm2 vm3 vm4-nokeys"
ROLE=mdr-e2e-role
# Seconds curl waits for an answer that must NOT come (nothing serves it).
UNSERVED_WAIT_S=2

# IAM credentials botocore fetches (added with `mdrctl put`, EC2 layout).
CREDS=$E2E_TMP/creds.json
printf '{"Code":"Success","LastUpdated":"2024-05-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"AKIAMDRE2EEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","Token":"IQoJb3JpZ2luX2VjEMDR","Expiration":"2030-01-01T00:00:00Z"}' >"$CREDS"

EC2_VERSIONS='1.0
2007-01-19
2007-03-01
2007-08-29
2007-10-10
2007-12-15
2008-02-01
2008-09-01
2009-04-04
2016-09-02
2018-09-24
2019-10-01
2021-03-23
latest'
OS_VERSIONS='2012-08-10
2013-04-04
2013-10-17
2015-10-15
2016-06-30
2016-10-06
2017-02-22
2018-08-27
2020-10-14
2025-04-04
latest'

defn_of() { echo "$DEF_DIR/g$1.json"; } # guest N's loaded definition
uuid_of() { "$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$(defn_of "$1")"; }
jq_py() { "$GUEST_PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# curl from guest N: prints the body; extra curl args first.
gcurl() { _n=$1; shift; in_guest "$_n" curl -sS -m 5 "$@"; }
# "STATUS CONTENT-TYPE" of a GET
gstat() { _n=$1; shift; in_guest "$_n" curl -s -m 5 -o /dev/null -w '%{http_code} %{content_type}' "$@"; }

load_guests() { # binding kind
	_i=1
	for _d in $DEFS; do
		[ $_i -le "$NGUESTS" ] || break
		inst_write "$DATA/$_d.json" $_i "$1"
		check "$MODE: mdrctl instance load $_d for guest $_i" mdrctl instance load "$(defn_of $_i)"
		# The role botocore asks for; nova has no IAM, orchestration adds it.
		printf '%s' "$(cat "$CREDS")" | mdrctl put "$(uuid_of $_i)" \
			"/latest/meta-data/iam/security-credentials/$ROLE" - >"$E2E_TMP/put.out" 2>&1 ||
			not_ok "$MODE: mdrctl put IAM credentials for guest $_i" "$(cat "$E2E_TMP/put.out")"
		_i=$((_i + 1))
	done
}

tokens_of() { jq_py "$(defn_of "$1")" 'd.get("imds", {}).get("tokens", "optional")'; }

# cloud-init crawls. An instance with tokens required (today's single field:
# the EC2 tree) still serves the token-less OpenStack crawl, refuses its
# EC2 part (401), and is crawled the way cloud-init does on AWS.
crawl_guests() {
	_i=1
	while [ $_i -le "$NGUESTS" ]; do
		if [ "$(tokens_of $_i)" = required ]; then _kinds="openstack:openstack-ec2-locked ec2-token:ec2-token"
		else _kinds="openstack:openstack ec2:ec2"; fi
		for _kv in $_kinds; do
			_k=${_kv%%:*} _v=${_kv#*:}
			gpy $_i clients.py $_k >"$E2E_TMP/$MODE-g$_i-$_k.json" 2>"$E2E_TMP/$MODE-g$_i-$_k.err"
			"$GUEST_PY" "$E2E_PY/verify.py" $_v "$(defn_of $_i)" "$E2E_TMP/$MODE-g$_i-$_k.json" \
				"$MODE g$_i $_k" >"$E2E_TMP/v.tap" 2>&1
			tap_lines "$E2E_TMP/v.tap"
			diag "$MODE g$_i $_k crawl: $(jq_py "$E2E_TMP/$MODE-g$_i-$_k.json" \
				'"%d requests in %.3f s" % (len(d["requests"]), d["elapsed"])' 2>/dev/null)"
		done
		_i=$((_i + 1))
	done
}

boto_guests() { # guests 1 (tokens optional) and 2 (tokens required)
	for _i in 1 2; do
		[ $_i -le "$NGUESTS" ] || break
		for _k in boto-creds boto-region; do
			gpy $_i clients.py $_k >"$E2E_TMP/$MODE-g$_i-$_k.json" 2>"$E2E_TMP/$MODE-g$_i-$_k.err"
			"$GUEST_PY" "$E2E_PY/verify.py" $_k "$(defn_of $_i)" "$E2E_TMP/$MODE-g$_i-$_k.json" \
				"$MODE g$_i $_k" "$CREDS" "$ROLE" >"$E2E_TMP/v.tap" 2>&1
			tap_lines "$E2E_TMP/v.tap"
		done
	done
}

# amazon-ec2-utils' `ec2-metadata --all` (an IMDSv2 token, then a GET per
# field) and cloud-init's Ec2 datasource as on AWS (token, newest API
# version, identity document), unmodified, compared field by field with
# the definition. All guests in port mode, guests 1 (tokens optional) and 2
# (required) in the others.
ec2_tools_guests() {
	_last=2
	[ "$MODE" = port ] && _last=$NGUESTS
	_i=1
	while [ $_i -le "$_last" ]; do
		eval "_ip=\$IP$_i"
		if command -v ec2-metadata >/dev/null 2>&1; then
			in_guest $_i ec2-metadata --all >"$E2E_TMP/$MODE-g$_i-ec2md.txt" 2>&1
			"$GUEST_PY" "$E2E_PY/verify.py" ec2-metadata "$(defn_of $_i)" \
				"$E2E_TMP/$MODE-g$_i-ec2md.txt" "$MODE g$_i" "$_ip" >"$E2E_TMP/v.tap" 2>&1
			tap_lines "$E2E_TMP/v.tap"
		else
			skip "$MODE g$_i: ec2-metadata --all" "amazon-ec2-utils is not installed"
		fi
		gpy $_i clients.py ec2-ds >"$E2E_TMP/$MODE-g$_i-ec2-ds.json" 2>"$E2E_TMP/$MODE-g$_i-ec2-ds.err"
		"$GUEST_PY" "$E2E_PY/verify.py" ec2-ds "$(defn_of $_i)" "$E2E_TMP/$MODE-g$_i-ec2-ds.json" \
			"$MODE g$_i ec2-ds" "$_ip" >"$E2E_TMP/v.tap" 2>&1
		tap_lines "$E2E_TMP/v.tap"
		_i=$((_i + 1))
	done
}

curl_checks() { # on guest 1 (vm1: tokens optional, user data, two files)
	g=1
	ud_len=$(jq_py "$(defn_of $g)" 'len(__import__("base64").b64decode(d["user_data"]))')
	check_eq "$MODE: curl / lists the EC2 versions" "$(gcurl $g $META/)" "$EC2_VERSIONS"
	check_eq "$MODE: curl /openstack lists the OpenStack versions" "$(gcurl $g $META/openstack)" "$OS_VERSIONS"
	check_eq "$MODE: curl /openstack/latest lists the files in nova's order" \
		"$(gcurl $g $META/openstack/latest/)" \
		"$(printf 'meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\nvendor_data2.json')"
	check_eq "$MODE: curl /openstack/2012-08-10 (no password before 2013-04-04)" \
		"$(gcurl $g $META/openstack/2012-08-10)" "$(printf 'meta_data.json\nuser_data')"
	check_eq "$MODE: curl /latest lists dynamic/, meta-data/ and user-data; /2009-04-04 as nova" \
		"$(gcurl $g $META/latest; echo; gcurl $g $META/2009-04-04)" "$(printf 'dynamic/\nmeta-data/\nuser-data\nmeta-data/\nuser-data')"
	# a NIC bound by MAC also lists mac and network/ (the interfaces tree)
	nics=$(jq_py "$(defn_of $g)" '"mac\\nnetwork/\\n" if "mac" in d.get("binding", {}) else ""')
	check_eq "$MODE: curl /latest/meta-data/ (sorted, dirs end in /)" \
		"$(gcurl $g $META/latest/meta-data/)" \
		"$(printf "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\niam/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\n${nics}placement/\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\nsecurity-groups")"
	check_eq "$MODE: curl public-keys/ lists 0=alice" "$(gcurl $g $META/latest/meta-data/public-keys/)" "0=alice"
	check_eq "$MODE: curl public-keys/0/openssh-key" \
		"$(gcurl $g $META/latest/meta-data/public-keys/0/openssh-key)" \
		"$(jq_py "$(defn_of $g)" 'd["public_keys"]["alice"]')"
	check_eq "$MODE: curl security-groups is newline-joined" \
		"$(gcurl $g $META/latest/meta-data/security-groups)" "$(printf 'default\nweb')"
	check_eq "$MODE: curl a trailing slash changes nothing" \
		"$(gcurl $g $META/latest/meta-data/instance-id/)" "$(gcurl $g $META/latest/meta-data/instance-id)"
	check_eq "$MODE: curl //latest/./meta-data/../meta-data/ami-id is normalised" \
		"$(gcurl $g --path-as-is $META//latest/./meta-data/../meta-data/ami-id)" "ami-00000001"
	check_eq "$MODE: curl /ec2/latest equals /latest" \
		"$(gcurl $g $META/ec2/latest/meta-data/instance-id)" "i-0000000a"
	check_eq "$MODE: content type of meta_data.json" \
		"$(gstat $g $META/openstack/latest/meta_data.json | cut -d';' -f1)" "200 application/json"
	check_eq "$MODE: content type of vendor_data2.json" \
		"$(gstat $g $META/openstack/latest/vendor_data2.json | cut -d';' -f1)" "200 application/json"
	check_eq "$MODE: content type of network_data.json (nova quirk: text)" \
		"$(gstat $g $META/openstack/latest/network_data.json | cut -d';' -f1)" "200 text/plain"
	check_eq "$MODE: content type of an EC2 leaf" \
		"$(gstat $g $META/latest/meta-data/hostname | cut -d';' -f1)" "200 text/plain"
	check_eq "$MODE: content type of user_data" \
		"$(gstat $g $META/openstack/latest/user_data | cut -d';' -f1)" "200 text/plain"
	for p in /openstack/latest/nonexistent /latest/meta-data/nonexistent /openstack/content \
		/openstack/1999-01-01/meta_data.json /2009-04-04/meta-data/iam-nope /openstack/content/0099 \
		/openstack/2012-08-10/password; do
		check_eq "$MODE: curl $p is 404" "$(gstat $g "$META$p" | cut -d' ' -f1)" 404
	done
	check_eq "$MODE: /openstack/content/0000 is the first injected file" \
		"$(gcurl $g $META/openstack/content/0000 | base64 -w0)" \
		"$(jq_py "$(defn_of $g)" 'd["files"][0]["content"]')"
	# HEAD: headers of the GET, no body.
	in_guest $g curl -sS -m 5 -I -o /dev/null -D "$E2E_TMP/head.txt" -w '%{size_download}' \
		$META/openstack/latest/user_data >"$E2E_TMP/head.size" 2>&1
	check_eq "$MODE: HEAD user_data is 200" "$(head -n1 "$E2E_TMP/head.txt" | cut -d' ' -f2)" 200
	check_eq "$MODE: HEAD user_data has the GET's Content-Length" \
		"$(grep -i '^content-length:' "$E2E_TMP/head.txt" | tr -dc 0-9)" "$ud_len"
	check_eq "$MODE: HEAD user_data has no body" "$(cat "$E2E_TMP/head.size")" 0
	# Keep-alive: two requests, one connection.
	check_eq "$MODE: curl reuses one keep-alive connection for two requests" \
		"$(in_guest $g curl -s -m 5 -o /dev/null -o /dev/null -w '%{num_connects}' \
			$META/latest/meta-data/ami-id $META/latest/meta-data/instance-id | tr -d '\n')" "10"
	# password: empty, POST stores, GET returns it, second POST conflicts.
	pw=$META/openstack/2013-04-04/password
	check_eq "$MODE: GET password before it is set: 200, empty" \
		"$(gcurl $g -w '%{http_code} %{size_download}' -o /dev/null $pw)" "200 0"
	check_eq "$MODE: POST password: 200" \
		"$(gcurl $g -o /dev/null -w '%{http_code}' --data-binary 'c2VjcmV0LXBhc3N3b3Jk' $pw)" 200
	check_eq "$MODE: GET password returns what was posted" "$(gcurl $g $META/openstack/latest/password)" \
		"c2VjcmV0LXBhc3N3b3Jk"
	check_eq "$MODE: second POST password: 409" \
		"$(gcurl $g -o /dev/null -w '%{http_code}' --data-binary 'other' $pw)" 409
	check_eq "$MODE: POST of more than 1020 bytes: 400 (guest 3)" \
		"$(gcurl 3 -o /dev/null -w '%{http_code}' --data-binary "$(head -c 1021 /dev/zero | tr '\0' x)" $pw)" 400
	# IPv6 link-local with a zone id.
	check_eq "$MODE: IPv6 fe80::a9fe:a9fe%eth0 serves this guest's meta_data.json" \
		"$(gcurl $g -g 'http://[fe80::a9fe:a9fe%25eth0]/openstack/latest/meta_data.json' |
			"$GUEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["uuid"])' 2>&1)" "$(uuid_of $g)"
	check_eq "$MODE: IPv6 link-local, guest 3 gets its own user data" \
		"$(gcurl 3 -g 'http://[fe80::a9fe:a9fe%25eth0]/latest/user-data' | sha256sum)" \
		"$(jq_py "$(defn_of 3)" 'd["user_data"]' | base64 -d | sha256sum)"
	# Issue 15: Date header, dated EC2 versions, placement, identity document,
	# the OpenStack tree of a tokens-required guest.
	in_guest $g curl -sS -m 5 -o /dev/null -D "$E2E_TMP/date.txt" $META/latest/meta-data/ami-id
	check "$MODE: responses carry an IMF-fixdate Date header" grep -Eq \
		'^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT' \
		"$E2E_TMP/date.txt"
	for v in 2021-03-23 2018-09-24 2016-09-02 2019-10-01; do
		check_eq "$MODE: cloud-init/afterburn probe /$v/meta-data/instance-id" \
			"$(gcurl $g $META/$v/meta-data/instance-id)" "i-0000000a"
	done
	check_eq "$MODE: placement/region (default RegionOne)" \
		"$(gcurl $g $META/latest/meta-data/placement/region)" "RegionOne"
	check_eq "$MODE: identity document: JSON with instanceId, region, privateIp" \
		"$(gcurl $g $META/2019-10-01/dynamic/instance-identity/document | "$GUEST_PY" -c \
			'import json,sys; d=json.load(sys.stdin); print(d["instanceId"], d["region"], d["privateIp"])' 2>&1)" \
		"i-0000000a RegionOne $(jq_py "$(defn_of $g)" 'd["ec2"]["local_ipv4"]')"
	check_eq "$MODE: tokens required (EC2 tree): /openstack without a token is 200" \
		"$(gstat 2 $META/openstack/latest/meta_data.json | cut -d';' -f1)" "200 application/json"
	# IMDSv2 on guest 2 (tokens required).
	check_eq "$MODE: tokens required: GET without a token is 401" \
		"$(gstat 2 $META/latest/meta-data/instance-id | cut -d' ' -f1)" 401
	tok=$(gcurl 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' -D "$E2E_TMP/put.hdr" $META/latest/api/token)
	check "$MODE: token PUT echoes the TTL header" grep -qi '^x-aws-ec2-metadata-token-ttl-seconds: *60' "$E2E_TMP/put.hdr"
	check_eq "$MODE: tokens required: GET with the token is 200 and right" \
		"$(gcurl 2 -H "X-aws-ec2-metadata-token: $tok" $META/latest/meta-data/instance-id)" "i-0000000b"
	check_eq "$MODE: token PUT without TTL is 400" \
		"$(gcurl 2 -o /dev/null -w '%{http_code}' -X PUT $META/latest/api/token)" 400
	check_eq "$MODE: token PUT with X-Forwarded-For is 400" \
		"$(gcurl 2 -o /dev/null -w '%{http_code}' -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
			-H 'x-forwarded-for: 10.0.0.1' $META/latest/api/token)" 400
	check_eq "$MODE: tokens optional: v1 GET works (guest 1)" \
		"$(gcurl 1 $META/latest/meta-data/instance-id)" "i-0000000a"
}

# Guests on the same IPv4 (port mode) each get their own uuid.
same_ip_checks() {
	check_eq "$MODE: guests 1 and 2 share an IPv4 address" "$IP1" "$IP2"
	for i in 1 2; do
		check_eq "$MODE: guest $i (10.99.0.10) gets its own uuid" "$(meta_uuid $i)" "$(uuid_of $i)"
	done
}

# Who answered the handshakes of the crawl: XDP (cookie SYN-ACKs, the
# responder creating connections from the cookies) or, with xdp-synack
# off, the responder alone. The responder flushes its counters each second.
_cookies_ok() {
	mdrctl stats -j | "$GUEST_PY" -c \
		'import json,sys; sys.exit(0 if json.load(sys.stdin)["responder"]["cookies_ok"] > 0 else 1)'
}
_handshake_is() { mdrctl status | grep -q "^handshake: $1"; }
handshake_checks() {
	_sa=$(stat_get synack_sent)
	if [ "$_synack" = on ]; then
		check "$MODE: XDP answered the crawl's SYNs ($_sa SYN-ACKs)" test "$_sa" -gt 0
		_ha=$(stat_get handshake_acks)
		check "$MODE: XDP took the guests' handshake ACKs ($_ha of them)" test "$_ha" -gt 0
		check "$MODE: mdrctl status says the handshake is in XDP" _handshake_is xdp
		wait_for --timeout "$READY_WAIT_S" _cookies_ok
		check "$MODE: the responder created connections from cookies" _cookies_ok
	else
		check_eq "$MODE: no SYN-ACK from XDP with xdp-synack off" "$_sa" 0
		check_eq "$MODE: no handshake ACK taken by XDP with xdp-synack off" \
			"$(stat_get handshake_acks)" 0
		check "$MODE: mdrctl status says the responder answers the handshake" \
			_handshake_is responder
	fi
}

run_mode() {
	MODE=$1
	diag "==== mode $MODE"
	case $MODE in
	port) topo_create --mode port --guests 4 --shared-ip 2 || return 0; binding=port ;;
	bridge) topo_create --mode bridge --guests 4 --dhcp || return 0; binding=port ;;
	bridge-device) topo_create --mode bridge-device --guests 4 || return 0; binding=mac ;;
	port-tap) topo_create --mode port --guests 2 --shared-ip 2 --tap-kind tap || return 0; binding=port ;;
	# the responder answers the handshake itself (mdrd --xdp-synack off)
	port-nosynack) topo_create --mode port --guests 2 || return 0; binding=port ;;
	esac
	_synack=on
	[ "$MODE" = port-nosynack ] && _synack=off
	if [ "$MODE" = bridge ]; then
		# The classic ticket: the guest's host route points at the DHCP
		# port, where nothing serves metadata. Without mdr it fails...
		in_guest 3 ip route replace 169.254.169.254 via "$DHCP_IP" dev eth0
		check_not "$MODE: without mdr, guest 3 (route via the dhcp namespace) gets no metadata" \
			in_guest 3 curl -sf -m $UNSERVED_WAIT_S $META/openstack
	fi
	start_mdrd --xdp-synack $_synack || { topo_teardown; return 0; }
	start_responder || { topo_teardown; return 0; }
	load_guests $binding
	if [ "$MODE" = bridge ]; then
		# ...with mdr the frame is caught on guest 3's port before it
		# reaches that next hop.
		check_eq "$MODE: with mdr, guest 3 (route via the dhcp namespace) is served" \
			"$(meta_uuid 3)" "$(uuid_of 3)"
	fi
	[ "$MODE" = port ] || [ "$MODE" = port-tap ] && same_ip_checks
	crawl_guests
	handshake_checks
	if [ "$MODE" != port-tap ] && [ "$MODE" != port-nosynack ]; then
		boto_guests
		ec2_tools_guests
		curl_checks
	fi
	check "$MODE: mdrd still running" _alive "$MDRD_PID"
	check "$MODE: mdr-responder still running" _alive "$RESP_PID"
	[ "$_T_FAIL" -gt 0 ] && dump_logs
	topo_teardown
}

MODES=${*:-port bridge bridge-device port-tap port-nosynack}
for m in $MODES; do run_mode "$m"; done
e2e_done
