#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_mdrctl: the CLI on the pinned maps of a compute node in namespaces.
# Load / replace / delete, `get` output byte for byte, put / rm, bind /
# unbind, stats / status / config / token-key, every invalid input leaving
# the maps unchanged, the bpftool recipes of maps/README.md run exactly as
# written, and mdrctl working after mdrd stopped.
. "$(dirname "$0")/lib.sh"
e2e_init mdrctl

README=$E2E_ROOT/maps/README.md
U1=6f0d3a52-1c2b-4d4e-8f60-718293a4b5c6
U2=7a1e4b63-2d3c-4e5f-9071-8293a4b5c6d7
# user data and a file, as the guest must get them back
UD='#cloud-config
hostname: e2e-one
'
FILE1='auto eth0
iface eth0 inet dhcp
'

# ---- helpers -------------------------------------------------------------------
b64() { printf '%s' "$1" | base64 -w0; }
# Python expression over the JSON document on stdin, bound to d.
jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
inst_field() { # uuid field (from instance list -j)
	mdrctl instance list -j | jpy "[i['$2'] for i in d if i['uuid']=='$1'][0]"
}
# Every map a change could touch, plus the CLI's view: equal before and
# after an invalid command means nothing changed.
snapshot() {
	for _m in mdr_inst mdr_uuids mdr_limits mdr_ports mdr_macs mdr_config mdr_passwords \
		mdr_chunk0 mdr_chunk1 mdr_chunk2 mdr_chunk3 mdr_chunk4 mdr_chunk5; do
		echo "== $_m"
		bpftool map dump pinned "$PIN/$_m"
	done
	mdrctl instance list -j
}
# must_fail NAME PATTERN CMD...: exits non-zero, stderr names the problem
# (matches PATTERN, grep -E), maps unchanged.
must_fail() {
	_mf_name=$1 _mf_pat=$2; shift 2
	snapshot >"$E2E_TMP/before" 2>&1
	if "$@" >"$E2E_TMP/mf.out" 2>"$E2E_TMP/mf.err"; then
		not_ok "$_mf_name: rejected" "command succeeded: $*" "$(cat "$E2E_TMP/mf.out")"
		return 0
	fi
	if ! grep -Eq "$_mf_pat" "$E2E_TMP/mf.err"; then
		not_ok "$_mf_name: message names the problem" "want /$_mf_pat/" "got: $(cat "$E2E_TMP/mf.err")"
		return 0
	fi
	snapshot >"$E2E_TMP/after" 2>&1
	if cmp -s "$E2E_TMP/before" "$E2E_TMP/after"; then
		ok "$_mf_name: rejected ($(head -n1 "$E2E_TMP/mf.err" | cut -c1-90)), maps unchanged"
	else
		not_ok "$_mf_name: maps unchanged" "$(diff "$E2E_TMP/before" "$E2E_TMP/after" | head -n 20)"
	fi
}
# Entries of a pinned map (bpftool -j prints each key twice with BTF:
# raw and formatted, so count the top-level array's elements).
nentries() { bpftool -j map dump pinned "$PIN/$1" | jpy "len(d)"; }
# The body of a `get` (everything after the blank line ending the head).
get_body() { mdrctl get "$1" "$2" | sed '1,/^\r\{0,1\}$/d'; }
get_status() { mdrctl get "$1" "$2" | head -n1 | tr -d '\r'; }
get_header() { mdrctl get "$1" "$2" | tr -d '\r' | sed -n "s/^$3: //p"; }

# The block of maps/README.md whose first line is "# recipe: NAME".
recipe() {
	awk -v want="# recipe: $1" '
		/^```/ { if (inblk) { inblk = 0; if (hit) exit } else { inblk = 1; first = 1 } next }
		inblk && first { first = 0; hit = ($0 == want) }
		inblk && hit { print }' "$README"
}
# run_recipe NAME VAR=VALUE...: helpers + the recipe, in the hypervisor
# namespace, with PIN and the given variables; output in $E2E_TMP/recipe.out.
run_recipe() {
	_rr=$1; shift
	{
		echo "set -e"
		echo "PIN='$PIN'"
		for _kv in "$@"; do echo "$_kv"; done
		recipe helpers
		recipe "$_rr"
	} >"$E2E_TMP/recipe-$_rr.sh"
	[ "$(recipe "$_rr" | wc -l)" -gt 1 ] || { echo "recipe $_rr not found in $README"; return 1; }
	in_hv sh "$E2E_TMP/recipe-$_rr.sh" >"$E2E_TMP/recipe.out" 2>&1
}

write_defn() { # file uuid name [extra json members]
	cat >"$1" <<EOF
{
  "uuid": "$2",
  "name": "$3",
  "hostname": "$3.novalocal",
  "availability_zone": "nova",
  "launch_index": 0,
  "binding": {"port": "tap1"},
  "public_keys": {"k1": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e e2e@test"},
  "meta": {"role": "e2e"},
  "user_data": "$(b64 "$UD")",
  "files": [{"path": "/etc/network/interfaces", "content": "$(b64 "$FILE1")"}],
  "imds": {"rate_pps": 100, "burst": 10}${4:+,
  $4}
}
EOF
}

# ---- setup ------------------------------------------------------------------------
topo_create --mode port --guests 2 || e2e_done
start_mdrd || { dump_logs; e2e_done; }
D=$E2E_TMP/defs
mkdir -p "$D"

# ---- load, get, replace ----------------------------------------------------------------
write_defn "$D/one.json" "$U1" one
check "instance load creates an instance" mdrctl instance load "$D/one.json"
check_eq "instance list shows it" "$(mdrctl instance list -j | jpy "[i['uuid'] for i in d]")" "['$U1']"
ID1=$(inst_field "$U1" id)
GEN1=$(inst_field "$U1" gen)
check_eq "the definition's port is bound (mdr_ports)" \
	"$(mdrctl instance list -j | jpy "d[0]['bindings']['ports'][0]['ifname']")" "tap1"
check_eq "the definition's rate limit is in mdr_limits" \
	"$(inst_field "$U1" rate_pps)/$(inst_field "$U1" burst)" "100/10"

check_eq "get meta_data.json: status line" "$(get_status "$U1" /openstack/latest/meta_data.json)" "HTTP/1.1 200 OK"
check_eq "get meta_data.json: content type" "$(get_header "$U1" /openstack/latest/meta_data.json Content-Type)" "application/json"
check_eq "get meta_data.json: body is the instance's" \
	"$(get_body "$U1" /openstack/latest/meta_data.json | jpy "(d['uuid'], d['name'], d['hostname'])")" \
	"('$U1', 'one', 'one.novalocal')"
get_body "$U1" /latest/user-data >"$E2E_TMP/ud.got"
printf '%s' "$UD" >"$E2E_TMP/ud.want"
check "get user-data returns the decoded user data byte for byte" cmp "$E2E_TMP/ud.got" "$E2E_TMP/ud.want"
check_eq "get user-data: Content-Length is the body length" \
	"$(get_header "$U1" /latest/user-data Content-Length)" "$(wc -c <"$E2E_TMP/ud.want" | tr -d ' ')"
CP=$(get_body "$U1" /openstack/latest/meta_data.json | jpy "d['files'][0]['content_path']")
get_body "$U1" "/openstack$CP" >"$E2E_TMP/f.got"
printf '%s' "$FILE1" >"$E2E_TMP/f.want"
check "get /openstack$CP returns the injected file" cmp "$E2E_TMP/f.got" "$E2E_TMP/f.want"
check_eq "get public-keys listing" "$(get_body "$U1" /latest/meta-data/public-keys/)" "0=k1"
check_eq "get an unknown path: 404" "$(get_status "$U1" /latest/meta-data/nope)" "HTTP/1.1 404 Not Found"
check_eq "get password before the guest set one: 200, empty" \
	"$(get_status "$U1" /openstack/latest/password)|$(get_body "$U1" /openstack/latest/password)" "HTTP/1.1 200 OK|"

write_defn "$D/one.json" "$U1" uno
check "instance load of the same uuid replaces it" in_hv sh -c "'$BUILD_DIR/mdrctl' --pin-dir '$PIN' instance load '$D/one.json' | grep -q replaced"
check_eq "replace: same id, next generation" "$(inst_field "$U1" id)/$(inst_field "$U1" gen)" "$ID1/$((GEN1 + 1))"
check_eq "replace: the new content is served" \
	"$(get_body "$U1" /openstack/latest/meta_data.json | jpy "d['name']")" "uno"
NCH=0
for c in 0 1 2 3 4 5; do NCH=$((NCH + $(nentries mdr_chunk$c))); done
DOCLEN=$(inst_field "$U1" doc_len)
# doc + user data (one chunk: < 56 bytes... or more) + file: recount from lengths
WANT_CH=$("$GUEST_PY" - "$DOCLEN" "$(printf '%s' "$UD" | wc -c)" "$(printf '%s' "$FILE1" | wc -c)" <<'EOF'
import sys
sizes = [4024, 1976, 952, 440, 184, 56]
def cut(n):
    c = 0
    while n > 0:
        s = next((s for s in sizes if s <= n), sizes[-1])
        n -= min(s, n)
        c += 1
    return c
print(sum(cut(int(a)) for a in sys.argv[1:]))
EOF
)
check_eq "replace: the old generation's chunks are gone" "$NCH" "$WANT_CH"

# ---- put / rm ------------------------------------------------------------------------------
printf 'custom value' >"$E2E_TMP/val"
check "put adds a value" mdrctl put "$U1" /latest/meta-data/e2e-extra "$E2E_TMP/val"
check_eq "get returns the put value" "$(get_body "$U1" /latest/meta-data/e2e-extra)" "custom value"
check "put - reads stdin" in_hv sh -c "printf 'other' | '$BUILD_DIR/mdrctl' --pin-dir '$PIN' put $U1 /latest/meta-data/e2e-extra -" 
check_eq "put from stdin overrides" "$(get_body "$U1" /latest/meta-data/e2e-extra)" "other"
check "rm removes a path" mdrctl rm "$U1" /latest/meta-data/hostname
check_eq "a removed path is 404" "$(get_status "$U1" /latest/meta-data/hostname)" "HTTP/1.1 404 Not Found"
check_not "a removed path leaves its listing" in_hv sh -c "'$BUILD_DIR/mdrctl' --pin-dir '$PIN' get $U1 /latest/meta-data/ | grep -qx hostname"
check_eq "put/rm keep the user data" "$(get_body "$U1" /latest/user-data | head -n1)" "#cloud-config"

# ---- bind / unbind -----------------------------------------------------------------------
write_defn "$D/two.json" "$U2" two
sed -i 's/"port": "tap1"/"port": "tap2"/' "$D/two.json"
check "a second instance on tap2 loads" mdrctl instance load "$D/two.json"
TAP2_IDX=$(in_hv ip -j link show dev tap2 | jpy "d[0]['ifindex']")
check_eq "bind --mac of an instance with a port says it is pinned to that port" \
	"$(mdrctl bind "$U2" --mac 52:54:00:aa:bb:cc --vlan 5)" "bound (pinned to port tap2)"
check_eq "the MAC binding is in mdr_macs, trusted on tap2 only (issue 12 hole 8)" \
	"$(mdrctl instance list -j | jpy "[(m['mac'], m['vlan'], m['ifindex']) for m in [i for i in d if i['uuid']=='$U2'][0]['bindings']['macs']]")" \
	"[('52:54:00:aa:bb:cc', 5, $TAP2_IDX)]"
check "unbind --mac" mdrctl unbind "$U2" --mac 52:54:00:aa:bb:cc --vlan 5
check_eq "the MAC binding is gone" "$(nentries mdr_macs)" 0
must_fail "bind a port bound to another instance" "already bound to instance $U1" \
	mdrctl bind "$U2" --port tap1
check "bind --force takes the port" mdrctl bind "$U2" --port tap1 --force
check "rebind tap1 to its instance" mdrctl bind "$U1" --port tap1 --force

# ---- bind after a crashed put (issue 12 hole 8) ----------------------------------------------
# A put that died after claiming a uuid leaves mdr_uuids naming an id whose
# record is missing or is another uuid's: bind must not trust it.
U8=00000000-0000-4000-8000-000000000008
uuid_key_hex() { "$GUEST_PY" -c 'import sys; print(" ".join("%02x" % b for b in sys.argv[1].encode().ljust(40, b"\0")))' "$1"; }
le32_hex() { "$GUEST_PY" -c 'import sys; print(" ".join("%02x" % b for b in int(sys.argv[1]).to_bytes(4, "little")))' "$1"; }
bpftool map update pinned "$PIN/mdr_uuids" key hex $(uuid_key_hex "$U8") value hex $(le32_hex "$(inst_field "$U1" id)")
must_fail "bind of a uuid whose claim points at another instance's record" "unknown instance" \
	mdrctl bind "$U8" --port tap2
must_fail "bind --mac of that uuid" "unknown instance" mdrctl bind "$U8" --mac 52:54:00:aa:bb:08
bpftool map delete pinned "$PIN/mdr_uuids" key hex $(uuid_key_hex "$U8")
# A MAC of an instance whose port is absent would be trusted on any port.
printf '{"uuid": "%s", "binding": {"port": "nosuch8"}}' "$U8" >"$D/absent-port.json"
check "an instance whose port is absent loads (--allow-missing-port)" \
	mdrctl instance load --allow-missing-port "$D/absent-port.json"
must_fail "bind --mac of an instance whose port is absent (never trusted on any port)" \
	"nosuch8, which is not present" mdrctl bind "$U8" --mac 52:54:00:aa:bb:08
check "delete it" mdrctl instance del "$U8"

# ---- invalid input: clear message, non-zero exit, maps unchanged ---------------------------
printf '{"uuid": "%s", "name": ' "$U1" >"$D/bad-json.json"
must_fail "bad JSON" "bad-json.json: invalid definition" mdrctl instance load "$D/bad-json.json"
printf '{"name": "x"}' >"$D/no-uuid.json"
must_fail "missing uuid" "uuid" mdrctl instance load "$D/no-uuid.json"
printf '{"uuid": "not-a-uuid"}' >"$D/bad-uuid.json"
must_fail "malformed uuid" "uuid" mdrctl instance load "$D/bad-uuid.json"
printf '{"uuid": "%s", "name": 5}' "$U1" >"$D/bad-type.json"
must_fail "wrong field type (name: 5)" "name" mdrctl instance load "$D/bad-type.json"
printf '{"uuid": "%s", "meta": {"a": {"b": 1}}}' "$U1" >"$D/bad-meta.json"
must_fail "wrong field type (meta value object)" "meta" mdrctl instance load "$D/bad-meta.json"
printf '{"uuid": "%s", "user_data": "%s"}' "$U1" "$(head -c 70000 /dev/zero | base64 -w0)" >"$D/big-ud.json"
must_fail "oversized user data (70000 bytes)" "user_data" mdrctl instance load "$D/big-ud.json"
printf '{"uuid": "%s", "user_data": "!!notbase64"}' "$U1" >"$D/bad-b64.json"
must_fail "user data not base64" "user_data" mdrctl instance load "$D/bad-b64.json"
printf '{"uuid": "%s", "binding": {"port": "nosuch0"}}' "$U1" >"$D/no-if.json"
must_fail "unknown interface" "nosuch0" mdrctl instance load "$D/no-if.json"
printf '{"uuid": "%s", "binding": {"port": "tap2"}}' "$U1" >"$D/taken.json"
must_fail "port of another instance" "tap2 is already bound" mdrctl instance load "$D/taken.json"
must_fail "missing file" "nofile.json" mdrctl instance load "$D/nofile.json"
U9=00000000-0000-4000-8000-000000000009
must_fail "instance del of an unknown uuid" "unknown instance $U9" mdrctl instance del "$U9"
must_fail "instance show of an unknown uuid" "unknown instance $U9" mdrctl instance show "$U9"
must_fail "get of an unknown uuid" "unknown instance $U9" mdrctl get "$U9" /latest/meta-data/
must_fail "put to an unknown uuid" "unknown instance $U9" mdrctl put "$U9" /latest/x "$E2E_TMP/val"
must_fail "bind an unknown uuid" "unknown instance" mdrctl bind "$U9" --port tap2
must_fail "bind to an unknown interface" "nosuch0" mdrctl bind "$U1" --port nosuch0
must_fail "bind with a bad MAC" "not a MAC" mdrctl bind "$U1" --mac 52:54:zz:00:00:01
must_fail "config with a bad policy" "policy-unknown" mdrctl config --policy-unknown maybe
must_fail "config with a bad endpoint" "endpoint" mdrctl config --endpoint 999.1.1.1:80
must_fail "config with rate 0" "rate" mdrctl config --rate 0
must_fail "put of the password path" "password" mdrctl put "$U1" /openstack/latest/password "$E2E_TMP/val"

# ---- show, stats, status, config, token-key -------------------------------------------------
check_eq "instance show -j: definition round-trips the user data" \
	"$(mdrctl instance show "$U1" -j | jpy "d['definition']['user_data']")" "$(b64 "$UD")"
check_eq "stats -j: every XDP and responder counter" \
	"$(mdrctl stats -j | jpy "(len(d['xdp']), len(d['responder']))")" \
	"($(abi_u64_count mdr_xdp_counters), $(abi_u64_count mdr_resp_counters))"
check_eq "stats -j UUID: that instance" "$(mdrctl stats -j "$U1" | jpy "d['id']")" "$ID1"
check_eq "status -j: the attached taps" \
	"$(mdrctl status -j | jpy "sorted((i['name'], i['mode']) for i in d['interfaces'])")" \
	"[('tap1', 'generic'), ('tap2', 'generic')]"
check_eq "status -j: rx queues from netlink" \
	"$(mdrctl status -j | jpy "all(i['rx_queues'] >= 1 for i in d['interfaces'])")" "True"
check "config sets policies, rate, endpoints" mdrctl config --policy-unknown drop --policy-no-xsk drop \
	--rate 500 --burst 50 --endpoint 169.254.169.254:80 --endpoint '[fd00:ec2::254]:80'
check_eq "config -j shows them" \
	"$(mdrctl config -j | jpy "(d['policy_unknown'], d['policy_no_xsk'], d['default_rate_pps'], d['default_burst'], d['endpoints'])")" \
	"('drop', 'drop', 500, 50, ['169.254.169.254:80', '[fd00:ec2::254]:80'])"
check_eq "bpftool sees the policy bytes" \
	"$(bpftool map lookup pinned "$PIN/mdr_config" key hex 00 00 00 00 | grep -c '_policy": 1')" 2
check "config back to pass" mdrctl config --policy-unknown pass --policy-no-xsk pass
K0=$(mdrctl status -j | jpy "d['token_key']['current_id']")
check "token-key rotate" mdrctl token-key rotate
check_eq "token-key rotate: new current id, old one kept as previous" \
	"$(mdrctl status -j | jpy "(d['token_key']['current_id'], d['token_key']['previous_id'])")" "($((K0 + 1)), $K0)"

# ---- bpftool recipes of maps/README.md, exactly as written -----------------------------------
if run_recipe uuid-to-id "UUID=$U1" && grep -qx "instance $U1 has id $ID1" "$E2E_TMP/recipe.out"; then
	ok "recipe uuid-to-id finds the instance id"
else not_ok "recipe uuid-to-id finds the instance id" "$(cat "$E2E_TMP/recipe.out")"; fi
check "unbind tap2 from $U2 (for the port recipe)" mdrctl unbind "$U2" --port tap2
if run_recipe bind-port "ID=$ID1" PORT=tap2 &&
	[ "$(mdrctl instance list -j | jpy "sorted(p['ifname'] for p in [i for i in d if i['uuid']=='$U1'][0]['bindings']['ports'])")" = "['tap1', 'tap2']" ]; then
	ok "recipe bind-port binds tap2 to the instance"
else not_ok "recipe bind-port binds tap2 to the instance" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe bind-port-mac "ID=$ID1" PORT=tap2 &&
	[ "$(mdrctl instance list -j | jpy "[p.get('mac') for p in [i for i in d if i['uuid']=='$U1'][0]['bindings']['ports'] if p['ifname']=='tap2']")" = "['52:54:00:12:34:56']" ]; then
	ok "recipe bind-port-mac sets the expected MAC and the check flag"
else not_ok "recipe bind-port-mac sets the expected MAC and the check flag" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe bind-mac "ID=$ID1" MAC=52:54:00:00:01:99 VLAN=7 &&
	[ "$(mdrctl instance list -j | jpy "[(m['mac'], m['vlan'], m['ifindex']) for m in [i for i in d if i['uuid']=='$U1'][0]['bindings']['macs']]")" = "[('52:54:00:00:01:99', 7, 0)]" ]; then
	ok "recipe bind-mac binds MAC and VLAN to the instance"
else not_ok "recipe bind-mac binds MAC and VLAN to the instance" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe rate-limit "ID=$ID1" RATE=42 BURST=7 &&
	[ "$(inst_field "$U1" rate_pps)/$(inst_field "$U1" burst)" = "42/7" ]; then
	ok "recipe rate-limit changes the instance's rate and burst"
else not_ok "recipe rate-limit changes the instance's rate and burst" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe read-counters "ID=$ID1" && grep -q '"rate_limited"' "$E2E_TMP/recipe.out" &&
	grep -q '"cpu"' "$E2E_TMP/recipe.out"; then
	ok "recipe read-counters dumps counters with BTF field names"
else not_ok "recipe read-counters dumps counters with BTF field names" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe fallback-policy POLICY=01 &&
	[ "$(mdrctl config -j | jpy "(d['policy_unknown'], d['policy_no_xsk'])")" = "('drop', 'drop')" ]; then
	ok "recipe fallback-policy sets drop"
else not_ok "recipe fallback-policy sets drop" "$(cat "$E2E_TMP/recipe.out")"; fi
if run_recipe fallback-policy POLICY=00 &&
	[ "$(mdrctl config -j | jpy "(d['policy_unknown'], d['policy_no_xsk'], d['default_rate_pps'])")" = "('pass', 'pass', 500)" ]; then
	ok "recipe fallback-policy sets pass and keeps the rest of the config"
else not_ok "recipe fallback-policy sets pass and keeps the rest of the config" "$(cat "$E2E_TMP/recipe.out")"; fi

check "unbind the recipes' port and MAC" in_hv sh -c "'$BUILD_DIR/mdrctl' --pin-dir '$PIN' unbind $U1 --port tap2 && '$BUILD_DIR/mdrctl' --pin-dir '$PIN' unbind $U1 --mac 52:54:00:00:01:99 --vlan 7"
# ---- delete -------------------------------------------------------------------------------------
check "instance del" mdrctl instance del "$U2"
check_eq "instance del: its bindings are gone" "$(bpftool map dump pinned "$PIN/mdr_ports" | grep -c '"instance_id": '"$ID1")/$(nentries mdr_ports)" "1/1"
check_eq "instance del: only the other instance is left" "$(mdrctl instance list -j | jpy "[i['uuid'] for i in d]")" "['$U1']"

# ---- without mdrd ----------------------------------------------------------------------------
stop_pid "$MDRD_PID"; MDRD_PID=""
check_eq "after mdrd stopped: no interface recorded" "$(mdrctl status -j | jpy "len(d['interfaces'])")" 0
check "after mdrd stopped: mdrctl still loads" mdrctl instance load --allow-missing-port "$D/two.json"
check_eq "after mdrd stopped: content still served from the maps" \
	"$(get_body "$U1" /openstack/latest/meta_data.json | jpy "d['name']")" "uno"
check "instance del of the last instances" in_hv sh -c "'$BUILD_DIR/mdrctl' --pin-dir '$PIN' instance del $U1 && '$BUILD_DIR/mdrctl' --pin-dir '$PIN' instance del $U2"
_left=0
for m in mdr_inst mdr_uuids mdr_limits mdr_ports mdr_macs mdr_chunk0 mdr_chunk1 mdr_chunk2 mdr_chunk3 mdr_chunk4 mdr_chunk5; do
	_left=$((_left + $(nentries $m)))
done
check_eq "instance del leaves no record, uuid, limit, binding or chunk" "$_left" 0
must_fail "mdrctl with a wrong --pin-dir names the missing pin" "$E2E_TMP/nopin/mdr_config" \
	in_hv "$BUILD_DIR/mdrctl" --pin-dir "$E2E_TMP/nopin" instance list

e2e_done
