#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Guest side of the change-notification tests (issue 18), stdlib only.

longpoll.py delay PATH N CMD...
    N times: GET PATH (its ETag E), send GET PATH?wait_for_change=true&
    last_etag=E, wait until the responder acknowledged every request byte
    (SIOCOUTQ == 0: it has the request), run CMD (in the shell, with
    {i} replaced by the round), read the answer. Prints one JSON object:
    delays_ms (CMD start -> answer complete), and for the last round the
    status, old and new ETag and body.
hold N PATH READY_FILE [--expect-held K]
    open N connections, each sending GET PATH (a long-poll); once the
    responder acknowledged every request (+ 0.5 s) writes READY_FILE: "held H" (no answer yet) then one line per early
    answer "status S"; then keeps the connections until killed.
get PATH [HEADER:VALUE ...]
    one GET: prints JSON {status, headers, body (text)}.
"""
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time
import fcntl
import threading

HOST = os.environ.get("META_HOST", "169.254.169.254")
SIOCOUTQ = 0x5411  # TIOCOUTQ: bytes not yet acknowledged by the peer


def request(path, headers=()):
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, HOST, h)).encode()


def read_response(s, timeout):
    """status, headers (lower-case names), body; None on timeout/close."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    if status == 304:
        n = 0
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            return None
        rest += d
    return status, hdrs, rest[:n]


def connect():
    s = socket.create_connection((HOST, 80), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def get(path, headers=()):
    s = connect()
    s.sendall(request(path, headers))
    r = read_response(s, 10)
    s.close()
    return r


def acked(s):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), SIOCOUTQ, b"\0\0\0\0"))[0] == 0


def cmd_delay(path, n, cmd):
    delays = []
    cmd_ms = []
    after_ms = []
    last = {}
    sep = "&" if "?" in path else "?"
    for i in range(n):
        st, h, _ = get(path)
        etag = h["etag"].strip('"')
        s = connect()
        s.sendall(request("%s%swait_for_change=true&last_etag=%s&timeout_sec=30" % (path, sep, etag)))
        end = time.monotonic() + 5
        while not acked(s) and time.monotonic() < end:
            select.select([], [], [], 0.001)
        got = {}

        def reader():
            got["r"] = read_response(s, 30)
            got["t"] = time.monotonic()
        th = threading.Thread(target=reader)
        th.start()
        t0 = time.monotonic()
        subprocess.run(cmd.replace("{i}", str(i)), shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        tc = time.monotonic()
        th.join()
        r, t1 = got.get("r"), got.get("t", 0)
        s.close()
        cmd_ms.append((tc - t0) * 1000.0)
        after_ms.append((t1 - tc) * 1000.0)
        if r is None:
            print(json.dumps({"error": "no answer", "round": i}))
            return 1
        delays.append((t1 - t0) * 1000.0)
        last = {"status": r[0], "old_etag": h["etag"], "new_etag": r[1].get("etag"),
                "body": r[2].decode("utf-8", "replace")}
    d = sorted(delays)
    last["delays_ms"] = delays
    last["p50_ms"] = d[len(d) // 2]
    last["p99_ms"] = d[min(len(d) - 1, (len(d) * 99) // 100)]
    last["max_ms"] = d[-1]
    # answer time - CMD's exit: negative when the guest had the answer
    # before CMD exited (the change is made inside CMD)
    last["max_after_cmd_ms"] = max(after_ms)
    c = sorted(cmd_ms)
    last["cmd_p50_ms"] = c[len(c) // 2]  # CMD alone, start to exit
    last["cmd_p99_ms"] = c[min(len(c) - 1, (len(c) * 99) // 100)]
    print(json.dumps(last))
    return 0


HOLD_BATCH = 32  # connections opened at once (then acknowledged) by hold


def cmd_hold(n, path, ready):
    socks = []
    pending = set()
    for first in range(0, n, HOLD_BATCH):
        batch = []
        for _ in range(min(HOLD_BATCH, n - first)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((HOST, 80))
            except BlockingIOError:
                pass
            batch.append(s)
        socks += batch
        todo = set(batch)
        end = time.monotonic() + 10
        while todo and time.monotonic() < end:
            _, w, _ = select.select([], list(todo), [], 0.5)
            for s in w:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    s.sendall(request(path))
                todo.discard(s)
        pending |= todo
        end = time.monotonic() + 10
        while time.monotonic() < end and not all(acked(s) for s in batch if s not in todo):
            select.select([], [], [], 0.005)
    early = []
    live = [s for s in socks if s not in pending]
    # the responder has every request once it acknowledged its bytes (it
    # answers or holds a request as it arrives); then refusals are in
    end = time.monotonic() + 10
    while time.monotonic() < end and not all(acked(s) for s in live):
        select.select([], [], [], 0.01)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        r, _, _ = select.select(live, [], [], max(0, end - time.monotonic()))
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            early.append(d.split(b" ")[1].decode() if d.startswith(b"HTTP/") else "closed")
            live.remove(s)
            s.close()  # refused: a client lets the connection go
    with open(ready + ".tmp", "w") as f:
        f.write("held %d\n" % len(live))
        for e in early:
            f.write("status %s\n" % e)
        f.write("unconnected %d\n" % len(pending))
    os.rename(ready + ".tmp", ready)
    while True:
        time.sleep(3600)


def main():
    a = sys.argv[1:]
    if a[0] == "delay":
        return cmd_delay(a[1], int(a[2]), " ".join(a[3:]))
    if a[0] == "hold":
        return cmd_hold(int(a[1]), a[2], a[3])
    if a[0] == "get":
        r = get(a[1], [tuple(x.split(":", 1)) for x in a[2:]])
        print(json.dumps({"status": r[0], "headers": r[1], "body": r[2].decode("utf-8", "replace")}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
