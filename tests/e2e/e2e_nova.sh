#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_nova.sh - differential test against nova itself: each sample instance
# is rendered by Debian python3-nova's MetadataRequestHandler and
# InstanceMetadata (nova 26.2.2, offline: the database and neutron lookups
# mocked) and served by mdrd + mdr-responder to a guest namespace; every
# path of both trees (a walk of listings and leaves, the same paths with
# and without a trailing slash, odd paths, error probes under several
# Accept headers) is compared: status, Content-Type, body bytes
# (tests/e2e/nova_diff.py). Each remaining difference has its reason there.
# Also: `mdrctl instance show -j` loads back and serves the same bytes.
# Samples: tests/data/configdrive.json (devices, dedicated_cpus, dynamic
# vendor data), tests/data/instances/vm4-nokeys.json (defaults),
# tests/data/nova/odd.json (derived hostname from odd characters, DEL and
# non-ASCII meta, upper-case MAC and PCI addresses, duplicate CPUs, kernel
# and ramdisk ids, no local_ipv4), tests/data/nova/server-fallback.json
# (a name with no Latin-1 letter: Server-<uuid>; network_data).
. "$(dirname "$0")/lib.sh"
e2e_init nova

if ! "$GUEST_PY" -c 'import nova.api.metadata.handler' 2>/dev/null; then
	skip_all "python3-nova is not installed (tools/install-deps.sh)"
fi
SAMPLES="$E2E_ROOT/tests/data/configdrive.json $E2E_ROOT/tests/data/instances/vm4-nokeys.json
$E2E_ROOT/tests/data/nova/odd.json $E2E_ROOT/tests/data/nova/server-fallback.json"
N=4
now_ms() { echo $(($(date +%s%N) / 1000000)); }

topo_create --mode port --guests $N || e2e_done
start_mdrd || e2e_done
start_responder || e2e_done

args=""
i=1
for s in $SAMPLES; do
	inst_write "$s" $i port
	check "mdrctl instance load $(basename "$s")" mdrctl instance load "$DEF_DIR/g$i.json"
	eval "ip=\$IP$i"
	args="$args $TOPO-g$i $DEF_DIR/g$i.json $ip $(basename "$s" .json)"
	i=$((i + 1))
done

T0=$(now_ms)
# shellcheck disable=SC2086 # word splitting of the argument groups is meant
"$GUEST_PY" "$E2E_PY/nova_diff.py" run $args >"$E2E_TMP/nova.out" 2>"$E2E_TMP/nova.err" ||
	not_ok "nova_diff.py ran" "$(tail -n 5 "$E2E_TMP/nova.err")"
tap_lines "$E2E_TMP/nova.out"
set -- $(awk '/^summary /{s+=$2; m+=$3; k+=$4} END{print s+0, m+0, k+0}' "$E2E_TMP/nova.out")
diag "nova differential: $1 of $2 paths byte-identical, $3 explained ($(($(now_ms) - T0)) ms)"
check "the comparison covered paths" test "$2" -gt 0

# `instance show -j` output loads back and serves the same bytes.
U=$("$GUEST_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DEF_DIR/g3.json")
PATHS="/openstack/latest/vendor_data.json /openstack/latest/meta_data.json /latest/meta-data/hostname"
k=0
for p in $PATHS; do
	k=$((k + 1))
	in_guest 3 curl -s -m 5 "$META$p" | sed 's/"random_seed": "[^"]*"//' >"$E2E_TMP/before$k"
done
mdrctl instance show "$U" -j >"$E2E_TMP/show.json" 2>&1
"$GUEST_PY" -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["definition"], sys.stdout, ensure_ascii=False)' \
	"$E2E_TMP/show.json" >"$E2E_TMP/def.json"
check "mdrctl instance load of instance show -j's definition" mdrctl instance load "$E2E_TMP/def.json"
k=0
for p in $PATHS; do
	k=$((k + 1))
	in_guest 3 curl -s -m 5 "$META$p" | sed 's/"random_seed": "[^"]*"//' >"$E2E_TMP/after$k"
	check "show -j loaded back: $p byte-identical" cmp "$E2E_TMP/before$k" "$E2E_TMP/after$k"
done
[ "$_T_FAIL" -gt 0 ] && dump_logs
e2e_done
