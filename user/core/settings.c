/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* settings: the runtime configuration (mdr_config) as settings (see settings.h). */
#include "settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mac.h"

void mdr_config_defaults(struct mdr_config *cfg)
{
	static const __u8 mac[6] = MDR_DEFAULT_META_MAC;
	static const __u8 ll6[16] = {0xfe, 0x80, [12] = 0xa9, 0xfe, 0xa9, 0xfe};
	static const __u8 ec2_6[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, 0x54};
	static const __u8 v4[4] = {169, 254, 169, 254};

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->meta_mac, mac, sizeof(mac));
	cfg->unknown_policy = MDR_POLICY_PASS;
	cfg->no_xsk_policy = MDR_POLICY_PASS;
	cfg->default_rate_pps = MDR_DEFAULT_RATE_PPS;
	cfg->default_burst = MDR_DEFAULT_BURST;
	/* The handshake in XDP is on (xdp-synack off leaves it to the
	 * responder): docs/DESIGN.md "Handshake in XDP". */
	cfg->flags = 0;
	cfg->n_endpoints = 3;
	cfg->ep[0].family = 4;
	memcpy(cfg->ep[0].addr, v4, sizeof(v4));
	cfg->ep[1].family = 6;
	memcpy(cfg->ep[1].addr, ll6, sizeof(ll6));
	cfg->ep[2].family = 6;
	memcpy(cfg->ep[2].addr, ec2_6, sizeof(ec2_6));
	for (int i = 0; i < 3; i++)
		cfg->ep[i].port_be = htons(80);
}

/* ------------------------------------------------------------------ */
/* Runtime configuration                                               */
/* ------------------------------------------------------------------ */

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_policy(const char *s, uint8_t *out)
{
	if (!strcmp(s, "pass"))
		*out = MDR_POLICY_PASS;
	else if (!strcmp(s, "drop"))
		*out = MDR_POLICY_DROP;
	else
		return -1;
	return 0;
}

static int parse_endpoint(const char *s, struct mdr_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	uint32_t p = 80;
	size_t n;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close_br = strchr(s, ']');

		if (!close_br || (size_t)(close_br - s - 1) >= sizeof(addr))
			return -1;
		n = (size_t)(close_br - s - 1);
		memcpy(addr, s + 1, n);
		addr[n] = '\0';
		if (close_br[1] == ':')
			port = close_br + 2;
		else if (close_br[1])
			return -1;
		if (inet_pton(AF_INET6, addr, ep->addr) != 1)
			return -1;
		ep->family = 6;
	} else {
		const char *colon = strchr(s, ':');

		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(addr))
			return -1;
		memcpy(addr, s, n);
		addr[n] = '\0';
		if (colon)
			port = colon + 1;
		if (inet_pton(AF_INET, addr, ep->addr) != 1)
			return -1;
		ep->family = 4;
	}
	if (port && parse_u32(port, 1, 65535, &p))
		return -1;
	ep->port_be = htons((uint16_t)p);
	return 0;
}

int mdr_config_edit_set(struct mdr_config_edit *e, const char *key, const char *value,
			char *err, size_t errlen)
{
	if (!strcmp(key, "policy-unknown") || !strcmp(key, "policy-no-xsk")) {
		int unknown = key[7] == 'u';

		if (parse_policy(value, unknown ? &e->v.unknown_policy : &e->v.no_xsk_policy)) {
			return mdr_errf(err, errlen, -EINVAL, "%s: expected pass or drop, got \"%s\"", key, value);
		}
		if (unknown)
			e->set_unknown_policy = 1;
		else
			e->set_no_xsk_policy = 1;
	} else if (!strcmp(key, "meta-mac")) {
		if (mdr_mac_parse(value, e->v.meta_mac) || (e->v.meta_mac[0] & 1)) {
			return mdr_errf(err, errlen, -EINVAL, "meta-mac: \"%s\" is not a unicast MAC address", value);
		}
		e->set_meta_mac = 1;
	} else if (!strcmp(key, "rate")) {
		if (parse_u32(value, 1, MDR_MAX_RATE_PPS, &e->v.default_rate_pps)) {
			return mdr_errf(err, errlen, -EINVAL, "rate: expected 1..%u packets per second, got \"%s\"",
				MDR_MAX_RATE_PPS, value);
		}
		e->set_rate = 1;
	} else if (!strcmp(key, "burst")) {
		if (parse_u32(value, 1, MDR_MAX_RATE_PPS, &e->v.default_burst)) {
			return mdr_errf(err, errlen, -EINVAL, "burst: expected 1..%u packets, got \"%s\"",
				MDR_MAX_RATE_PPS, value);
		}
		e->set_burst = 1;
	} else if (!strcmp(key, "arp") || !strcmp(key, "xdp-synack")) {
		/* on|off settings stored as "off" flags */
		__u32 bit = !strcmp(key, "arp") ? MDR_CFG_F_NO_ARP : MDR_CFG_F_NO_XDP_SYNACK;

		if (!strcmp(value, "on"))
			e->v.flags &= ~bit;
		else if (!strcmp(value, "off"))
			e->v.flags |= bit;
		else {
			return mdr_errf(err, errlen, -EINVAL, "%s: expected on or off, got \"%s\"", key,
					value);
		}
		e->set_flags |= bit;
	} else if (!strcmp(key, "endpoint")) {
		struct mdr_endpoint ep;

		if (!e->set_endpoints)
			e->v.n_endpoints = 0;
		if (e->v.n_endpoints >= MDR_MAX_ENDPOINTS) {
			return mdr_errf(err, errlen, -EINVAL, "endpoint: at most %d endpoints", MDR_MAX_ENDPOINTS);
		}
		if (parse_endpoint(value, &ep)) {
			return mdr_errf(err, errlen, -EINVAL,
					"endpoint: \"%s\" is not ADDR[:PORT] (IPv6 as [ADDR]:PORT)", value);
		}
		e->v.ep[e->v.n_endpoints++] = ep;
		e->set_endpoints = 1;
	} else {
		return 1;
	}
	return 0;
}

int mdr_config_edit_empty(const struct mdr_config_edit *e)
{
	return !(e->set_unknown_policy || e->set_no_xsk_policy || e->set_meta_mac ||
		 e->set_rate || e->set_burst || e->set_flags || e->set_endpoints);
}

void mdr_config_edit_apply(const struct mdr_config_edit *e, struct mdr_config *c)
{
	if (e->set_unknown_policy)
		c->unknown_policy = e->v.unknown_policy;
	if (e->set_no_xsk_policy)
		c->no_xsk_policy = e->v.no_xsk_policy;
	if (e->set_meta_mac)
		memcpy(c->meta_mac, e->v.meta_mac, 6);
	if (e->set_rate)
		c->default_rate_pps = e->v.default_rate_pps;
	if (e->set_burst)
		c->default_burst = e->v.default_burst;
	c->flags = (c->flags & ~e->set_flags) | (e->v.flags & e->set_flags);
	if (e->set_endpoints) {
		memset(c->ep, 0, sizeof(c->ep));
		memcpy(c->ep, e->v.ep, sizeof(c->ep[0]) * e->v.n_endpoints);
		c->n_endpoints = e->v.n_endpoints;
	}
}

void mdr_endpoint_format(const struct mdr_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->family == 6) {
		inet_ntop(AF_INET6, ep->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(ep->port_be));
	} else if (ep->family == 4) {
		inet_ntop(AF_INET, ep->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(ep->port_be));
	} else {
		snprintf(buf, len, "unused");
	}
}

const char *mdr_policy_name(unsigned policy)
{
	return policy == MDR_POLICY_DROP ? "drop" : policy == MDR_POLICY_PASS ? "pass" : "?";
}

