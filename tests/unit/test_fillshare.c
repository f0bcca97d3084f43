/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fillshare: the responder's fill-ring shares of one UMEM, as numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fillshare.h"

#define UMEM 8192u /* the responder's default --umem-frames */
#define RING 2048u /* a large ring: two would be more than half the pool */

static struct fill_share fresh(uint32_t umem, uint32_t ring, uint32_t socks)
{
	struct fill_share f = {.umem_frames = umem, .ring_size = ring, .n_socks = socks,
			       .n_free = umem};

	f.base = fill_share_base(&f);
	return f;
}

/* The figures of the comment in fillshare.h (rings of 512): 64 each up to
 * 108 sockets, 27 at 256. */
static void test_base_share_by_socket_count(void **state)
{
	(void)state;
	assert_int_equal(fill_share_pool(&(struct fill_share){.umem_frames = UMEM}), UMEM - 256);
	assert_int_equal(fill_share_boost_headroom(&(struct fill_share){.umem_frames = UMEM,
									 .ring_size = 512}),
			 2 * 512);
	/* two rings of 2048 would be more than half the pool: half it is */
	assert_int_equal(fill_share_boost_headroom(&(struct fill_share){.umem_frames = UMEM,
									 .ring_size = RING}),
			 (UMEM - 256) / 2);
	assert_int_equal(fresh(UMEM, 512, 0).base, FILL_BASE);
	assert_int_equal(fresh(UMEM, 512, 1).base, FILL_BASE);
	assert_int_equal(fresh(UMEM, 512, 108).base, FILL_BASE);
	assert_int_equal(fresh(UMEM, 512, 109).base, 63);
	assert_int_equal(fresh(UMEM, 512, 256).base, 27);
	/* never below the floor, never above a ring */
	assert_int_equal(fresh(UMEM, 512, 5000).base, FILL_FLOOR);
	assert_int_equal(fresh(UMEM, 16, 1).base, 16);
	/* a UMEM too small for the TX reserve keeps half for replies */
	assert_int_equal(fill_share_pool(&(struct fill_share){.umem_frames = 200}), 100);
}

/* The boost pool plans for as many sockets as the pool holds at FILL_BASE
 * (108 here), so frames stay for guests that appear later. */
static void test_boost_pool_plans_for_later_sockets(void **state)
{
	struct fill_share one = fresh(UMEM, 512, 1), many = fresh(UMEM, 512, 400);

	(void)state;
	assert_int_equal(fill_share_boost_pool(&one), UMEM - 256 - FILL_BASE * 108);
	/* more sockets than planned: their (smaller) bases come first */
	assert_int_equal(many.base, 17);
	assert_int_equal(fill_share_boost_pool(&many), UMEM - 256 - 17 * 400);
}

static void test_set_keeps_totals(void **state)
{
	struct fill_share f = fresh(UMEM, RING, 2);
	uint32_t a = 0, b = 0;

	(void)state;
	fill_share_set(&f, &a, 10);
	fill_share_set(&f, &b, 100);
	assert_int_equal(f.fill_total, 110);
	assert_int_equal(f.above_base, 100 - FILL_BASE);
	assert_int_equal(fill_share_deficit(&f), FILL_BASE - 10); /* a lacks 54 */
	fill_share_set(&f, &b, 5);
	assert_int_equal(f.fill_total, 15);
	assert_int_equal(f.above_base, 0);
	assert_int_equal(fill_share_deficit(&f), 2 * FILL_BASE - 15);
	assert_int_equal(a, 10);
	assert_int_equal(b, 5);
}

/* An empty ring gets its base share first, then its boost. */
static void test_grant_base_then_boost(void **state)
{
	struct fill_share f = fresh(UMEM, RING, 1);
	struct fill_grant g;

	(void)state;
	g = fill_share_grant(&f, 0, 0);
	assert_int_equal(g.base, FILL_BASE);
	assert_int_equal(g.boost, 0);
	g = fill_share_grant(&f, 0, RING - FILL_BASE);
	assert_int_equal(g.base, FILL_BASE);
	assert_int_equal(g.boost, RING - FILL_BASE); /* the whole ring */
	/* a full ring gets nothing more */
	f.fill_total = RING;
	f.above_base = RING - FILL_BASE;
	g = fill_share_grant(&f, RING, RING - FILL_BASE);
	assert_int_equal(g.base + g.boost, 0);
}

/* Boosts never take the TX reserve or frames another socket's base share
 * is missing; base shares may dip into the reserve only up to the floor. */
static void test_grant_keeps_reserve_and_others_bases(void **state)
{
	struct fill_share f = fresh(UMEM, RING, 2);
	struct fill_grant g;
	uint32_t mine = 0;

	(void)state;
	fill_share_set(&f, &mine, FILL_BASE); /* the other socket holds 0 */
	f.n_free = FILL_TX_RESERVE + FILL_BASE + 5;
	g = fill_share_grant(&f, mine, RING);
	assert_int_equal(g.base, 0);
	assert_int_equal(g.boost, 5); /* the other's 64 and the reserve stay */
	/* the pool is down to the reserve: a socket below the floor still gets
	 * up to the floor from it, not its whole base share */
	f.n_free = FILL_TX_RESERVE;
	g = fill_share_grant(&f, 0, 0);
	assert_int_equal(g.base, FILL_FLOOR);
	f.n_free = 3;
	g = fill_share_grant(&f, 0, 0);
	assert_int_equal(g.base, 3); /* never more than is free */
}

/* What already sits above base shares counts against the boost pool. */
static void test_grant_bounded_by_boost_pool(void **state)
{
	struct fill_share f = fresh(UMEM, RING, 1);
	uint32_t bp = fill_share_boost_pool(&f);
	struct fill_grant g;

	(void)state;
	f.above_base = bp - 7;
	f.fill_total = bp - 7 + FILL_BASE;
	f.n_free = UMEM - f.fill_total;
	g = fill_share_grant(&f, FILL_BASE, RING);
	assert_int_equal(g.base, 0);
	assert_int_equal(g.boost, 7);
	/* the rest of its ring is what reclaiming the hoards would give */
	assert_int_equal(g.short_of, RING - FILL_BASE - 7);
	/* with the pool free, nothing is short */
	f.above_base = 0;
	g = fill_share_grant(&f, FILL_BASE, RING);
	assert_int_equal(g.short_of, 0);
}

/* Interfaces counted per shard for ifindexes first, first+step, ...: no
 * shard more than SPREAD_SLACK above or below an even split, after every
 * interface (a plain ifindex % shards would put every veth of a run of
 * pairs in half the shards). */
#define SPREAD_SLACK 4u
static void check_spread(uint32_t first, uint32_t step, uint32_t n_ifaces, uint32_t shards)
{
	uint32_t count[8] = { 0 };

	assert_true(shards <= 8);
	for (uint32_t i = 0; i < n_ifaces; i++) {
		uint32_t k = fill_shard_of(first + i * step, shards);
		uint32_t lo = (i + 1) / shards, hi = (i + 1 + shards - 1) / shards;

		assert_true(k < shards);
		count[k]++;
		for (uint32_t j = 0; j < shards; j++) {
			assert_true(count[j] + SPREAD_SLACK >= lo);
			assert_true(count[j] <= hi + SPREAD_SLACK);
		}
	}
}

/* Taps created one after the other get consecutive ifindexes, veth pairs
 * every other one: either way the shards take turns. */
static void test_shards_spread_interfaces(void **state)
{
	(void)state;
	for (uint32_t shards = 1; shards <= 8; shards++) {
		check_spread(2, 1, 512, shards);
		check_spread(7, 2, 512, shards);
		check_spread(1000, 3, 512, shards);
	}
	/* one shard: everything in it */
	assert_int_equal(fill_shard_of(0, 1), 0);
	assert_int_equal(fill_shard_of(UINT32_MAX, 1), 0);
	/* the same interface always in the same shard */
	assert_int_equal(fill_shard_of(42, 4), fill_shard_of(42, 4));
}

/* The shards' ranges cover the UMEM exactly, in order, without overlap. */
static void test_shard_frames_cover_the_umem(void **state)
{
	(void)state;
	for (uint32_t shards = 1; shards <= 8; shards++) {
		uint32_t next = 0;

		for (uint32_t k = 0; k < shards; k++) {
			uint32_t first, n = fill_shard_frames(UMEM + 5, shards, k, &first);

			assert_int_equal(first, next);
			assert_true(n >= (UMEM + 5) / shards);
			next = first + n;
		}
		assert_int_equal(next, UMEM + 5);
	}
	{
		uint32_t first;

		assert_int_equal(fill_shard_frames(UMEM, 2, 1, &first), UMEM / 2);
		assert_int_equal(first, UMEM / 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_share_by_socket_count),
		cmocka_unit_test(test_boost_pool_plans_for_later_sockets),
		cmocka_unit_test(test_set_keeps_totals),
		cmocka_unit_test(test_grant_base_then_boost),
		cmocka_unit_test(test_grant_keeps_reserve_and_others_bases),
		cmocka_unit_test(test_grant_bounded_by_boost_pool),
		cmocka_unit_test(test_shards_spread_interfaces),
		cmocka_unit_test(test_shard_frames_cover_the_umem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
