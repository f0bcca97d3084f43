#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Steady guest traffic for the soak (tests/e2e/e2e_soak.sh) and the fault
suite, run inside a guest namespace until the file --stop exists. One thread
per --mode, each paced to --rate requests per second:
  keepalive  GET meta_data.json over one persistent connection (a
             connection the server closed between requests is reopened and
             the request sent again once, as any HTTP/1.1 client does)
  newconn    GET instance-id on a new connection each time
  token      PUT an IMDSv2 token (re-minted every TOKEN_REFRESH_S), GETs with it
  userdata   GET user_data, compared with --ud-sha256 (64 KiB)
A request succeeds on status 200 with the expected body (meta_data.json
parses and names --uuid; instance-id is --iid; user data hashes right).
Every second --out is rewritten (atomically) with one line per mode:
  MODE ok=N failed=N
and each failure is printed on stderr as "fail MODE T_S: why" (T_S seconds
since the start)."""
import argparse
import hashlib
import http.client
import json
import os
import sys
import threading
import time

META = "169.254.169.254"
TIMEOUT_S = 2.0          # per request: far above a healthy answer (ms)
TOKEN_REFRESH_S = 30     # re-mint the token this often (TTL is longer)
TOKEN_TTL_S = 300

ap = argparse.ArgumentParser()
ap.add_argument("--stop", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--mode", action="append", required=True)
ap.add_argument("--rate", type=float, default=20.0)
ap.add_argument("--uuid", default="")
ap.add_argument("--iid", default="")
ap.add_argument("--ud-sha256", default="")
a = ap.parse_args()

START = time.monotonic()
lock = threading.Lock()
counts = {m: [0, 0] for m in a.mode}


def record(mode, good, why=""):
    with lock:
        counts[mode][0 if good else 1] += 1
    if not good:
        print("fail %s %.3f: %s" % (mode, time.monotonic() - START, why),
              file=sys.stderr, flush=True)


def check_body(mode, status, body):
    if status != 200:
        return "status %d" % status
    if mode == "keepalive" or mode == "token":
        try:
            d = json.loads(body)
        except ValueError as e:
            return "meta_data.json does not parse: %s" % e
        if a.uuid and d.get("uuid") != a.uuid:
            return "uuid %r" % d.get("uuid")
    elif mode == "newconn":
        if a.iid and body.decode(errors="replace") != a.iid:
            return "instance-id %r" % body[:80]
    elif mode == "userdata":
        h = hashlib.sha256(body).hexdigest()
        if a.ud_sha256 and h != a.ud_sha256:
            return "user data of %d bytes, sha256 %s" % (len(body), h[:16])
    return ""


def one(conn, method, path, hdr):
    conn.request(method, path, headers=hdr)
    r = conn.getresponse()
    return r.status, r.read()


def worker(mode):
    period = 1.0 / a.rate
    conn = None
    token, token_t = "", 0.0
    nxt = time.monotonic()
    while not os.path.exists(a.stop):
        why = ""
        try:
            hdr = {}
            if mode == "token":
                if not token or time.monotonic() - token_t > TOKEN_REFRESH_S:
                    c = http.client.HTTPConnection(META, 80, timeout=TIMEOUT_S)
                    st, body = one(c, "PUT", "/latest/api/token",
                                   {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)})
                    c.close()
                    if st != 200:
                        raise RuntimeError("token PUT: status %d" % st)
                    token, token_t = body.decode(), time.monotonic()
                hdr = {"X-aws-ec2-metadata-token": token}
            path = {"keepalive": "/openstack/latest/meta_data.json",
                    "token": "/openstack/latest/meta_data.json",
                    "newconn": "/latest/meta-data/instance-id",
                    "userdata": "/openstack/latest/user_data"}[mode]
            if mode == "keepalive" and conn is not None:
                try:
                    st, body = one(conn, "GET", path, hdr)
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError, http.client.CannotSendRequest):
                    conn.close()  # closed between requests: reopen, send again
                    conn = None
            if conn is None or mode != "keepalive":
                if conn is None:
                    conn = http.client.HTTPConnection(META, 80, timeout=TIMEOUT_S)
                st, body = one(conn, "GET", path, hdr)
            if mode != "keepalive":
                conn.close()
                conn = None
            why = check_body(mode, st, body)
            if why and mode == "token" and st == 401:
                token = ""  # e.g. its key rotated out: mint again next time
        except Exception as e:  # timeouts, resets, refused
            why = "%s: %s" % (type(e).__name__, e)
            if conn is not None:
                conn.close()
            conn = None
        record(mode, not why, why)
        nxt += period
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()


def write_out():
    with lock:
        text = "".join("%s ok=%d failed=%d\n" % (m, c[0], c[1]) for m, c in counts.items())
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, a.out)


threads = [threading.Thread(target=worker, args=(m,), daemon=True) for m in a.mode]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    write_out()
    time.sleep(1)
write_out()
