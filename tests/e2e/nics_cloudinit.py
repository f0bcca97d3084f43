#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""nics_cloudinit.py - cloud-init's Ec2 datasource (Debian's python3
cloudinit, unmodified) crawls the metadata service from inside a guest
namespace and builds the guest's network configuration from the
network/interfaces tree, as it does at boot on EC2.

Prints one JSON object: {"path": "datasource" | "helpers", "api": version,
"network_md": the crawled meta-data "network" tree, "netcfg": the network
config v2 it renders, "nics": {mac: ifname} of this namespace}.
The datasource path runs DataSourceEc2 itself (get_data(), then its
network_config property); run inside `ip netns exec`, which mounts this
namespace's /sys, so cloud-init sees the guest's NICs by MAC.
"""
import json
import sys
import tempfile

from cloudinit import helpers, net
from cloudinit.sources import DataSourceEc2
from cloudinit.sources.helpers import ec2

BASE = "http://169.254.169.254"


def via_datasource(tmp):
    paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
    sys_cfg = {"datasource": {"Ec2": {"metadata_urls": [BASE], "timeout": 2, "retries": 0,
                                      "max_wait": 10}}}
    ds = DataSourceEc2.DataSourceEc2(sys_cfg, None, paths)
    # not on AWS (no DMI saying so): cloud-init still crawls, without tokens
    if not ds.get_data():
        raise RuntimeError("DataSourceEc2.get_data() found no metadata service")
    # the version it crawled: the newest of its list the service answers
    return {"path": "datasource", "api": ds.get_metadata_api_version(),
            "network_md": ds.metadata.get("network"), "netcfg": ds.network_config}


def via_helpers():
    api = "2021-03-23"
    md = ec2.get_instance_metadata(api, BASE, timeout=2, retries=0)
    cfg = DataSourceEc2.convert_ec2_metadata_network_config(md["network"], fallback_nic="eth0")
    return {"path": "helpers", "api": api, "network_md": md.get("network"), "netcfg": cfg}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = via_datasource(tmp)
        except Exception as e:  # the datasource needs more than we give it
            out = via_helpers()
            out["datasource_error"] = repr(e)
    out["nics"] = net.get_interfaces_by_mac()
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
