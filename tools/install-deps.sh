#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Idempotent installer of the Debian packages mdr needs to build, test,
# demo and benchmark. Installs only what is missing; safe to run repeatedly.
# qemu-system-x86, linux-image-amd64 (its kernel and modules go into the
# test VMs' image, tools/vm/build-image.sh; the host does not boot it),
# busybox-static, cpio, kmod and libc6-dev (static glibc): the real-VM suite.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev libxdp-dev libelf-dev zlib1g-dev
bpftool xdp-tools iproute2 libjansson-dev libmnl-dev libssl-dev libcmocka-dev
curl wrk nginx-light tcpdump python3 python3-scapy cloud-init python3-botocore amazon-ec2-utils
iperf3 gnuplot-nox util-linux procps libclang-rt-14-dev ethtool
systemd libnftables-dev nftables libisofs-dev xorriso genisoimage mtools dosfstools
python3-nova libmicrohttpd-dev libsystemd-dev prometheus debhelper lintian dpkg-dev
qemu-system-x86 linux-image-amd64 busybox-static cpio kmod libc6-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Another apt (a parallel build, unattended upgrades) may hold the
	# locks for a while: wait for them rather than fail.
	apt() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
	tries=0
	until apt update -qq; do
		tries=$((tries + 1))
		[ "$tries" -lt 60 ] || exit 1
		sleep 5
	done
	# cloud-init and nginx would start services on a real host; we only need
	# their code. policy-rc.d keeps services from starting during install.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt install -y -qq --no-install-recommends $missing >/dev/null
fi

# bpffs: mdr pins its maps there (the default pin directory).
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
exit 0
