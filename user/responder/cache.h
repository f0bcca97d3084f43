/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.h - the responder's view of instances, cached by generation.
 *
 * Every request reads the instance's mdr_inst record (one map lookup); when
 * its generation differs from the cached one, the doc of the new
 * generation is read and parsed again, and contents (user data, files) are
 * read lazily, each at most once per generation. A chunk that vanished
 * while being read means a writer replaced the generation: the record is
 * read again and the read retried, so a reader never mixes generations and
 * never serves data older than the record it just read.
 */
#ifndef MDR_RSP_CACHE_H
#define MDR_RSP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"
#include "maps.h"

struct mdr_defn;

struct rsp_inst {
	uint32_t id;
	struct mdr_instance rec;  /* the record as last read */
	struct mdr_defn *defn;    /* doc of rec.gen, NULL until loaded/when broken */
	bool broken;              /* the doc of rec.gen cannot be read or parsed */
	/* internal */
	uint32_t defn_gen;
	uint64_t used_ns;
	struct rsp_inst *next;
};

struct rsp_cache;

struct rsp_cache *rsp_cache_new(const struct mdr_maps *m);
void rsp_cache_free(struct rsp_cache *c);

/*
 * The instance as the maps hold it now: reads the record, and the doc if
 * the generation changed. NULL when the instance does not exist (deleted
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

/* Forget instances unused since now_ns - idle_ns (memory stays bounded
 * by the instances guests actually talk to). */
void rsp_cache_expire(struct rsp_cache *c, uint64_t now_ns, uint64_t idle_ns);

#endif /* MDR_RSP_CACHE_H */
