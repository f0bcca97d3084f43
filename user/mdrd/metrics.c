/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd metrics: serves GET /metrics in the Prometheus text format on the
 * address of --metrics (off when not set) with libmicrohttpd, in its own
 * thread (user/lib/promhttp.c). Each scrape reads the pinned maps (counters, instances, bindings,
 * attachments, responder sockets) into a snapshot and formats it with
 * mdr_prom_format (user/lib/prom.c). The thread only reads maps through
 * their fds, which stay open for mdrd's lifetime.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "mdrd.h"
#include "log.h"
#include "prom.h"
#include "promhttp.h"
#include "store.h"

static struct mdr_promhttp *http;
static char serving[MDR_PROMHTTP_ADDR_MAX]; /* address http listens on */

struct collect {
	struct mdr_prom_inst *inst;
	uint32_t *ids; /* ids[i] is inst[i]'s instance id (0 = none) */
	size_t n_inst, cap_inst;
	struct mdr_prom_port *port;
	size_t n_port;
};

static struct mdr_prom_inst *inst_of(struct collect *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_inst; i++)
		if (c->ids[i] == id)
			return &c->inst[i];
	return NULL;
}

/* Interface name of ifindex: what mdrd recorded, else the kernel's. */
static void ifname_of(uint32_t ifindex, char name[MDR_IFNAME_SIZE])
{
	struct mdr_iface v;
	char tmp[IF_NAMESIZE];

	if (!bpf_map_lookup_elem(mdrd_maps.ifaces, &ifindex, &v)) {
		snprintf(name, MDR_IFNAME_SIZE, "%.*s", MDR_IFNAME_SIZE - 1, v.name);
		return;
	}
	if (if_indextoname(ifindex, tmp))
		snprintf(name, MDR_IFNAME_SIZE, "%s", tmp);
	else
		snprintf(name, MDR_IFNAME_SIZE, "if%u", ifindex);
}

/* Adds port name to the instance's port label (once). */
static void label_port(struct collect *c, uint32_t id, uint32_t ifindex)
{
	struct mdr_prom_inst *in = inst_of(c, id);
	char name[MDR_IFNAME_SIZE], *p;
	size_t len, n;

	if (!in || !ifindex)
		return;
	ifname_of(ifindex, name);
	n = strlen(name);
	for (p = in->port; (p = strstr(p, name)); p += n)
		if ((p == in->port || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return;
	len = strlen(in->port);
	if (len + n + 2 > sizeof(in->port))
		return; /* more ports than the label holds: the first ones shown */
	snprintf(in->port + len, sizeof(in->port) - len, "%s%s", len ? "," : "", name);
}

static int add_inst(struct collect *c, uint32_t id)
{
	struct mdr_prom_inst *in;
	struct mdr_instance rec;

	if (c->n_inst == c->cap_inst) {
		size_t cap = c->cap_inst ? c->cap_inst * 2 : 64;
		void *a = realloc(c->inst, cap * sizeof(*c->inst));

		if (!a)
			return -ENOMEM;
		c->inst = a;
		a = realloc(c->ids, cap * sizeof(*c->ids));
		if (!a)
			return -ENOMEM;
		c->ids = a;
		c->cap_inst = cap;
	}
	in = &c->inst[c->n_inst];
	memset(in, 0, sizeof(*in));
	if (id) {
		if (mdr_store_record(&mdrd_maps, id, &rec))
			return 0; /* deleted meanwhile */
		snprintf(in->uuid, sizeof(in->uuid), "%.*s", MDR_UUID_SIZE - 1, rec.uuid);
		in->gen = rec.gen;
		in->has_xdp = mdr_xdp_counters_read(mdrd_maps.istats, &id, &in->xdp) == 0;
	}
	in->has_resp = bpf_map_lookup_elem(mdrd_maps.rstats, &id, &in->resp) == 0;
	if (!id && !in->has_resp)
		return 0;
	c->ids[c->n_inst++] = id;
	return 0;
}

static int collect_instances(struct collect *c)
{
	uint32_t *ids;
	int n = mdr_store_ids(&mdrd_maps, NULL, 0), r = 0;
	size_t cap;

	if (n < 0)
		return n;
	cap = (size_t)n + 64; /* instances added between the two calls */
	ids = calloc(cap, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = mdr_store_ids(&mdrd_maps, ids, cap);
	for (size_t i = 0; r == 0 && n > 0 && i < (size_t)n && i < cap; i++)
		r = add_inst(c, ids[i]);
	free(ids);
	if (!r && n >= 0)
		r = add_inst(c, 0); /* responder counts of no instance */
	return r < 0 ? r : n < 0 ? n : 0;
}

static void collect_bindings(struct collect *c)
{
	__u32 k, *pk = NULL;
	struct mdr_port_binding pb;
	struct mdr_mac_key mk, *pm = NULL;
	struct mdr_mac_binding mb;

	while (!bpf_map_get_next_key(mdrd_maps.ports, pk, &k)) {
		if (!bpf_map_lookup_elem(mdrd_maps.ports, &k, &pb))
			label_port(c, pb.instance_id, k);
		pk = &k;
	}
	while (!bpf_map_get_next_key(mdrd_maps.macs, pm, &mk)) {
		if (!bpf_map_lookup_elem(mdrd_maps.macs, &mk, &mb))
			label_port(c, mb.instance_id, mb.ifindex);
		pm = &mk;
	}
}

static int collect_ports(struct collect *c)
{
	__u32 k, *pk = NULL;
	struct mdr_iface v;

	c->port = calloc(MDR_MAX_IFACES, sizeof(*c->port));
	if (!c->port)
		return -ENOMEM;
	while (c->n_port < MDR_MAX_IFACES && !bpf_map_get_next_key(mdrd_maps.ifaces, pk, &k)) {
		pk = &k;
		if (bpf_map_lookup_elem(mdrd_maps.ifaces, &k, &v))
			continue;
		struct mdr_prom_port *p = &c->port[c->n_port++];

		snprintf(p->name, sizeof(p->name), "%.*s", MDR_IFNAME_SIZE - 1, v.name);
		p->mode = v.mode;
		p->rx_queues = v.num_rx_queues;
		for (uint32_t q = 0; q < v.num_rx_queues && q < MDR_PROM_MAX_QUEUES; q++) {
			struct mdr_xsk_key xk = { .ifindex = k, .queue = q };
			__u32 slot;

			p->served[q] = bpf_map_lookup_elem(mdrd_maps.xsk_slot, &xk, &slot) == 0;
		}
	}
	return 0;
}

static int cmp_inst(const void *a, const void *b)
{
	const struct mdr_prom_inst *x = a, *y = b;

	return strcmp(x->uuid, y->uuid);
}

static int cmp_port(const void *a, const void *b)
{
	return strcmp(((const struct mdr_prom_port *)a)->name,
		      ((const struct mdr_prom_port *)b)->name);
}

/* The exposition of the maps now, in out. 0 or -errno. */
static int metrics_render(struct mdr_buf *out)
{
	struct collect c = { 0 };
	struct mdr_prom_snap s = { 0 };
	__u32 zero = 0;
	int r;

	r = mdr_xdp_counters_read(mdrd_maps.stats, &zero, &s.xdp);
	if (!r)
		r = collect_instances(&c);
	if (!r) {
		collect_bindings(&c);
		r = collect_ports(&c);
	}
	if (!r) {
		if (c.n_inst)
			qsort(c.inst, c.n_inst, sizeof(*c.inst), cmp_inst);
		if (c.n_port)
			qsort(c.port, c.n_port, sizeof(*c.port), cmp_port);
		s.inst = c.inst;
		s.n_inst = c.n_inst;
		s.port = c.port;
		s.n_port = c.n_port;
		r = mdr_prom_format(&s, out);
	}
	free(c.inst);
	free(c.ids);
	free(c.port);
	return r;
}

int metrics_check_addr(const char *spec)
{
	return mdr_promhttp_check_addr(spec);
}

void metrics_stop(void)
{
	mdr_promhttp_stop(http);
	http = NULL;
	serving[0] = '\0';
}

int metrics_apply(void)
{
	int r;

	if (!strcmp(serving, mdrd_opts.metrics))
		return 0;
	metrics_stop();
	if (!mdrd_opts.metrics[0])
		return 0;
	r = mdr_promhttp_start(&http, mdrd_opts.metrics, metrics_render);
	if (!r)
		snprintf(serving, sizeof(serving), "%s", mdrd_opts.metrics);
	return r;
}
_Static_assert(MDRD_METRICS_ADDR_MAX == MDR_PROMHTTP_ADDR_MAX, "one address limit");
