#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Sum one XDP counter over CPUs from the pinned maps (bpftool, raw bytes,
so it works with or without BTF).

mdrstats.py PIN_DIR FIELD [INSTANCE_ID]   -> prints the number
FIELD is a member of struct mdr_xdp_counters (maps/mdr_abi.h), in order.
"""
import json
import os
import re
import subprocess
import sys

ABI_H = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "maps", "mdr_abi.h")


def xdp_fields():
    """The __u64 members of struct mdr_xdp_counters, in ABI order, read from
    the header (the one definition, never a copy)."""
    body = re.search(r"^struct mdr_xdp_counters \{(.*?)^\};", open(ABI_H).read(),
                     re.S | re.M).group(1)
    return re.findall(r"^\s*__u64 (\w+);", body, re.M)


def u64(raw, off):
    b = bytes(int(x, 16) for x in raw[off:off + 8])
    return int.from_bytes(b, "little")


def main():
    pin, field = sys.argv[1], sys.argv[2]
    inst = int(sys.argv[3]) if len(sys.argv) > 3 else None
    idx = xdp_fields().index(field)
    m = "mdr_istats" if inst is not None else "mdr_stats"
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", f"{pin}/{m}"],
                         capture_output=True, text=True, check=True).stdout
    total = 0
    for ent in json.loads(out):
        key = bytes(int(x, 16) for x in ent["key"])
        if inst is not None and int.from_bytes(key[:4], "little") != inst:
            continue
        for v in ent["values"]:
            total += u64(v["value"], idx * 8)
    print(total)


if __name__ == "__main__":
    main()
