/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrctl why PORT|MAC|UUID [-j] [-w MS]: is this guest served, and if not,
 * why? Walks the chain a guest's request travels, in order:
 *   interface   present, up, with carrier
 *   program     the XDP program attached (mode)
 *   binding     port / MAC(+VLAN) bound to the instance, or pending
 *   definition  the instance loaded (generation), known to XDP
 *   responder   a responder socket on each RX queue
 *   counters    deltas over a short window: spoofed, rate-limited, unknown,
 *               no socket, fallback, resets
 * prints each link with ✓ or ✗ (– when it could not be checked) and the fix
 * for the first broken one. Exit 0 when every link holds, 1 otherwise.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl.h"
#include "mac.h"
#include "defn.h"
#include "store.h"

/* Default counter window: long enough for a guest's retries to show. */
#define WHY_WINDOW_MS 1000
/* Longest window accepted (a diagnosis, not a monitor). */
#define WHY_WINDOW_MAX_MS 60000
/* Room for one link's detail or fix text. */
#define WHY_TEXT 320

enum link_id { L_IFACE, L_PROG, L_BIND, L_DEFN, L_RESP, L_CNT, L_COUNT };
static const char *const link_names[L_COUNT] = {
	"interface", "program", "binding", "definition", "responder", "counters",
};

struct link {
	int state; /* 1 holds, 0 broken, -1 not checked */
	char detail[WHY_TEXT];
	char fix[WHY_TEXT];
};

struct guest {
	const char *arg;
	const char *kind;            /* "port", "mac", "uuid" */
	uint32_t id;                 /* 0 = no instance found */
	struct mdr_instance rec;
	struct mdr_defn *d;          /* its definition, NULL if none */
	char ifname[IF_NAMESIZE];    /* "" = no particular port (MAC on any port) */
	uint32_t ifindex;            /* 0 = absent */
	int has_mac;
	uint8_t mac[6];
	uint16_t vlan;
	struct link l[L_COUNT];
};

__attribute__((format(printf, 3, 4))) static void set(struct link *l, int state, const char *fmt,
						      ...)
{
	va_list ap;

	l->state = state;
	va_start(ap, fmt);
	vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void fix(struct link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->fix, sizeof(l->fix), fmt, ap);
	va_end(ap);
}

static int load_instance(struct guest *g, uint32_t id)
{
	char err[256];

	if (mdr_store_get(&ctl_maps, NULL, id, 0, NULL, &g->rec, &g->d, err, sizeof(err)))
		return -1;
	g->id = id;
	return 0;
}

/* The instance whose definition satisfies match(d, ctx), if any. */
static void find_by_defn(struct guest *g, int (*match)(const struct mdr_defn *, const void *),
			 const void *ctx)
{
	static uint32_t ids[MDR_MAX_INSTANCES];
	int n = mdr_store_ids(&ctl_maps, ids, MDR_MAX_INSTANCES);

	for (int i = 0; i < n && i < MDR_MAX_INSTANCES && !g->id; i++) {
		struct mdr_defn *d = NULL;
		char err[256];

		if (mdr_store_get(&ctl_maps, NULL, ids[i], 0, NULL, NULL, &d, err, sizeof(err)))
			continue;
		if (match(d, ctx))
			load_instance(g, ids[i]);
		mdr_defn_free(d);
	}
}

static int defn_names_port(const struct mdr_defn *d, const void *name)
{
	for (size_t i = 0; i < d->n_bindings; i++)
		if (d->bindings[i].has_port && !strcmp(d->bindings[i].port, name))
			return 1;
	return 0;
}

static int defn_names_mac(const struct mdr_defn *d, const void *mac)
{
	for (size_t i = 0; i < d->n_bindings; i++)
		if (d->bindings[i].has_mac && !memcmp(d->bindings[i].mac, mac, 6))
			return 1;
	return 0;
}

/* The binding (NIC) of g's definition that this guest is: the one naming
 * its port, else its MAC, else the first; an empty one without any. */
static const struct mdr_defn_binding *gb(const struct guest *g)
{
	static const struct mdr_defn_binding none;

	if (!g->d || !g->d->n_bindings)
		return &none;
	for (size_t i = 0; i < g->d->n_bindings; i++)
		if (g->ifname[0] && g->d->bindings[i].has_port &&
		    !strcmp(g->d->bindings[i].port, g->ifname))
			return &g->d->bindings[i];
	for (size_t i = 0; i < g->d->n_bindings; i++)
		if (g->has_mac && g->d->bindings[i].has_mac &&
		    !memcmp(g->d->bindings[i].mac, g->mac, 6))
			return &g->d->bindings[i];
	return &g->d->bindings[0];
}

/* The guest's port, MAC and instance from what the user named. */
static void resolve(struct guest *g)
{
	char canon[MDR_UUID_SIZE];
	uint32_t id;

	if (mdr_mac_parse(g->arg, g->mac) == 0) {
		struct mdr_mac_key k, *pk = NULL;
		struct mdr_mac_binding b;

		g->kind = "mac";
		g->has_mac = 1;
		while (!g->id && !bpf_map_get_next_key(ctl_maps.macs, pk, &k)) {
			pk = &k;
			if (!memcmp(k.mac, g->mac, 6) && !bpf_map_lookup_elem(ctl_maps.macs, &k, &b)) {
				g->vlan = k.vlan;
				if (b.ifindex)
					if_indextoname(b.ifindex, g->ifname);
				load_instance(g, b.instance_id);
			}
		}
		if (!g->id)
			find_by_defn(g, defn_names_mac, g->mac);
	} else if (mdr_uuid_canonical(g->arg, canon) == 0) {
		g->kind = "uuid";
		if (mdr_store_lookup(&ctl_maps, canon, &id) == 0)
			load_instance(g, id);
	} else {
		struct mdr_port_binding pb;

		g->kind = "port";
		snprintf(g->ifname, sizeof(g->ifname), "%s", g->arg);
		g->ifindex = if_nametoindex(g->ifname);
		if (g->ifindex && !bpf_map_lookup_elem(ctl_maps.ports, &g->ifindex, &pb)) {
			load_instance(g, pb.instance_id);
			if (pb.flags & MDR_PORT_F_CHECK_MAC) {
				g->has_mac = 1;
				memcpy(g->mac, pb.mac, 6);
				g->vlan = pb.vlan;
			}
		}
		if (!g->id)
			find_by_defn(g, defn_names_port, g->ifname);
	}
	if (g->d && strcmp(g->kind, "port")) {
		const struct mdr_defn_binding *b = gb(g);

		if (b->has_port)
			snprintf(g->ifname, sizeof(g->ifname), "%s", b->port);
		if (b->has_mac && !g->has_mac) {
			g->has_mac = 1;
			memcpy(g->mac, b->mac, 6);
			g->vlan = b->vlan;
		}
	}
	if (g->ifname[0] && !g->ifindex)
		g->ifindex = if_nametoindex(g->ifname);
}

static void check_iface(struct guest *g)
{
	struct link *l = &g->l[L_IFACE];
	struct ifreq ifr;
	int fd, r;

	if (!g->ifname[0]) {
		if (!g->id) {
			set(l, -1, "no instance found for %s: its port is not known", g->arg);
			return;
		}
		set(l, 1, "MAC %s is bound on any port", g->arg);
		return;
	}
	if (!g->ifindex) {
		set(l, 0, "%s does not exist (in this network namespace)", g->ifname);
		fix(l, "create %s or start the guest's VM; mdrd binds the port when it appears", g->ifname);
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", g->ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -1 : ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (fd >= 0)
		close(fd);
	if (r) {
		set(l, -1, "%s (ifindex %u): flags unreadable: %s", g->ifname, g->ifindex,
		    strerror(errno));
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		set(l, 0, "%s (ifindex %u) is down", g->ifname, g->ifindex);
		fix(l, "ip link set %s up", g->ifname);
	} else if (!(ifr.ifr_flags & IFF_RUNNING)) {
		set(l, 0, "%s (ifindex %u) is up but has no carrier", g->ifname, g->ifindex);
		fix(l, "the guest's end of %s is not open: is its VM running?", g->ifname);
	} else {
		set(l, 1, "%s (ifindex %u) is up, carrier on", g->ifname, g->ifindex);
	}
}

static const char *mode_txt(uint32_t m)
{
	return m == MDR_IFACE_NATIVE ? "native" : m == MDR_IFACE_GENERIC ? "generic" : "unknown";
}

/* Attached interfaces for a MAC bound on any port: the first recorded. */
static int any_iface(uint32_t *ifindex, struct mdr_iface *v)
{
	uint32_t k;

	if (bpf_map_get_next_key(ctl_maps.ifaces, NULL, &k))
		return -1;
	*ifindex = k;
	return bpf_map_lookup_elem(ctl_maps.ifaces, &k, v);
}

static void check_prog(struct guest *g, struct mdr_iface *rec_out)
{
	struct link *l = &g->l[L_PROG];
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct mdr_iface v;
	uint32_t ifindex = g->ifindex;

	memset(rec_out, 0, sizeof(*rec_out));
	if (!g->ifname[0] && g->l[L_IFACE].state == 1) {
		if (any_iface(&ifindex, &v)) {
			set(l, 0, "the program is attached to no interface");
			fix(l, "start mdrd with --iface matching the guests' ports or bridge");
			return;
		}
	} else if (!ifindex) {
		set(l, -1, "no interface to check");
		return;
	} else if (bpf_map_lookup_elem(ctl_maps.ifaces, &ifindex, &v)) {
		set(l, 0, "mdrd has not attached the program to %s", g->ifname);
		fix(l, "give mdrd an --iface pattern matching %s (e.g. --iface 'tap*'), then "
		       "systemctl reload mdrd; its log says why an attach failed", g->ifname);
		return;
	}
	*rec_out = v;
	if (bpf_xdp_query((int)ifindex, 0, &q) == 0 && q.attach_mode == XDP_ATTACHED_NONE) {
		set(l, 0, "mdrd recorded %.*s as attached (%s), but no XDP program is on it",
		    MDR_IFNAME_SIZE, v.name, mode_txt(v.mode));
		fix(l, "something detached it: restart mdrd (systemctl restart mdrd) to attach again");
		return;
	}
	set(l, 1, "attached to %.*s in %s mode, %u RX queue(s)", MDR_IFNAME_SIZE, v.name,
	    mode_txt(v.mode), v.num_rx_queues);
}

static void check_port_binding(struct guest *g, struct link *l)
{
	struct mdr_port_binding pb;
	char m[MDR_MAC_STRLEN];

	if (!g->ifindex || bpf_map_lookup_elem(ctl_maps.ports, &g->ifindex, &pb)) {
		if (g->id && g->d && gb(g)->has_port) {
			set(l, 0, "pending: %s's definition names port %s, which is not bound",
			    g->rec.uuid, g->ifname);
			if (g->ifindex)
				fix(l, "mdrctl bind %s --port %s (or systemctl reload mdrd)",
				    g->rec.uuid, g->ifname);
			else
				fix(l, "the binding waits for port %s to appear", g->ifname);
		} else {
			set(l, 0, "no instance is bound to port %s", g->ifname);
			fix(l, "load a definition with \"binding\": {\"port\": \"%s\"} or "
			       "mdrctl bind UUID --port %s", g->ifname, g->ifname);
		}
		return;
	}
	if (g->id && pb.instance_id != g->id) {
		set(l, 0, "port %s is bound to instance id %u, not to %s", g->ifname,
		    pb.instance_id, g->rec.uuid);
		fix(l, "mdrctl bind %s --port %s --force", g->rec.uuid, g->ifname);
		return;
	}
	if (pb.flags & MDR_PORT_F_CHECK_MAC)
		set(l, 1, "port %s -> instance %s, frames must come from %s VLAN %u", g->ifname,
		    g->rec.uuid, mdr_mac_fmt(pb.mac, m), pb.vlan);
	else
		set(l, 1, "port %s -> instance %s (pinned)", g->ifname, g->rec.uuid);
}

static void check_mac_binding(struct guest *g, struct link *l)
{
	struct mdr_mac_key k = { .vlan = g->vlan };
	struct mdr_mac_binding b;
	char m[MDR_MAC_STRLEN], port[IF_NAMESIZE] = "any port";

	memcpy(k.mac, g->mac, 6);
	if (bpf_map_lookup_elem(ctl_maps.macs, &k, &b)) {
		set(l, 0, "%s MAC %s VLAN %u is not bound", g->id ? "pending:" : "", mdr_mac_fmt(g->mac, m),
		    g->vlan);
		fix(l, "mdrctl bind %s --mac %s --vlan %u", g->id ? g->rec.uuid : "UUID", m, g->vlan);
		return;
	}
	if (g->id && b.instance_id != g->id) {
		set(l, 0, "MAC %s VLAN %u is bound to instance id %u, not to %s", mdr_mac_fmt(g->mac, m),
		    g->vlan, b.instance_id, g->rec.uuid);
		fix(l, "mdrctl bind %s --mac %s --vlan %u --force", g->rec.uuid, m, g->vlan);
		return;
	}
	if (b.ifindex)
		if_indextoname(b.ifindex, port);
	set(l, 1, "MAC %s VLAN %u -> instance %s on %s", mdr_mac_fmt(g->mac, m), g->vlan,
	    g->rec.uuid, port);
}

static void check_binding(struct guest *g)
{
	struct link *l = &g->l[L_BIND];
	int by_port = !strcmp(g->kind, "port") || (g->d && gb(g)->has_port);

	if (!g->id && !strcmp(g->kind, "uuid")) {
		set(l, -1, "no instance %s", g->arg);
		return;
	}
	if (by_port)
		check_port_binding(g, l);
	if ((!by_port || l->state == 1) && g->has_mac && (!g->d || gb(g)->has_mac) &&
	    !(by_port && g->d && gb(g)->has_port)) {
		struct link m = { 0 };

		check_mac_binding(g, &m);
		*l = m;
	}
}

static void check_defn(struct guest *g)
{
	struct link *l = &g->l[L_DEFN];
	struct mdr_limits lim;

	if (!g->id) {
		set(l, 0, "no instance %s is loaded", !strcmp(g->kind, "uuid") ? g->arg : "for it");
		fix(l, "mdrctl instance load FILE.json, or put the definition in mdrd's --instances "
		       "directory");
		return;
	}
	if (bpf_map_lookup_elem(ctl_maps.limits, &g->id, &lim)) {
		set(l, 0, "%s is stored but unknown to XDP (no %s entry)", g->rec.uuid,
		    MDR_MAP_NAME(limits));
		fix(l, "load the definition again: mdrctl instance load FILE.json");
		return;
	}
	set(l, 1, "%s loaded, generation %u, %u-byte document, updated %llds ago", g->rec.uuid,
	    g->rec.gen, g->rec.doc_len,
	    (long long)(time(NULL) - (time_t)(g->rec.updated_ns / 1000000000ull)));
}

static void check_resp(struct guest *g, const struct mdr_iface *v)
{
	struct link *l = &g->l[L_RESP];
	uint32_t ifindex = g->ifindex, missing = 0;
	char qs[WHY_TEXT / 2] = "";
	struct mdr_iface any;

	if (g->l[L_PROG].state != 1) {
		set(l, -1, "no program attached: no socket can be registered");
		return;
	}
	if (!g->ifname[0] && any_iface(&ifindex, &any) == 0)
		v = &any;
	for (uint32_t q = 0; q < v->num_rx_queues; q++) {
		struct mdr_xsk_key k = { .ifindex = ifindex, .queue = q };
		uint32_t slot;
		size_t n = strlen(qs);

		if (bpf_map_lookup_elem(ctl_maps.xsk_slot, &k, &slot) == 0)
			continue;
		missing++;
		if (n + 12 < sizeof(qs))
			snprintf(qs + n, sizeof(qs) - n, "%s%u", n ? "," : "", q);
	}
	if (missing) {
		set(l, 0, "%.*s: %u of %u RX queue(s) without a responder socket (queue %s)",
		    MDR_IFNAME_SIZE, v->name, missing, v->num_rx_queues, qs);
		fix(l, "start mdr-responder (systemctl start mdr-responder); its log names any "
		       "socket it could not open");
		return;
	}
	set(l, 1, "a responder socket on each of the %u RX queue(s) of %.*s", v->num_rx_queues,
	    MDR_IFNAME_SIZE, v->name);
}

struct sample {
	struct mdr_xdp_counters g, i;
	struct mdr_resp_counters r;
};

static void sample(const struct guest *g, struct sample *s)
{
	uint32_t zero = 0;

	memset(s, 0, sizeof(*s));
	mdr_xdp_counters_read(ctl_maps.stats, &zero, &s->g);
	if (g->id) {
		mdr_xdp_counters_read(ctl_maps.istats, &g->id, &s->i);
		bpf_map_lookup_elem(ctl_maps.rstats, &g->id, &s->r);
	}
}

struct deltas {
	unsigned long long spoofed, rate_limited, unknown, no_xsk, fallback, resets, redirected,
		requests;
};

static void check_counters(struct guest *g, unsigned window_ms, struct deltas *d)
{
	struct link *l = &g->l[L_CNT];
	struct sample a, b;
	struct timespec ts = { window_ms / 1000, (long)(window_ms % 1000) * 1000000L };
	char m[MDR_MAC_STRLEN];

	memset(d, 0, sizeof(*d));
	if (!window_ms) {
		set(l, -1, "not sampled (window 0)");
		return;
	}
	sample(g, &a);
	nanosleep(&ts, NULL);
	sample(g, &b);
	d->spoofed = b.i.spoofed - a.i.spoofed;
	d->rate_limited = b.i.rate_limited - a.i.rate_limited;
	d->no_xsk = b.i.no_xsk - a.i.no_xsk;
	d->fallback = (b.i.fallback_pass + b.i.fallback_drop) - (a.i.fallback_pass + a.i.fallback_drop);
	d->unknown = b.g.unknown - a.g.unknown; /* no instance: only counted globally */
	d->resets = b.r.resets_sent - a.r.resets_sent;
	d->redirected = b.i.redirected - a.i.redirected;
	d->requests = b.r.requests - a.r.requests;
	set(l, 1, "over %u ms: spoofed %llu, rate-limited %llu, unknown (all guests) %llu, "
		  "no socket %llu, fallback %llu, resets %llu; redirected %llu, requests %llu",
	    window_ms, d->spoofed, d->rate_limited, d->unknown, d->no_xsk, d->fallback, d->resets,
	    d->redirected, d->requests);
	if (d->spoofed) {
		l->state = 0;
		if (g->has_mac)
			fix(l, "frames arrive from another MAC or VLAN than the binding's (%s VLAN %u): "
			       "correct the binding (mdrctl bind %s ... --force)",
			    mdr_mac_fmt(g->mac, m), g->vlan, g->id ? g->rec.uuid : "UUID");
		else
			fix(l, "frames arrive from another MAC or VLAN than the port binding's: "
			       "correct it (mdrctl bind %s --port %s --mac MAC --force)",
			    g->id ? g->rec.uuid : "UUID", g->ifname);
	} else if (d->rate_limited) {
		l->state = 0;
		fix(l, "the guest exceeds its rate limit: raise imds.rate_pps / imds.burst in its "
		       "definition, or mdrctl config --rate N --burst N");
	} else if (d->no_xsk || d->fallback) {
		l->state = 0;
		fix(l, "frames found no responder socket: start or restart mdr-responder");
	} else if (!g->id && d->unknown) {
		l->state = 0;
		fix(l, "frames from guests without an instance: bind this guest to its instance");
	}
}

static json_t *link_json(enum link_id i, const struct link *l)
{
	json_t *o = json_pack("{s:s, s:s}", "link", link_names[i], "detail", l->detail);

	json_object_set_new(o, "ok", l->state < 0 ? json_null() : json_boolean(l->state));
	if (l->state == 0 && l->fix[0])
		json_object_set_new(o, "fix", json_string(l->fix));
	return o;
}

static int report(const struct guest *g, int json, unsigned window_ms, const struct deltas *d)
{
	int first = -1;

	for (int i = 0; i < L_COUNT && first < 0; i++)
		if (g->l[i].state == 0)
			first = i;
	if (json) {
		json_t *links = json_array();

		for (int i = 0; i < L_COUNT; i++)
			json_array_append_new(links, link_json((enum link_id)i, &g->l[i]));
		json_t *o = json_pack(
			"{s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			"target", g->arg, "kind", g->kind, "instance",
			g->id ? json_string(g->rec.uuid) : json_null(), "port",
			g->ifname[0] ? json_string(g->ifname) : json_null(), "served", first < 0,
			"first_broken", first < 0 ? json_null() : json_string(link_names[first]),
			"links", links, "window_ms", (json_int_t)window_ms, "deltas", "spoofed",
			(json_int_t)d->spoofed, "rate_limited", (json_int_t)d->rate_limited, "unknown",
			(json_int_t)d->unknown, "no_xsk", (json_int_t)d->no_xsk, "fallback",
			(json_int_t)d->fallback, "resets", (json_int_t)d->resets, "redirected",
			(json_int_t)d->redirected, "requests", (json_int_t)d->requests);
		ctl_print_json(o);
		return first < 0 ? CTL_OK : CTL_FAIL;
	}
	printf("why %s (%s): instance %s, port %s\n", g->arg, g->kind,
	       g->id ? g->rec.uuid : "(none)", g->ifname[0] ? g->ifname : "(any)");
	for (int i = 0; i < L_COUNT; i++)
		printf("%s %-10s  %s\n", g->l[i].state < 0 ? "–" : g->l[i].state ? "✓" : "✗",
		       link_names[i], g->l[i].detail);
	if (first < 0)
		printf("served: every link holds\n");
	else
		printf("first broken link: %s\nfix: %s\n", link_names[first],
		       g->l[first].fix[0] ? g->l[first].fix : "(see above)");
	return first < 0 ? CTL_OK : CTL_FAIL;
}

int cmd_why(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	unsigned window_ms = WHY_WINDOW_MS;
	static struct guest g;
	struct mdr_iface v;
	struct deltas d;
	int r;

	if (argc == 4 && !strcmp(argv[2], "-w")) {
		char *end;
		unsigned long w = strtoul(argv[3], &end, 10);

		if (*end || !argv[3][0] || w > WHY_WINDOW_MAX_MS)
			return ctl_usage("why: -w takes milliseconds, 0..%d", WHY_WINDOW_MAX_MS);
		window_ms = (unsigned)w;
		argc = 2;
	}
	if (argc != 2)
		return ctl_usage("usage: why PORT|MAC|UUID [-j] [-w MS]");
	if (ctl_open())
		return CTL_FAIL;
	memset(&g, 0, sizeof(g));
	g.arg = argv[1];
	resolve(&g);
	check_iface(&g);
	check_prog(&g, &v);
	check_binding(&g);
	check_defn(&g);
	check_resp(&g, &v);
	check_counters(&g, window_ms, &d);
	r = report(&g, json, window_ms, &d);
	mdr_defn_free(g.d);
	return r;
}
