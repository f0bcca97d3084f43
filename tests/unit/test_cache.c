/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The responder's memo of rendered replies (user/responder/cache.c,
 * compiled in: only rsp_cache_render's bounds are tested here, with no
 * maps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../user/responder/cache.c"
#include "defn_samples.h"

#define MISS_PATHS 2000 /* more distinct absent paths than the memo holds */

static int render(struct rsp_inst *i, const char *path, bool *memoised)
{
	struct mdr_render_ctx ctx = { .remote_ip = "10.0.0.5" };
	struct mdr_reply out;
	int status;

	assert_int_equal(rsp_cache_render(i, i->defn, path, path, &ctx, &out), 0);
	status = out.status;
	*memoised = out.borrowed;
	mdr_reply_free(&out);
	return status;
}

/* A guest asking for many made-up paths fills only the small budget for
 * misses: its real tree is still memoised afterwards. */
static void test_404s_do_not_fill_the_memo(void **state)
{
	struct rsp_cache *c = rsp_cache_new(NULL);
	struct rsp_inst *i = calloc(1, sizeof(*i));
	char path[64];
	bool memo;

	(void)state;
	assert_non_null(c);
	assert_non_null(i);
	i->cache = c;
	i->defn = load(SAMPLE_FULL);
	for (int k = 0; k < MISS_PATHS; k++) {
		snprintf(path, sizeof(path), "/latest/meta-data/nope-%d", k);
		assert_int_equal(render(i, path, &memo), 404);
	}
	assert_int_equal(i->memo_misses, RSP_MEMO_MAX_MISSES);
	assert_int_equal(i->memo_n, 0);
	/* a repeated miss within the budget is answered from the memo */
	assert_int_equal(render(i, "/latest/meta-data/nope-0", &memo), 404);
	assert_true(memo);
	/* the real tree is still memoised */
	assert_int_equal(render(i, "/latest/meta-data/hostname", &memo), 200);
	assert_true(memo);
	assert_int_equal(i->memo_n, 1);
	inst_free(c, i);
	rsp_cache_free(c);
}

static int64_t wall_now;

static int64_t test_wall(void *opaque)
{
	(void)opaque;
	return wall_now;
}

/* Credentials depend on the clock: never answered from the memo, so the
 * second their Expiration is reached they are gone (a memoised copy would
 * serve a stale key). */
static void test_credentials_never_memoised(void **state)
{
	static const char defn[] =
		"{\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\", \"iam\": "
		"{\"instance_profile_arn\": \"arn:aws:iam::1:instance-profile/r\", "
		"\"credentials\": {\"r\": {\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
		"\"Token\": \"T\", \"Expiration\": \"2026-12-07T12:00:00Z\"}}}}";
	static const char *path = "/latest/meta-data/iam/security-credentials/r";
	struct mdr_render_ctx ctx = { .remote_ip = "10.0.0.5", .wall = test_wall };
	struct rsp_cache *c = rsp_cache_new(NULL);
	struct rsp_inst *i = calloc(1, sizeof(*i));
	struct mdr_reply out;

	(void)state;
	assert_non_null(c);
	assert_non_null(i);
	i->cache = c;
	i->defn = load(defn);
	wall_now = 1796644800 - 1; /* one second before Expiration */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(rsp_cache_render(i, i->defn, path, path, &ctx, &out), 0);
		assert_int_equal(out.status, 200);
		assert_false(out.borrowed);
		mdr_reply_free(&out);
	}
	wall_now++;
	assert_int_equal(rsp_cache_render(i, i->defn, path, path, &ctx, &out), 0);
	assert_int_equal(out.status, 404);
	mdr_reply_free(&out);
	assert_int_equal(i->memo_n, 0);
	inst_free(c, i);
	rsp_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_404s_do_not_fill_the_memo),
		cmocka_unit_test(test_credentials_never_memoised),
	};

	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
