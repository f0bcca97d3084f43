#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Crawl an instance's whole metadata tree and print one line per path:
  PATH<TAB>STATUS<TAB>LENGTH<TAB>SHA256
following every listing (a path ending in "/") from the roots below, in
sorted order, so two crawls of the same tree print the same lines.

crawl.py guest                       inside a guest namespace: HTTP GETs to
                                     169.254.169.254 (what the guest gets)
crawl.py render MDRCTL PIN UUID      the renderer's bytes: `MDRCTL --pin-dir
                                     PIN get UUID PATH` for each path (what
                                     the guest must get)
Both walk the same listings, so equal output = byte-exact tree."""
import hashlib
import http.client
import json
import subprocess
import sys

# Fields made fresh for every request (OpenStack's random_seed): their
# value is replaced before hashing, their presence still counts.
VOLATILE = ("random_seed",)
ROOTS = ["/", "/openstack/", "/openstack/latest/", "/latest/", "/latest/meta-data/"]
MAX_PATHS = 400  # a definition's tree is a few dozen paths
TIMEOUT_S = 3


def fetch_guest(path):
    c = http.client.HTTPConnection("169.254.169.254", 80, timeout=TIMEOUT_S)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def fetch_render(mdrctl, pin, uuid):
    def f(path):
        out = subprocess.run([mdrctl, "--pin-dir", pin, "get", uuid, path],
                             capture_output=True, timeout=10).stdout
        head, sep, body = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = out.partition(b"\n\n")
        first = head.split(b"\n", 1)[0].split()
        status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0
        return status, body
    return f


def children(path, body):
    out = []
    for line in body.decode(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("/") or ".." in line:
            continue
        if "=" in line:  # EC2 public-keys listing: "0=alice" -> "0/"
            line = line.split("=", 1)[0] + "/"
        out.append(path + line)
    return out


def stable(path, body):
    if not path.endswith("meta_data.json"):
        return body
    try:
        d = json.loads(body)
    except ValueError:
        return body
    for k in VOLATILE:
        if k in d:
            d[k] = "(volatile)"
    return json.dumps(d, sort_keys=True).encode()


def crawl(fetch):
    seen, todo, lines = set(), list(ROOTS), []
    while todo and len(seen) < MAX_PATHS:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.add(p)
        try:
            st, body = fetch(p)
        except Exception as e:  # noqa: BLE001 - reported as a line
            lines.append("%s\terror\t0\t%s" % (p, type(e).__name__))
            continue
        lines.append("%s\t%d\t%d\t%s" % (p, st, len(body), hashlib.sha256(stable(p, body)).hexdigest()))
        if st == 200 and p.endswith("/"):
            todo.extend(sorted(children(p, body)))
    return sorted(lines)


def main():
    if sys.argv[1] == "guest":
        fetch = fetch_guest
    else:
        fetch = fetch_render(sys.argv[2], sys.argv[3], sys.argv[4])
    print("\n".join(crawl(fetch)))


main()
