#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Differential test of the served trees against nova itself.

    nova_diff.py run [NETNS DEFN.json GUEST_IP NAME]...   (host)
    nova_diff.py fetch < PATHS.json > MDR.json             (in a guest)

`run` walks nova's tree of each definition, runs `fetch` in the guest's
network namespace (it walks mdr's tree too and asks every path of both),
and compares. nova's modules take seconds to import: one process serves
every guest.

Nova's side is Debian python3-nova's own MetadataRequestHandler and
base.InstanceMetadata (nova 26.2.2), driven with webob Request objects;
only the database and neutron lookups are replaced (nova_cdrive.py's
nova_metadata()). mdr's side is what a guest receives from 169.254.169.254.

Paths: a walk of both trees (every listing, every leaf, the injected
files), each walked path with and without a trailing slash, probes of odd
paths, and error probes under several Accept headers. For each: status,
Content-Type and body bytes (random_seed, random per request on both
sides, set aside).

Every difference must have a reason in EXPLAINED (a version nova 26 lacks,
a nova quirk, ...); any other difference fails. Prints ok/fail lines
(tests/e2e/lib.sh tap_lines) and "summary N M K": N of M paths
byte-identical, K of the others explained.
"""
import base64
import http.client
import json
import posixpath
import re
import sys

sys.path.insert(0, posixpath.dirname(posixpath.abspath(__file__)))

SEED = re.compile(rb'"random_seed": "[A-Za-z0-9+/=]*"')
NOVA_OS_LATEST = "2020-10-14"
AWS_EC2 = ("2016-09-02", "2018-09-24", "2019-10-01", "2021-03-23")
STAR = "*/*"  # what curl and python-requests send

# Odd paths, relative to nothing: asked as they are.
PROBES = [
    "/latest/meta-data/hostname/x", "/latest/meta-data/instance-id/x/y",
    "/2009-04-04/meta-data/hostname/x", "/latest/meta-data/security-groups/x",
    "/latest/meta-data/ami-launch-index/x", "/latest/meta-data/public-keys/0/openssh-key/x",
    "/latest/meta-data/public-keys/0=bob", "/latest/meta-data/public-keys/9",
    "/latest/meta-data/block-device-mapping/ami", "/latest/meta-data/placement/availability-zone/",
    "/latest/user-data/x", "/1999-01-01", "/1999-01-01/meta-data/", "/1.0/meta-data/",
    "/ec2", "/ec2/", "/ec2/latest/meta-data/instance-id", "/ec2/openstack/latest",
    "/ec2/2009-04-04/meta-data/", "//latest//meta-data//", "/latest/./meta-data/../user-data",
    "/latest/meta-data/%2e%2e/meta-data/ami-id", "/latest/meta%2Ddata/ami-id",
    "/openstack/", "/openstack/latest/", "/openstack/1999-01-01", "/openstack/1999-01-01/meta_data.json",
    "/openstack/latest/version", "/openstack/2012-08-10/version", "/openstack/latest/nope",
    "/openstack/latest/meta_data.json/x", "/openstack/latest/user_data/x",
    "/openstack/content", "/openstack/content/", "/openstack/content/0000/", "/openstack/content/0",
    "/openstack/content/9999", "/openstack/2012-08-10/password", "/openstack/2013-04-04/password",
    "/openstack/2012-08-10/vendor_data.json", "/openstack/2013-10-17/network_data.json",
    "/openstack/2015-10-15/vendor_data2.json", "/openstack/latest/password/x",
    "/nope", "/latest/nope", "/latest/meta-data/nope", "/openstack/openstack",
    "/latest?x=1", "/latest/meta-data/ami-id?x=/..",
]
# Error probes under several Accept headers (None: no header).
ACCEPTS = [None, "text/plain", "application/json", "text/html", "application/json, text/plain, */*"]
ACCEPT_PROBES = ["/nope", "/openstack/latest/nope", "/latest/meta-data/nope"]


def out(ok, name, why=""):
    print("%s\t%s%s" % ("ok" if ok else "fail", name, "\t" + why if why and not ok else ""))
    sys.stdout.flush()


# ---- the walk, the same on both sides ----------------------------------

def is_dir(p):
    """A path whose 200 answer is a listing (by where it is)."""
    segs = [s for s in p.split("/") if s]
    if p.endswith("/") or len(segs) == 0:
        return True
    if segs[0] == "openstack":
        return len(segs) == 1 or (len(segs) == 2 and segs[1] != "content")
    return len(segs) == 1


def children(p, body):
    segs = [s for s in p.split("/") if s]
    base = p if p.endswith("/") else p + "/"
    kids = []
    for line in body.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        if line.endswith("/"):
            kids.append(base + line)
        elif re.match(r"^\d+=", line) and segs and segs[-1] == "public-keys":
            kids.append(base + line.split("=", 1)[0] + "/")
        elif segs in ([], ["ec2"]):
            kids.append(base + line + "/")  # "/" lists the EC2 versions
        else:
            kids.append(base + line)
    return kids


def walk(get, start=("/", "/openstack")):
    seen = {}
    todo = list(start)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen[p] = r = get(p, STAR)
        if r[0] != 200:
            continue
        if is_dir(p):
            todo.extend(children(p, r[2]))
        elif p.endswith("/meta_data.json"):
            try:
                for f in json.loads(r[2]).get("files", []):
                    todo.append("/openstack" + f["content_path"])
            except ValueError:
                pass
    return seen


def probe_keys(walked):
    keys = set()
    for p in walked:
        keys.add((p, STAR))
        keys.add((p.rstrip("/") or "/", STAR) if p.endswith("/") else (p + "/", STAR))
    for p in PROBES:
        keys.add((p, STAR))
    for p in ACCEPT_PROBES:
        for a in ACCEPTS:
            keys.add((p, a))
    return keys


# ---- nova --------------------------------------------------------------

class Nova:
    def __init__(self, d, ip):
        import nova_cdrive
        from nova.api.metadata import handler
        self.ctx = nova_cdrive.nova_metadata(d, address=ip, derive_hostname=True)
        self.md = self.ctx.__enter__()
        self.h = handler.MetadataRequestHandler()
        self.h.get_metadata_by_remote_address = lambda addr: self.md
        self.ip = ip

    def close(self):
        self.ctx.__exit__(None, None, None)

    def get(self, path, accept):
        import webob
        headers = {"Accept": accept} if accept is not None else {}
        req = webob.Request.blank(path, headers=headers, remote_addr=self.ip)
        try:
            resp = req.get_response(self.h)
        except Exception as e:  # nova's WSGI stack answers 500
            return (500, "exception " + type(e).__name__, b"")
        return (resp.status_int, resp.headers.get("Content-Type"), resp.body)


# ---- mdr, from inside the guest ------------------------------------------

class Mdr:
    def __init__(self):
        self.c = None

    def get(self, path, accept):
        headers = {"Accept": accept} if accept is not None else {}
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
            try:
                self.c.putrequest("GET", path, skip_accept_encoding=True)
                for k, v in headers.items():
                    self.c.putheader(k, v)
                self.c.endheaders()
                r = self.c.getresponse()
                body = r.read()
                res = (r.status, r.getheader("Content-Type"), body)
                if r.will_close:
                    self.c.close()
                    self.c = None
                return res
            except (OSError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def enc(r):
    return [r[0], r[1], base64.b64encode(r[2]).decode()]


def dec(r):
    return (r[0], r[1], base64.b64decode(r[2]))


# ---- reasons for differences -----------------------------------------------

def ec2_version(p):
    segs = [s for s in p.split("?")[0].split("/") if s]
    if segs and segs[0] == "ec2":
        segs = segs[1:]
    return segs[0] if segs and segs[0] != "openstack" else None


def os_version(p):
    segs = [s for s in p.split("?")[0].split("/") if s]
    return segs[1] if len(segs) >= 2 and segs[0] == "openstack" else None


# What mdr serves beyond nova 2009-04-04 under AWS's dated versions (and
# so under EC2 latest, 2021-03-23): listing entries and their subtrees.
# AWS's categories nova lacks (mdr serves them from 2016-09-02 on).
AWS_EXTRA_ENTRIES = {"dynamic/", "availability-zone-id", "region", "mac", "network/", "iam/",
                     "tags/", "events/", "spot/", "instance-life-cycle", "services/"}
AWS_EXTRA_PATHS = re.compile(r"/(dynamic(/.*)?|meta-data/(placement/(availability-zone-id|region)"
                             r"|mac|network|iam|tags|events|spot|instance-life-cycle|services)"
                             r"(/.*)?)$")


def with_version(path, ver):
    """path with its version segment replaced (EC2 or OpenStack)."""
    segs = path.split("/")
    i = next(i for i, x in enumerate(segs) if x and x not in ("ec2", "openstack"))
    segs[i] = ver
    return "/".join(segs)


def is_json(b):
    try:
        json.loads(b)
        return True
    except ValueError:
        return False


def listing_superset(n, m, extra):
    """m lists what n lists plus entries of extra (sorted as nova sorts)."""
    if n[0] != 200 or m[0] != 200 or n[1] != m[1]:
        return False
    nl, ml = n[2].decode().split("\n"), m[2].decode().split("\n")
    return set(nl) <= set(ml) and set(ml) - set(nl) <= extra


def explain(nova, path, accept, n, m):
    """The reason n (nova) and m (mdr) may differ, or None. Each reason is
    checked: mdr's answer must be what the reason says it is."""
    segs = [s for s in path.split("?")[0].split("/") if s and s != "."]
    ev, ov = ec2_version(path), os_version(path)
    if re.match(r"^//[^/]", path) and n == nova.get("/", accept) and m[0] == 200:
        return ("nova quirk: posixpath.normpath keeps a leading '//', so nova answers the "
                "root version list for any //path; mdr normalises it as /path")
    if n[0] == 500 and m[0] == 404 and m == nova.get("/nope", accept):
        return "nova quirk: HTTP 500 (a lookup below a leaf raises in find_path_in_tree); mdr: its 404"
    if ev in AWS_EC2 or ev == "latest":
        what = ("EC2 version %s: AWS's, nova 26 lacks it (cloud-init, afterburn ask for it)" % ev
                if ev != "latest" else "EC2 latest: AWS's newest (2021-03-23) in mdr, nova 26's is 2009-04-04")
        n09 = nova.get(with_version(path, "2009-04-04"), accept)
        if n09 == m or (SEED.sub(b"", n09[2]) == SEED.sub(b"", m[2]) and n09[:2] == m[:2]):
            return what + "; the answer is nova's 2009-04-04 one"
        if listing_superset(n09, m, AWS_EXTRA_ENTRIES):
            return what + "; listing: nova's 2009-04-04 one plus AWS's categories"
        if n09[0] == 404 and m[0] == 200 and AWS_EXTRA_PATHS.search(path.split("?")[0]):
            return what + "; a category of AWS's (dynamic/, placement region, network/, ...)"
        return None
    if segs in ([], ["ec2"]) and listing_superset(n, m, set(AWS_EC2)):
        return "EC2 version list: mdr lists AWS's dated versions too"
    if (segs[-1:] == ["network_data.json"] and n[0] == m[0] == 200 and n[2] == b"{}" and
            b'"links"' in m[2] and is_json(m[2])):
        return ("network_data.json: mdr generates it from the binding when the definition "
                "has none; nova from neutron's network_info (mocked empty here)")
    if ov == "2025-04-04":
        nl = nova.get(with_version(path, "latest"), accept)
        if nl[:2] == m[:2] and SEED.sub(b"", nl[2]) == SEED.sub(b"", m[2]):
            return ("OpenStack version 2025-04-04: nova 26 lacks it (it ends at 2020-10-14); "
                    "the answer is nova's latest one (no share device)")
        return None
    if segs == ["openstack"] and listing_superset(n, m, {"2025-04-04"}):
        return "OpenStack version list: mdr lists 2025-04-04 too"
    return None


def run_one(netns, defn, ip, name):
    import subprocess
    with open(defn) as fh:
        d = json.load(fh)
    nova = Nova(d, ip)
    keys = probe_keys(walk(nova.get))
    p = subprocess.run(["ip", "netns", "exec", netns, sys.executable, __file__, "fetch"],
                       input=json.dumps(sorted([k, a or "-"] for k, a in keys)).encode(),
                       stdout=subprocess.PIPE, check=True)
    got = json.loads(p.stdout)
    same = explained = 0
    reasons = {}
    for key in sorted(got):
        path, accept = key.split("\t", 1)
        accept = None if accept == "-" else accept
        n = nova.get(path, accept)
        m = dec(got[key])
        nb, mb = SEED.sub(b'"random_seed": ""', n[2]), SEED.sub(b'"random_seed": ""', m[2])
        if (n[0], n[1], nb) == (m[0], m[1], mb):
            same += 1
            continue
        why = explain(nova, path, accept, n, m)
        label = "%s %s (Accept %s)" % (name, path, accept)
        if why:
            explained += 1
            reasons[why] = reasons.get(why, 0) + 1
            continue
        at = next((i for i, (x, y) in enumerate(zip(nb, mb)) if x != y), min(len(nb), len(mb)))
        lo = max(0, at - 120)
        out(False, "nova: %s: status, content type and bytes as nova's" % label,
            "first difference at byte %d\nnova %r %r %r\nmdr  %r %r %r"
            % (at, n[0], n[1], nb[lo:at + 200], m[0], m[1], mb[lo:at + 200]))
    nova.close()
    total = len(got)
    out(same + explained == total, "nova: %s: %d of %d paths byte-identical, %d explained"
        % (name, same, total, explained))
    for why, k in sorted(reasons.items()):
        print("# %s: %d explained: %s" % (name, k, why))
    print("summary %d %d %d" % (same, total, explained))


def main():
    cmd = sys.argv[1]
    args = sys.argv[2:]
    if cmd == "run":
        for i in range(0, len(args), 4):
            run_one(*args[i:i + 4])
    elif cmd == "fetch":
        keys = {(p, None if a == "-" else a) for p, a in json.load(sys.stdin)}
        mdr = Mdr()
        walked = walk(mdr.get)
        keys |= probe_keys(walked)
        res = {}
        for p, a in sorted(keys, key=lambda k: (k[0], k[1] or "")):
            res["%s\t%s" % (p, "-" if a is None else a)] = enc(walked[p] if a == STAR and p in walked
                                                              else mdr.get(p, a))
        json.dump(res, sys.stdout)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
