/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the responder's fast-path hooks and rewrites in the pure
 * cores (docs/perf.md):
 *  - mdr_serve's render hook (a memo of rendered replies): it gets the raw
 *    and the normalised path, its borrowed bodies are served as is and
 *    never freed by the handler, and a request it is not asked about
 *    (token PUT, error) does not reach it;
 *  - mdr_reply_free leaves borrowed bodies alone;
 *  - pkt_csum_add (word-at-a-time) equals the RFC 1071 definition (sum of
 *    big-endian 16-bit words) for every length, alignment and carry-in;
 *  - http_response_head (no printf) writes exactly the documented head and
 *    refuses a buffer one byte too short.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"
#include "pkt.h"
#include "render.h"
#include "serve.h"

#define UUID_A "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b"
#define NOW 1700000000ull
/* Checksum test data: longer than any frame, odd, to cover every tail. */
#define CSUM_BUF 9001

/* ---- serve's render hook ---------------------------------------------- */

struct hook_fixture {
	struct mdr_defn *defn;
	struct mdr_serve_inst inst;
	struct http_req req;
	struct mdr_serve_resp resp;
	struct mdr_render_ctx rnd;
	/* what the hook saw and answers */
	int calls;
	char raw[256], norm[256];
	struct mdr_reply answer;
};

static char memo_body[] = "i-memoised"; /* static: freeing it would crash */

static int hook(void *opaque, const struct mdr_defn *defn, const char *raw_path,
		const char *norm_path, const struct mdr_render_ctx *rnd, struct mdr_reply *out)
{
	struct hook_fixture *f = opaque;

	(void)rnd;
	assert_ptr_equal(defn, f->defn);
	f->calls++;
	snprintf(f->raw, sizeof(f->raw), "%s", raw_path);
	snprintf(f->norm, sizeof(f->norm), "%s", norm_path);
	*out = f->answer;
	return 0;
}

static int hook_setup(void **state)
{
	struct hook_fixture *f = calloc(1, sizeof(*f));
	const char *json = "{\"uuid\": \"" UUID_A "\", \"user_data\": \"aGk=\"}";
	char err[MDR_DEFN_ERR_SIZE];

	assert_non_null(f);
	if (mdr_defn_parse(json, strlen(json), &f->defn, err, sizeof(err)) != 0)
		fail_msg("definition: %s", err);
	f->inst.id = 1;
	f->inst.uuid = UUID_A;
	f->inst.tokens = MDR_TOKENS_OPTIONAL;
	f->inst.defn = f->defn;
	f->inst.render = hook;
	f->inst.render_opaque = f;
	f->answer = (struct mdr_reply){
		.status = 200, .content_type = MDR_CT_TEXT, .kind = MDR_REPLY_BODY,
		.body = memo_body, .body_len = strlen(memo_body), .borrowed = true,
	};
	*state = f;
	return 0;
}

static int hook_teardown(void **state)
{
	struct hook_fixture *f = *state;

	mdr_serve_resp_free(&f->resp);
	mdr_defn_free(f->defn);
	free(f);
	return 0;
}

static int hook_serve(struct hook_fixture *f, const char *raw)
{
	struct http_parser p;
	size_t used;

	http_parser_init(&p, 0);
	mdr_serve_resp_free(&f->resp);
	if (http_parser_feed(&p, (const uint8_t *)raw, strlen(raw), &used, &f->req) != HTTP_REQUEST)
		fail_msg("request did not parse: %s", raw);
	return mdr_serve(&f->req, &f->inst, NOW, &f->rnd, &f->resp);
}

static void test_hook_gets_raw_and_normalised_path(void **state)
{
	struct hook_fixture *f = *state;

	assert_int_equal(hook_serve(f, "GET //latest/./meta-data/%69nstance-id/?x=1 HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->raw, "//latest/./meta-data/%69nstance-id/?x=1");
	assert_string_equal(f->norm, "/latest/meta-data/instance-id");
}

static void test_hook_borrowed_body_served_not_freed(void **state)
{
	struct hook_fixture *f = *state;

	assert_int_equal(hook_serve(f, "GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.kind, MDR_SERVE_BODY);
	assert_ptr_equal(f->resp.body, memo_body);
	assert_int_equal(f->resp.content_length, strlen(memo_body));
	assert_string_equal(f->resp.content_type, MDR_CT_TEXT);
	assert_true(f->resp.keep_alive);
	mdr_serve_resp_free(&f->resp); /* must not free the static body */
	assert_string_equal(memo_body, "i-memoised");
}

static void test_hook_blob_reply(void **state)
{
	struct hook_fixture *f = *state;

	f->answer = (struct mdr_reply){ .status = 200, .content_type = MDR_CT_TEXT,
					.kind = MDR_REPLY_BLOB, .blob = MDR_BLOB_USER_DATA,
					.blob_len = 2, .borrowed = true };
	assert_int_equal(hook_serve(f, "GET /latest/user-data HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.kind, MDR_SERVE_BLOB);
	assert_int_equal(f->resp.blob, MDR_BLOB_USER_DATA);
	assert_int_equal(f->resp.content_length, 2);
}

static void test_hook_password_reply_uses_stored_password(void **state)
{
	struct hook_fixture *f = *state;

	f->answer = (struct mdr_reply){ .status = 200, .content_type = MDR_CT_PASSWORD,
					.kind = MDR_REPLY_PASSWORD, .borrowed = true };
	f->inst.has_password = true;
	f->inst.password = "s3cret";
	f->inst.password_len = 6;
	assert_int_equal(hook_serve(f, "GET /openstack/latest/password HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.content_length, 6);
	assert_memory_equal(f->resp.body, "s3cret", 6);
}

static void test_hook_not_asked_for_token_put(void **state)
{
	struct hook_fixture *f = *state;

	/* No key: 503, decided before the tree. */
	assert_int_equal(hook_serve(f, "PUT /latest/api/token HTTP/1.1\r\n"
				    "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 503);
	assert_int_equal(f->calls, 0);
}

static void test_hook_not_asked_for_wrong_method(void **state)
{
	struct hook_fixture *f = *state;

	assert_int_equal(hook_serve(f, "DELETE /latest/meta-data HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(f->calls, 0);
}

static int failing_hook(void *opaque, const struct mdr_defn *defn, const char *raw_path,
			const char *norm_path, const struct mdr_render_ctx *rnd,
			struct mdr_reply *out)
{
	(void)opaque; (void)defn; (void)raw_path; (void)norm_path; (void)rnd;
	memset(out, 0, sizeof(*out));
	return -1; /* out of memory */
}

static void test_hook_failure_is_500(void **state)
{
	struct hook_fixture *f = *state;

	f->inst.render = failing_hook;
	assert_int_equal(hook_serve(f, "GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n"), 500);
}

static void test_no_hook_renders_itself(void **state)
{
	struct hook_fixture *f = *state;

	f->inst.render = NULL;
	assert_int_equal(hook_serve(f, "GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->calls, 0);
	assert_ptr_not_equal(f->resp.body, memo_body);
	assert_true(f->resp.content_length > 0);
}

static void test_reply_free_leaves_borrowed_body(void **state)
{
	struct mdr_reply r = { .body = memo_body, .body_len = 3, .borrowed = true };

	(void)state;
	mdr_reply_free(&r);
	assert_null(r.body);
	assert_false(r.borrowed);
	assert_string_equal(memo_body, "i-memoised");
}

/* ---- pkt_csum_add -------------------------------------------------------- */

/* RFC 1071 by the letter: big-endian 16-bit words, odd byte padded. */
static uint32_t csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void test_csum_matches_definition(void **state)
{
	static const uint32_t carry_in[] = { 0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe,
					     0x7fffffffu, 0xffffffffu };
	static const uint8_t fills[] = { 0x00, 0xff, 0x5a };
	uint8_t *buf = malloc(CSUM_BUF + 8);
	uint32_t rng = 12345;

	(void)state;
	assert_non_null(buf);
	for (size_t f = 0; f < sizeof(fills) + 1; f++) {
		for (size_t i = 0; i < CSUM_BUF + 8; i++) {
			rng = rng * 1103515245u + 12345u;
			buf[i] = f < sizeof(fills) ? fills[f] : (uint8_t)(rng >> 16);
		}
		for (size_t len = 0; len <= CSUM_BUF; len += len < 80 ? 1 : 499)
			for (size_t off = 0; off < 8; off++)
				for (size_t c = 0; c < sizeof(carry_in) / sizeof(carry_in[0]); c++) {
					uint32_t got = pkt_csum_add(carry_in[c], buf + off, len);
					uint32_t want = csum_ref(carry_in[c], buf + off, len);
					if (got != want)
						fail_msg("len %zu off %zu sum 0x%x fill %zu: got 0x%x want 0x%x",
							 len, off, carry_in[c], f, got, want);
				}
	}
	free(buf);
}

static void test_csum_chains(void **state)
{
	/* Summing in pieces (even split points) equals summing at once. */
	uint8_t buf[1500];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t cut = 0; cut <= sizeof(buf); cut += 2)
		assert_int_equal(pkt_csum_fold(pkt_csum_add(pkt_csum_add(0, buf, cut),
							    buf + cut, sizeof(buf) - cut)),
				 pkt_csum_fold(pkt_csum_add(0, buf, sizeof(buf))));
}

/* ---- http_response_head -------------------------------------------------- */

static void test_head_exact_bytes(void **state)
{
	static const struct {
		int status;
		const char *ct;
		size_t len;
		int keep_alive;
		size_t n_extra;
		const char *want;
	} cases[] = {
		{ 200, "text/plain", 10, 1, 0,
		  "HTTP/1.1 200 OK\r\nServer: mdr\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 10\r\nConnection: keep-alive\r\n\r\n" },
		{ 404, NULL, 0, 0, 0,
		  "HTTP/1.1 404 Not Found\r\nServer: mdr\r\nContent-Length: 0\r\n"
		  "Connection: close\r\n\r\n" },
		{ 405, "text/plain", 18446744073709551615ull, 1, 1,
		  "HTTP/1.1 405 Method Not Allowed\r\nServer: mdr\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 18446744073709551615\r\nConnection: keep-alive\r\n"
		  "Allow: GET, HEAD\r\n\r\n" },
		{ 299, "", 65536, 0, 2,
		  "HTTP/1.1 299 Unknown\r\nServer: mdr\r\nContent-Type: \r\n"
		  "Content-Length: 65536\r\nConnection: close\r\nAllow: GET, HEAD\r\n"
		  "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n" },
	};
	static const struct http_hdr extra[] = {
		{ "Allow", "GET, HEAD" },
		{ "X-aws-ec2-metadata-token-ttl-seconds", "21600" },
	};
	char buf[HTTP_RESPONSE_HEAD_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = http_response_head(buf, sizeof(buf), cases[i].status, cases[i].ct,
					      cases[i].len, cases[i].keep_alive, extra,
					      cases[i].n_extra);
		assert_int_equal(n, strlen(cases[i].want));
		assert_string_equal(buf, cases[i].want); /* NUL-terminated too */
	}
}

static void test_head_needs_room_for_nul(void **state)
{
	char buf[HTTP_RESPONSE_HEAD_MAX];
	size_t n = http_response_head(buf, sizeof(buf), 200, "text/plain", 7, 1, NULL, 0);

	(void)state;
	assert_true(n > 0);
	assert_int_equal(http_response_head(buf, n + 1, 200, "text/plain", 7, 1, NULL, 0), n);
	assert_int_equal(http_response_head(buf, n, 200, "text/plain", 7, 1, NULL, 0), 0);
	assert_int_equal(http_response_head(buf, 0, 200, "text/plain", 7, 1, NULL, 0), 0);
}

static void test_head_refuses_bad_input(void **state)
{
	static const struct http_hdr bad_name[] = { { "Bad Name", "v" } };
	static const struct http_hdr bad_value[] = { { "X", "a\r\nInjected: 1" } };
	char buf[HTTP_RESPONSE_HEAD_MAX];

	(void)state;
	assert_int_equal(http_response_head(buf, sizeof(buf), 99, NULL, 0, 1, NULL, 0), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 1000, NULL, 0, 1, NULL, 0), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, "a\nb", 0, 1, NULL, 0), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, bad_name, 1), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, bad_value, 1), 0);
}

int main(void)
{
#define H(fn) cmocka_unit_test_setup_teardown(fn, hook_setup, hook_teardown)
	const struct CMUnitTest tests[] = {
		H(test_hook_gets_raw_and_normalised_path),
		H(test_hook_borrowed_body_served_not_freed),
		H(test_hook_blob_reply),
		H(test_hook_password_reply_uses_stored_password),
		H(test_hook_not_asked_for_token_put),
		H(test_hook_not_asked_for_wrong_method),
		H(test_hook_failure_is_500),
		H(test_no_hook_renders_itself),
		cmocka_unit_test(test_reply_free_leaves_borrowed_body),
		cmocka_unit_test(test_csum_matches_definition),
		cmocka_unit_test(test_csum_chains),
		cmocka_unit_test(test_head_exact_bytes),
		cmocka_unit_test(test_head_needs_room_for_nul),
		cmocka_unit_test(test_head_refuses_bad_input),
	};
#undef H
	return cmocka_run_group_tests_name("fastpath", tests, NULL, NULL);
}
