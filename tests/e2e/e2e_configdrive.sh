#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_configdrive: the config drive (config-2) of an instance, read the way
# a guest reads it, without mounting: `mdrctl configdrive` from the stored
# instance and from a definition file, ISO 9660 and vfat; blkid / isoinfo
# see the label config-2, Rock Ridge and Joliet; the image extracted with
# xorriso (ISO) or mcopy (vfat) is read by cloud-init's own ConfigDrive
# reader and compared with the definition, with a crawl of the service
# (mdrctl get: what the guest receives) and with nova's own
# metadata_for_config_drive() (python3-nova), byte for byte; bad input
# leaves no image; mdrd --config-drive-dir keeps images up to date.
. "$(dirname "$0")/lib.sh"
e2e_init configdrive

for _t in xorriso isoinfo mcopy mkfs.vfat blkid unshare; do
	command -v "$_t" >/dev/null || skip_all "needs $_t (tools/install-deps.sh)"
done
"$GUEST_PY" -c 'import cloudinit.sources.DataSourceConfigDrive' 2>/dev/null ||
	skip_all "needs cloud-init"

DEF=$E2E_ROOT/tests/data/configdrive.json
U=5c1e7d2a-3b4f-4e6a-9d8c-0f1e2d3c4b5a
U2=6d2f8e3b-4c5a-4f7b-8e9d-1a2b3c4d5e6f
T=$E2E_TMP
export MTOOLS_SKIP_CHECK=1

jpy() { "$GUEST_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# the checker: cloud-init + service crawl over an extracted tree
cdcheck() { # label tree
	"$GUEST_PY" "$E2E_PY/cdrive_check.py" "$1" "$T/norm.json" "$2" \
		nsenter --net="/run/netns/$HV" "$BUILD_DIR/mdrctl" --pin-dir "$PIN" -- "$U" \
		>"$T/check-$1.tap" 2>"$T/check-$1.err" || diag "checker: $(tail -n 3 "$T/check-$1.err")"
	grep '^diag' "$T/check-$1.tap" | cut -f2 | while read -r _l; do diag "$_l"; done
	grep -v '^diag' "$T/check-$1.tap" >"$T/check-$1.lines"
	tap_lines "$T/check-$1.lines"
}
iso_x() { rm -rf "$2"; xorriso -osirrox on -indev "$1" -extract / "$2" >/dev/null 2>&1; }
vfat_x() { rm -rf "$2"; mkdir -p "$2" && mcopy -s -i "$1" ::/openstack ::/ec2 "$2/"; }
# Two trees hold the same files with the same bytes (random_seed aside).
same_tree() {
	(cd "$1" && find . -type f | sort) >"$T/a.list"
	(cd "$2" && find . -type f | sort) >"$T/b.list"
	cmp -s "$T/a.list" "$T/b.list" || { diff "$T/a.list" "$T/b.list" | head; return 1; }
	while read -r _f; do
		sed 's/"random_seed": "[^"]*"//' "$1/$_f" >"$T/a.f"
		sed 's/"random_seed": "[^"]*"//' "$2/$_f" >"$T/b.f"
		cmp -s "$T/a.f" "$T/b.f" || { echo "$_f differs"; return 1; }
	done <"$T/a.list"
}
# no_image FILE: neither the image nor a temporary file of it exists
no_image() { ! ls -A "$(dirname "$1")" 2>/dev/null | grep -q "$(basename "$1")"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- setup: a node with the instance stored -------------------------------------
topo_create --mode port --guests 1 || e2e_done
CD=$T/drives
mkdir -p "$CD"
start_mdrd --config-drive-dir "$CD" || { dump_logs; e2e_done; }
check "instance load" mdrctl instance load "$DEF"
# the stored definition, every default filled in (the checker compares with it)
mdrctl instance show "$U" -j | jpy 'json.dumps(d["definition"])' >"$T/norm.json"

# ---- ISO 9660 from the stored instance ------------------------------------------------
T0=$(now_ms)
check "mdrctl configdrive UUID OUT.iso writes the image" mdrctl configdrive "$U" "$T/cd.iso"
diag "ISO written in $(($(now_ms) - T0)) ms, $(stat -c %s "$T/cd.iso") bytes"
check_eq "blkid: label config-2" "$(blkid -p -o value -s LABEL "$T/cd.iso")" "config-2"
check_eq "blkid: type iso9660" "$(blkid -p -o value -s TYPE "$T/cd.iso")" "iso9660"
isoinfo -d -i "$T/cd.iso" >"$T/isoinfo" 2>&1
check_eq "isoinfo -d: volume id config-2" "$(sed -n 's/^Volume id: //p' "$T/isoinfo")" "config-2"
check "isoinfo -d: Rock Ridge and Joliet" sh -c "grep -q '^Rock Ridge signatures' '$T/isoinfo' && grep -q '^Joliet' '$T/isoinfo'"
check "the Joliet tree has openstack/latest/meta_data.json" \
	sh -c "isoinfo -J -f -i '$T/cd.iso' | grep -qx /openstack/latest/meta_data.json"
iso_x "$T/cd.iso" "$T/iso"
check "xorriso extracts the image (no mount)" test -s "$T/iso/openstack/latest/meta_data.json"
cdcheck iso "$T/iso"
if "$GUEST_PY" -c 'import nova.api.metadata.base' 2>/dev/null; then
	T0=$(now_ms)
	"$GUEST_PY" "$E2E_PY/nova_cdrive.py" "$DEF" "$T/iso" >"$T/nova.tap" 2>"$T/nova.err" ||
		diag "nova differential: $(tail -n 3 "$T/nova.err")"
	tap_lines "$T/nova.tap"
	diag "nova differential took $(($(now_ms) - T0)) ms"
else
	skip "nova: every file byte for byte as nova's metadata_for_config_drive()" "python3-nova not installed"
fi

# ---- from a definition file, no maps ---------------------------------------------------
check "mdrctl configdrive FILE.json works without any pinned maps" \
	"$BUILD_DIR/mdrctl" --pin-dir "$T/no-such-pins" configdrive "$DEF" "$T/file.iso"
iso_x "$T/file.iso" "$T/file"
check "the image from the file equals the one from the stored instance" same_tree "$T/iso" "$T/file"

# ---- vfat ------------------------------------------------------------------------------
T0=$(now_ms)
check "mdrctl configdrive --format vfat writes the image" mdrctl configdrive "$U" "$T/cd.img" --format vfat
diag "vfat written in $(($(now_ms) - T0)) ms"
check_eq "vfat: blkid label config-2" "$(blkid -p -o value -s LABEL "$T/cd.img")" "config-2"
check_eq "vfat: blkid type vfat" "$(blkid -p -o value -s TYPE "$T/cd.img")" "vfat"
check_eq "vfat: 64 MiB, as nova's" "$(stat -c %s "$T/cd.img")" "67108864"
check "vfat: mcopy extracts the image (no mount)" vfat_x "$T/cd.img" "$T/vfat"
cdcheck vfat "$T/vfat"
check "vfat: the same files and bytes as the ISO" same_tree "$T/iso" "$T/vfat"

# ---- bad input: a clear error and no image -------------------------------------------------
fails_cleanly() { # name pattern out cmd...
	_fc_name=$1 _fc_pat=$2 _fc_out=$3; shift 3
	if "$@" >"$T/fc.out" 2>"$T/fc.err"; then
		not_ok "$_fc_name: rejected" "succeeded: $*"
	elif ! grep -Eq "$_fc_pat" "$T/fc.err"; then
		not_ok "$_fc_name: message names the problem" "want /$_fc_pat/, got: $(cat "$T/fc.err")"
	elif ! no_image "$_fc_out"; then
		not_ok "$_fc_name: nothing left behind" "$(ls -la "$(dirname "$_fc_out")")"
	else
		ok "$_fc_name: rejected ($(head -n1 "$T/fc.err" | cut -c1-100)), no image left"
	fi
}
fails_cleanly "unknown instance" "unknown instance|no instance" "$T/unknown.iso" \
	mdrctl configdrive 00000000-0000-4000-8000-000000000000 "$T/unknown.iso"
printf '{"uuid": "5c1e7d2a", "user_data": 1}' >"$T/bad.json"
fails_cleanly "invalid definition" "invalid definition" "$T/bad.iso" \
	mdrctl configdrive "$T/bad.json" "$T/bad.iso"
fails_cleanly "directory that does not exist" "cannot create a file in .*No such file" \
	"$T/nodir/x.iso" mdrctl configdrive "$U" "$T/nodir/x.iso"
check_not "an unknown --format is refused" mdrctl configdrive "$U" "$T/fmt.iso" --format udf
# disk full: a 96 KiB tmpfs in a private mount namespace, an older image in place
mkdir -p "$T/small"
for _fmt in iso vfat; do
	unshare -m sh -c "mount -t tmpfs -o size=96k tmpfs '$T/small' && printf old >'$T/small/out' &&
		nsenter --net=/run/netns/$HV '$BUILD_DIR/mdrctl' --pin-dir '$PIN' configdrive '$U' '$T/small/out' --format $_fmt
		echo \"rc=\$?\"; echo \"old=\$(cat '$T/small/out')\"; echo \"files=\$(ls -A '$T/small' | tr '\n' ' ')\"" \
		>"$T/full.out" 2>&1
	if grep -q '^rc=1$' "$T/full.out" && grep -q '^old=old$' "$T/full.out" &&
		grep -q '^files=out $' "$T/full.out" && grep -Eq 'No space left|failed' "$T/full.out"; then
		ok "disk full ($_fmt): a clear error, the previous image intact, no temporary file left"
	else
		not_ok "disk full ($_fmt): clean failure" "$(cat "$T/full.out")"
	fi
done

# ---- mdrd --config-drive-dir ---------------------------------------------------------------
img_file() { isoinfo -R -i "$1" -x "$2" 2>/dev/null; }
check "mdrd: $U.iso written for the stored instance" wait_for test -s "$CD/$U.iso"
check_eq "mdrd: its meta_data.json names the instance" \
	"$(img_file "$CD/$U.iso" /openstack/latest/meta_data.json | jpy 'd["uuid"]')" "$U"
printf '{"changed": "by mdrctl put"}' >"$T/vd.json"
T0=$(now_ms)
check "mdrctl put changes the instance" mdrctl put "$U" /openstack/latest/vendor_data.json "$T/vd.json"
_vd_new() { [ "$(img_file "$CD/$U.iso" /openstack/latest/vendor_data.json)" = '{"changed": "by mdrctl put"}' ]; }
check "mdrd: the image is rewritten with the new vendor_data.json" wait_for _vd_new
diag "mdrctl put -> image rewritten in $(($(now_ms) - T0)) ms"
check_eq "mdrd: the rewritten image equals the service's answer" \
	"$(img_file "$CD/$U.iso" /openstack/2016-06-30/vendor_data.json)" \
	"$(mdrctl get "$U" /openstack/2016-06-30/vendor_data.json | sed '1,/^\r$/d')"
# an instance file in the directory mdrd follows
printf '{"uuid": "%s", "hostname": "first"}\n' "$U2" >"$INST_DIR/u2.json"
check "mdrd: an instance file gets its image" wait_for test -s "$CD/$U2.iso"
_host_is() { [ "$(img_file "$CD/$U2.iso" /openstack/latest/meta_data.json | jpy 'd["hostname"]')" = "$1" ]; }
check "mdrd: ... with its hostname" wait_for _host_is first
printf '{"uuid": "%s", "hostname": "second"}\n' "$U2" >"$INST_DIR/u2.tmp" && mv "$INST_DIR/u2.tmp" "$INST_DIR/u2.json"
check "mdrd: editing the file rewrites the image" wait_for _host_is second
rm -f "$INST_DIR/u2.json"
check "mdrd: removing the file removes the image" wait_for test ! -e "$CD/$U2.iso"
check "mdrctl instance del" mdrctl instance del "$U"
check "mdrd: deleting the instance removes its image" wait_for test ! -e "$CD/$U.iso"
check_eq "mdrd: no temporary file left in the directory" "$(ls -A "$CD")" ""
# an image left from an earlier run for an instance gone since: removed at start
stop_pid "$MDRD_PID"
printf stale >"$CD/$U.iso"
printf keep >"$CD/notes.txt"
start_mdrd --config-drive-dir "$CD" || dump_logs
check "mdrd start: a stale image of a deleted instance is removed" wait_for test ! -e "$CD/$U.iso"
check "mdrd start: other files in the directory are left alone" test -e "$CD/notes.txt"
grep -q "config drive" "$T/mdrd-$TOPO.log" && diag "mdrd: $(grep 'config drive' "$T/mdrd-$TOPO.log" | tail -n 1 | cut -c1-160)"

topo_teardown
e2e_done
