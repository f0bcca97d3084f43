/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer target for the HTTP request parser. Input: 4 bytes of split
 * seed, 2 bytes of request limit, then the stream a client sends. The
 * stream is parsed once in one buffer and once in pseudo-random splits
 * (sizes 1..64 from the seed); both must give the same requests, the same
 * error at the same offset, and never touch memory out of bounds (ASan).
 * Each request of the one-shot pass is also handed to the request handler
 * (mdr_serve) for a known and an unknown instance, and its response head
 * is built: whatever a guest sends must never crash the responder.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "serve.h"

/* Requests summarised per run; more pipelined requests are not compared. */
#define MAX_SUMMARIES 256

struct run {
	size_t n;
	uint64_t digest[MAX_SUMMARIES];
	int error;
	size_t end; /* bytes consumed when the run stopped */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t summarise(const struct http_req *r)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv(h, &r->method, sizeof(r->method));
	h = fnv(h, r->method_name, strlen(r->method_name));
	h = fnv(h, r->target, r->target_len);
	h = fnv(h, &r->version_minor, 1);
	h = fnv(h, &r->keep_alive, 1);
	h = fnv(h, &r->content_length, sizeof(r->content_length));
	h = fnv(h, r->body, r->body_len);
	const struct http_field *f[] = {&r->token, &r->token_ttl, &r->host, &r->accept,
					&r->if_none_match};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		h = fnv(h, &f[i]->count, 1);
		h = fnv(h, f[i]->value, f[i]->len);
	}
	h = fnv(h, &r->forwarded_for, 1);
	h = fnv(h, &r->n_headers, sizeof(r->n_headers));
	h = fnv(h, &r->head_len, sizeof(r->head_len));
	return h;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct http_req req;

/* A small known instance for the handler, parsed once. */
static struct mdr_defn *defn;
static struct mdr_token_keys keys = {.cur_id = 1, .prev_id = 0};

static void handle(const struct http_req *r)
{
	static const char json[] =
		"{\"uuid\": \"8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b\", \"user_data\": \"aGk=\"}";
	if (!defn) {
		char err[MDR_DEFN_ERR_SIZE];
		if (mdr_defn_parse(json, sizeof(json) - 1, &defn, err, sizeof(err)) != 0)
			abort();
	}
	for (int known = 0; known < 2; known++) {
		struct mdr_serve_inst inst = {
			.id = 1, .uuid = "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b",
			.tokens = r->target_len & 1 ? MDR_TOKENS_REQUIRED : MDR_TOKENS_OPTIONAL,
			.hop_limit = 1, .defn = known ? defn : NULL,
			.has_password = r->body_len & 1, .password = "pw", .password_len = 2,
			.keys = &keys,
		};
		struct mdr_serve_resp resp;
		char head[HTTP_RESPONSE_HEAD_MAX];
		mdr_serve(r, &inst, 1700000000, NULL, &resp);
		if (resp.status < 200 || resp.status > 599 || mdr_serve_head(&resp, head, sizeof(head)) == 0)
			abort();
		if (resp.kind == MDR_SERVE_BODY && resp.content_length && !resp.body)
			abort();
		mdr_serve_resp_free(&resp);
	}
}

static void parse(const uint8_t *d, size_t len, uint32_t max_req, uint32_t seed,
		  struct run *out, bool serve)
{
	struct http_parser p;
	http_parser_init(&p, max_req);
	memset(out, 0, sizeof(*out));
	uint32_t s = seed | 1;
	size_t off = 0;
	while (off < len) {
		size_t n = len - off;
		if (seed) {
			size_t c = 1 + next_rand(&s) % 64;
			if (c < n)
				n = c;
		}
		size_t done = 0;
		while (done < n) {
			size_t used;
			enum http_result r = http_parser_feed(&p, d + off + done, n - done, &used, &req);
			if (used > n - done)
				abort();
			done += used;
			if (r == HTTP_REQUEST) {
				if (req.body_len != req.content_length || req.body_len > HTTP_MAX_BODY ||
				    req.target_len > HTTP_MAX_TARGET || req.target[0] != '/')
					abort();
				char head[HTTP_RESPONSE_HEAD_MAX];
				struct http_hdr h = {"X-Echo", req.token.value};
				if (http_response_head(head, sizeof(head), 200, "text/plain",
						       req.body_len, req.keep_alive, &h, 1) == 0)
					abort(); /* kept values never contain CR/LF */
				if (serve)
					handle(&req);
				if (out->n < MAX_SUMMARIES)
					out->digest[out->n] = summarise(&req);
				out->n++;
			} else if (r == HTTP_ERROR) {
				out->error = req.error_status;
				out->end = off + done;
				return;
			} else if (done != n) {
				abort();
			}
		}
		off += n;
	}
	out->end = off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run a, b;
	if (size < 6)
		return 0;
	uint32_t seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
			(uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	uint32_t max_req = (uint32_t)data[4] | (uint32_t)data[5] << 8; /* 0 = default */
	data += 6;
	size -= 6;
	parse(data, size, max_req, 0, &a, true);
	parse(data, size, max_req, seed ? seed : 1, &b, false);
	if (a.n != b.n || a.error != b.error || a.end != b.end)
		abort();
	size_t m = a.n < MAX_SUMMARIES ? a.n : MAX_SUMMARIES;
	if (memcmp(a.digest, b.digest, m * sizeof(a.digest[0])) != 0)
		abort();
	return 0;
}
