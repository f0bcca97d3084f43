#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Attackers of e2e_security.sh's hostile-guest section (issue 12), run
inside a guest namespace with the guest's own TCP stack.

sec_hostile.py paths --duration S [--conns N] [--depth N] [--prefix P]
    404 flood: N keep-alive connections, each with N requests in flight
    (pipelined), every request for a path never asked before
    (P + a counter), for S seconds. Prints one JSON line: requests sent,
    answers by status, distinct paths, errors.
sec_hostile.py zerowin --count N --gets K [--path P] [--release FILE]
                       [--hold-max S]
    Zero-window hold: N connections with the smallest receive buffer the
    kernel allows, each sends K pipelined GETs of P and never reads, so
    its window falls to 0 and the kernel answers every zero-window probe
    of the server with window 0, for as long as the server keeps probing.
    Prints a JSON line once the requests are out (connected, refused,
    timed out, bytes received), then holds the sockets until FILE exists
    (at most S seconds) and prints a second one (sockets still
    established in the guest, bytes received) before closing them.
sec_hostile.py forge --src-mac MAC --dst-mac MAC --src-ip IP --duration S
                     [--rate N]
    Forged neighbour MAC: frames on an AF_PACKET socket with another
    guest's source MAC, N a second for S seconds: SYNs from new ports,
    and every GET_EVERY-th frame a GET (PSH+ACK) instead. Prints one JSON
    line: frames sent, TCP frames from the metadata address received.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time
import fcntl
import termios

META = "169.254.169.254"
# Smallest SO_RCVBUF: the kernel raises it to its floor (SOCK_MIN_RCVBUF).
TINY_RCVBUF = 1
# Seconds a connect may take before it counts as timed out.
CONNECT_TIMEOUT_S = 3.0
# TCP_INFO: the first byte is tcpi_state; 1 = ESTABLISHED.
TCP_ESTABLISHED = 1


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: {META}\r\n\r\n".encode()


def connect_all(n, rcvbuf=None):
    """n non-blocking connects -> (established sockets, refused, timed out)."""
    dst = (META, 80)
    pending = {}
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setblocking(False)
        try:
            s.connect(dst)
        except BlockingIOError:
            pass
        pending[s.fileno()] = s
    est, refused = [], 0
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        _, w, _ = select.select([], list(pending.values()), [], max(0, deadline - time.monotonic()))
        for s in w:
            del pending[s.fileno()]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                est.append(s)
            else:
                refused += 1
                s.close()
    for s in pending.values():
        s.close()
    return est, refused, len(pending)


# --------------------------------------------------------------------- paths

def responses(buf):
    """Complete responses at the head of buf -> (statuses, rest)."""
    out = []
    while True:
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return out, buf
        head = buf[:i].decode("latin-1").split("\r\n")
        clen = 0
        for ln in head[1:]:
            n, _, v = ln.partition(":")
            if n.strip().lower() == "content-length":
                clen = int(v)
        if len(buf) < i + 4 + clen:
            return out, buf
        out.append(int(head[0].split(" ", 2)[1]))
        buf = buf[i + 4 + clen:]


def cmd_paths(a):
    socks, refused, timed_out = connect_all(a.conns)
    st = {"sent": 0, "answered": 0, "status": {}, "errors": 0,
          "refused": refused, "timed_out": timed_out}
    state = {}  # fd -> [sock, buffer, in flight]
    n = 0
    end = time.monotonic() + a.duration

    def fill(s, ent):
        nonlocal n
        req = b""
        while ent[2] < a.depth:
            req += get(f"{a.prefix}{n}")
            n += 1
            ent[2] += 1
        if req:
            s.setblocking(True)
            s.sendall(req)
            s.setblocking(False)
            st["sent"] += req.count(b"GET ")

    for s in socks:
        state[s.fileno()] = [s, b"", 0]
        fill(s, state[s.fileno()])
    while state and time.monotonic() < end:
        r, _, _ = select.select([e[0] for e in state.values()], [], [], 0.2)
        for s in r:
            ent = state[s.fileno()]
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                st["errors"] += 1
                del state[s.fileno()]
                s.close()
                continue
            got, ent[1] = responses(ent[1] + chunk)
            for code in got:
                st["status"][str(code)] = st["status"].get(str(code), 0) + 1
            st["answered"] += len(got)
            ent[2] -= len(got)
            if time.monotonic() < end:
                fill(s, ent)
    st["distinct_paths"] = n
    for e in state.values():
        e[0].close()
    print(json.dumps(st), flush=True)
    return 0


# ------------------------------------------------------------------- zerowin

def queued(s):
    """Bytes received and not read (the guest's receive queue)."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def established(s):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return info[0] == TCP_ESTABLISHED


def cmd_zerowin(a):
    socks, refused, timed_out = connect_all(a.count, TINY_RCVBUF)
    req = get(a.path) * a.gets
    sent_ok = 0
    for s in socks:
        try:
            s.setblocking(True)
            s.settimeout(CONNECT_TIMEOUT_S)
            s.sendall(req)
            sent_ok += 1
        except OSError:
            pass
    # The first bytes arrive within a round trip; then the window is 0.
    time.sleep(0.2)
    print(json.dumps({"connected": len(socks), "refused": refused, "timed_out": timed_out,
                      "requests_sent": sent_ok * a.gets,
                      "bytes_received": sum(queued(s) for s in socks)}), flush=True)
    end = time.monotonic() + a.hold_max
    while a.release and not os.path.exists(a.release) and time.monotonic() < end:
        time.sleep(0.05)
    still = sum(1 for s in socks if established(s))
    print(json.dumps({"still_established": still,
                      "bytes_received": sum(queued(s) for s in socks)}), flush=True)
    for s in socks:
        s.close()
    return 0


# --------------------------------------------------------------------- forge

# One frame in GET_EVERY is a GET segment (as if a handshake had happened).
GET_EVERY = 50


def cmd_forge(a):
    import random
    from sec_amp import ETH_P_ALL, ETH_P_IP, F_ACK, F_PSH, F_SYN, PACKET_OUTGOING, csum
    smac = bytes.fromhex(a.src_mac.replace(":", ""))
    dmac = bytes.fromhex(a.dst_mac.replace(":", ""))
    src, dst = socket.inet_aton(a.src_ip), socket.inet_aton(META)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    s.setblocking(False)

    def frame(sport, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, 80, random.getrandbits(32),
                          random.getrandbits(32) if flags & F_ACK else 0, 5 << 4, flags,
                          65535, 0, 0) + payload
        c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000,
                         64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return dmac + smac + struct.pack("!H", ETH_P_IP) + ip + tcp

    st = {"sent": 0, "gets": 0, "replies": 0}
    ports = set()  # the forged flows' source ports: a reply goes to one

    def is_reply(fr, addr):
        if addr[2] == PACKET_OUTGOING or len(fr) < 34 or fr[12:14] != b"\x08\x00":
            return False
        l4 = 14 + (fr[14] & 0xf) * 4
        return (fr[23] == 6 and fr[26:30] == dst and len(fr) >= l4 + 4
                and struct.unpack("!H", fr[l4 + 2:l4 + 4])[0] in ports)

    end = time.monotonic() + a.duration
    nxt = time.monotonic()
    while time.monotonic() < end:
        while True:
            try:
                fr, addr = s.recvfrom(65536)
            except BlockingIOError:
                break
            if is_reply(fr, addr):
                st["replies"] += 1
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.001))
            continue
        nxt += 1.0 / a.rate
        if nxt < now - 0.1:
            nxt = now
        sport = random.randint(20000, 60000)
        ports.add(sport)
        if st["sent"] % GET_EVERY == GET_EVERY - 1:
            s.send(frame(sport, F_ACK | F_PSH, get("/latest/meta-data/instance-id")))
            st["gets"] += 1
        else:
            s.send(frame(sport, F_SYN))
        st["sent"] += 1
    time.sleep(0.2)  # replies in flight
    try:
        while True:
            fr, addr = s.recvfrom(65536)
            if is_reply(fr, addr):
                st["replies"] += 1
    except BlockingIOError:
        pass
    print(json.dumps(st), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("paths")
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--prefix", default="/latest/meta-data/no-such-")
    p = sub.add_parser("zerowin")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--gets", type=int, required=True)
    p.add_argument("--path", default="/openstack/latest/user_data")
    p.add_argument("--release")
    p.add_argument("--hold-max", type=float, default=60.0)
    p = sub.add_parser("forge")
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-ip", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--iface", default="eth0")
    a = ap.parse_args()
    return {"paths": cmd_paths, "zerowin": cmd_zerowin, "forge": cmd_forge}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
