#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""IP TTL / IPv6 hop limit of the responder's replies, seen on the guest's
own eth0 (scapy capture inside the guest namespace).

sec_hoplimit.py [--iface eth0] [--addr 169.254.169.254 | fe80::a9fe:a9fe%eth0]

Makes, each on its own connection: a token PUT; a GET; then on one
keep-alive connection a PUT followed by a GET (botocore's pattern). Prints
one JSON object: the TTLs of the segments carrying each reply's bytes
("put", "get", "ka_put", "ka_get": lists) and of the SYN-ACKs ("synack").
"""
import argparse
import json
import os
import sys
import threading
import time

from scapy.all import IP, TCP, AsyncSniffer, IPv6, conf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sec_http  # noqa: E402

# Seconds to wait for the capture to hold every reply segment we saw arrive.
CAPTURE_WAIT_S = 3.0
GET_PATH = "/latest/meta-data/instance-id"
PUT = sec_http.build("PUT", sec_http.TOKEN_PATH, [(sec_http.TTL_HDR, "60")])
GET = sec_http.build("GET", GET_PATH)


def one(addr, raw):
    s = sec_http.connect(addr)
    port = s.getsockname()[1]
    s.sendall(raw)
    r = sec_http.read_resp(s, time.monotonic() + sec_http.REQ_TIMEOUT_S)
    s.close()
    return port, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--addr", default=sec_http.META)
    a = ap.parse_args()
    conf.verb = 0
    ready = threading.Event()
    sn = AsyncSniffer(iface=a.iface, filter="tcp and src port 80", store=True,
                      started_callback=ready.set)
    sn.start()
    if not ready.wait(5):
        print(json.dumps({"error": "capture did not start"}))
        return 1
    res = {"status": {}}
    p_put, r = one(a.addr, PUT)
    res["status"]["put"] = r.status
    p_get, r = one(a.addr, GET)
    res["status"]["get"] = r.status
    s = sec_http.connect(a.addr)
    p_ka = s.getsockname()[1]
    s.sendall(PUT)
    r = sec_http.read_resp(s, time.monotonic() + sec_http.REQ_TIMEOUT_S)
    res["status"]["ka_put"] = r.status
    s.sendall(GET)
    r = sec_http.read_resp(s, time.monotonic() + sec_http.REQ_TIMEOUT_S)
    res["status"]["ka_get"] = r.status
    s.close()

    def ttl(p):
        return p[IP].ttl if IP in p else p[IPv6].hlim

    def payload_segs(port):
        return [p for p in (sn.results or [])
                if TCP in p and p[TCP].dport == port and len(p[TCP].payload) > 0]

    # Wait (bounded) until the capture thread has taken in every reply.
    end = time.monotonic() + CAPTURE_WAIT_S
    while time.monotonic() < end:
        if payload_segs(p_put) and payload_segs(p_get) and len(payload_segs(p_ka)) >= 2:
            break
        time.sleep(0.02)
    sn.stop()
    res["put"] = [ttl(p) for p in payload_segs(p_put)]
    res["get"] = [ttl(p) for p in payload_segs(p_get)]
    ka = payload_segs(p_ka)
    # Each reply fits one segment; in order: the PUT's, then the GET's.
    res["ka_put"] = [ttl(p) for p in ka[:1]]
    res["ka_get"] = [ttl(p) for p in ka[1:]]
    res["synack"] = sorted({ttl(p) for p in sn.results or []
                            if TCP in p and int(p[TCP].flags) & 0x12 == 0x12})
    res["family"] = 6 if any(IPv6 in p for p in sn.results or []) else 4
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
