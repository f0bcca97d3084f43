/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdrctl stats, status, config, token-key. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl.h"
#include "mac.h"
#include "settings.h"
#include "kfeat.h"
#include "store.h"

struct counter_field {
	const char *name;
	size_t off;
};

#define XF(f) { #f, offsetof(struct mdr_xdp_counters, f) }
static const struct counter_field xdp_fields[] = {
	XF(passed), XF(matched), XF(redirected), XF(fallback_pass), XF(fallback_drop),
	XF(no_xsk), XF(arp_replied), XF(nd_replied), XF(unknown), XF(spoofed),
	XF(rate_limited), XF(malformed), XF(fragment), XF(synack_sent), XF(handshake_acks),
};
#define RF(f) { #f, offsetof(struct mdr_resp_counters, f) }
static const struct counter_field resp_fields[] = {
	RF(requests), RF(status_200), RF(status_400), RF(status_401), RF(status_403),
	RF(status_404), RF(status_405), RF(status_409), RF(status_413), RF(status_414),
	RF(status_429), RF(status_431), RF(status_5xx), RF(conns_opened), RF(conns_closed),
	RF(conns_refused), RF(resets_sent), RF(retransmits), RF(tokens_issued), RF(bytes_sent),
	RF(frames_sent), RF(frames_deferred), RF(cookies_ok), RF(cookies_bad), RF(requests_deferred),
};
#define N_XDP (sizeof(xdp_fields) / sizeof(xdp_fields[0]))
#define N_RESP (sizeof(resp_fields) / sizeof(resp_fields[0]))
_Static_assert(N_XDP * 8 == sizeof(struct mdr_xdp_counters), "every XDP counter named");
_Static_assert(N_RESP * 8 == sizeof(struct mdr_resp_counters), "every responder counter named");

static json_t *counters_json(const void *c, const struct counter_field *f, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, f[i].name,
				    json_integer((json_int_t) * (const __u64 *)((const char *)c + f[i].off)));
	return o;
}

static void counters_text(const char *title, const void *c, const struct counter_field *f,
			  size_t n)
{
	printf("%s:\n", title);
	for (size_t i = 0; i < n; i++)
		printf("  %-16s %llu\n", f[i].name,
		       (unsigned long long)*(const __u64 *)((const char *)c + f[i].off));
}

static void add_resp(struct mdr_resp_counters *sum, const struct mdr_resp_counters *v)
{
	for (size_t f = 0; f < N_RESP; f++)
		*(__u64 *)((char *)sum + resp_fields[f].off) +=
			*(const __u64 *)((const char *)v + resp_fields[f].off);
}

int cmd_stats(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	struct mdr_xdp_counters x;
	struct mdr_resp_counters rs, one;
	__u32 key = 0, next, *prev = NULL, id;
	char err[256];
	int r;

	if (argc > 2)
		return ctl_usage("usage: stats [-j] [UUID]");
	if (ctl_open())
		return CTL_FAIL;
	memset(&rs, 0, sizeof(rs));
	if (argc == 2) {
		struct mdr_instance rec;

		if (mdr_store_get(&ctl_maps, argv[1], 0, 0, &id, &rec, NULL, err, sizeof(err)))
			return ctl_fail("%s", err);
		/* Absent entries: nothing counted yet. */
		if ((r = mdr_xdp_counters_read(ctl_maps.istats, &id, &x)) && r != -ENOENT)
			return ctl_fail("reading %s: %s", MDR_MAP_NAME(istats), strerror(-r));
		bpf_map_lookup_elem(ctl_maps.rstats, &id, &rs);
		if (json)
			return ctl_print_json(json_pack("{s:s, s:I, s:o, s:o}", "uuid", rec.uuid,
							"id", (json_int_t)id, "xdp",
							counters_json(&x, xdp_fields, N_XDP),
							"responder",
							counters_json(&rs, resp_fields, N_RESP)));
		printf("instance %s (id %u)\n", rec.uuid, id);
		counters_text("xdp", &x, xdp_fields, N_XDP);
		counters_text("responder", &rs, resp_fields, N_RESP);
		return CTL_OK;
	}
	if ((r = mdr_xdp_counters_read(ctl_maps.stats, &key, &x)))
		return ctl_fail("reading %s: %s", MDR_MAP_NAME(stats), strerror(-r));
	/* Responder totals: the sum over instances (key 0 = no instance). */
	while (bpf_map_get_next_key(ctl_maps.rstats, prev, &next) == 0) {
		if (bpf_map_lookup_elem(ctl_maps.rstats, &next, &one) == 0)
			add_resp(&rs, &one);
		key = next;
		prev = &key;
	}
	if (json)
		return ctl_print_json(json_pack("{s:o, s:o}", "xdp",
						counters_json(&x, xdp_fields, N_XDP), "responder",
						counters_json(&rs, resp_fields, N_RESP)));
	counters_text("xdp", &x, xdp_fields, N_XDP);
	counters_text("responder", &rs, resp_fields, N_RESP);
	return CTL_OK;
}

json_t *ctl_config_json(const struct mdr_config *c)
{
	json_t *eps = json_array();
	char buf[64];

	for (__u32 i = 0; i < c->n_endpoints && i < MDR_MAX_ENDPOINTS; i++) {
		mdr_endpoint_format(&c->ep[i], buf, sizeof(buf));
		json_array_append_new(eps, json_string(buf));
	}
	mdr_mac_fmt(c->meta_mac, buf);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:o}", "meta_mac", buf,
			 "policy_unknown", mdr_policy_name(c->unknown_policy), "policy_no_xsk",
			 mdr_policy_name(c->no_xsk_policy), "default_rate_pps",
			 (json_int_t)c->default_rate_pps, "default_burst",
			 (json_int_t)c->default_burst, "arp", !(c->flags & MDR_CFG_F_NO_ARP),
			 "xdp_synack", !(c->flags & MDR_CFG_F_NO_XDP_SYNACK), "endpoints", eps);
}

static void config_text(const struct mdr_config *c)
{
	char buf[64];

	printf("config:\n  meta-mac        %s\n", mdr_mac_fmt(c->meta_mac, buf));
	printf("  policy-unknown  %s\n  policy-no-xsk   %s\n",
	       mdr_policy_name(c->unknown_policy), mdr_policy_name(c->no_xsk_policy));
	printf("  rate            %u\n  burst           %u\n  arp             %s\n",
	       c->default_rate_pps, c->default_burst, c->flags & MDR_CFG_F_NO_ARP ? "off" : "on");
	printf("  xdp-synack      %s\n", c->flags & MDR_CFG_F_NO_XDP_SYNACK ? "off" : "on");
	for (__u32 i = 0; i < c->n_endpoints && i < MDR_MAX_ENDPOINTS; i++) {
		mdr_endpoint_format(&c->ep[i], buf, sizeof(buf));
		printf("  endpoint        %s\n", buf);
	}
}

/* Who answers the TCP handshake: XDP (cookie SYN-ACKs) once a responder
 * published its key and unless the config turned it off. */
static const char *handshake_name(const struct mdr_config *c)
{
	struct mdr_syncookie sc;
	__u32 zero = 0;

	if (c->flags & MDR_CFG_F_NO_XDP_SYNACK)
		return "responder (xdp-synack off)";
	if (bpf_map_lookup_elem(ctl_maps.syncookie, &zero, &sc) || sc.key_set != 1)
		return "responder (no responder has published a cookie key)";
	return "xdp (SYN cookie SYN-ACKs, XDP_TX)";
}

static const char *mode_name(__u32 mode)
{
	return mode == MDR_IFACE_NATIVE ? "native" : mode == MDR_IFACE_GENERIC ? "generic" : "?";
}

struct slot_row {
	struct mdr_xsk_key k;
	__u32 slot;
};

static int cmp_slot(const void *a, const void *b)
{
	const struct slot_row *x = a, *y = b;

	if (x->k.ifindex != y->k.ifindex)
		return x->k.ifindex < y->k.ifindex ? -1 : 1;
	return x->k.queue < y->k.queue ? -1 : x->k.queue > y->k.queue;
}

struct iface_row {
	__u32 ifindex;
	struct mdr_iface v;
};

static int cmp_iface(const void *a, const void *b)
{
	const struct iface_row *x = a, *y = b;

	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

/* Is ifname a bridge device (driver "bridge"), in this network namespace? */
static int is_bridge(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", MDR_IFNAME_SIZE - 1, ifname);
	ifr.ifr_data = (void *)&di;
	r = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	return r == 0 && !strcmp(di.driver, "bridge");
}

/*
 * Issue 12 hole 3: with XDP on a bridge device, every frame's ingress is
 * the bridge, so XDP cannot pin a MAC binding to the guest's port. mdrd
 * enforces it with per-port nftables rules for bindings that name their
 * port (mdrd/portsec.c); any MAC trusted on the bridge without such a rule
 * can be claimed by a neighbour. One line per bridge: a warning when any
 * MAC is unenforced, else what is enforced; returns the warnings as a JSON
 * array, and the enforced bridges in *ps (when not NULL).
 */
static json_t *bridge_warnings(const struct iface_row *ifs, size_t ni, int print, json_t **ps)
{
	json_t *w = json_array();
	char msg[384];

	if (ps)
		*ps = json_array();
	for (size_t i = 0; i < ni; i++) {
		char name[MDR_IFNAME_SIZE + 1];
		int n, on, have;
		long long dropped;

		snprintf(name, sizeof(name), "%.*s", MDR_IFNAME_SIZE, ifs[i].v.name);
		if (!is_bridge(name))
			continue;
		have = ctl_portsec_bridge(ifs[i].ifindex, &n, &on, &dropped);
		if (!n)
			continue;
		if (ps)
			json_array_append_new(*ps, json_pack("{s:s, s:i, s:i, s:b, s:I}", "port", name,
							     "mac_bindings", n, "enforced", on,
							     "table", have, "dropped",
							     (json_int_t)dropped));
		if (on == n) {
			if (print)
				printf("port security: port %s: source-MAC anti-spoofing enforced per "
				       "bridge port for %d MAC binding(s), %lld forged frame(s) "
				       "dropped\n", name, n, dropped);
			continue;
		}
		snprintf(msg, sizeof(msg),
			 "port %s: XDP on a bridge device cannot see a frame's bridge port; %d MAC "
			 "binding(s) are trusted on it without per-port source-MAC anti-spoofing "
			 "(%s): a guest can claim a neighbour's MAC (docs/security.md)", name,
			 n - on, have ? "their bindings name no bridge port" :
			 "mdrd's nftables rules are absent");
		json_array_append_new(w, json_string(msg));
		if (print)
			printf("warning: %s\n", msg);
	}
	return w;
}

int cmd_status(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	json_t *ps = NULL;
	static struct slot_row slots[MDR_MAX_XSKS];
	static struct iface_row ifs[MDR_MAX_IFACES];
	static uint32_t ids[MDR_MAX_INSTANCES];
	struct mdr_token_keys tk = { 0 };
	struct mdr_config cfg;
	struct mdr_xsk_key xk, *xprev = NULL, xnext;
	__u32 k, next, *prev = NULL, zero = 0;
	size_t ns = 0, ni = 0;
	char prog[MDR_PIN_DIR_MAX + 32];
	int n_inst, prog_pinned;

	if (argc != 1)
		return ctl_usage("usage: status [-j]");
	if (ctl_open())
		return CTL_FAIL;
	while (ni < MDR_MAX_IFACES && bpf_map_get_next_key(ctl_maps.ifaces, prev, &next) == 0) {
		if (bpf_map_lookup_elem(ctl_maps.ifaces, &next, &ifs[ni].v) == 0)
			ifs[ni++].ifindex = next;
		k = next;
		prev = &k;
	}
	while (ns < MDR_MAX_XSKS && bpf_map_get_next_key(ctl_maps.xsk_slot, xprev, &xnext) == 0) {
		if (bpf_map_lookup_elem(ctl_maps.xsk_slot, &xnext, &slots[ns].slot) == 0)
			slots[ns++].k = xnext;
		xk = xnext;
		xprev = &xk;
	}
	qsort(ifs, ni, sizeof(ifs[0]), cmp_iface);
	qsort(slots, ns, sizeof(slots[0]), cmp_slot);
	if (mdr_config_read(&ctl_maps, &cfg))
		memset(&cfg, 0, sizeof(cfg));
	bpf_map_lookup_elem(ctl_maps.tokkey, &zero, &tk);
	n_inst = mdr_store_ids(&ctl_maps, ids, MDR_MAX_INSTANCES);
	snprintf(prog, sizeof(prog), "%s/%s", ctl_pin_dir, MDR_PROG_PIN_NAME);
	prog_pinned = access(prog, F_OK) == 0;

	if (json) {
		json_t *ia = json_array(), *sa = json_array();

		for (size_t i = 0; i < ni; i++) {
			json_t *q = json_array();

			for (size_t s = 0; s < ns; s++)
				if (slots[s].k.ifindex == ifs[i].ifindex)
					json_array_append_new(q, json_integer(slots[s].k.queue));
			json_array_append_new(
				ia, json_pack("{s:I, s:s#, s:s, s:I, s:I, s:o}", "ifindex",
					      (json_int_t)ifs[i].ifindex, "name", ifs[i].v.name,
					      strnlen(ifs[i].v.name, MDR_IFNAME_SIZE), "mode",
					      mode_name(ifs[i].v.mode), "rx_queues",
					      (json_int_t)ifs[i].v.num_rx_queues, "attached_ns",
					      (json_int_t)ifs[i].v.attached_ns, "xsk_queues", q));
		}
		for (size_t s = 0; s < ns; s++)
			json_array_append_new(sa, json_pack("{s:I, s:I, s:I}", "ifindex",
							    (json_int_t)slots[s].k.ifindex, "queue",
							    (json_int_t)slots[s].k.queue, "slot",
							    (json_int_t)slots[s].slot));
		json_t *warn = bridge_warnings(ifs, ni, 0, &ps);

		return ctl_print_json(json_pack(
			"{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:i, s:{s:I, s:I}, s:o, s:o}", "data_path",
			CTL_DATA_PATH_ID, "handshake", handshake_name(&cfg), "pin_dir", ctl_pin_dir,
			"program_pinned", prog_pinned, "interfaces", ia, "xsk_slots", sa, "config",
			ctl_config_json(&cfg), "instances", n_inst < 0 ? 0 : n_inst, "token_key",
			"current_id", (json_int_t)tk.cur_id, "previous_id", (json_int_t)tk.prev_id,
			"warnings", warn, "port_security", ps));
	}
	printf("data path: %s\n", CTL_DATA_PATH);
	printf("handshake: %s\n", handshake_name(&cfg));
	printf("pin dir %s, program %s, %d instance(s), token key id %u\n", ctl_pin_dir,
	       prog_pinned ? "pinned" : "not pinned", n_inst < 0 ? 0 : n_inst, tk.cur_id);
	printf("interfaces:\n");
	if (!ni)
		printf("  (none)\n");
	for (size_t i = 0; i < ni; i++) {
		int nq = 0;

		for (size_t s = 0; s < ns; s++)
			nq += slots[s].k.ifindex == ifs[i].ifindex;
		printf("  %-15.*s ifindex %-5u %-7s rx queues %-3u responder sockets %d\n",
		       MDR_IFNAME_SIZE, ifs[i].v.name, ifs[i].ifindex, mode_name(ifs[i].v.mode),
		       ifs[i].v.num_rx_queues, nq);
	}
	config_text(&cfg);
	json_decref(bridge_warnings(ifs, ni, 1, NULL));
	return CTL_OK;
}

int cmd_features(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	struct mdr_feature f[MDR_FEATURES_MAX];
	json_t *a;
	size_t n;

	if (argc != 1)
		return ctl_usage("usage: features [-j]");
	n = mdr_features_probe(f, 0);
	if (!json) {
		mdr_features_print(stdout, f, n);
		return mdr_features_first_missing(f, n) ? CTL_FAIL : CTL_OK;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:s}", "name", f[i].name,
						   "provides", f[i].provides, "required",
						   f[i].required, "status",
						   mdr_feat_status_name(f[i].status), "detail",
						   f[i].detail));
	json_t *doc = json_pack("{s:s, s:b, s:o}", "data_path", CTL_DATA_PATH_ID, "usable",
				!mdr_features_first_missing(f, n), "features", a);
	return ctl_print_json(doc);
}

int cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		MDR_SETTING_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int json = ctl_take_flag(&argc, argv, "-j");
	struct mdr_config_edit e;
	struct mdr_config cfg;
	char err[256];
	int c, idx, r;

	memset(&e, 0, sizeof(e));
	optind = 0; /* full re-initialisation of GNU getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c != 0)
			return ctl_usage("config: unknown option");
		if (mdr_config_edit_set(&e, opts[idx].name, optarg, err, sizeof(err)))
			return ctl_fail("config: %s", err);
	}
	if (optind != argc)
		return ctl_usage("config: unexpected argument \"%s\"", argv[optind]);
	if (ctl_open())
		return CTL_FAIL;
	if ((r = mdr_maps_lock(&ctl_maps)))
		return ctl_fail("locking %s: %s", ctl_pin_dir, strerror(-r));
	r = mdr_config_read(&ctl_maps, &cfg);
	if (!r && !mdr_config_edit_empty(&e)) {
		mdr_config_edit_apply(&e, &cfg);
		r = mdr_config_write(&ctl_maps, &cfg);
	}
	mdr_maps_unlock(&ctl_maps);
	if (r)
		return ctl_fail("%s: %s", MDR_MAP_NAME(config), strerror(-r));
	if (json)
		return ctl_print_json(ctl_config_json(&cfg));
	config_text(&cfg);
	return CTL_OK;
}

int cmd_token_key(int argc, char **argv)
{
	struct mdr_token_keys tk = { 0 }, nk;
	__u32 zero = 0;
	int r;

	if (argc != 2 || strcmp(argv[1], "rotate"))
		return ctl_usage("usage: token-key rotate");
	if (ctl_open())
		return CTL_FAIL;
	if ((r = mdr_maps_lock(&ctl_maps)))
		return ctl_fail("locking %s: %s", ctl_pin_dir, strerror(-r));
	if (bpf_map_lookup_elem(ctl_maps.tokkey, &zero, &tk))
		memset(&tk, 0, sizeof(tk));
	memset(&nk, 0, sizeof(nk));
	if (getrandom(nk.cur, sizeof(nk.cur), 0) != sizeof(nk.cur)) {
		mdr_maps_unlock(&ctl_maps);
		return ctl_fail("getrandom: %s", strerror(errno));
	}
	/* Tokens carry the key id: the previous key keeps validating the
	 * tokens it signed until they expire (or the next rotation). */
	nk.cur_id = tk.cur_id + 1 ? tk.cur_id + 1 : 1;
	nk.prev_id = tk.cur_id;
	memcpy(nk.prev, tk.cur, sizeof(nk.prev));
	r = bpf_map_update_elem(ctl_maps.tokkey, &zero, &nk, BPF_ANY) ? -errno : 0;
	mdr_maps_unlock(&ctl_maps);
	if (r)
		return ctl_fail("writing %s: %s", MDR_MAP_NAME(tokkey), strerror(-r));
	printf("token key rotated: current id %u, previous id %u\n", nk.cur_id, nk.prev_id);
	return CTL_OK;
}
