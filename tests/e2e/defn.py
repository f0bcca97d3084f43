#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Derive a test instance definition from a template.

defn.py TEMPLATE.json [--binding port|mac|port+mac|none] [--port tapN]
        [--mac MAC] [--vlan N] [KEY=JSON ...]  > out.json

KEY may be dotted (imds.tokens='"required"'); JSON values are parsed, a
value that is not JSON is taken as a string.
"""
import argparse
import json
import sys


def set_dotted(doc, key, value):
    parts = key.split(".")
    for p in parts[:-1]:
        doc = doc.setdefault(p, {})
    doc[parts[-1]] = value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("--binding", default="port",
                    choices=["port", "mac", "port+mac", "none"])
    ap.add_argument("--port")
    ap.add_argument("--mac")
    ap.add_argument("--vlan", type=int, default=0)
    ap.add_argument("sets", nargs="*")
    a = ap.parse_intermixed_args()
    with open(a.template) as f:
        doc = json.load(f)
    b = {}
    if "port" in a.binding:
        b["port"] = a.port
    if "mac" in a.binding:
        b["mac"] = a.mac
        b["vlan"] = a.vlan
    if b:
        doc["binding"] = b
    else:
        doc.pop("binding", None)
    for kv in a.sets:
        k, _, v = kv.partition("=")
        try:
            val = json.loads(v)
        except ValueError:
            val = v
        set_dotted(doc, k, val)
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
