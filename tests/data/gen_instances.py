#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Regenerates tests/data/instances/*.json and examples/vm{1,2,3}.json
(deterministic: fixed random seed). Run: python3 tests/data/gen_instances.py"""
import base64, json, os, random, hashlib
R = random.Random(20240501)
def key(name, comment):
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(R.getrandbits(8) for _ in range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"
def rsa_key(comment):
    e = b"\x00\x00\x00\x03\x01\x00\x01"
    n = b"\x00\x00\x01\x01\x00" + bytes(R.getrandbits(8) for _ in range(256))
    blob = b"\x00\x00\x00\x07ssh-rsa" + e + n
    return f"ssh-rsa {base64.b64encode(blob).decode()} {comment}"
b64 = lambda s: base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()

def netdata(mac, ip, gw, mtu=1500):
    return {
      "links": [{"id": "tap-" + mac.replace(":", "")[-6:], "type": "ovs", "ethernet_mac_address": mac,
                 "mtu": mtu, "vif_id": "1f5e4b5e-" + mac.replace(":", "")[-4:] + "-4a3b-9c1d-0c5b7e8f9a10"}],
      "networks": [{"id": "network0", "type": "ipv4", "link": "tap-" + mac.replace(":", "")[-6:],
                    "ip_address": ip, "netmask": "255.255.255.0",
                    "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": gw}],
                    "network_id": "da5bb487-5193-4a65-a3df-4a0055a8c0d7",
                    "services": [{"type": "dns", "address": "10.99.0.53"}]}],
      "services": [{"type": "dns", "address": "10.99.0.53"}]}

vm1_ud = """#cloud-config
hostname: vm1
fqdn: vm1.novalocal
users:
  - default
  - name: deploy
    groups: [sudo]
    shell: /bin/bash
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
package_update: true
packages: [nginx, jq]
write_files:
  - path: /etc/motd
    content: |
      Welcome to vm1 (served by mdr).
runcmd:
  - [systemctl, enable, --now, nginx]
"""
vm2_ud = """#!/bin/sh
# Bootstrap script for vm2: register with the config server.
set -eu
echo "vm2 booted at $(date -u +%FT%TZ)" >> /var/log/bootstrap.log
hostnamectl set-hostname vm2.novalocal
curl -fsS http://config.internal/register?host=vm2 || true
"""
# ~16 KiB cloud-config for benchmarks: a long write_files payload.
lines = ["#cloud-config", "# vm3: large user data (benchmarks)", "write_files:",
         "  - path: /etc/vm3/inventory.txt", "    permissions: '0644'", "    content: |"]
i = 0
while sum(len(l) + 1 for l in lines) < 16 * 1024 - 120:
    h = hashlib.sha256(str(i).encode()).hexdigest()
    lines.append(f"      host-{i:04d} 10.{i // 250}.{i % 250}.7 {h[:40]}")
    i += 1
lines += ["runcmd:", "  - [sh, -c, 'wc -l /etc/vm3/inventory.txt > /run/vm3.count']"]
vm3_ud = "\n".join(lines) + "\n"
assert 15 * 1024 < len(vm3_ud) <= 16 * 1024, len(vm3_ud)

common_vd = {"cloud-init": "#cloud-config\nntp:\n  servers: [ntp.internal]\n", "provider": "mdr-demo"}
vms = []
vms.append({
  "uuid": "d8e02d56-2648-415b-b62a-3a1b9ce1d0f8", "name": "vm1", "hostname": "vm1.novalocal",
  "availability_zone": "nova", "project_id": "4fd44f30292945e481c7b8a0c8908869", "launch_index": 0,
  "binding": {"port": "tap1"},
  "public_keys": {"alice": key("alice", "alice@laptop")},
  "meta": {"role": "webservers", "essential": "false", "env": "prod"},
  "user_data": b64(vm1_ud),
  "files": [{"path": "/etc/network/interfaces", "content": b64("auto eth0\niface eth0 inet dhcp\n")},
            {"path": "/etc/vm1/secret.conf", "content": b64("token = 6f1c2a\n")}],
  "network_data": netdata("52:54:00:00:01:01", "10.99.0.10", "10.99.0.1"),
  "vendor_data": common_vd,
  "vendor_data2": {"static": {"motd": "vm1 says hi"}, "ipa": {"hostname": "vm1.novalocal", "otp": "7UXhv2K"}},
  "devices": [{"type": "nic", "bus": "pci", "address": "0000:00:03.0", "mac": "52:54:00:00:01:01", "tags": ["mgmt"]},
              {"type": "disk", "bus": "scsi", "address": "0:0:0:0", "serial": "disk-vm1-0", "path": "/dev/sda", "tags": ["root"]}],
  "ec2": {"instance_id": "i-0000000a", "ami_id": "ami-00000001", "instance_type": "m1.small",
          "local_ipv4": "10.99.0.10", "public_ipv4": "203.0.113.10", "reservation_id": "r-3ux3hp7u",
          "security_groups": ["default", "web"], "block_device_mapping": {"ami": "vda", "root": "/dev/vda"}},
  "imds": {"tokens": "optional", "hop_limit": 1, "rate_pps": 1024, "burst": 256, "max_connections": 32}})
vms.append({
  "uuid": "4b9a6f3e-0c8d-4e55-9f10-2a7b3c4d5e61", "name": "vm2", "hostname": "vm2.novalocal",
  "availability_zone": "us-east-1b", "project_id": "4fd44f30292945e481c7b8a0c8908869", "launch_index": 1,
  "binding": {"port": "tap2"},
  "public_keys": {"bob": rsa_key("bob@workstation")},
  "meta": {"role": "db", "backup": "nightly"},
  "user_data": b64(vm2_ud),
  "files": [{"path": "/etc/vm2/db.ini", "content": b64("[db]\nport = 5432\nmax_connections = 200\n")}],
  "network_data": netdata("52:54:00:00:01:02", "10.99.0.10", "10.99.0.1", 1450),
  "vendor_data": {"cloud-init": "#cloud-config\ntimezone: UTC\n"},
  "vendor_data2": {"static": {}, "monitoring": {"agent": "node-exporter", "port": 9100}},
  "devices": [{"type": "nic", "bus": "pci", "address": "0000:00:03.0", "mac": "52:54:00:00:01:02", "tags": ["db"], "vlan": 100}],
  "ec2": {"instance_id": "i-0000000b", "ami_id": "ami-00000002", "instance_type": "m1.large",
          "local_ipv4": "10.99.0.10", "public_ipv4": "", "reservation_id": "r-8kq2d7mz",
          "security_groups": ["default", "db"], "block_device_mapping": {"ami": "vda", "root": "/dev/vda", "ephemeral0": "vdb"}},
  "imds": {"tokens": "required", "hop_limit": 1, "rate_pps": 1024, "burst": 256, "max_connections": 32}})
vms.append({
  "uuid": "9c1f0e2a-7b6d-4c3e-8a5f-1e2d3c4b5a69", "name": "vm3", "hostname": "vm3.novalocal",
  "availability_zone": "eu-west-1a", "project_id": "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "launch_index": 0,
  "binding": {"port": "tap3"},
  "public_keys": {"carol": key("carol", "carol@ops"), "deploy": key("deploy", "deploy@ci")},
  "meta": {"role": "batch", "owner": "Zoë Ünïcode", "note": "größe ✓"},
  "user_data": b64(vm3_ud),
  "files": [],
  "network_data": netdata("52:54:00:00:01:03", "10.99.0.13", "10.99.0.1"),
  "vendor_data": {},
  "vendor_data2": {"static": {}},
  "ec2": {"instance_id": "i-0000000c", "ami_id": "ami-00000003", "instance_type": "c1.xlarge",
          "local_ipv4": "10.99.0.13", "public_ipv4": "", "reservation_id": "r-p0w9x2c1",
          "security_groups": ["default"], "block_device_mapping": {"ami": "vda", "root": "/dev/vda"}},
  "imds": {"tokens": "optional", "hop_limit": 2, "rate_pps": 2048, "burst": 512, "max_connections": 64}})
vm4 = {
  "uuid": "e3b0c442-98fc-4c14-9afb-f4c8996fb924", "name": "vm4", "hostname": "vm4.novalocal",
  "availability_zone": "nova", "project_id": "4fd44f30292945e481c7b8a0c8908869", "launch_index": 2,
  "binding": {"port": "tap4"},
  "ec2": {"instance_id": "i-0000000d", "ami_id": "ami-00000001", "instance_type": "m1.tiny",
          "local_ipv4": "10.99.0.14", "public_ipv4": "", "reservation_id": "r-3ux3hp7u",
          "security_groups": ["default"], "block_device_mapping": {"ami": "vda", "root": "/dev/vda"}}}
minimal = {"uuid": "0f7a2c1e-5d4b-4a3c-9e8f-7d6c5b4a3921", "name": "minimal", "hostname": "minimal.novalocal",
           "binding": {"port": "tap1"}}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = os.path.join(ROOT, "tests/data/instances/")
for v in vms:
    json.dump(v, open(out + v["name"] + ".json", "w"), indent=2, ensure_ascii=False); open(out + v["name"] + ".json", "a").write("\n")
json.dump(vm4, open(out + "vm4-nokeys.json", "w"), indent=2); open(out + "vm4-nokeys.json", "a").write("\n")
json.dump(minimal, open(out + "minimal.json", "w"), indent=2); open(out + "minimal.json", "a").write("\n")
import copy
for v in vms:
    v = copy.deepcopy(v)
    # The demo crawls with cloud-init's OpenStack datasource (no tokens).
    v["imds"]["tokens"] = "optional"
    p = os.path.join(ROOT, "examples", v["name"] + ".json")
    json.dump(v, open(p, "w"), indent=2, ensure_ascii=False); open(p, "a").write("\n")
