#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Compares what a real client obtained (clients.py output) with the
instance definition the guest should have received. Prints one line per
check for lib.sh's tap_lines: "ok<TAB>name" or "fail<TAB>name<TAB>why".

verify.py openstack|openstack-ec2-locked|openstack-refused|ec2|ec2-token DEFN.json RESULT.json LABEL
verify.py boto-creds DEFN.json RESULT.json LABEL CREDS.json ROLE
verify.py boto-region DEFN.json RESULT.json LABEL
"""
import base64
import json
import re
import sys

LINES = []


def check(name, cond, why=""):
    if cond:
        LINES.append(f"ok\t{name}")
    else:
        why = " ".join(str(why).split())[:600]
        LINES.append(f"fail\t{name}\t{why}")
    return cond


def unb64(x):
    if isinstance(x, dict) and set(x) == {"b64"}:
        return base64.b64decode(x["b64"])
    if isinstance(x, str):
        return x.encode()
    return x


def short(x):
    s = json.dumps(x, ensure_ascii=False, sort_keys=True)
    return s if len(s) < 200 else s[:200] + "..."


def trace_checks(label, res, allowed_404=(), twice_ok=()):
    """Every request answered 200 (except allowed 404s), no retries (URLs
    ending in twice_ok are asked twice by design)."""
    bad = [r for r in res["requests"]
           if r[2] != 200 and not (r[2] == 404 and any(r[1].endswith(a) for a in allowed_404))]
    check(f"{label}: every request answered 200", not bad,
          "; ".join(f"{r[0]} {r[1]} -> {r[2]}" for r in bad[:8]))
    urls = [r[1] for r in res["requests"]]
    dup = sorted({u for u in urls if urls.count(u) > 1 and
                  not (urls.count(u) == 2 and any(u.endswith(t) for t in twice_ok))})
    retries = [l for l in res["log"]
               if "Please wait" in l or re.search(r": \[[1-9][0-9]*/[0-9]+\] open ", l)]
    check(f"{label}: no retries logged", not retries and not dup,
          "; ".join(retries[:3] + [f"requested twice: {u}" for u in dup[:3]]))


def ec2_checks(label, d, md):
    """The EC2 meta-data tree as cloud-init's materializer returns it."""
    if not check(f"{label}: EC2 meta-data crawled", isinstance(md, dict) and md,
                 f"got {short(md)}"):
        return
    required = ["ami-id", "ami-launch-index", "ami-manifest-path", "block-device-mapping",
                "hostname", "instance-action", "instance-id", "instance-type",
                "local-hostname", "local-ipv4", "placement", "public-hostname",
                "public-ipv4", "reservation-id", "security-groups"]
    missing = [k for k in required if k not in md]
    check(f"{label}: EC2 has every nova key", not missing, f"missing {missing}")
    e = d.get("ec2")
    host = d.get("hostname")

    def leaf(k, want):
        got = md.get(k)
        check(f"{label}: EC2 {k}", got == want, f"got {short(got)} want {short(want)}")

    if host is not None:
        for k in ("hostname", "local-hostname", "public-hostname"):
            leaf(k, host)
    leaf("ami-launch-index", str(d.get("launch_index", 0)))
    if "availability_zone" in d:
        got = (md.get("placement") or {}).get("availability-zone")
        check(f"{label}: EC2 placement/availability-zone", got == d["availability_zone"],
              f"got {short(got)}")
    if e:
        for k, dk in (("instance-id", "instance_id"), ("ami-id", "ami_id"),
                      ("instance-type", "instance_type"), ("local-ipv4", "local_ipv4"),
                      ("public-ipv4", "public_ipv4"), ("reservation-id", "reservation_id")):
            if dk in e:
                leaf(k, e[dk])
        if "security_groups" in e:
            sg = e["security_groups"]
            # cloud-init turns a multi-line leaf into a list of lines.
            leaf("security-groups", sg if len(sg) != 1 else sg[0])
        if "block_device_mapping" in e:
            leaf("block-device-mapping", e["block_device_mapping"])
    keys = d.get("public_keys") or {}
    got = md.get("public-keys")
    if keys:
        # nova serves the first key as 0=name; more may follow as 1=, 2=...
        first = next(iter(keys))
        ok = isinstance(got, dict) and got.get(first) == keys[first] and \
            all(keys.get(n) == v for n, v in got.items())
        check(f"{label}: EC2 public-keys", ok, f"got {short(got)} want {first}={short(keys[first])}")
    else:
        check(f"{label}: EC2 no public-keys", not got, f"got {short(got)}")


def content_type_checks(label, res, path_types):
    for suffix, want in path_types:
        hits = [r for r in res["requests"] if r[1].endswith(suffix) and r[2] == 200]
        if not hits:
            continue
        ct = hits[0][3].split(";")[0].strip()
        check(f"{label}: content type of {suffix}", ct == want, f"got {hits[0][3]!r}")


def verify_openstack(label, d, res, ec2_locked=False):
    """ec2_locked: the EC2 tree requires tokens (imds.tokens "required"),
    /openstack does not: the OpenStack part must succeed, and the EC2
    part of the datasource (no token) must get 401 on every request."""
    if not check(f"{label}: cloud-init OpenStack crawl succeeded", res["error"] is None,
                 res["error"]):
        return
    r = res["result"]
    allowed = []
    if "user_data" not in d:
        allowed.append("/user_data")
    if ec2_locked:
        ec2 = [x for x in res["requests"] if "/openstack" not in x[1]]
        check(f"{label}: its token-less EC2 requests get 401 (EC2 tree tokens required)",
              ec2 and all(x[2] == 401 for x in ec2), short(ec2[:3]))
        res = dict(res, requests=[x for x in res["requests"] if "/openstack" in x[1]])
    trace_checks(label, res, allowed)
    md = r["metadata"]
    for k in ("uuid", "hostname", "name", "availability_zone", "launch_index", "project_id"):
        if k in d:
            check(f"{label}: meta_data {k}", md.get(k) == d[k], f"got {short(md.get(k))}")
    check(f"{label}: meta_data meta", md.get("meta", {}) == d.get("meta", {}),
          f"got {short(md.get('meta'))}")
    check(f"{label}: meta_data public_keys", md.get("public_keys", {}) == d.get("public_keys", {}),
          f"got {short(md.get('public_keys'))}")
    seed = unb64(md.get("random_seed"))
    check(f"{label}: meta_data random_seed is 512 bytes of base64",
          isinstance(seed, bytes) and len(seed) == 512, f"got {short(md.get('random_seed'))}")
    ud = unb64(r.get("userdata"))
    want_ud = base64.b64decode(d["user_data"]) if "user_data" in d else b""
    check(f"{label}: user data bytes ({len(want_ud)})", ud == want_ud,
          f"got {len(ud) if isinstance(ud, bytes) else ud!r} bytes")
    check(f"{label}: vendor_data.json", r.get("vendordata") == d.get("vendor_data", {}),
          f"got {short(r.get('vendordata'))}")
    check(f"{label}: vendor_data2.json",
          # default: what nova's StaticJSON provider gives (docs/instance-definition.md)
          r.get("vendordata2") == d.get("vendor_data2", {"static": d.get("vendor_data", {})}),
          f"got {short(r.get('vendordata2'))}")
    check(f"{label}: network_data.json", r.get("networkdata") == d.get("network_data", {}),
          f"got {short(r.get('networkdata'))}")
    want_files = {f["path"]: base64.b64decode(f["content"]) for f in d.get("files", [])}
    got_files = {p: unb64(c) for p, c in (r.get("files") or {}).items()}
    check(f"{label}: injected files ({len(want_files)})", got_files == want_files,
          f"got {sorted(got_files)} want {sorted(want_files)}")
    content_type_checks(label, res, [("/meta_data.json", "application/json"),
                                     ("/user_data", "text/plain"),
                                     ("/vendor_data.json", "application/json"),
                                     ("/vendor_data2.json", "application/json"),
                                     ("/network_data.json", "text/plain")])
    if not ec2_locked:
        ec2_checks(label, d, r.get("ec2-metadata"))


def verify_openstack_refused(label, d, res):
    """An instance with tokens required refuses token-less clients (401)."""
    codes = [r[2] for r in res["requests"]]
    check(f"{label}: token-less OpenStack crawl refused with 401 (tokens required)",
          res["error"] is not None and codes and all(c == 401 for c in codes),
          f"error {res['error']} statuses {codes}")


def verify_ec2(label, d, res):
    if not check(f"{label}: cloud-init EC2 crawl succeeded", res["error"] is None, res["error"]):
        return
    allowed = [] if "user_data" in d else ["/user-data"]
    trace_checks(label, res, allowed)
    r = res["result"]
    ec2_checks(label, d, r["meta-data"])
    ud = unb64(r.get("user-data"))
    want_ud = base64.b64decode(d["user_data"]) if "user_data" in d else b""
    check(f"{label}: EC2 user-data bytes ({len(want_ud)})", ud == want_ud,
          f"got {len(ud) if isinstance(ud, bytes) else ud!r} bytes")
    leaves = [x for x in res["requests"] if "/meta-data/" in x[1] and not x[1].endswith("/")]
    bad = [x for x in leaves if x[3].split(";")[0] != "text/plain"]
    check(f"{label}: EC2 leaves are text/plain", not bad, short(bad[:3]))


def verify_ec2_ds(label, d, res, guest_ip):
    """cloud-init's Ec2 datasource on AWS: token first, every request with
    it, the newest API version, the crawl and the identity document."""
    if not check(f"{label}: cloud-init Ec2 datasource crawl succeeded",
                 res["error"] is None and res["result"], f"{res['error']} {short(res['log'][-4:])}"):
        return
    r = res["result"]
    reqs = res["requests"]
    check(f"{label}: Ec2 datasource: IMDSv2 token PUT first (200)",
          reqs and reqs[0][0] == "PUT" and reqs[0][1].endswith("/latest/api/token") and
          reqs[0][2] == 200, short(reqs[:2]))
    check(f"{label}: Ec2 datasource: every GET carried the token",
          all(x[4] for x in reqs if x[0] == "GET"), short([x for x in reqs if not x[4]][:3]))
    check(f"{label}: Ec2 datasource settled on API version 2021-03-23",
          r.get("_metadata_api_version") == "2021-03-23", f"got {r.get('_metadata_api_version')!r}")
    allowed = [] if "user_data" in d else ["/user-data"]
    # the version probe asks instance-id, the crawl asks it again
    trace_checks(label, res, allowed, twice_ok=["/2021-03-23/meta-data/instance-id"])
    ec2_checks(label, d, r.get("meta-data"))
    ud = unb64(r.get("user-data"))
    want_ud = base64.b64decode(d["user_data"]) if "user_data" in d else b""
    check(f"{label}: Ec2 datasource user-data bytes ({len(want_ud)})", ud == want_ud,
          f"got {len(ud) if isinstance(ud, bytes) else ud!r} bytes")
    doc = (r.get("dynamic") or {}).get("instance-identity", {}).get("document", {})
    e = d.get("ec2") or {}
    want = {"instanceId": e.get("instance_id"), "imageId": e.get("ami_id"),
            "instanceType": e.get("instance_type"),
            "availabilityZone": d.get("availability_zone", "nova"),
            "region": expected_region(d), "accountId": d.get("project_id", ""),
            "privateIp": e.get("local_ipv4") or guest_ip}
    got = {k: doc.get(k) if isinstance(doc, dict) else None for k in want}
    check(f"{label}: identity document fields as the definition", got == want,
          f"got {short(got)} want {short(want)}")
    pl = (r.get("meta-data") or {}).get("placement") or {}
    check(f"{label}: placement/region as the definition",
          pl.get("region") == expected_region(d), f"got {short(pl)}")


def expected_region(d):
    """The region a definition gives (docs/instance-definition.md): its "region", else
    an AWS-shaped availability zone ("us-east-1b") without its letter, else
    RegionOne (OpenStack's default region)."""
    if "region" in d:
        return d["region"]
    z = d.get("availability_zone", "nova")
    if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]", z):
        return z[:-1]
    return "RegionOne"


def ec2_metadata_expected(d, guest_ip):
    """What amazon-ec2-utils' `ec2-metadata --all` prints for definition d
    (its print_all(): one "name: value" per field, "not available" for an
    absent or empty one, block devices and keys on their own lines)."""
    e = d.get("ec2") or {}

    def f(name, v):
        return ["%s: %s" % (name, v if v not in (None, "") else "not available")]

    host = d.get("hostname")
    keys = d.get("public_keys") or {}
    bdm = e.get("block_device_mapping") or {}
    lines = f("ami-id", e.get("ami_id")) + f("ami-launch-index", d.get("launch_index", 0)) + \
        f("ami-manifest-path", "FIXME") + f("ancestor-ami-ids", None) + ["block-device-mapping: "]
    lines += ["\t %s: %s" % (k, bdm[k]) for k in sorted(bdm)] or ["not available"]
    lines += f("instance-id", e.get("instance_id")) + f("instance-type", e.get("instance_type")) + \
        f("local-hostname", e.get("local_hostname", host)) + \
        f("local-ipv4", e.get("local_ipv4") or guest_ip) + f("kernel-id", e.get("kernel_id")) + \
        f("placement", d.get("availability_zone", "nova")) + f("product-codes", None) + \
        f("public-hostname", e.get("public_hostname", host)) + f("public-ipv4", e.get("public_ipv4"))
    lines.append("public-keys: ")
    for i, (name, key) in enumerate(keys.items()):
        lines += ["keyname:" + name, "index:%d" % i, "format:openssh-key",
                  "key:(begins from next line)", key]
    if not keys:
        lines.append("not available")
    ud = base64.b64decode(d["user_data"]).decode() if "user_data" in d else None
    lines += f("ramdisk-id", e.get("ramdisk_id")) + f("reservation-id", e.get("reservation_id")) + \
        f("security-groups", "\n".join(e.get("security_groups") or [])) + \
        f("user-data", ud.rstrip("\n") if ud else None) + ["tags: ", "not available"]
    return "\n".join(lines).split("\n")


def verify_ec2_metadata(label, d, path, guest_ip):
    with open(path, encoding="utf-8", errors="replace") as fh:
        got = fh.read().rstrip("\n").split("\n")
    want = ec2_metadata_expected(d, guest_ip)
    check(f"{label}: ec2-metadata --all printed {len(want)} lines",
          len(got) == len(want), f"got {len(got)} lines: {short(got[:4])}")
    fields = {}
    name = None
    for g, w in zip(got, want):
        m = re.match(r"^([a-z0-9-]+): ", w)
        if m:
            name = m.group(1)
        if g != w:
            fields.setdefault(name, (g, w))
    for name in ("ami-id", "instance-id", "instance-type", "local-hostname", "local-ipv4",
                 "placement", "public-hostname", "public-ipv4", "public-keys",
                 "reservation-id", "security-groups", "user-data", "block-device-mapping"):
        bad = fields.pop(name, None)
        check(f"{label}: ec2-metadata {name} as the definition", bad is None,
              f"got {short(bad[0])} want {short(bad[1])}" if bad else "")
    check(f"{label}: ec2-metadata: every other field as the definition", not fields,
          short(fields))


def verify_boto_creds(label, d, res, creds, role):
    tokens = (d.get("imds") or {}).get("tokens", "optional")
    r = res["result"] or {}
    check(f"{label}: botocore credentials ({tokens} tokens)",
          res["error"] is None and r.get("role_name") == role and
          r.get("access_key") == creds["AccessKeyId"] and
          r.get("secret_key") == creds["SecretAccessKey"] and
          r.get("token") == creds["Token"] and r.get("expiry_time") == creds["Expiration"],
          f"got {short(r)} error {res['error']} log {short(res['log'][-3:])}")
    reqs = res["requests"]
    put = reqs[0] if reqs else None
    check(f"{label}: botocore got an IMDSv2 token (PUT 200)",
          put is not None and put[0] == "PUT" and put[1].endswith("/latest/api/token") and put[2] == 200,
          short(reqs[:2]))
    gets = reqs[1:]
    check(f"{label}: botocore GETs carried the token and got 200",
          len(gets) >= 2 and all(g[4] and g[2] == 200 for g in gets), short(gets))
    check(f"{label}: botocore used one keep-alive connection", res["connections"] == 1,
          f"{res['connections']} connections for {len(reqs)} requests")


def verify_boto_region(label, d, res):
    az = d.get("availability_zone", "nova")
    got = (res["result"] or {}).get("region")
    check(f"{label}: botocore region from the availability zone", got == az[:-1],
          f"got {got!r} want {az[:-1]!r} error {res['error']}")
    reqs = res["requests"]
    check(f"{label}: botocore region requests answered 200",
          reqs and all(x[2] == 200 for x in reqs), short(reqs))


def main():
    kind, defn, result, label = sys.argv[1:5]
    d = json.load(open(defn))
    if kind == "ec2-metadata":  # the tool's text output, not a clients.py result
        verify_ec2_metadata(label, d, result, sys.argv[5])
        print("\n".join(LINES))
        return
    try:
        res = json.load(open(result))
    except (OSError, ValueError) as e:
        check(f"{label}: {kind} client produced a result", False, e)
        res = None
    if res is not None:
        if kind == "openstack":
            verify_openstack(label, d, res)
        elif kind == "openstack-ec2-locked":
            verify_openstack(label, d, res, ec2_locked=True)
        elif kind == "openstack-refused":
            verify_openstack_refused(label, d, res)
        elif kind in ("ec2", "ec2-token"):
            verify_ec2(label, d, res)
            if kind == "ec2-token":
                toks = [r for r in res["requests"] if r[0] == "PUT"]
                gets = [r for r in res["requests"] if r[0] == "GET"]
                check(f"{label}: every GET carried the IMDSv2 token",
                      len(toks) == 1 and gets and all(g[4] for g in gets),
                      short(res["requests"][:3]))
        elif kind == "ec2-ds":
            verify_ec2_ds(label, d, res, sys.argv[5])
        elif kind == "boto-creds":
            verify_boto_creds(label, d, res, json.load(open(sys.argv[5])), sys.argv[6])
        elif kind == "boto-region":
            verify_boto_region(label, d, res)
        else:
            raise SystemExit(f"unknown kind {kind}")
    print("\n".join(LINES))


if __name__ == "__main__":
    main()
