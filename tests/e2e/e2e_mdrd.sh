#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_mdrd: the loader daemon in a hypervisor namespace (started with
# nsenter --net, pins on a private bpffs outside /sys). Attachment and
# netlink facts, the config file, the instances directory followed with
# inotify (create / change / invalid / remove within a second), interface
# hot-plug and removal within a second, a burst of 64 new interfaces all
# attached (timings as TAP comments), deferred port bindings, generic
# mode on a bridge, the metadata MAC as the bridge's local FDB entry (added
# on attach, following meta-mac changes, removed on exit), SIGHUP, restart
# with data intact, --xdp-mode generic (kernel view, a guest served),
# --purge-on-exit; a FIFO or symbolic link named *.json neither hangs a
# SIGHUP nor is followed; a rate-limit bucket left by a deleted instance
# (planted with bpftool) is swept on SIGHUP (issue 12 hole 6).
. "$(dirname "$0")/lib.sh"
e2e_init mdrd

U1=11111111-2222-4333-8444-555555555501
U2=11111111-2222-4333-8444-555555555502
U9=11111111-2222-4333-8444-555555555509
# Events must take effect within this many seconds (the contract).
EVENT_S=1

jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
defn() { # uuid name port [extra json members]
	printf '{"uuid": "%s", "name": "%s", "hostname": "%s", "binding": {"port": "%s"},
 "user_data": "%s", "meta": {"k": "v"}%s}\n' "$1" "$2" "$2" "$3" \
		"$(printf '#cloud-config\nhostname: %s\n' "$2" | base64 -w0)" "${4:+, $4}"
}
# Atomic write into the instances directory (temporary dot-name, rename).
put_file() { # name content
	printf '%s' "$2" >"$INST_DIR/.$1.tmp" && mv "$INST_DIR/.$1.tmp" "$INST_DIR/$1"
}
has_instance() { [ "$(mdrctl instance list -j | jpy "'$1' in [i['uuid'] for i in d]")" = True ]; }
no_instance() { [ "$(mdrctl instance list -j | jpy "'$1' in [i['uuid'] for i in d]")" = False ]; }
gen_of() { mdrctl instance list -j | jpy "[i['gen'] for i in d if i['uuid']=='$1'][0]"; }
gen_is_not() { g=$(gen_of "$1") && [ "$g" != "$2" ]; }
port_bound() { # uuid ifname
	[ "$(mdrctl instance list -j | jpy "'$2' in [p['ifname'] for i in d if i['uuid']=='$1' for p in i['bindings']['ports']]")" = True ]
}
port_unbound() { ! port_bound "$@"; }
iface_mode() { mdrctl status -j | jpy "([i['mode'] for i in d['interfaces'] if i['name']=='$1'] or ['none'])[0]"; }
attached() { [ "$(iface_mode "$1")" = "$2" ]; }
detached() { [ "$(iface_mode "$1")" = none ]; }
log_has() { grep -q "$1" "$E2E_TMP/mdrd-$TOPO.log"; }
snapshot() {
	for _m in mdr_inst mdr_uuids mdr_limits mdr_ports mdr_macs mdr_chunk0 mdr_chunk1 \
		mdr_chunk2 mdr_chunk3 mdr_chunk4 mdr_chunk5; do
		echo "== $_m"
		bpftool map dump pinned "$PIN/$_m"
	done
}
body() { mdrctl get "$1" "$2" | sed '1,/^\r\{0,1\}$/d'; }
# within NAME CMD...: CMD becomes true within EVENT_S seconds.
# The metadata MAC must be a permanent (local) FDB entry of a bridge mdrd is
# attached to, or the bridge floods frames to it instead of passing them up
# to its own XDP program.
META_MAC=02:a9:fe:a9:fe:fe
META_MAC2=02:00:5e:a9:fe:01
META_MAC3=02:00:5e:a9:fe:02
fdb_has() { # bridge mac
	[ "$(in_hv bridge -j fdb show dev "$1" | jpy "any(e['mac']=='$2' and e.get('state')=='permanent' for e in d)")" = True ]
}
fdb_lacks() { ! fdb_has "$@"; }
fdb_moved() { fdb_has "$1" "$3" && fdb_lacks "$1" "$2"; } # bridge old new
within() {
	_w_name=$1; shift
	if wait_for --timeout "$EVENT_S" "$@"; then ok "$_w_name (within ${EVENT_S}s)"
	else not_ok "$_w_name (within ${EVENT_S}s)" "still false: $*" "$(tail -n 5 "$E2E_TMP/mdrd-$TOPO.log")"; fi
}

# ---- start: config file, one valid and one deferred instance already there -----------------
topo_create --mode port --guests 2 || e2e_done
CFG=$E2E_TMP/mdrd.conf
cat >"$CFG" <<EOF
# e2e config file: same names as the flags
iface = br*
policy-no-xsk = drop
rate = 300
EOF
defn "$U1" one tap1 >"$INST_DIR/g1.json"
defn "$U9" nine tap9 >"$INST_DIR/g9.json"

# ---- kernel features: probed before anything is loaded -------------------------------------
# A kernel without a helper the data path needs (rehearsed with the probe's
# deny hook): one line naming it and its provider, exit status 3, nothing pinned.
FEAT_LOG=$E2E_TMP/mdrd-feature.log
in_hv env MDR_KFEAT_DENY=bpf_xdp_adjust_head "$BUILD_DIR/mdrd" --pin-dir "$PIN" --iface 'tap*' \
	>"$FEAT_LOG" 2>&1
check_eq "mdrd on a kernel without bpf_xdp_adjust_head exits with status 3" "$?" 3
check_eq "one error line names the feature and what provides it" \
	"$(grep -c 'error' "$FEAT_LOG") $(grep -c 'kernel feature missing: helper bpf_xdp_adjust_head (needs Linux 4.10)' "$FEAT_LOG")" "1 1"
check_not "no bare 'Invalid argument'" grep -q 'Invalid argument' "$FEAT_LOG"
check_eq "nothing was pinned" "$(ls "$PIN" | grep -c "^mdr")" 0
in_hv env MDR_KFEAT_DENY=xskmap "$BUILD_DIR/mdrd" --probe >"$FEAT_LOG" 2>&1
check_eq "mdrd --probe exits 3 when a required feature is missing" "$?" 3
check "mdrd --probe prints the table with the missing map type" grep -q '^missing  map type xskmap .*CONFIG_XDP_SOCKETS' "$FEAT_LOG"
probe_has() { in_hv "$BUILD_DIR/mdrd" --probe | grep -q "$1"; }
check "mdrd --probe: the tagging helper is present on this kernel" probe_has '^ok  *helper bpf_xdp_adjust_head'
check_eq "mdrctl features -j: usable, tag-header data path" \
	"$(in_hv "$BUILD_DIR/mdrctl" features -j | jpy "(d['usable'], d['data_path'])")" "(True, 'tag-header')"

start_mdrd --config "$CFG" || { dump_logs; e2e_done; }
wait_for --timeout "$READY_WAIT_S" attached tap2 generic

# auto on a veth: generic (a native program would strip the guest end's GSO).
check_eq "veth taps attached in generic mode by --xdp-mode auto" "$(iface_mode tap1) $(iface_mode tap2)" "generic generic"
check "the choice is logged with its reason" log_has "port tap1: attached (ifindex [0-9]*, generic mode (veth: native XDP would strip the peer's GSO)"
# The queues in use (a veth is allocated one per CPU but uses one): what an
# AF_XDP socket can bind to. `ip netns exec` mounts the namespace's own /sys.
check_eq "rx queues in use recorded (not the allocated count)" \
	"$(mdrctl status -j | jpy "[i['rx_queues'] for i in d['interfaces'] if i['name']=='tap1'][0]")" \
	"$(ip netns exec "$HV" ls /sys/class/net/tap1/queues | grep -c '^rx-')"
check_eq "the program is attached to tap1 (kernel view)" \
	"$(in_hv ip -j -d link show dev tap1 | jpy "d[0].get('xdp', {}).get('prog', {}).get('name')")" "mdr_xdp"
status_has() { mdrctl status | grep -q "$1"; }
check "mdrctl status names the data path" status_has '^data path: tag header prepended by XDP (bpf_xdp_adjust_head)'
check_eq "config file applied (policy-no-xsk, rate)" \
	"$(mdrctl config -j | jpy "(d['policy_no_xsk'], d['default_rate_pps'])")" "('drop', 300)"
check "an instance file present at start is loaded" has_instance "$U1"
check "its port is bound" port_bound "$U1" tap1
check "an instance whose port does not exist yet is loaded" has_instance "$U9"
check "its port binding is deferred" port_unbound "$U9" tap9
check "the deferred port is logged" log_has "instance $U9 port tap9: created from g9.json.*port not present yet"

# ---- instances directory --------------------------------------------------------------------
put_file g2.json "$(defn "$U2" two tap2)"
within "a new file creates its instance" has_instance "$U2"
check "the new instance's port is bound" port_bound "$U2" tap2
check "one log line names instance and port" log_has "instance $U2 port tap2: created from g2.json"
G2=$(gen_of "$U2")
put_file g2.json "$(defn "$U2" deux tap2)"
within "a changed file replaces its instance" gen_is_not "$U2" "$G2"
check_eq "the changed content is served" "$(body "$U2" /openstack/latest/meta_data.json | jpy "d['name']")" "deux"
cp "$INST_DIR/g2.json" "$E2E_TMP/g2.good"

snapshot >"$E2E_TMP/before"
put_file bad.json '{"name": "no uuid here"}'
within "an invalid new file is logged, naming file and problem" log_has "bad.json: invalid definition: uuid"
snapshot >"$E2E_TMP/after"
check "an invalid new file changes no map" cmp -s "$E2E_TMP/before" "$E2E_TMP/after"
put_file g2.json "{\"uuid\": \"$U2\", \"name\": [1]}"
within "an invalid change is logged, naming the file" log_has "g2.json: invalid definition: name"
snapshot >"$E2E_TMP/after"
check "an invalid change changes no map" cmp -s "$E2E_TMP/before" "$E2E_TMP/after"
check_eq "the previous version is still served" \
	"$(body "$U2" /openstack/latest/meta_data.json | jpy "d['name']")" "deux"
put_file g2.json "{\"uuid\": \"$U2\", \"binding\": {\"port\": \"tap1\"}}"
within "a file taking another instance's port is logged" log_has "g2.json: port tap1 is already bound to instance $U1"
snapshot >"$E2E_TMP/after"
check "a conflicting file changes no map" cmp -s "$E2E_TMP/before" "$E2E_TMP/after"
rm -f "$INST_DIR/bad.json" "$INST_DIR/g2.json"
within "a removed file deletes its instance" no_instance "$U2"
check "the removed instance's port binding is gone" port_unbound "$U2" tap2
check "instances of other files stay" has_instance "$U1"

# ---- interfaces: hot-plug, deferred binding, bridge, removal ----------------------------------
in_hv ip link add tap9 type veth peer name peer9
within "a new matching interface is attached" attached tap9 generic
within "the deferred port binding becomes active" port_bound "$U9" tap9
check "the late binding is logged" log_has "instance $U9 port tap9: bound"
in_hv ip link add nomatch0 type veth peer name peer10
check "a non-matching interface is left alone" detached nomatch0
in_hv ip link add br9 type bridge
within "a bridge is attached in generic mode (no native XDP)" attached br9 generic
within "the metadata MAC is a local FDB entry of the bridge" fdb_has br9 "$META_MAC"
check "the FDB entry is logged" log_has "port br9: metadata MAC $META_MAC added as a local FDB entry"
mdrctl config --meta-mac "$META_MAC2" >/dev/null
within "mdrctl config --meta-mac moves the bridge's FDB entry to the new MAC" \
	fdb_moved br9 "$META_MAC" "$META_MAC2"
in_hv ip link del tap9
within "a removed interface leaves mdr_ifaces" detached tap9
within "its port binding is removed" port_unbound "$U9" tap9
check "its instance stays" has_instance "$U9"
in_hv ip link add tap9 type veth peer name peer9
within "the interface coming back is bound again" port_bound "$U9" tap9

# ---- a burst of interfaces: all attached (rtnetlink overrun, dump, attach cost) ---------------
# 64 veth pairs created by one `ip -batch`: every host end must be recorded in
# mdr_ifaces. Timings are reported, not asserted (shared 2-core machine);
# BURST_S is only a generous bound on the wait.
BURST_N=64
BURST_S=20
burst_count() { mdrctl status -j | jpy "len([i for i in d['interfaces'] if i['name'].startswith('tapb')])"; }
burst_all() { [ "$(burst_count)" = "$1" ]; }
_b=0; while [ $_b -lt $BURST_N ]; do
	echo "link add tapb$_b type veth peer name pb$_b"; _b=$((_b + 1))
done >"$E2E_TMP/burst.batch"
_b0=$(date +%s%N)
in_hv ip -batch "$E2E_TMP/burst.batch"
if wait_for --timeout "$BURST_S" burst_all "$BURST_N"; then
	ok "$BURST_N veths created at once are all attached"
else
	not_ok "$BURST_N veths created at once are all attached" "attached: $(burst_count)" \
		"$(grep -c 'rtnetlink overrun' "$E2E_TMP/mdrd-$TOPO.log") overrun(s) logged"
fi
diag "burst of $BURST_N: polled $(( ($(date +%s%N) - _b0) / 1000000 )) ms, last attachment at" \
	"$(mdrctl status -j | jpy "(max([i['attached_ns'] for i in d['interfaces'] if i['name'].startswith('tapb')] or [$_b0]) - $_b0) // 1000000") ms"
sed 's/^link add \(tapb[0-9]*\) .*/link del \1/' "$E2E_TMP/burst.batch" >"$E2E_TMP/burst.del"
_b0=$(date +%s%N)
in_hv ip link add tapb$BURST_N type veth peer name pb$BURST_N
if wait_for --timeout "$BURST_S" attached "tapb$BURST_N" generic; then
	ok "one more interface after the burst is attached"
else not_ok "one more interface after the burst is attached" "mode: $(iface_mode "tapb$BURST_N")"; fi
diag "one more after the burst: attached $(mdrctl status -j | jpy "([(i['attached_ns'] - $_b0) // 1000000 for i in d['interfaces'] if i['name']=='tapb$BURST_N'] or ['never'])[0]") ms after ip link add started"
echo "link del tapb$BURST_N" >>"$E2E_TMP/burst.del"
in_hv ip -batch "$E2E_TMP/burst.del"
if wait_for --timeout "$BURST_S" burst_all 0; then ok "the burst's interfaces leave mdr_ifaces when removed"
else not_ok "the burst's interfaces leave mdr_ifaces when removed" "still recorded: $(burst_count)"; fi

# ---- SIGHUP ---------------------------------------------------------------------------------
# A FIFO and a symbolic link named *.json (issue 12 hole 7): SIGHUP must
# neither block on the FIFO (nobody ever writes it) nor follow the link.
mkfifo "$INST_DIR/fifo.json"
ln -s "$E2E_TMP/g2.good" "$INST_DIR/link.json"
sed -i 's/^policy-no-xsk = drop/policy-no-xsk = pass/' "$CFG"
echo "meta-mac = $META_MAC3" >>"$CFG"
# A rate-limit bucket of a deleted instance (issue 12 hole 6: XDP could
# recreate one after mdr_store_delete, a crash between the store's two
# deletes leaves one): planted in mdr_rl for an id no instance has, the
# sweep on SIGHUP removes it.
ORPHAN_KEY="01 00 ad de" # instance id 0xdead0001, little-endian
rl_has() { bpftool map lookup pinned "$PIN/mdr_rl" key hex $ORPHAN_KEY >/dev/null 2>&1; }
rl_gone() { ! rl_has; }
bpftool map update pinned "$PIN/mdr_rl" key hex $ORPHAN_KEY \
	value hex $(printf '00 %.0s' $(seq 24)) 2>/dev/null
check "an orphan bucket (id 0xdead0001, no instance) planted in mdr_rl" rl_has
kill -HUP "$MDRD_PID"
within "SIGHUP sweeps the orphan rate-limit bucket" rl_gone
within "the sweep is logged" log_has "mdr_rl: 1 rate-limit bucket(s) of deleted instances removed"
config_pass() { [ "$(mdrctl config -j | jpy "d['policy_no_xsk']")" = pass ]; }
within "SIGHUP re-reads the config file" config_pass
within "a meta-mac changed in the config file moves the FDB entry on SIGHUP" \
	fdb_moved br9 "$META_MAC2" "$META_MAC3"
within "a FIFO named fifo.json is refused on SIGHUP, not waited on" \
	log_has "fifo.json: cannot read: not a regular file (maps unchanged)"
within "a symbolic link named link.json is not followed" \
	log_has "link.json: cannot read: a symbolic link (not followed) (maps unchanged)"
check "the link's instance is not created" no_instance "$U2"
rm -f "$INST_DIR/fifo.json" "$INST_DIR/link.json"
put_file g2.json "$(cat "$E2E_TMP/g2.good")"
within "after the FIFO, mdrd still follows the directory" has_instance "$U2"
rm -f "$INST_DIR/g2.json"
within "and deletes again" no_instance "$U2"

# ---- restart: nothing lost ---------------------------------------------------------------------
mdrctl instance list -j >"$E2E_TMP/list.before"
body "$U1" /latest/user-data >"$E2E_TMP/ud.before"
stop_pid "$MDRD_PID"; MDRD_PID=""
check_eq "SIGTERM detaches the program (kernel view)" \
	"$(in_hv ip -j -d link show dev tap1 | jpy "'xdp' in d[0]")" "False"
check_eq "SIGTERM leaves no interface recorded" "$(mdrctl status -j | jpy "len(d['interfaces'])")" 0
check "SIGTERM removes the metadata MAC's FDB entry from the bridge" fdb_lacks br9 "$META_MAC3"
check "SIGTERM leaves the maps and program pinned" test -e "$PIN/mdr_inst" -a -e "$PIN/mdr_prog"
mdrctl instance list -j >"$E2E_TMP/list.stopped"
check "instances survive mdrd stopping" cmp -s "$E2E_TMP/list.before" "$E2E_TMP/list.stopped"
start_mdrd --config "$CFG" || dump_logs
wait_for --timeout "$READY_WAIT_S" attached tap9 generic
check_eq "after restart: attached again" "$(iface_mode tap1) $(iface_mode tap2) $(iface_mode tap9)" "generic generic generic"
check "after restart: the bridge's FDB entry is back" wait_for fdb_has br9 "$META_MAC3"
mdrctl instance list -j >"$E2E_TMP/list.after"
check "after restart: same instances, generations and bindings (unchanged files not rewritten)" \
	cmp -s "$E2E_TMP/list.before" "$E2E_TMP/list.after"
body "$U1" /latest/user-data >"$E2E_TMP/ud.after"
check "after restart: content intact" cmp -s "$E2E_TMP/ud.before" "$E2E_TMP/ud.after"

# ---- --xdp-mode native: native (driver) attachment on veth, a guest still served -----------------
# (auto chose generic on these veths; see docs/DESIGN.md). The file says
# generic, the command line native: the command line wins, as for other settings.
"$BUILD_DIR/mdrd" --xdp-mode bogus >"$E2E_TMP/bogus.out" 2>&1
check_eq "--xdp-mode with an unknown mode is refused (exit 2, message)" \
	"$? $(grep -c 'xdp-mode: expected auto, native or generic' "$E2E_TMP/bogus.out")" "2 1"
stop_pid "$MDRD_PID"; MDRD_PID=""
cp "$CFG" "$E2E_TMP/mdrd-gen.conf"
echo "xdp-mode = generic" >>"$E2E_TMP/mdrd-gen.conf"
# A native program on a veth tap gets its XDP_TX frames (the ARP replies)
# only to a peer running XDP itself (tools/topo.sh): give guest 1 one.
# (bpftool, not `ip ... obj`: iproute2 would create its ip/tc/xdp pin
# directories in the first bpffs it finds, our pin directory.)
bpftool prog load "$BUILD_DIR/bpf/empty.bpf.o" "$PIN/e2e_guest_xdp" &&
	nsenter --net="/run/netns/$TOPO-g1" bpftool net attach xdpdrv pinned "$PIN/e2e_guest_xdp" dev eth0
rm -f "$PIN/e2e_guest_xdp"
ip -n "$TOPO-g1" neigh flush all
start_mdrd --config "$E2E_TMP/mdrd-gen.conf" --xdp-mode native || dump_logs
wait_for --timeout "$READY_WAIT_S" attached tap2 native
check_eq "--xdp-mode native: taps recorded in native mode" "$(iface_mode tap1) $(iface_mode tap2)" "native native"
check "--xdp-mode native: kernel view is driver mode" sh -c \
	"nsenter --net=/run/netns/$HV ip -d link show dev tap1 | tr '\\n' ' ' | grep -q ' xdp .*prog/xdp '"
check "--xdp-mode native: the mode is logged per interface" log_has "port tap1: attached (ifindex [0-9]*, native mode"
if start_responder; then
	check_eq "--xdp-mode native: guest 1 is served its instance" "$(meta_uuid 1)" "$U1"
	stop_pid "$RESP_PID"; RESP_PID=""
fi

# ---- --purge-on-exit ------------------------------------------------------------------------------
stop_pid "$MDRD_PID"; MDRD_PID=""
start_mdrd --purge-on-exit || dump_logs
stop_pid "$MDRD_PID"; MDRD_PID=""
# (maps.debug and progs.debug are the bpffs root's own iterators, not pins)
check_eq "--purge-on-exit removes every pin" "$(ls -A "$PIN" | grep -v "^maps.debug$\|^progs.debug$" | tr "\n" " ")" ""
check_eq "--purge-on-exit still detaches" "$(in_hv ip -j -d link show dev tap1 | jpy "'xdp' in d[0]")" "False"

e2e_done
