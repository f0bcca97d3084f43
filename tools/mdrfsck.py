#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""mdrfsck.py PIN_DIR [-j]: walk mdr's pinned maps (bpftool map dump) and
list every orphaned entry, i.e. one no live instance owns:

  chunk     mdr_chunk0..5 key (id, gen, blob, chunk) whose id has no record
            in mdr_inst, or whose gen is not the record's gen (a put or
            delete that died half-way)
  uuid      mdr_uuids claim whose id has no record, or a record of another
            uuid (a put that died before publishing)
  record    mdr_inst record whose uuid does not map back to its id
  port      mdr_ports binding to an id with no record
  mac       mdr_macs binding to an id with no record
  limits    mdr_limits of an id with no record
  bucket    mdr_rl rate bucket of an id with no mdr_limits entry
  password  mdr_passwords entry of an id with no record
  counters  mdr_istats / mdr_rstats of an id with no record (key 0, "no
            instance", is the global bucket and never an orphan)
Tokens have no entries to orphan: an IMDSv2 token is stateless (an HMAC
over uuid, expiry and key id; mdr_tokkey is a one-slot array of keys).

The walk holds the writers' lock (mdr_maps_lock: flock on the pin
directory) throughout, so no put or delete is half-way while it reads (a
put writes a new generation whose chunks no record names yet); only a
writer that died half-way leaves what it reports. Prints one line
per orphan ("orphan KIND MAP KEY: why"), then "entries: MAP=N ..." and
"orphans: N". Exit status 0 when there is none, 1 when there are orphans,
2 on error (a map cannot be read)."""
import fcntl
import json
import os
import struct
import subprocess
import sys

CHUNK_MAPS = ["mdr_chunk%d" % i for i in range(6)]
UUID_SIZE = 40  # MDR_UUID_SIZE: room for 36 chars, NUL and padding


def raw(lst):
    return bytes(int(x, 16) for x in lst)


def dump(pin, name):
    path = os.path.join(pin, name)
    if not os.path.exists(path):
        return []
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("bpftool map dump %s: %s" % (name, out.stderr.strip()))
    d = json.loads(out.stdout or "[]")
    return [(raw(e["key"]), e) for e in d if isinstance(e, dict) and "key" in e]


def value(e):
    return raw(e["value"]) if "value" in e else b""


def u32(b, off=0):
    return struct.unpack_from("<I", b, off)[0]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    pin, js = sys.argv[1], "-j" in sys.argv[2:]
    lock = os.open(pin, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the process exits
    orphans = []
    counts = {}

    def orphan(kind, mname, key, why):
        orphans.append({"kind": kind, "map": mname, "key": key.hex(), "why": why})

    def load(name):
        d = dump(pin, name)
        counts[name] = len(d)
        return d

    inst = {}
    for k, e in load("mdr_inst"):
        v = value(e)
        uuid = v[:UUID_SIZE].split(b"\0")[0].decode(errors="replace")
        inst[u32(k)] = (uuid, u32(v, UUID_SIZE))
    uuids = {}
    for k, e in load("mdr_uuids"):
        uuid = k.split(b"\0")[0].decode(errors="replace")
        iid = u32(value(e))
        uuids[uuid] = iid
        if iid not in inst:
            orphan("uuid", "mdr_uuids", k, "%s -> id %u: no record" % (uuid, iid))
        elif inst[iid][0] != uuid:
            orphan("uuid", "mdr_uuids", k, "%s -> id %u: record is %s" % (uuid, iid, inst[iid][0]))
    for iid, (uuid, _gen) in inst.items():
        if uuids.get(uuid) != iid:
            orphan("record", "mdr_inst", struct.pack("<I", iid),
                   "id %u (%s): uuid maps to %s" % (iid, uuid, uuids.get(uuid)))
    for m in CHUNK_MAPS:
        for k, _e in load(m):
            iid, gen, blob, chunk = struct.unpack_from("<IIHH", k)
            if iid not in inst:
                orphan("chunk", m, k, "id %u gen %u blob %u chunk %u: no record" % (iid, gen, blob, chunk))
            elif inst[iid][1] != gen:
                orphan("chunk", m, k, "id %u gen %u blob %u chunk %u: record is at gen %u"
                       % (iid, gen, blob, chunk, inst[iid][1]))
    for k, e in load("mdr_ports"):
        iid = u32(value(e))
        if iid not in inst:
            orphan("port", "mdr_ports", k, "ifindex %u -> id %u: no record" % (u32(k), iid))
    for k, e in load("mdr_macs"):
        iid = u32(value(e))
        if iid not in inst:
            orphan("mac", "mdr_macs", k, "%s vlan %u -> id %u: no record"
                   % (k[:6].hex(":"), struct.unpack_from("<H", k, 6)[0], iid))
    limits = set()
    for k, _e in load("mdr_limits"):
        limits.add(u32(k))
        if u32(k) not in inst:
            orphan("limits", "mdr_limits", k, "id %u: no record" % u32(k))
    for k, _e in load("mdr_rl"):
        if u32(k) not in limits:
            orphan("bucket", "mdr_rl", k, "id %u: no mdr_limits entry" % u32(k))
    for k, _e in load("mdr_passwords"):
        if u32(k) not in inst:
            orphan("password", "mdr_passwords", k, "id %u: no record" % u32(k))
    for m in ("mdr_istats", "mdr_rstats"):
        for k, _e in load(m):
            if u32(k) != 0 and u32(k) not in inst:
                orphan("counters", m, k, "id %u: no record" % u32(k))

    if js:
        print(json.dumps({"orphans": orphans, "entries": counts, "instances": len(inst)}))
    else:
        for o in orphans:
            print("orphan %s %s %s: %s" % (o["kind"], o["map"], o["key"], o["why"]))
        print("entries: " + " ".join("%s=%d" % kv for kv in sorted(counts.items())))
        print("orphans: %d" % len(orphans))
    return 1 if orphans else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, ValueError, OSError) as e:
        print("mdrfsck: %s" % e, file=sys.stderr)
        sys.exit(2)
