/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_ratelimit.h - per-instance token bucket in packets per second with a
 * burst. State lives in mdr_rl (created on first use, full minus this
 * packet); tokens are scaled by 1e9 so that refill is elapsed_ns * rate.
 */
#ifndef MDR_RATELIMIT_H
#define MDR_RATELIMIT_H

#include "mdr_common.h"

/* Returns 1 when the packet may go, 0 when the bucket is empty. */
static __always_inline int mdr_rl_allow(__u32 id, const struct mdr_limits *lim,
					const struct mdr_config *cfg)
{
	__u64 rate = lim->rate_pps, burst = lim->burst, cap, now, elapsed, tokens;
	struct mdr_bucket *b;
	int ok;

	if (!rate)
		rate = cfg->default_rate_pps ? cfg->default_rate_pps : MDR_DEFAULT_RATE_PPS;
	if (rate > MDR_MAX_RATE_PPS)
		rate = MDR_MAX_RATE_PPS;
	if (!burst)
		burst = cfg->default_burst ? cfg->default_burst : MDR_DEFAULT_BURST;
	cap = burst * MDR_NS_PER_TOKEN; /* burst is a u32: fits in u64 */
	now = bpf_ktime_get_ns();

	b = bpf_map_lookup_elem(&mdr_rl, &id);
	if (!b) {
		struct mdr_bucket nb = {};

		nb.tokens_ns = cap - MDR_NS_PER_TOKEN;
		nb.last_ns = now;
		if (!bpf_map_update_elem(&mdr_rl, &id, &nb, BPF_NOEXIST)) {
			/* The instance may have been deleted since its limits were
			 * looked up (the store deletes mdr_limits, then mdr_rl): if
			 * its limits are gone now, take the new bucket back, else
			 * the store's delete comes after our insert and removes it. */
			if (!bpf_map_lookup_elem(&mdr_limits, &id))
				bpf_map_delete_elem(&mdr_rl, &id);
			return 1;
		}
		b = bpf_map_lookup_elem(&mdr_rl, &id);
		if (!b)
			return 1; /* map full: fail open (docs/security.md "Rate limiter") */
	}

	bpf_spin_lock(&b->lock);
	tokens = b->tokens_ns;
	if (now > b->last_ns) { /* another CPU may have refilled with a later clock */
		elapsed = now - b->last_ns;
		if (elapsed > MDR_RL_MAX_ELAPSED_NS)
			elapsed = MDR_RL_MAX_ELAPSED_NS;
		tokens += elapsed * rate; /* <= 64e9 * 1e7 < 2^63 */
		b->last_ns = now;
	}
	if (tokens > cap)
		tokens = cap;
	ok = tokens >= MDR_NS_PER_TOKEN;
	if (ok)
		tokens -= MDR_NS_PER_TOKEN;
	b->tokens_ns = tokens;
	bpf_spin_unlock(&b->lock);
	return ok;
}

#endif /* MDR_RATELIMIT_H */
