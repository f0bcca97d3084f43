/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd metrics: serves GET /metrics in the Prometheus text format on the
 * address of --metrics (off when not set) with libmicrohttpd, in its own
 * thread. Each scrape reads the pinned maps (counters, instances, bindings,
 * attachments, responder sockets) into a snapshot and formats it with
 * mdr_prom_format (user/lib/prom.c). The thread only reads maps through
 * their fds, which stay open for mdrd's lifetime.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <bpf/bpf.h>

#include "mdrd.h"
#include "log.h"
#include "prom.h"
#include "store.h"

/* Scrapers served at once: Prometheus uses one; a few for people with curl. */
#define METRICS_CONN_LIMIT 8
/* Seconds an idle scrape connection is kept. */
#define METRICS_CONN_TIMEOUT_S 10

static struct MHD_Daemon *mhd;
static char serving[MDRD_METRICS_ADDR_MAX]; /* address mhd listens on */

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

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mem)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mem);
	enum MHD_Result r;

	if (!resp) {
		if (mem == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

#define TEXT "text/plain; charset=utf-8"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **req_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "method not allowed\n";
	static char failed[] = "reading the maps failed (see mdrd's log)\n";
	struct mdr_buf b = { 0 };
	int r;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, not_allowed,
			     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, TEXT, not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT);
	r = metrics_render(&b);
	if (r) {
		mdr_log(MDR_LOG_ERR, "metrics: reading the maps: %s", strerror(-r));
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, failed,
			     sizeof(failed) - 1, MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len,
		     MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	mdr_log(MDR_LOG_WARN, "metrics: %s", line);
}

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only. 0 or -EINVAL. */
static int parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	char host[MDRD_METRICS_ADDR_MAX];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM },
			*ai;
	size_t hl;

	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');

		if (!e || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - spec - 1);
		memcpy(host, spec + 1, hl);
		port = e + 2;
	} else {
		const char *e = strrchr(spec, ':');

		if (!e || strchr(spec, ':') != e)
			return -EINVAL;
		hl = (size_t)(e - spec);
		memcpy(host, spec, hl);
		port = e + 1;
	}
	host[hl] = '\0';
	if (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
	    atoi(port) > 65535)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

int metrics_check_addr(const char *spec)
{
	struct sockaddr_storage ss;

	return strlen(spec) < MDRD_METRICS_ADDR_MAX ? parse_addr(spec, &ss) : -EINVAL;
}

void metrics_stop(void)
{
	if (!mhd)
		return;
	MHD_stop_daemon(mhd);
	mhd = NULL;
	mdr_log(MDR_LOG_INFO, "metrics: no longer serving %s", serving);
	serving[0] = '\0';
}

int metrics_apply(void)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!strcmp(serving, mdrd_opts.metrics) && (mhd || !serving[0]))
		return 0;
	metrics_stop();
	if (!mdrd_opts.metrics[0])
		return 0;
	if (parse_addr(mdrd_opts.metrics, &ss)) {
		mdr_log(MDR_LOG_ERR, "metrics: \"%s\" is not ADDR:PORT or [ADDR6]:PORT",
			mdrd_opts.metrics);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
			       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			       MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_LIMIT,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT_S,
			       MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!mhd) {
		mdr_log(MDR_LOG_ERR, "metrics: cannot listen on %s (address in use or not local?)",
			mdrd_opts.metrics);
		return -EADDRNOTAVAIL;
	}
	snprintf(serving, sizeof(serving), "%s", mdrd_opts.metrics);
	mdr_log(MDR_LOG_INFO, "metrics: serving http://%s/metrics", serving);
	return 0;
}
