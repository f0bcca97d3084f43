/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrctl portsec: which MAC bindings trusted on an attached bridge device
 * mdrd's per-port nftables rules enforce (mdrd/portsec.c, issue 12 hole
 * 3), and how many forged frames they dropped. Read through libnftables
 * (JSON) from the table named after the pin directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include <nftables/libnftables.h>

#include "ctl.h"
#include "mac.h"
#include "portsec.h"

/* MACs named by the table's rules ("ether saddr M"), and its counter. */
static int read_table(json_t **macs, json_int_t *dropped)
{
	char table[MDR_PORTSEC_TABLE_MAX], cmd[96];
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	json_t *doc = NULL, *o;
	size_t i;
	int r = -1;

	*macs = json_object();
	*dropped = 0;
	if (!nft)
		return -1;
	mdr_portsec_table_name(ctl_pin_dir, table);
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	snprintf(cmd, sizeof(cmd), "list table bridge %s", table);
	if (nft_run_cmd_from_buffer(nft, cmd) == 0)
		doc = json_loads(nft_ctx_get_output_buffer(nft), 0, NULL);
	nft_ctx_free(nft);
	if (!doc)
		return -1; /* no table: nothing enforced */
	json_array_foreach(json_object_get(doc, "nftables"), i, o) {
		json_t *c = json_object_get(o, "counter"), *rule = json_object_get(o, "rule"), *e;
		size_t j;

		if (c && !strcmp(json_string_value(json_object_get(c, "name")) ?: "",
				 MDR_PORTSEC_COUNTER))
			*dropped = json_integer_value(json_object_get(c, "packets"));
		json_array_foreach(json_object_get(rule, "expr"), j, e) {
			json_t *m = json_object_get(e, "match"), *p;
			const char *mac;

			p = json_object_get(json_object_get(m, "left"), "payload");
			mac = json_string_value(json_object_get(m, "right"));
			if (p && mac &&
			    !strcmp(json_string_value(json_object_get(p, "protocol")) ?: "", "ether") &&
			    !strcmp(json_string_value(json_object_get(p, "field")) ?: "", "saddr"))
				json_object_set_new(*macs, mac, json_true());
		}
	}
	json_decref(doc);
	r = 0;
	return r;
}

int ctl_portsec_bridge(uint32_t ifindex, int *trusted, int *enforced, long long *dropped)
{
	struct mdr_mac_key k, next, *prev = NULL;
	struct mdr_mac_binding mb;
	json_int_t d = 0;
	json_t *macs;
	int have = read_table(&macs, &d) == 0;

	*trusted = *enforced = 0;
	while (bpf_map_get_next_key(ctl_maps.macs, prev, &next) == 0) {
		char m[MDR_MAC_STRLEN];

		if (!bpf_map_lookup_elem(ctl_maps.macs, &next, &mb) &&
		    (mb.ifindex == 0 || mb.ifindex == ifindex)) {
			(*trusted)++;
			/* Only a MAC pinned to the bridge has a port named. */
			*enforced += mb.ifindex == ifindex &&
				     json_object_get(macs, mdr_mac_fmt(next.mac, m)) != NULL;
		}
		k = next;
		prev = &k;
	}
	json_decref(macs);
	*dropped = d;
	return have;
}
