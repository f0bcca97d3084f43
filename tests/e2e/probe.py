#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Crafted-frame probe (scapy), run inside a guest namespace: sends one TCP
SYN to the metadata endpoint with the given source MAC (possibly another
instance's), optional 802.1Q tag, and waits for a SYN-ACK.

probe.py --iface eth0 --src-mac MAC --src-ip IP --dst-mac MAC
         [--vlan N] [--dst 169.254.169.254] [--port 80] [--timeout S]
Prints "synack" (exit 0) or "none" (exit 1).
"""
import argparse
import random
import sys

from scapy.all import IP, TCP, Dot1Q, Ether, conf, srp1  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--src-ip", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", default="169.254.169.254")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--vlan", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1.0)
    a = ap.parse_args()
    conf.verb = 0
    # Replies to a spoofed MAC are not addressed to us: sniff promiscuously.
    conf.sniff_promisc = True
    l2 = Ether(src=a.src_mac, dst=a.dst_mac)
    if a.vlan:
        l2 = l2 / Dot1Q(vlan=a.vlan)
    sport = random.randint(20000, 60000)
    syn = l2 / IP(src=a.src_ip, dst=a.dst) / TCP(sport=sport, dport=a.port, flags="S",
                                                 seq=random.getrandbits(32))
    ans = srp1(syn, iface=a.iface, timeout=a.timeout)
    if ans is not None and ans.haslayer(TCP) and (int(ans[TCP].flags) & 0x12) == 0x12:
        print("synack")
        return 0
    print("none")
    return 1


if __name__ == "__main__":
    sys.exit(main())
