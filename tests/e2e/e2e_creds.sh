#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_creds.sh - EC2's categories that orchestration sets at run time, with
# real clients in guest namespaces (issue 15):
#   - IAM credentials: botocore's InstanceMetadataProvider (tokens required)
#     gets them and signs with them; `mdrctl credentials set` refreshes them;
#     once their Expiration passes unrefreshed, the role is 404 and botocore
#     finds none; a refresh brings them back;
#   - identity document signatures: no node key -> 404; `mdrctl node-key
#     install`, then `instance load` (mdrctl) and a file mdrd loads are
#     signed; `openssl smime -verify` / `openssl dgst -verify` check pkcs7,
#     rsa2048 and signature against the node certificate and the served
#     document (byte-identical: a changed byte fails); a key readable by
#     others is refused, nothing changes;
#   - region: botocore's InstanceMetadataRegionFetcher, placement/region and
#     the identity document agree for an AWS-shaped zone;
#   - tags (opt-in), spot/instance-action, events and instance-life-cycle set
#     with `mdrctl set` while the guest runs;
#   - `mdrctl password clear` (nova's os-server-password DELETE) and
#     cloudbase-init's POST of a new password afterwards.
# Usage: sh tests/e2e/e2e_creds.sh
. "$(dirname "$0")/lib.sh"
e2e_init creds

DATA=$E2E_ROOT/tests/data/instances
ROLE=mdr-e2e-role
KEYDIR=$E2E_TMP/nodekey
# Seconds of validity of the short-lived credentials: enough for the
# fetches before it, short enough to see them lapse.
SHORT_TTL_S=6
# Seconds to wait for that lapse (poll, not sleep).
LAPSE_WAIT_S=30

command -v openssl >/dev/null || skip_all "openssl not installed"
"$GUEST_PY" -c 'import botocore' 2>/dev/null || skip_all "python3-botocore not installed"

topo_create --mode port --guests 2 || e2e_done
start_mdrd --node-key-dir "$KEYDIR" || e2e_done
start_responder || e2e_done

utc_in() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
creds_file() { # FILE KEYID EXPIRATION
	printf '{"AccessKeyId": "%s", "SecretAccessKey": "c2VjcmV0LSVz", "Token": "IQoJ%s==", "Expiration": "%s"}' \
		"$2" "$2" "$3" >"$1"
}
# curl from guest N with an IMDSv2 token; prints the body
tcurl() {
	_n=$1; shift
	_t=$(in_guest "$_n" curl -s -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $META/latest/api/token)
	in_guest "$_n" curl -sS -m 5 -H "X-aws-ec2-metadata-token: $_t" "$@"
}
tstat() { tcurl "$1" -o /dev/null -w '%{http_code}' "$2"; }
jget() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- guest 1: tokens required, IAM role ------------------------------------
creds_file "$E2E_TMP/a.json" ASIAMDRFIRST "$(utc_in 3600)"
inst_write "$DATA/vm1.json" 1 port imds.tokens='"required"' \
	iam="{\"instance_profile_arn\": \"arn:aws:iam::123456789012:instance-profile/web\", \"instance_profile_id\": \"AIPAMDRE2E\", \"credentials\": {\"$ROLE\": $(cat "$E2E_TMP/a.json")}}"
check "mdrctl instance load (tokens required, an IAM role)" mdrctl instance load "$DEF_DIR/g1.json"
U1=$("$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DEF_DIR/g1.json")

check_eq "iam/security-credentials/ lists the role" \
	"$(tcurl 1 $META/latest/meta-data/iam/security-credentials/)" "$ROLE"
check_eq "without a token the role is 401 (tokens required)" \
	"$(in_guest 1 curl -s -m 5 -o /dev/null -w '%{http_code}' $META/latest/meta-data/iam/security-credentials/$ROLE)" 401
gpy 1 boto_aws.py creds >"$E2E_TMP/b1.json" 2>"$E2E_TMP/b1.err"
check_eq "botocore InstanceMetadataProvider gets the definition's credentials" \
	"$(jget '" ".join([d.get("method",""), d.get("access_key",""), d.get("secret_key",""), d.get("token","")])' <"$E2E_TMP/b1.json" 2>&1)" \
	"iam-role ASIAMDRFIRST c2VjcmV0LSVz IQoJASIAMDRFIRST=="
check "botocore signs a request with them (SigV4, session token)" "$GUEST_PY" -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["signed"].startswith("AWS4-HMAC-SHA256 Credential=ASIAMDRFIRST/"), d
assert d["security_token_header"] == "IQoJASIAMDRFIRST==", d' "$E2E_TMP/b1.json"
check_eq "iam/info names the instance profile" \
	"$(tcurl 1 $META/latest/meta-data/iam/info | jget 'd["Code"], d["InstanceProfileArn"], d["InstanceProfileId"]')" \
	"Success arn:aws:iam::123456789012:instance-profile/web AIPAMDRE2E"

# refresh with short-lived credentials (no LastUpdated: mdrctl stamps it)
EXP=$(utc_in $SHORT_TTL_S)
creds_file "$E2E_TMP/b.json" ASIAMDRSECOND "$EXP"
check "mdrctl credentials set refreshes the role" mdrctl credentials set "$U1" "$ROLE" --file - <"$E2E_TMP/b.json"
gpy 1 boto_aws.py creds >"$E2E_TMP/b2.json" 2>"$E2E_TMP/b2.err"
check_eq "botocore gets the refreshed credentials" \
	"$(jget 'd.get("access_key")' <"$E2E_TMP/b2.json" 2>&1)" ASIAMDRSECOND
check_eq "the served Expiration is the refreshed one, LastUpdated stamped" \
	"$(tcurl 1 $META/latest/meta-data/iam/security-credentials/$ROLE | jget 'd["Expiration"], len(d["LastUpdated"])')" \
	"$EXP 20"
creds_file "$E2E_TMP/old.json" ASIAMDROLD "2020-01-01T00:00:00Z"
check_eq "mdrctl credentials set refuses credentials already expired" \
	"$(mdrctl credentials set "$U1" "$ROLE" --file - <"$E2E_TMP/old.json" 2>&1; echo "exit $?")" \
	"$(printf 'mdrctl: credentials set: -: Expiration 2020-01-01T00:00:00Z has passed\nexit 1')"
printf '{"AccessKeyId": "A", "Token": "T", "Expiration": "%s"}' "$(utc_in 3600)" >"$E2E_TMP/nosecret.json"
check_eq "mdrctl credentials set refuses a file without SecretAccessKey" \
	"$(mdrctl credentials set "$U1" "$ROLE" --file - <"$E2E_TMP/nosecret.json" 2>&1; echo "exit $?")" \
	"$(printf 'mdrctl: credentials of role %s set: iam.credentials.%s.SecretAccessKey: missing (required)\nexit 1' "$ROLE" "$ROLE")"
check_eq "the role still serves the refreshed credentials" \
	"$(tcurl 1 $META/latest/meta-data/iam/security-credentials/$ROLE | jget 'd["AccessKeyId"]')" ASIAMDRSECOND
# nothing refreshes them: at Expiration the role disappears
role_gone() { [ "$(tstat 1 $META/latest/meta-data/iam/security-credentials/$ROLE)" = 404 ]; }
check "unrefreshed, the role answers 404 once its Expiration has passed" \
	wait_for --timeout $LAPSE_WAIT_S role_gone
check "...and not a second before it" [ "$(date -u +%s)" -ge "$(date -u -d "$EXP" +%s)" ]
check_eq "security-credentials/ is 404 too (no valid role)" \
	"$(tstat 1 $META/latest/meta-data/iam/security-credentials/)" 404
check_eq "iam/ still lists info" "$(tcurl 1 $META/latest/meta-data/iam/)" info
gpy 1 boto_aws.py creds >"$E2E_TMP/b3.json" 2>"$E2E_TMP/b3.err"
check_eq "botocore InstanceMetadataProvider finds no credentials after expiry" \
	"$(cat "$E2E_TMP/b3.json")" '{"none": true}'
creds_file "$E2E_TMP/c.json" ASIAMDRTHIRD "$(utc_in 3600)"
check "a late refresh (mdrctl credentials set)" mdrctl credentials set "$U1" "$ROLE" --file - <"$E2E_TMP/c.json"
gpy 1 boto_aws.py creds >"$E2E_TMP/b4.json" 2>"$E2E_TMP/b4.err"
check_eq "botocore gets credentials again" "$(jget 'd.get("access_key")' <"$E2E_TMP/b4.json" 2>&1)" ASIAMDRTHIRD

# ---- guest 2: signatures, region, runtime categories, password --------------
inst_write "$DATA/vm4-nokeys.json" 2 port availability_zone='"eu-west-1b"' ec2.local_ipv4="\"$IP2\""
check "mdrctl instance load without a node key" mdrctl instance load "$DEF_DIR/g2.json"
U2=$("$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DEF_DIR/g2.json")
for p in signature pkcs7 rsa2048; do
	check_eq "no node key: dynamic/instance-identity/$p is 404" \
		"$(in_guest 2 curl -s -m 5 -o /dev/null -w '%{http_code}' $META/latest/dynamic/instance-identity/$p)" 404
done
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_TMP/k.pem" -out "$E2E_TMP/c.pem" \
	-subj /CN=mdr-e2e-node -days 2 >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_TMP/k2.pem" -out "$E2E_TMP/c2.pem" \
	-subj /CN=other -days 2 >/dev/null 2>&1
check_not "node-key install refuses a certificate of another key" \
	mdrctl --node-key-dir "$KEYDIR" node-key install "$E2E_TMP/k.pem" "$E2E_TMP/c2.pem"
check "node-key install KEY CERT" mdrctl --node-key-dir "$KEYDIR" node-key install "$E2E_TMP/k.pem" "$E2E_TMP/c.pem"
check_eq "the installed key is 0600" "$(stat -c %a "$KEYDIR/node-key.pem")" 600
check "mdrctl instance load signs the identity document" \
	mdrctl --node-key-dir "$KEYDIR" instance load "$DEF_DIR/g2.json"
gc2() { in_guest 2 curl -sS -m 5 "$@"; }
gc2 -o "$E2E_TMP/doc" $META/latest/dynamic/instance-identity/document
for p in pkcs7 rsa2048; do
	{ echo '-----BEGIN PKCS7-----'; gc2 $META/latest/dynamic/instance-identity/$p; echo
	  echo '-----END PKCS7-----'; } >"$E2E_TMP/$p.pem"
	check "openssl smime -verify: $p against the node certificate and the served document" \
		openssl smime -verify -in "$E2E_TMP/$p.pem" -inform PEM -content "$E2E_TMP/doc" \
		-certfile "$E2E_TMP/c.pem" -noverify -out /dev/null
done
gc2 $META/latest/dynamic/instance-identity/signature | base64 -d >"$E2E_TMP/sig.bin"
openssl x509 -pubkey -noout -in "$E2E_TMP/c.pem" >"$E2E_TMP/pub.pem"
check "openssl dgst -sha256 -verify: signature of the served document" \
	openssl dgst -sha256 -verify "$E2E_TMP/pub.pem" -signature "$E2E_TMP/sig.bin" "$E2E_TMP/doc"
mdrctl --node-key-dir "$KEYDIR" instance load "$DEF_DIR/g2.json" >/dev/null
check_eq "loading it again signs to the same bytes (deterministic: no signing time)" \
	"$(gc2 $META/latest/dynamic/instance-identity/pkcs7)" "$(sed '1d;$d' "$E2E_TMP/pkcs7.pem")"
sed 's/eu-west-1b/eu-west-1c/' "$E2E_TMP/doc" >"$E2E_TMP/doc.bad"
check_not "a document with one byte changed does not verify" \
	openssl smime -verify -in "$E2E_TMP/pkcs7.pem" -inform PEM -content "$E2E_TMP/doc.bad" \
	-certfile "$E2E_TMP/c.pem" -noverify -out /dev/null
check_not "nor against another certificate" \
	openssl smime -verify -in "$E2E_TMP/pkcs7.pem" -inform PEM -content "$E2E_TMP/doc" \
	-certfile "$E2E_TMP/c2.pem" -noverify -out /dev/null
check_eq "the signed document: region, zone, privateIp" \
	"$(jget 'd["region"], d["availabilityZone"], d["privateIp"]' <"$E2E_TMP/doc")" "eu-west-1 eu-west-1b $IP2"
gpy 2 boto_aws.py region >"$E2E_TMP/r2.json" 2>"$E2E_TMP/r2.err"
check_eq "botocore InstanceMetadataRegionFetcher, placement/region and the document agree" \
	"$(jget 'd.get("region")' <"$E2E_TMP/r2.json" 2>&1) $(gc2 $META/latest/meta-data/placement/region)" \
	"eu-west-1 eu-west-1"
chmod 644 "$KEYDIR/node-key.pem"
gen=$(mdrctl instance list -j | jget '[i["gen"] for i in d if i["uuid"] == "'"$U2"'"][0]' 2>/dev/null)
check_not "a node key readable by others is refused" \
	mdrctl --node-key-dir "$KEYDIR" instance load "$DEF_DIR/g2.json"
check_eq "...and the instance is unchanged" \
	"$(mdrctl instance list -j | jget '[i["gen"] for i in d if i["uuid"] == "'"$U2"'"][0]' 2>/dev/null)" "$gen"
chmod 600 "$KEYDIR/node-key.pem"
# mdrd signs what it loads from its directory too
inst_write "$DATA/vm3.json" 2 none
cp "$DEF_DIR/g2.json" "$INST_DIR/vm3.json"
U3=$("$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DEF_DIR/g2.json")
signed3() { mdrctl get "$U3" /latest/dynamic/instance-identity/pkcs7 2>/dev/null | head -n1 | grep -q ' 200 '; }
check "mdrd signs a definition it loads (--node-key-dir)" wait_for --timeout 10 signed3
mdrctl get "$U3" /latest/dynamic/instance-identity/document | sed '1,/^\r$/d' >"$E2E_TMP/doc3"
{ echo '-----BEGIN PKCS7-----'; mdrctl get "$U3" /latest/dynamic/instance-identity/rsa2048 | sed '1,/^\r$/d'; echo
  echo '-----END PKCS7-----'; } >"$E2E_TMP/rsa3.pem"
check "openssl smime -verify: mdrd's signature" openssl smime -verify -in "$E2E_TMP/rsa3.pem" \
	-inform PEM -content "$E2E_TMP/doc3" -certfile "$E2E_TMP/c.pem" -noverify -out /dev/null

# runtime categories on guest 2
check_eq "tags are off until the instance opts in" \
	"$(gc2 -o /dev/null -w '%{http_code}' $META/latest/meta-data/tags/instance)" 404
check "mdrctl set tags" mdrctl set "$U2" tags '{"Name": "web-1", "team": "infra"}'
check "mdrctl set instance_metadata_tags enabled" mdrctl set "$U2" instance_metadata_tags '"enabled"'
check_eq "tags/instance lists the keys, tags/instance/Name is the value" \
	"$(gc2 $META/latest/meta-data/tags/instance; echo; gc2 $META/latest/meta-data/tags/instance/Name)" \
	"$(printf 'Name\nteam\nweb-1')"
check_not "mdrctl set rejects a tag key with '/'" mdrctl set "$U2" tags '{"a/b": "x"}'
check_eq "spot/instance-action is 404 until set" \
	"$(gc2 -o /dev/null -w '%{http_code}' $META/latest/meta-data/spot/instance-action)" 404
check "mdrctl set spot (a termination notice)" mdrctl set "$U2" spot '{"action": "terminate", "time": "2026-12-07T08:22:00Z"}'
check_eq "spot/instance-action as EC2 prints it" "$(gc2 $META/latest/meta-data/spot/instance-action)" \
	'{"action": "terminate", "time": "2026-12-07T08:22:00Z"}'
check "mdrctl set instance_life_cycle spot" mdrctl set "$U2" instance_life_cycle '"spot"'
check_eq "instance-life-cycle" "$(gc2 $META/latest/meta-data/instance-life-cycle)" spot
check "mdrctl set events" mdrctl set "$U2" events '[{"Code": "system-reboot", "EventId": "instance-event-1", "NotBefore": "21 Jan 2027 09:00:43 GMT", "State": "active"}]'
check_eq "events/maintenance/scheduled is the event (JSON)" \
	"$(gc2 $META/latest/meta-data/events/maintenance/scheduled | jget 'd[0]["Code"], d[0]["EventId"]')" \
	"system-reboot instance-event-1"
check "mdrctl set events null removes them" mdrctl set "$U2" events null
check_eq "events/maintenance/scheduled is [] again" \
	"$(gc2 $META/latest/meta-data/events/maintenance/scheduled)" "[]"
check_eq "the signature survives the runtime edits (the document did not change)" \
	"$(gc2 $META/latest/dynamic/instance-identity/document | cmp - "$E2E_TMP/doc" && echo same)" same

# password: cloudbase-init POSTs once, 409 means already set
pw=$META/openstack/latest/password
check_eq "cloudbase-init: POST the password" "$(gc2 -o /dev/null -w '%{http_code}' --data-binary 'Zmlyc3Q=' $pw)" 200
check_eq "a second POST is 409" "$(gc2 -o /dev/null -w '%{http_code}' --data-binary 'c2Vjb25k' $pw)" 409
check "mdrctl password clear (nova's os-server-password DELETE)" mdrctl password clear "$U2"
check_eq "after clear: GET is 200 and empty" "$(gc2 -w '%{http_code} %{size_download}' -o /dev/null $pw)" "200 0"
check_eq "after clear: cloudbase-init's POST sets a new password" \
	"$(gc2 -o /dev/null -w '%{http_code}' --data-binary 'c2Vjb25k' $pw)" 200
check_eq "GET returns the new one" "$(gc2 $pw)" c2Vjb25k
check_not "password clear of an unknown instance fails" mdrctl password clear 00000000-0000-0000-0000-000000000000

check "mdrd still running" _alive "$MDRD_PID"
check "mdr-responder still running" _alive "$RESP_PID"
[ "$_T_FAIL" -gt 0 ] && dump_logs
topo_teardown
e2e_done
