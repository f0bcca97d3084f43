/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Instance cache by generation (see cache.h). */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defn.h"
#include "hash.h"
#include "log.h"
#include "query.h"
#include "render.h"
#include "store.h"

/* Hash buckets (power of 2): instances per node are at most
 * MDR_MAX_INSTANCES, chains stay short at a few thousand. */
#define RSP_CACHE_BUCKETS 4096u
/* Memo bounds. An instance's tree has a few hundred paths (times the
 * guest's one or two source addresses); bodies are small documents (user
 * data and files are blobs, never copied into the memo). Past a bound new
 * replies are rendered per request again, as without a memo. */
#define RSP_MEMO_MAX_ENTRIES 1024u           /* per instance */
#define RSP_MEMO_MAX_BYTES (1024u * 1024u)   /* per instance, keys + bodies */
#define RSP_MEMO_TOTAL_BYTES (64u * 1024u * 1024u) /* all instances */
/* Replies other than 200 (404s of absent paths) have their own small
 * budget per instance: a guest asking for 1,024 made-up paths must not
 * crowd its real tree out of the memo. Past it they are rendered per
 * request (a 404 costs a tree lookup). */
#define RSP_MEMO_MAX_MISSES 32u

struct rsp_cache {
	const struct mdr_maps *m;
	struct rsp_inst *bucket[RSP_CACHE_BUCKETS];
	size_t n;
	uint64_t batch;      /* current RX batch (rsp_cache_new_batch) */
	size_t memo_bytes;   /* of every instance's memo */
};

/* One memoised reply of mdr_render for (normalised path, remote address). */
struct rsp_memo {
	struct rsp_memo *next;
	uint32_t hash;
	int status;
	const char *content_type;     /* static string */
	enum mdr_reply_kind kind;
	unsigned blob;
	size_t blob_len;
	char *body;                   /* owned, NULL when render gave none */
	size_t body_len;
	size_t bytes;                 /* accounted size */
	size_t path_len, remote_len;
	char key[];                   /* path NUL remote NUL */
};

static void memo_clear(struct rsp_cache *c, struct rsp_inst *i)
{
	for (unsigned b = 0; b < RSP_MEMO_BUCKETS; b++)
		while (i->memo[b]) {
			struct rsp_memo *m = i->memo[b];
			i->memo[b] = m->next;
			c->memo_bytes -= m->bytes;
			free(m->body);
			free(m);
		}
	i->memo_n = 0;
	i->memo_misses = 0;
	i->memo_bytes = 0;
}

/* The doc of i->defn_gen is no longer the one to serve. */
static void defn_drop(struct rsp_cache *c, struct rsp_inst *i)
{
	memo_clear(c, i);
	mdr_defn_free(i->defn);
	i->defn = NULL;
	free(i->blob_hash);
	i->blob_hash = NULL;
}

static unsigned bucket_of(uint32_t id)
{
	return (id * 2654435761u) >> 20 & (RSP_CACHE_BUCKETS - 1);
}

struct rsp_cache *rsp_cache_new(const struct mdr_maps *m)
{
	struct rsp_cache *c = calloc(1, sizeof(*c));

	if (c) {
		c->m = m;
		c->batch = 1; /* entries start at 0: never read */
	}
	return c;
}

void rsp_cache_new_batch(struct rsp_cache *c)
{
	c->batch++;
}

static void inst_free(struct rsp_cache *c, struct rsp_inst *i)
{
	defn_drop(c, i);
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
			inst_free(c, i);
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
			inst_free(c, i);
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
		i->cache = c;
		i->next = c->bucket[bucket_of(id)];
		c->bucket[bucket_of(id)] = i;
		c->n++;
	}
	if (i->defn && (i->defn_gen != rec.gen || strcmp(i->rec.uuid, rec.uuid)))
		defn_drop(c, i);
	if (i->rec.gen != rec.gen || strcmp(i->rec.uuid, rec.uuid))
		i->broken = false;
	i->rec = rec;
	i->used_ns = now_ns;
	i->batch = c->batch;
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
	struct rsp_inst *i = lookup(c, id);

	/* Read after this batch's frames arrived: still current for them. */
	if (i && i->batch == c->batch && (i->defn || i->broken)) {
		i->used_ns = now_ns;
		return i;
	}
	for (int attempt = 0; attempt < MDR_STORE_READ_RETRIES; attempt++) {
		i = refresh_record(c, id, now_ns);

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

int rsp_cache_blob_hash(struct rsp_cache *c, struct rsp_inst *i, unsigned blob, uint64_t *h)
{
	const uint8_t *data;
	size_t len;
	int r;

	if (blob >= MDR_BLOB_FILE0 + MDR_MAX_FILES)
		return -EINVAL;
	if (i->blob_hash && i->blob_hash[blob]) {
		*h = i->blob_hash[blob];
		return 0;
	}
	r = rsp_cache_blob(c, i, blob, &data, &len);
	if (r)
		return r;
	*h = mdr_etag_update(MDR_ETAG_INIT, data, len);
	if (!i->blob_hash)
		i->blob_hash = calloc(MDR_BLOB_FILE0 + MDR_MAX_FILES, sizeof(*i->blob_hash));
	if (i->blob_hash)
		i->blob_hash[blob] = *h; /* a 0 hash is only recomputed */
	return 0;
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
	if (r == -ENOENT)
		i->batch = 0; /* generation gone: the caller's retry re-reads */
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
				inst_free(c, i);
				c->n--;
			} else {
				p = &i->next;
			}
		}
	}
}

/* ---------------------------------------------------------------- memo */

struct rnd_spy {
	const struct mdr_render_ctx *orig;
	bool used;
};

/* Randomness goes through here: a reply that used it is never memoised. */
static void spy_random(void *buf, size_t len, void *opaque)
{
	struct rnd_spy *sp = opaque;

	sp->used = true;
	if (sp->orig && sp->orig->random)
		sp->orig->random(buf, len, sp->orig->opaque);
	else
		memset(buf, 0, len); /* what mdr_render does without a source */
}

/* So does the wall clock (credentials' expiry): such a reply is never
 * memoised either, it is decided again at each request. */
static int64_t spy_wall(void *opaque)
{
	struct rnd_spy *sp = opaque;

	sp->used = true;
	return sp->orig && sp->orig->wall ? sp->orig->wall(sp->orig->opaque) : -1;
}

static uint32_t memo_hash(const char *path, size_t pl, const char *remote, size_t rl)
{
	static const uint8_t sep = 0xff; /* a separator no path byte can be */
	uint32_t h = mdr_fnv1a(MDR_FNV1A_INIT, path, pl);

	h = mdr_fnv1a(h, &sep, 1);
	return mdr_fnv1a(h, remote, rl);
}

static void memo_answer(const struct rsp_memo *m, struct mdr_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->status = m->status;
	out->content_type = m->content_type;
	out->kind = m->kind;
	out->body = m->body;
	out->body_len = m->body_len;
	out->blob = m->blob;
	out->blob_len = m->blob_len;
	out->borrowed = true;
}

int rsp_cache_render(void *opaque, const struct mdr_defn *defn, const char *raw_path,
		     const char *norm_path, const struct mdr_render_ctx *rnd,
		     struct mdr_reply *out)
{
	struct rsp_inst *i = opaque;
	struct rsp_cache *c = i->cache;
	const char *remote = rnd && rnd->remote_ip ? rnd->remote_ip : "";
	size_t pl = strlen(norm_path), rl = strlen(remote), bytes;
	uint32_t h = memo_hash(norm_path, pl, remote, rl);
	struct rnd_spy sp = { .orig = rnd };
	struct mdr_render_ctx ctx = {
		.random = spy_random,
		.opaque = &sp,
		.remote_ip = rnd ? rnd->remote_ip : NULL,
		.wall = spy_wall,
	};
	struct rsp_memo *m, **head = &i->memo[h & (RSP_MEMO_BUCKETS - 1)];
	bool miss;
	int r;

	if (defn == i->defn && defn) {
		for (m = *head; m; m = m->next)
			if (m->hash == h && m->path_len == pl && m->remote_len == rl &&
			    !memcmp(m->key, norm_path, pl) &&
			    !memcmp(m->key + pl + 1, remote, rl)) {
				memo_answer(m, out);
				return 0;
			}
	}
	r = mdr_render(defn, raw_path, &ctx, out);
	if (r || sp.used || !defn || defn != i->defn)
		return r;
	bytes = sizeof(*m) + pl + rl + 2 + (out->body ? out->body_len : 0);
	miss = out->status != 200;
	if (miss ? i->memo_misses >= RSP_MEMO_MAX_MISSES : i->memo_n >= RSP_MEMO_MAX_ENTRIES)
		return 0;
	if (i->memo_bytes + bytes > RSP_MEMO_MAX_BYTES || c->memo_bytes + bytes > RSP_MEMO_TOTAL_BYTES)
		return 0;
	m = malloc(sizeof(*m) + pl + rl + 2);
	if (!m)
		return 0; /* the reply is fine, just not kept */
	m->hash = h;
	m->status = out->status;
	m->content_type = out->content_type;
	m->kind = out->kind;
	m->blob = out->blob;
	m->blob_len = out->blob_len;
	m->body = out->body; /* ownership moves to the memo */
	m->body_len = out->body_len;
	m->bytes = bytes;
	m->path_len = pl;
	m->remote_len = rl;
	memcpy(m->key, norm_path, pl + 1);
	memcpy(m->key + pl + 1, remote, rl + 1);
	m->next = *head;
	*head = m;
	if (miss)
		i->memo_misses++;
	else
		i->memo_n++;
	i->memo_bytes += bytes;
	c->memo_bytes += bytes;
	out->borrowed = true;
	return 0;
}
