#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Runs a real metadata client inside a guest namespace and prints, as one
JSON object on stdout, what the client obtained plus a trace of every HTTP
request it made (method, url, status, content type), how many TCP
connections it opened, and the client's own log lines.

Run with the system Python (Debian's cloud-init and botocore live there):
  /usr/bin/python3 clients.py openstack [BASE]     cloud-init OpenStack crawl
  /usr/bin/python3 clients.py ec2 [BASE]           cloud-init EC2 crawl + user-data
  /usr/bin/python3 clients.py ec2-token [BASE]     the same with an IMDSv2 token
                                                   (cloud-init's flow on AWS)
  /usr/bin/python3 clients.py ec2-ds [BASE]        cloud-init's Ec2 datasource
                                                   crawl_metadata() as on AWS:
                                                   IMDSv2 token, newest API
                                                   version, identity document
  /usr/bin/python3 clients.py boto-creds [BASE]    botocore IAM credentials
  /usr/bin/python3 clients.py boto-region [BASE]   botocore region from the AZ
BASE defaults to http://169.254.169.254. Exit status 0 when the client
returned without raising; judging the content is verify.py's job.
"""
import base64
import json
import logging
import sys
import time

META = "http://169.254.169.254"

TRACE = []        # [method, url, status, content_type, token_sent]
CONNECTS = [0]    # TCP connections opened (urllib3)
LOGS = []         # "LEVEL name: message"


class ListHandler(logging.Handler):
    def emit(self, record):
        try:
            LOGS.append(f"{record.levelname} {record.name}: {record.getMessage()}")
        except Exception:  # a client's malformed log call must not kill us
            LOGS.append(f"{record.levelname} {record.name}: {record.msg!r}")


def install_hooks():
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(ListHandler())

    import urllib3.connection
    orig_connect = urllib3.connection.HTTPConnection.connect

    def connect(self):
        CONNECTS[0] += 1
        return orig_connect(self)
    urllib3.connection.HTTPConnection.connect = connect


def hook_requests():
    import requests
    orig = requests.Session.send

    def send(self, req, **kw):
        try:
            r = orig(self, req, **kw)
        except Exception as e:
            TRACE.append([req.method, req.url, f"error: {type(e).__name__}", "", False])
            raise
        TRACE.append([req.method, req.url, r.status_code,
                      r.headers.get("Content-Type", ""),
                      "X-aws-ec2-metadata-token" in req.headers])
        return r
    requests.Session.send = send


def hook_botocore():
    import botocore.httpsession
    orig = botocore.httpsession.URLLib3Session.send

    def send(self, req):
        try:
            r = orig(self, req)
        except Exception as e:
            TRACE.append([req.method, req.url, f"error: {type(e).__name__}", "", False])
            raise
        hdrs = {k.lower() for k in req.headers.keys()}
        TRACE.append([req.method, req.url, r.status_code,
                      r.headers.get("Content-Type", ""),
                      "x-aws-ec2-metadata-token" in hdrs])
        return r
    botocore.httpsession.URLLib3Session.send = send


def jsonable(x):
    """bytes -> {"b64": ...} so the result survives JSON."""
    if isinstance(x, bytes):
        return {"b64": base64.b64encode(x).decode()}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def run_openstack(base):
    hook_requests()
    from cloudinit.sources import DataSourceOpenStack
    return DataSourceOpenStack.read_metadata_service(base, timeout=5, retries=1)


def run_ec2(base, token=False):
    hook_requests()
    from cloudinit import url_helper
    from cloudinit.sources.helpers import ec2
    headers_cb = None
    if token:
        # What cloud-init's EC2 datasource does on AWS (IMDSv2): PUT a
        # token with the TTL it uses, then send it on every GET.
        r = url_helper.readurl(base + "/latest/api/token", request_method="PUT",
                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
                               timeout=2, retries=0)
        tok = r.contents.decode()
        headers_cb = lambda url: {"X-aws-ec2-metadata-token": tok}  # noqa: E731
    md = ec2.get_instance_metadata("latest", base, timeout=2, retries=0,
                                   headers_cb=headers_cb)
    ud = ec2.get_instance_userdata("latest", base, timeout=2, retries=0,
                                   headers_cb=headers_cb)
    return {"meta-data": md, "user-data": ud}


def run_ec2_token(base):
    return run_ec2(base, token=True)


def run_ec2_ds(base):
    """DataSourceEc2.crawl_metadata() unmodified, with the platform it
    identifies on AWS (from DMI, absent in a namespace) and BASE as its
    metadata_urls: token PUT, version probes, the crawl, the identity
    document."""
    import tempfile
    hook_requests()
    from cloudinit import distros, helpers
    from cloudinit.sources import DataSourceEc2 as ds_ec2
    tmp = tempfile.mkdtemp(prefix="ci-ec2-")
    paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
    distro = distros.fetch("debian")("debian", {}, paths)
    cfg = {"datasource": {"Ec2": {"metadata_urls": [base], "max_wait": 10, "timeout": 2}}}
    ds = ds_ec2.DataSourceEc2(cfg, distro, paths)
    ds._cloud_name = ds_ec2.CloudNames.AWS
    return ds.crawl_metadata()


def run_boto_creds(base):
    hook_botocore()
    from botocore.utils import InstanceMetadataFetcher
    f = InstanceMetadataFetcher(base_url=base, timeout=2, num_attempts=2)
    return f.retrieve_iam_role_credentials()


def run_boto_region(base):
    hook_botocore()
    from botocore.utils import InstanceMetadataRegionFetcher
    f = InstanceMetadataRegionFetcher(base_url=base, timeout=2, num_attempts=2)
    return {"region": f.retrieve_region()}


def main():
    what = sys.argv[1]
    base = sys.argv[2] if len(sys.argv) > 2 else META
    install_hooks()
    fn = {"openstack": run_openstack, "ec2": run_ec2, "ec2-token": run_ec2_token,
          "ec2-ds": run_ec2_ds,
          "boto-creds": run_boto_creds, "boto-region": run_boto_region}[what]
    out = {"client": what, "base": base}
    t0 = time.monotonic()
    try:
        out["result"] = jsonable(fn(base))
        out["error"] = None
    except Exception as e:
        out["result"] = None
        out["error"] = f"{type(e).__name__}: {e}"
    out["elapsed"] = time.monotonic() - t0
    out["requests"] = TRACE
    out["connections"] = CONNECTS[0]
    out["log"] = LOGS
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if out["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
