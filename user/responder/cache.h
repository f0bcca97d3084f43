/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.h - the responder's view of instances, cached by generation.
 *
 * The instance's mdr_inst record is read (one map lookup) at most once per
 * RX batch (rsp_cache_new_batch, called before the RX ring is peeked): so
 * every request is answered from a record read after its frame arrived,
 * and an update that completed before the request was sent is always
 * seen. When the generation differs from the cached one, the doc of the
 * new generation is read and parsed again, and contents (user data,
 * files) are read lazily, each at most once per generation. A chunk that
 * vanished while being read means a writer replaced the generation: the
 * record is read again and the read retried, so a reader never mixes
 * generations and never serves data older than the record it read.
 *
 * Rendered replies are memoised per (generation, normalised path, remote
 * address) (rsp_cache_render): a static document is rendered once per
 * generation, not per request. Replies that used randomness (the
 * random_seed of meta_data.json) are never memoised.
 */
#ifndef MDR_RSP_CACHE_H
#define MDR_RSP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"
#include "pinned.h"

struct mdr_defn;
struct mdr_render_ctx;
struct mdr_reply;
struct rsp_cache;
struct rsp_memo;

/* Buckets of an instance's memo of rendered replies (power of 2). */
#define RSP_MEMO_BUCKETS 64u

struct rsp_inst {
	uint32_t id;
	struct mdr_instance rec;  /* the record as last read */
	struct mdr_defn *defn;    /* doc of rec.gen, NULL until loaded/when broken */
	bool broken;              /* the doc of rec.gen cannot be read or parsed */
	/* internal */
	uint32_t defn_gen;
	uint64_t used_ns;
	uint64_t batch;           /* rec was read in this RX batch */
	struct rsp_cache *cache;
	struct rsp_memo *memo[RSP_MEMO_BUCKETS]; /* replies rendered from defn */
	uint32_t memo_n;          /* 200 replies memoised */
	uint32_t memo_misses;     /* other replies (404s) memoised */
	uint64_t *blob_hash;      /* per blob of defn_gen: its hash for ETags,
				   * 0 = not yet (allocated on first use) */
	size_t memo_bytes;
	struct rsp_inst *next;
};

struct rsp_cache *rsp_cache_new(const struct mdr_maps *m);
void rsp_cache_free(struct rsp_cache *c);

/* A new RX batch is about to be taken from a ring: records are read again
 * on their next use. */
void rsp_cache_new_batch(struct rsp_cache *c);

/*
 * The instance as the maps hold it now: reads the record (once per RX
 * batch), and the doc if the generation changed. NULL when the instance does not exist (deleted
 * or never stored). The result is valid until the next call for this id
 * (or rsp_cache_expire). *broken instances have defn == NULL.
 */
struct rsp_inst *rsp_cache_get(struct rsp_cache *c, uint32_t id, uint64_t now_ns);

/* The record only (no doc read): for connection limits at SYN time.
 * Uses the cached record when it is younger than max_age_ns. NULL when
 * the instance does not exist. */
const struct mdr_instance *rsp_cache_record(struct rsp_cache *c, uint32_t id,
					    uint64_t now_ns, uint64_t max_age_ns);

/*
 * Content of blob (MDR_BLOB_USER_DATA or MDR_BLOB_FILE0 + i) of the
 * generation i->defn describes, loaded on first use. Returns 0 with
 * data and len (valid as long as i->defn), -ENOENT when that generation is
 * gone (call rsp_cache_get again and redo the request), other -errno.
 */
int rsp_cache_blob(struct rsp_cache *c, struct rsp_inst *i, unsigned blob,
		   const uint8_t **data, size_t *len);

/* mdr_etag_update(MDR_ETAG_INIT, blob's bytes), computed once per
 * generation (ETags of user data and files). Returns as rsp_cache_blob. */
int rsp_cache_blob_hash(struct rsp_cache *c, struct rsp_inst *i, unsigned blob, uint64_t *h);

/*
 * mdr_serve_render_fn over the memo of instance i (opaque = i): answers
 * from the memo, or renders with mdr_render and keeps the reply (bounded
 * per instance and in total) unless it used randomness. Memoised bodies
 * are borrowed (out->borrowed): valid until the next rsp_cache_get of
 * this instance.
 */
int rsp_cache_render(void *opaque, const struct mdr_defn *defn, const char *raw_path,
		     const char *norm_path, const struct mdr_render_ctx *rnd,
		     struct mdr_reply *out);

/* Forget instances unused since now_ns - idle_ns (memory stays bounded
 * by the instances guests actually talk to). */
void rsp_cache_expire(struct rsp_cache *c, uint64_t now_ns, uint64_t idle_ns);

#endif /* MDR_RSP_CACHE_H */
