/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of the HTTP/1.1 request parser and response head builder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"

/* Requests or errors one input can produce in these tests. */
#define MAX_OUT 8

struct outcome {
	int n;                  /* requests completed */
	struct http_req req[MAX_OUT];
	int error;              /* 0, or the error status */
	size_t err_offset;      /* bytes consumed up to the error */
	bool busy;              /* parser busy at the end of input */
};

/* Feed s (len bytes) in chunks of `chunk` bytes (0 = all at once),
 * re-feeding leftovers after each request like the responder does. */
static void run(const void *s, size_t len, size_t chunk, uint32_t max_req,
		struct outcome *o)
{
	static struct http_req req;
	struct http_parser p;
	const uint8_t *d = s;
	memset(o, 0, sizeof(*o));
	http_parser_init(&p, max_req);
	size_t off = 0;
	while (off < len && !o->error) {
		size_t n = chunk && chunk < len - off ? chunk : len - off;
		size_t done = 0;
		while (done < n) {
			size_t used;
			enum http_result r = http_parser_feed(&p, d + off + done, n - done, &used, &req);
			assert_true(used <= n - done);
			done += used;
			if (r == HTTP_REQUEST) {
				assert_true(o->n < MAX_OUT);
				o->req[o->n++] = req;
			} else if (r == HTTP_ERROR) {
				o->error = req.error_status;
				o->err_offset = off + done;
				return;
			} else {
				assert_int_equal(done, n);
			}
		}
		off += n;
	}
	o->busy = http_parser_busy(&p);
}

static void run_str(const char *s, struct outcome *o)
{
	run(s, strlen(s), 0, 0, o);
}

/* The error status of s fed whole and byte by byte (they must agree). */
static int error_of(const char *s)
{
	struct outcome *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	run(s, strlen(s), 0, 0, a);
	run(s, strlen(s), 1, 0, b);
	assert_int_equal(a->error, b->error);
	assert_int_equal(a->n, b->n);
	int e = a->error;
	free(a);
	free(b);
	return e;
}

static void assert_same_req(const struct http_req *a, const struct http_req *b)
{
	assert_int_equal(a->method, b->method);
	assert_string_equal(a->method_name, b->method_name);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->target_len, b->target_len);
	assert_int_equal(a->version_minor, b->version_minor);
	assert_int_equal(a->keep_alive, b->keep_alive);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->body_len, b->body_len);
	assert_memory_equal(a->body, b->body, a->body_len);
	assert_int_equal(a->token.count, b->token.count);
	assert_string_equal(a->token.value, b->token.value);
	assert_int_equal(a->token_ttl.count, b->token_ttl.count);
	assert_string_equal(a->token_ttl.value, b->token_ttl.value);
	assert_string_equal(a->host.value, b->host.value);
	assert_string_equal(a->accept.value, b->accept.value);
	assert_int_equal(a->forwarded_for, b->forwarded_for);
	assert_int_equal(a->n_headers, b->n_headers);
	assert_int_equal(a->head_len, b->head_len);
}

static struct outcome out1, out2;

static void test_simple_get(void **state)
{
	(void)state;
	run_str("GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n"
		"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", &out1);
	assert_int_equal(out1.error, 0);
	assert_int_equal(out1.n, 1);
	const struct http_req *r = &out1.req[0];
	assert_int_equal(r->method, HTTP_M_GET);
	assert_string_equal(r->method_name, "GET");
	assert_string_equal(r->target, "/latest/meta-data/");
	assert_int_equal(r->target_len, 18);
	assert_int_equal(r->version_minor, 1);
	assert_true(r->keep_alive);
	assert_string_equal(r->host.value, "169.254.169.254");
	assert_string_equal(r->accept.value, "*/*");
	assert_int_equal(r->n_headers, 3);
	assert_int_equal(r->body_len, 0);
	assert_int_equal(r->token.count, 0);
	assert_false(r->forwarded_for);
	assert_false(out1.busy);
}

static const char *const valid_inputs[] = {
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\n"
	"X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n",
	"POST /openstack/latest/password HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
	"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n",
	"\r\n\r\nGET /x?y=1 HTTP/1.1\nHost: z\n\n",
	"GET http://169.254.169.254/latest HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n"
	"x-aws-ec2-metadata-token:   tok  \r\n\r\n",
};

static void test_split_any_byte_equals_one_shot(void **state)
{
	(void)state;
	static const size_t chunks[] = {1, 2, 3, 5, 7, 13};
	for (size_t i = 0; i < sizeof(valid_inputs) / sizeof(valid_inputs[0]); i++) {
		const char *s = valid_inputs[i];
		run(s, strlen(s), 0, 0, &out1);
		assert_int_equal(out1.error, 0);
		assert_true(out1.n >= 1);
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			run(s, strlen(s), chunks[c], 0, &out2);
			assert_int_equal(out2.error, 0);
			assert_int_equal(out2.n, out1.n);
			for (int k = 0; k < out1.n; k++)
				assert_same_req(&out1.req[k], &out2.req[k]);
		}
	}
}

static void test_pipelined_requests_in_order(void **state)
{
	(void)state;
	const char *s = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
			"HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
			"GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct http_parser p;
	static struct http_req req;
	http_parser_init(&p, 0);
	const uint8_t *d = (const uint8_t *)s;
	size_t len = strlen(s), used;
	const char *targets[] = {"/1", "/2", "/3"};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(http_parser_feed(&p, d, len, &used, &req), HTTP_REQUEST);
		assert_string_equal(req.target, targets[k]);
		assert_int_equal(req.keep_alive, k != 2);
		d += used;
		len -= used;
	}
	assert_int_equal(len, 0);
	assert_int_equal(http_parser_feed(&p, d, len, &used, &req), HTTP_NEED_MORE);
	assert_int_equal(used, 0);
}

static void test_pipelined_after_body(void **state)
{
	(void)state;
	run_str("POST /openstack/latest/password HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
		"GET /next HTTP/1.1\r\n\r\n", &out1);
	assert_int_equal(out1.error, 0);
	assert_int_equal(out1.n, 2);
	assert_int_equal(out1.req[0].method, HTTP_M_POST);
	assert_int_equal(out1.req[0].body_len, 3);
	assert_memory_equal(out1.req[0].body, "abc", 3);
	assert_string_equal(out1.req[1].target, "/next");
	assert_int_equal(out1.req[1].body_len, 0);
}

static void test_body_split_across_feeds(void **state)
{
	(void)state;
	char s[256];
	char body[101];
	memset(body, 'p', 100);
	body[100] = '\0';
	snprintf(s, sizeof(s), "POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\n%s", body);
	run(s, strlen(s) - 1, 7, 0, &out1);
	assert_int_equal(out1.n, 0);
	assert_true(out1.busy); /* waiting for the last body byte */
	run(s, strlen(s), 7, 0, &out1);
	assert_int_equal(out1.n, 1);
	assert_int_equal(out1.req[0].body_len, 100);
	assert_memory_equal(out1.req[0].body, body, 100);
}

static void test_methods_identified(void **state)
{
	(void)state;
	static const struct {
		const char *m;
		enum http_method id;
	} t[] = {
		{"GET", HTTP_M_GET}, {"HEAD", HTTP_M_HEAD}, {"PUT", HTTP_M_PUT},
		{"POST", HTTP_M_POST}, {"DELETE", HTTP_M_OTHER}, {"OPTIONS", HTTP_M_OTHER},
		{"get", HTTP_M_OTHER}, /* methods are case-sensitive */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char s[128];
		snprintf(s, sizeof(s), "%s / HTTP/1.1\r\n\r\n", t[i].m);
		run_str(s, &out1);
		assert_int_equal(out1.n, 1);
		assert_int_equal(out1.req[0].method, t[i].id);
		assert_string_equal(out1.req[0].method_name, t[i].m);
		assert_string_equal(http_method_str(&out1.req[0]), t[i].m);
	}
}

static void test_keep_alive_decision(void **state)
{
	(void)state;
	static const struct {
		const char *ver;
		const char *hdrs;
		bool keep;
	} t[] = {
		{"1.1", "", true},
		{"1.1", "Connection: close\r\n", false},
		{"1.1", "connection: CLOSE\r\n", false},
		{"1.1", "Connection: keep-alive\r\n", true},
		{"1.1", "Connection: keep-alive, close\r\n", false},
		{"1.1", "Connection: Upgrade\r\nConnection: close\r\n", false},
		{"1.0", "", false},
		{"1.0", "Connection: keep-alive\r\n", true},
		{"1.0", "Connection: Keep-Alive\r\n", true},
		{"1.0", "Connection: keep-alive\r\nConnection: close\r\n", false},
		{"1.1", "Connection: closed\r\n", true}, /* not the "close" option */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char s[256];
		snprintf(s, sizeof(s), "GET / HTTP/%s\r\n%s\r\n", t[i].ver, t[i].hdrs);
		run_str(s, &out1);
		assert_int_equal(out1.n, 1);
		assert_int_equal(out1.req[0].keep_alive, t[i].keep);
		assert_int_equal(out1.req[0].version_minor, t[i].ver[2] - '0');
	}
}

static void test_higher_minor_version_served_as_1_1(void **state)
{
	(void)state;
	run_str("GET / HTTP/1.7\r\n\r\n", &out1);
	assert_int_equal(out1.n, 1);
	assert_int_equal(out1.req[0].version_minor, 1);
	assert_true(out1.req[0].keep_alive);
}

static void test_kept_headers_case_insensitive(void **state)
{
	(void)state;
	run_str("GET / HTTP/1.1\r\nX-AWS-EC2-METADATA-TOKEN: AbC_-9\r\n"
		"x-aws-ec2-metadata-token-ttl-SECONDS:\t60 \t\r\n"
		"x-forwarded-FOR: 10.0.0.1\r\nHOST:h\r\naccept: application/json\r\n\r\n", &out1);
	assert_int_equal(out1.n, 1);
	const struct http_req *r = &out1.req[0];
	assert_int_equal(r->token.count, 1);
	assert_string_equal(r->token.value, "AbC_-9");
	assert_int_equal(r->token.len, 6);
	assert_string_equal(r->token_ttl.value, "60");
	assert_true(r->forwarded_for);
	assert_string_equal(r->host.value, "h");
	assert_string_equal(r->accept.value, "application/json");
}

static void test_repeated_header_counted_first_kept(void **state)
{
	(void)state;
	run_str("GET / HTTP/1.1\r\nX-aws-ec2-metadata-token: one\r\n"
		"X-aws-ec2-metadata-token: two\r\n\r\n", &out1);
	assert_int_equal(out1.n, 1);
	assert_int_equal(out1.req[0].token.count, 2);
	assert_string_equal(out1.req[0].token.value, "one");
}

static void test_empty_header_value(void **state)
{
	(void)state;
	run_str("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds:\r\n\r\n", &out1);
	assert_int_equal(out1.n, 1);
	assert_int_equal(out1.req[0].token_ttl.count, 1);
	assert_int_equal(out1.req[0].token_ttl.len, 0);
}

static void test_absolute_form_reduced_to_path(void **state)
{
	(void)state;
	static const struct {
		const char *target, *path;
	} t[] = {
		{"http://169.254.169.254/latest/meta-data", "/latest/meta-data"},
		{"HTTP://h", "/"},
		{"http://h?x=1", "/?x=1"},
		{"https://h:80/a/b?c", "/a/b?c"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char s[256];
		snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n\r\n", t[i].target);
		run_str(s, &out1);
		assert_int_equal(out1.n, 1);
		assert_string_equal(out1.req[0].target, t[i].path);
		assert_int_equal(out1.req[0].target_len, strlen(t[i].path));
	}
}

static void test_leading_empty_lines_skipped(void **state)
{
	(void)state;
	run_str("\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", &out1);
	assert_int_equal(out1.error, 0);
	assert_int_equal(out1.n, 1);
}

static void test_bare_lf_line_ends(void **state)
{
	(void)state;
	run_str("GET /lf HTTP/1.1\nHost: h\n\n", &out1);
	assert_int_equal(out1.n, 1);
	assert_string_equal(out1.req[0].target, "/lf");
	assert_string_equal(out1.req[0].host.value, "h");
}

static void test_identical_content_length_duplicates_ok(void **state)
{
	(void)state;
	run_str("POST /p HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", &out1);
	assert_int_equal(out1.error, 0);
	assert_int_equal(out1.n, 1);
	assert_int_equal(out1.req[0].body_len, 2);
}

/* Each malformed input and the status it must get. */
static const struct {
	const char *in;
	int status;
	const char *why;
} invalid[] = {
	{"GET /\r\n\r\n", 400, "HTTP/0.9 request line"},
	{"GET / HTTP/1.1x\r\n\r\n", 400, "junk after version"},
	{"GET / HTTP/1.1 \r\n\r\n", 400, "space after version"},
	{"GET / http/1.1\r\n\r\n", 400, "lower-case protocol"},
	{"GET / HTTP/11\r\n\r\n", 400, "malformed version"},
	{"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2 on this parser"},
	{"GET / HTTP/0.9\r\n\r\n", 505, "major version 0"},
	{"GET  / HTTP/1.1\r\n\r\n", 400, "empty target"},
	{" GET / HTTP/1.1\r\n\r\n", 400, "whitespace before the method"},
	{"G(T / HTTP/1.1\r\n\r\n", 400, "non-token method"},
	{"GET foo HTTP/1.1\r\n\r\n", 400, "target not origin-form"},
	{"GET http:///x HTTP/1.1\r\n\r\n", 400, "empty authority"},
	{"GET /a\x01 HTTP/1.1\r\n\r\n", 400, "control byte in target"},
	{"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400, "non-ASCII target"},
	{"GET / HTTP/1.1\rX: y\r\n\r\n", 400, "CR without LF"},
	{"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "space before colon"},
	{"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "obs-fold"},
	{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "header without colon"},
	{"GET / HTTP/1.1\r\n: v\r\n\r\n", 400, "empty header name"},
	{"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400, "control byte in value"},
	{"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400, "DEL in value"},
	{"GET / HTTP/1.1\r\n\rX\r\n", 400, "CR then junk at end of head"},
	{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host headers"},
	{"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "non-numeric length"},
	{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "negative length"},
	{"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400, "signed length"},
	{"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", 400, "length list"},
	{"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "empty length"},
	{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
	 "conflicting lengths"},
	{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "chunked body"},
	{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unknown coding"},
	{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
	 "TE and CL together"},
	{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE on HTTP/1.0"},
	{"POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", 413, "body over HTTP_MAX_BODY"},
	{"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
	 "length overflowing size_t"},
	{"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400, "too many empty lines"},
	{"\rGET / HTTP/1.1\r\n\r\n", 400, "CR without LF before request"},
	{"GETTINGVERYLONGMETHOD / HTTP/1.1\r\n\r\n", 501, "method longer than any known"},
};

static void test_invalid_inputs_get_their_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int got = error_of(invalid[i].in);
		if (got != invalid[i].status)
			fail_msg("%s: got %d, want %d", invalid[i].why, got, invalid[i].status);
	}
}

static char *repeat_req(const char *pre, size_t n, char fill, const char *post)
{
	size_t len = strlen(pre) + n + strlen(post) + 1;
	char *s = malloc(len);
	assert_non_null(s);
	strcpy(s, pre);
	memset(s + strlen(pre), fill, n);
	strcpy(s + strlen(pre) + n, post);
	return s;
}

static void test_target_limit_414(void **state)
{
	(void)state;
	char *ok = repeat_req("GET /", HTTP_MAX_TARGET - 1, 'a', " HTTP/1.1\r\n\r\n");
	char *big = repeat_req("GET /", HTTP_MAX_TARGET, 'a', " HTTP/1.1\r\n\r\n");
	assert_int_equal(error_of(ok), 0);
	run_str(ok, &out1);
	assert_int_equal(out1.req[0].target_len, HTTP_MAX_TARGET);
	assert_int_equal(error_of(big), 414);
	free(ok);
	free(big);
}

static void test_too_many_headers_431(void **state)
{
	(void)state;
	char *s = malloc(HTTP_MAX_HEADERS * 16 + 64);
	assert_non_null(s);
	for (int n = HTTP_MAX_HEADERS; n <= HTTP_MAX_HEADERS + 1; n++) {
		strcpy(s, "GET / HTTP/1.1\r\n");
		for (int k = 0; k < n; k++)
			sprintf(s + strlen(s), "X-%d: v\r\n", k);
		strcat(s, "\r\n");
		assert_int_equal(error_of(s), n > HTTP_MAX_HEADERS ? 431 : 0);
	}
	free(s);
}

static void test_header_section_limit_431(void **state)
{
	(void)state;
	const char *pre = "GET / HTTP/1.1\r\nX-Big: ";
	const char *post = "\r\n\r\n";
	size_t fixed = strlen(pre) + strlen(post);
	char *ok = repeat_req(pre, HTTP_MAX_HEAD - fixed, 'b', post);
	char *big = repeat_req(pre, HTTP_MAX_HEAD - fixed + 1, 'b', post);
	assert_int_equal(error_of(ok), 0);
	run_str(ok, &out1);
	assert_int_equal(out1.req[0].head_len, HTTP_MAX_HEAD);
	assert_int_equal(error_of(big), 431);
	free(ok);
	free(big);
}

static void test_kept_value_limit_431(void **state)
{
	(void)state;
	const char *pre = "GET / HTTP/1.1\r\nX-aws-ec2-metadata-token: ";
	char *ok = repeat_req(pre, HTTP_MAX_VALUE, 't', "   \r\n\r\n");
	char *big = repeat_req(pre, HTTP_MAX_VALUE + 1, 't', "\r\n\r\n");
	assert_int_equal(error_of(ok), 0);
	run_str(ok, &out1);
	assert_int_equal(out1.req[0].token.len, HTTP_MAX_VALUE);
	assert_int_equal(error_of(big), 431);
	free(ok);
	free(big);
}

static void test_body_limit_413(void **state)
{
	(void)state;
	char *body = repeat_req("", HTTP_MAX_BODY, 'x', "");
	char *s = malloc(HTTP_MAX_BODY + 128);
	assert_non_null(s);
	sprintf(s, "POST /p HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", HTTP_MAX_BODY, body);
	assert_int_equal(error_of(s), 0);
	run_str(s, &out1);
	assert_int_equal(out1.req[0].body_len, HTTP_MAX_BODY);
	free(body);
	free(s);
	/* over: see the invalid table (4097) */
}

static void test_instance_max_request(void **state)
{
	(void)state;
	/* A 100-byte request limit: a 60-byte head with a 40-byte body fits,
	 * one more body byte is 413, a head crossing it is 431. */
	const char *head = "POST /p HTTP/1.1\r\nContent-Length: 40\r\nX-Pad: 01234567890\r\n\r\n";
	assert_int_equal(strlen(head), 60);
	char s[256];
	snprintf(s, sizeof(s), "%s%040d", head, 0);
	run(s, strlen(s), 0, 100, &out1);
	assert_int_equal(out1.error, 0);
	assert_int_equal(out1.n, 1);
	const char *head41 = "POST /p HTTP/1.1\r\nContent-Length: 41\r\nX-Pad: 01234567890\r\n\r\n";
	run(head41, strlen(head41), 0, 100, &out1);
	assert_int_equal(out1.error, 413);
	char *big = repeat_req("GET / HTTP/1.1\r\nX: ", 100, 'h', "\r\n\r\n");
	run(big, strlen(big), 0, 100, &out1);
	assert_int_equal(out1.error, 431);
	free(big);
	char *longt = repeat_req("GET /", 120, 't', " HTTP/1.1\r\n\r\n");
	run(longt, strlen(longt), 0, 100, &out1);
	assert_int_equal(out1.error, 414);
	free(longt);
}

static void test_max_request_clamped(void **state)
{
	(void)state;
	struct http_parser p;
	http_parser_init(&p, 0);
	assert_int_equal(p.max_req, HTTP_MAX_REQUEST);
	http_parser_init(&p, UINT32_MAX);
	assert_int_equal(p.max_req, HTTP_MAX_REQUEST);
	http_parser_init(&p, 500);
	assert_int_equal(p.max_req, 500);
}

static void test_error_is_sticky(void **state)
{
	(void)state;
	struct http_parser p;
	static struct http_req req;
	size_t used;
	http_parser_init(&p, 0);
	const char *bad = "GET / HTTP/9.9\r\n";
	assert_int_equal(http_parser_feed(&p, (const uint8_t *)bad, strlen(bad), &used, &req),
			 HTTP_ERROR);
	assert_int_equal(req.error_status, 505);
	const char *good = "GET / HTTP/1.1\r\n\r\n";
	req.error_status = 0;
	assert_int_equal(http_parser_feed(&p, (const uint8_t *)good, strlen(good), &used, &req),
			 HTTP_ERROR);
	assert_int_equal(used, 0);
	assert_int_equal(req.error_status, 505);
}

static void test_busy_tracks_partial_request(void **state)
{
	(void)state;
	struct http_parser p;
	static struct http_req req;
	size_t used;
	http_parser_init(&p, 0);
	assert_false(http_parser_busy(&p));
	assert_int_equal(http_parser_feed(&p, (const uint8_t *)"GE", 2, &used, &req), HTTP_NEED_MORE);
	assert_true(http_parser_busy(&p));
	const char *rest = "T / HTTP/1.1\r\n\r\n";
	assert_int_equal(http_parser_feed(&p, (const uint8_t *)rest, strlen(rest), &used, &req),
			 HTTP_REQUEST);
	assert_false(http_parser_busy(&p));
}

static void test_response_head_exact(void **state)
{
	(void)state;
	char buf[HTTP_RESPONSE_HEAD_MAX];
	size_t n = http_response_head(buf, sizeof(buf), 200, "text/plain", 5, 1, NULL, 0);
	const char *want = "HTTP/1.1 200 OK\r\nServer: mdr\r\nContent-Type: text/plain\r\n"
			   "Content-Length: 5\r\nConnection: keep-alive\r\n\r\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

static void test_response_head_close_and_extra(void **state)
{
	(void)state;
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_hdr h[] = {{"Allow", "GET, HEAD"}, {"X-Y", "z"}};
	size_t n = http_response_head(buf, sizeof(buf), 405, NULL, 0, 0, h, 2);
	const char *want = "HTTP/1.1 405 Method Not Allowed\r\nServer: mdr\r\n"
			   "Content-Length: 0\r\nConnection: close\r\nAllow: GET, HEAD\r\n"
			   "X-Y: z\r\n\r\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

static void test_response_head_too_small(void **state)
{
	(void)state;
	char buf[HTTP_RESPONSE_HEAD_MAX];
	size_t full = http_response_head(buf, sizeof(buf), 404, "text/plain", 9, 1, NULL, 0);
	assert_true(full > 0);
	assert_int_equal(http_response_head(buf, full, 404, "text/plain", 9, 1, NULL, 0), 0);
	assert_int_equal(http_response_head(buf, full + 1, 404, "text/plain", 9, 1, NULL, 0), full);
	assert_int_equal(http_response_head(buf, 0, 404, NULL, 0, 1, NULL, 0), 0);
}

static void test_response_head_rejects_injection(void **state)
{
	(void)state;
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_hdr bad_value = {"X", "a\r\nSet-Cookie: x"};
	struct http_hdr bad_name = {"X Y", "a"};
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, &bad_value, 1), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, &bad_name, 1), 0);
	assert_int_equal(http_response_head(buf, sizeof(buf), 200, "a\nb", 0, 1, NULL, 0), 0);
}

static void test_reason_phrases(void **state)
{
	(void)state;
	static const struct {
		int st;
		const char *r;
	} t[] = {
		{200, "OK"}, {400, "Bad Request"}, {401, "Unauthorized"}, {404, "Not Found"},
		{405, "Method Not Allowed"}, {409, "Conflict"}, {413, "Content Too Large"},
		{414, "URI Too Long"}, {431, "Request Header Fields Too Large"},
		{501, "Not Implemented"}, {505, "HTTP Version Not Supported"}, {299, "Unknown"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(http_reason(t[i].st), t[i].r);
}

static void test_date_format(void **state)
{
	(void)state;
	char d[HTTP_DATE_SIZE];
	http_format_date(d, 784111777);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_format_date(d, 0);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_split_any_byte_equals_one_shot),
		cmocka_unit_test(test_pipelined_requests_in_order),
		cmocka_unit_test(test_pipelined_after_body),
		cmocka_unit_test(test_body_split_across_feeds),
		cmocka_unit_test(test_methods_identified),
		cmocka_unit_test(test_keep_alive_decision),
		cmocka_unit_test(test_higher_minor_version_served_as_1_1),
		cmocka_unit_test(test_kept_headers_case_insensitive),
		cmocka_unit_test(test_repeated_header_counted_first_kept),
		cmocka_unit_test(test_empty_header_value),
		cmocka_unit_test(test_absolute_form_reduced_to_path),
		cmocka_unit_test(test_leading_empty_lines_skipped),
		cmocka_unit_test(test_bare_lf_line_ends),
		cmocka_unit_test(test_identical_content_length_duplicates_ok),
		cmocka_unit_test(test_invalid_inputs_get_their_status),
		cmocka_unit_test(test_target_limit_414),
		cmocka_unit_test(test_too_many_headers_431),
		cmocka_unit_test(test_header_section_limit_431),
		cmocka_unit_test(test_kept_value_limit_431),
		cmocka_unit_test(test_body_limit_413),
		cmocka_unit_test(test_instance_max_request),
		cmocka_unit_test(test_max_request_clamped),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_busy_tracks_partial_request),
		cmocka_unit_test(test_response_head_exact),
		cmocka_unit_test(test_response_head_close_and_extra),
		cmocka_unit_test(test_response_head_too_small),
		cmocka_unit_test(test_response_head_rejects_injection),
		cmocka_unit_test(test_reason_phrases),
		cmocka_unit_test(test_date_format),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
