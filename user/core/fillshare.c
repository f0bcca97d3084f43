/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fillshare: fill-ring shares of a shared UMEM (see fillshare.h). */
#include "fillshare.h"

uint32_t fill_share_pool(const struct fill_share *f)
{
	return f->umem_frames > FILL_TX_RESERVE ? f->umem_frames - FILL_TX_RESERVE
						 : f->umem_frames / 2;
}

uint32_t fill_share_boost_headroom(const struct fill_share *f)
{
	uint32_t pool = fill_share_pool(f), h = FILL_BOOST_RINGS * f->ring_size;

	return h < pool / 2 ? h : pool / 2;
}

uint32_t fill_share_base(const struct fill_share *f)
{
	uint32_t b = (fill_share_pool(f) - fill_share_boost_headroom(f)) /
		     (f->n_socks ? f->n_socks : 1);

	if (b > FILL_BASE)
		b = FILL_BASE;
	if (b < FILL_FLOOR)
		b = FILL_FLOOR;
	if (b > f->ring_size)
		b = f->ring_size;
	return b;
}

uint32_t fill_share_boost_pool(const struct fill_share *f)
{
	uint32_t pool = fill_share_pool(f);
	uint32_t plan = (pool - fill_share_boost_headroom(f)) / FILL_BASE;
	uint64_t bases = (uint64_t)f->base * (f->n_socks > plan ? f->n_socks : plan);

	return bases < pool ? (uint32_t)(pool - bases) : 0;
}

uint32_t fill_share_over_base(const struct fill_share *f, uint32_t in_fill)
{
	return in_fill > f->base ? in_fill - f->base : 0;
}

uint32_t fill_share_deficit(const struct fill_share *f)
{
	uint64_t entitled = (uint64_t)f->base * f->n_socks;
	uint32_t held = f->fill_total - f->above_base; /* sum of min(in_fill, base) */

	return entitled > held ? (uint32_t)(entitled - held) : 0;
}

void fill_share_set(struct fill_share *f, uint32_t *in_fill, uint32_t v)
{
	f->above_base -= fill_share_over_base(f, *in_fill);
	f->fill_total = f->fill_total - *in_fill + v;
	*in_fill = v;
	f->above_base += fill_share_over_base(f, v);
}

struct fill_grant fill_share_grant(const struct fill_share *f, uint32_t in_fill, uint32_t boost)
{
	struct fill_grant g = {0, 0, 0};
	uint32_t target = f->base + boost;

	if (target > f->ring_size)
		target = f->ring_size;
	if (in_fill < f->base) {
		uint32_t want = f->base - in_fill;
		uint32_t avail = f->n_free > FILL_TX_RESERVE ? f->n_free - FILL_TX_RESERVE : 0;

		if (in_fill < FILL_FLOOR && avail < FILL_FLOOR - in_fill)
			avail = f->n_free < FILL_FLOOR - in_fill ? f->n_free : FILL_FLOOR - in_fill;
		g.base = want < avail ? want : avail;
	}
	if (target > f->base && in_fill + g.base >= f->base) {
		uint32_t want = target - (in_fill + g.base);
		uint32_t free_after = f->n_free - g.base;
		uint32_t deficit = fill_share_deficit(f);
		uint32_t keep = FILL_TX_RESERVE + (deficit > g.base ? deficit - g.base : 0);
		uint32_t bp = fill_share_boost_pool(f);
		uint32_t room = bp > f->above_base ? bp - f->above_base : 0;

		if (free_after > keep)
			g.boost = want < free_after - keep ? want : free_after - keep;
		if (g.boost > room) {
			g.short_of = g.boost - room;
			g.boost = room;
		}
	}
	return g;
}

uint32_t fill_shard_of(uint32_t ifindex, uint32_t n_shards)
{
	/* Fibonacci hashing: ifindexes handed out one after the other, or
	 * every other one (veth pairs), land in turn on every shard, with
	 * no table to keep. */
	return (uint32_t)(((uint64_t)(ifindex * 2654435769u) * n_shards) >> 32);
}

uint32_t fill_shard_frames(uint32_t umem_frames, uint32_t n_shards, uint32_t k, uint32_t *first)
{
	uint32_t per = umem_frames / n_shards;

	*first = k * per;
	return k + 1 == n_shards ? umem_frames - *first : per;
}
