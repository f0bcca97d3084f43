#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deb.sh - `make deb` and the Debian package (TAP):
#  - make deb builds build/deb/mdr_<version>_amd64.deb (debhelper);
#  - lintian reports no error;
#  - dpkg -i installs the programs, the BPF object, the units, the default
#    files and the man pages mdrd(8), mdr-responder(8), mdrctl(8);
#    systemd-analyze verify accepts the installed units;
#  - the installed mdrd and mdr-responder, run with the units' options in a
#    namespace topology (no systemd here), serve a guest its metadata;
#  - dpkg -r removes the programs (conffiles stay), dpkg -P purges the rest.
# Skipped when a package named mdr is installed already (not ours to remove).
# Usage: sh tests/dist/deb.sh   (run by tests/run.sh; needs root)
. "$(dirname "$0")/../e2e/lib.sh"
E2E_NO_BINS=1
e2e_init deb
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || skip_all "needs $t (debhelper, lintian, dpkg-dev)"
done
dpkg-query -W -f='${Status}' mdr 2>/dev/null | grep -q 'install ok installed' &&
	skip_all "a package mdr is installed already"

DEB_BUILD=$BUILD_DIR
check "make deb" make -C "$E2E_ROOT" --no-print-directory BUILD="$DEB_BUILD" deb
DEB=$(ls "$DEB_BUILD"/deb/mdr_*_amd64.deb 2>/dev/null | head -n1)
[ -n "$DEB" ] || { not_ok "the package exists"; e2e_done; }
check "lintian: no error" lintian --fail-on error "$DEB"
lintian "$DEB" 2>/dev/null | sed 's/^/# lintian: /'

_purge() { dpkg -P mdr >/dev/null 2>&1; }
check "dpkg -i installs it" dpkg -i "$DEB"
trap '_purge; e2e_cleanup' EXIT
for f in /usr/sbin/mdrd /usr/sbin/mdr-responder /usr/sbin/mdrctl; do
	check "installed executable $f" test -x "$f"
done
for f in /usr/lib/mdr/mdr_xdp.bpf.o /lib/systemd/system/mdrd.service \
	/lib/systemd/system/mdr-responder.service /etc/default/mdrd /etc/default/mdr-responder \
	/usr/share/man/man8/mdrd.8.gz /usr/share/man/man8/mdr-responder.8.gz \
	/usr/share/man/man8/mdrctl.8.gz /usr/share/doc/mdr/README.md /usr/share/doc/mdr/copyright; do
	check "installed $f" test -s "$f"
done
check "man mdrctl documents why" sh -c "man -l /usr/share/man/man8/mdrctl.8.gz 2>/dev/null | grep -q 'why PORT'"
check "systemd-analyze verify accepts the installed units" \
	systemd-analyze verify /lib/systemd/system/mdrd.service /lib/systemd/system/mdr-responder.service
check "the units run the installed programs" sh -c \
	"grep -qx 'ExecStart=/usr/sbin/mdrd --pin-dir /sys/fs/bpf/mdr --instances /etc/mdr/instances \$MDRD_OPTS' /lib/systemd/system/mdrd.service &&
	 grep -qx 'ExecStart=/usr/sbin/mdr-responder --pin-dir /sys/fs/bpf/mdr \$RESPONDER_OPTS' /lib/systemd/system/mdr-responder.service"

# The installed programs serve a guest (the demo's services, in namespaces).
BUILD_DIR=/usr/sbin
. /etc/default/mdrd
topo_create --mode port --guests 1 || e2e_done
inst_write "$E2E_ROOT/tests/data/instances/vm1.json" 1 port
cp "$DEF_DIR/g1.json" "$INST_DIR/"
# shellcheck disable=SC2086 # MDRD_OPTS is word-split, as systemd does
if start_mdrd $MDRD_OPTS && start_responder; then
	check_eq "the installed services serve guest 1 its instance" "$(meta_uuid 1)" \
		d8e02d56-2648-415b-b62a-3a1b9ce1d0f8
else
	dump_logs
fi
topo_teardown

check "dpkg -r removes it" dpkg -r mdr
check_not "the programs are gone" test -e /usr/sbin/mdrd
check "the conffiles stay until purge" test -e /etc/default/mdrd
check "dpkg -P purges it" dpkg -P mdr
check_not "the conffiles are gone" test -e /etc/default/mdrd
check_eq "nothing of the package is left" "$(dpkg-query -W -f='${Status}' mdr 2>/dev/null | grep -c installed)" 0
e2e_done
