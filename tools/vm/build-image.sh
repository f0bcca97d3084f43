#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# build-image.sh - the test VMs' guest image, built from Debian packages only:
# linux-image-amd64 (the kernel and its virtio-net, 8021q modules with their
# dependencies), busybox-static, iperf3 with its shared libraries (the
# bench's throughput row), and tools/vm/vmhttp.c compiled static with the
# host's gcc (glibc's static libc is in libc6-dev). Nothing else is
# downloaded. tools/install-deps.sh installs the packages.
#
#   sh tools/vm/build-image.sh [BUILD]    prints the image directory
#
# The image lives in BUILD/vm/KEY/ (vmlinux or vmlinuz, initrd.gz), KEY a
# hash of the kernel and busybox package versions and of the files in
# tools/vm/: a new package or script builds a new image (older ones are
# removed), an unchanged one is reused.
# The kernel is unpacked from Debian's bzImage into its ELF vmlinux: QEMU
# boots that through its PVH entry (CONFIG_PVH) with no decompression,
# which under TCG saves most of the boot (6 s instead of 20 s here).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VMDIR=$ROOT/tools/vm
# Guest kernel modules wanted; their dependencies are added (modinfo).
MODULES="virtio_pci virtio_net 8021q"

die() { echo "build-image: $*" >&2; exit 1; }

# The kernel linux-image-amd64 currently depends on (not the host's).
kpkg=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | sed 's/[ ,].*//') ||
	die "linux-image-amd64 is not installed (sh tools/install-deps.sh)"
KVER=${kpkg#linux-image-}
[ -r "/boot/vmlinuz-$KVER" ] && [ -d "/lib/modules/$KVER" ] || die "no /boot/vmlinuz-$KVER or /lib/modules/$KVER"
[ -x /bin/busybox ] && dpkg-query -W busybox-static >/dev/null 2>&1 || die "busybox-static is not installed"

key=$( { echo "$KVER $(dpkg-query -W -f='${Version}' "$kpkg") $(dpkg-query -W -f='${Version}' busybox-static iperf3)"
	cat "$VMDIR/build-image.sh" "$VMDIR/init.sh" "$VMDIR/vmhttp.c"; } | sha256sum | cut -c1-16)
OUT=$BUILD/vm/$key
if [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/kernel-version" ]; then
	echo "$OUT"
	exit 0
fi

TMP=$(mktemp -d "/tmp/mdr-vmimg.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R=$TMP/root
mkdir -p "$R/bin" "$R/lib/modules" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"

# Modules in load order: each after its dependencies (depth first).
ORDER=$TMP/order
: >"$ORDER"
add_mod() {
	grep -qx "$1" "$ORDER" && return 0
	for d in $(modinfo -k "$KVER" -F depends "$1" | tr ',' ' '); do add_mod "$d"; done
	f=$(modinfo -k "$KVER" -F filename "$1") || die "module $1 not found for $KVER"
	case "$f" in
	*.ko) cp "$f" "$R/lib/modules/$1.ko" ;;
	*.ko.xz) xz -dc "$f" >"$R/lib/modules/$1.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$R/lib/modules/$1.ko" ;;
	*) die "module $1: unknown file $f" ;;
	esac
	echo "$1" >>"$ORDER"
}
for m in $MODULES; do add_mod "$m"; done
cp "$ORDER" "$R/lib/modules/order"

cp /bin/busybox "$R/bin/busybox"
gcc -static -O2 -Wall -Wextra -Werror -o "$R/bin/vmhttp" "$VMDIR/vmhttp.c" ||
	die "gcc -static failed (libc6-dev has the static glibc)"
# iperf3 and what it links (the loader included), at their own paths.
IPERF=$(command -v iperf3) || die "iperf3 is not installed"
for f in "$IPERF" $(ldd "$IPERF" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
	mkdir -p "$R$(dirname "$f")"
	cp -L "$f" "$R$f"
done
cp "$VMDIR/init.sh" "$R/init"
chmod 755 "$R/init" "$R/bin/vmhttp"

mkdir -p "$OUT.tmp"
(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -6 >"$OUT.tmp/initrd.gz"
# The compressed ELF inside the bzImage: the first stream that unpacks to
# an ELF with a PVH entry note (Xen note 18). Else QEMU boots the bzImage.
python3 - "/boot/vmlinuz-$KVER" "$OUT.tmp/vmlinux" <<'PY' || cp "/boot/vmlinuz-$KVER" "$OUT.tmp/vmlinuz"
import lzma, struct, subprocess, sys, zlib
d = open(sys.argv[1], "rb").read()
def unxz(b): return lzma.LZMADecompressor().decompress(b)
def ungz(b): return zlib.decompressobj(31).decompress(b)
def unzstd(b): return subprocess.run(["zstd", "-qdc"], input=b, capture_output=True).stdout
for magic, fn in ((b"\xfd7zXZ\x00", unxz), (b"\x28\xb5\x2f\xfd", unzstd), (b"\x1f\x8b\x08", ungz)):
    i = d.find(magic)
    if i < 0:
        continue
    try:
        elf = fn(d[i:])
    except Exception:
        continue
    if elf[:4] == b"\x7fELF" and b"Xen\x00" in elf and struct.pack("<I", 18) in elf:
        open(sys.argv[2], "wb").write(elf)
        sys.exit(0)
sys.exit(1)
PY
echo "$KVER" >"$OUT.tmp/kernel-version"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
for old in "$BUILD"/vm/*/; do
	[ "${old%/}" = "$OUT" ] || rm -rf "${old%/}"
done
echo "$OUT"
