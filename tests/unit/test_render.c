// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_render.c - the nova/EC2 tree rendered from sample definitions,
 * compared byte for byte with what nova serves. The expected
 * meta_data.json documents were produced by Python's json.dumps over
 * nova's _metadata_as_json() logic (see the EXP_* tables), the EC2
 * listings by sorted() over nova's get_ec2_metadata() keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "defn.h"
#include "render.h"
#include "defn_samples.h"

/* ---- expected documents (generated from nova's logic, see above) ---- */
static const char *const EXP_META_MINIMAL[] = {
	/* 2012-08-10 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\"}",
	/* 2013-04-04 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\"}",
	/* 2013-10-17 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\"}",
	/* 2015-10-15 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\"}",
	/* 2016-06-30 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": []}",
	/* 2016-10-06 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": []}",
	/* 2017-02-22 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": []}",
	/* 2018-08-27 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": []}",
	/* 2020-10-14 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": [], \"dedicated_cpus\": []}",
	/* 2025-04-04 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"hostname\": \"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"name\": \"Server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": [], \"dedicated_cpus\": []}",
};
static const char *const EXP_META_FULL[] = {
	/* 2012-08-10 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\"}",
	/* 2013-04-04 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\"}",
	/* 2013-10-17 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\"}",
	/* 2015-10-15 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\"}",
	/* 2016-06-30 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}]}",
	/* 2016-10-06 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}]}",
	/* 2017-02-22 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"vlan\": 100, \"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}]}",
	/* 2018-08-27 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"vlan\": 100, \"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:ab:cd:ef\", \"bus\": \"none\", \"address\": \"none\"}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}]}",
	/* 2020-10-14 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"vlan\": 100, \"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:ab:cd:ef\", \"bus\": \"none\", \"address\": \"none\"}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}], \"dedicated_cpus\": [1, 2, 3]}",
	/* 2025-04-04 */
	"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"public_keys\": {\"mykey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}, \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"vlan\": 100, \"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:ab:cd:ef\", \"bus\": \"none\", \"address\": \"none\"}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}, {\"type\": \"share\", \"share_id\": \"share-1\", \"tag\": \"data\", \"bus\": \"none\", \"address\": \"none\"}], \"dedicated_cpus\": [1, 2, 3]}",
};
static const char EXP_META_UNICODE[] = "{\"uuid\": \"0b6d1f5e-9c1a-4c55-8f43-7a8e2d9c0e11\", \"meta\": {\"r\\u00f4le\": \"caf\\u00e9 \\u2615\", \"emoji\": \"\\ud83d\\ude00\", \"quote\\\"back\\\\slash\": \"line1\\nline2\\ttab\\u0001\"}, \"public_keys\": {\"cl\\u00e9\": \"ssh-rsa AAAAB3 \\u00fcser@h\\u00f4te\"}, \"keys\": [{\"name\": \"cl\\u00e9\", \"type\": \"ssh\", \"data\": \"ssh-rsa AAAAB3 \\u00fcser@h\\u00f4te\"}], \"hostname\": \"vm-unicode\", \"name\": \"Serveur \\u00e9t\\u00e9 \\u2603\", \"launch_index\": 0, \"availability_zone\": \"nova\", \"random_seed\": \"@SEED@\", \"project_id\": \"\", \"devices\": [], \"dedicated_cpus\": []}";
static const char EXP_META_NO_KEYS[] = "{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"role\": \"webservers\", \"essential\": \"false\"}, \"files\": [{\"path\": \"/etc/network/interfaces\", \"content_path\": \"/content/0000\"}, {\"path\": \"/root/.note\", \"content_path\": \"/content/0001\"}], \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", \"launch_index\": 2, \"availability_zone\": \"az1\", \"random_seed\": \"@SEED@\", \"project_id\": \"4fd44f30292945e481c7b8a0c8908869\", \"devices\": [{\"vlan\": 100, \"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", \"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, {\"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:ab:cd:ef\", \"bus\": \"none\", \"address\": \"none\"}, {\"type\": \"disk\", \"serial\": \"disk-vol-1\", \"path\": \"/dev/sdb\", \"bus\": \"scsi\", \"address\": \"0:0:0:0\", \"tags\": [\"db\"]}, {\"type\": \"share\", \"share_id\": \"share-1\", \"tag\": \"data\", \"bus\": \"none\", \"address\": \"none\"}], \"dedicated_cpus\": [1, 2, 3]}";
static const char EXP_NETWORK_DATA_FULL[] = "{\"links\": [{\"id\": \"tap1\", \"type\": \"ovs\", \"ethernet_mac_address\": \"52:54:00:12:34:56\", \"mtu\": 1450}], \"networks\": [{\"id\": \"network0\", \"link\": \"tap1\", \"type\": \"ipv4_dhcp\"}], \"services\": []}";
static const char EXP_VENDOR_DATA_FULL[] = "{\"hello\": \"world\"}";
static const char EXP_VENDOR_DATA2_FULL[] = "{\"static\": {\"hello\": \"world\"}}";
static const char *const EXP_EC2_MD_FULL[] = {
	/* 1.0 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-ipv4\npublic-keys/\nreservation-id\nsecurity-groups",
	/* 2007-01-19 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\nsecurity-groups",
	/* 2007-03-01 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\nsecurity-groups",
	/* 2007-08-29 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\nsecurity-groups",
	/* 2007-10-10 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\npublic-keys/\nreservation-id\nsecurity-groups",
	/* 2007-12-15 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-id\ninstance-type\nkernel-id\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups",
	/* 2008-02-01 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-id\ninstance-type\nkernel-id\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups",
	/* 2008-09-01 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-action\ninstance-id\ninstance-type\nkernel-id\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups",
	/* 2009-04-04 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-action\ninstance-id\ninstance-type\nkernel-id\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups",
};
/* latest (2021-03-23) adds AWS's events/ and instance-life-cycle to 2009-04-04's,
 * and the NIC's mac and network/ (the versions mdr adds, >= 2011-01-01) */
#define EXP_EC2_MD_FULL_LATEST "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nkernel-id\nlocal-hostname\nlocal-ipv4\nmac\nnetwork/\nplacement/\npublic-hostname\npublic-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups"
#define EXP_EC2_MD_MINIMAL_LATEST "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups"
static const char *const EXP_EC2_MD_MINIMAL[] = {
	/* 1.0 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-ipv4\nreservation-id\nsecurity-groups",
	/* 2007-01-19 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2007-03-01 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2007-08-29 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2007-10-10 */ "ami-id\nami-launch-index\nami-manifest-path\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2007-12-15 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2008-02-01 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2008-09-01 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-action\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
	/* 2009-04-04 */ "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-action\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups",
};

/* ---- helpers ---------------------------------------------------------- */

/* Deterministic randomness that changes on every call, and remembers
 * the last bytes handed out so a test can rebuild the expected seed. */
struct fake_rng {
	unsigned calls;
	uint8_t last[MDR_RANDOM_SEED_BYTES];
};

static void fake_random(void *buf, size_t len, void *opaque)
{
	struct fake_rng *r = opaque;
	uint8_t *b = buf;

	r->calls++;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31u + r->calls * 7u);
	memcpy(r->last, buf, len < sizeof(r->last) ? len : sizeof(r->last));
}

static struct fake_rng rng;
static struct mdr_render_ctx ctx = {.random = fake_random, .opaque = &rng, .remote_ip = "192.0.2.9"};

static struct mdr_reply get(const struct mdr_defn *d, const char *path)
{
	struct mdr_reply r;

	assert_int_equal(mdr_render(d, path, &ctx, &r), 0);
	return r;
}

static void expect_body(const struct mdr_defn *d, const char *path, const char *ctype,
			const char *body)
{
	struct mdr_reply r = get(d, path);

	if (r.status != 200 || r.kind != MDR_REPLY_BODY)
		fail_msg("%s: status %d kind %d", path, r.status, r.kind);
	assert_string_equal(r.content_type, ctype);
	if (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len))
		fail_msg("%s:\n got [%.*s]\nwant [%s]", path, (int)r.body_len, r.body, body);
	mdr_reply_free(&r);
}

static void expect_text(const struct mdr_defn *d, const char *path, const char *body)
{
	expect_body(d, path, MDR_CT_TEXT, body);
}

static void expect_404(const struct mdr_defn *d, const char *path)
{
	struct mdr_reply r = get(d, path);

	if (r.status != 404)
		fail_msg("%s: status %d, want 404 (body [%.*s])", path, r.status, (int)r.body_len,
			 r.body ? r.body : "");
	assert_int_equal(r.kind, MDR_REPLY_BODY);
	assert_string_equal(r.content_type, MDR_CT_TEXT);
	assert_string_equal(r.body, "404 Not Found\n\nThe resource could not be found.\n\n   ");
	mdr_reply_free(&r);
}

static void expect_blob(const struct mdr_defn *d, const char *path, unsigned blob, size_t len)
{
	struct mdr_reply r = get(d, path);

	if (r.status != 200 || r.kind != MDR_REPLY_BLOB)
		fail_msg("%s: status %d kind %d, want blob %u", path, r.status, r.kind, blob);
	assert_int_equal(r.blob, blob);
	assert_int_equal(r.blob_len, len);
	assert_string_equal(r.content_type, MDR_CT_TEXT);
	assert_null(r.body);
	mdr_reply_free(&r);
}

/* Expected meta_data.json: the table entry with @SEED@ replaced by the
 * base64 of the bytes the fake RNG handed out for this very request. */
static void expect_meta(const struct mdr_defn *d, const char *path, const char *tmpl)
{
	char seed[MDR_RANDOM_SEED_BYTES / 3 * 4 + 8], want[16384];
	struct mdr_reply r = get(d, path);
	const char *at = strstr(tmpl, "@SEED@");

	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, MDR_CT_JSON);
	if (at) {
		EVP_EncodeBlock((unsigned char *)seed, rng.last, MDR_RANDOM_SEED_BYTES);
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - tmpl), tmpl, seed, at + 6);
	} else {
		snprintf(want, sizeof(want), "%s", tmpl);
	}
	if (r.body_len != strlen(want) || memcmp(r.body, want, r.body_len))
		fail_msg("%s:\n got [%.*s]\nwant [%s]", path, (int)r.body_len, r.body, want);
	mdr_reply_free(&r);
}

static char *vpath(const char *fmt, const char *v)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), fmt, v);
	return buf;
}

#define EC2_ALL_VERSIONS "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n" \
			 "2008-02-01\n2008-09-01\n2009-04-04\n2016-09-02\n2018-09-24\n" \
			 "2019-10-01\n2021-03-23\nlatest"
#define OS_ALL_VERSIONS "2012-08-10\n2013-04-04\n2013-10-17\n2015-10-15\n2016-06-30\n" \
			"2016-10-06\n2017-02-22\n2018-08-27\n2020-10-14\n2025-04-04\nlatest"

/* ---- version listings ---------------------------------------------------- */

static void test_root_lists_ec2_versions(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_text(d, "/", EC2_ALL_VERSIONS);
	expect_text(d, "", EC2_ALL_VERSIONS);
	expect_text(d, "/ec2", EC2_ALL_VERSIONS);
	expect_text(d, "/ec2/", EC2_ALL_VERSIONS);
	mdr_defn_free(d);
}

static void test_unknown_instance_only_root(void **state)
{
	(void)state;
	expect_text(NULL, "/", EC2_ALL_VERSIONS);
	expect_text(NULL, "//?x=1", EC2_ALL_VERSIONS);
	expect_404(NULL, "/openstack");
	expect_404(NULL, "/latest/meta-data/");
	expect_404(NULL, "/openstack/latest/meta_data.json");
	expect_404(NULL, "/latest/user-data");
}

static void test_openstack_lists_versions(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	expect_text(d, "/openstack", OS_ALL_VERSIONS);
	expect_text(d, "/openstack/", OS_ALL_VERSIONS);
	assert_int_equal(mdr_n_openstack_versions, 10);
	assert_int_equal(mdr_n_ec2_versions, 9);
	mdr_defn_free(d);
}

static void test_openstack_version_listing_gated(void **state)
{
	static const char *const with_ud[] = {
		"meta_data.json\nuser_data",
		"meta_data.json\nuser_data\npassword",
		"meta_data.json\nuser_data\npassword\nvendor_data.json",
		"meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json",
		"meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json",
	};
	static const char all[] = "meta_data.json\nuser_data\npassword\nvendor_data.json\n"
				  "network_data.json\nvendor_data2.json";
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	for (size_t i = 0; i < mdr_n_openstack_versions; i++) {
		const char *want = i < 5 ? with_ud[i] : all;

		expect_text(d, vpath("/openstack/%s", mdr_openstack_versions[i]), want);
		expect_text(d, vpath("/openstack/%s/", mdr_openstack_versions[i]), want);
	}
	expect_text(d, "/openstack/latest", all);
	mdr_defn_free(d);
}

static void test_openstack_listing_without_user_data(void **state)
{
	struct mdr_defn *d = load(SAMPLE_NO_USER_DATA);

	(void)state;
	expect_text(d, "/openstack/2012-08-10", "meta_data.json");
	expect_text(d, "/openstack/latest", "meta_data.json\npassword\nvendor_data.json\n"
					    "network_data.json\nvendor_data2.json");
	expect_404(d, "/openstack/latest/user_data");
	expect_404(d, "/openstack/2012-08-10/user_data");
	mdr_defn_free(d);
}

static void test_openstack_version_alias_listing(void **state)
{
	struct mdr_defn *d = load(SAMPLE_NO_USER_DATA);

	(void)state;
	/* nova routes <version>/version to the same listing */
	expect_text(d, "/openstack/2013-10-17/version", "meta_data.json\npassword\nvendor_data.json");
	mdr_defn_free(d);
}

/* ---- meta_data.json ----------------------------------------------------- */

static void test_meta_data_minimal_every_version(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	for (size_t i = 0; i < mdr_n_openstack_versions; i++)
		expect_meta(d, vpath("/openstack/%s/meta_data.json", mdr_openstack_versions[i]),
			    EXP_META_MINIMAL[i]);
	expect_meta(d, "/openstack/latest/meta_data.json", EXP_META_MINIMAL[9]);
	mdr_defn_free(d);
}

static void test_meta_data_full_every_version(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	for (size_t i = 0; i < mdr_n_openstack_versions; i++)
		expect_meta(d, vpath("/openstack/%s/meta_data.json", mdr_openstack_versions[i]),
			    EXP_META_FULL[i]);
	expect_meta(d, "/openstack/latest/meta_data.json/", EXP_META_FULL[9]);
	mdr_defn_free(d);
}

static void test_meta_data_unicode_escaped_like_python(void **state)
{
	struct mdr_defn *d = load(SAMPLE_UNICODE);

	(void)state;
	expect_meta(d, "/openstack/latest/meta_data.json", EXP_META_UNICODE);
	mdr_defn_free(d);
}

static void test_meta_data_no_keys(void **state)
{
	struct mdr_defn *d = load(SAMPLE_NO_KEYS);

	(void)state;
	expect_meta(d, "/openstack/latest/meta_data.json", EXP_META_NO_KEYS);
	mdr_defn_free(d);
}

static void test_random_seed_fresh_and_valid(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	char *seeds[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct mdr_reply r = get(d, "/openstack/latest/meta_data.json");
		char *s = strstr(r.body, "\"random_seed\": \""), *e;
		unsigned char raw[600];

		assert_non_null(s);
		s += strlen("\"random_seed\": \"");
		e = strchr(s, '"');
		assert_int_equal(e - s, 684); /* base64 of 512 bytes */
		assert_int_equal(EVP_DecodeBlock(raw, (unsigned char *)s, (int)(e - s)), 513);
		seeds[i] = strndup(s, (size_t)(e - s));
		mdr_reply_free(&r);
	}
	assert_string_not_equal(seeds[0], seeds[1]);
	free(seeds[0]);
	free(seeds[1]);
	mdr_defn_free(d);
}

static void test_no_random_seed_in_folsom(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	unsigned before = rng.calls;
	struct mdr_reply r = get(d, "/openstack/2012-08-10/meta_data.json");

	(void)state;
	assert_null(strstr(r.body, "random_seed"));
	assert_int_equal(rng.calls, before); /* no entropy drawn for nothing */
	mdr_reply_free(&r);
	mdr_defn_free(d);
}

/* ---- other OpenStack files --------------------------------------------- */

static void test_vendor_and_network_data(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_body(d, "/openstack/latest/vendor_data.json", MDR_CT_JSON, EXP_VENDOR_DATA_FULL);
	expect_body(d, "/openstack/latest/vendor_data2.json", MDR_CT_JSON, EXP_VENDOR_DATA2_FULL);
	/* nova never sets a MIME type for network_data.json */
	expect_body(d, "/openstack/latest/network_data.json", MDR_CT_TEXT, EXP_NETWORK_DATA_FULL);
	mdr_defn_free(d);
}

static void test_vendor_and_network_defaults(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	expect_body(d, "/openstack/latest/vendor_data.json", MDR_CT_JSON, "{}");
	expect_body(d, "/openstack/latest/vendor_data2.json", MDR_CT_JSON, "{\"static\": {}}");
	expect_body(d, "/openstack/latest/network_data.json", MDR_CT_TEXT, "{}");
	mdr_defn_free(d);
}

static void test_vendor_data2_given(void **state)
{
	struct mdr_defn *d = load("{\"uuid\":\"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\","
				  "\"vendor_data\":{\"a\":1},"
				  "\"vendor_data2\":{\"static\":{\"a\":1},\"dyn\":{\"k\":[true,null,1.5]}}}");

	(void)state;
	expect_body(d, "/openstack/latest/vendor_data2.json", MDR_CT_JSON,
		    "{\"static\": {\"a\": 1}, \"dyn\": {\"k\": [true, null, 1.5]}}");
	expect_body(d, "/openstack/2016-10-06/vendor_data.json", MDR_CT_JSON, "{\"a\": 1}");
	mdr_defn_free(d);
}

static void test_openstack_files_version_gated(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_404(d, "/openstack/2013-04-04/vendor_data.json");
	expect_body(d, "/openstack/2013-10-17/vendor_data.json", MDR_CT_JSON, EXP_VENDOR_DATA_FULL);
	expect_404(d, "/openstack/2016-06-30/vendor_data2.json");
	expect_body(d, "/openstack/2016-10-06/vendor_data2.json", MDR_CT_JSON, EXP_VENDOR_DATA2_FULL);
	/* nova does not version-check network_data.json (only lists it >= 2015-10-15) */
	expect_body(d, "/openstack/2012-08-10/network_data.json", MDR_CT_TEXT, EXP_NETWORK_DATA_FULL);
	mdr_defn_free(d);
}

static void test_password_path(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	expect_404(d, "/openstack/2012-08-10/password");
	for (size_t i = 1; i < mdr_n_openstack_versions; i++) {
		struct mdr_reply r = get(d, vpath("/openstack/%s/password", mdr_openstack_versions[i]));

		assert_int_equal(r.status, 200);
		assert_int_equal(r.kind, MDR_REPLY_PASSWORD);
		assert_null(r.body);
		mdr_reply_free(&r);
	}
	struct mdr_reply r = get(d, "/openstack/latest/password/");
	assert_int_equal(r.kind, MDR_REPLY_PASSWORD);
	mdr_reply_free(&r);
	expect_404(d, "/openstack/2099-01-01/password");
	expect_404(d, "/latest/password");
	mdr_defn_free(d);
}

static void test_user_data_blob_every_version(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	size_t len = strlen("#cloud-config\nhostname: vm1\n");

	(void)state;
	for (size_t i = 0; i < mdr_n_openstack_versions; i++)
		expect_blob(d, vpath("/openstack/%s/user_data", mdr_openstack_versions[i]),
			    MDR_BLOB_USER_DATA, len);
	for (size_t i = 0; i < mdr_n_ec2_versions; i++) {
		expect_blob(d, vpath("/%s/user-data", mdr_ec2_versions[i]), MDR_BLOB_USER_DATA, len);
		expect_blob(d, vpath("/ec2/%s/user-data/", mdr_ec2_versions[i]), MDR_BLOB_USER_DATA, len);
	}
	expect_blob(d, "/latest/user-data", MDR_BLOB_USER_DATA, len);
	assert_memory_equal(d->user_data, "#cloud-config\nhostname: vm1\n", len);
	mdr_defn_free(d);
}

static void test_large_user_data(void **state)
{
	static const char head[] = "{\"uuid\":\"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\",\"user_data\":\"";
	size_t n = MDR_USER_DATA_MAX, blen = (n + 2) / 3 * 4;
	unsigned char *raw = malloc(n);
	char *json = malloc(sizeof(head) + blen + 8);
	struct mdr_defn *d;

	(void)state;
	for (size_t i = 0; i < n; i++)
		raw[i] = (unsigned char)(i * 13 + 5);
	strcpy(json, head);
	EVP_EncodeBlock((unsigned char *)json + strlen(head), raw, (int)n);
	strcat(json, "\"}");
	d = load(json);
	expect_blob(d, "/openstack/latest/user_data", MDR_BLOB_USER_DATA, MDR_USER_DATA_MAX);
	expect_blob(d, "/latest/user-data", MDR_BLOB_USER_DATA, MDR_USER_DATA_MAX);
	assert_memory_equal(d->user_data, raw, n);
	expect_text(d, "/latest", "dynamic/\nmeta-data/\nuser-data");
	free(raw);
	free(json);
	mdr_defn_free(d);
}

static void test_empty_user_data_is_served(void **state)
{
	struct mdr_defn *d = load("{\"uuid\":\"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\",\"user_data\":\"\"}");

	(void)state;
	expect_blob(d, "/latest/user-data", MDR_BLOB_USER_DATA, 0);
	expect_text(d, "/openstack/2012-08-10", "meta_data.json\nuser_data");
	mdr_defn_free(d);
}

static void test_injected_files(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_blob(d, "/openstack/content/0000", MDR_BLOB_FILE0, strlen("auto eth0\n"));
	expect_blob(d, "/openstack/content/0001/", MDR_BLOB_FILE0 + 1, strlen("hello"));
	assert_memory_equal(d->file[1], "hello", 5);
	expect_404(d, "/openstack/content/0002");
	expect_404(d, "/openstack/content");
	expect_404(d, "/openstack/content/0");
	expect_404(d, "/openstack/content/00000");
	expect_404(d, "/openstack/content/0000/x");
	expect_404(d, "/openstack/latest/content/0000");
	mdr_defn_free(d);
}

/* ---- EC2 ----------------------------------------------------------------- */

static void test_ec2_version_listing(void **state)
{
	struct mdr_defn *full = load(SAMPLE_FULL), *noud = load(SAMPLE_NO_USER_DATA);

	(void)state;
	for (size_t i = 0; i < mdr_n_ec2_versions; i++) {
		expect_text(full, vpath("/%s", mdr_ec2_versions[i]), "meta-data/\nuser-data");
		expect_text(noud, vpath("/ec2/%s/", mdr_ec2_versions[i]), "meta-data/");
	}
	expect_404(noud, "/latest/user-data");
	mdr_defn_free(full);
	mdr_defn_free(noud);
}

static void test_ec2_meta_data_listing_every_version(void **state)
{
	struct mdr_defn *full = load(SAMPLE_FULL), *min = load(SAMPLE_MINIMAL);

	(void)state;
	for (size_t i = 0; i < mdr_n_ec2_versions; i++) {
		expect_text(full, vpath("/%s/meta-data", mdr_ec2_versions[i]), EXP_EC2_MD_FULL[i]);
		expect_text(full, vpath("/%s/meta-data/", mdr_ec2_versions[i]), EXP_EC2_MD_FULL[i]);
		expect_text(full, vpath("/ec2/%s/meta-data/", mdr_ec2_versions[i]), EXP_EC2_MD_FULL[i]);
		expect_text(min, vpath("/%s/meta-data/", mdr_ec2_versions[i]), EXP_EC2_MD_MINIMAL[i]);
	}
	expect_text(full, "/latest/meta-data/", EXP_EC2_MD_FULL_LATEST);
	expect_text(min, "/ec2/latest/meta-data", EXP_EC2_MD_MINIMAL_LATEST);
	mdr_defn_free(full);
	mdr_defn_free(min);
}

static void test_ec2_leaves(void **state)
{
	static const struct {
		const char *path, *body;
	} leaves[] = {
		{"ami-id", "ami-00000001"},
		{"ami-launch-index", "2"},
		{"ami-manifest-path", "FIXME"},
		{"hostname", "vm1.novalocal"},
		{"instance-action", "none"},
		{"instance-id", "i-0000000a"},
		{"instance-type", "m1.small"},
		{"kernel-id", "aki-00000002"},
		{"local-hostname", "vm1.novalocal"},
		{"local-ipv4", "10.0.0.5"},
		{"public-hostname", "vm1.novalocal"},
		{"public-ipv4", "203.0.113.7"},
		{"ramdisk-id", "ari-00000003"},
		{"reservation-id", "r-3ux3hp7u"},
		{"security-groups", "default\nweb"},
		{"placement", "availability-zone\navailability-zone-id\nregion"},
		{"placement/availability-zone", "az1"},
		{"block-device-mapping", "ami\nephemeral0\nroot\nswap"},
		{"block-device-mapping/ami", "vda"},
		{"block-device-mapping/root", "/dev/vda"},
		{"block-device-mapping/ephemeral0", "vdb"},
		{"block-device-mapping/swap", "vdc"},
	};
	struct mdr_defn *d = load(SAMPLE_FULL);
	char p[128];

	(void)state;
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		snprintf(p, sizeof(p), "/latest/meta-data/%s", leaves[i].path);
		expect_text(d, p, leaves[i].body);
		snprintf(p, sizeof(p), "/2021-03-23/meta-data/%s/", leaves[i].path); /* = latest */
		expect_text(d, p, leaves[i].body);
	}
	mdr_defn_free(d);
}

static void test_ec2_minimal_defaults(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	expect_text(d, "/latest/meta-data/instance-id", "i-d8e02d56");
	expect_text(d, "/latest/meta-data/reservation-id", "r-2648415b");
	expect_text(d, "/latest/meta-data/ami-id", "ami-00000000");
	expect_text(d, "/latest/meta-data/hostname", "server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal");
	/* nova: the fixed IP, else the address the request came from */
	expect_text(d, "/latest/meta-data/local-ipv4", "192.0.2.9");
	expect_text(d, "/latest/meta-data/public-ipv4", "");
	expect_text(d, "/latest/meta-data/security-groups", "");
	expect_text(d, "/latest/meta-data/instance-type", "");
	expect_text(d, "/latest/meta-data/placement/availability-zone", "nova");
	expect_text(d, "/latest/meta-data/block-device-mapping", "ami\nroot");
	expect_text(d, "/latest/meta-data/block-device-mapping/root", "/dev/vda");
	expect_404(d, "/latest/meta-data/kernel-id");
	expect_404(d, "/latest/meta-data/ramdisk-id");
	mdr_defn_free(d);
}

/* DEL is escaped as \u007f, as Python's json.dumps (ensure_ascii) does. */
static void test_del_escaped_like_python(void **state)
{
	struct mdr_defn *d = load("{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", "
				  "\"name\": \"vm1\", \"meta\": {\"k\": \"a\\u007fb\"}}");

	(void)state;
	expect_body(d, "/openstack/2012-08-10/meta_data.json", MDR_CT_JSON,
		    "{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"meta\": {\"k\": "
		    "\"a\\u007fb\"}, \"hostname\": \"vm1.novalocal\", \"name\": \"vm1\", "
		    "\"launch_index\": 0, \"availability_zone\": \"nova\"}");
	mdr_defn_free(d);
}

/* Over IPv6 the request's address is not an IPv4 one: local-ipv4 is
 * empty (served) or null (config drive), never the IPv6 address. */
static void test_local_ipv4_never_ipv6(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	struct mdr_render_ctx v6 = {.remote_ip = "fe80::a9fe:a9fe"};
	struct mdr_reply r;
	char *json;
	size_t len;

	(void)state;
	assert_int_equal(mdr_render(d, "/latest/meta-data/local-ipv4", &v6, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	mdr_reply_free(&r);
	assert_int_equal(mdr_render_ec2_meta_json(d, "latest", &v6, &json, &len), 0);
	assert_non_null(strstr(json, "\"local-ipv4\": null"));
	free(json);
	mdr_defn_free(d);
}

/* The dated versions agents ask for answer (cloud-init's Ec2 probes,
 * afterburn's 2019-10-01), "latest" is the newest; others stay 404. */
static void test_ec2_aws_versions(void **state)
{
	static const char *const probes[] = {"2021-03-23", "2018-09-24", "2016-09-02",
					     "2019-10-01", "latest"};
	struct mdr_defn *d = load(SAMPLE_FULL);
	char p[128];

	(void)state;
	assert_int_equal(mdr_n_ec2_aws_versions, 4);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		snprintf(p, sizeof(p), "/%s/meta-data/instance-id", probes[i]);
		expect_text(d, p, "i-0000000a");
		snprintf(p, sizeof(p), "/ec2/%s/", probes[i]);
		expect_text(d, p, "dynamic/\nmeta-data/\nuser-data");
	}
	expect_404(d, "/2020-10-27/meta-data/instance-id");
	expect_404(d, "/2016-09-03/meta-data/instance-id");
	mdr_defn_free(d);
}

/* placement/: availability-zone (2008-02-01, nova), availability-zone-id
 * (2019-10-01) and region (2020-08-24), as AWS introduced them. */
static void test_ec2_placement_gated(void **state)
{
	struct mdr_defn *m = load(SAMPLE_MINIMAL);
	struct mdr_defn *f = load("{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", "
				  "\"availability_zone\": \"eu-west-1b\", \"region\": \"eu-west-1\", "
				  "\"availability_zone_id\": \"euw1-az2\"}");

	(void)state;
	expect_text(m, "/2009-04-04/meta-data/placement", "availability-zone");
	expect_text(m, "/2018-09-24/meta-data/placement", "availability-zone");
	expect_text(m, "/2019-10-01/meta-data/placement", "availability-zone\navailability-zone-id");
	expect_404(m, "/2019-10-01/meta-data/placement/region");
	expect_text(m, "/2021-03-23/meta-data/placement/",
		    "availability-zone\navailability-zone-id\nregion");
	/* defaults: the zone's name, and RegionOne (not "nov" from "nova") */
	expect_text(m, "/latest/meta-data/placement/availability-zone-id", "nova");
	expect_text(m, "/latest/meta-data/placement/region", "RegionOne");
	expect_text(f, "/latest/meta-data/placement/availability-zone", "eu-west-1b");
	expect_text(f, "/2019-10-01/meta-data/placement/availability-zone-id", "euw1-az2");
	expect_text(f, "/latest/meta-data/placement/region", "eu-west-1");
	mdr_defn_free(m);
	mdr_defn_free(f);
}

/* dynamic/instance-identity/document: AWS's fields, order and layout,
 * unsigned; only in the versions mdr adds (nova's nine stay nova's). */
static void test_identity_document(void **state)
{
	struct mdr_defn *f = load(SAMPLE_FULL);
	struct mdr_defn *m = load("{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", "
				  "\"availability_zone\": \"eu-west-1b\", \"region\": \"eu-west-1\", "
				  "\"ec2\": {\"architecture\": \"arm64\", "
				  "\"pending_time\": \"2026-12-07T03:40:00Z\"}}");
	struct mdr_render_ctx v6 = {.remote_ip = "fe80::1"};
	struct mdr_reply r;

	(void)state;
	expect_text(f, "/2019-10-01/dynamic", "instance-identity/");
	expect_text(f, "/latest/dynamic/instance-identity/", "document");
	expect_text(f, "/2019-10-01/dynamic/instance-identity/document",
		    "{\n"
		    "  \"accountId\" : \"4fd44f30292945e481c7b8a0c8908869\",\n"
		    "  \"architecture\" : \"x86_64\",\n"
		    "  \"availabilityZone\" : \"az1\",\n"
		    "  \"billingProducts\" : null,\n"
		    "  \"devpayProductCodes\" : null,\n"
		    "  \"marketplaceProductCodes\" : null,\n"
		    "  \"imageId\" : \"ami-00000001\",\n"
		    "  \"instanceId\" : \"i-0000000a\",\n"
		    "  \"instanceType\" : \"m1.small\",\n"
		    "  \"kernelId\" : \"aki-00000002\",\n"
		    "  \"pendingTime\" : null,\n"
		    "  \"privateIp\" : \"10.0.0.5\",\n"
		    "  \"ramdiskId\" : \"ari-00000003\",\n"
		    "  \"region\" : \"RegionOne\",\n"
		    "  \"version\" : \"2017-09-30\"\n"
		    "}");
	expect_text(m, "/latest/dynamic/instance-identity/document",
		    "{\n"
		    "  \"accountId\" : \"\",\n"
		    "  \"architecture\" : \"arm64\",\n"
		    "  \"availabilityZone\" : \"eu-west-1b\",\n"
		    "  \"billingProducts\" : null,\n"
		    "  \"devpayProductCodes\" : null,\n"
		    "  \"marketplaceProductCodes\" : null,\n"
		    "  \"imageId\" : \"ami-00000000\",\n"
		    "  \"instanceId\" : \"i-d8e02d56\",\n"
		    "  \"instanceType\" : \"\",\n"
		    "  \"kernelId\" : null,\n"
		    "  \"pendingTime\" : \"2026-12-07T03:40:00Z\",\n"
		    "  \"privateIp\" : \"192.0.2.9\",\n"
		    "  \"ramdiskId\" : null,\n"
		    "  \"region\" : \"eu-west-1\",\n"
		    "  \"version\" : \"2017-09-30\"\n"
		    "}");
	/* over IPv6 privateIp is null, never the IPv6 address */
	assert_int_equal(mdr_render(m, "/latest/dynamic/instance-identity/document", &v6, &r), 0);
	assert_non_null(memmem(r.body, r.body_len, "\"privateIp\" : null,", 19));
	mdr_reply_free(&r);
	expect_text(f, "/2009-04-04", "meta-data/\nuser-data");
	expect_404(f, "/2009-04-04/dynamic/instance-identity/document");
	expect_404(f, "/latest/dynamic/instance-identity/signature");
	mdr_defn_free(f);
	mdr_defn_free(m);
}

static void test_ec2_version_gated_leaves(void **state)
{
	static const struct {
		const char *leaf;
		size_t since; /* index in mdr_ec2_versions */
	} gated[] = {
		{"local-hostname", 1}, {"public-hostname", 1}, {"public-ipv4", 1},
		{"instance-type", 3},  {"block-device-mapping", 5}, {"kernel-id", 5},
		{"ramdisk-id", 5},     {"placement", 6},       {"instance-action", 8 - 1},
	};
	struct mdr_defn *d = load(SAMPLE_FULL);
	char p[128];

	(void)state;
	for (size_t g = 0; g < sizeof(gated) / sizeof(gated[0]); g++) {
		for (size_t v = 0; v < mdr_n_ec2_versions; v++) {
			struct mdr_reply r;

			snprintf(p, sizeof(p), "/%s/meta-data/%s", mdr_ec2_versions[v], gated[g].leaf);
			r = get(d, p);
			if (r.status != (v >= gated[g].since ? 200 : 404))
				fail_msg("%s: status %d", p, r.status);
			mdr_reply_free(&r);
		}
	}
	mdr_defn_free(d);
}

static void test_ec2_public_keys_layout(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_text(d, "/latest/meta-data/public-keys", "0=mykey");
	expect_text(d, "/latest/meta-data/public-keys/", "0=mykey");
	expect_text(d, "/latest/meta-data/public-keys/0", "openssh-key");
	expect_text(d, "/latest/meta-data/public-keys/0/", "openssh-key");
	expect_text(d, "/latest/meta-data/public-keys/0/openssh-key",
		    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host");
	expect_text(d, "/1.0/meta-data/public-keys/0/openssh-key",
		    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host");
	expect_404(d, "/latest/meta-data/public-keys/1");
	expect_404(d, "/latest/meta-data/public-keys/0=mykey");
	expect_404(d, "/latest/meta-data/public-keys/mykey");
	mdr_defn_free(d);
}

static void test_ec2_several_public_keys(void **state)
{
	struct mdr_defn *d = load("{\"uuid\":\"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\","
				  "\"public_keys\":{\"b\":\"ssh-rsa BBB\",\"a\":\"ssh-rsa AAA\"}}");

	(void)state;
	expect_text(d, "/latest/meta-data/public-keys", "0=b\n1=a");
	expect_text(d, "/latest/meta-data/public-keys/1/openssh-key", "ssh-rsa AAA");
	mdr_defn_free(d);
}

static void test_ec2_no_keys(void **state)
{
	struct mdr_defn *d = load(SAMPLE_NO_KEYS);
	struct mdr_reply r = get(d, "/latest/meta-data/");

	(void)state;
	assert_null(strstr(r.body, "public-keys"));
	mdr_reply_free(&r);
	expect_404(d, "/latest/meta-data/public-keys");
	expect_404(d, "/latest/meta-data/public-keys/0/openssh-key");
	mdr_defn_free(d);
}

static void test_ec2_unicode_key_name(void **state)
{
	struct mdr_defn *d = load(SAMPLE_UNICODE);

	(void)state;
	expect_text(d, "/latest/meta-data/public-keys", "0=cl\303\251");
	expect_text(d, "/latest/meta-data/public-keys/0/openssh-key", "ssh-rsa AAAAB3 \303\274ser@h\303\264te");
	mdr_defn_free(d);
}

/* ---- 404s, normalisation --------------------------------------------------- */

static void test_not_found_table(void **state)
{
	static const char *const paths[] = {
		"/2009-04-05", "/2009-04-05/meta-data", "/LATEST/meta-data", "/foo",
		"/latest/meta-data/nope", "/latest/meta-data/hostname/x",
		"/latest/meta-data/security-groups/default", "/latest/meta-data/placement/x",
		"/latest/meta-data/ami-launch-index/0", "/latest/user-data/x", "/latest/x/y",
		"/openstack/2012-08-09", "/openstack/latest/nope", "/openstack/latest/meta_data.json/x",
		"/openstack/latest/content", "/openstack/Latest", "/openstack/2025-04-05/meta_data.json",
		"/latest/meta-data/block-device-mapping/nope", "/ec2/openstack", "/ec2/ec2/latest",
	};
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		expect_404(d, paths[i]);
	mdr_defn_free(d);
}

static void test_path_normalize_table(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"/", "/"},
		{"", "/"},
		{"latest", "/latest"},
		{"/latest/", "/latest"},
		{"/latest//meta-data///", "/latest/meta-data"},
		{"//openstack", "/openstack"},
		{"/latest/meta-data/../user-data", "/latest/user-data"},
		{"/../../latest", "/latest"},
		{"/./latest/./meta-data/.", "/latest/meta-data"},
		{"/openstack/latest?foo=bar/..", "/openstack/latest"},
		{"/latest/meta-data/#frag", "/latest/meta-data"},
		{"/latest/meta%2Ddata/", "/latest/meta-data"},
		{"/latest%2fmeta-data", "/latest/meta-data"},
		{"/a%zzb", "/a%zzb"},
		{"/a%4", "/a%4"},
		{"/..", "/"},
		{"/a/..", "/"},
		{"/a/b/../../c", "/c"},
		{"/.../x", "/.../x"},
		{"?x", "/"},
	};
	char out[MDR_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(mdr_path_normalize(t[i].in, out, sizeof(out)), 0);
		if (strcmp(out, t[i].out))
			fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", t[i].in, out, t[i].out);
	}
}

static void test_path_normalize_rejects(void **state)
{
	char big[MDR_PATH_MAX + 16], out[MDR_PATH_MAX], small[8];

	(void)state;
	assert_int_equal(mdr_path_normalize("/a%00b", out, sizeof(out)), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mdr_path_normalize(big, out, sizeof(out)), -EINVAL);
	assert_int_equal(mdr_path_normalize("/latest/meta-data", small, sizeof(small)), -EINVAL);
	assert_int_equal(mdr_path_normalize(NULL, out, sizeof(out)), -EINVAL);
}

static void test_bad_path_is_400(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	struct mdr_reply r = get(d, "/latest/%00");

	(void)state;
	assert_int_equal(r.status, 400);
	assert_non_null(r.body);
	mdr_reply_free(&r);
	mdr_defn_free(d);
}

static void test_trailing_slash_same_answer(void **state)
{
	static const char *const paths[] = {
		"/latest", "/latest/meta-data", "/latest/meta-data/public-keys",
		"/latest/meta-data/public-keys/0", "/latest/meta-data/hostname",
		"/openstack", "/openstack/latest", "/openstack/latest/vendor_data.json",
		"/latest/meta-data/block-device-mapping", "/latest/meta-data/placement",
	};
	struct mdr_defn *d = load(SAMPLE_FULL);
	char p[128];

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct mdr_reply a = get(d, paths[i]), b;

		snprintf(p, sizeof(p), "%s/", paths[i]);
		b = get(d, p);
		assert_int_equal(a.status, 200);
		assert_int_equal(a.status, b.status);
		assert_string_equal(a.content_type, b.content_type);
		assert_int_equal(a.body_len, b.body_len);
		assert_memory_equal(a.body, b.body, a.body_len);
		mdr_reply_free(&a);
		mdr_reply_free(&b);
	}
	mdr_defn_free(d);
}

static void test_query_string_ignored(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	expect_text(d, "/latest/meta-data/instance-id?recursive=true", "i-0000000a");
	expect_text(d, "/openstack?x=/../..", OS_ALL_VERSIONS);
	mdr_defn_free(d);
}

/* ---- devices ------------------------------------------------------------- */

static void test_devices_gating(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	struct mdr_reply r;

	(void)state;
	/* 2016-06-30: no vlan, no vf_trusted; the untagged NIC is hidden */
	r = get(d, "/openstack/2016-06-30/meta_data.json");
	assert_non_null(strstr(r.body, "\"devices\": [{\"type\": \"nic\", \"mac\": \"52:54:00:12:34:56\", "
				       "\"bus\": \"pci\", \"address\": \"0000:00:03.0\", \"tags\": [\"mgmt\"]}, "
				       "{\"type\": \"disk\""));
	assert_null(strstr(r.body, "52:54:00:ab:cd:ef"));
	assert_null(strstr(r.body, "share"));
	mdr_reply_free(&r);
	/* 2017-02-22: vlan appears */
	r = get(d, "/openstack/2017-02-22/meta_data.json");
	assert_non_null(strstr(r.body, "[{\"vlan\": 100, \"type\": \"nic\""));
	assert_null(strstr(r.body, "vf_trusted"));
	mdr_reply_free(&r);
	/* 2018-08-27: vf_trusted on every NIC, so the untagged one shows */
	r = get(d, "/openstack/2018-08-27/meta_data.json");
	assert_non_null(strstr(r.body, "{\"vf_trusted\": false, \"type\": \"nic\", \"mac\": \"52:54:00:ab:cd:ef\""));
	assert_null(strstr(r.body, "dedicated_cpus"));
	mdr_reply_free(&r);
	/* 2020-10-14: dedicated_cpus sorted; shares only from 2025-04-04 */
	r = get(d, "/openstack/2020-10-14/meta_data.json");
	assert_non_null(strstr(r.body, "\"dedicated_cpus\": [1, 2, 3]}"));
	assert_null(strstr(r.body, "share"));
	mdr_reply_free(&r);
	r = get(d, "/openstack/2025-04-04/meta_data.json");
	assert_non_null(strstr(r.body, "{\"type\": \"share\", \"share_id\": \"share-1\", \"tag\": \"data\""));
	mdr_reply_free(&r);
	r = get(d, "/openstack/2015-10-15/meta_data.json");
	assert_null(strstr(r.body, "devices"));
	mdr_reply_free(&r);
	mdr_defn_free(d);
}

/* ---- overrides ------------------------------------------------------------- */

static void put(struct mdr_defn *d, const char *path, const char *body)
{
	char err[MDR_DEFN_ERR_SIZE];

	if (mdr_defn_set_override(d, path, body, strlen(body), err, sizeof(err)))
		fail_msg("put %s: %s", path, err);
}

static void rm(struct mdr_defn *d, const char *path)
{
	char err[MDR_DEFN_ERR_SIZE];

	if (mdr_defn_remove_path(d, path, err, sizeof(err)))
		fail_msg("rm %s: %s", path, err);
}

static void test_override_replaces_leaf(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	put(d, "/latest/meta-data/instance-id", "i-override");
	expect_text(d, "/latest/meta-data/instance-id", "i-override");
	/* a "latest" override applies to every version */
	expect_text(d, "/2007-01-19/meta-data/instance-id", "i-override");
	expect_text(d, "/ec2/1.0/meta-data/instance-id/", "i-override");
	expect_text(d, "/latest/meta-data/", EXP_EC2_MD_FULL_LATEST); /* listing unchanged */
	mdr_defn_free(d);
}

static void test_override_version_specific_wins(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	put(d, "/latest/meta-data/hostname", "all");
	put(d, "/ec2/2008-02-01/meta-data/hostname", "one");
	expect_text(d, "/2008-02-01/meta-data/hostname", "one");
	expect_text(d, "/2008-09-01/meta-data/hostname", "all");
	expect_text(d, "/latest/meta-data/hostname", "all");
	mdr_defn_free(d);
}

static void test_override_new_path_listed(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	static const char creds[] = "{\"AccessKeyId\": \"AKIA\", \"SecretAccessKey\": \"s\", "
				    "\"Token\": \"t\", \"Expiration\": \"2030-01-01T00:00:00Z\"}";
	struct mdr_reply r;

	(void)state;
	put(d, "/latest/meta-data/iam/security-credentials/role1", creds);
	expect_text(d, "/latest/meta-data/iam/security-credentials/", "role1");
	expect_text(d, "/latest/meta-data/iam", "security-credentials/");
	expect_text(d, "/latest/meta-data/iam/security-credentials/role1", creds);
	r = get(d, "/2009-04-04/meta-data/");
	assert_non_null(strstr(r.body, "hostname\niam/\ninstance-action"));
	mdr_reply_free(&r);
	put(d, "/openstack/latest/extra.json", "{}");
	expect_body(d, "/openstack/latest/extra.json", MDR_CT_JSON, "{}");
	expect_text(d, "/openstack/2012-08-10", "meta_data.json\nuser_data\nextra.json");
	expect_text(d, "/openstack", OS_ALL_VERSIONS); /* version lists are fixed */
	mdr_defn_free(d);
}

static void test_override_openstack_file(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	put(d, "/openstack/latest/vendor_data.json", "{\"x\": 1}");
	expect_body(d, "/openstack/2018-08-27/vendor_data.json", MDR_CT_JSON, "{\"x\": 1}");
	put(d, "/openstack/latest/network_data.json", "{\"links\": []}");
	expect_body(d, "/openstack/latest/network_data.json", MDR_CT_TEXT, "{\"links\": []}");
	mdr_defn_free(d);
}

static void test_rm_hides_leaf_and_listing_entry(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	struct mdr_reply r;

	(void)state;
	rm(d, "/latest/meta-data/kernel-id");
	expect_404(d, "/latest/meta-data/kernel-id");
	expect_404(d, "/2007-12-15/meta-data/kernel-id");
	r = get(d, "/latest/meta-data");
	assert_null(strstr(r.body, "kernel-id"));
	assert_non_null(strstr(r.body, "instance-type\nlocal-hostname"));
	mdr_reply_free(&r);
	rm(d, "/openstack/latest/vendor_data2.json");
	expect_404(d, "/openstack/latest/vendor_data2.json");
	expect_text(d, "/openstack/latest", "meta_data.json\nuser_data\npassword\nvendor_data.json\n"
					    "network_data.json");
	mdr_defn_free(d);
}

static void test_rm_hides_subtree(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	struct mdr_reply r;

	(void)state;
	rm(d, "/latest/meta-data/public-keys/0");
	expect_text(d, "/latest/meta-data/public-keys", "");
	expect_404(d, "/latest/meta-data/public-keys/0/openssh-key");
	rm(d, "/latest/meta-data/public-keys");
	expect_404(d, "/latest/meta-data/public-keys/");
	r = get(d, "/latest/meta-data/");
	assert_null(strstr(r.body, "public-keys"));
	mdr_reply_free(&r);
	rm(d, "/latest/user-data");
	expect_404(d, "/latest/user-data");
	expect_text(d, "/latest", "dynamic/\nmeta-data/");
	mdr_defn_free(d);
}

static void test_put_after_rm_restores(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	rm(d, "/latest/meta-data/hostname");
	put(d, "/latest/meta-data/hostname", "back");
	expect_text(d, "/latest/meta-data/hostname", "back");
	mdr_defn_free(d);
}

static void test_overrides_survive_doc_roundtrip(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL), *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	(void)state;
	put(d, "/latest/meta-data/instance-id", "i-x");
	rm(d, "/latest/meta-data/ami-id");
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)), 0);
	expect_text(d2, "/latest/meta-data/instance-id", "i-x");
	expect_404(d2, "/latest/meta-data/ami-id");
	/* the doc has no contents, but it still knows the user data exists */
	expect_blob(d2, "/latest/user-data", MDR_BLOB_USER_DATA, d->user_data_len);
	mdr_defn_free(d);
	mdr_defn_free(d2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_lists_ec2_versions),
		cmocka_unit_test(test_unknown_instance_only_root),
		cmocka_unit_test(test_openstack_lists_versions),
		cmocka_unit_test(test_openstack_version_listing_gated),
		cmocka_unit_test(test_openstack_listing_without_user_data),
		cmocka_unit_test(test_openstack_version_alias_listing),
		cmocka_unit_test(test_meta_data_minimal_every_version),
		cmocka_unit_test(test_meta_data_full_every_version),
		cmocka_unit_test(test_meta_data_unicode_escaped_like_python),
		cmocka_unit_test(test_meta_data_no_keys),
		cmocka_unit_test(test_random_seed_fresh_and_valid),
		cmocka_unit_test(test_no_random_seed_in_folsom),
		cmocka_unit_test(test_vendor_and_network_data),
		cmocka_unit_test(test_vendor_and_network_defaults),
		cmocka_unit_test(test_vendor_data2_given),
		cmocka_unit_test(test_openstack_files_version_gated),
		cmocka_unit_test(test_password_path),
		cmocka_unit_test(test_user_data_blob_every_version),
		cmocka_unit_test(test_large_user_data),
		cmocka_unit_test(test_empty_user_data_is_served),
		cmocka_unit_test(test_injected_files),
		cmocka_unit_test(test_ec2_version_listing),
		cmocka_unit_test(test_ec2_meta_data_listing_every_version),
		cmocka_unit_test(test_ec2_leaves),
		cmocka_unit_test(test_ec2_minimal_defaults),
		cmocka_unit_test(test_del_escaped_like_python),
		cmocka_unit_test(test_ec2_aws_versions),
		cmocka_unit_test(test_ec2_placement_gated),
		cmocka_unit_test(test_identity_document),
		cmocka_unit_test(test_local_ipv4_never_ipv6),
		cmocka_unit_test(test_ec2_version_gated_leaves),
		cmocka_unit_test(test_ec2_public_keys_layout),
		cmocka_unit_test(test_ec2_several_public_keys),
		cmocka_unit_test(test_ec2_no_keys),
		cmocka_unit_test(test_ec2_unicode_key_name),
		cmocka_unit_test(test_not_found_table),
		cmocka_unit_test(test_path_normalize_table),
		cmocka_unit_test(test_path_normalize_rejects),
		cmocka_unit_test(test_bad_path_is_400),
		cmocka_unit_test(test_trailing_slash_same_answer),
		cmocka_unit_test(test_query_string_ignored),
		cmocka_unit_test(test_devices_gating),
		cmocka_unit_test(test_override_replaces_leaf),
		cmocka_unit_test(test_override_version_specific_wins),
		cmocka_unit_test(test_override_new_path_listed),
		cmocka_unit_test(test_override_openstack_file),
		cmocka_unit_test(test_rm_hides_leaf_and_listing_entry),
		cmocka_unit_test(test_rm_hides_subtree),
		cmocka_unit_test(test_put_after_rm_restores),
		cmocka_unit_test(test_overrides_survive_doc_roundtrip),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
