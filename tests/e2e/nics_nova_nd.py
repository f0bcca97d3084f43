#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""nics_nova_nd.py DEFINITION.json - what nova itself makes of the
definition's NICs: each binding becomes a neutron-style VIF (its port the
devname, its MAC the address, its addresses one subnet per family with
the binding's gateway and DNS servers, its MTU the network's), and nova's
own nova.virt.netutils.get_network_metadata() (Debian's python3-nova
26.2.2) renders network_data.json from them. Prints json.dumps() of it,
the bytes nova's metadata handler serves, to compare with mdr's.

mdr's defaults for the ids nova takes from neutron (docs/instance-
definition.md): vif_id = interface_id, network_id = network_id, else
subnet_id; the VIF type is one nova does not expose ("phy").
"""
import ipaddress
import json
import sys

from nova.network import model
from nova.virt import netutils


def default_id(uuid, i, key):
    h = uuid.replace("-", "")
    if key == "interface_id":
        return "eni-%s%02x" % (h[:15], i & 0xff)
    return ("subnet-" if key == "subnet_id" else "vpc-") + h[:17]


def nic_id(d, b, i, key):
    if key in b:
        return b[key]
    if key == "network_id":
        return nic_id(d, b, i, "subnet_id")
    return default_id(d["uuid"], i, key)


def subnet(b, version):
    ifs = [ipaddress.ip_interface(a) for a in b.get("addresses", [])]
    ifs = [x for x in ifs if x.version == version]
    if not ifs:
        return None
    gw = b.get("gateway%d" % version)
    dns = [a for a in b.get("dns", []) if ipaddress.ip_address(a).version == version]
    return model.Subnet(cidr=str(ifs[0].network),
                        ips=[model.FixedIP(address=str(x.ip)) for x in ifs],
                        gateway=model.IP(address=gw, type="gateway") if gw else None,
                        dns=[model.IP(address=a, type="dns") for a in dns], routes=[])


def main():
    d = json.load(open(sys.argv[1]))
    nics = d.get("bindings") or ([d["binding"]] if "binding" in d else [])
    vifs = []
    for i, b in enumerate(nics):
        subnets = [s for s in (subnet(b, 4), subnet(b, 6)) if s]
        meta = {"mtu": b["mtu"]} if "mtu" in b else {}
        vifs.append(model.VIF(id=nic_id(d, b, i, "interface_id"), address=b.get("mac"),
                              devname=b.get("port"), type="other",
                              network=model.Network(id=nic_id(d, b, i, "network_id"),
                                                    subnets=subnets, meta=meta)))
    md = netutils.get_network_metadata(model.NetworkInfo(vifs))
    # nova's handler serves {} without network info; with VIFs that have
    # no subnet it would serve three empty lists, where mdr keeps {} (what
    # it served before it had bindings; docs/instance-definition.md)
    sys.stdout.write(json.dumps(md if md and md["links"] else {}))


if __name__ == "__main__":
    main()
