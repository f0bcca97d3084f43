/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"

static char chunk_names[MDR_CHUNK_CLASSES][16];

size_t mdr_maps_refs(struct mdr_maps *m, struct mdr_map_ref *refs)
{
	size_t n = 0;

#define REF(nm, f) refs[n++] = (struct mdr_map_ref){ nm, &m->f }
	REF(MDR_MAP_CONFIG, config);
	REF(MDR_MAP_PORTS, ports);
	REF(MDR_MAP_MACS, macs);
	REF(MDR_MAP_LIMITS, limits);
	REF(MDR_MAP_RL, rl);
	REF(MDR_MAP_INST, inst);
	REF(MDR_MAP_UUIDS, uuids);
	REF(MDR_MAP_XSKS, xsks);
	REF(MDR_MAP_XSK_SLOT, xsk_slot);
	REF(MDR_MAP_IFACES, ifaces);
	REF(MDR_MAP_PASSWORDS, passwords);
	REF(MDR_MAP_TOKKEY, tokkey);
	REF(MDR_MAP_STATS, stats);
	REF(MDR_MAP_ISTATS, istats);
	REF(MDR_MAP_RSTATS, rstats);
	REF(MDR_MAP_ABI, abi);
#undef REF
	for (int i = 0; i < MDR_CHUNK_CLASSES; i++) {
		if (!chunk_names[i][0])
			snprintf(chunk_names[i], sizeof(chunk_names[i]), MDR_MAP_CHUNK_FMT, i);
		refs[n++] = (struct mdr_map_ref){ chunk_names[i], &m->chunk[i] };
	}
	return n;
}

void mdr_maps_init(struct mdr_maps *m)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	size_t n = mdr_maps_refs(m, refs);

	for (size_t i = 0; i < n; i++)
		*refs[i].fd = -1;
	m->lock_fd = -1;
	m->pin_dir[0] = '\0';
}

void mdr_maps_close(struct mdr_maps *m)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	size_t n = mdr_maps_refs(m, refs);

	for (size_t i = 0; i < n; i++) {
		if (*refs[i].fd >= 0)
			close(*refs[i].fd);
		*refs[i].fd = -1;
	}
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
}

int mdr_maps_open(struct mdr_maps *m, const char *pin_dir)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	char path[PATH_MAX];
	size_t n;
	int err;

	mdr_maps_init(m);
	if (strlen(pin_dir) >= sizeof(m->pin_dir)) {
		mdr_log(MDR_LOG_ERR, "pin directory path too long: %s", pin_dir);
		return -ENAMETOOLONG;
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	n = mdr_maps_refs(m, refs);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, refs[i].name);
		*refs[i].fd = bpf_obj_get(path);
		/* Pins of a release before the version record: readable too. */
		if (*refs[i].fd < 0 && errno == ENOENT && refs[i].fd == &m->abi)
			continue;
		if (*refs[i].fd < 0) {
			err = -errno;
			mdr_log(MDR_LOG_ERR,
				"cannot open pinned map %s: %s (was mdrd started with --pin-dir %s?)",
				path, strerror(-err), pin_dir);
			mdr_maps_close(m);
			return err;
		}
	}
	m->lock_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->lock_fd < 0) {
		err = -errno;
		mdr_log(MDR_LOG_ERR, "cannot open pin directory %s: %s", pin_dir, strerror(-err));
		mdr_maps_close(m);
		return err;
	}
	return 0;
}

int mdr_maps_lock(struct mdr_maps *m)
{
	if (m->lock_fd < 0)
		return 0; /* maps opened by hand (tests): nothing to serialise with */
	while (flock(m->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void mdr_maps_unlock(struct mdr_maps *m)
{
	if (m->lock_fd >= 0)
		flock(m->lock_fd, LOCK_UN);
}

/* ------------------------------------------------------------------ */
/* Runtime configuration                                               */
/* ------------------------------------------------------------------ */

static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

static int parse_mac6(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char sep[5], tail;

	if (sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1],
		   &v[2], &sep[2], &v[3], &sep[3], &v[4], &sep[4], &v[5], &tail) != 11)
		return -1;
	for (int i = 0; i < 5; i++)
		if (sep[i] != ':' && sep[i] != '-')
			return -1;
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
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
			cfg_err(err, errlen, "%s: expected pass or drop, got \"%s\"", key, value);
			return -1;
		}
		if (unknown)
			e->set_unknown_policy = 1;
		else
			e->set_no_xsk_policy = 1;
	} else if (!strcmp(key, "meta-mac")) {
		if (parse_mac6(value, e->v.meta_mac) || (e->v.meta_mac[0] & 1)) {
			cfg_err(err, errlen, "meta-mac: \"%s\" is not a unicast MAC address", value);
			return -1;
		}
		e->set_meta_mac = 1;
	} else if (!strcmp(key, "rate")) {
		if (parse_u32(value, 1, MDR_MAX_RATE_PPS, &e->v.default_rate_pps)) {
			cfg_err(err, errlen, "rate: expected 1..%u packets per second, got \"%s\"",
				MDR_MAX_RATE_PPS, value);
			return -1;
		}
		e->set_rate = 1;
	} else if (!strcmp(key, "burst")) {
		if (parse_u32(value, 1, MDR_MAX_RATE_PPS, &e->v.default_burst)) {
			cfg_err(err, errlen, "burst: expected 1..%u packets, got \"%s\"",
				MDR_MAX_RATE_PPS, value);
			return -1;
		}
		e->set_burst = 1;
	} else if (!strcmp(key, "arp")) {
		if (!strcmp(value, "on"))
			e->v.flags &= ~MDR_CFG_F_NO_ARP;
		else if (!strcmp(value, "off"))
			e->v.flags |= MDR_CFG_F_NO_ARP;
		else {
			cfg_err(err, errlen, "arp: expected on or off, got \"%s\"", value);
			return -1;
		}
		e->set_arp = 1;
	} else if (!strcmp(key, "endpoint")) {
		struct mdr_endpoint ep;

		if (!e->set_endpoints)
			e->v.n_endpoints = 0;
		if (e->v.n_endpoints >= MDR_MAX_ENDPOINTS) {
			cfg_err(err, errlen, "endpoint: at most %d endpoints", MDR_MAX_ENDPOINTS);
			return -1;
		}
		if (parse_endpoint(value, &ep)) {
			cfg_err(err, errlen,
				"endpoint: \"%s\" is not ADDR[:PORT] (IPv6 as [ADDR]:PORT)", value);
			return -1;
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
		 e->set_rate || e->set_burst || e->set_arp || e->set_endpoints);
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
	if (e->set_arp)
		c->flags = (c->flags & ~MDR_CFG_F_NO_ARP) | (e->v.flags & MDR_CFG_F_NO_ARP);
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

int mdr_config_read(const struct mdr_maps *m, struct mdr_config *c)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(m->config, &k, c) ? -errno : 0;
}

int mdr_config_write(const struct mdr_maps *m, const struct mdr_config *c)
{
	__u32 k = 0;

	return bpf_map_update_elem(m->config, &k, c, BPF_ANY) ? -errno : 0;
}

int mdr_xdp_counters_read(int fd, const void *key, struct mdr_xdp_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mdr_xdp_counters *v;
	const size_t nf = sizeof(*sum) / sizeof(__u64);

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v)); /* 104 bytes: already 8-aligned */
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		int e = -errno;

		free(v);
		return e;
	}
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < nf; f++)
			((__u64 *)sum)[f] += ((const __u64 *)&v[c])[f];
	free(v);
	return 0;
}
