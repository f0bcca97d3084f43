/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of issue 18 in the pure cores: query parsing, ETags, Accept,
 * If-None-Match/304, the long-poll decision of mdr_serve, the JSON view of
 * every directory of both trees (parsed back: the same leaves as a crawl
 * of the text tree), and the bytes of a full crawl without any of it
 * (exactly mdr_render's, which is what was served before).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "b64.h"
#include "defn_samples.h"
#include "jsonview.h"
#include "query.h"
#include "serve.h"

#define NOW 1700000000ull
/* Paths a crawl of the sample's two trees visits, at most. */
#define MAX_PATHS 4096

/* ---- query parsing ------------------------------------------------------- */

static void test_query_defaults(void **state)
{
	struct mdr_query q;

	(void)state;
	assert_int_equal(mdr_query_parse("/latest/meta-data/", &q), 0);
	assert_false(q.wait_for_change);
	assert_false(q.recursive);
	assert_int_equal(q.alt, MDR_ALT_NONE);
	assert_int_equal(q.timeout_s, MDR_WAIT_DEFAULT_S);
	assert_false(q.has_last_etag);
	assert_int_equal(mdr_query_parse("/x?", &q), 0);
	assert_int_equal(mdr_query_parse("/x#?wait_for_change=maybe", &q), 0);
}

static void test_query_known(void **state)
{
	struct mdr_query q;

	(void)state;
	assert_int_equal(mdr_query_parse("/x?wait_for_change=true&timeout_sec=30&recursive=TRUE&alt=json"
					 "&last_etag=%220123456789abcdef%22", &q), 0);
	assert_true(q.wait_for_change);
	assert_true(q.recursive);
	assert_int_equal(q.alt, MDR_ALT_JSON);
	assert_int_equal(q.timeout_s, 30);
	assert_true(q.has_last_etag && q.last_etag_valid);
	assert_true(q.last_etag == 0x0123456789abcdefull);
	assert_int_equal(mdr_query_parse("/x?last_etag=0123456789abcdef&alt=text&recursive", &q), 0);
	assert_true(q.last_etag_valid && q.last_etag == 0x0123456789abcdefull);
	assert_int_equal(q.alt, MDR_ALT_TEXT);
	assert_true(q.recursive); /* a bare name is true */
	assert_int_equal(mdr_query_parse("/x?timeout_sec=300", &q), 0);
	assert_int_equal(q.timeout_s, 300);
	assert_int_equal(mdr_query_parse("/x?timeout_sec=1", &q), 0);
	assert_int_equal(q.timeout_s, 1);
}

static void test_query_bad(void **state)
{
	static const char *const bad[] = {
		"/x?timeout_sec=abc", "/x?timeout_sec=", "/x?timeout_sec=0", "/x?timeout_sec=301",
		"/x?timeout_sec=-1", "/x?timeout_sec=1e2", "/x?timeout_sec=0300", "/x?timeout_sec",
		"/x?timeout_sec=%zz", "/x?wait_for_change=yes", "/x?wait_for_change=",
		"/x?recursive=1", "/x?alt=xml", "/x?alt", "/x?alt=json&alt=json",
		"/x?wait_for_change=true&wait_for_change=false", "/x?timeout_sec=5&timeout_sec=5",
		"/x?last_etag=a&last_etag=b",
	};
	struct mdr_query q;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mdr_query_parse(bad[i], &q) != 400)
			fail_msg("%s: not 400", bad[i]);
}

static void test_query_unknown_and_garbage_etag(void **state)
{
	struct mdr_query q;

	(void)state;
	assert_int_equal(mdr_query_parse("/x?foo=bar&&=&x%zz=1&cb=123&a=b=c", &q), 0);
	assert_false(q.wait_for_change);
	/* a last_etag we cannot have sent: kept as "differs" */
	static const char *const garbage[] = {
		"/x?last_etag=", "/x?last_etag=zz", "/x?last_etag=0000000000000000",
		"/x?last_etag=0123456789ABCDEF", "/x?last_etag=%220123456789abcdef",
		"/x?last_etag=" "0123456789abcdef0", "/x?last_etag=%00",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		assert_int_equal(mdr_query_parse(garbage[i], &q), 0);
		assert_true(q.has_last_etag);
		if (q.last_etag_valid)
			fail_msg("%s: taken as a tag", garbage[i]);
	}
}

/* ---- ETags, If-None-Match, Accept ------------------------------------------ */

static void test_etag_format_parse(void **state)
{
	char s[MDR_ETAG_SIZE];
	uint64_t t;

	(void)state;
	mdr_etag_format(0xfedcba9876543210ull, s);
	assert_string_equal(s, "\"fedcba9876543210\"");
	assert_int_equal(mdr_etag_parse(s, strlen(s), &t), 0);
	assert_true(t == 0xfedcba9876543210ull);
	assert_int_equal(mdr_etag_parse("W/\"fedcba9876543210\"", 20, &t), 0);
	assert_int_equal(mdr_etag_parse("\"fedcba987654321\"", 17, &t), -1);
	assert_true(mdr_etag_final(0) != 0);
}

static void test_if_none_match(void **state)
{
	uint64_t t = 0x1111222233334444ull;

	(void)state;
	assert_true(mdr_etag_none_match("\"1111222233334444\"", 18, t));
	assert_true(mdr_etag_none_match("*", 1, t));
	assert_true(mdr_etag_none_match("\"aaaa222233334444\" , W/\"1111222233334444\"", 41, t));
	assert_false(mdr_etag_none_match("\"aaaa222233334444\"", 18, t));
	assert_false(mdr_etag_none_match("", 0, t));
	assert_false(mdr_etag_none_match("1111", 4, t));
}

static void test_accept_json(void **state)
{
	static const struct { const char *v; bool json; } c[] = {
		{ "application/json", true },
		{ "Application/JSON", true },
		{ "application/json; charset=utf-8", true },
		{ "text/html, application/json;q=0.9", true },
		{ "application/json;q=0", false },
		{ "application/json, text/plain", false },
		{ "*/*", false },
		{ "", false },
		{ "text/*, application/json", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (mdr_accept_json(c[i].v, strlen(c[i].v)) != c[i].json)
			fail_msg("Accept: %s", c[i].v);
}

/* ---- mdr_serve ---------------------------------------------------------------- */

struct fx {
	struct mdr_defn *defn;
	struct mdr_blob blobs[MDR_BLOB_FILE0 + MDR_MAX_FILES];
	size_t nb;
	struct mdr_serve_inst inst;
	struct http_req req;
	struct mdr_serve_resp resp;
};

static int fx_blob(void *opaque, unsigned blob, const uint8_t **data, size_t *len)
{
	struct fx *f = opaque;

	if (blob >= f->nb)
		return -EINVAL;
	*data = f->blobs[blob].data;
	*len = f->blobs[blob].len;
	return 0;
}

static void fx_load(struct fx *f, struct mdr_defn *d)
{
	mdr_defn_free(f->defn);
	f->defn = d;
	assert_int_equal(mdr_defn_blobs(d, f->blobs, sizeof(f->blobs) / sizeof(f->blobs[0]), &f->nb), 0);
	f->inst.defn = d;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->inst.id = 1;
	f->inst.uuid = "d8e02d56-2648-415b-b62a-3a1b9ce1d0f8";
	f->inst.blob = fx_blob;
	f->inst.render_opaque = f;
	fx_load(f, load(SAMPLE_FULL));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mdr_serve_resp_free(&f->resp);
	mdr_defn_free(f->defn);
	free(f);
	return 0;
}

/* Counter randomness: every call gives other bytes (random_seed). */
static void counter_random(void *buf, size_t len, void *opaque)
{
	static uint8_t n;

	(void)opaque;
	memset(buf, ++n, len);
}

static int serve_h(struct fx *f, const char *path, const char *headers)
{
	struct http_parser p;
	struct mdr_render_ctx rnd = { .random = counter_random, .remote_ip = "10.0.0.5" };
	char raw[2048];
	size_t used;

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", path, headers ? headers : "");
	http_parser_init(&p, 0);
	mdr_serve_resp_free(&f->resp);
	if (http_parser_feed(&p, (const uint8_t *)raw, strlen(raw), &used, &f->req) != HTTP_REQUEST)
		fail_msg("did not parse: %s", raw);
	return mdr_serve(&f->req, &f->inst, NOW, &rnd, &f->resp);
}

/* The body as a NUL-terminated string. */
static const char *body_str(struct fx *f)
{
	static char buf[65536];

	assert_int_equal(f->resp.kind, MDR_SERVE_BODY);
	assert_true(f->resp.content_length < sizeof(buf));
	memcpy(buf, f->resp.body, f->resp.content_length);
	buf[f->resp.content_length] = '\0';
	return buf;
}

static int serve_p(struct fx *f, const char *path)
{
	return serve_h(f, path, NULL);
}

static const char *etag_hdr(const struct mdr_serve_resp *r)
{
	for (size_t i = 0; i < r->n_hdrs; i++)
		if (!strcmp(r->hdrs[i].name, "ETag"))
			return r->hdrs[i].value;
	return NULL;
}

static void test_etag_on_every_200_stable(void **state)
{
	static const char *const paths[] = {
		"/", "/latest/meta-data/", "/latest/meta-data/hostname", "/latest/user-data",
		"/openstack/latest/meta_data.json", "/openstack/latest/user_data",
		"/openstack/latest/network_data.json", "/openstack/content/0000",
		"/openstack/latest/password", "/latest/meta-data/?recursive=true",
	};
	struct fx *f = *state;
	char tag[MDR_ETAG_SIZE];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(serve_p(f, paths[i]), 200);
		assert_non_null(etag_hdr(&f->resp));
		snprintf(tag, sizeof(tag), "%s", etag_hdr(&f->resp));
		/* meta_data.json's random_seed differs, its tag does not */
		assert_int_equal(serve_p(f, paths[i]), 200);
		if (strcmp(etag_hdr(&f->resp), tag))
			fail_msg("%s: tag changed without a change (%s, %s)", paths[i], tag,
				 etag_hdr(&f->resp));
	}
	assert_int_equal(serve_p(f, "/latest/meta-data/nothing-here"), 404);
	assert_null(etag_hdr(&f->resp));
}

/* The tag of path now. */
static uint64_t tag_of(struct fx *f, const char *path)
{
	assert_int_equal(serve_p(f, path), 200);
	return f->resp.etag;
}

static void test_etag_changes_exactly_with_the_answer(void **state)
{
	struct fx *f = *state;
	char err[256];
	uint64_t md = tag_of(f, "/openstack/latest/meta_data.json");
	uint64_t host = tag_of(f, "/latest/meta-data/hostname");
	uint64_t ud = tag_of(f, "/latest/user-data");
	uint64_t dir = tag_of(f, "/latest/meta-data/");
	uint64_t rec = tag_of(f, "/latest/meta-data/?recursive=true");

	assert_int_equal(mdr_defn_set_override(f->defn, "/latest/meta-data/e2e", "v", 1, err,
					       sizeof(err)), 0);
	assert_true(tag_of(f, "/latest/meta-data/hostname") == host); /* unchanged answer */
	assert_true(tag_of(f, "/latest/user-data") == ud);
	assert_true(tag_of(f, "/openstack/latest/meta_data.json") == md);
	assert_true(tag_of(f, "/latest/meta-data/") != dir);            /* listing grew */
	assert_true(tag_of(f, "/latest/meta-data/?recursive=true") != rec);
	assert_int_equal(mdr_defn_set_override(f->defn, "/latest/meta-data/hostname", "other", 5,
					       err, sizeof(err)), 0);
	assert_true(tag_of(f, "/latest/meta-data/hostname") != host);
	/* text and JSON views of the same path are different answers */
	assert_true(tag_of(f, "/latest/meta-data/hostname?alt=json") !=
		    tag_of(f, "/latest/meta-data/hostname"));
}

static void test_if_none_match_304(void **state)
{
	struct fx *f = *state;
	char h[128], tag[MDR_ETAG_SIZE];
	size_t len;

	assert_int_equal(serve_p(f, "/latest/meta-data/hostname"), 200);
	len = f->resp.content_length;
	snprintf(tag, sizeof(tag), "%s", etag_hdr(&f->resp));
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", tag);
	assert_int_equal(serve_h(f, "/latest/meta-data/hostname", h), 304);
	assert_false(f->resp.send_body);
	assert_int_equal(f->resp.content_length, len); /* the 200's (RFC 9110 8.6) */
	assert_string_equal(etag_hdr(&f->resp), tag);
	assert_int_equal(serve_h(f, "/latest/meta-data/hostname", "If-None-Match: *\r\n"), 304);
	assert_int_equal(serve_h(f, "/latest/meta-data/hostname",
				 "If-None-Match: \"0000000000000001\"\r\n"), 200);
	assert_true(f->resp.send_body);
	/* the tag of another path does not match */
	assert_int_equal(serve_h(f, "/latest/meta-data/instance-id", h), 200);
}

static void test_long_poll_decision(void **state)
{
	struct fx *f = *state;
	char path[256];
	uint64_t t = tag_of(f, "/latest/meta-data/hostname");
	char hex[MDR_ETAG_SIZE];

	mdr_etag_format(t, hex);
	hex[17] = '\0';
	/* same tag: hold */
	snprintf(path, sizeof(path), "/latest/meta-data/hostname?wait_for_change=true&last_etag=%s&timeout_sec=7", hex + 1);
	assert_int_equal(serve_p(f, path), 200);
	assert_true(f->resp.wait);
	assert_int_equal(f->resp.wait_s, 7);
	assert_true(f->resp.etag == t);
	/* timed out: answered with the current content and tag */
	f->inst.no_wait = true;
	assert_int_equal(serve_p(f, path), 200);
	assert_false(f->resp.wait);
	assert_string_equal(etag_hdr(&f->resp), (mdr_etag_format(t, hex), hex));
	f->inst.no_wait = false;
	/* other or garbage tag: at once */
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true&last_etag=0000000000000001"), 200);
	assert_false(f->resp.wait);
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true&last_etag=garbage"), 200);
	assert_false(f->resp.wait);
	/* no last_etag: held until the tag differs from the held one */
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true"), 200);
	assert_true(f->resp.wait);
	assert_int_equal(f->resp.wait_s, MDR_WAIT_DEFAULT_S);
	f->inst.has_wait_etag = true;
	f->inst.wait_etag = t;
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true"), 200);
	assert_true(f->resp.wait);
	f->inst.wait_etag = t ^ 1; /* the answer changed meanwhile */
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true"), 200);
	assert_false(f->resp.wait);
	f->inst.has_wait_etag = false;
	/* a path that does not exist is answered at once; a bad query: 400 */
	assert_int_equal(serve_p(f, "/latest/meta-data/none?wait_for_change=true"), 404);
	assert_false(f->resp.wait);
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?wait_for_change=true&timeout_sec=abc"), 400);
	assert_false(f->resp.wait);
}

static void test_tokens_apply(void **state)
{
	struct fx *f = *state;

	f->inst.tokens = MDR_TOKENS_REQUIRED;
	assert_int_equal(serve_p(f, "/latest/meta-data/?wait_for_change=true"), 401);
	assert_false(f->resp.wait);
	assert_int_equal(serve_p(f, "/latest/meta-data/?recursive=true"), 401);
	assert_int_equal(serve_h(f, "/latest/meta-data/", "If-None-Match: *\r\n"), 401);
	f->inst.tokens = MDR_TOKENS_OPTIONAL;
}

/* ---- crawl of the text tree and the JSON view ------------------------------- */

struct leaf {
	char path[MDR_PATH_MAX];
	int is_json;
	char *body;
	size_t len;
};

struct crawl {
	struct leaf leaves[MAX_PATHS];
	size_t n;
	char dirs[MAX_PATHS][MDR_PATH_MAX];
	size_t ndirs;
};

/* The raw bytes of path (status 200), rendered with zero randomness. */
static int text_of(struct fx *f, const char *path, char **body, size_t *len, int *is_json)
{
	struct mdr_reply r;
	const uint8_t *d = NULL;

	struct mdr_render_ctx zero = { .remote_ip = "10.0.0.5" }; /* as the views */

	memset(&r, 0, sizeof(r));
	assert_int_equal(mdr_render(f->defn, path, &zero, &r), 0);
	if (r.status != 200) {
		mdr_reply_free(&r);
		return r.status;
	}
	size_t pl = strlen(path);
	*is_json = !strcmp(r.content_type, MDR_CT_JSON) ||
		   (pl > 5 && !strcmp(path + pl - 5, ".json") && r.kind == MDR_REPLY_BODY);
	if (r.kind == MDR_REPLY_BLOB) {
		assert_int_equal(fx_blob(f, r.blob, &d, len), 0);
		*body = malloc(*len + 1);
		memcpy(*body, d, *len);
	} else if (r.kind == MDR_REPLY_PASSWORD) {
		*len = 0;
		*body = malloc(1);
	} else {
		*len = r.body_len;
		*body = malloc(*len + 1);
		memcpy(*body, r.body, *len);
	}
	(*body)[*len] = '\0';
	mdr_reply_free(&r);
	return 200;
}

/* Is child `line` of parent a directory, by nova's conventions (not by
 * the view's rule): EC2 listings mark directories with "/", the version
 * lists ("/", "/openstack") hold versions, public-keys hold "N=name". */
static int conv_dir(const char *parent, const char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '/')
		return 1;
	if (!strcmp(parent, "/") || !strcmp(parent, "/openstack") || !strcmp(parent, "/ec2"))
		return 1;
	return strchr(line, '=') != NULL;
}

static void crawl_dir(struct fx *f, struct crawl *c, const char *path)
{
	char *body, *save = NULL;
	size_t len;
	int js;

	assert_true(c->ndirs < MAX_PATHS);
	snprintf(c->dirs[c->ndirs++], MDR_PATH_MAX, "%s", path);
	assert_int_equal(text_of(f, path, &body, &len, &js), 200);
	for (char *l = strtok_r(body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char child[MDR_PATH_MAX], name[MDR_PATH_MAX];
		snprintf(name, sizeof(name), "%s", l);
		char *eq = strchr(name, '=');
		if (eq)
			*eq = '\0';
		size_t nl = strlen(name);
		if (nl && name[nl - 1] == '/')
			name[nl - 1] = '\0';
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", name);
		if (conv_dir(path, l)) {
			crawl_dir(f, c, child);
		} else {
			struct leaf *lf = &c->leaves[c->n++];
			assert_true(c->n < MAX_PATHS);
			snprintf(lf->path, sizeof(lf->path), "%s", child);
			assert_int_equal(text_of(f, child, &lf->body, &lf->len, &lf->is_json), 200);
		}
	}
	free(body);
}

static void crawl_free(struct crawl *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->leaves[i].body);
}

/* Check view (the JSON of directory `dir`) against the crawl: every leaf
 * below dir is in the view with its value, and the view has no other. */
static void check_view(const struct crawl *c, const char *dir, json_t *view)
{
	size_t dl = strlen(dir), found = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct leaf *lf = &c->leaves[i];
		const char *rel;
		json_t *v = view;
		char tmp[MDR_PATH_MAX], *save = NULL;

		if (strcmp(dir, "/") == 0 && strncmp(lf->path, "/openstack/", 11))
			rel = lf->path + 1; /* the EC2 tree: "/openstack" is not listed */
		else if (strncmp(lf->path, dir, dl) == 0 && lf->path[dl] == '/')
			rel = lf->path + dl + 1;
		else
			continue;
		found++;
		snprintf(tmp, sizeof(tmp), "%s", rel);
		for (char *s = strtok_r(tmp, "/", &save); s && v; s = strtok_r(NULL, "/", &save))
			v = json_object_get(v, s);
		if (!v)
			fail_msg("view of %s lacks %s", dir, lf->path);
		if (lf->is_json) {
			json_t *want = json_loadb(lf->body, lf->len, JSON_DECODE_ANY, NULL);
			assert_non_null(want);
			if (!json_equal(want, v))
				fail_msg("view of %s: %s differs", dir, lf->path);
			json_decref(want);
		} else {
			if (!json_is_string(v) || json_string_length(v) != lf->len ||
			    memcmp(json_string_value(v), lf->body, lf->len))
				fail_msg("view of %s: leaf %s differs", dir, lf->path);
		}
	}
	/* no leaf the crawl lacks: count the view's leaves */
	size_t n = 0;
	json_t *stack[256];
	size_t sp = 0;
	stack[sp++] = view;
	while (sp) {
		json_t *o = stack[--sp];
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			/* embedded JSON documents are leaves, whatever their type */
			if (json_is_object(v) && !strstr(k, ".json")) {
				assert_true(sp < 256);
				stack[sp++] = v;
			} else {
				n++;
			}
		}
	}
	if (n != found)
		fail_msg("view of %s: %zu leaves, the crawl has %zu", dir, n, found);
}

/* A path as a request-target: bytes outside the path characters
 * percent-encoded. */
static void pct(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 4 < cap; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch <= ' ' || ch >= 0x7f || strchr("%?#\"", ch))
			o += (size_t)sprintf(out + o, "%%%02X", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

static void views_match_crawl(struct fx *f)
{
	struct crawl *c = calloc(1, sizeof(*c));
	struct mdr_render_ctx zero = { .remote_ip = "10.0.0.5" };
	char path[3 * MDR_PATH_MAX + 32];

	assert_non_null(c);
	crawl_dir(f, c, "/");
	crawl_dir(f, c, "/openstack");
	assert_true(c->n > 100);
	for (size_t i = 0; i < c->ndirs; i++) {
		struct http_parser p;
		char raw[3 * MDR_PATH_MAX + 64];
		size_t used;
		json_t *view;

		pct(c->dirs[i], path, sizeof(path));
		strcat(path, "?recursive=true");
		snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\n\r\n", path);
		http_parser_init(&p, 0);
		mdr_serve_resp_free(&f->resp);
		assert_int_equal(http_parser_feed(&p, (const uint8_t *)raw, strlen(raw), &used, &f->req),
				 HTTP_REQUEST);
		if (mdr_serve(&f->req, &f->inst, NOW, &zero, &f->resp) != 200)
			fail_msg("%s: %d", path, f->resp.status);
		assert_string_equal(f->resp.content_type, MDR_CT_JSON);
		view = json_loadb(f->resp.body, f->resp.content_length, 0, NULL);
		if (!view)
			fail_msg("%s: not a JSON object", path);
		check_view(c, c->dirs[i], view);
		json_decref(view);
	}
	crawl_free(c);
	free(c);
}

static void test_json_view_every_directory(void **state)
{
	views_match_crawl(*state);
}

static void test_json_view_other_samples(void **state)
{
	struct fx *f = *state;
	char err[256];

	fx_load(f, load(SAMPLE_NO_KEYS));
	views_match_crawl(f);
	fx_load(f, load(SAMPLE_UNICODE));
	views_match_crawl(f);
	fx_load(f, load(SAMPLE_FULL));
	assert_int_equal(mdr_defn_set_override(f->defn, "/latest/meta-data/a b/c?d", "x", 1, err,
					       sizeof(err)), 0);
	views_match_crawl(f);
}

static void test_json_view_selectors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(serve_h(f, "/latest/meta-data/", "Accept: application/json\r\n"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_JSON);
	assert_int_equal(serve_p(f, "/latest/meta-data/?alt=json"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_JSON);
	/* alt=text wins over Accept and recursive: today's listing */
	assert_int_equal(serve_h(f, "/latest/meta-data/?alt=text&recursive=true",
				 "Accept: application/json\r\n"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_TEXT);
	assert_int_equal(serve_h(f, "/latest/meta-data/", "Accept: */*\r\n"), 200);
	assert_string_equal(f->resp.content_type, MDR_CT_TEXT);
	/* a JSON document alone: its own bytes */
	assert_int_equal(serve_p(f, "/openstack/latest/network_data.json"), 200);
	char *plain = strndup(f->resp.body, f->resp.content_length);
	assert_int_equal(serve_p(f, "/openstack/latest/network_data.json?alt=json"), 200);
	assert_memory_equal(f->resp.body, plain, strlen(plain));
	free(plain);
	/* a text leaf: a JSON string */
	assert_int_equal(serve_p(f, "/latest/meta-data/hostname?alt=json"), 200);
	assert_string_equal(body_str(f), "\"vm1.novalocal\"");
	/* 404 stays nova's 404 */
	assert_int_equal(serve_p(f, "/latest/meta-data/none?alt=json"), 404);
	assert_string_equal(f->resp.content_type, MDR_CT_TEXT);
}

static void test_json_view_binary_leaf_base64(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(mdr_defn_set_override(f->defn, "/latest/meta-data/bin", "\xff\xfe", 2, err,
					       sizeof(err)), 0);
	assert_int_equal(serve_p(f, "/latest/meta-data/?recursive=true"), 200);
	assert_non_null(strstr(body_str(f), "\"bin\": {\"base64\": \"//4=\"}"));
}

/* A synthetic tree: "/" lists N leaves of LEAF bytes each. */
enum { SYN_LEAF = 100000 };
static int syn_n;

static int syn_render(void *opaque, const char *path, struct mdr_reply *out)
{
	(void)opaque;
	memset(out, 0, sizeof(*out));
	out->status = 200;
	out->content_type = MDR_CT_TEXT;
	if (!strcmp(path, "/")) {
		out->body = malloc((size_t)syn_n * 8 + 1);
		out->body_len = 0;
		for (int i = 0; i < syn_n; i++)
			out->body_len += (size_t)sprintf(out->body + out->body_len, "%sk%d",
							 i ? "\n" : "", i);
	} else if (path[0] == '/' && path[1] == 'k' && !strchr(path + 1, '/')) {
		out->body = malloc(SYN_LEAF);
		memset(out->body, 'x', SYN_LEAF);
		out->body_len = SYN_LEAF;
	} else {
		out->status = 404;
	}
	return 0;
}

static void test_json_view_too_big(void **state)
{
	struct mdr_jsonview_src src = { .render = syn_render };
	char *out = NULL;
	size_t len;

	(void)state;
	syn_n = MDR_JSONVIEW_MAX / SYN_LEAF; /* just under */
	assert_int_equal(mdr_jsonview(&src, "/", &out, &len), 200);
	assert_true(len > (size_t)syn_n * SYN_LEAF);
	free(out);
	syn_n++;
	out = NULL;
	assert_int_equal(mdr_jsonview(&src, "/", &out, &len), MDR_JSONVIEW_TOO_BIG);
	assert_null(out);
}

/* Without a query or the new headers, every path of both trees answers
 * exactly mdr_render's bytes (what was served before issue 18), with the
 * old head plus the ETag. */
static void test_crawl_bytes_unchanged(void **state)
{
	struct fx *f = *state;
	struct crawl *c = calloc(1, sizeof(*c));
	struct mdr_render_ctx zero = { .remote_ip = "10.0.0.5" };

	assert_non_null(c);
	crawl_dir(f, c, "/");
	crawl_dir(f, c, "/openstack");
	for (size_t i = 0; i < c->n + c->ndirs; i++) {
		const char *path = i < c->n ? c->leaves[i].path : c->dirs[i - c->n];
		struct http_parser p;
		struct mdr_reply r;
		char raw[MDR_PATH_MAX + 64], head[HTTP_RESPONSE_HEAD_MAX], old[HTTP_RESPONSE_HEAD_MAX];
		size_t used, n, on;
		const uint8_t *want;
		size_t want_len;

		snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nAccept: */*\r\n\r\n", path);
		http_parser_init(&p, 0);
		mdr_serve_resp_free(&f->resp);
		assert_int_equal(http_parser_feed(&p, (const uint8_t *)raw, strlen(raw), &used, &f->req),
				 HTTP_REQUEST);
		assert_int_equal(mdr_serve(&f->req, &f->inst, NOW, &zero, &f->resp), 200);
		memset(&r, 0, sizeof(r));
		assert_int_equal(mdr_render(f->defn, path, &zero, &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(f->resp.content_type, r.content_type);
		if (r.kind == MDR_REPLY_BLOB) {
			assert_int_equal(f->resp.kind, MDR_SERVE_BLOB);
			assert_int_equal(f->resp.blob, r.blob);
			assert_int_equal(fx_blob(f, r.blob, &want, &want_len), 0);
			assert_int_equal(f->resp.content_length, want_len);
		} else if (r.kind == MDR_REPLY_BODY) {
			assert_int_equal(f->resp.content_length, r.body_len);
			assert_memory_equal(f->resp.body, r.body, r.body_len);
		}
		mdr_reply_free(&r);
		/* the head: the old one with the ETag line added */
		n = mdr_serve_head(&f->resp, head, sizeof(head));
		assert_true(n > 0);
		head[n] = '\0';
		struct http_hdr dh = { "Date", f->resp.date };
		on = http_response_head(old, sizeof(old), 200, f->resp.content_type,
					f->resp.content_length, 1, &dh, 1);
		old[on] = '\0';
		char *et = strstr(head, "ETag: ");
		assert_non_null(et);
		char *eol = strstr(et, "\r\n");
		memmove(et, eol + 2, strlen(eol + 2) + 1);
		assert_string_equal(head, old);
	}
	crawl_free(c);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_defaults),
		cmocka_unit_test(test_query_known),
		cmocka_unit_test(test_query_bad),
		cmocka_unit_test(test_query_unknown_and_garbage_etag),
		cmocka_unit_test(test_etag_format_parse),
		cmocka_unit_test(test_if_none_match),
		cmocka_unit_test(test_accept_json),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_etag_on_every_200_stable),
		T(test_etag_changes_exactly_with_the_answer),
		T(test_if_none_match_304),
		T(test_long_poll_decision),
		T(test_tokens_apply),
		T(test_json_view_every_directory),
		T(test_json_view_other_samples),
		T(test_json_view_selectors),
		T(test_json_view_binary_leaf_base64),
		T(test_json_view_too_big),
		T(test_crawl_bytes_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
