#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Map accounting for `make bench`.

mapmem.py PIN_DIR [-v]   total bytes of map memory the kernel accounts to
                         mdr's pinned maps (bytes_memlock of `bpftool map
                         show`, which kernels >= 6.6 compute from each map's
                         real usage, e.g. the elements a BPF_F_NO_PREALLOC
                         hash map holds); -v prints each map too
mapmem.py count MAP_PIN  entries in one pinned map
"""
import json
import os
import subprocess
import sys


def count(path):
    p = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                       capture_output=True, text=True, check=False)
    print(len(json.loads(p.stdout)) if p.returncode == 0 and p.stdout.strip() else 0)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "count":
        count(sys.argv[2])
        return
    pin = sys.argv[1]
    total = 0
    for name in sorted(os.listdir(pin)):
        if not name.startswith("mdr_") or name == "mdr_prog":
            continue
        p = subprocess.run(["bpftool", "-j", "map", "show", "pinned", os.path.join(pin, name)],
                           capture_output=True, text=True, check=False)
        if p.returncode != 0:
            continue  # not a map
        n = int(json.loads(p.stdout).get("bytes_memlock", 0))
        total += n
        if "-v" in sys.argv:
            print("%-16s %d" % (name, n), file=sys.stderr)
    print(total)


if __name__ == "__main__":
    main()
