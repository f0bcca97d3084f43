#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Read an extracted config drive the way a guest does and compare it with
the definition and with the metadata service.

    cdrive_check.py LABEL DEFN.json TREE MDRCTL... -- UUID

- cloud-init's own reader (DataSourceConfigDrive.read_config_drive on TREE)
  must return the definition's uuid, hostname, keys, user data, files,
  network_data, vendor data and EC2 instance id;
- a crawl of the service (`MDRCTL get UUID PATH`: what the guest receives,
  no network needed) must list exactly the openstack/ files of the drive,
  each byte for byte the same (random_seed aside), the EC2 user-data the
  same, and every EC2 meta-data leaf the service serves must be the value
  in ec2/<v>/meta-data.json (and the other way round).
Prints "ok\\tNAME" / "fail\\tNAME\\tWHY" lines (lib.sh tap_lines).
"""
import base64
import json
import os
import re
import subprocess
import sys

SEED = re.compile(rb'"random_seed": "[A-Za-z0-9+/=]*"')


def out(ok, name, why=""):
    print("%s\t%s%s" % ("ok" if ok else "fail", name, "\t" + why if why and not ok else ""))
    sys.stdout.flush()


def main():
    label, defn, root = sys.argv[1:4]
    sep = sys.argv.index("--")
    mdrctl, uuid = sys.argv[4:sep], sys.argv[sep + 1]
    with open(defn) as fh:
        d = json.load(fh)

    def get(path):
        raw = subprocess.run(mdrctl + ["get", uuid, path], check=True,
                             stdout=subprocess.PIPE).stdout
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    def read(rel):
        with open(os.path.join(root, rel), "rb") as fh:
            return fh.read()

    # ---- cloud-init ------------------------------------------------------
    from cloudinit.sources import DataSourceConfigDrive as ds
    from cloudinit.sources.helpers import openstack
    res = ds.read_config_drive(root)
    md = res["metadata"]
    ud = base64.b64decode(d["user_data"]) if "user_data" in d else b""
    files = {f["path"]: base64.b64decode(f["content"]) for f in d.get("files", [])}
    rud = res["userdata"]
    rud = rud.encode() if isinstance(rud, str) else rud
    rfiles = {k: (v.encode() if isinstance(v, str) else v) for k, v in res["files"].items()}
    checks = [
        ("uuid", md.get("uuid"), d["uuid"]),
        ("hostname", md.get("hostname"), d.get("hostname")),
        ("public_keys", md.get("public_keys"), d.get("public_keys")),
        ("user data", rud, ud),
        ("injected files", rfiles, files),
        ("network_data", res.get("networkdata"), d.get("network_data", {})),
        ("vendor_data", res.get("vendordata"), d.get("vendor_data", {})),
        ("vendor_data2", res.get("vendordata2"),
         d.get("vendor_data2", {"static": d.get("vendor_data", {})})),
        ("EC2 instance-id", res.get("ec2-metadata", {}).get("instance-id"),
         d.get("ec2", {}).get("instance_id")),
    ]
    for name, got, want in checks:
        out(got == want, "%s: cloud-init read_config_drive returns the definition's %s"
            % (label, name), "got %r, want %r" % (str(got)[:200], str(want)[:200]))
    ver = openstack.ConfigDriveReader(root)._find_working_version()
    print("diag\tcloud-init read openstack/%s: uuid %s, hostname %s, %d key(s), %d bytes of "
          "user data, %d file(s), %d network link(s)" % (
              ver, md.get("uuid"), md.get("hostname"), len(md.get("public_keys", {})), len(rud),
              len(rfiles), len((res.get("networkdata") or {}).get("links", []))))

    # ---- crawl of the service vs the drive ---------------------------------
    on_drive = set()
    for dp, _, fs in os.walk(root):
        for f in fs:
            on_drive.add(os.path.relpath(os.path.join(dp, f), root))
    served = {}
    _, vers = get("/openstack")
    for v in vers.decode().split("\n"):
        _, listing = get("/openstack/%s" % v)
        for f in listing.decode().split("\n"):
            if f and f != "password" and not f.endswith("/"):
                served["openstack/%s/%s" % (v, f)] = get("/openstack/%s/%s" % (v, f))[1]
    for f in json.loads(served["openstack/latest/meta_data.json"]).get("files", []):
        served["openstack" + f["content_path"]] = get("/openstack" + f["content_path"])[1]
    os_drive = {p for p in on_drive if p.startswith("openstack/")}
    out(os_drive == set(served), "%s: the openstack/ files are exactly what a crawl of the "
        "service lists (%d files)" % (label, len(served)),
        "only on the drive: %s; only served: %s" % (sorted(os_drive - set(served)),
                                                    sorted(set(served) - os_drive)))
    bad = [p for p in sorted(os_drive & set(served))
           if SEED.sub(b"", read(p)) != SEED.sub(b"", served[p])]
    out(not bad, "%s: each openstack/ file is byte for byte what the service answers "
        "(random_seed aside)" % label, "differ: %s" % bad)

    ec2_drive = sorted(p for p in on_drive if p.startswith("ec2/"))
    vers = sorted({p.split("/")[1] for p in ec2_drive})
    out(vers == ["2009-04-04", "latest"], "%s: ec2/ holds 2009-04-04 and latest, as nova's "
        "default config_drive_skip_versions leaves" % label, "got %s" % vers)
    for v in vers:
        st, body = get("/%s/user-data" % v)
        p = "ec2/%s/user-data" % v
        out((st == 200) == (p in on_drive) and (st != 200 or read(p) == body),
            "%s: %s is the service's /%s/user-data" % (label, p, v))

        def crawl(path):
            st, body = get(path)
            if st != 200:
                return None
            tree = {}
            for e in body.decode().split("\n"):
                if not e:
                    continue
                if e.endswith("/"):
                    tree[e[:-1]] = crawl(path + "/" + e[:-1])
                elif "=" in e and e.split("=")[0].isdigit():
                    tree[e.split("=")[0]] = crawl(path + "/" + e.split("=")[0])
                else:
                    tree[e] = get(path + "/" + e)[1].decode()
            return tree

        def as_served(x):
            if isinstance(x, dict):
                return {k: as_served(v) for k, v in x.items() if k != "_name"}
            if isinstance(x, list):
                return "\n".join(x)
            return "" if x is None else str(x)

        dump = json.loads(read("ec2/%s/meta-data.json" % v))
        # a drive's "latest" is nova's newest version; the service's latest
        # is newer (the dated AWS versions mdr adds)
        sv = "2009-04-04" if v == "latest" else v
        want = crawl("/%s/meta-data" % sv)
        out(as_served(dump) == want, "%s: ec2/%s/meta-data.json holds every EC2 meta-data "
            "leaf the service serves under /%s, with the same values" % (label, v, sv),
            "drive %r\nserved %r" % (as_served(dump), want))


if __name__ == "__main__":
    main()
