#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Act as QEMU does on a multi-queue tap, and time the responder.

mqtap.py TAP PIN_DIR [SETTLE_S]   (run in the tap's namespace)

Opens 2 queues of the multi_queue tap TAP (-netdev tap,queues=2), detaches
queue 1 at once (QEMU does until the guest enables its second queue pair),
prints "detached" and waits for a line on stdin (the caller starts mdrd
and the responder meanwhile: mdrd sees one queue in use), waits SETTLE_S
(default 1) seconds, then attaches queue 1 again (TUNSETQUEUE, as when the
guest's virtio-net driver starts). Prints "ok<TAB>..." or "fail<TAB>..."
lines (lib.sh tap_lines): whether the responder registered a socket for
(TAP, queue 1) in PIN_DIR/mdr_xsk_slot within the bound, and how long it
took, and whether it stays while queue 1 is detached again.
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
TUNSETQUEUE = 0x400454D9
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
IFF_ATTACH_QUEUE = 0x0200
IFF_DETACH_QUEUE = 0x0400
# How soon a new queue must have its socket: the responder polls a tap that
# waits for queues every 50 ms; the rest is a sync and this script's polling
# (a bpftool run per look, tens of ms on a loaded machine).
BOUND_S = 0.4
# Seconds queue 1 stays detached at the end: several responder syncs.
KEEP_S = 0.5
# How long to keep looking before calling it missing.
GIVE_UP_S = 12


def ifreq(name, flags):
    return struct.pack("16sH22x", name.encode(), flags)


def registered(pin, ifindex, queue):
    key = [str(b) for b in struct.pack("<II", ifindex, queue)]
    r = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", f"{pin}/mdr_xsk_slot",
                        "key"] + key, capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip().startswith("{")


def main():
    tap, pin = sys.argv[1], sys.argv[2]
    settle = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    ifindex = socket.if_nametoindex(tap)
    fds = []
    for _ in range(2):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, ifreq(tap, IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
        fds.append(fd)
    fcntl.ioctl(fds[1], TUNSETQUEUE, ifreq("", IFF_DETACH_QUEUE))
    print("detached", flush=True)
    sys.stdin.readline()
    time.sleep(settle)
    had = registered(pin, ifindex, 1)
    t0 = time.monotonic()
    fcntl.ioctl(fds[1], TUNSETQUEUE, ifreq("", IFF_ATTACH_QUEUE))
    took = None
    while time.monotonic() - t0 < GIVE_UP_S:
        if registered(pin, ifindex, 1):
            took = time.monotonic() - t0
            break
        time.sleep(0.01)
    if had:
        print(f"fail\t{tap}: no socket on queue 1 while it was detached\tregistered before the attach")
    elif took is None:
        print(f"fail\t{tap}: a socket on queue 1 within {BOUND_S * 1000:.0f} ms of its attach"
              f"\tnone after {GIVE_UP_S} s")
    else:
        print(("ok" if took <= BOUND_S else "fail") +
              f"\t{tap}, opened by its VMM before mdrd started: a socket on queue 1 within {BOUND_S * 1000:.0f} ms of its attach (TUNSETQUEUE)"
              f"\ttook {took * 1000:.0f} ms")
    if took is not None:
        print(f"mqtap\tqueue 1 registered {took * 1000:.0f} ms after its attach\t")
        # A guest that disables its second pair (reboot, ethtool -L) may
        # enable it again: the socket stays.
        fcntl.ioctl(fds[1], TUNSETQUEUE, ifreq("", IFF_DETACH_QUEUE))
        time.sleep(KEEP_S)
        print(("ok" if registered(pin, ifindex, 1) else "fail") +
              f"\t{tap}: the queue-1 socket stays while queue 1 is detached again\tgone after {KEEP_S} s")
    for fd in fds:
        os.close(fd)


if __name__ == "__main__":
    main()
