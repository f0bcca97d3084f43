// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * nics.c - an instance's NICs: the "binding" / "bindings" and
 * "network_data" sections of a definition (validated with defn.c's
 * validators, defn_int.h), and what they render (nics.h): the EC2
 * network/interfaces tree and a generated network_data.json.
 */
#include "nics.h"
#include "defn_int.h"
#include "mac.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IEEE 802.1Q: VLAN ids 1..4094 (0 = untagged here). */
#define NICS_MAX_VLAN 4094
/* Entries of one network_data list (links, networks, routes, services):
 * a server has a few NICs; neutron allows 20 host routes per subnet. */
#define NICS_ND_MAX_ENTRIES 256
/* "ip/prefix" text: an IPv6 address (INET6_ADDRSTRLEN) plus "/128". */
#define NICS_CIDR_STRLEN (INET6_ADDRSTRLEN + 5)

/* ---- addresses ---------------------------------------------------------- */

struct ipaddr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
	int prefix;
};

static int ip_parse(const char *s, struct ipaddr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->a) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->a) == 1)
		ip->family = AF_INET6;
	else
		return -EINVAL;
	ip->prefix = ip->family == AF_INET ? 32 : 128;
	return 0;
}

/* "ip/prefix", the prefix required. */
static int cidr_parse(const char *s, struct ipaddr *ip)
{
	char buf[NICS_CIDR_STRLEN], *slash, *end;
	long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = '\0';
	if (ip_parse(buf, ip))
		return -EINVAL;
	p = strtol(slash + 1, &end, 10);
	if (*end || slash[1] < '0' || slash[1] > '9' || p < 0 || p > ip->prefix)
		return -EINVAL;
	ip->prefix = (int)p;
	return 0;
}

static const char *ip_text(const struct ipaddr *ip, char *out, size_t len)
{
	return inet_ntop(ip->family, ip->a, out, (socklen_t)len) ? out : "";
}

static size_t ip_bytes(const struct ipaddr *ip)
{
	return ip->family == AF_INET ? 4 : 16;
}

/* Host bits cleared: the subnet of ip/prefix. */
static struct ipaddr ip_network(const struct ipaddr *ip)
{
	struct ipaddr n = *ip;

	for (size_t i = 0; i < ip_bytes(ip); i++) {
		int bits = ip->prefix - (int)i * 8;

		if (bits <= 0)
			n.a[i] = 0;
		else if (bits < 8)
			n.a[i] &= (uint8_t)(0xff << (8 - bits));
	}
	return n;
}

/* The prefix as a mask (255.255.255.0, ffff:ffff:ffff:ffff::). */
static struct ipaddr ip_mask(const struct ipaddr *ip)
{
	struct ipaddr m = *ip;

	memset(m.a, 0xff, sizeof(m.a));
	return ip_network(&m);
}

/* A contiguous mask: its prefix length, or -1. */
static int mask_prefix(const struct ipaddr *m)
{
	int n = 0, ended = 0;

	for (size_t i = 0; i < ip_bytes(m); i++)
		for (int b = 7; b >= 0; b--) {
			int one = (m->a[i] >> b) & 1;

			if (one && ended)
				return -1;
			if (one)
				n++;
			else
				ended = 1;
		}
	return n;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* ---- bindings ---------------------------------------------------------- */

/* Linux dev_valid_name(): 1..15 bytes, no '/', ':' or whitespace, not . or .. */
static int valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= MDR_IFNAME_SIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == ':' || ch <= ' ' || ch == 0x7f)
			return 0;
	}
	return 1;
}

/* An address member (family 0: either) into out as canonical text. */
static int want_ip(struct pctx *c, const char *path, const json_t *x, int family, int cidr,
		   struct ipaddr *ip, json_t **out)
{
	char t[NICS_CIDR_STRLEN], full[NICS_CIDR_STRLEN + 8];
	const char *s = want_string(c, path, x, NICS_CIDR_STRLEN, 0);

	if (!s)
		return -EINVAL;
	if (cidr ? cidr_parse(s, ip) : ip_parse(s, ip))
		return fail(c, "%s: \"%s\" is not an IP address%s", path, s,
			    cidr ? " with a prefix length (10.0.0.5/24, 2001:db8::5/64)" : "");
	if (family && ip->family != family)
		return fail(c, "%s: \"%s\" is not an %s address", path, s, family_name(family));
	ip_text(ip, t, sizeof(t));
	if (cidr)
		snprintf(full, sizeof(full), "%s/%d", t, ip->prefix);
	else
		snprintf(full, sizeof(full), "%s", t);
	*out = json_string(full);
	return 0;
}

/* An array of addresses (family 0: either) of at most max per family. */
static int want_ip_list(struct pctx *c, const char *path, const json_t *v, int family,
			int cidr, size_t max, json_t *out)
{
	char p[96];
	size_t n4 = 0, n6 = 0;

	if (!json_is_array(v))
		return fail(c, "%s: expected an array of strings, got %s", path, type_name(v));
	for (size_t i = 0; i < json_array_size(v); i++) {
		struct ipaddr ip;
		json_t *t;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (want_ip(c, p, json_array_get(v, i), family, cidr, &ip, &t))
			return -EINVAL;
		json_array_append_new(out, t);
		if ((ip.family == AF_INET ? ++n4 : ++n6) > max)
			return fail(c, "%s: more than %zu %s addresses", path, max,
				    family_name(ip.family));
	}
	return 0;
}

static const char *const nic_keys[] = {
	"port", "mac", "vlan", "addresses", "gateway4", "gateway6", "dns", "mtu",
	"interface_id", "network_id", "subnet_id", "vpc_id", "security_group_ids",
	"public_ipv4s", NULL};

/* The optional members after port, mac and vlan, in nic_keys' order. */
static int parse_nic_rest(struct pctx *c, const char *path, const json_t *v, json_t *o)
{
	static const char *const ids[] = {"interface_id", "network_id", "subnet_id", "vpc_id"};
	char p[96];
	json_t *x, *t;
	struct ipaddr ip;
	long long n;

	if ((x = opt(v, "addresses"))) {
		snprintf(p, sizeof(p), "%s.addresses", path);
		json_object_set_new(o, "addresses", t = json_array());
		if (want_ip_list(c, p, x, 0, 1, MDR_NICS_MAX_ADDRS, t))
			return -EINVAL;
	}
	for (int f = 0; f < 2; f++) {
		const char *k = f ? "gateway6" : "gateway4";

		if (!(x = opt(v, k)))
			continue;
		snprintf(p, sizeof(p), "%s.%s", path, k);
		if (want_ip(c, p, x, f ? AF_INET6 : AF_INET, 0, &ip, &t))
			return -EINVAL;
		json_object_set_new(o, k, t);
	}
	if ((x = opt(v, "dns"))) {
		snprintf(p, sizeof(p), "%s.dns", path);
		json_object_set_new(o, "dns", t = json_array());
		if (json_is_array(x) && json_array_size(x) > MDR_NICS_MAX_DNS)
			return fail(c, "%s: %zu servers, the limit is %d", p, json_array_size(x),
				    MDR_NICS_MAX_DNS);
		if (want_ip_list(c, p, x, 0, 0, MDR_NICS_MAX_DNS, t))
			return -EINVAL;
	}
	if ((x = opt(v, "mtu"))) {
		snprintf(p, sizeof(p), "%s.mtu", path);
		if (want_int(c, p, x, MDR_NICS_MIN_MTU, MDR_NICS_MAX_MTU, &n))
			return -EINVAL;
		json_object_set_new(o, "mtu", json_integer(n));
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const char *s;

		if (!(x = opt(v, ids[i])))
			continue;
		snprintf(p, sizeof(p), "%s.%s", path, ids[i]);
		if (!(s = want_string(c, p, x, MDR_DEFN_NAME_MAX, TXT_SEGMENT)))
			return -EINVAL;
		json_object_set_new(o, ids[i], json_string(s));
	}
	if ((x = opt(v, "security_group_ids"))) {
		snprintf(p, sizeof(p), "%s.security_group_ids", path);
		if (parse_string_list(c, p, x, MDR_NICS_MAX_IDS, MDR_DEFN_NAME_MAX, &t))
			return -EINVAL;
		json_object_set_new(o, "security_group_ids", t);
	}
	if ((x = opt(v, "public_ipv4s"))) {
		snprintf(p, sizeof(p), "%s.public_ipv4s", path);
		json_object_set_new(o, "public_ipv4s", t = json_array());
		if (want_ip_list(c, p, x, AF_INET, 0, MDR_NICS_MAX_IDS, t))
			return -EINVAL;
	}
	return 0;
}

/* One binding object at path into b and the doc object o. */
static int parse_nic(struct pctx *c, const char *path, const json_t *v,
		     struct mdr_defn_binding *b, json_t *o)
{
	char p[96], mt[MDR_MAC_STRLEN];
	json_t *x;
	long long vlan = 0;

	if (!json_is_object(v))
		return fail(c, "%s: expected an object, got %s", path, type_name(v));
	if (only_keys(c, path, v, nic_keys))
		return -EINVAL;
	if ((x = opt(v, "port"))) {
		const char *s;

		snprintf(p, sizeof(p), "%s.port", path);
		if (!(s = want_string(c, p, x, MDR_IFNAME_SIZE - 1, 0)))
			return -EINVAL;
		if (!valid_ifname(s))
			return fail(c, "%s: \"%s\" is not a valid interface name", p, s);
		b->has_port = 1;
		snprintf(b->port, sizeof(b->port), "%s", s);
		json_object_set_new(o, "port", json_string(s));
	}
	if ((x = opt(v, "mac"))) {
		const uint8_t *m = b->mac;
		const char *s;

		snprintf(p, sizeof(p), "%s.mac", path);
		if (!(s = want_string(c, p, x, 32, 0)))
			return -EINVAL;
		if (mdr_mac_parse(s, b->mac))
			return fail(c, "%s: \"%s\" is not a MAC address (52:54:00:12:34:56)", p, s);
		if (m[0] & 1)
			return fail(c, "%s: %s is a multicast address", p, s);
		if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
			return fail(c, "%s: the all-zero address is not allowed", p);
		b->has_mac = 1;
		json_object_set_new(o, "mac", json_string(mdr_mac_fmt(b->mac, mt)));
	}
	if ((x = opt(v, "vlan"))) {
		snprintf(p, sizeof(p), "%s.vlan", path);
		if (want_int(c, p, x, 0, NICS_MAX_VLAN, &vlan))
			return -EINVAL;
	}
	if (!b->has_port && !b->has_mac)
		return fail(c, "%s: needs \"port\", \"mac\" or both", path);
	b->vlan = (uint16_t)vlan;
	json_object_set_new(o, "vlan", json_integer(vlan));
	return parse_nic_rest(c, path, v, o);
}

int mdr_nics_parse_bindings(struct pctx *c, const json_t *root, struct mdr_defn *d, json_t *nd)
{
	const json_t *one = opt(root, "binding"), *list = opt(root, "bindings");
	char path[32], mt[MDR_MAC_STRLEN];
	json_t *out;

	if (one && list)
		return fail(c, "bindings: give \"binding\" (one NIC) or \"bindings\" (a list), "
			    "not both");
	if (one) {
		json_object_set_new(nd, "binding", out = json_object());
		if (parse_nic(c, "binding", one, &d->bindings[0], out))
			return -EINVAL;
		d->n_bindings = 1;
		return 0;
	}
	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail(c, "bindings: expected an array, got %s", type_name(list));
	if (json_array_size(list) > MDR_DEFN_MAX_BINDINGS)
		return fail(c, "bindings: %zu entries, the limit is %d", json_array_size(list),
			    MDR_DEFN_MAX_BINDINGS);
	json_object_set_new(nd, "bindings", out = json_array());
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct mdr_defn_binding *b = &d->bindings[i];
		json_t *o = json_object();

		json_array_append_new(out, o);
		snprintf(path, sizeof(path), "bindings[%zu]", i);
		if (parse_nic(c, path, json_array_get(list, i), b, o))
			return -EINVAL;
		/* one NIC per port and per (MAC, VLAN): the maps key on them */
		for (size_t j = 0; j < i; j++) {
			const struct mdr_defn_binding *e = &d->bindings[j];

			if (b->has_port && e->has_port && !strcmp(b->port, e->port))
				return fail(c, "%s.port: \"%s\" is bindings[%zu]'s port too", path,
					    b->port, j);
			if (b->has_mac && e->has_mac && !memcmp(b->mac, e->mac, 6) &&
			    b->vlan == e->vlan)
				return fail(c, "%s.mac: %s (vlan %u) is bindings[%zu]'s MAC too", path,
					    mdr_mac_fmt(b->mac, mt), b->vlan, j);
		}
		d->n_bindings = i + 1;
	}
	return 0;
}

/* ---- network_data: nova's shape ----------------------------------------- */

/* nova's network types: ipv4/ipv6 (static), ipv%d_dhcp, ipv6_<address mode>. */
static const char *const net_types[] = {
	"ipv4", "ipv6", "ipv4_dhcp", "ipv6_dhcp", "ipv6_slaac", "ipv6_dhcpv6-stateful",
	"ipv6_dhcpv6-stateless", NULL};

static int net_family(const char *type)
{
	return strncmp(type, "ipv4", 4) ? AF_INET6 : AF_INET;
}

static int is_static(const char *type)
{
	return !strstr(type, "_dhcp") || strstr(type, "dhcpv6");
}

static int nd_array(struct pctx *c, const char *path, const json_t *v)
{
	if (!json_is_array(v))
		return fail(c, "%s: expected an array, got %s", path, type_name(v));
	if (json_array_size(v) > NICS_ND_MAX_ENTRIES)
		return fail(c, "%s: %zu entries, the limit is %d", path, json_array_size(v),
			    NICS_ND_MAX_ENTRIES);
	return 0;
}

static int nd_object(struct pctx *c, const char *path, const json_t *v,
		     const char *const *keys)
{
	if (!json_is_object(v))
		return fail(c, "%s: expected an object, got %s", path, type_name(v));
	return keys ? only_keys(c, path, v, keys) : 0;
}

/* A required (or, when !req, optional) string member: NULL when absent. */
static int nd_str(struct pctx *c, const char *path, const json_t *o, const char *key, int req,
		  const char **out)
{
	char p[160];
	json_t *x = opt(o, key);

	*out = NULL;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!x)
		return req ? fail(c, "%s: missing", p) : 0;
	*out = want_string(c, p, x, MDR_DEFN_NAME_MAX, 0);
	return *out ? 0 : -EINVAL;
}

static int nd_addr(struct pctx *c, const char *path, const json_t *o, const char *key,
		   int family, int mask)
{
	char p[160];
	const char *s;
	struct ipaddr ip;

	if (nd_str(c, path, o, key, 1, &s))
		return -EINVAL;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (ip_parse(s, &ip) || ip.family != family)
		return fail(c, "%s: \"%s\" is not an %s address", p, s, family_name(family));
	if (mask && mask_prefix(&ip) < 0)
		return fail(c, "%s: \"%s\" is not a netmask (contiguous ones)", p, s);
	return 0;
}

static int nd_services(struct pctx *c, const char *path, const json_t *v)
{
	static const char *const keys[] = {"type", "address", NULL};
	char p[160];

	if (nd_array(c, path, v))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);
		const char *type, *addr;
		struct ipaddr ip;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (nd_object(c, p, s, keys) || nd_str(c, p, s, "type", 1, &type) ||
		    nd_str(c, p, s, "address", 1, &addr))
			return -EINVAL;
		if (strcmp(type, "dns"))
			return fail(c, "%s.type: \"%s\" is not \"dns\" (nova's only service)", p,
				    type);
		if (ip_parse(addr, &ip))
			return fail(c, "%s.address: \"%s\" is not an IP address", p, addr);
	}
	return 0;
}

/* Is id one of the link ids? */
static int link_known(const json_t *links, const char *id)
{
	for (size_t i = 0; i < json_array_size(links); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(links, i), "id")), id))
			return 1;
	return 0;
}

static int nd_links(struct pctx *c, const json_t *links)
{
	char p[64], q[128];
	long long n;

	if (nd_array(c, "network_data.links", links))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(links); i++) {
		const json_t *l = json_array_get(links, i), *x;
		const char *id, *type, *s;
		uint8_t mac[6];

		snprintf(p, sizeof(p), "network_data.links[%zu]", i);
		if (nd_object(c, p, l, NULL) || nd_str(c, p, l, "id", 1, &id) ||
		    nd_str(c, p, l, "type", 1, &type) || nd_str(c, p, l, "vif_id", 0, &s))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(links, j), "id")),
				    id))
				return fail(c, "%s.id: \"%s\" is links[%zu]'s id too", p, id, j);
		for (int k = 0; k < 2; k++) {
			const char *key = k ? "vlan_mac_address" : "ethernet_mac_address";

			if ((x = opt(l, key))) {
				snprintf(q, sizeof(q), "%s.%s", p, key);
				if (!(s = want_string(c, q, x, 32, 0)))
					return -EINVAL;
				if (mdr_mac_parse(s, mac))
					return fail(c, "%s: \"%s\" is not a MAC address", q, s);
			}
		}
		if ((x = opt(l, "mtu"))) {
			snprintf(q, sizeof(q), "%s.mtu", p);
			if (want_int(c, q, x, MDR_NICS_MIN_MTU, MDR_NICS_MAX_MTU, &n))
				return -EINVAL;
		}
		if ((x = opt(l, "vlan_id"))) {
			snprintf(q, sizeof(q), "%s.vlan_id", p);
			if (want_int(c, q, x, 1, NICS_MAX_VLAN, &n))
				return -EINVAL;
		}
	}
	/* references between links, once every id is known */
	for (size_t i = 0; i < json_array_size(links); i++) {
		const json_t *l = json_array_get(links, i), *x;
		const char *s;

		snprintf(p, sizeof(p), "network_data.links[%zu]", i);
		if (nd_str(c, p, l, "vlan_link", 0, &s))
			return -EINVAL;
		if (s && !link_known(links, s))
			return fail(c, "%s.vlan_link: \"%s\" names no link", p, s);
		if ((x = opt(l, "bond_links"))) {
			snprintf(q, sizeof(q), "%s.bond_links", p);
			if (nd_array(c, q, x))
				return -EINVAL;
			for (size_t j = 0; j < json_array_size(x); j++) {
				snprintf(q, sizeof(q), "%s.bond_links[%zu]", p, j);
				if (!(s = want_string(c, q, json_array_get(x, j), MDR_DEFN_NAME_MAX, 0)))
					return -EINVAL;
				if (!link_known(links, s))
					return fail(c, "%s: \"%s\" names no link", q, s);
			}
		}
	}
	return 0;
}

static int nd_routes(struct pctx *c, const char *path, const json_t *v, int family)
{
	static const char *const keys[] = {"network", "netmask", "gateway", NULL};
	char p[160];

	if (nd_array(c, path, v))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *r = json_array_get(v, i);

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (nd_object(c, p, r, keys) || nd_addr(c, p, r, "network", family, 0) ||
		    nd_addr(c, p, r, "netmask", family, 1) || nd_addr(c, p, r, "gateway", family, 0))
			return -EINVAL;
	}
	return 0;
}

static int nd_networks(struct pctx *c, const json_t *nets, const json_t *links)
{
	static const char *const keys[] = {"id", "type", "link", "ip_address", "netmask",
					   "routes", "network_id", "services", NULL};
	char p[64], q[128];

	if (nd_array(c, "network_data.networks", nets))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(nets); i++) {
		const json_t *n = json_array_get(nets, i), *x;
		const char *id, *type, *link, *s;
		int ok = 0;

		snprintf(p, sizeof(p), "network_data.networks[%zu]", i);
		if (nd_object(c, p, n, keys) || nd_str(c, p, n, "id", 1, &id) ||
		    nd_str(c, p, n, "type", 1, &type) || nd_str(c, p, n, "link", 1, &link) ||
		    nd_str(c, p, n, "network_id", 0, &s))
			return -EINVAL;
		for (size_t t = 0; net_types[t]; t++)
			ok |= !strcmp(type, net_types[t]);
		if (!ok)
			return fail(c, "%s.type: \"%s\" is not one of ipv4, ipv6, ipv4_dhcp, "
				    "ipv6_dhcp, ipv6_slaac, ipv6_dhcpv6-stateful, "
				    "ipv6_dhcpv6-stateless", p, type);
		if (!link_known(links, link))
			return fail(c, "%s.link: \"%s\" names no link", p, link);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(nets, j), "id")),
				    id))
				return fail(c, "%s.id: \"%s\" is networks[%zu]'s id too", p, id, j);
		if (is_static(type) && (nd_addr(c, p, n, "ip_address", net_family(type), 0) ||
					nd_addr(c, p, n, "netmask", net_family(type), 1)))
			return -EINVAL;
		if (!is_static(type) && (opt(n, "ip_address") || opt(n, "netmask")))
			return fail(c, "%s: a %s network has no ip_address or netmask", p, type);
		snprintf(q, sizeof(q), "%s.routes", p);
		if ((x = opt(n, "routes")) && nd_routes(c, q, x, net_family(type)))
			return -EINVAL;
		snprintf(q, sizeof(q), "%s.services", p);
		if ((x = opt(n, "services")) && nd_services(c, q, x))
			return -EINVAL;
	}
	return 0;
}

int mdr_nics_parse_network_data(struct pctx *c, const json_t *root, json_t *nd)
{
	static const char *const keys[] = {"links", "networks", "services", NULL};
	const json_t *v = opt(root, "network_data"), *links, *x;
	json_t *empty = json_array();
	int r = 0;

	if (!v) {
		json_decref(empty);
		return 0;
	}
	if (!json_is_object(v))
		r = fail(c, "network_data: expected an object, got %s", type_name(v));
	else if (!depth_ok(v, MDR_DEFN_MAX_DEPTH))
		r = fail(c, "network_data: nested deeper than %d levels", MDR_DEFN_MAX_DEPTH);
	else if (only_keys(c, "network_data", v, keys))
		r = -EINVAL;
	links = !r && opt(v, "links") ? opt(v, "links") : empty;
	if (!r)
		r = nd_links(c, links);
	if (!r && (x = opt(v, "networks")))
		r = nd_networks(c, x, links);
	if (!r && (x = opt(v, "services")))
		r = nd_services(c, "network_data.services", x);
	json_decref(empty);
	if (!r)
		json_object_set(nd, "network_data", (json_t *)v);
	return r;
}

/* ---- what the bindings render -------------------------------------------- */

size_t mdr_nics_count(const json_t *doc)
{
	const json_t *l = json_object_get(doc, "bindings");

	if (json_is_array(l))
		return json_array_size(l);
	return json_is_object(json_object_get(doc, "binding")) ? 1 : 0;
}

const json_t *mdr_nics_at(const json_t *doc, size_t i)
{
	const json_t *l = json_object_get(doc, "bindings");

	if (json_is_array(l))
		return json_array_get(l, i);
	return i == 0 ? json_object_get(doc, "binding") : NULL;
}

static const char *str_of(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/*
 * A binding's id member, or its default: shaped like AWS's and stable per
 * instance (hex digits of the uuid): interface_id "eni-" + 15 hex + the
 * device number (2 hex), subnet_id "subnet-" + 17 hex, vpc_id "vpc-" +
 * 17 hex, network_id the subnet id.
 */
static const char *nic_id(const json_t *doc, const json_t *b, size_t i, const char *key,
			  char *buf, size_t len)
{
	const char *s = str_of(b, key, NULL), *u = str_of(doc, "uuid", "");
	char hex[33];
	size_t h = 0;

	if (s)
		return s;
	if (!strcmp(key, "network_id"))
		return nic_id(doc, b, i, "subnet_id", buf, len);
	for (; *u && h < 32; u++)
		if (*u != '-')
			hex[h++] = *u;
	hex[h] = '\0';
	if (!strcmp(key, "interface_id"))
		snprintf(buf, len, "eni-%.15s%02zx", hex, i & 0xff);
	else if (!strcmp(key, "subnet_id"))
		snprintf(buf, len, "subnet-%.17s", hex);
	else
		snprintf(buf, len, "vpc-%.17s", hex);
	return buf;
}

/* Addresses of family fam from a binding's "addresses": bare (or, when
 * subnet, their subnets ip/prefix, each once). */
static json_t *nic_addrs(const json_t *b, int fam, int subnet)
{
	json_t *out = json_array(), *x;
	size_t i;

	json_array_foreach(json_object_get(b, "addresses"), i, x) {
		char t[NICS_CIDR_STRLEN], full[NICS_CIDR_STRLEN + 8];
		struct ipaddr ip, net;
		int dup = 0;

		if (cidr_parse(json_string_value(x), &ip) || ip.family != fam)
			continue;
		if (!subnet) {
			json_array_append_new(out, json_string(ip_text(&ip, t, sizeof(t))));
			continue;
		}
		net = ip_network(&ip);
		snprintf(full, sizeof(full), "%s/%d", ip_text(&net, t, sizeof(t)), ip.prefix);
		for (size_t j = 0; j < json_array_size(out); j++)
			dup |= !strcmp(json_string_value(json_array_get(out, j)), full);
		if (!dup)
			json_array_append_new(out, json_string(full));
	}
	return out;
}

/* key = list when not empty. */
static void set_list(json_t *o, const char *key, json_t *list)
{
	if (json_array_size(list))
		json_object_set_new(o, key, list);
	else
		json_decref(list);
}

void mdr_nics_ec2(const json_t *doc, const char *ver, const char *local_ipv4, json_t *md)
{
	const json_t *ec2 = json_object_get(doc, "ec2"), *x;
	const char *host = str_of(ec2, "local_hostname", str_of(doc, "hostname", ""));
	const char *first = NULL;
	json_t *macs;

	if (strcmp(ver, MDR_NICS_EC2_SINCE) < 0)
		return;
	macs = json_object();
	for (size_t i = 0; i < mdr_nics_count(doc); i++) {
		const json_t *b = mdr_nics_at(doc, i);
		const char *mac = str_of(b, "mac", NULL), *pub = str_of(ec2, "public_ipv4", "");
		char buf[64];
		json_t *e, *v4, *l;

		/* a port-only binding: its MAC is not known; one MAC on two VLANs:
		 * the first NIC (EC2 has one entry per MAC) */
		if (!mac || json_object_get(macs, mac))
			continue;
		first = first ? first : mac;
		e = json_object();
		json_object_set_new(macs, mac, e);
		json_object_set_new(e, "device-number", json_integer((json_int_t)i));
		json_object_set_new(e, "interface-id",
				    json_string(nic_id(doc, b, i, "interface_id", buf, sizeof(buf))));
		json_object_set_new(e, "local-hostname", json_string(host));
		v4 = nic_addrs(b, AF_INET, 0);
		/* the primary NIC's address is meta-data/local-ipv4 when not given */
		if (!json_array_size(v4) && i == 0 && local_ipv4 && local_ipv4[0])
			json_array_append_new(v4, json_string(local_ipv4));
		set_list(e, "local-ipv4s", v4);
		json_object_set_new(e, "mac", json_string(mac));
		json_object_set_new(e, "owner-id", json_string(str_of(doc, "project_id", "")));
		if ((x = json_object_get(b, "public_ipv4s")))
			l = json_deep_copy(x);
		else if (i == 0 && pub[0])
			l = json_pack("[s]", pub);
		else
			l = json_array();
		set_list(e, "public-ipv4s", l);
		x = json_object_get(b, "security_group_ids");
		json_object_set_new(e, "security-group-ids", x ? json_deep_copy(x) : json_array());
		x = json_object_get(ec2, "security_groups");
		json_object_set_new(e, "security-groups", x ? json_deep_copy(x) : json_array());
		json_object_set_new(e, "subnet-id",
				    json_string(nic_id(doc, b, i, "subnet_id", buf, sizeof(buf))));
		l = nic_addrs(b, AF_INET, 1);
		if (json_array_size(l))
			json_object_set(e, "subnet-ipv4-cidr-block", json_array_get(l, 0));
		json_decref(l);
		json_object_set_new(e, "vpc-id",
				    json_string(nic_id(doc, b, i, "vpc_id", buf, sizeof(buf))));
		if (strcmp(ver, MDR_NICS_EC2_SINCE_IPV6) >= 0) {
			set_list(e, "ipv6s", nic_addrs(b, AF_INET6, 0));
			set_list(e, "subnet-ipv6-cidr-blocks", nic_addrs(b, AF_INET6, 1));
		}
	}
	if (!first) {
		json_decref(macs);
		return;
	}
	json_object_set_new(md, "mac", json_string(first));
	json_object_set_new(md, "network", json_pack("{s:{s:o}}", "interfaces", "macs", macs));
}

/* The first address of family fam in a binding's "addresses", or 0. */
static int first_addr(const json_t *b, int fam, struct ipaddr *ip)
{
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(b, "addresses"), i, x)
		if (!cidr_parse(json_string_value(x), ip) && ip->family == fam)
			return 1;
	return 0;
}

/* nova's _get_dns_services(subnet): the binding's servers of family fam. */
static json_t *dns_services(const json_t *b, int fam)
{
	json_t *out = json_array(), *x;
	struct ipaddr ip;
	size_t i;

	json_array_foreach(json_object_get(b, "dns"), i, x)
		if (!ip_parse(json_string_value(x), &ip) && ip.family == fam)
			json_array_append_new(out, json_pack("{s:s,s:O}", "type", "dns", "address", x));
	return out;
}

/* nova's _get_nets() for a static subnet: its keys, its order. */
static json_t *nd_network(const json_t *doc, const json_t *b, size_t i, int fam,
			  const struct ipaddr *ip, int num, const char *link)
{
	char t[NICS_CIDR_STRLEN], m[NICS_CIDR_STRLEN], id[32], buf[64];
	const char *gw = str_of(b, fam == AF_INET ? "gateway4" : "gateway6", NULL);
	const char *any = fam == AF_INET ? "0.0.0.0" : "::";
	struct ipaddr mask = ip_mask(ip);
	json_t *n = json_object(), *routes = json_array();

	snprintf(id, sizeof(id), "network%d", num);
	json_object_set_new(n, "id", json_string(id));
	json_object_set_new(n, "type", json_string(fam == AF_INET ? "ipv4" : "ipv6"));
	json_object_set_new(n, "link", json_string(link));
	json_object_set_new(n, "ip_address", json_string(ip_text(ip, t, sizeof(t))));
	json_object_set_new(n, "netmask", json_string(ip_text(&mask, m, sizeof(m))));
	if (gw)
		json_array_append_new(routes, json_pack("{s:s,s:s,s:s}", "network", any, "netmask",
							any, "gateway", gw));
	json_object_set_new(n, "routes", routes);
	json_object_set_new(n, "network_id",
			    json_string(nic_id(doc, b, i, "network_id", buf, sizeof(buf))));
	json_object_set_new(n, "services", dns_services(b, fam));
	return n;
}

json_t *mdr_nics_network_data(const json_t *doc)
{
	const json_t *given = json_object_get(doc, "network_data");
	json_t *links, *nets, *services, *out;
	int ifc = -1, netn = -1;

	if (given)
		return json_incref((json_t *)given);
	links = json_array();
	nets = json_array();
	services = json_array();
	for (size_t i = 0; i < mdr_nics_count(doc); i++) {
		const json_t *b = mdr_nics_at(doc, i), *mtu = json_object_get(b, "mtu");
		const json_t *mac = json_object_get(b, "mac");
		struct ipaddr ip4, ip6;
		int has4 = first_addr(b, AF_INET, &ip4), has6 = first_addr(b, AF_INET6, &ip6);
		char lid[32], buf[64];
		const char *link;
		json_t *l;

		/* nova: a VIF without subnets has no link */
		if (!has4 && !has6)
			continue;
		ifc++;
		snprintf(lid, sizeof(lid), "interface%d", ifc);
		link = str_of(b, "port", lid);
		l = json_object();
		json_object_set_new(l, "id", json_string(link));
		json_object_set_new(l, "vif_id",
				    json_string(nic_id(doc, b, i, "interface_id", buf, sizeof(buf))));
		json_object_set_new(l, "type", json_string("phy"));
		json_object_set_new(l, "mtu", mtu ? json_incref((json_t *)mtu) : json_null());
		json_object_set_new(l, "ethernet_mac_address",
				    mac ? json_incref((json_t *)mac) : json_null());
		json_array_append_new(links, l);
		for (int f = 0; f < 2; f++) {
			int fam = f ? AF_INET6 : AF_INET;
			json_t *dns, *x;
			size_t k;

			if (!(f ? has6 : has4))
				continue;
			json_array_append_new(nets, nd_network(doc, b, i, fam, f ? &ip6 : &ip4,
							       ++netn, link));
			/* services += [dns for dns in subnet's if dns not in services] */
			dns = dns_services(b, fam);
			json_array_foreach(dns, k, x) {
				int dup = 0;

				for (size_t j = 0; j < json_array_size(services); j++)
					dup |= json_equal(json_array_get(services, j), x);
				if (!dup)
					json_array_append(services, x);
			}
			json_decref(dns);
		}
	}
	if (!json_array_size(links)) {
		json_decref(links);
		json_decref(nets);
		json_decref(services);
		return json_object(); /* nova: no network info, {} */
	}
	out = json_object();
	json_object_set_new(out, "links", links);
	json_object_set_new(out, "networks", nets);
	json_object_set_new(out, "services", services);
	return out;
}
