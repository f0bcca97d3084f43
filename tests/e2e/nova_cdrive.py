#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Differential test of a config drive against nova itself.

    nova_cdrive.py DEFN.json TREE

Builds the instance of DEFN.json as a nova Instance object and runs
Debian python3-nova's own InstanceMetadata.metadata_for_config_drive()
offline (what ConfigDriveBuilder writes), then compares every (path, bytes)
it yields with the file of the same path under TREE (an extracted mdr
config drive), byte for byte; random_seed is the one value set aside.

Only the lookups that would reach a database or neutron are replaced:
security groups, the block device mapping, the fixed / floating IPs.
Vendor data comes from nova's own StaticJSON provider (a vendordata JSON
file, CONF.api.vendordata_jsonfile_path); a vendor_data2 with targets
other than "static" from the DynamicJSON provider, whose HTTP call is the
only method replaced. Everything else is nova's code.

Differences that are facts, not bugs, and are reported as such:
- nova 26 (Debian 12) stops at OpenStack version 2020-10-14; mdr also
  writes 2025-04-04. Its files are checked to be byte-identical to
  nova's latest (which is 2020-10-14) when the instance has no share
  device, the only 2025-04-04 addition.
Prints "ok\\tNAME" / "fail\\tNAME\\tWHY" lines (tests/e2e/lib.sh tap_lines).
"""
import base64
import contextlib
import json
import os
import re
import sys
import tempfile
from unittest import mock

SEED = re.compile(rb'"random_seed": "[A-Za-z0-9+/=]*"')


def out(ok, name, why=""):
    print("%s\t%s%s" % ("ok" if ok else "fail", name, "\t" + why if why and not ok else ""))
    sys.stdout.flush()


_CONF_LOADED = []


@contextlib.contextmanager
def nova_metadata(d, address=None, derive_hostname=False):
    """nova's InstanceMetadata of definition d, with the database and
    neutron lookups replaced while the context lasts. address: the
    request's source (nova's local-ipv4 without a fixed IP). With
    derive_hostname, a definition without "hostname" gets nova's compute
    API hostname (sanitize_hostname(name) or Server-<uuid>) and its
    dhcp_domain (default novalocal), as mdr derives it."""
    import nova.conf
    from nova import objects
    objects.register_all()
    from nova.api.metadata import base, vendordata_dynamic
    from nova.network import model as network_model

    from nova import utils
    CONF = nova.conf.CONF
    if not _CONF_LOADED:
        from oslo_log import log  # CONF.debug, read by the request handler
        log.register_options(CONF)
        CONF([], project="nova", default_config_files=[])
        _CONF_LOADED.append(1)
    hostname = d.get("hostname")
    CONF.set_override("dhcp_domain", "", group="api")  # hostname as given
    if hostname is None and derive_hostname:
        hostname = utils.sanitize_hostname(d["name"]) or "Server-%s" % d["uuid"]
        CONF.set_override("dhcp_domain", d.get("dhcp_domain", "novalocal"), group="api")

    ec2 = d.get("ec2") or {}
    vd = d.get("vendor_data") or {}
    vd2 = d.get("vendor_data2")
    tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(vd, tmp)
    tmp.close()
    CONF.set_override("vendordata_jsonfile_path", tmp.name, group="api")
    dynamic = {}
    providers = ["StaticJSON"]
    if vd2 is not None:
        if vd2.get("static", vd) != vd or list(vd2)[:1] != ["static"]:
            raise SystemExit("vendor_data2 must start with static = vendor_data for nova")
        dynamic = {k: v for k, v in vd2.items() if k != "static"}
        if dynamic:
            providers.append("DynamicJSON")
    CONF.set_override("vendordata_providers", providers, group="api")

    keys = d.get("public_keys") or {}
    if len(keys) > 1:
        raise SystemExit("nova serves one key: give the instance one")
    kname = next(iter(keys), None)

    buses = {"pci": objects.PCIDeviceBus, "usb": objects.USBDeviceBus,
             "scsi": objects.SCSIDeviceBus, "ide": objects.IDEDeviceBus,
             "xen": objects.XenDeviceBus}
    devs = []
    for dv in d.get("devices") or []:
        kw = {}
        bus = dv.get("bus", "none")
        if bus != "none":
            kw["bus"] = buses[bus](address=dv["address"]) if "address" in dv else buses[bus]()
        if "tags" in dv:
            kw["tags"] = dv["tags"]
        if dv["type"] == "nic":
            kw["mac"] = dv["mac"]
            for f in ("vlan", "vf_trusted"):
                if f in dv:
                    kw[f] = dv[f]
            devs.append(objects.NetworkInterfaceMetadata(**kw))
        elif dv["type"] == "disk":
            for f in ("serial", "path"):
                if f in dv:
                    kw[f] = dv[f]
            devs.append(objects.DiskMetadata(**kw))
        else:
            raise SystemExit("nova 26 has no %s devices" % dv["type"])
    cpus = d.get("dedicated_cpus") or []
    numa = None
    if cpus:
        numa = objects.InstanceNUMATopology(cells=[objects.InstanceNUMACell(
            id=0, cpuset=set(), pcpuset=set(cpus), memory=512)])

    inst = objects.Instance(
        uuid=d["uuid"], hostname=hostname, display_name=d["name"],
        launch_index=d.get("launch_index", 0),
        availability_zone=d.get("availability_zone", "nova"),
        project_id=d.get("project_id", ""),
        reservation_id=ec2["reservation_id"],
        user_data=d.get("user_data"),
        key_name=kname, key_data=keys.get(kname) if kname else None,
        metadata=dict(d.get("meta") or {}), system_metadata={},
        ec2_ids=objects.EC2Ids(instance_id=ec2["instance_id"], ami_id=ec2["ami_id"],
                               kernel_id=ec2.get("kernel_id"),
                               ramdisk_id=ec2.get("ramdisk_id")),
        keypairs=objects.KeyPairList(objects=[objects.KeyPair(
            name=kname, public_key=keys[kname], type="ssh")] if kname else []),
        device_metadata=objects.InstanceDeviceMetadata(devices=devs),
        numa_topology=numa,
        flavor=objects.Flavor(name=ec2.get("instance_type", "")),
        info_cache=objects.InstanceInfoCache(network_info=network_model.NetworkInfo([])))

    fixed = ec2.get("local_ipv4") or address
    ip_info = {"fixed_ips": [fixed] if fixed else [],
               "fixed_ip6s": [],
               "floating_ips": [ec2["public_ipv4"]] if ec2.get("public_ipv4") else []}
    content = [(f["path"], base64.b64decode(f["content"])) for f in d.get("files") or []]
    with mock.patch.object(base.security_group_api, "get_instance_security_groups",
                           return_value=[{"name": n} for n in ec2.get("security_groups", [])]), \
            mock.patch.object(base, "_format_instance_mapping",
                              return_value=dict(ec2.get("block_device_mapping") or
                                                {"ami": "vda", "root": "/dev/vda"})), \
            mock.patch.object(base.netutils, "get_ec2_ip_info", return_value=ip_info), \
            mock.patch.object(vendordata_dynamic.DynamicVendorData, "get",
                              return_value=dynamic):
        try:
            yield base.InstanceMetadata(inst, address=address, content=content,
                                        network_info=network_model.NetworkInfo([]),
                                        network_metadata=d.get("network_data") or {})
        finally:
            os.unlink(tmp.name)


def nova_files(d):
    """(path, bytes) pairs from nova's metadata_for_config_drive()."""
    from nova.api.metadata import base
    files = []
    with nova_metadata(d) as md:
        for path, data in md.metadata_for_config_drive():
            if isinstance(data, str):
                data = data.encode("utf-8")  # what ConfigDriveBuilder._add_file does
            files.append((path, data))
    return files, base.OPENSTACK_VERSIONS[-1]


def tree_files(root):
    got = {}
    for dp, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(dp, f)
            with open(p, "rb") as fh:
                got[os.path.relpath(p, root)] = fh.read()
    return got


def main():
    with open(sys.argv[1]) as fh:
        d = json.load(fh)
    got = tree_files(sys.argv[2])
    files, nova_latest = nova_files(d)
    want = dict(files)
    same = 0
    for path, data in files:
        mine = got.get(path)
        if mine is None:
            out(False, "nova: %s is on the mdr drive" % path, "missing")
            continue
        if SEED.sub(b'"random_seed": ""', mine) != SEED.sub(b'"random_seed": ""', data):
            out(False, "nova: %s byte for byte" % path,
                "mdr  %r\nnova %r" % (mine[:300], data[:300]))
            continue
        same += 1
    out(same == len(files), "nova: %d of the %d files nova writes are byte-identical on the "
        "mdr drive (random_seed aside)" % (same, len(files)))
    extra = sorted(set(got) - set(want))
    newer = [p for p in extra if re.match(r"openstack/(\d{4}-\d\d-\d\d)/", p) and
             p.split("/")[1] > nova_latest]
    out(extra == newer, "nova: the mdr drive has no file nova lacks except newer versions "
        "than nova %s's %s (%s)" % ("26", nova_latest, ", ".join(sorted({p.split('/')[1] for p in newer})) or "none"),
        "unexpected: %s" % [p for p in extra if p not in newer])
    diff = [p for p in newer
            if SEED.sub(b"", got[p]) != SEED.sub(b"", want.get("openstack/latest/" + p.split("/", 2)[2], b""))]
    out(not diff, "nova: each file of a version newer than nova's equals nova's latest "
        "(no share device: nothing differs)", "differ: %s" % diff)


if __name__ == "__main__":
    main()
