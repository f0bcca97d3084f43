#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Export one instance's metadata tree as static files for nginx.

Crawls exactly the paths cloud-init (OpenStack and EC2 crawls) and wrk use,
through one of these sources, and writes them under DOCROOT:
  --mdrctl "CMD..." --uuid U   bytes from `CMD get U PATH` (what a guest gets)
  --http http://ADDR           a running responder (run inside a guest netns)
  --synthetic                  a built-in nova-shaped tree (used only while
                               mdr's own tools cannot serve yet)
A listing is stored as DIR/.index (nginx: try_files $uri/.index $uri), a
leaf as the file itself. Prints one line per exported path to --list, in
the form "STATUS PATH", which is also the crawl sequence the boot storm
client falls back to.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

OPENSTACK_NEWEST_KNOWN = "2018-08-27"  # newest version cloud-init 22.4 asks for
EC2_VERSIONS = ["latest", "2009-04-04"]
MAX_PATHS = 2000  # a crawl of one instance is ~100 paths; bounds a loop in a bad tree


def synthetic_tree(user_data_len):
    """A nova-shaped tree for one instance (the tree docs/instance-definition.md describes)."""
    uuid = "d6a1b1b0-3c1e-4a8e-9d5e-0b2a5c1f0001"
    ud = (b"#cloud-config\n# bench user data\n" + b"x" * user_data_len)[:user_data_len]
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyBenchKeyBenchKeyBenchKeyBenchKey bench"
    files = [{"path": "/etc/bench.conf", "content_path": "/content/0000"}]
    md = {
        "uuid": uuid, "hostname": "bench-0001", "name": "bench-0001",
        "launch_index": 0, "availability_zone": "nova",
        "meta": {"role": "bench"}, "files": files,
        "public_keys": {"mykey": key},
        "keys": [{"name": "mykey", "type": "ssh", "data": key}],
        "random_seed": base64.b64encode(hashlib.sha512(b"seed").digest() * 8).decode(),
        "project_id": "0123456789abcdef0123456789abcdef",
        "devices": [],
    }
    t = {}
    osv = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
           "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "2025-04-04", "latest"]
    t["/openstack"] = "\n".join(osv).encode()
    for v in osv:
        t["/openstack/%s" % v] = b"\n".join([b"meta_data.json", b"user_data", b"password",
                                              b"vendor_data.json", b"network_data.json",
                                              b"vendor_data2.json"])
        t["/openstack/%s/meta_data.json" % v] = json.dumps(md).encode()
        t["/openstack/%s/user_data" % v] = ud
        t["/openstack/%s/password" % v] = b""
        t["/openstack/%s/vendor_data.json" % v] = b"{}"
        t["/openstack/%s/vendor_data2.json" % v] = b'{"static": {}}'
        t["/openstack/%s/network_data.json" % v] = b"{}"
    t["/openstack/content/0000"] = b"bench=1\n"
    leaves = {
        "ami-id": "ami-00000001", "ami-launch-index": "0", "ami-manifest-path": "FIXME",
        "hostname": "bench-0001.novalocal", "instance-action": "none",
        "instance-id": "i-00000001", "instance-type": "m1.small",
        "local-hostname": "bench-0001.novalocal", "local-ipv4": "169.254.1.1",
        "public-hostname": "bench-0001.novalocal", "public-ipv4": "",
        "reservation-id": "r-bench001", "security-groups": "default",
    }
    t["/"] = b"\n".join(x.encode() for x in ["1.0", "2007-01-19", "2007-03-01", "2007-08-29",
                                              "2007-10-10", "2007-12-15", "2008-02-01",
                                              "2008-09-01", "2009-04-04", "latest"])
    for v in EC2_VERSIONS:
        b = "/%s/meta-data" % v
        t["/" + v] = b"meta-data/\nuser-data"
        t["/%s/user-data" % v] = ud
        keys = sorted(list(leaves) + ["block-device-mapping/", "placement/", "public-keys/"])
        t[b] = "\n".join(keys).encode()
        for k, val in leaves.items():
            t["%s/%s" % (b, k)] = val.encode()
        t[b + "/block-device-mapping"] = b"ami\nroot"
        t[b + "/block-device-mapping/ami"] = b"vda"
        t[b + "/block-device-mapping/root"] = b"/dev/vda"
        t[b + "/placement"] = b"availability-zone"
        t[b + "/placement/availability-zone"] = b"nova"
        t[b + "/public-keys"] = b"0=mykey"
        t[b + "/public-keys/0"] = b"openssh-key"
        t[b + "/public-keys/0/openssh-key"] = key.encode()

    def get(path):
        body = t.get(path.rstrip("/") or "/")
        return (200, body) if body is not None else (404, b"")
    return get


def mdrctl_getter(cmd, uuid):
    """`mdrctl get` prints the response as the guest gets it: a status line,
    headers, a blank line, then the body (bare body accepted too)."""
    argv = cmd.split()

    def get(path):
        p = subprocess.run(argv + ["get", uuid, path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=10, check=False)
        out = p.stdout
        if out.startswith(b"HTTP/"):
            for sep in (b"\r\n\r\n", b"\n\n"):
                head, found, body = out.partition(sep)
                if found:
                    return int(head.split()[1]), body
            return int(out.split()[1]), b""
        return (200, out) if p.returncode == 0 else (404, b"")
    return get


def http_getter(base):
    def get(path):
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""
    return get


def lines(body):
    return [x for x in body.decode(errors="replace").split("\n") if x]


def crawl(get):
    """Yields (status, path, body, is_listing) in cloud-init's order."""
    seen = set()

    def visit(path, listing):
        if path in seen or len(seen) >= MAX_PATHS:
            return None
        seen.add(path)
        st, body = get(path)
        out.append((st, path, body, listing))
        return body if st == 200 else None

    out = []
    visit("/", True)
    vers = visit("/openstack", True)
    for v in (lines(vers) if vers else []):
        files = visit("/openstack/%s" % v, True)
        for f in (lines(files) if files else []):
            body = visit("/openstack/%s/%s" % (v, f), False)
            if f == "meta_data.json" and body:
                for ent in json.loads(body).get("files", []):
                    visit("/openstack" + ent["content_path"], False)
        for f in ("vendor_data2.json", "network_data.json", "vendor_data.json", "user_data"):
            visit("/openstack/%s/%s" % (v, f), False)  # asked even if unlisted (404 ok)

    def ec2_dir(path):
        body = visit(path + "/", True)
        for k in (lines(body) if body else []):
            if k.endswith("/"):
                ec2_dir(path + "/" + k[:-1])
            elif "=" in k:  # public-keys: "0=name" -> 0/openssh-key
                idx = k.split("=", 1)[0]
                sub = visit("%s/%s/" % (path, idx), True)
                for leaf in (lines(sub) if sub else []):
                    visit("%s/%s/%s" % (path, idx, leaf), False)
            else:
                visit(path + "/" + k, False)

    for v in EC2_VERSIONS:
        visit("/" + v, True)
        visit("/%s/user-data" % v, False)
        ec2_dir("/%s/meta-data" % v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docroot", required=True)
    ap.add_argument("--list", required=True, help="write 'STATUS PATH' lines here")
    ap.add_argument("--mdrctl")
    ap.add_argument("--uuid")
    ap.add_argument("--http")
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--user-data-len", type=int, default=16384)
    a = ap.parse_args()
    if a.mdrctl:
        get = mdrctl_getter(a.mdrctl, a.uuid)
    elif a.http:
        get = http_getter(a.http.rstrip("/"))
    else:
        get = synthetic_tree(a.user_data_len)
    n = 0
    with open(a.list, "w") as lf:
        for st, path, body, listing in crawl(get):
            lf.write("%d %s\n" % (st, path))
            if st != 200:
                continue
            rel = path.strip("/")
            dest = os.path.join(a.docroot, rel, ".index") if listing else os.path.join(a.docroot, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(body)
            n += 1
    if n == 0:
        sys.exit("export: nothing exported")
    print("exported %d paths" % n)


if __name__ == "__main__":
    main()
