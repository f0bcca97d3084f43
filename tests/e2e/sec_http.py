#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""HTTP probes of e2e_security.sh, run inside a guest namespace. Raw sockets
and hand-written requests, so that every byte (header case, duplicates,
sizes) is exactly what the test means to send.

sec_http.py put-matrix [--addr A]
    IMDSv2 token PUT rules: TTL 1..21600 -> 200 + token + TTL echoed; out of
    range, not decimal, empty, missing, repeated -> 400; X-Forwarded-For in
    any capitalisation -> 400. Prints helper lines for lib.sh tap_lines.
sec_http.py oversize --label L [--max-request N] [--addr A]
    Requests over the HTTP limits get their 4xx (414, 431, 413, 400) and
    the connection closes; a normal request on a new connection is still
    served. Helper lines.
sec_http.py conns --count N [--release FILE] [--hold-max S] [--addr A]
    Opens N connections at once and reports (one JSON line, flushed) how
    many were established / refused (RST for the SYN) / reset (RST after
    the handshake) / timed out; then holds them until
    FILE exists (at most S seconds), sends one GET on each established one
    (all sent before any answer is read), and prints a second JSON line: how
    many got 200, how many were reset.
sec_http.py seq --duration S [--interval MS] [--timeout T] [--path P]
               [--expect BODY] [--addr A]
    Sequential GETs, a new connection each (as cloud-init and curl), for S
    seconds, starting one at most every MS milliseconds (a request on an
    idle link takes ~0.2 ms: unpaced, one guest would exceed its own XDP
    packet rate and measure its own limit). Prints "sent=N ok=N failed=N p50_ms=F p99_ms=F max_ms=F" and
    the first failure reasons.
Helper lines: "ok<TAB>name", "fail<TAB>name<TAB>why".
"""
import argparse
import errno
import json
import os
import select
import socket
import sys
import time

META = "169.254.169.254"
TOKEN_PATH = "/latest/api/token"
TTL_HDR = "X-aws-ec2-metadata-token-ttl-seconds"
# Token length: base64url of 57 bytes (user/core/token.h MDR_TOKEN_LEN).
TOKEN_LEN = 76
# Seconds one probe request may take on an idle node.
REQ_TIMEOUT_S = 5.0
# Bytes sent per write while pushing an oversized request: small enough to
# notice the server's early answer and stop pushing into a closed window.
PUSH_CHUNK = 1024


def out(status, name, why=""):
    line = f"{status}\t{name}"
    if why:
        line += "\t" + " ".join(str(why).split())[:300]
    print(line, flush=True)


def connect(addr, timeout=REQ_TIMEOUT_S):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ai = socket.getaddrinfo(addr, 80, fam, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1], ai[2])
    s.settimeout(timeout)
    s.connect(ai[4])
    return s


def build(method, path, headers=(), body=b""):
    """headers: (name, value) pairs sent verbatim, in order."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 169.254.169.254"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Resp:
    def __init__(self, status, headers, body, closed):
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body
        self.closed = closed    # the server closed the connection after it


def read_resp(s, deadline):
    """One response (the server always sends Content-Length)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head ({len(buf)} bytes)")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        headers[n.strip().lower()] = v.strip()
    clen = int(headers.get("content-length", "0"))
    while len(rest) < clen:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        rest += chunk
    closed = False
    if headers.get("connection", "").lower() == "close":
        # The server promised to close: see the FIN (or a RST) arrive.
        try:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
    return Resp(status, headers, rest[:clen], closed)


def request(addr, raw, timeout=REQ_TIMEOUT_S):
    """raw bytes on a new connection -> Resp. Pushes in chunks and stops
    pushing as soon as the server answered (it may refuse early)."""
    deadline = time.monotonic() + timeout
    s = connect(addr, timeout)
    try:
        off = 0
        while off < len(raw):
            r, _, _ = select.select([s], [], [], 0)
            if r:
                break  # early answer (or close): read it
            s.settimeout(max(0.01, deadline - time.monotonic()))
            off += s.send(raw[off:off + PUSH_CHUNK])
        return read_resp(s, deadline)
    finally:
        s.close()


# ---------------------------------------------------------------- put-matrix

def cmd_put_matrix(a):
    ok_ttls = ["1", "60", "21600"]
    bad_ttls = [("0", "0"), ("21601", "21601"), ("100000", "100000"), ("-1", "-1"),
                ("abc", "non-numeric"), ("1.5", "1.5"), ("0x10", "0x10"), ("", "empty")]
    for v in ok_ttls:
        name = f"PUT token with TTL {v}: 200, a token, TTL header echoed"
        try:
            r = request(a.addr, build("PUT", TOKEN_PATH, [(TTL_HDR, v)]))
            tok = r.body.decode("latin-1")
            why = []
            if r.status != 200:
                why.append(f"status {r.status}")
            if len(tok) != TOKEN_LEN or not all(c.isalnum() or c in "-_" for c in tok):
                why.append(f"body {tok[:90]!r} is not a {TOKEN_LEN}-char base64url token")
            if r.headers.get(TTL_HDR.lower()) != v:
                why.append(f"TTL header {r.headers.get(TTL_HDR.lower())!r}")
            out("fail" if why else "ok", name, "; ".join(why))
        except OSError as e:
            out("fail", name, repr(e))
    cases = [(f"PUT token with TTL {d}: 400", [(TTL_HDR, v)]) for v, d in bad_ttls]
    cases += [
        ("PUT token without the TTL header: 400", []),
        ("PUT token with the TTL header twice: 400", [(TTL_HDR, "60"), (TTL_HDR, "60")]),
    ]
    for xff in ["X-Forwarded-For", "x-forwarded-for", "X-FORWARDED-FOR", "x-fOrWaRdEd-FoR"]:
        cases.append((f"PUT token (valid TTL) with '{xff}: 10.0.0.1': 400",
                      [(TTL_HDR, "60"), (xff, "10.0.0.1")]))
    cases.append(("PUT token (valid TTL) with an empty X-Forwarded-For: 400",
                  [(TTL_HDR, "60"), ("X-Forwarded-For", "")]))
    cases.append(("PUT token with X-Forwarded-For before the TTL header: 400",
                  [("X-Forwarded-For", "192.0.2.7, 10.0.0.1"), (TTL_HDR, "21600")]))
    for name, hdrs in cases:
        try:
            r = request(a.addr, build("PUT", TOKEN_PATH, hdrs))
            if r.status == 400 and r.headers.get(TTL_HDR.lower()) is None and len(r.body) < TOKEN_LEN:
                out("ok", name)
            else:
                out("fail", name, f"status {r.status}, headers {r.headers}, body {r.body[:80]!r}")
        except OSError as e:
            out("fail", name, repr(e))
    return 0


# ------------------------------------------------------------------ oversize

def cmd_oversize(a):
    L = a.label
    maxreq = a.max_request
    ok_path = "/latest/meta-data/instance-id"
    cases = [
        (f"{L}: request-target of 2000 bytes: 414",
         build("GET", "/latest/meta-data/" + "a" * 2000), {414}),
        (f"{L}: a 9000-byte header (head over 8 KiB): 431",
         build("GET", ok_path, [("X-Filler", "b" * 9000)]), {431}),
        (f"{L}: 100 header lines (over 64): 431",
         build("GET", ok_path, [(f"X-H{i}", "v") for i in range(100)]), {431}),
        (f"{L}: a 300-byte token header (over the kept-value limit): 431",
         build("GET", ok_path, [("X-aws-ec2-metadata-token", "t" * 300)]), {431}),
        (f"{L}: POST password with Content-Length 5000 (over the body limit): 413",
         build("POST", "/openstack/2013-04-04/password", [("Content-Length", "5000")]) + b"p" * 5000,
         {413}),
        (f"{L}: Content-Length 10 GB: 413",
         build("POST", "/openstack/2013-04-04/password", [("Content-Length", "10000000000")]), {413}),
        (f"{L}: 64 KiB of header bytes without a line end: 431",
         b"GET " + ok_path.encode() + b" HTTP/1.1\r\nX-Endless: " + b"c" * 65536, {431}),
        (f"{L}: 256 KiB request line without a line end: 414",
         b"GET /" + b"d" * 262144, {414}),
    ]
    if maxreq:
        # Under the global 8 KiB head limit, over this instance's max_request.
        pad = max(maxreq, 600)
        cases.append((f"{L}: a {pad}-byte header over the instance's max_request {maxreq}: 431",
                      build("GET", ok_path, [("X-Filler", "e" * pad)]), {431}))
    else:
        cases.append((f"{L}: a 4000-byte header (under every limit): 200",
                      build("GET", ok_path, [("X-Filler", "e" * 4000)]), {200}))
    for name, raw, want in cases:
        try:
            r = request(a.addr, raw)
            why = []
            if r.status not in want:
                why.append(f"status {r.status} (want {sorted(want)})")
            if r.status >= 400 and not r.closed:
                why.append("connection not closed after the error")
            out("fail" if why else "ok", name, "; ".join(why))
        except OSError as e:
            out("fail", name, repr(e))
    name = f"{L}: a normal request on a new connection is still served"
    try:
        r = request(a.addr, build("GET", ok_path))
        out("ok" if r.status == 200 and r.body else "fail", name, f"status {r.status}")
    except OSError as e:
        out("fail", name, repr(e))
    return 0


# --------------------------------------------------------------------- conns

def cmd_conns(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    dst = socket.getaddrinfo(a.addr, 80, fam, socket.SOCK_STREAM)[0][4]
    pending = {}
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(dst)
        except BlockingIOError:
            pass
        pending[s.fileno()] = s
    est, refused, reset, other = [], 0, 0, {}
    deadline = time.monotonic() + a.connect_timeout
    while pending and time.monotonic() < deadline:
        _, w, _ = select.select([], list(pending.values()), [], max(0, deadline - time.monotonic()))
        for s in w:
            del pending[s.fileno()]
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                est.append(s)
            elif err == errno.ECONNREFUSED:
                refused += 1
                s.close()
            elif err == errno.ECONNRESET:  # RST right after our ACK
                reset += 1
                s.close()
            else:
                other[errno.errorcode.get(err, str(err))] = other.get(errno.errorcode.get(err, str(err)), 0) + 1
                s.close()
    timed_out = len(pending)
    for s in pending.values():
        s.close()
    print(json.dumps({"established": len(est), "refused": refused, "reset": reset,
                      "timed_out": timed_out, "other": other}), flush=True)
    if a.release:
        end = time.monotonic() + a.hold_max
        while not os.path.exists(a.release) and time.monotonic() < end:
            time.sleep(0.02)
    # A GET on every connection before any answer is read: all of them
    # are open in the responder at once, also where its connections only
    # begin with their request (the handshake in XDP drops the guest's
    # handshake ACK). A connection the server refused after the handshake
    # (its SYN-ACK was a cookie, the returning ACK or request found the
    # instance full) is reset.
    served, reset, why, sent = 0, 0, [], []
    for s in est:
        try:
            s.setblocking(True)
            s.sendall(build("GET", "/latest/meta-data/instance-id"))
            sent.append(s)
        except (ConnectionResetError, BrokenPipeError):
            reset += 1
            s.close()
        except OSError as e:
            why.append(repr(e))
            s.close()
    for s in sent:
        try:
            r = read_resp(s, time.monotonic() + REQ_TIMEOUT_S)
            if r.status == 200:
                served += 1
            else:
                why.append(f"status {r.status}")
        except (ConnectionResetError, BrokenPipeError):
            reset += 1
        except OSError as e:
            why.append(repr(e))
        s.close()
    print(json.dumps({"served": served, "reset": reset, "errors": why[:5]}), flush=True)
    return 0


# ----------------------------------------------------------------------- seq

def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


def cmd_seq(a):
    raw = build("GET", a.path)
    want = a.expect.encode() if a.expect is not None else None
    lat, fails = [], []
    sent = 0
    end = time.monotonic() + a.duration
    nxt = time.monotonic()
    while time.monotonic() < end or sent < a.min:
        now = time.monotonic()
        if now < nxt:
            time.sleep(nxt - now)
        t0 = time.monotonic()
        nxt = t0 + a.interval / 1000.0
        sent += 1
        try:
            r = request(a.addr, raw, a.timeout)
            if r.status != 200 or (want is not None and r.body != want):
                fails.append(f"status {r.status} body {r.body[:40]!r}")
        except OSError as e:
            fails.append(repr(e))
        lat.append((time.monotonic() - t0) * 1000.0)
    lat.sort()
    print(f"sent={sent} ok={sent - len(fails)} failed={len(fails)} p50_ms={pct(lat, 50):.2f} "
          f"p99_ms={pct(lat, 99):.2f} max_ms={lat[-1]:.2f}")
    for f in fails[:5]:
        print("failure:", f)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("put-matrix")
    p.add_argument("--addr", default=META)
    p = sub.add_parser("oversize")
    p.add_argument("--label", required=True)
    p.add_argument("--max-request", type=int, default=0)
    p.add_argument("--addr", default=META)
    p = sub.add_parser("conns")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--connect-timeout", type=float, default=3.0)
    p.add_argument("--release")
    p.add_argument("--hold-max", type=float, default=10.0)
    p.add_argument("--addr", default=META)
    p = sub.add_parser("seq")
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=REQ_TIMEOUT_S)
    p.add_argument("--path", default="/latest/meta-data/instance-id")
    p.add_argument("--expect")
    p.add_argument("--addr", default=META)
    a = ap.parse_args()
    return {"put-matrix": cmd_put_matrix, "oversize": cmd_oversize, "conns": cmd_conns,
            "seq": cmd_seq}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
