/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the request handler: raw request bytes go through the HTTP
 * parser, then mdr_serve with an instance context; the response
 * description (status, headers, body, IP TTL, keep-alive, side effects) is
 * checked as a client would see it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "serve.h"

#define UUID_A "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b"
#define UUID_B "0b6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b"
#define NOW 1700000000ull
#define USER_DATA "#!/bin/sh\necho hi\n"

struct fixture {
	struct mdr_defn *defn;
	struct mdr_token_keys keys;
	struct mdr_serve_inst inst;
	struct http_req req;
	struct mdr_serve_resp resp;
	struct mdr_render_ctx rnd;
	uint8_t rnd_fill;
};

/* Deterministic "randomness": a counter byte, so nonces differ per call. */
static void fake_random(void *buf, size_t len, void *opaque)
{
	struct fixture *f = opaque;
	memset(buf, f->rnd_fill++, len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	const char *json = "{\"uuid\": \"" UUID_A "\", \"user_data\": \"IyEvYmluL3NoCmVjaG8gaGkK\"}";
	char err[MDR_DEFN_ERR_SIZE];
	if (mdr_defn_parse(json, strlen(json), &f->defn, err, sizeof(err)) != 0)
		fail_msg("definition: %s", err);
	f->keys.cur_id = 9;
	memset(f->keys.cur, 0x42, sizeof(f->keys.cur));
	f->keys.prev_id = 8;
	memset(f->keys.prev, 0x41, sizeof(f->keys.prev));
	f->inst.id = 1;
	f->inst.uuid = UUID_A;
	f->inst.tokens = MDR_TOKENS_OPTIONAL;
	f->inst.hop_limit = 1;
	f->inst.defn = f->defn;
	f->inst.keys = &f->keys;
	f->rnd.random = fake_random;
	f->rnd.opaque = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	mdr_serve_resp_free(&f->resp);
	mdr_defn_free(f->defn);
	free(f);
	return 0;
}

/* Parse raw (must be one complete request) and serve it at time now. */
static int serve_at(struct fixture *f, const char *raw, uint64_t now)
{
	struct http_parser p;
	size_t used;
	http_parser_init(&p, 0);
	mdr_serve_resp_free(&f->resp);
	enum http_result r = http_parser_feed(&p, (const uint8_t *)raw, strlen(raw), &used, &f->req);
	if (r != HTTP_REQUEST)
		fail_msg("request did not parse (%d, status %d): %s", r, f->req.error_status, raw);
	assert_int_equal(used, strlen(raw));
	return mdr_serve(&f->req, &f->inst, now, &f->rnd, &f->resp);
}

static int serve(struct fixture *f, const char *raw)
{
	return serve_at(f, raw, NOW);
}

static const char *hdr(const struct mdr_serve_resp *r, const char *name)
{
	for (size_t i = 0; i < r->n_hdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* The body as a NUL-terminated string (MDR_SERVE_BODY only). */
static const char *body(const struct mdr_serve_resp *r)
{
	static char buf[8192];
	assert_int_equal(r->kind, MDR_SERVE_BODY);
	assert_true(r->content_length < sizeof(buf));
	memcpy(buf, r->body, r->content_length);
	buf[r->content_length] = '\0';
	return buf;
}

/* Mint a token through the handler (PUT) into out. */
static void get_token(struct fixture *f, const char *ttl, char *out, size_t cap)
{
	char raw[256];
	snprintf(raw, sizeof(raw), "PUT /latest/api/token HTTP/1.1\r\nHost: h\r\n"
		 "X-aws-ec2-metadata-token-ttl-seconds: %s\r\n\r\n", ttl);
	assert_int_equal(serve(f, raw), 200);
	assert_true(f->resp.content_length < cap);
	memcpy(out, f->resp.body, f->resp.content_length);
	out[f->resp.content_length] = '\0';
}

static int get_with_token(struct fixture *f, const char *path, const char *tok, uint64_t now)
{
	char raw[512];
	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: h\r\nX-aws-ec2-metadata-token: %s\r\n\r\n",
		 path, tok);
	return serve_at(f, raw, now);
}

/* ---- tree, HEAD ------------------------------------------------------- */

static void test_get_listing(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /openstack HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_TEXT);
	assert_non_null(strstr(body(&f->resp), "2012-08-10\n"));
	assert_true(f->resp.send_body);
	assert_true(f->resp.keep_alive);
	assert_int_equal(f->resp.ip_ttl, 0);
	assert_false(f->resp.store_password);
	assert_false(f->resp.token_issued);
}

static void test_user_data_is_blob(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /openstack/latest/user_data HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.kind, MDR_SERVE_BLOB);
	assert_int_equal(f->resp.blob, MDR_BLOB_USER_DATA);
	assert_int_equal(f->resp.content_length, strlen(USER_DATA));
}

static void test_unknown_path_404(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /latest/meta-data/nope HTTP/1.1\r\n\r\n"), 404);
	assert_true(f->resp.content_length > 0);
	assert_true(f->resp.keep_alive);
}

/* nova's error bodies are webob's, by Accept header; bytes from webob 1.8
 * (Debian 12) itself. */
#define WEBOB_404_HTML "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n" \
	"  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>"
#define WEBOB_404_TEXT "404 Not Found\n\nThe resource could not be found.\n\n   "
#define WEBOB_404_JSON "{\"message\": \"The resource could not be found.<br /><br />\\n\\n\\n\", " \
	"\"code\": \"404 Not Found\", \"title\": \"Not Found\"}"
static void test_error_bodies_as_webob(void **state)
{
	static const struct {
		const char *accept; /* NULL: no header */
		const char *ctype, *body;
	} cases[] = {
		{"*/*", "text/html; charset=UTF-8", WEBOB_404_HTML}, /* curl, requests */
		{NULL, "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"text/plain", "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"", "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"application/json", "application/json", WEBOB_404_JSON},
		{"application/*", "application/json", WEBOB_404_JSON},
		{"text/html;q=0, */*", "application/json", WEBOB_404_JSON},
		{"application/json;q=0.9, */*;q=0.9", "text/html; charset=UTF-8", WEBOB_404_HTML},
		{"application/json;q=0.9, text/html;q=0.8", "application/json", WEBOB_404_JSON},
		{"text/plain, , */*", "text/html; charset=UTF-8", WEBOB_404_HTML},
		{"text/html;level=1", "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"*/*;q=0", "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"image/png", "text/plain; charset=UTF-8", WEBOB_404_TEXT},
		{"foo", "text/html; charset=UTF-8", WEBOB_404_HTML}, /* invalid: all */
		{"TEXT/HTML", "text/html; charset=UTF-8", WEBOB_404_HTML},
	};
	struct fixture *f = *state;
	char raw[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].accept)
			snprintf(raw, sizeof(raw), "GET /latest/meta-data/nope HTTP/1.1\r\nAccept: %s\r\n\r\n",
				 cases[i].accept);
		else
			snprintf(raw, sizeof(raw), "GET /latest/meta-data/nope HTTP/1.1\r\n\r\n");
		int st = serve(f, raw);

		if (st != 404)
			fail_msg("Accept %s: status %d", cases[i].accept ? cases[i].accept : "(none)", st);
		if (strcmp(f->resp.content_type, cases[i].ctype) || strcmp(body(&f->resp), cases[i].body))
			fail_msg("Accept %s: got %s %s", cases[i].accept ? cases[i].accept : "(none)",
				 f->resp.content_type, body(&f->resp));
		assert_int_equal(f->resp.content_length, strlen(cases[i].body));
	}
	/* POST password when one is set: webob's 409 */
	f->inst.has_password = true;
	f->inst.password = "x";
	f->inst.password_len = 1;
	assert_int_equal(serve(f, "POST /openstack/latest/password HTTP/1.1\r\nAccept: */*\r\n"
				  "Content-Length: 3\r\n\r\nnew"), 409);
	assert_string_equal(body(&f->resp),
			    "<html>\n <head>\n  <title>409 Conflict</title>\n </head>\n <body>\n"
			    "  <h1>409 Conflict</h1>\n  There was a conflict when trying to complete "
			    "your request.<br /><br />\n\n\n\n </body>\n</html>");
}

static void test_head_same_head_no_body(void **state)
{
	struct fixture *f = *state;
	char get_head[HTTP_RESPONSE_HEAD_MAX], head_head[HTTP_RESPONSE_HEAD_MAX];
	assert_int_equal(serve(f, "GET /latest/meta-data/ HTTP/1.1\r\n\r\n"), 200);
	size_t n1 = mdr_serve_head(&f->resp, get_head, sizeof(get_head));
	size_t len_get = f->resp.content_length;
	assert_true(f->resp.send_body);
	assert_int_equal(serve(f, "HEAD /latest/meta-data/ HTTP/1.1\r\n\r\n"), 200);
	size_t n2 = mdr_serve_head(&f->resp, head_head, sizeof(head_head));
	assert_false(f->resp.send_body);
	assert_int_equal(f->resp.content_length, len_get);
	assert_true(len_get > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(get_head, head_head, n1);
}

static void test_head_of_blob(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "HEAD /latest/user-data HTTP/1.1\r\n\r\n"), 200);
	assert_false(f->resp.send_body);
	assert_int_equal(f->resp.content_length, strlen(USER_DATA));
}

static void test_unnormalisable_path_400(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /latest/%00 HTTP/1.1\r\n\r\n"), 400);
}

static void test_random_seed_uses_injected_randomness(void **state)
{
	struct fixture *f = *state;
	f->rnd_fill = 0x5a; /* 512 bytes of 'Z' -> base64 "WlpaWlpa..." */
	assert_int_equal(serve(f, "GET /openstack/latest/meta_data.json HTTP/1.1\r\n\r\n"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_JSON);
	assert_non_null(strstr(body(&f->resp), "\"random_seed\": \"WlpaWlpa"));
}

/* Credentials are decided by the wall clock at each request: mdr_serve (the
 * responder's path, with its ETag spy) passes the clock through to the
 * renderer, so a role valid now is served, and gone once it has expired. */
static int64_t wall_now_s;
static int64_t fake_wall(void *opaque)
{
	(void)opaque;
	return wall_now_s;
}

static void test_credentials_follow_the_wall_clock(void **state)
{
	struct fixture *f = *state;
	const char *json = "{\"uuid\": \"" UUID_A "\", \"iam\": {\"instance_profile_arn\": "
		"\"arn:aws:iam::123456789012:instance-profile/web\", \"instance_profile_id\": \"AIPA1\", "
		"\"credentials\": {\"web\": "
		"{\"AccessKeyId\": \"ASIA1\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
		"\"Expiration\": \"2023-11-14T23:00:00Z\"}}}}";
	char err[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d;

	if (mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)) != 0)
		fail_msg("definition: %s", err);
	f->inst.defn = d;
	f->rnd.wall = fake_wall;
	wall_now_s = 1700000000; /* 2023-11-14T22:13:20Z */
	assert_int_equal(serve(f, "GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\n\r\n"), 200);
	assert_string_equal(body(&f->resp), "web");
	assert_int_equal(serve(f, "GET /latest/meta-data/iam/security-credentials/web HTTP/1.1\r\n\r\n"), 200);
	assert_non_null(strstr(body(&f->resp), "\"AccessKeyId\" : \"ASIA1\""));
	wall_now_s = 1700002800; /* 2023-11-14T23:00:00Z: expired */
	assert_int_equal(serve(f, "GET /latest/meta-data/iam/security-credentials/web HTTP/1.1\r\n\r\n"), 404);
	f->inst.defn = f->defn;
	mdr_serve_resp_free(&f->resp);
	mdr_defn_free(d);
}

/* ---- methods ------------------------------------------------------------ */

static void test_method_not_allowed_table(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *req;
		const char *allow;
	} t[] = {
		{"DELETE /latest/meta-data HTTP/1.1", "GET, HEAD"},
		{"PUT /openstack HTTP/1.1", "GET, HEAD"},
		{"POST /latest/meta-data/ HTTP/1.1", "GET, HEAD"},
		{"OPTIONS / HTTP/1.1", "GET, HEAD"},
		{"get / HTTP/1.1", "GET, HEAD"},
		{"POST /openstack/latest/meta_data.json HTTP/1.1", "GET, HEAD"},
		{"GET /latest/api/token HTTP/1.1", "PUT"},
		{"HEAD /latest/api/token HTTP/1.1", "PUT"},
		{"POST /latest/api/token HTTP/1.1", "PUT"},
		{"PUT /openstack/latest/password HTTP/1.1", "GET, HEAD, POST"},
		{"DELETE /openstack/2013-04-04/password HTTP/1.1", "GET, HEAD, POST"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "%s\r\nHost: h\r\n\r\n", t[i].req);
		int st = serve(f, raw);
		if (st != 405)
			fail_msg("%s: status %d", t[i].req, st);
		const char *allow = hdr(&f->resp, "Allow");
		assert_non_null(allow);
		if (strcmp(allow, t[i].allow) != 0)
			fail_msg("%s: Allow %s, want %s", t[i].req, allow, t[i].allow);
	}
}

static void test_405_head_carries_allow(void **state)
{
	struct fixture *f = *state;
	char head[HTTP_RESPONSE_HEAD_MAX];
	assert_int_equal(serve(f, "GET /latest/api/token HTTP/1.1\r\n\r\n"), 405);
	size_t n = mdr_serve_head(&f->resp, head, sizeof(head));
	assert_true(n > 0);
	head[n] = '\0';
	assert_non_null(strstr(head, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(head, "\r\nAllow: PUT\r\n"));
}

/* ---- token PUT ---------------------------------------------------------- */

static void test_token_put_issues_token(void **state)
{
	struct fixture *f = *state;
	f->inst.hop_limit = 2;
	assert_int_equal(serve(f, "PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n"), 200);
	assert_string_equal(f->resp.content_type, "text/plain");
	assert_int_equal(f->resp.content_length, MDR_TOKEN_LEN);
	assert_int_equal(mdr_token_verify(&f->keys, UUID_A, f->resp.body, f->resp.content_length,
					  NOW + 21599), MDR_TOKEN_OK);
	assert_int_equal(mdr_token_verify(&f->keys, UUID_A, f->resp.body, f->resp.content_length,
					  NOW + 21600), MDR_TOKEN_EXPIRED);
	assert_string_equal(hdr(&f->resp, MDR_HDR_TOKEN_TTL), "21600");
	assert_int_equal(f->resp.ip_ttl, 2);
	assert_true(f->resp.token_issued);
	assert_true(f->resp.keep_alive);
	char head[HTTP_RESPONSE_HEAD_MAX];
	size_t n = mdr_serve_head(&f->resp, head, sizeof(head));
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"));
}

static void test_token_put_default_hop_limit_is_1(void **state)
{
	struct fixture *f = *state;
	f->inst.hop_limit = 0;
	assert_int_equal(serve(f, "PUT /latest/api/token HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 1\r\n\r\n"), 200);
	assert_int_equal(f->resp.ip_ttl, 1);
	assert_string_equal(hdr(&f->resp, MDR_HDR_TOKEN_TTL), "1");
}

static void test_token_put_bad_ttl_400(void **state)
{
	struct fixture *f = *state;
	static const char *const hdrs[] = {
		"",
		"X-aws-ec2-metadata-token-ttl-seconds: 0\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 21601\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 99999999999\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: abc\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: -1\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: +5\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 5 5\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 1.5\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds:\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 60\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n",
	};
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "PUT /latest/api/token HTTP/1.1\r\n%s\r\n", hdrs[i]);
		int st = serve(f, raw);
		if (st != 400)
			fail_msg("[%s]: status %d", hdrs[i], st);
		assert_false(f->resp.token_issued);
		assert_int_equal(f->resp.ip_ttl, 0);
	}
}

static void test_token_put_forwarded_for_400(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"X-Forwarded-For", "x-forwarded-for", "X-FORWARDED-FOR"};
	for (size_t i = 0; i < 3; i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "PUT /latest/api/token HTTP/1.1\r\n%s: 10.0.0.1\r\n"
			 "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n", names[i]);
		assert_int_equal(serve(f, raw), 400);
		assert_false(f->resp.token_issued);
	}
}

static void test_token_put_normalised_path(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "PUT /latest/api/token/ HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 200);
	assert_int_equal(serve(f, "PUT //latest/./api/token?x=1 HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 200);
}

static void test_token_nonce_from_random_source(void **state)
{
	struct fixture *f = *state;
	char a[MDR_TOKEN_BUF_SIZE], b[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", a, sizeof(a));
	get_token(f, "60", b, sizeof(b));
	assert_string_not_equal(a, b);
}

static void test_token_put_without_key_503(void **state)
{
	struct fixture *f = *state;
	f->keys.cur_id = 0;
	assert_int_equal(serve(f, "PUT /latest/api/token HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 503);
	assert_false(f->resp.token_issued);
	f->inst.keys = NULL;
	assert_int_equal(serve(f, "PUT /latest/api/token HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 503);
	/* v1 still works in optional mode */
	assert_int_equal(serve(f, "GET /latest/meta-data/ HTTP/1.1\r\n\r\n"), 200);
}

/* ---- tokens optional / required ----------------------------------------- */

static void test_optional_v1_get_works(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n"), 200);
}

static void test_optional_valid_token_works(void **state)
{
	struct fixture *f = *state;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", tok, sizeof(tok));
	assert_int_equal(get_with_token(f, "/latest/meta-data/instance-id", tok, NOW + 30), 200);
}

static void test_optional_bad_token_401(void **state)
{
	struct fixture *f = *state;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", tok, sizeof(tok));
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW + 60), 401); /* expired */
	assert_int_equal(f->resp.content_length, 0);
	assert_int_equal(get_with_token(f, "/latest/meta-data/", "garbage", NOW), 401);
	assert_int_equal(f->resp.content_length, 0);
	assert_true(f->resp.keep_alive);
}

static void test_required_no_token_401(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	f->inst.tokens_openstack = MDR_TOKENS_REQUIRED;
	static const char *const reqs[] = {
		"GET /latest/meta-data/ HTTP/1.1\r\n\r\n",
		"HEAD /latest/meta-data/ HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET /openstack/latest/user_data HTTP/1.1\r\n\r\n",
		"GET /openstack/latest/password HTTP/1.1\r\n\r\n",
		"POST /openstack/latest/password HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		int st = serve(f, reqs[i]);
		if (st != 401)
			fail_msg("%s: status %d", reqs[i], st);
		assert_int_equal(f->resp.content_length, 0);
		assert_false(f->resp.store_password);
	}
}

/* One policy per tree: each tree answers 401 to a token-less GET exactly
 * when its own policy is `required`; the other tree is untouched. */
static void test_token_policy_per_tree(void **state)
{
	static const struct {
		const char *path;
		bool openstack;
	} paths[] = {
		{"/", false},
		{"/latest/meta-data/instance-id", false},
		{"/ec2/2009-04-04/meta-data/", false},
		{"/2021-03-23/meta-data/placement/region", false},
		{"/openstack", true},
		{"/openstack/latest/meta_data.json", true},
		{"/openstack/2013-04-04/password", true},
		{"/openstack//latest/../2012-08-10/meta_data.json", true},
	};
	struct fixture *f = *state;
	char raw[256];

	for (int ec2 = 0; ec2 < 2; ec2++) {
		for (int os = 0; os < 2; os++) {
			f->inst.tokens = ec2 ? MDR_TOKENS_REQUIRED : MDR_TOKENS_OPTIONAL;
			f->inst.tokens_openstack = os ? MDR_TOKENS_REQUIRED : MDR_TOKENS_OPTIONAL;
			for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
				bool locked = paths[i].openstack ? os : ec2;

				snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\n\r\n", paths[i].path);
				int st = serve(f, raw);
				if (st != (locked ? 401 : 200))
					fail_msg("ec2 %d openstack %d %s: status %d", ec2, os,
						 paths[i].path, st);
			}
			/* the password POST follows the OpenStack policy */
			{
				int st = serve(f, "POST /openstack/latest/password HTTP/1.1\r\n"
						  "Content-Length: 1\r\n\r\nx");
				assert_int_equal(st, os ? 401 : 200);
				assert_int_equal(f->resp.store_password, !os);
			}
		}
	}
}

static void test_required_valid_token_200(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "21600", tok, sizeof(tok)); /* the PUT itself needs no token */
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW + 100), 200);
	assert_int_equal(get_with_token(f, "/openstack/latest/meta_data.json", tok, NOW + 100), 200);
}

static void test_required_expired_token_401(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "10", tok, sizeof(tok));
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW + 9), 200);
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW + 10), 401);
}

static void test_required_other_instance_token_401(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", tok, sizeof(tok));
	f->inst.uuid = UUID_B; /* same keys, another instance */
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW), 401);
}

static void test_required_malformed_token_401(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", tok, sizeof(tok));
	tok[5] = tok[5] == 'x' ? 'y' : 'x';
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW), 401);
	assert_int_equal(serve(f, "GET /latest/meta-data/ HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token:\r\n\r\n"), 401);
}

static void test_token_from_previous_key_accepted(void **state)
{
	struct fixture *f = *state;
	f->inst.tokens = MDR_TOKENS_REQUIRED;
	char tok[MDR_TOKEN_BUF_SIZE];
	get_token(f, "60", tok, sizeof(tok));
	/* rotate: the current key becomes previous */
	f->keys.prev_id = f->keys.cur_id;
	memcpy(f->keys.prev, f->keys.cur, sizeof(f->keys.prev));
	f->keys.cur_id = 10;
	memset(f->keys.cur, 0x43, sizeof(f->keys.cur));
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW), 200);
	/* rotate again: that key is gone */
	f->keys.prev_id = 10;
	f->keys.cur_id = 11;
	assert_int_equal(get_with_token(f, "/latest/meta-data/", tok, NOW), 401);
}

static void test_two_token_headers_400(void **state)
{
	struct fixture *f = *state;
	char tok[MDR_TOKEN_BUF_SIZE], raw[512];
	get_token(f, "60", tok, sizeof(tok));
	snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n"
		 "X-aws-ec2-metadata-token: %s\r\n\r\n", tok, tok);
	assert_int_equal(serve(f, raw), 400);
}

/* ---- password --------------------------------------------------------- */

static void test_password_get_unset_empty(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "GET /openstack/latest/password HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.content_length, 0);
	assert_string_equal(f->resp.content_type, MDR_CT_PASSWORD);
}

static void test_password_get_returns_stored(void **state)
{
	struct fixture *f = *state;
	f->inst.has_password = true;
	f->inst.password = "s3cret-blob";
	f->inst.password_len = 11;
	assert_int_equal(serve(f, "GET /openstack/2013-04-04/password HTTP/1.1\r\n\r\n"), 200);
	assert_string_equal(body(&f->resp), "s3cret-blob");
	assert_int_equal(serve(f, "HEAD /openstack/latest/password/ HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(f->resp.content_length, 11);
	assert_false(f->resp.send_body);
}

static void test_password_post_stores(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "POST /openstack/latest/password HTTP/1.1\r\n"
				  "Content-Length: 6\r\n\r\nhunter"), 200);
	assert_int_equal(f->resp.content_length, 0);
	assert_true(f->resp.store_password);
	assert_int_equal(f->resp.password_len, 6);
	assert_memory_equal(f->resp.password, "hunter", 6);
	assert_true(f->resp.keep_alive);
}

static void test_password_post_max_size(void **state)
{
	struct fixture *f = *state;
	char *raw = malloc(MDR_PASSWORD_MAX + 256);
	assert_non_null(raw);
	for (int n = MDR_PASSWORD_MAX; n <= MDR_PASSWORD_MAX + 1; n++) {
		int off = sprintf(raw, "POST /openstack/latest/password HTTP/1.1\r\n"
				  "Content-Length: %d\r\n\r\n", n);
		memset(raw + off, 'p', (size_t)n);
		raw[off + n] = '\0';
		int st = serve(f, raw);
		assert_int_equal(st, n > MDR_PASSWORD_MAX ? 400 : 200);
		assert_int_equal(f->resp.store_password, n <= MDR_PASSWORD_MAX);
	}
	free(raw);
}

static void test_password_post_conflict_409(void **state)
{
	struct fixture *f = *state;
	f->inst.has_password = true;
	f->inst.password = "old";
	f->inst.password_len = 3;
	assert_int_equal(serve(f, "POST /openstack/latest/password HTTP/1.1\r\n"
				  "Content-Length: 3\r\n\r\nnew"), 409);
	assert_false(f->resp.store_password);
}

static void test_password_empty_stored_counts_as_unset(void **state)
{
	struct fixture *f = *state;
	/* nova stores "" and then treats it as no password */
	f->inst.has_password = true;
	f->inst.password = "";
	f->inst.password_len = 0;
	assert_int_equal(serve(f, "POST /openstack/latest/password HTTP/1.1\r\n"
				  "Content-Length: 3\r\n\r\nnew"), 200);
	assert_true(f->resp.store_password);
}

static void test_password_old_version_404(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(serve(f, "POST /openstack/2012-08-10/password HTTP/1.1\r\n"
				  "Content-Length: 1\r\n\r\nx"), 404);
	assert_false(f->resp.store_password);
	assert_int_equal(serve(f, "GET /openstack/2012-08-10/password HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(serve(f, "POST /openstack/1999-01-01/password HTTP/1.1\r\n"
				  "Content-Length: 1\r\n\r\nx"), 404);
}

/* ---- unknown instance ------------------------------------------------- */

static void test_unknown_instance_only_root(void **state)
{
	struct fixture *f = *state;
	f->inst.defn = NULL;
	f->inst.tokens = MDR_TOKENS_REQUIRED; /* irrelevant without an instance */
	assert_int_equal(serve(f, "GET / HTTP/1.1\r\n\r\n"), 200);
	assert_non_null(strstr(body(&f->resp), "2009-04-04"));
	static const char *const reqs[] = {
		"GET /latest/meta-data/ HTTP/1.1\r\n\r\n",
		"GET /openstack HTTP/1.1\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n",
		"POST /openstack/latest/password HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
		"GET /openstack/latest/password HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		int st = serve(f, reqs[i]);
		if (st != 404)
			fail_msg("%s: status %d", reqs[i], st);
		assert_false(f->resp.token_issued);
		assert_false(f->resp.store_password);
	}
}

/* ---- connection handling ------------------------------------------------ */

static void test_keep_alive_follows_request(void **state)
{
	struct fixture *f = *state;
	char head[HTTP_RESPONSE_HEAD_MAX];
	assert_int_equal(serve(f, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 200);
	assert_false(f->resp.keep_alive);
	size_t n = mdr_serve_head(&f->resp, head, sizeof(head));
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nConnection: close\r\n"));
	assert_int_equal(serve(f, "GET / HTTP/1.0\r\n\r\n"), 200);
	assert_false(f->resp.keep_alive);
	assert_int_equal(serve(f, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 200);
	assert_true(f->resp.keep_alive);
	n = mdr_serve_head(&f->resp, head, sizeof(head));
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nConnection: keep-alive\r\n"));
	assert_int_equal(serve(f, "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n"), 404);
	assert_false(f->resp.keep_alive);
}

static void test_parser_error_response_closes(void **state)
{
	struct fixture *f = *state;
	char head[HTTP_RESPONSE_HEAD_MAX];
	static const int statuses[] = {400, 413, 414, 431, 501, 505};
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		mdr_serve_resp_free(&f->resp);
		mdr_serve_error(statuses[i], &f->resp);
		assert_int_equal(f->resp.status, statuses[i]);
		assert_false(f->resp.keep_alive);
		assert_true(f->resp.send_body);
		assert_string_equal(body(&f->resp), http_reason(statuses[i]));
		size_t n = mdr_serve_head(&f->resp, head, sizeof(head));
		assert_true(n > 0);
		head[n] = '\0';
		assert_non_null(strstr(head, "\r\nConnection: close\r\n"));
	}
}

/* Every response carries Date (RFC 9110 6.6.1), from the injected clock:
 * token replies with their TTL echo, 405s with Allow, parser errors once
 * the caller dates them. */
static void test_date_on_every_response(void **state)
{
	struct fixture *f = *state;
	char head[HTTP_RESPONSE_HEAD_MAX];
	size_t n;

	assert_int_equal(serve_at(f, "DELETE / HTTP/1.1\r\n\r\n", 86400), 405);
	n = mdr_serve_head(&f->resp, head, sizeof(head));
	assert_true(n > 0);
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nDate: Fri, 02 Jan 1970 00:00:00 GMT\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(serve(f, "PUT /latest/api/token HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"), 200);
	n = mdr_serve_head(&f->resp, head, sizeof(head));
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
				     "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"));
	mdr_serve_resp_free(&f->resp);
	mdr_serve_error(400, &f->resp);
	mdr_serve_date(&f->resp, NOW);
	n = mdr_serve_head(&f->resp, head, sizeof(head));
	head[n] = '\0';
	assert_non_null(strstr(head, "\r\nConnection: close\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n"));
}

static void test_full_response_head_bytes(void **state)
{
	struct fixture *f = *state;
	char head[HTTP_RESPONSE_HEAD_MAX];
	assert_int_equal(serve(f, "GET /latest/meta-data/ami-launch-index HTTP/1.1\r\n\r\n"), 200);
	size_t n = mdr_serve_head(&f->resp, head, sizeof(head));
	/* NOW = 1700000000 = Tue, 14 Nov 2023 22:13:20 GMT (IMF-fixdate) */
	/* The same bytes as before issue 18 plus the ETag every 200 carries:
	 * a hash of the content type (with its NUL) and the body. */
	uint64_t h = mdr_etag_update(MDR_ETAG_INIT, MDR_CT_TEXT, sizeof(MDR_CT_TEXT));
	char tag[MDR_ETAG_SIZE], want[512];
	mdr_etag_format(mdr_etag_final(mdr_etag_update(h, "0", 1)), tag);
	snprintf(want, sizeof(want),
		 "HTTP/1.1 200 OK\r\nServer: mdr\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		 "Content-Length: 1\r\nConnection: keep-alive\r\n"
		 "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nETag: %s\r\n\r\n", tag);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(head, want, n);
	assert_string_equal(body(&f->resp), "0");
	assert_int_equal(mdr_serve_head(&f->resp, head, 10), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_listing),
		T(test_user_data_is_blob),
		T(test_unknown_path_404),
		T(test_error_bodies_as_webob),
		T(test_head_same_head_no_body),
		T(test_head_of_blob),
		T(test_unnormalisable_path_400),
		T(test_random_seed_uses_injected_randomness),
		T(test_credentials_follow_the_wall_clock),
		T(test_method_not_allowed_table),
		T(test_405_head_carries_allow),
		T(test_token_put_issues_token),
		T(test_token_put_default_hop_limit_is_1),
		T(test_token_put_bad_ttl_400),
		T(test_token_put_forwarded_for_400),
		T(test_token_put_normalised_path),
		T(test_token_nonce_from_random_source),
		T(test_token_put_without_key_503),
		T(test_optional_v1_get_works),
		T(test_optional_valid_token_works),
		T(test_optional_bad_token_401),
		T(test_required_no_token_401),
		T(test_required_valid_token_200),
		T(test_required_expired_token_401),
		T(test_required_other_instance_token_401),
		T(test_required_malformed_token_401),
		T(test_token_from_previous_key_accepted),
		T(test_two_token_headers_400),
		T(test_password_get_unset_empty),
		T(test_password_get_returns_stored),
		T(test_password_post_stores),
		T(test_password_post_max_size),
		T(test_password_post_conflict_409),
		T(test_password_empty_stored_counts_as_unset),
		T(test_password_old_version_404),
		T(test_unknown_instance_only_root),
		T(test_keep_alive_follows_request),
		T(test_parser_error_response_closes),
		T(test_date_on_every_response),
		T(test_token_policy_per_tree),
		T(test_full_response_head_bytes),
	};
	return cmocka_run_group_tests_name("serve", tests, NULL, NULL);
}
