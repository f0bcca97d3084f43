/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * serve.c - request handler: methods, IMDSv2 tokens, password, then the
 * tree from render.c. See serve.h for the rules.
 */
#include "serve.h"

#include "webob.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonview.h"

/* Content type of token replies, empty bodies and error texts. */
#define CT_PLAIN "text/plain"

/* What a path accepts (the Allow header of its 405). */
#define ALLOW_TREE "GET, HEAD"
#define ALLOW_TOKEN "PUT"
#define ALLOW_PASSWORD "GET, HEAD, POST"

enum path_class {
	PATH_TREE,
	PATH_TOKEN,
	PATH_PASSWORD,
};

static void resp_init(struct mdr_serve_resp *out, const struct http_req *req)
{
	memset(out, 0, sizeof(*out));
	out->kind = MDR_SERVE_BODY;
	out->body = "";
	out->send_body = req ? req->method != HTTP_M_HEAD : true;
	out->keep_alive = req ? req->keep_alive : false;
}

static void add_hdr(struct mdr_serve_resp *out, const char *name, const char *value)
{
	if (out->n_hdrs < MDR_SERVE_MAX_HDRS) {
		out->hdrs[out->n_hdrs].name = name;
		out->hdrs[out->n_hdrs].value = value;
		out->n_hdrs++;
	}
}

/* A status with its reason phrase as a short text body. */
static int simple(struct mdr_serve_resp *out, int status)
{
	out->status = status;
	out->content_type = CT_PLAIN;
	out->kind = MDR_SERVE_BODY;
	out->body = http_reason(status);
	out->content_length = strlen(out->body);
	return status;
}

/* An empty text/plain body (EC2's 401, nova's POST password success). */
static int empty(struct mdr_serve_resp *out, int status)
{
	out->status = status;
	out->content_type = CT_PLAIN;
	out->kind = MDR_SERVE_BODY;
	out->body = "";
	out->content_length = 0;
	return status;
}

/* An error nova raises (webob.exc): webob's body in the format the
 * request's Accept header picks. */
static int webob_error(const struct http_req *req, struct mdr_serve_resp *out, int status,
		       const char *explanation)
{
	const char *ctype;
	size_t len;
	char *b = mdr_webob_body(status, explanation,
				 mdr_webob_negotiate(req->accept.count > 0, req->accept.value,
						     req->accept.len),
				 &len, &ctype);

	if (!b)
		return simple(out, 500);
	free(out->owned);
	out->owned = b;
	out->body = b;
	out->content_length = len;
	out->content_type = ctype;
	out->status = status;
	out->kind = MDR_SERVE_BODY;
	return status;
}

static int method_not_allowed(struct mdr_serve_resp *out, const char *allow)
{
	simple(out, 405);
	add_hdr(out, "Allow", allow);
	return 405;
}

/* "/openstack/<one segment>/password" (after normalisation). */
static bool is_password_path(const char *p)
{
	static const char pre[] = "/openstack/";
	static const char suf[] = "/password";
	size_t n = strlen(p);
	if (n <= sizeof(pre) - 1 + sizeof(suf) - 1 || strncmp(p, pre, sizeof(pre) - 1) != 0)
		return false;
	if (strcmp(p + n - (sizeof(suf) - 1), suf) != 0)
		return false;
	const char *ver = p + sizeof(pre) - 1;
	size_t vlen = n - (sizeof(pre) - 1) - (sizeof(suf) - 1);
	return memchr(ver, '/', vlen) == NULL;
}

/* Strict decimal in [MDR_TOKEN_TTL_MIN, MDR_TOKEN_TTL_MAX]. 0 or -1. */
static int parse_ttl(const struct http_field *f, uint32_t *ttl)
{
	if (f->count != 1 || f->len == 0 || f->len > 5)
		return -1; /* 21600 has 5 digits */
	uint32_t v = 0;
	for (size_t i = 0; i < f->len; i++) {
		if (f->value[i] < '0' || f->value[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(f->value[i] - '0');
	}
	if (v < MDR_TOKEN_TTL_MIN || v > MDR_TOKEN_TTL_MAX)
		return -1;
	*ttl = v;
	return 0;
}

static void random_bytes(const struct mdr_render_ctx *rnd, void *buf, size_t len)
{
	if (rnd && rnd->random)
		rnd->random(buf, len, rnd->opaque);
	else
		memset(buf, 0, len);
}

static bool have_key(const struct mdr_serve_inst *inst)
{
	return inst->keys && inst->keys->cur_id != 0;
}

static int token_put(const struct http_req *req, const struct mdr_serve_inst *inst,
		     uint64_t now_s, const struct mdr_render_ctx *rnd,
		     struct mdr_serve_resp *out)
{
	uint32_t ttl;
	if (req->forwarded_for)
		return simple(out, 400); /* proxies must not mint tokens */
	if (parse_ttl(&req->token_ttl, &ttl) != 0)
		return simple(out, 400);
	if (!have_key(inst))
		return simple(out, 503);
	uint8_t nonce[MDR_TOKEN_NONCE_SIZE];
	random_bytes(rnd, nonce, sizeof(nonce));
	size_t n = mdr_token_mint(inst->keys, inst->uuid, ttl, now_s, nonce,
				  out->token_buf, sizeof(out->token_buf));
	if (n == 0)
		return simple(out, 500);
	out->status = 200;
	out->content_type = CT_PLAIN;
	out->body = out->token_buf;
	out->content_length = n;
	snprintf(out->ttl_buf, sizeof(out->ttl_buf), "%u", ttl);
	add_hdr(out, MDR_HDR_TOKEN_TTL, out->ttl_buf);
	out->ip_ttl = inst->hop_limit ? inst->hop_limit : 1;
	out->token_issued = true;
	return 200;
}

/* "/openstack" or below it (after normalisation). */
static bool is_openstack_path(const char *p)
{
	static const char pre[] = "/openstack";

	return strncmp(p, pre, sizeof(pre) - 1) == 0 &&
	       (p[sizeof(pre) - 1] == '\0' || p[sizeof(pre) - 1] == '/');
}

/* Token rules for every request but the PUT. 0 = go on, else the status
 * already written to out. */
static int token_check(const struct http_req *req, const struct mdr_serve_inst *inst,
		       const char *path, uint64_t now_s, struct mdr_serve_resp *out)
{
	if (req->token.count > 1)
		return simple(out, 400); /* which one? refuse to guess */
	if (req->token.count == 1) {
		if (!have_key(inst) ||
		    mdr_token_verify(inst->keys, inst->uuid, req->token.value,
				     req->token.len, now_s) != MDR_TOKEN_OK)
			return empty(out, 401);
		return 0;
	}
	if ((is_openstack_path(path) ? inst->tokens_openstack : inst->tokens) ==
	    MDR_TOKENS_REQUIRED)
		return empty(out, 401);
	return 0;
}

/* Turn render's reply into the response (takes ownership of its body). */
static int from_reply(struct mdr_serve_resp *out, struct mdr_reply *r,
		      const struct mdr_serve_inst *inst)
{
	out->status = r->status;
	out->content_type = r->content_type;
	switch (r->kind) {
	case MDR_REPLY_BLOB:
		out->kind = MDR_SERVE_BLOB;
		out->blob = r->blob;
		out->content_length = r->blob_len;
		mdr_reply_free(r);
		break;
	case MDR_REPLY_PASSWORD:
		out->kind = MDR_SERVE_BODY;
		mdr_reply_free(r);
		if (inst->has_password && inst->password) {
			out->body = inst->password;
			out->content_length = inst->password_len;
		} else {
			out->body = "";
			out->content_length = 0;
		}
		break;
	case MDR_REPLY_BODY:
	default:
		out->kind = MDR_SERVE_BODY;
		out->owned = r->borrowed ? NULL : r->body;
		out->body = r->body ? r->body : "";
		out->content_length = r->body ? r->body_len : 0;
		break;
	}
	r->body = NULL;
	r->borrowed = false;
	return out->status;
}

/* The tree's renderer: the hook (a memo) or mdr_render. */
static int render(const struct mdr_serve_inst *inst, const char *raw, const char *norm,
		  const struct mdr_render_ctx *rnd, struct mdr_reply *r)
{
	return inst->render ? inst->render(inst->render_opaque, inst->defn, raw, norm, rnd, r)
			    : mdr_render(inst->defn, raw, rnd, r);
}

/* Randomness passes through here: an answer that used it gets its ETag
 * from a second rendering with zero bytes (see serve.h). */
struct rnd_spy {
	const struct mdr_render_ctx *orig;
	bool used;
};

static void spy_random(void *buf, size_t len, void *opaque)
{
	struct rnd_spy *sp = opaque;

	sp->used = true;
	random_bytes(sp->orig, buf, len);
}

/* The wall clock (credentials' expiry) passes through unchanged, with the
 * caller's opaque. */
static int64_t spy_wall(void *opaque)
{
	const struct rnd_spy *sp = opaque;

	return sp->orig->wall(sp->orig->opaque);
}

struct view_ctx {
	const struct mdr_serve_inst *inst;
	const struct mdr_render_ctx *rnd;
};

static int view_render(void *opaque, const char *path, struct mdr_reply *out)
{
	struct view_ctx *v = opaque;

	return render(v->inst, path, path, v->rnd, out);
}

static int view_blob(void *opaque, unsigned blob, const uint8_t **data, size_t *len)
{
	const struct mdr_serve_inst *inst = ((struct view_ctx *)opaque)->inst;

	return inst->blob(inst->render_opaque, blob, data, len);
}

/*
 * The answer for the view asked: the JSON view (200 only; other statuses
 * fall back to the text answer, which has nova's bytes) or the text.
 * 0 with *r filled, -ENOENT (content changed: retry), other -errno, or a
 * positive status to answer (MDR_JSONVIEW_TOO_BIG).
 */
static int answer(const struct mdr_serve_inst *inst, const char *raw, const char *path,
		  const struct mdr_render_ctx *rnd, bool json, struct mdr_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (json) {
		struct view_ctx vc = { .inst = inst, .rnd = rnd };
		struct mdr_jsonview_src src = {
			.render = view_render,
			.blob = inst->blob ? view_blob : NULL,
			.opaque = &vc,
			.password = inst->has_password ? inst->password : NULL,
			.password_len = inst->has_password ? inst->password_len : 0,
		};
		char *body;
		size_t len;
		int st = mdr_jsonview(&src, path, &body, &len);

		if (st < 0 || st == MDR_JSONVIEW_TOO_BIG)
			return st;
		if (st == 200) {
			r->status = 200;
			r->content_type = MDR_CT_JSON;
			r->kind = MDR_REPLY_BODY;
			r->body = body;
			r->body_len = len;
			return 0;
		}
	}
	return render(inst, raw, path, rnd, r) ? -ENOMEM : 0;
}

/* The ETag of a 200 answer r (see serve.h); 0 with *tag, or -errno. */
static int etag_of(const struct mdr_serve_inst *inst, const struct mdr_reply *r, uint64_t *tag)
{
	uint64_t h = mdr_etag_update(MDR_ETAG_INIT, r->content_type, strlen(r->content_type) + 1);

	switch (r->kind) {
	case MDR_REPLY_BLOB:
		if (inst->blob_hash || inst->blob) {
			uint64_t bh = MDR_ETAG_INIT;
			const uint8_t *d;
			size_t n;
			int e = inst->blob_hash ? inst->blob_hash(inst->render_opaque, r->blob, &bh)
					: inst->blob(inst->render_opaque, r->blob, &d, &n);
			if (e)
				return e;
			if (!inst->blob_hash)
				bh = mdr_etag_update(bh, d, n);
			h = mdr_etag_update(h, &bh, sizeof(bh));
		} else {
			h = mdr_etag_update(h, &r->blob, sizeof(r->blob));
			h = mdr_etag_update(h, &r->blob_len, sizeof(r->blob_len));
		}
		break;
	case MDR_REPLY_PASSWORD:
		if (inst->has_password && inst->password)
			h = mdr_etag_update(h, inst->password, inst->password_len);
		break;
	case MDR_REPLY_BODY:
	default:
		h = mdr_etag_update(h, r->body ? r->body : "", r->body ? r->body_len : 0);
		break;
	}
	*tag = mdr_etag_final(h);
	return 0;
}

/* GET/HEAD of the tree or the password: view, ETag, 304, long-poll. */
static int tree_view(const struct http_req *req, const struct mdr_serve_inst *inst,
		     const char *path, const struct mdr_render_ctx *rnd,
		     const struct mdr_query *q, bool json, struct mdr_serve_resp *out)
{
	struct rnd_spy sp = { .orig = rnd };
	struct mdr_render_ctx ctx = { .random = spy_random, .opaque = &sp,
				      .remote_ip = rnd ? rnd->remote_ip : NULL,
				      .wall = rnd && rnd->wall ? spy_wall : NULL };
	struct mdr_reply r;
	uint64_t tag;
	int e = answer(inst, req->target, path, &ctx, json, &r);

	if (e > 0)
		return simple(out, e);
	if (e == 0 && r.status == 200) {
		if (sp.used) {
			/* the tag of the answer with a zero seed */
			struct mdr_render_ctx zero = { .remote_ip = ctx.remote_ip,
						       .wall = ctx.wall, .opaque = &sp };
			struct mdr_reply z;
			e = answer(inst, req->target, path, &zero, json, &z);
			if (e == 0)
				e = etag_of(inst, &z, &tag);
			if (e >= 0)
				mdr_reply_free(&z);
		} else {
			e = etag_of(inst, &r, &tag);
		}
		if (e)
			mdr_reply_free(&r);
	}
	if (e == -ENOENT) {
		out->retry = true;
		return simple(out, 503);
	}
	if (e)
		return simple(out, e > 0 ? e : 500);
	if (r.status != 200) {
		from_reply(out, &r, inst);
		if (out->status == 404) /* nova's HTTPNotFound */
			return webob_error(req, out, 404, NULL);
		return out->status;
	}

	out->etag = tag;
	if (q->wait_for_change && !inst->no_wait) {
		bool same = q->has_last_etag ? q->last_etag_valid && q->last_etag == tag
					     : !inst->has_wait_etag || inst->wait_etag == tag;
		if (same) {
			mdr_reply_free(&r);
			out->wait = true;
			out->wait_s = q->timeout_s;
			out->status = 200;
			return 200;
		}
	}
	from_reply(out, &r, inst);
	mdr_etag_format(tag, out->etag_buf);
	add_hdr(out, "ETag", out->etag_buf);
	if (req->if_none_match.count &&
	    mdr_etag_none_match(req->if_none_match.value, req->if_none_match.len, tag)) {
		out->status = 304; /* Content-Length stays the 200's (RFC 9110 8.6) */
		out->send_body = false;
	}
	return out->status;
}

int mdr_serve(const struct http_req *req, const struct mdr_serve_inst *inst,
	      uint64_t now_s, const struct mdr_render_ctx *rnd,
	      struct mdr_serve_resp *out)
{
	resp_init(out, req);
	mdr_serve_date(out, now_s);

	char path[MDR_PATH_MAX];
	if (mdr_path_normalize(req->target, path, sizeof(path)) != 0)
		return simple(out, 400);

	enum path_class cls = PATH_TREE;
	if (strcmp(path, MDR_TOKEN_PATH) == 0)
		cls = PATH_TOKEN;
	else if (is_password_path(path))
		cls = PATH_PASSWORD;

	switch (cls) {
	case PATH_TOKEN:
		if (req->method != HTTP_M_PUT)
			return method_not_allowed(out, ALLOW_TOKEN);
		break;
	case PATH_PASSWORD:
		if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD &&
		    req->method != HTTP_M_POST)
			return method_not_allowed(out, ALLOW_PASSWORD);
		break;
	case PATH_TREE:
		if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD)
			return method_not_allowed(out, ALLOW_TREE);
		break;
	}

	if (!inst->defn) {
		/* Unknown instance: render answers "/" alone, 404 otherwise. */
		if (cls != PATH_TREE)
			return webob_error(req, out, 404, NULL);
	} else if (cls == PATH_TOKEN) {
		return token_put(req, inst, now_s, rnd, out);
	} else {
		int st = token_check(req, inst, path, now_s, out);
		if (st)
			return st;
	}

	struct mdr_query q;
	bool view = (req->method == HTTP_M_GET || req->method == HTTP_M_HEAD) && inst->defn;
	if (view) {
		if (mdr_query_parse(req->target, &q) != 0)
			return simple(out, 400);
		bool json = q.alt == MDR_ALT_JSON ||
			    (q.alt == MDR_ALT_NONE &&
			     (q.recursive || (req->accept.count &&
					      mdr_accept_json(req->accept.value, req->accept.len))));
		return tree_view(req, inst, path, rnd, &q, json, out);
	}

	struct mdr_reply r;
	memset(&r, 0, sizeof(r));
	if (render(inst, req->target, path, rnd, &r) != 0)
		return simple(out, 500);

	if (cls == PATH_PASSWORD && r.kind == MDR_REPLY_PASSWORD &&
	    req->method == HTTP_M_POST) {
		const char *ctype = r.content_type;
		mdr_reply_free(&r);
		if (inst->has_password && inst->password_len > 0)
			return webob_error(req, out, 409, NULL); /* nova checks this first */
		if (req->body_len > MDR_PASSWORD_MAX)
			return webob_error(req, out, 400, "Request is too large.");
		out->store_password = true;
		out->password = req->body;
		out->password_len = req->body_len;
		empty(out, 200);
		out->content_type = ctype; /* as GET: webob's default type */
		return 200;
	}
	from_reply(out, &r, inst);
	if (out->status == 404) /* nova's HTTPNotFound */
		return webob_error(req, out, 404, NULL);
	return out->status;
}

void mdr_serve_error(int status, struct mdr_serve_resp *out)
{
	resp_init(out, NULL);
	simple(out, status);
	out->keep_alive = false;
}

void mdr_serve_date(struct mdr_serve_resp *r, uint64_t now_s)
{
	http_format_date(r->date, now_s);
}

size_t mdr_serve_head(const struct mdr_serve_resp *r, char *buf, size_t cap)
{
	struct http_hdr h[MDR_SERVE_MAX_HDRS + 1];
	size_t n = 0;

	if (r->date[0]) {
		h[n].name = "Date";
		h[n++].value = r->date;
	}
	for (size_t i = 0; i < r->n_hdrs && i < MDR_SERVE_MAX_HDRS; i++)
		h[n++] = r->hdrs[i];
	return http_response_head(buf, cap, r->status, r->content_type,
				  r->content_length, r->keep_alive, h, n);
}

void mdr_serve_resp_free(struct mdr_serve_resp *r)
{
	free(r->owned);
	r->owned = NULL;
	r->body = "";
}
