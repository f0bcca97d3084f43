/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * serve.h - the responder's request handler: one parsed HTTP request plus
 * the instance it came from -> one response description (status, headers,
 * body or blob reference, IP TTL, keep-alive, side effects). Pure code: no
 * I/O; the clock and randomness are injected. The caller sends the head
 * (mdr_serve_head), then the body bytes (unless HEAD), performs the side
 * effects (store the password) and counts the status.
 *
 * Rules:
 *  - GET and HEAD on every path (HEAD: same headers and Content-Length, no
 *    body); PUT only on /latest/api/token; POST only on
 *    /openstack/<ver>/password. Any other method/path combination -> 405
 *    with Allow naming what the path accepts.
 *  - PUT /latest/api/token: X-Forwarded-For present -> 400; TTL header
 *    missing, repeated, not decimal or outside 1..21600 -> 400; else 200,
 *    the token as text/plain, the TTL header echoed, IP TTL = hop limit.
 *  - Tokens (every path but the PUT itself), one policy per tree: `tokens`
 *    for the EC2 tree ("/", "/latest/...", "/ec2/..."), `tokens_openstack`
 *    for "/openstack/..." (its agents never send a token, so it defaults
 *    to optional; the same secrets are there, see
 *    docs/instance-definition.md): `optional` - no token is fine, a
 *    presented one must verify; `required` - no valid token -> 401. 401 has an
 *    empty body, like EC2; cloud-init refetches a token on 401. Two token
 *    headers -> 400.
 *  - Password: POST body > MDR_PASSWORD_MAX -> 400; already set -> 409;
 *    else 200 empty + store side effect. GET returns the stored password
 *    (200 empty when unset). Versions without it -> 404 (render decides).
 *  - Unknown instance (defn NULL): only "/" answers; everything else 404.
 *    The token PUT then answers 404 too, which botocore reads as "no
 *    IMDSv2" (falls back to v1 GETs).
 *  - GET/HEAD of the tree and the password (after the token rules, so
 *    tokens apply to all of this):
 *    - the query (query.h) is parsed: a bad one -> 400;
 *    - the JSON view (jsonview.h) when alt=json, or recursive=true or an
 *      Accept asking for application/json without alt=text; a view over
 *      MDR_JSONVIEW_MAX -> 413. Otherwise the bytes are today's;
 *    - every 200 carries an ETag: a hash of the content type and the
 *      bytes of the answer (for meta_data.json, whose random_seed is new
 *      on every request, of the answer rendered with a zero seed), so it
 *      changes exactly when the answer does;
 *    - If-None-Match naming the current tag (or "*") -> 304, no body;
 *    - wait_for_change=true on a 200 whose tag equals last_etag (or,
 *      without last_etag, always the first time): out->wait is set and
 *      the caller holds the request, re-running mdr_serve with
 *      inst->wait_etag when the instance changes and with inst->no_wait
 *      after timeout_sec.
 */
#ifndef MDR_SERVE_H
#define MDR_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"
#include "http.h"
#include "query.h"
#include "render.h"
#include "token.h"

/* Extra headers a response can carry (Allow, TTL echo, spare). */
#define MDR_SERVE_MAX_HDRS 4
/* The token API path (after mdr_path_normalize). */
#define MDR_TOKEN_PATH "/latest/api/token"
/* Request/response header carrying the token, and the TTL header. */
#define MDR_HDR_TOKEN "X-aws-ec2-metadata-token"
#define MDR_HDR_TOKEN_TTL "X-aws-ec2-metadata-token-ttl-seconds"

/*
 * Optional replacement of mdr_render(defn, raw_path, rnd, out) for the tree
 * (e.g. a memo of rendered replies per instance generation). norm_path is
 * raw_path after mdr_path_normalize (a key; render itself wants the raw
 * path). Same contract as mdr_render; a reply whose body the hook keeps
 * sets out->borrowed, and it must stay valid until the response is sent.
 */
typedef int (*mdr_serve_render_fn)(void *opaque, const struct mdr_defn *defn,
				   const char *raw_path, const char *norm_path,
				   const struct mdr_render_ctx *rnd,
				   struct mdr_reply *out);

/* What the handler knows about the instance a request came from. */
struct mdr_serve_inst {
	uint32_t id;
	const char *uuid;            /* canonical (mdr_instance.uuid) */
	enum mdr_tokens_mode tokens;           /* the EC2 tree */
	enum mdr_tokens_mode tokens_openstack; /* "/openstack/..." */
	uint8_t hop_limit;           /* IP TTL of the token PUT reply; 0 -> 1 */
	const struct mdr_defn *defn; /* NULL: unknown instance */
	bool has_password;           /* a password is stored */
	const char *password;        /* its bytes (not NUL-terminated) */
	size_t password_len;
	/* NULL or cur_id == 0: no key, the token PUT answers 503 and presented
	 * tokens are invalid. */
	const struct mdr_token_keys *keys;
	mdr_serve_render_fn render;  /* NULL: mdr_render */
	void *render_opaque;
	/* Bytes of a content blob (render_opaque): 0, -ENOENT when its
	 * generation is gone (out->retry), other -errno. For the JSON view
	 * and the ETag of user data and files; NULL: blobs hash by length. */
	int (*blob)(void *opaque, unsigned blob, const uint8_t **data, size_t *len);
	/* mdr_etag_update(MDR_ETAG_INIT, bytes of blob), kept by the caller
	 * per generation (a 64 KiB blob is not hashed per request); same
	 * returns as blob. NULL: hashed through blob. */
	int (*blob_hash)(void *opaque, unsigned blob, uint64_t *h);
	/* Long-poll: the request waits for a tag other than wait_etag (when
	 * has_wait_etag; set by the caller for a held request without
	 * last_etag); no_wait: its timeout passed, answer now. */
	bool has_wait_etag;
	uint64_t wait_etag;
	bool no_wait;
};

enum mdr_serve_body {
	MDR_SERVE_BODY = 0, /* body/content_length bytes */
	MDR_SERVE_BLOB = 1, /* blob `blob` of the instance, content_length bytes */
};

/* The response. Holds pointers into itself: do not copy; release with
 * mdr_serve_resp_free. */
struct mdr_serve_resp {
	int status;
	const char *content_type;   /* NULL: no Content-Type header */
	enum mdr_serve_body kind;
	const char *body;           /* MDR_SERVE_BODY: the bytes (may point
				     * at inst->password: valid as long as it) */
	unsigned blob;              /* MDR_SERVE_BLOB: MDR_BLOB_* id */
	size_t content_length;      /* body length, also for HEAD */
	bool send_body;             /* false for HEAD (and 1xx/204/304, unused) */
	bool keep_alive;            /* false: send FIN after the response */
	uint8_t ip_ttl;             /* IP TTL / hop limit, 0 = the default */
	struct http_hdr hdrs[MDR_SERVE_MAX_HDRS];
	size_t n_hdrs;
	/* Side effects for the caller. */
	bool store_password;        /* store password/password_len */
	const uint8_t *password;    /* points into the request's body */
	size_t password_len;
	bool token_issued;          /* count in tokens_issued */
	bool wait;                  /* hold the request (nothing to send yet) */
	uint32_t wait_s;            /* ... at most this long (timeout_sec) */
	bool retry;                 /* content changed under it: serve again */
	uint64_t etag;              /* the answer's tag (200 and 304), 0 = none */
	/* Internal storage. */
	char *owned;                /* malloc'd body to free */
	char ttl_buf[12];
	char token_buf[MDR_TOKEN_BUF_SIZE];
	char date[HTTP_DATE_SIZE];  /* the Date header's value; "" = none */
	char etag_buf[MDR_ETAG_SIZE];
};

/*
 * Handle one complete request (req from http_parser_feed == HTTP_REQUEST).
 * now_s: unix seconds (token expiry). rnd: randomness for the token nonce
 * and meta_data.json's random_seed (see struct mdr_render_ctx). Always
 * fills *out; returns out->status (500 on allocation failure).
 * keep_alive follows the request (version and Connection header).
 */
int mdr_serve(const struct http_req *req, const struct mdr_serve_inst *inst,
	      uint64_t now_s, const struct mdr_render_ctx *rnd,
	      struct mdr_serve_resp *out);

/* A response to a request the parser rejected (status = error_status of
 * http_parser_feed): short text body, Connection: close. */
void mdr_serve_error(int status, struct mdr_serve_resp *out);

/* Set the response's Date header (RFC 9110 6.6.1: an origin server with a
 * clock sends one; IMF-fixdate) from now_s, unix seconds. mdr_serve does
 * it itself; the caller does it for mdr_serve_error responses. */
void mdr_serve_date(struct mdr_serve_resp *r, uint64_t now_s);

/*
 * Write the response head (status line, Content-Type, Content-Length,
 * Connection, Date when set, the extra headers) into buf. Returns its length, or 0 when
 * it does not fit (HTTP_RESPONSE_HEAD_MAX always fits).
 */
size_t mdr_serve_head(const struct mdr_serve_resp *r, char *buf, size_t cap);

void mdr_serve_resp_free(struct mdr_serve_resp *r);

#endif /* MDR_SERVE_H */
