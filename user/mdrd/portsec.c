/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd portsec: per-bridge-port source-MAC anti-spoofing (issue 12 hole 3).
 *
 * With XDP on a bridge device every frame arrives as the bridge's, so a MAC
 * binding cannot be pinned to its guest's port by XDP: the store pins it to
 * the bridge (mdr_store_pin_ifindex), and mdrd makes the bridge itself
 * refuse the MAC from any other port. For every stored instance whose
 * binding names a port and a MAC, with the port enslaved to a bridge the
 * program is attached to, one rule in the nftables bridge family's
 * prerouting hook (before FDB learning and before the bridge device's XDP)
 * drops frames with that source MAC entering on another port, counted in
 * the table's "spoofed" counter (mdrctl status). The rule text is built by
 * user/core/portsec.c; here it is applied through libnftables, in one batch
 * (atomic), whenever the set changes: on link and instance events, SIGHUP,
 * and once a second (mdrctl writes bindings without telling mdrd). One
 * table per mdrd (named from its pin directory), removed on a clean exit,
 * kept on an upgrade exit (SIGUSR2: the next mdrd replaces it).
 *
 * Without nftables (no libnftables, no nf_tables in the kernel) the
 * bindings still work and stay unenforced: one line at start, and mdrctl
 * status warns for each such bridge, as before.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <nftables/libnftables.h>

#include "mdrd.h"
#include "clock.h"
#include "defn.h"
#include "log.h"
#include "mac.h"
#include "portsec.h"
#include "store.h"

/* mdrctl instance load / bind write bindings without telling mdrd: the
 * instance records are looked at this often (ids and generations only;
 * definitions are read when they changed). */
#define PORTSEC_POLL_MS 1000
/* Batch text beyond the entries' rules: the table and chain declaration. */
#define PORTSEC_TEXT_HEAD 1024

static struct nft_ctx *nft;
static int usable;          /* nftables answered the probe */
static int installed;       /* our table exists */
static char table[MDR_PORTSEC_TABLE_MAX];
static char *applied;       /* the batch last applied (NULL: none) */
static uint64_t last_sig;   /* ids and generations at the last sync */
static int64_t next_poll_ms;

/* nft's error output as one log line. */
static const char *nft_err(void)
{
	static char line[512];
	const char *e = nft_ctx_get_error_buffer(nft);
	size_t n = 0;

	for (; e && *e && n + 1 < sizeof(line); e++)
		line[n++] = (*e == '\n' || *e == '\t') ? ' ' : *e;
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = 0;
	return n ? line : "failed";
}

static int run(const char *text)
{
	int r = nft_run_cmd_from_buffer(nft, text);

	return r ? -EIO : 0;
}

void portsec_init(void)
{
	char probe[PORTSEC_TEXT_HEAD];

	mdr_portsec_table_name(mdrd_opts.pin_dir, table);
	next_poll_ms = mdr_mono_ms();
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		mdr_log(MDR_LOG_WARN, "port security: libnftables unusable: MAC bindings on bridge "
			"ports are not enforced per port (mdrctl status warns)");
		return;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	/* The probe: our (empty) table, checked by the kernel, not kept. */
	nft_ctx_set_dry_run(nft, true);
	if (mdr_portsec_ruleset(table, NULL, 0, probe, sizeof(probe), NULL, 0) < 0 ||
	    run(probe)) {
		mdr_log(MDR_LOG_WARN, "port security: nftables unavailable (%s): MAC bindings on "
			"bridge ports are not enforced per port (mdrctl status warns)", nft_err());
		nft_ctx_set_dry_run(nft, false);
		return;
	}
	nft_ctx_set_dry_run(nft, false);
	usable = 1;
}

/* Ids and generations of every instance: changes when a definition does. */
static uint64_t records_sig(const uint32_t *ids, int n)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < n; i++) {
		struct mdr_instance rec;
		uint64_t v = ids[i];

		if (!mdr_store_record(&mdrd_maps, ids[i], &rec))
			v |= (uint64_t)rec.gen << 32;
		h = (h ^ v) * 1099511628211ull;
	}
	return h ^ (uint64_t)n;
}

/* The MAC of NIC b of instance id pinned to the ifindex XDP sees (its
 * bridge), if the binding is still the instance's and pinned elsewhere
 * (written before the bridge was attached). */
static void repin(uint32_t id, const struct mdr_defn *d, const struct mdr_defn_binding *b,
		  uint32_t pin)
{
	struct mdr_mac_key k = { .vlan = b->vlan };
	struct mdr_mac_binding mb;
	char err[256], m[MDR_MAC_STRLEN];

	memcpy(k.mac, b->mac, 6);
	if (bpf_map_lookup_elem(mdrd_maps.macs, &k, &mb) || mb.instance_id != id ||
	    mb.ifindex == pin)
		return;
	if (mdr_maps_lock(&mdrd_maps))
		return;
	if (mdr_store_bind_mac(&mdrd_maps, id, b->mac, b->vlan, pin, 0, err, sizeof(err)))
		mdr_log(MDR_LOG_ERR, "instance %s port %s: pinning MAC %s to its bridge: %s",
			d->uuid, b->port, mdr_mac_fmt(b->mac, m), err);
	else
		mdr_log(MDR_LOG_INFO, "instance %s port %s: MAC %s pinned to its bridge (ifindex %u)",
			d->uuid, b->port, mdr_mac_fmt(b->mac, m), pin);
	mdr_maps_unlock(&mdrd_maps);
}

/* Entries for every instance bound (port + MAC) on a port of a bridge the
 * program is attached to. Returns the count (<= max) or -errno. */
static int collect(const uint32_t *ids, int n, struct mdr_portsec_entry *e, size_t max)
{
	size_t k = 0;

	for (int i = 0; i < n && k < max; i++) {
		struct mdr_defn *d = NULL;
		char err[256];
		uint32_t port, pin;

		if (mdr_store_get(&mdrd_maps, NULL, ids[i], 0, NULL, NULL, &d, err, sizeof(err)))
			continue; /* deleted meanwhile */
		for (size_t j = 0; j < d->n_bindings && k < max; j++) {
			const struct mdr_defn_binding *b = &d->bindings[j];

			if (!b->has_port || !b->has_mac || !(port = if_nametoindex(b->port)) ||
			    (pin = mdr_store_pin_ifindex(&mdrd_maps, port)) == port)
				continue;
			if (!mdr_portsec_port_ok(b->port)) {
				mdr_log(MDR_LOG_ERR, "instance %s port %s: name not usable in an "
					"nftables rule: its MAC is not enforced", d->uuid, b->port);
			} else {
				snprintf(e[k].port, sizeof(e[k].port), "%s", b->port);
				memcpy(e[k].mac, b->mac, 6);
				k++;
			}
			repin(ids[i], d, b, pin);
		}
		mdr_defn_free(d);
	}
	return (int)k;
}

static void remove_table(void)
{
	char text[PORTSEC_TEXT_HEAD];

	if (!installed || mdr_portsec_remove(table, text, sizeof(text)) < 0)
		return;
	if (run(text))
		mdr_log(MDR_LOG_ERR, "port security: removing nft table bridge %s: %s", table,
			nft_err());
	else
		mdr_log(MDR_LOG_INFO, "port security: nft table bridge %s removed", table);
	installed = 0;
	free(applied);
	applied = NULL;
}

void portsec_sync(int force)
{
	static uint32_t ids[MDR_MAX_INSTANCES];
	struct mdr_portsec_entry *e;
	char *text, err[256];
	size_t cap;
	int n, k, len;
	uint64_t sig;

	next_poll_ms = mdr_mono_ms() + PORTSEC_POLL_MS;
	n = mdr_store_ids(&mdrd_maps, ids, MDR_MAX_INSTANCES);
	if (n < 0)
		return;
	if (n > MDR_MAX_INSTANCES)
		n = MDR_MAX_INSTANCES;
	sig = records_sig(ids, n);
	if (!force && sig == last_sig)
		return;
	last_sig = sig;
	e = calloc((size_t)n + 1, sizeof(*e));
	if (!e)
		return;
	k = collect(ids, n, e, (size_t)n);
	if (!usable || k <= 0) {
		if (k == 0)
			remove_table();
		free(e);
		return;
	}
	cap = PORTSEC_TEXT_HEAD + (size_t)k * MDR_PORTSEC_RULE_MAX;
	text = malloc(cap);
	len = text ? mdr_portsec_ruleset(table, e, (size_t)k, text, cap, err, sizeof(err)) : -ENOMEM;
	free(e);
	if (len < 0) {
		mdr_log(MDR_LOG_ERR, "port security: building the rules: %s",
			len == -EINVAL ? err : strerror(-len));
		free(text);
		return;
	}
	if (applied && !strcmp(applied, text)) {
		free(text);
		return;
	}
	if (run(text)) {
		mdr_log(MDR_LOG_ERR, "port security: nft table bridge %s not updated (%s): the "
			"previous rules stay", table, nft_err());
		free(text);
		return;
	}
	installed = 1;
	free(applied);
	applied = text;
	mdr_log(MDR_LOG_INFO, "port security: %d MAC binding(s) on bridge ports enforced "
		"(nft table bridge %s)", k, table);
}

int portsec_timeout_ms(void)
{
	int64_t now = mdr_mono_ms();

	return next_poll_ms <= now ? 0 : (int)(next_poll_ms - now);
}

void portsec_tick(void)
{
	if (portsec_timeout_ms() == 0)
		portsec_sync(0);
}

void portsec_close(int keep)
{
	if (!keep)
		remove_table();
	free(applied);
	applied = NULL;
	if (nft)
		nft_ctx_free(nft);
	nft = NULL;
}
