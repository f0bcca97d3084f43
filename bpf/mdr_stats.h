/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_stats.h - per-CPU outcome counters: global (mdr_stats[0]) and per
 * known instance (mdr_istats, created on first use). Every frame adds one
 * outcome (passed, redirected, fallback_*, *_replied, spoofed, rate_limited,
 * malformed, fragment); matched, no_xsk and unknown add detail to it.
 */
#ifndef MDR_STATS_H
#define MDR_STATS_H

#include "mdr_common.h"

struct mdr_cnt {
	struct mdr_xdp_counters *g; /* global, this CPU's slot */
	struct mdr_xdp_counters *i; /* the instance's, NULL until it is known */
};

/* Per-CPU values: plain increments, no atomics needed. */
#define MDR_COUNT(cnt, field)                 \
	do {                                      \
		if ((cnt)->g)                         \
			(cnt)->g->field++;                \
		if ((cnt)->i)                         \
			(cnt)->i->field++;                \
	} while (0)

static __always_inline struct mdr_xdp_counters *mdr_stats_global(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&mdr_stats, &key);
}

/* Instance counters, created zeroed on first use; NOEXIST keeps a racing
 * CPU's fresh entry. NULL only if the map is full (counts are then lost). */
static __always_inline struct mdr_xdp_counters *mdr_stats_instance(__u32 id)
{
	struct mdr_xdp_counters *c, zero = {};

	c = bpf_map_lookup_elem(&mdr_istats, &id);
	if (c)
		return c;
	bpf_map_update_elem(&mdr_istats, &id, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mdr_istats, &id);
}

/* The fast exit of every frame that is not for us. */
static __always_inline int mdr_pass(void)
{
	struct mdr_xdp_counters *g = mdr_stats_global();

	if (g)
		g->passed++;
	return XDP_PASS;
}

/* Apply a fallback policy (unknown instance, no responder socket). */
static __always_inline int mdr_fallback(__u8 policy, struct mdr_cnt *cnt)
{
	if (policy == MDR_POLICY_DROP) {
		MDR_COUNT(cnt, fallback_drop);
		return XDP_DROP;
	}
	MDR_COUNT(cnt, fallback_pass);
	return XDP_PASS;
}

#endif /* MDR_STATS_H */
