#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# install.sh - `make install` and the systemd units (TAP):
#  - installs under a temporary PREFIX: the three programs, the BPF object,
#    the docs, the units and the example option files;
#  - systemd-analyze verify accepts both units (syntax, ordering, the
#    ExecStart binaries exist and are executable);
#  - the units run what README says: mdrd on /sys/fs/bpf/mdr with
#    /etc/mdr/instances and the OpenStack ports (tap*) unless
#    /etc/default/mdrd says otherwise; the responder after mdrd, restarted
#    when it exits; both with unlimited locked memory; both Type=notify
#    with a watchdog (e2e_systemd checks the daemons' side);
#  - the example option files are valid shell assignments of the variables
#    the units read;
#  - the installed mdrd accepts the unit's command line (--help parse).
# Usage: sh tests/dist/install.sh   (run by tests/run.sh)
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/mdr-dist.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { _name=$1; shift; if "$@" >"$T/out" 2>&1; then ok "$_name"; else not_ok "$_name" "$(tail -n 10 "$T/out")"; fi; }

P=$T/usr
U=$P/lib/systemd/system
check "make install PREFIX=... succeeds" make -C "$ROOT" --no-print-directory BUILD="$BUILD" install PREFIX="$P"
for f in sbin/mdrd sbin/mdr-responder sbin/mdrctl; do
	check "installed executable $f" test -x "$P/$f"
done
for f in lib/mdr/mdr_xdp.bpf.o share/doc/mdr/README.md share/doc/mdr/maps.md \
	lib/systemd/system/mdrd.service lib/systemd/system/mdr-responder.service \
	share/doc/mdr/examples/mdrd share/doc/mdr/examples/mdr-responder \
	share/man/man8/mdrd.8 share/man/man8/mdr-responder.8 share/man/man8/mdrctl.8; do
	check "installed $f" test -s "$P/$f"
done

if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify accepts both units" \
		systemd-analyze verify "$U/mdrd.service" "$U/mdr-responder.service"
else
	not_ok "systemd-analyze verify accepts both units" "systemd-analyze not installed"
fi

# key=value lines of a unit's section, as systemd reads them.
unit_val() { sed -n "s/^$2=//p" "$U/$1"; }
check "mdrd runs the installed binary on /sys/fs/bpf/mdr and /etc/mdr/instances" \
	test "$(unit_val mdrd.service ExecStart)" = \
	"$P/sbin/mdrd --pin-dir /sys/fs/bpf/mdr --instances /etc/mdr/instances \$MDRD_OPTS"
check "mdrd attaches to OpenStack's tap* ports unless /etc/default/mdrd says otherwise" \
	test "$(unit_val mdrd.service Environment)" = '"MDRD_OPTS=--iface tap*"'
check "mdrd creates /etc/mdr/instances" test "$(unit_val mdrd.service ConfigurationDirectory)" = "mdr mdr/instances"
check "/etc/mdr and its definitions are root-only (directories 0700, files 0600)" sh -c \
	"[ '$(unit_val mdrd.service ConfigurationDirectoryMode)' = 0700 ] && [ '$(unit_val mdrd.service UMask)' = 0077 ]"
check "SIGHUP reloads mdrd" test "$(unit_val mdrd.service ExecReload)" = "/bin/kill -HUP \$MAINPID"
check "the responder runs after mdrd, on the same pin directory" sh -c \
	"[ '$(unit_val mdr-responder.service After)' = mdrd.service ] &&
	 [ '$(unit_val mdr-responder.service ExecStart)' = '$P/sbin/mdr-responder --pin-dir /sys/fs/bpf/mdr \$RESPONDER_OPTS' ]"
check "the responder is restarted whenever it exits" test "$(unit_val mdr-responder.service Restart)" = always
check "both units are Type=notify with a watchdog" sh -c \
	"for u in mdrd.service mdr-responder.service; do
		[ \"\$(sed -n 's/^Type=//p' '$U'/\$u)\" = notify ] &&
		[ \"\$(sed -n 's/^NotifyAccess=//p' '$U'/\$u)\" = main ] &&
		[ -n \"\$(sed -n 's/^WatchdogSec=//p' '$U'/\$u)\" ] || exit 1
	done"
check "both units lift the locked-memory limit (maps, UMEM)" sh -c \
	"[ '$(unit_val mdrd.service LimitMEMLOCK)' = infinity ] && [ '$(unit_val mdr-responder.service LimitMEMLOCK)' = infinity ]"

# The example files: the variables the units expand, nothing else.
check "example /etc/default/mdrd sets MDRD_OPTS" sh -c \
	"unset MDRD_OPTS; . '$P/share/doc/mdr/examples/mdrd' && [ \"\$MDRD_OPTS\" = '--iface tap*' ]"
check "example /etc/default/mdr-responder sets RESPONDER_OPTS" sh -c \
	"RESPONDER_OPTS=x; . '$P/share/doc/mdr/examples/mdr-responder' && [ -z \"\$RESPONDER_OPTS\" ]"
check "the installed mdrd accepts the unit's options" \
	"$P/sbin/mdrd" --pin-dir /sys/fs/bpf/mdr --instances /etc/mdr/instances --iface 'tap*' --help
echo "1..$n"
