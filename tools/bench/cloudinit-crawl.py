#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Run cloud-init's own OpenStack metadata crawl once (inside a guest netns).

cloudinit-crawl.py BASE_URL   exits 0 when cloud-init read the metadata
(uuid present, EC2 data present). The bench records the server's access log
of this run to learn the exact request sequence cloud-init 22.4 makes, which
the boot-storm client (storm.c) then replays from 64 guests at once.
"""
import sys

from cloudinit.sources import DataSourceOpenStack


def main():
    md = DataSourceOpenStack.read_metadata_service(sys.argv[1], timeout=5, retries=1)
    ok = bool(md.get("metadata", {}).get("uuid")) and bool(md.get("ec2-metadata"))
    print("cloud-init crawl: uuid=%s ec2 keys=%d" % (md.get("metadata", {}).get("uuid"),
                                                      len(md.get("ec2-metadata") or {})))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
