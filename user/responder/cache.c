/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Instance cache by generation (see cache.h). */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defn.h"
#include "log.h"
#include "store.h"

/* Hash buckets (power of 2): instances per node are at most
 * MDR_MAX_INSTANCES, chains stay short at a few thousand. */
#define RSP_CACHE_BUCKETS 4096u

struct rsp_cache {
	const struct mdr_maps *m;
	struct rsp_inst *bucket[RSP_CACHE_BUCKETS];
	size_t n;
};

static unsigned bucket_of(uint32_t id)
{
	return (id * 2654435761u) >> 20 & (RSP_CACHE_BUCKETS - 1);
}

struct rsp_cache *rsp_cache_new(const struct mdr_maps *m)
{
	struct rsp_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->m = m;
	return c;
}

static void inst_free(struct rsp_inst *i)
{
	mdr_defn_free(i->defn);
	free(i);
}

void rsp_cache_free(struct rsp_cache *c)
{
	if (!c)
		return;
	for (unsigned b = 0; b < RSP_CACHE_BUCKETS; b++)
		while (c->bucket[b]) {
			struct rsp_inst *i = c->bucket[b];
			c->bucket[b] = i->next;
			inst_free(i);
		}
	free(c);
}

static struct rsp_inst *lookup(struct rsp_cache *c, uint32_t id)
{
	for (struct rsp_inst *i = c->bucket[bucket_of(id)]; i; i = i->next)
		if (i->id == id)
			return i;
	return NULL;
}

static void drop(struct rsp_cache *c, uint32_t id)
{
	struct rsp_inst **p = &c->bucket[bucket_of(id)];

	for (; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct rsp_inst *i = *p;
			*p = i->next;
			inst_free(i);
			c->n--;
			return;
		}
}

/* Entry for id with a fresh record; NULL (entry dropped) when the
 * instance does not exist. */
static struct rsp_inst *refresh_record(struct rsp_cache *c, uint32_t id, uint64_t now_ns)
{
	struct mdr_instance rec;
	struct rsp_inst *i;
	int r = mdr_store_record(c->m, id, &rec);

	if (r) {
		if (r != -ENOENT)
			mdr_log(MDR_LOG_ERR, "instance id %u: reading its record: %s", id,
				strerror(-r));
		drop(c, id);
		return NULL;
	}
	i = lookup(c, id);
	if (!i) {
		i = calloc(1, sizeof(*i));
		if (!i)
			return NULL;
		i->id = id;
		i->next = c->bucket[bucket_of(id)];
		c->bucket[bucket_of(id)] = i;
		c->n++;
	}
	if (i->defn && (i->defn_gen != rec.gen || strcmp(i->rec.uuid, rec.uuid))) {
		mdr_defn_free(i->defn);
		i->defn = NULL;
	}
	if (i->rec.gen != rec.gen || strcmp(i->rec.uuid, rec.uuid))
		i->broken = false;
	i->rec = rec;
	i->used_ns = now_ns;
	return i;
}

/* Read and parse the doc of i->rec.gen: 0, -ENOENT (generation gone),
 * other -errno (logged). */
static int load_doc(struct rsp_cache *c, struct rsp_inst *i)
{
	char perr[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d = NULL;
	char *doc;
	int r;

	if (i->rec.doc_len == 0 || i->rec.doc_len > MDR_DOC_MAX)
		r = -EINVAL;
	else if (!(doc = malloc((size_t)i->rec.doc_len + 1)))
		return -ENOMEM;
	else {
		r = mdr_store_read_blob(c->m, i->id, i->rec.gen, MDR_BLOB_DOC, doc,
					i->rec.doc_len);
		if (!r) {
			doc[i->rec.doc_len] = '\0';
			if (mdr_defn_from_doc(doc, i->rec.doc_len, &d, perr, sizeof(perr))) {
				mdr_log(MDR_LOG_ERR, "instance %s (id %u) generation %u: stored document is invalid: %s",
					i->rec.uuid, i->id, i->rec.gen, perr);
				r = -EINVAL;
			}
		}
		free(doc);
	}
	if (r == -ENOENT)
		return r;
	if (r) {
		if (r != -EINVAL)
			mdr_log(MDR_LOG_ERR, "instance %s (id %u) generation %u: reading its document: %s",
				i->rec.uuid, i->id, i->rec.gen, strerror(-r));
		i->broken = true;
		return r;
	}
	i->defn = d;
	i->defn_gen = i->rec.gen;
	return 0;
}

struct rsp_inst *rsp_cache_get(struct rsp_cache *c, uint32_t id, uint64_t now_ns)
{
	for (int attempt = 0; attempt < MDR_STORE_READ_RETRIES; attempt++) {
		struct rsp_inst *i = refresh_record(c, id, now_ns);

		if (!i || i->defn || i->broken)
			return i;
		if (load_doc(c, i) != -ENOENT)
			return i;
		/* replaced while we read it: take the new record */
	}
	mdr_log(MDR_LOG_WARN, "instance id %u: generation kept changing while reading it", id);
	return NULL;
}

const struct mdr_instance *rsp_cache_record(struct rsp_cache *c, uint32_t id,
					    uint64_t now_ns, uint64_t max_age_ns)
{
	struct rsp_inst *i = lookup(c, id);

	if (i && now_ns - i->used_ns < max_age_ns)
		return &i->rec;
	i = refresh_record(c, id, now_ns);
	return i ? &i->rec : NULL;
}

int rsp_cache_blob(struct rsp_cache *c, struct rsp_inst *i, unsigned blob,
		   const uint8_t **data, size_t *len)
{
	struct mdr_defn *d = i->defn;
	char perr[MDR_DEFN_ERR_SIZE];
	const uint8_t *have;
	size_t want;
	uint8_t *buf;
	int r;

	if (!d)
		return -EINVAL;
	if (blob == MDR_BLOB_USER_DATA) {
		have = d->user_data;
		want = d->user_data_len;
	} else if (blob >= MDR_BLOB_FILE0 && blob - MDR_BLOB_FILE0 < d->n_files) {
		have = d->file[blob - MDR_BLOB_FILE0];
		want = d->file_len[blob - MDR_BLOB_FILE0];
	} else {
		return -EINVAL;
	}
	if (have || want == 0) {
		*data = have ? have : (const uint8_t *)"";
		*len = want;
		return 0;
	}
	buf = malloc(want);
	if (!buf)
		return -ENOMEM;
	r = mdr_store_read_blob(c->m, i->id, i->defn_gen, blob, buf, (uint32_t)want);
	if (!r && mdr_defn_set_blob(d, blob, buf, want, perr, sizeof(perr))) {
		mdr_log(MDR_LOG_ERR, "instance %s (id %u) generation %u: blob %u: %s",
			i->rec.uuid, i->id, i->defn_gen, blob, perr);
		r = -EINVAL;
	}
	free(buf);
	if (r)
		return r;
	have = blob == MDR_BLOB_USER_DATA ? d->user_data : d->file[blob - MDR_BLOB_FILE0];
	if (!have)
		return -EINVAL;
	*data = have;
	*len = want;
	return 0;
}

void rsp_cache_expire(struct rsp_cache *c, uint64_t now_ns, uint64_t idle_ns)
{
	for (unsigned b = 0; b < RSP_CACHE_BUCKETS; b++) {
		struct rsp_inst **p = &c->bucket[b];
		while (*p) {
			struct rsp_inst *i = *p;
			if (now_ns - i->used_ns > idle_ns) {
				*p = i->next;
				inst_free(i);
				c->n--;
			} else {
				p = &i->next;
			}
		}
	}
}
