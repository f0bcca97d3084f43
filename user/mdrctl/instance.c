/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrctl instance load|del|list|show, bind, unbind, get, put, rm: the
 * commands on instances. Every change is validated before the first map
 * write: on invalid input one line names the problem and nothing changes.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "clock.h"
#include "ctl.h"
#include "mac.h"
#include "defn.h"
#include "http.h"
#include "render.h"
#include "store.h"

static const char *tokens_name(unsigned t)
{
	return t == MDR_TOKENS_REQUIRED ? "required" : "optional";
}

/* ---- instance ---------------------------------------------------------- */

static int instance_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allow-missing-port", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	char err[MDR_DEFN_ERR_SIZE + 64], *text;
	struct mdr_store_result res;
	struct mdr_defn *d = NULL;
	unsigned flags = 0;
	size_t len;
	int c, r;

	optind = 0; /* full re-initialisation of GNU getopt for a new argv */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'a')
			return ctl_usage("instance load: unknown option");
		flags |= MDR_STORE_F_DEFER_PORT;
	}
	if (optind != argc - 1)
		return ctl_usage("usage: instance load [--allow-missing-port] FILE.json|-");
	if (ctl_read_input(argv[optind], &text, &len))
		return CTL_FAIL;
	r = mdr_defn_parse(text, len, &d, err, sizeof(err));
	free(text);
	if (r)
		return ctl_fail("%s: invalid definition: %s", argv[optind], err);
	if (ctl_sign(d, argv[optind])) {
		mdr_defn_free(d);
		return CTL_FAIL;
	}
	if (ctl_open()) {
		mdr_defn_free(d);
		return CTL_FAIL;
	}
	r = mdr_store_put(&ctl_maps, d, flags, &res, err, sizeof(err));
	if (r) {
		mdr_defn_free(d);
		return ctl_fail("%s: %s", argv[optind], err);
	}
	printf("instance %s %s (id %u, generation %u)\n", d->uuid,
	       res.created ? "created" : "replaced", res.id, res.gen);
	for (size_t i = 0; res.port_pending && i < d->n_bindings; i++)
		if (d->bindings[i].has_port && !if_nametoindex(d->bindings[i].port))
			printf("instance %s port %s: no such interface yet, binding deferred\n",
			       d->uuid, d->bindings[i].port);
	mdr_defn_free(d);
	return CTL_OK;
}

static int instance_del(int argc, char **argv)
{
	char err[256];

	if (argc != 2)
		return ctl_usage("usage: instance del UUID");
	if (ctl_open())
		return CTL_FAIL;
	if (mdr_store_delete(&ctl_maps, argv[1], err, sizeof(err)))
		return ctl_fail("%s", err);
	printf("instance %s deleted\n", argv[1]);
	return CTL_OK;
}

/* Every port and MAC binding, read once for listing. */
struct binding_table {
	size_t n_ports, n_macs;
	__u32 port_key[MDR_MAX_PORTS];
	struct mdr_port_binding port[MDR_MAX_PORTS];
	struct mdr_mac_key mac_key[MDR_MAX_MACS];
	struct mdr_mac_binding mac[MDR_MAX_MACS];
};

static void load_bindings(struct binding_table *t)
{
	__u32 k, nk;
	struct mdr_mac_key mk, nmk;
	void *prev = NULL;

	t->n_ports = t->n_macs = 0;
	while (t->n_ports < MDR_MAX_PORTS && !bpf_map_get_next_key(ctl_maps.ports, prev, &nk)) {
		if (!bpf_map_lookup_elem(ctl_maps.ports, &nk, &t->port[t->n_ports]))
			t->port_key[t->n_ports++] = nk;
		k = nk;
		prev = &k;
	}
	prev = NULL;
	while (t->n_macs < MDR_MAX_MACS && !bpf_map_get_next_key(ctl_maps.macs, prev, &nmk)) {
		if (!bpf_map_lookup_elem(ctl_maps.macs, &nmk, &t->mac[t->n_macs]))
			t->mac_key[t->n_macs++] = nmk;
		mk = nmk;
		prev = &mk;
	}
}

static json_t *bindings_json(const struct binding_table *t, uint32_t id)
{
	json_t *ports = json_array(), *macs = json_array();
	char name[IF_NAMESIZE], mac[MDR_MAC_STRLEN];

	for (size_t i = 0; i < t->n_ports; i++) {
		const struct mdr_port_binding *pb = &t->port[i];
		json_t *o;

		if (pb->instance_id != id)
			continue;
		if (!if_indextoname(t->port_key[i], name))
			name[0] = '\0';
		o = json_pack("{s:I, s:s}", "ifindex", (json_int_t)t->port_key[i], "ifname", name);
		if (pb->flags & MDR_PORT_F_CHECK_MAC) {
			mdr_mac_fmt(pb->mac, mac);
			json_object_set_new(o, "mac", json_string(mac));
			json_object_set_new(o, "vlan", json_integer(pb->vlan));
		}
		json_array_append_new(ports, o);
	}
	for (size_t i = 0; i < t->n_macs; i++) {
		if (t->mac[i].instance_id != id)
			continue;
		mdr_mac_fmt(t->mac_key[i].mac, mac);
		json_array_append_new(macs, json_pack("{s:s, s:i, s:I}", "mac", mac, "vlan",
						      t->mac_key[i].vlan, "ifindex",
						      (json_int_t)t->mac[i].ifindex));
	}
	return json_pack("{s:o, s:o}", "ports", ports, "macs", macs);
}

static json_t *record_json(uint32_t id, const struct mdr_instance *rec)
{
	struct mdr_limits lim = { 0 };
	json_t *o;

	bpf_map_lookup_elem(ctl_maps.limits, &id, &lim);
	o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "uuid",
		      rec->uuid, "id", (json_int_t)id, "gen", (json_int_t)rec->gen, "doc_len",
		      (json_int_t)rec->doc_len, "tokens", tokens_name(rec->tokens), "hop_limit",
		      rec->hop_limit, "max_connections", (json_int_t)rec->max_conns,
		      "max_request", (json_int_t)rec->max_req, "rate_pps",
		      (json_int_t)lim.rate_pps, "burst", (json_int_t)lim.burst, "updated_ns",
		      (json_int_t)rec->updated_ns);
	return o;
}

static void print_bindings_text(const struct binding_table *t, uint32_t id)
{
	char name[IF_NAMESIZE], mac[MDR_MAC_STRLEN];
	int any = 0;

	for (size_t i = 0; i < t->n_ports; i++) {
		if (t->port[i].instance_id != id)
			continue;
		if (!if_indextoname(t->port_key[i], name))
			snprintf(name, sizeof(name), "#%u", t->port_key[i]);
		printf("%sport %s", any++ ? ", " : "", name);
		if (t->port[i].flags & MDR_PORT_F_CHECK_MAC) {
			mdr_mac_fmt(t->port[i].mac, mac);
			printf(" (mac %s vlan %u)", mac, t->port[i].vlan);
		}
	}
	for (size_t i = 0; i < t->n_macs; i++) {
		if (t->mac[i].instance_id != id)
			continue;
		mdr_mac_fmt(t->mac_key[i].mac, mac);
		printf("%smac %s vlan %u", any++ ? ", " : "", mac, t->mac_key[i].vlan);
	}
	if (!any)
		printf("-");
}

struct inst_row {
	uint32_t id;
	struct mdr_instance rec;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct inst_row *)a)->rec.uuid, ((const struct inst_row *)b)->rec.uuid);
}

static int instance_list(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	static struct binding_table bt;
	static uint32_t ids[MDR_MAX_INSTANCES];
	static struct inst_row rows[MDR_MAX_INSTANCES];
	size_t n = 0;
	int cnt;

	if (argc != 1)
		return ctl_usage("usage: instance list [-j]");
	if (ctl_open())
		return CTL_FAIL;
	cnt = mdr_store_ids(&ctl_maps, ids, MDR_MAX_INSTANCES);
	if (cnt < 0)
		return ctl_fail("reading %s: %s", MDR_MAP_NAME(inst), strerror(-cnt));
	if (cnt > MDR_MAX_INSTANCES)
		cnt = MDR_MAX_INSTANCES;
	for (int i = 0; i < cnt; i++)
		if (mdr_store_record(&ctl_maps, ids[i], &rows[n].rec) == 0)
			rows[n++].id = ids[i];
	qsort(rows, n, sizeof(rows[0]), cmp_row);
	load_bindings(&bt);
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = record_json(rows[i].id, &rows[i].rec);

			json_object_set_new(o, "bindings", bindings_json(&bt, rows[i].id));
			json_array_append_new(arr, o);
		}
		return ctl_print_json(arr);
	}
	printf("%-36s %10s %10s  %s\n", "UUID", "ID", "GEN", "BINDINGS");
	for (size_t i = 0; i < n; i++) {
		printf("%-36s %10u %10u  ", rows[i].rec.uuid, rows[i].id, rows[i].rec.gen);
		print_bindings_text(&bt, rows[i].id);
		putchar('\n');
	}
	return CTL_OK;
}

static int instance_show(int argc, char **argv)
{
	int json = ctl_take_flag(&argc, argv, "-j");
	static struct binding_table bt;
	struct mdr_instance rec;
	struct mdr_defn *d;
	char err[256], *text;
	json_t *o, *def;
	uint32_t id;

	if (argc != 2)
		return ctl_usage("usage: instance show UUID [-j]");
	if (ctl_open())
		return CTL_FAIL;
	if (mdr_store_get(&ctl_maps, argv[1], 0, MDR_STORE_GET_CONTENTS, &id, &rec, &d, err,
			  sizeof(err)))
		return ctl_fail("%s", err);
	text = mdr_defn_to_json(d, 1);
	mdr_defn_free(d);
	if (!text)
		return ctl_fail("out of memory");
	load_bindings(&bt);
	if (!json) {
		printf("uuid: %s\nid: %u\ngeneration: %u\nbindings: ", rec.uuid, id, rec.gen);
		print_bindings_text(&bt, id);
		printf("\ndefinition:\n%s\n", text);
		free(text);
		return CTL_OK;
	}
	def = json_loads(text, 0, NULL);
	free(text);
	o = record_json(id, &rec);
	json_object_set_new(o, "bindings", bindings_json(&bt, id));
	json_object_set_new(o, "definition", def ? def : json_null());
	return ctl_print_json(o);
}

int cmd_instance(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage("instance: expected load, del, list or show");
	if (!strcmp(argv[1], "load"))
		return instance_load(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete"))
		return instance_del(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return instance_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return instance_show(argc - 1, argv + 1);
	return ctl_usage("instance: unknown subcommand \"%s\"", argv[1]);
}

/* ---- bind / unbind ------------------------------------------------------ */

static int parse_vlan(const char *s, uint16_t *vlan)
{
	char *end;
	long v = strtol(s, &end, 10);

	/* 802.1Q: 0 = untagged, 4095 reserved. */
	if (!*s || *end || v < 0 || v > 4094)
		return -1;
	*vlan = (uint16_t)v;
	return 0;
}

static int bind_or_unbind(int argc, char **argv, int unbind)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "mac", required_argument, NULL, 'm' },
		{ "vlan", required_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = NULL, *what = unbind ? "unbind" : "bind";
	uint8_t mac[6];
	int has_mac = 0, force = 0, c, r;
	uint16_t vlan = 0;
	uint32_t id, ifindex = 0;
	char err[256];

	optind = 0; /* full re-initialisation of GNU getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = optarg; break;
		case 'm':
			if (mdr_mac_parse(optarg, mac))
				return ctl_fail("%s: \"%s\" is not a MAC address", what, optarg);
			has_mac = 1;
			break;
		case 'v':
			if (parse_vlan(optarg, &vlan))
				return ctl_fail("%s: vlan \"%s\" is not 0..4094", what, optarg);
			break;
		case 'f': force = 1; break;
		default: return ctl_usage("%s: unknown option", what);
		}
	}
	if (optind != argc - 1 || (!port && !has_mac))
		return ctl_usage("usage: %s UUID --port IFNAME | --mac MAC [--vlan N]", what);
	if (port) {
		ifindex = if_nametoindex(port);
		if (!ifindex)
			return ctl_fail("%s: no interface named \"%s\" in this network namespace",
					what, port);
	}
	if (ctl_open())
		return CTL_FAIL;
	if ((r = mdr_store_lookup(&ctl_maps, argv[optind], &id)))
		return ctl_fail("%s: %s \"%s\"", what,
				r == -EINVAL ? "not a uuid:" : "unknown instance", argv[optind]);
	if (unbind) {
		if (port && mdr_store_unbind_port(&ctl_maps, ifindex, id))
			return ctl_fail("unbind: port %s is not bound to instance %s", port,
					argv[optind]);
		if (!port && mdr_store_unbind_mac(&ctl_maps, mac, vlan, id))
			return ctl_fail("unbind: that MAC/VLAN is not bound to instance %s",
					argv[optind]);
		printf("unbound\n");
		return CTL_OK;
	}
	if ((r = mdr_maps_lock(&ctl_maps)))
		return ctl_fail("locking %s: %s", ctl_pin_dir, strerror(-r));
	if (port)
		r = mdr_store_bind_port(&ctl_maps, id, ifindex, has_mac ? mac : NULL, vlan, force,
					err, sizeof(err));
	/* A MAC of an instance with a port is trusted on that port only. */
	else if (!(r = mdr_store_mac_port_for(&ctl_maps, id, mac, vlan, &ifindex, err,
					      sizeof(err))))
		r = mdr_store_bind_mac(&ctl_maps, id, mac, vlan, ifindex, force, err,
				       sizeof(err));
	mdr_maps_unlock(&ctl_maps);
	if (r)
		return ctl_fail("bind: %s%s", err, r == -EEXIST ? " (use --force to take it)" : "");
	if (!port && ifindex) {
		char name[IF_NAMESIZE];

		printf("bound (pinned to port %s)\n",
		       if_indextoname(ifindex, name) ? name : "?");
	} else {
		printf("bound\n");
	}
	return CTL_OK;
}

int cmd_bind(int argc, char **argv) { return bind_or_unbind(argc, argv, 0); }
int cmd_unbind(int argc, char **argv) { return bind_or_unbind(argc, argv, 1); }

/* ---- get / put / rm ------------------------------------------------------- */

int cmd_get(int argc, char **argv)
{
	const struct mdr_render_ctx ctx = { .random = ctl_random_bytes, .wall = mdr_wall_s };
	struct mdr_reply rep = { 0 };
	struct mdr_password pw;
	struct mdr_defn *d;
	char err[256], head[HTTP_RESPONSE_HEAD_MAX];
	const void *body;
	size_t body_len, hl;
	uint32_t id;

	if (argc != 3)
		return ctl_usage("usage: get UUID PATH");
	if (ctl_open())
		return CTL_FAIL;
	if (mdr_store_get(&ctl_maps, argv[1], 0, MDR_STORE_GET_CONTENTS, &id, NULL, &d, err,
			  sizeof(err)))
		return ctl_fail("%s", err);
	if (mdr_render(d, argv[2], &ctx, &rep)) {
		mdr_defn_free(d);
		return ctl_fail("out of memory");
	}
	body = rep.body;
	body_len = rep.body_len;
	if (rep.kind == MDR_REPLY_BLOB) {
		if (rep.blob == MDR_BLOB_USER_DATA) {
			body = d->user_data;
			body_len = d->user_data_len;
		} else {
			body = d->file[rep.blob - MDR_BLOB_FILE0];
			body_len = d->file_len[rep.blob - MDR_BLOB_FILE0];
		}
	} else if (rep.kind == MDR_REPLY_PASSWORD) {
		/* GET of the password: what the guest stored, empty when unset. */
		if (bpf_map_lookup_elem(ctl_maps.passwords, &id, &pw) || pw.len > MDR_PASSWORD_MAX)
			pw.len = 0;
		body = pw.data;
		body_len = pw.len;
	}
	hl = http_response_head(head, sizeof(head), rep.status, rep.content_type, body_len, 1,
				NULL, 0);
	fwrite(head, 1, hl, stdout);
	if (body_len)
		fwrite(body, 1, body_len, stdout);
	mdr_reply_free(&rep);
	mdr_defn_free(d);
	return fflush(stdout) ? CTL_FAIL : CTL_OK;
}

/* put / rm: read the instance with contents, edit its overrides, store it
 * again as a new generation (the edit is atomic like any replace). */
static int edit(int argc, char **argv, int rm)
{
	struct mdr_store_result res;
	struct mdr_defn *d;
	char err[MDR_DEFN_ERR_SIZE + 64], *body = NULL;
	size_t len = 0;
	int r;

	if (argc != (rm ? 3 : 4))
		return rm ? ctl_usage("usage: rm UUID PATH") : ctl_usage("usage: put UUID PATH FILE|-");
	if (!rm && ctl_read_input(argv[3], &body, &len))
		return CTL_FAIL;
	if (!rm && len > MDR_OVERRIDE_MAX) {
		free(body);
		return ctl_fail("put: %s is %zu bytes, the limit is %u", argv[3], len,
				MDR_OVERRIDE_MAX);
	}
	if (ctl_open()) {
		free(body);
		return CTL_FAIL;
	}
	if (mdr_store_get(&ctl_maps, argv[1], 0, MDR_STORE_GET_CONTENTS, NULL, NULL, &d, err,
			  sizeof(err))) {
		free(body);
		return ctl_fail("%s", err);
	}
	r = rm ? mdr_defn_remove_path(d, argv[2], err, sizeof(err))
	       : mdr_defn_set_override(d, argv[2], body, len, err, sizeof(err));
	free(body);
	if (r) {
		mdr_defn_free(d);
		return ctl_fail("%s %s: %s", rm ? "rm" : "put", argv[2], err);
	}
	/* The binding is unchanged: an absent port stays deferred, not an error. */
	r = mdr_store_put(&ctl_maps, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err));
	if (r) {
		mdr_defn_free(d);
		return ctl_fail("%s", err);
	}
	printf("instance %s %s %s (generation %u)\n", d->uuid, rm ? "removed" : "set", argv[2],
	       res.gen);
	mdr_defn_free(d);
	return CTL_OK;
}

int cmd_put(int argc, char **argv) { return edit(argc, argv, 0); }
int cmd_rm(int argc, char **argv) { return edit(argc, argv, 1); }
