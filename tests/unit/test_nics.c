// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_nics.c - several NICs per instance: the "bindings" list (and
 * today's "binding"), network_data validation against nova's shape, the
 * EC2 network/interfaces tree and the generated network_data.json, byte
 * for byte.
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

#include "defn.h"
#include "render.h"

#define UUID "d8e02d56-2648-415b-b62a-3a1b9ce1d0f8"
#define HEAD "{\"uuid\":\"" UUID "\","
#define MAC1 "52:54:00:00:01:01"
#define MAC2 "52:54:00:00:01:02"

/* Two NICs: the first with every field, the second with defaults. */
static const char TWO_NICS[] =
	HEAD "\"hostname\":\"vm1.novalocal\",\"project_id\":\"4fd44f30292945e481c7b8a0c8908869\","
	"\"bindings\":["
	"{\"port\":\"tap1\",\"mac\":\"52:54:00:00:01:01\","
	"\"addresses\":[\"10.0.0.5/24\",\"10.0.0.6/24\",\"2001:DB8:0:1:0::5/64\"],"
	"\"gateway4\":\"10.0.0.1\",\"gateway6\":\"2001:db8:0:1::1\","
	"\"dns\":[\"10.0.0.53\",\"2001:db8::53\"],\"mtu\":1450,"
	"\"interface_id\":\"eni-0a1b2c3d4e5f60718\",\"subnet_id\":\"subnet-0123456789abcdef0\","
	"\"vpc_id\":\"vpc-0fedcba9876543210\",\"security_group_ids\":[\"sg-01\",\"sg-02\"],"
	"\"public_ipv4s\":[\"203.0.113.7\"]},"
	"{\"port\":\"tap2\",\"mac\":\"52-54-00-00-01-02\",\"addresses\":[\"10.1.0.7/16\"],"
	"\"dns\":[\"10.0.0.53\"]}],"
	"\"ec2\":{\"security_groups\":[\"default\",\"web\"]}}";

static struct mdr_render_ctx ctx = {.remote_ip = "10.0.0.5"};

static struct mdr_defn *load(const char *json)
{
	char err[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d = NULL;

	if (mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)))
		fail_msg("parse: %s", err);
	return d;
}

static void expect(const struct mdr_defn *d, const char *path, int status, const char *body)
{
	struct mdr_reply r;

	assert_int_equal(mdr_render(d, path, &ctx, &r), 0);
	if (r.status != status)
		fail_msg("%s: status %d, want %d", path, r.status, status);
	if (body && (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len)))
		fail_msg("%s:\n got [%.*s]\nwant [%s]", path, (int)r.body_len, r.body, body);
	assert_string_equal(r.content_type, MDR_CT_TEXT);
	mdr_reply_free(&r);
}

/* ---- parsing --------------------------------------------------------------- */

static void test_bindings_decoded(void **state)
{
	static const uint8_t m1[6] = {0x52, 0x54, 0, 0, 1, 1}, m2[6] = {0x52, 0x54, 0, 0, 1, 2};
	struct mdr_defn *d = load(TWO_NICS);

	(void)state;
	assert_int_equal(d->n_bindings, 2);
	assert_true(d->bindings[0].has_port);
	assert_string_equal(d->bindings[0].port, "tap1");
	assert_memory_equal(d->bindings[0].mac, m1, 6);
	assert_string_equal(d->bindings[1].port, "tap2");
	assert_memory_equal(d->bindings[1].mac, m2, 6);
	assert_int_equal(d->bindings[1].vlan, 0);
	/* stored normalised: canonical MAC and addresses, the list form kept */
	assert_non_null(strstr(d->doc_text, "\"bindings\":[{\"port\":\"tap1\",\"mac\":\"" MAC1
					    "\",\"vlan\":0,\"addresses\":[\"10.0.0.5/24\","
					    "\"10.0.0.6/24\",\"2001:db8:0:1::5/64\"]"));
	assert_non_null(strstr(d->doc_text, "{\"port\":\"tap2\",\"mac\":\"" MAC2 "\",\"vlan\":0,"));
	assert_null(strstr(d->doc_text, "\"binding\":"));
	mdr_defn_free(d);
}

static void test_single_binding_unchanged(void **state)
{
	static const char one[] = HEAD "\"binding\":{\"port\":\"tap1\",\"mac\":\"" MAC1 "\"}}";
	struct mdr_defn *d = load(one), *back = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	(void)state;
	assert_int_equal(d->n_bindings, 1);
	/* today's stored form, byte for byte */
	assert_string_equal(d->doc_text,
			    "{\"uuid\":\"" UUID "\",\"name\":\"Server-" UUID "\",\"hostname\":"
			    "\"server-" UUID ".novalocal\",\"availability_zone\":\"nova\","
			    "\"project_id\":\"\",\"launch_index\":0,\"binding\":{\"port\":\"tap1\","
			    "\"mac\":\"" MAC1 "\",\"vlan\":0},\"ec2\":{\"instance_id\":\"i-d8e02d56\","
			    "\"ami_id\":\"ami-00000000\",\"instance_type\":\"\",\"public_ipv4\":\"\","
			    "\"reservation_id\":\"r-2648415b\",\"security_groups\":[],"
			    "\"block_device_mapping\":{\"ami\":\"vda\",\"root\":\"/dev/vda\"}},"
			    "\"imds\":{\"tokens\":\"optional\",\"hop_limit\":1,\"rate_pps\":0,"
			    "\"burst\":0,\"max_connections\":0,\"max_request\":0}}");
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &back, err, sizeof(err)), 0);
	assert_string_equal(back->doc_text, d->doc_text);
	mdr_defn_free(back);
	mdr_defn_free(d);
}

static void test_bindings_doc_roundtrip(void **state)
{
	struct mdr_defn *d = load(TWO_NICS), *back = NULL, *again = NULL;
	char err[MDR_DEFN_ERR_SIZE], *json;

	(void)state;
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &back, err, sizeof(err)), 0);
	assert_string_equal(back->doc_text, d->doc_text);
	assert_int_equal(back->n_bindings, 2);
	assert_memory_equal(back->bindings, d->bindings, sizeof(d->bindings));
	json = mdr_defn_to_json(d, 1);
	assert_int_equal(mdr_defn_parse(json, strlen(json), &again, err, sizeof(err)), 0);
	assert_string_equal(again->doc_text, d->doc_text);
	free(json);
	mdr_defn_free(again);
	mdr_defn_free(back);
	mdr_defn_free(d);
}

struct bad_case {
	const char *name, *json, *want;
};

static char many_bindings[8192];

static const struct bad_case bad_cases[] = {
	{"binding and bindings", HEAD "\"binding\":{\"port\":\"a\"},\"bindings\":[]}",
	 "bindings: give \"binding\" (one NIC) or \"bindings\" (a list), not both"},
	{"bindings an object", HEAD "\"bindings\":{\"port\":\"a\"}}", "bindings: expected an array, got an object"},
	{"too many bindings", NULL, "bindings: 33 entries, the limit is 32"},
	{"binding entry a string", HEAD "\"bindings\":[{\"port\":\"a\"},\"tap2\"]}", "bindings[1]: expected an object, got a string"},
	{"binding without port or mac", HEAD "\"bindings\":[{\"port\":\"a\"},{\"vlan\":3}]}", "bindings[1]: needs \"port\", \"mac\" or both"},
	{"binding unknown field", HEAD "\"bindings\":[{\"port\":\"a\",\"ip\":\"10.0.0.5\"}]}", "bindings[0]: unknown field \"ip\""},
	{"same port twice", HEAD "\"bindings\":[{\"port\":\"tap1\"},{\"port\":\"tap1\",\"mac\":\"" MAC2 "\"}]}", "bindings[1].port: \"tap1\" is bindings[0]'s port too"},
	{"same MAC twice", HEAD "\"bindings\":[{\"mac\":\"" MAC1 "\"},{\"port\":\"b\",\"mac\":\"52:54:00:00:01:01\"}]}", "bindings[1].mac: " MAC1 " (vlan 0) is bindings[0]'s MAC too"},
	{"bad interface name", HEAD "\"bindings\":[{\"port\":\"a/b\"}]}", "bindings[0].port: \"a/b\" is not a valid interface name"},
	{"multicast MAC", HEAD "\"bindings\":[{\"mac\":\"01:00:5e:00:00:01\"}]}", "bindings[0].mac: 01:00:5e:00:00:01 is a multicast address"},
	{"vlan out of range", HEAD "\"bindings\":[{\"mac\":\"" MAC1 "\",\"vlan\":4095}]}", "bindings[0].vlan: 4095 is out of range 0..4094"},
	{"address without prefix", HEAD "\"bindings\":[{\"port\":\"a\",\"addresses\":[\"10.0.0.5\"]}]}", "bindings[0].addresses[0]: \"10.0.0.5\" is not an IP address with a prefix length"},
	{"address prefix too long", HEAD "\"bindings\":[{\"port\":\"a\",\"addresses\":[\"10.0.0.5/33\"]}]}", "bindings[0].addresses[0]: \"10.0.0.5/33\" is not an IP address"},
	{"address not a string", HEAD "\"bindings\":[{\"port\":\"a\",\"addresses\":[5]}]}", "bindings[0].addresses[0]: expected a string, got an integer"},
	{"gateway4 an IPv6", HEAD "\"bindings\":[{\"port\":\"a\",\"gateway4\":\"2001:db8::1\"}]}", "bindings[0].gateway4: \"2001:db8::1\" is not an IPv4 address"},
	{"gateway6 an IPv4", HEAD "\"binding\":{\"port\":\"a\",\"gateway6\":\"10.0.0.1\"}}", "binding.gateway6: \"10.0.0.1\" is not an IPv6 address"},
	{"too many dns", HEAD "\"bindings\":[{\"port\":\"a\",\"dns\":[\"1.1.1.1\",\"1.1.1.2\",\"1.1.1.3\",\"1.1.1.4\",\"1.1.1.5\",\"1.1.1.6\",\"1.1.1.7\",\"1.1.1.8\",\"1.1.1.9\"]}]}", "bindings[0].dns: 9 servers, the limit is 8"},
	{"mtu too small", HEAD "\"bindings\":[{\"port\":\"a\",\"mtu\":67}]}", "bindings[0].mtu: 67 is out of range 68..65535"},
	{"interface_id with a slash", HEAD "\"bindings\":[{\"port\":\"a\",\"interface_id\":\"eni/1\"}]}", "bindings[0].interface_id: '/' is not allowed"},
	{"public_ipv4s an IPv6", HEAD "\"bindings\":[{\"port\":\"a\",\"public_ipv4s\":[\"2001:db8::1\"]}]}", "bindings[0].public_ipv4s[0]: \"2001:db8::1\" is not an IPv4 address"},
	{"security_group_ids newline", HEAD "\"bindings\":[{\"port\":\"a\",\"security_group_ids\":[\"sg\\n1\"]}]}", "bindings[0].security_group_ids[0]: control character"},
	/* network_data: nova's shape */
	{"network_data unknown key", HEAD "\"network_data\":{\"link\":[]}}", "network_data: unknown field \"link\""},
	{"network_data links object", HEAD "\"network_data\":{\"links\":{}}}", "network_data.links: expected an array, got an object"},
	{"link without id", HEAD "\"network_data\":{\"links\":[{\"type\":\"phy\"}]}}", "network_data.links[0].id: missing"},
	{"link without type", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\"}]}}", "network_data.links[0].type: missing"},
	{"link bad MAC", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\",\"ethernet_mac_address\":\"zz\"}]}}", "network_data.links[0].ethernet_mac_address: \"zz\" is not a MAC address"},
	{"link mtu string", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\",\"mtu\":\"1500\"}]}}", "network_data.links[0].mtu: expected an integer, got a string"},
	{"link id twice", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"},{\"id\":\"l\",\"type\":\"phy\"}]}}", "network_data.links[1].id: \"l\" is links[0]'s id too"},
	{"vlan_link unknown", HEAD "\"network_data\":{\"links\":[{\"id\":\"v\",\"type\":\"vlan\",\"vlan_id\":5,\"vlan_link\":\"eth9\"}]}}", "network_data.links[0].vlan_link: \"eth9\" names no link"},
	{"network bad type", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv5\",\"link\":\"l\"}]}}", "network_data.networks[0].type: \"ipv5\" is not one of ipv4, ipv6, ipv4_dhcp, ipv6_dhcp"},
	{"network link unknown", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4_dhcp\",\"link\":\"m\"}]}}", "network_data.networks[0].link: \"m\" names no link"},
	{"network unknown key", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4_dhcp\",\"link\":\"l\",\"gateway\":\"10.0.0.1\"}]}}", "network_data.networks[0]: unknown field \"gateway\""},
	{"ipv4 network without address", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4\",\"link\":\"l\"}]}}", "network_data.networks[0].ip_address: missing"},
	{"ipv4 network with an IPv6 address", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4\",\"link\":\"l\",\"ip_address\":\"2001:db8::5\",\"netmask\":\"255.255.255.0\"}]}}", "network_data.networks[0].ip_address: \"2001:db8::5\" is not an IPv4 address"},
	{"netmask not contiguous", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4\",\"link\":\"l\",\"ip_address\":\"10.0.0.5\",\"netmask\":\"255.0.255.0\"}]}}", "network_data.networks[0].netmask: \"255.0.255.0\" is not a netmask"},
	{"dhcp network with an address", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv6_dhcp\",\"link\":\"l\",\"ip_address\":\"2001:db8::5\"}]}}", "network_data.networks[0]: a ipv6_dhcp network has no ip_address or netmask"},
	{"route without gateway", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv6\",\"link\":\"l\",\"ip_address\":\"2001:db8::5\",\"netmask\":\"ffff:ffff:ffff:ffff::\",\"routes\":[{\"network\":\"::\",\"netmask\":\"::\"}]}]}}", "network_data.networks[0].routes[0].gateway: missing"},
	{"route of the other family", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4\",\"link\":\"l\",\"ip_address\":\"10.0.0.5\",\"netmask\":\"255.255.255.0\",\"routes\":[{\"network\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\",\"gateway\":\"fe80::1\"}]}]}}", "network_data.networks[0].routes[0].gateway: \"fe80::1\" is not an IPv4 address"},
	{"service not dns", HEAD "\"network_data\":{\"services\":[{\"type\":\"ntp\",\"address\":\"10.0.0.1\"}]}}", "network_data.services[0].type: \"ntp\" is not \"dns\""},
	{"service bad address", HEAD "\"network_data\":{\"services\":[{\"type\":\"dns\",\"address\":\"dns.example\"}]}}", "network_data.services[0].address: \"dns.example\" is not an IP address"},
	{"network service bad", HEAD "\"network_data\":{\"links\":[{\"id\":\"l\",\"type\":\"phy\"}],\"networks\":[{\"id\":\"n\",\"type\":\"ipv4_dhcp\",\"link\":\"l\",\"services\":[{\"type\":\"dns\"}]}]}}", "network_data.networks[0].services[0].address: missing"},
};

static void test_bad_case(void **state)
{
	const struct bad_case *c = *state;
	char err[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d = (struct mdr_defn *)1;
	const char *json = c->json;

	if (!json) { /* too many bindings */
		size_t o = (size_t)snprintf(many_bindings, sizeof(many_bindings), HEAD "\"bindings\":[");

		for (int i = 0; i <= MDR_DEFN_MAX_BINDINGS; i++)
			o += (size_t)snprintf(many_bindings + o, sizeof(many_bindings) - o,
					      "%s{\"port\":\"tap%d\"}", i ? "," : "", i);
		snprintf(many_bindings + o, sizeof(many_bindings) - o, "]}");
		json = many_bindings;
	}
	assert_int_equal(mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)), -EINVAL);
	assert_null(d);
	if (!strstr(err, c->want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, c->want);
}

static void test_nova_network_data_accepted(void **state)
{
	/* what nova 26's get_network_metadata() gives for a port with a
	 * static IPv4 and a SLAAC IPv6 subnet, plus a VLAN and a bond link */
	static const char nd[] =
		HEAD "\"network_data\":{\"links\":["
		"{\"id\":\"tap1\",\"vif_id\":\"1f5e4b5e\",\"type\":\"ovs\",\"mtu\":null,"
		"\"ethernet_mac_address\":\"fa:16:3e:00:00:01\"},"
		"{\"id\":\"tap2\",\"vif_id\":\"2f5e4b5e\",\"type\":\"phy\",\"mtu\":9000,"
		"\"ethernet_mac_address\":\"fa:16:3e:00:00:02\"},"
		"{\"id\":\"bond0\",\"type\":\"bond\",\"bond_links\":[\"tap1\",\"tap2\"],"
		"\"bond_mode\":\"802.3ad\",\"ethernet_mac_address\":\"fa:16:3e:00:00:03\"},"
		"{\"id\":\"vlan5\",\"type\":\"vlan\",\"vlan_link\":\"bond0\",\"vlan_id\":5,"
		"\"vlan_mac_address\":\"fa:16:3e:00:00:04\"}],"
		"\"networks\":[{\"id\":\"network0\",\"type\":\"ipv4\",\"link\":\"tap1\","
		"\"ip_address\":\"10.0.0.5\",\"netmask\":\"255.255.255.0\",\"routes\":["
		"{\"network\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\",\"gateway\":\"10.0.0.1\"}],"
		"\"network_id\":\"da5bb487\",\"services\":[{\"type\":\"dns\",\"address\":\"10.0.0.53\"}]},"
		"{\"id\":\"network1\",\"type\":\"ipv6_slaac\",\"link\":\"tap1\","
		"\"ip_address\":\"2001:db8::f816:3eff:fe00:1\",\"netmask\":\"ffff:ffff:ffff:ffff::\","
		"\"routes\":[],\"network_id\":\"da5bb487\",\"services\":[]},"
		"{\"id\":\"network2\",\"type\":\"ipv4_dhcp\",\"link\":\"vlan5\",\"network_id\":\"x\"}],"
		"\"services\":[{\"type\":\"dns\",\"address\":\"10.0.0.53\"}]}}";
	struct mdr_defn *d = load(nd), *e = load(HEAD "\"network_data\":{}}");

	(void)state;
	/* served verbatim (nova's key order is the document's) */
	expect(d, "/openstack/latest/network_data.json", 200, NULL);
	expect(e, "/openstack/latest/network_data.json", 200, "{}");
	mdr_defn_free(d);
	mdr_defn_free(e);
}

/* ---- EC2 network/interfaces ------------------------------------------------- */

static void test_ec2_interfaces_tree(void **state)
{
	static const struct {
		const char *leaf, *body;
	} nic1[] = {
		{"", "device-number\ninterface-id\nipv6s\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\n"
		     "public-ipv4s\nsecurity-group-ids\nsecurity-groups\nsubnet-id\n"
		     "subnet-ipv4-cidr-block\nsubnet-ipv6-cidr-blocks\nvpc-id"},
		{"device-number", "0"},
		{"interface-id", "eni-0a1b2c3d4e5f60718"},
		{"ipv6s", "2001:db8:0:1::5"},
		{"local-hostname", "vm1.novalocal"},
		{"local-ipv4s", "10.0.0.5\n10.0.0.6"},
		{"mac", MAC1},
		{"owner-id", "4fd44f30292945e481c7b8a0c8908869"},
		{"public-ipv4s", "203.0.113.7"},
		{"security-group-ids", "sg-01\nsg-02"},
		{"security-groups", "default\nweb"},
		{"subnet-id", "subnet-0123456789abcdef0"},
		{"subnet-ipv4-cidr-block", "10.0.0.0/24"},
		{"subnet-ipv6-cidr-blocks", "2001:db8:0:1::/64"},
		{"vpc-id", "vpc-0fedcba9876543210"},
	}, nic2[] = {
		/* defaults: ids from the uuid, no public or IPv6 address */
		{"", "device-number\ninterface-id\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\n"
		     "security-group-ids\nsecurity-groups\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id"},
		{"device-number", "1"},
		{"interface-id", "eni-d8e02d56264841501"},
		{"local-ipv4s", "10.1.0.7"},
		{"mac", MAC2},
		{"security-group-ids", ""},
		{"subnet-id", "subnet-d8e02d562648415bb"},
		{"subnet-ipv4-cidr-block", "10.1.0.0/16"},
		{"vpc-id", "vpc-d8e02d562648415bb"},
	};
	struct mdr_defn *d = load(TWO_NICS);
	char p[256];

	(void)state;
	expect(d, "/latest/meta-data/mac", 200, MAC1);
	expect(d, "/latest/meta-data/network", 200, "interfaces/");
	expect(d, "/latest/meta-data/network/interfaces/", 200, "macs/");
	expect(d, "/latest/meta-data/network/interfaces/macs/", 200, MAC1 "/\n" MAC2 "/");
	for (size_t i = 0; i < sizeof(nic1) / sizeof(nic1[0]); i++) {
		snprintf(p, sizeof(p), "/latest/meta-data/network/interfaces/macs/" MAC1 "/%s",
			 nic1[i].leaf);
		expect(d, p, 200, nic1[i].body);
	}
	for (size_t i = 0; i < sizeof(nic2) / sizeof(nic2[0]); i++) {
		snprintf(p, sizeof(p), "/2018-09-24/meta-data/network/interfaces/macs/" MAC2 "/%s",
			 nic2[i].leaf);
		expect(d, p, 200, nic2[i].body);
	}
	/* each version mdr adds has them (all are past AWS's 2016-06-30) */
	for (size_t i = 0; i < mdr_n_ec2_aws_versions; i++) {
		snprintf(p, sizeof(p), "/%s/meta-data/network/interfaces/macs/" MAC1 "/ipv6s",
			 mdr_ec2_aws_versions[i]);
		expect(d, p, 200, "2001:db8:0:1::5");
	}
	/* nova's versions (<= 2009-04-04) predate them: nova's bytes */
	for (size_t i = 0; i < mdr_n_ec2_versions; i++) {
		snprintf(p, sizeof(p), "/%s/meta-data/mac", mdr_ec2_versions[i]);
		expect(d, p, 404, NULL);
		snprintf(p, sizeof(p), "/%s/meta-data/network/interfaces/macs", mdr_ec2_versions[i]);
		expect(d, p, 404, NULL);
	}
	expect(d, "/latest/meta-data/network/interfaces/macs/52:54:00:00:01:03", 404, NULL);
	mdr_defn_free(d);
}

static void test_ec2_interfaces_defaults(void **state)
{
	/* one NIC without addresses: its local-ipv4s is meta-data/local-ipv4
	 * (the request's address here), public-ipv4s is ec2.public_ipv4 */
	struct mdr_defn *d = load(HEAD "\"binding\":{\"port\":\"tap1\",\"mac\":\"" MAC1 "\"},"
				  "\"ec2\":{\"public_ipv4\":\"198.51.100.4\"}}");
	struct mdr_defn *portonly = load(HEAD "\"binding\":{\"port\":\"tap1\"}}");
	struct mdr_defn *twovlans = load(HEAD "\"bindings\":[{\"mac\":\"" MAC1 "\",\"vlan\":5},"
					 "{\"mac\":\"" MAC1 "\",\"vlan\":6}]}");
	struct mdr_defn *v6 = load(HEAD "\"binding\":{\"port\":\"tap1\",\"mac\":\"" MAC1 "\"}}");
	struct mdr_render_ctx saved = ctx;

	(void)state;
	expect(d, "/latest/meta-data/network/interfaces/macs/" MAC1 "/local-ipv4s", 200, "10.0.0.5");
	expect(d, "/latest/meta-data/network/interfaces/macs/" MAC1 "/public-ipv4s", 200,
	       "198.51.100.4");
	expect(d, "/latest/meta-data/network/interfaces/macs/" MAC1 "/owner-id", 200, "");
	/* a port-only binding has no MAC: no mac, no network/ */
	expect(portonly, "/latest/meta-data/mac", 404, NULL);
	/* one MAC on two VLANs is two bindings, one EC2 entry (the first) */
	expect(twovlans, "/latest/meta-data/network/interfaces/macs/", 200, MAC1 "/");
	expect(twovlans, "/latest/meta-data/network/interfaces/macs/" MAC1 "/device-number", 200, "0");
	expect(portonly, "/latest/meta-data/network/", 404, NULL);
	/* over IPv6, local-ipv4s is never the guest's IPv6 address */
	ctx.remote_ip = "fe80::5054:ff:fe00:101";
	expect(v6, "/latest/meta-data/network/interfaces/macs/" MAC1 "/local-ipv4s", 404, NULL);
	ctx = saved;
	mdr_defn_free(d);
	mdr_defn_free(portonly);
	mdr_defn_free(twovlans);
	mdr_defn_free(v6);
}

/* ---- network_data.json generated from the bindings ---------------------------- */

static void test_network_data_generated(void **state)
{
	static const char want[] =
		"{\"links\": [{\"id\": \"tap1\", \"vif_id\": \"eni-0a1b2c3d4e5f60718\", \"type\": \"phy\", "
		"\"mtu\": 1450, \"ethernet_mac_address\": \"" MAC1 "\"}, {\"id\": \"tap2\", \"vif_id\": "
		"\"eni-d8e02d56264841501\", \"type\": \"phy\", \"mtu\": null, \"ethernet_mac_address\": "
		"\"" MAC2 "\"}], \"networks\": [{\"id\": \"network0\", \"type\": \"ipv4\", \"link\": "
		"\"tap1\", \"ip_address\": \"10.0.0.5\", \"netmask\": \"255.255.255.0\", \"routes\": "
		"[{\"network\": \"0.0.0.0\", \"netmask\": \"0.0.0.0\", \"gateway\": \"10.0.0.1\"}], "
		"\"network_id\": \"subnet-0123456789abcdef0\", \"services\": [{\"type\": \"dns\", "
		"\"address\": \"10.0.0.53\"}]}, {\"id\": \"network1\", \"type\": \"ipv6\", \"link\": "
		"\"tap1\", \"ip_address\": \"2001:db8:0:1::5\", \"netmask\": \"ffff:ffff:ffff:ffff::\", "
		"\"routes\": [{\"network\": \"::\", \"netmask\": \"::\", \"gateway\": \"2001:db8:0:1::1\"}], "
		"\"network_id\": \"subnet-0123456789abcdef0\", \"services\": [{\"type\": \"dns\", "
		"\"address\": \"2001:db8::53\"}]}, {\"id\": \"network2\", \"type\": \"ipv4\", \"link\": "
		"\"tap2\", \"ip_address\": \"10.1.0.7\", \"netmask\": \"255.255.0.0\", \"routes\": [], "
		"\"network_id\": \"subnet-d8e02d562648415bb\", \"services\": [{\"type\": \"dns\", "
		"\"address\": \"10.0.0.53\"}]}], \"services\": [{\"type\": \"dns\", \"address\": "
		"\"10.0.0.53\"}, {\"type\": \"dns\", \"address\": \"2001:db8::53\"}]}";
	struct mdr_defn *d = load(TWO_NICS);
	struct mdr_defn *noaddr = load(HEAD "\"bindings\":[{\"port\":\"tap1\",\"mac\":\"" MAC1 "\"}]}");
	struct mdr_defn *second = load(HEAD "\"bindings\":[{\"port\":\"tap1\"},{\"mac\":\"" MAC2 "\","
				       "\"addresses\":[\"192.0.2.9/28\"]}]}");

	(void)state;
	expect(d, "/openstack/latest/network_data.json", 200, want);
	expect(d, "/openstack/2015-10-15/network_data.json", 200, want);
	/* nova: a port without subnets has no link, no network info is {} */
	expect(noaddr, "/openstack/latest/network_data.json", 200, "{}");
	/* a NIC without a port is "interface<N>" (nova: no devname) */
	expect(second, "/openstack/latest/network_data.json", 200,
	       "{\"links\": [{\"id\": \"interface0\", \"vif_id\": \"eni-d8e02d56264841501\", "
	       "\"type\": \"phy\", \"mtu\": null, \"ethernet_mac_address\": \"" MAC2 "\"}], "
	       "\"networks\": [{\"id\": \"network0\", \"type\": \"ipv4\", \"link\": \"interface0\", "
	       "\"ip_address\": \"192.0.2.9\", \"netmask\": \"255.255.255.240\", \"routes\": [], "
	       "\"network_id\": \"subnet-d8e02d562648415bb\", \"services\": []}], \"services\": []}");
	mdr_defn_free(d);
	mdr_defn_free(noaddr);
	mdr_defn_free(second);
}

static void test_given_network_data_wins(void **state)
{
	static const char json[] =
		HEAD "\"bindings\":[{\"port\":\"tap1\",\"addresses\":[\"10.0.0.5/24\"]}],"
		"\"network_data\":{\"links\":[],\"networks\":[],\"services\":[]}}";
	struct mdr_defn *d = load(json);

	(void)state;
	expect(d, "/openstack/latest/network_data.json", 200,
	       "{\"links\": [], \"networks\": [], \"services\": []}");
	mdr_defn_free(d);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(bad_cases) / sizeof(bad_cases[0]) + 16];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		static char names[sizeof(bad_cases) / sizeof(bad_cases[0])][96];

		snprintf(names[i], sizeof(names[i]), "rejects %s", bad_cases[i].name);
		tests[n++] = (struct CMUnitTest){ names[i], test_bad_case, NULL, NULL,
						  (void *)&bad_cases[i] };
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bindings_decoded);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_single_binding_unchanged);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bindings_doc_roundtrip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_nova_network_data_accepted);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ec2_interfaces_tree);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ec2_interfaces_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_network_data_generated);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_given_network_data_wins);
	return _cmocka_run_group_tests("nics", tests, n, NULL, NULL);
}
