/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer target for issue 18's input: the query string, Accept and
 * If-None-Match. Input: one flag byte, then target NUL accept NUL
 * if-none-match (missing parts are empty). The query parser's result must
 * keep its invariants, and mdr_serve (a known instance with user data and
 * a file, blobs read through the hook) must answer every target without
 * crashing: a 200 always has an ETag, a JSON view parses back, a held
 * long-poll is a 200, a 304 sends no body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "defn.h"
#include "query.h"
#include "serve.h"

static struct mdr_defn *defn;
static struct mdr_blob blobs[MDR_BLOB_FILE0 + 4];
static size_t nblobs;

static int blob(void *opaque, unsigned b, const uint8_t **data, size_t *len)
{
	(void)opaque;
	if (b >= nblobs)
		return -1;
	*data = blobs[b].data;
	*len = blobs[b].len;
	return 0;
}

/* Copy the next NUL-terminated part of in (at most cap - 1 bytes). */
static size_t part(const uint8_t **in, size_t *n, char *out, size_t cap)
{
	const uint8_t *e = memchr(*in, 0, *n);
	size_t l = e ? (size_t)(e - *in) : *n;
	size_t c = l < cap - 1 ? l : cap - 1;

	memcpy(out, *in, c);
	out[c] = '\0';
	*in += l + (e ? 1 : 0);
	*n -= l + (e ? 1 : 0);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_req req;
	struct mdr_query q;
	struct mdr_serve_resp resp;
	uint8_t flags;

	if (!defn) {
		static const char json[] =
			"{\"uuid\": \"8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b\", \"hostname\": \"h\","
			" \"user_data\": \"aGkK\", \"meta\": {\"k\": \"v\"},"
			" \"files\": [{\"path\": \"/etc/x\", \"content\": \"eA==\"}],"
			" \"public_keys\": {\"a\": \"ssh-ed25519 AAAA a\"}}";
		char err[MDR_DEFN_ERR_SIZE];
		if (mdr_defn_parse(json, sizeof(json) - 1, &defn, err, sizeof(err)) != 0 ||
		    mdr_defn_blobs(defn, blobs, sizeof(blobs) / sizeof(blobs[0]), &nblobs) != 0)
			abort();
	}
	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	memset(&req, 0, sizeof(req));
	req.target_len = part(&data, &size, req.target, sizeof(req.target));
	if (req.target[0] != '/')
		return 0; /* the parser only hands over origin-form targets */
	req.accept.len = (uint16_t)part(&data, &size, req.accept.value, sizeof(req.accept.value));
	req.accept.count = req.accept.len > 0;
	req.if_none_match.len = (uint16_t)part(&data, &size, req.if_none_match.value,
					       sizeof(req.if_none_match.value));
	req.if_none_match.count = req.if_none_match.len > 0;
	req.method = (flags & 1) ? HTTP_M_HEAD : HTTP_M_GET;
	req.keep_alive = true;

	if (mdr_query_parse(req.target, &q) == 0) {
		if (q.timeout_s < 1 || q.timeout_s > MDR_WAIT_MAX_S)
			abort();
		if (q.last_etag_valid && (!q.has_last_etag || q.last_etag == 0))
			abort();
	}
	(void)mdr_accept_json(req.accept.value, req.accept.len);
	(void)mdr_etag_none_match(req.if_none_match.value, req.if_none_match.len, 1);

	struct mdr_serve_inst inst = {
		.id = 1, .uuid = "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b", .hop_limit = 1,
		.defn = defn, .blob = blob, .no_wait = (flags & 2) != 0,
		.has_wait_etag = (flags & 4) != 0, .wait_etag = 1,
	};
	mdr_serve(&req, &inst, 1700000000, NULL, &resp);
	if (resp.status < 200 || resp.status > 599)
		abort();
	if (resp.wait && (resp.status != 200 || inst.no_wait))
		abort();
	if (!resp.wait && (resp.status == 200 || resp.status == 304) && resp.etag == 0)
		abort();
	if (resp.status == 304 && resp.send_body)
		abort();
	if (!resp.wait && resp.status == 200 && resp.kind == MDR_SERVE_BODY && resp.content_type &&
	    !strcmp(resp.content_type, "application/json")) {
		json_t *j = json_loadb(resp.body, resp.content_length, JSON_DECODE_ANY, NULL);
		if (!j)
			abort(); /* every JSON answer parses back */
		json_decref(j);
	}
	char head[HTTP_RESPONSE_HEAD_MAX];
	if (!resp.wait && mdr_serve_head(&resp, head, sizeof(head)) == 0)
		abort();
	mdr_serve_resp_free(&resp);
	return 0;
}
