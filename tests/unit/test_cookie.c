/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests for the SYN cookie core (user/core/cookie.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cookie.h"
#include "hash.h"

#define SEC 1000000000ull
#define T0 (1000ull * SEC) /* any monotonic origin */
#define CISN 0x12345678u

static const uint8_t key[MDR_COOKIE_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static struct mdr_cookie_tuple tuple4(void)
{
	struct mdr_cookie_tuple t;
	const uint8_t l[4] = {169, 254, 169, 254}, r[4] = {10, 0, 0, 5};

	memset(&t, 0, sizeof(t));
	t.instance_id = 7;
	t.family = 4;
	memcpy(t.local, l, 4);
	memcpy(t.remote, r, 4);
	t.lport = 80;
	t.rport = 40000;
	return t;
}

static uint32_t make_at(const struct mdr_cookie_tuple *t, uint64_t now, unsigned idx)
{
	return mdr_cookie_make(key, t, CISN, mdr_cookie_slot(now), idx);
}

/* The hash is SipHash-2-4 of struct mdr_cookie_in exactly as laid out in
 * the ABI header: what the BPF twin hashes. */
static void test_format_is_the_abi_struct(void **state)
{
	struct mdr_cookie_tuple t = tuple4();
	struct mdr_cookie_in ci;
	uint64_t h;

	(void)state;
	memset(&ci, 0, sizeof(ci));
	ci.instance_id = 7;
	ci.family = 4;
	ci.mss_idx = 5;
	memcpy(ci.local, t.local, 4);
	memcpy(ci.remote, t.remote, 4);
	ci.lport = 80;
	ci.rport = 40000;
	ci.cisn = CISN;
	ci.slot = 99;
	h = mdr_siphash(key, &ci, sizeof(ci));
	assert_int_equal(mdr_cookie_make(key, &t, CISN, 99, 5),
			 ((uint32_t)(h ^ (h >> 32)) & ~7u) | 5u);
}

static void test_valid_now_and_next_slot_then_expires(void **state)
{
	struct mdr_cookie_tuple t = tuple4();
	uint32_t c = make_at(&t, T0, 7);

	(void)state;
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0), 1460);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0 + MDR_COOKIE_SLOT_NS), 1460);
	/* a clock a little behind XDP's (the responder's batch time) */
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0 - MDR_COOKIE_SLOT_NS), 1460);
	/* two slots later (128 s at least): expired */
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0 + 2 * MDR_COOKIE_SLOT_NS), 0);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0 + 180 * SEC + MDR_COOKIE_SLOT_NS), 0);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0 - 2 * MDR_COOKIE_SLOT_NS), 0);
}

static void test_wrong_key_refused(void **state)
{
	struct mdr_cookie_tuple t = tuple4();
	uint8_t k2[MDR_COOKIE_KEY_LEN];
	uint32_t c = make_at(&t, T0, 3);

	(void)state;
	memcpy(k2, key, sizeof(k2));
	k2[15] ^= 1;
	assert_int_equal(mdr_cookie_check(k2, &t, CISN, c, T0), 0);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0), 1220);
}

static void test_wrong_tuple_refused(void **state)
{
	struct mdr_cookie_tuple t = tuple4(), u;
	uint32_t c = make_at(&t, T0, 2);

	(void)state;
	u = t;
	u.rport++;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	u = t;
	u.lport = 8080;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	u = t;
	u.remote[3] ^= 1;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	u = t;
	u.local[0] ^= 1;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	u = t;
	u.instance_id = 8; /* same addresses behind another port */
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	u = t;
	u.family = 6;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	/* another peer ISN */
	assert_int_equal(mdr_cookie_check(key, &t, CISN + 1, c, T0), 0);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0), 1024);
}

/* Every MSS index round-trips; changing the low bits (another MSS) breaks
 * the cookie: the index is hashed. */
static void test_every_mss_index(void **state)
{
	static const uint16_t want[MDR_COOKIE_MSS_N] = MDR_COOKIE_MSS;
	struct mdr_cookie_tuple t = tuple4();

	(void)state;
	for (unsigned i = 0; i < MDR_COOKIE_MSS_N; i++) {
		uint32_t c = make_at(&t, T0, i);

		assert_int_equal(c & 7u, i);
		assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0), want[i]);
		assert_int_equal(mdr_cookie_mss_idx(want[i]), i);
		assert_int_equal(mdr_cookie_mss_idx((uint16_t)(want[i] + 1)), i);
		for (unsigned j = 0; j < MDR_COOKIE_MSS_N; j++)
			if (j != i)
				assert_int_equal(
					mdr_cookie_check(key, &t, CISN, (c & ~7u) | j, T0), 0);
	}
	/* no option, tiny and huge options */
	assert_int_equal(mdr_cookie_mss_idx(0), 0);
	assert_int_equal(mdr_cookie_mss_idx(100), 0);
	assert_int_equal(mdr_cookie_mss_idx(767), 0);
	assert_int_equal(mdr_cookie_mss_idx(65535), 7);
}

static void test_ipv6_uses_all_bytes(void **state)
{
	struct mdr_cookie_tuple t = tuple4(), u;
	uint32_t c;

	(void)state;
	t.family = 6;
	memset(t.local, 0xfd, 16);
	memset(t.remote, 0xfe, 16);
	c = make_at(&t, T0, 6);
	assert_int_equal(mdr_cookie_check(key, &t, CISN, c, T0), 1440);
	u = t;
	u.remote[15] ^= 1;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 0);
	/* an IPv4 tuple ignores bytes 4..15 */
	t = tuple4();
	c = make_at(&t, T0, 1);
	u = t;
	u.remote[9] = 0x55;
	assert_int_equal(mdr_cookie_check(key, &u, CISN, c, T0), 768);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_is_the_abi_struct),
		cmocka_unit_test(test_valid_now_and_next_slot_then_expires),
		cmocka_unit_test(test_wrong_key_refused),
		cmocka_unit_test(test_wrong_tuple_refused),
		cmocka_unit_test(test_every_mss_index),
		cmocka_unit_test(test_ipv6_uses_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
