#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A slow, simple stand-in for a metadata service (a TEST DOUBLE, not mdr):
serves ONE instance definition in the nova layout with Python's http.server,
so the client harness (clients.py, verify.py) can be checked against the
same clients without mdr, and so that suites can show what happens with a
conventional host-stack server. It implements only what the harness needs:
the OpenStack and EC2 trees, IMDSv2 tokens (not bound to anything), the
password POST/GET and `mdrctl put`-like extra paths given with --extra.

fakemeta.py DEFN.json [--bind 169.254.169.254] [--port 80] [--extra PATH=FILE ...]
"""
import argparse
import base64
import json
import os
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OS_VERSIONS = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
               "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "2025-04-04"]
EC2_VERSIONS = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04"]
TEXT = "text/plain; charset=UTF-8"


def ec2_tree(d):
    e = d.get("ec2", {})
    t = {"ami-id": e.get("ami_id", ""), "ami-launch-index": str(d.get("launch_index", 0)),
         "ami-manifest-path": "FIXME", "hostname": d.get("hostname", ""),
         "instance-action": "none", "instance-id": e.get("instance_id", ""),
         "instance-type": e.get("instance_type", ""), "local-hostname": d.get("hostname", ""),
         "local-ipv4": e.get("local_ipv4", ""), "public-hostname": d.get("hostname", ""),
         "public-ipv4": e.get("public_ipv4", ""), "reservation-id": e.get("reservation_id", ""),
         "security-groups": "\n".join(e.get("security_groups", [])),
         "placement": {"availability-zone": d.get("availability_zone", "nova")},
         "block-device-mapping": e.get("block_device_mapping", {})}
    keys = d.get("public_keys") or {}
    if keys:
        name = next(iter(keys))
        t["public-keys"] = {"0=" + name: {"openssh-key": keys[name]}}
    return t


class State:
    defn = {}
    extra = {}
    password = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", ctype=TEXT, headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        self.body()
        if self.path.rstrip("/") == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400, "bad ttl")
            return self.reply(200, secrets.token_urlsafe(32),
                              headers=[("X-aws-ec2-metadata-token-ttl-seconds", ttl)])
        self.do_GET()

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        data = self.body()
        if self.path.startswith("/openstack/") and self.path.rstrip("/").endswith("/password"):
            if State.password is not None:
                return self.reply(409, "conflict")
            State.password = data
            return self.reply(200, b"")
        self.do_GET()

    def do_GET(self):
        d = State.defn
        p = os.path.normpath("/" + self.path.split("?")[0].lstrip("/"))
        if p in State.extra:
            return self.reply(200, State.extra[p])
        if p == "/":
            return self.reply(200, "\n".join(EC2_VERSIONS + ["latest"]))
        parts = p.strip("/").split("/")
        if parts[0] == "openstack":
            return self.openstack(d, parts[1:])
        if parts[0] == "ec2":
            parts = parts[1:]
        return self.ec2(d, parts)

    def openstack(self, d, parts):
        if not parts:
            return self.reply(200, "\n".join(OS_VERSIONS + ["latest"]))
        if parts[0] == "content" and len(parts) == 2:
            files = d.get("files", [])
            i = int(parts[1]) if parts[1].isdigit() else -1
            if 0 <= i < len(files):
                return self.reply(200, base64.b64decode(files[i]["content"]))
            return self.reply(404, "not found")
        if parts[0] not in OS_VERSIONS + ["latest"]:
            return self.reply(404, "not found")
        if len(parts) == 1:
            names = ["meta_data.json"] + (["user_data"] if "user_data" in d else []) + \
                ["password", "vendor_data.json", "network_data.json", "vendor_data2.json"]
            return self.reply(200, "\n".join(names))
        leaf = parts[1]
        if leaf == "meta_data.json":
            md = {k: d[k] for k in ("uuid", "hostname", "name", "launch_index",
                                   "availability_zone", "project_id", "meta", "public_keys",
                                   "devices") if k in d}
            md.setdefault("availability_zone", "nova")
            md.setdefault("launch_index", 0)
            md["random_seed"] = base64.b64encode(os.urandom(512)).decode()
            if d.get("files"):
                md["files"] = [{"path": f["path"], "content_path": "/content/%04d" % i}
                               for i, f in enumerate(d["files"])]
            return self.reply(200, json.dumps(md), "application/json")
        if leaf == "user_data" and "user_data" in d:
            return self.reply(200, base64.b64decode(d["user_data"]))
        if leaf == "vendor_data.json":
            return self.reply(200, json.dumps(d.get("vendor_data", {})), "application/json")
        if leaf == "vendor_data2.json":
            return self.reply(200, json.dumps(d.get("vendor_data2", {"static": {}})),
                              "application/json")
        if leaf == "network_data.json":
            return self.reply(200, json.dumps(d.get("network_data", {})))
        if leaf == "password":
            return self.reply(200, State.password or b"")
        return self.reply(404, "not found")

    def ec2(self, d, parts):
        if not parts or parts[0] not in EC2_VERSIONS + ["latest"]:
            return self.reply(404, "not found")
        if len(parts) == 1:
            return self.reply(200, "meta-data/" + ("\nuser-data" if "user_data" in d else ""))
        if parts[1] == "user-data" and len(parts) == 2 and "user_data" in d:
            return self.reply(200, base64.b64decode(d["user_data"]))
        if parts[1] != "meta-data":
            return self.reply(404, "not found")
        node = ec2_tree(d)
        for x in parts[2:]:
            if isinstance(node, dict) and x in node:
                node = node[x]
            elif isinstance(node, dict) and x.isdigit() and \
                    any(k.startswith(x + "=") for k in node):
                node = next(v for k, v in node.items() if k.startswith(x + "="))
            else:
                return self.reply(404, "not found")
        if isinstance(node, dict):
            return self.reply(200, "\n".join(
                sorted(k + "/" if isinstance(v, dict) and "=" not in k else k
                       for k, v in node.items())))
        return self.reply(200, node)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("defn")
    ap.add_argument("--bind", default="169.254.169.254")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()
    State.defn = json.load(open(a.defn))
    for kv in a.extra:
        path, _, f = kv.partition("=")
        State.extra[os.path.normpath("/" + path.lstrip("/"))] = open(f, "rb").read()
        # make the new path appear in its parent listings like `mdrctl put`
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
