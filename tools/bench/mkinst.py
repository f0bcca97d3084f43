#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Generate the bench's instance definitions from a template.

mkinst.py TEMPLATE OUTDIR --count N [--first K] [--port-fmt tap%d]
          [--ports M] [--user-data-len BYTES] [--fast] [--prefix NAME]

Writes OUTDIR/NAME-<i>.json for i in K..K+N-1: the template (a full
definition such as tests/data/instances/vm1.json) with its own uuid, name,
hostname, instance id, address, and user data of BYTES bytes (a cloud-config
header plus content unique to the instance, so nothing is shared between
instances). Instances i <= M get binding {"port": port-fmt % i}; the others
are loaded unbound (the scale test only stores them). --fast raises the
per-instance XDP rate and connection limits so that throughput runs measure
the responder, not the limiter (the flood test keeps the template's limits).
Also writes --content (default OUTDIR/../NAME.content): "<file> <unique content bytes>" per
instance, the bytes a guest can read once: decoded user data and files plus
the compact JSON of everything else.
"""
import argparse
import base64
import copy
import hashlib
import json
import os

# Limits for throughput runs: far above what 2 cores can push, within the ABI.
FAST_RATE_PPS = 10000000   # MDR_MAX_RATE_PPS
FAST_BURST = 1000000
FAST_MAX_CONNECTIONS = 1024  # wrk -c32 x 4 guests with room for TIME_WAIT


# Device buses the definition parser accepts (nova's DeviceBus kinds); the
# vm1.json template names a "virtio" disk bus, which it rejects today.
KNOWN_BUSES = {"pci", "usb", "scsi", "ide", "xen", "none"}


def user_data(i, length):
    head = b"#cloud-config\n# mdr bench instance %d\n" % i
    body = b""
    n = 0
    while len(head) + len(body) < length:  # unique, incompressible-ish per instance
        body += hashlib.sha256(b"%d:%d" % (i, n)).hexdigest().encode() + b"\n"
        n += 1
    return (head + body)[:length]


def unique_bytes(doc):
    d = copy.deepcopy(doc)
    n = 0
    if "user_data" in d:
        n += len(base64.b64decode(d.pop("user_data")))
    for f in d.get("files", []):
        n += len(base64.b64decode(f.pop("content", "")))
    return n + len(json.dumps(d, separators=(",", ":")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--ports", type=int, default=None, help="bind instances first..M")
    ap.add_argument("--port-fmt", default="tap%d")
    ap.add_argument("--user-data-len", type=int, default=16384)
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--prefix", default="bench")
    ap.add_argument("--content", help="sizes file (default OUTDIR/../PREFIX.content)")
    a = ap.parse_args()
    with open(a.template) as f:
        tmpl = json.load(f)
    os.makedirs(a.outdir, exist_ok=True)
    last = a.first + a.count - 1
    ports = last if a.ports is None else a.ports
    sizes = []
    for i in range(a.first, last + 1):
        d = copy.deepcopy(tmpl)
        tag = "%s%d" % (a.prefix, i)
        h = hashlib.sha256(tag.encode()).hexdigest()
        d["uuid"] = "%s-%s-4%s-8%s-%s" % (h[0:8], h[8:12], h[13:16], h[17:20], h[20:32])
        d["name"] = tag
        d["hostname"] = tag + ".novalocal"
        d["user_data"] = base64.b64encode(user_data(i, a.user_data_len)).decode()
        if i <= ports:
            d["binding"] = {"port": a.port_fmt % i}
        else:
            d.pop("binding", None)
        for dev in d.get("devices", []):
            if dev.get("bus") not in KNOWN_BUSES:
                dev["bus"] = "none"
        ec2 = d.setdefault("ec2", {})
        ec2["instance_id"] = "i-%08x" % i
        ec2["local_ipv4"] = "10.99.0.%d" % (10 + i) if i < 246 else "10.98.%d.%d" % (i // 250, i % 250)
        if a.fast:
            im = d.setdefault("imds", {})
            im["rate_pps"] = FAST_RATE_PPS
            im["burst"] = FAST_BURST
            im["max_connections"] = FAST_MAX_CONNECTIONS
        name = "%s.json" % tag
        with open(os.path.join(a.outdir, name), "w") as f:
            json.dump(d, f, indent=1)
        sizes.append((name, unique_bytes(d)))
    cfile = a.content or os.path.join(os.path.dirname(os.path.abspath(a.outdir)), a.prefix + ".content")
    with open(cfile, "w") as f:
        for name, n in sizes:
            f.write("%s %d\n" % (name, n))


if __name__ == "__main__":
    main()
