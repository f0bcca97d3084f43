/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "store.h"
#include "hash.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <bpf/bpf.h>

/* Blob ids a generation can hold: doc, user data, every file. */
#define MDR_STORE_MAX_BLOBS (MDR_BLOB_FILE0 + MDR_MAX_FILES)

const uint32_t mdr_chunk_size[MDR_CHUNK_CLASSES] = {
	MDR_CHUNK0_SIZE, MDR_CHUNK1_SIZE, MDR_CHUNK2_SIZE,
	MDR_CHUNK3_SIZE, MDR_CHUNK4_SIZE, MDR_CHUNK5_SIZE,
};

/* ------------------------------------------------------------------ */
/* Pure parts                                                          */
/* ------------------------------------------------------------------ */

unsigned mdr_chunk_class(uint32_t remaining)
{
	for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++)
		if (mdr_chunk_size[c] <= remaining)
			return c;
	return MDR_CHUNK_CLASSES - 1;
}

uint32_t mdr_chunk_cut(uint32_t len, struct mdr_chunk_piece *out, uint32_t max)
{
	uint32_t n = 0, off = 0;

	while (off < len) {
		uint32_t rem = len - off;
		unsigned c = mdr_chunk_class(rem);
		uint32_t take = rem < mdr_chunk_size[c] ? rem : mdr_chunk_size[c];

		if (n < max)
			out[n] = (struct mdr_chunk_piece){ .cls = c, .off = off, .len = take };
		n++;
		off += take;
	}
	return n;
}

uint32_t mdr_chunk_count(uint32_t len)
{
	return mdr_chunk_cut(len, NULL, 0);
}

uint32_t mdr_instance_id_probe(const char *uuid, unsigned attempt)
{
	/* FNV-1a: stable across builds and hosts, good spread on hex text. */
	uint32_t h = mdr_fnv1a(MDR_FNV1A_INIT, uuid, strlen(uuid));

	/* Linear probe over 1..UINT32_MAX (0 is "no instance"). */
	return (uint32_t)(((uint64_t)h + attempt) % UINT32_MAX) + 1;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void uuid_key(struct mdr_uuid_key *k, const char *uuid)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->uuid, sizeof(k->uuid), "%s", uuid);
}

static struct mdr_chunk_key chunk_key(uint32_t id, uint32_t gen, unsigned blob, uint32_t i)
{
	return (struct mdr_chunk_key){ .instance_id = id, .gen = gen,
				       .blob = (__u16)blob, .chunk = (__u16)i, .pad = 0 };
}

static int instance_live(const struct mdr_maps *m, uint32_t id, struct mdr_instance *rec)
{
	struct mdr_instance tmp;

	return bpf_map_lookup_elem(m->inst, &id, rec ? rec : &tmp) == 0;
}

static const char *owner_name(const struct mdr_maps *m, uint32_t id, char *buf, size_t len)
{
	struct mdr_instance rec;

	if (instance_live(m, id, &rec))
		snprintf(buf, len, "%s", rec.uuid);
	else
		snprintf(buf, len, "id %u", id);
	return buf;
}

/* Delete the chunks of one blob of known length. */
static void delete_blob_chunks(struct mdr_maps *m, uint32_t id, uint32_t gen,
			       unsigned blob, uint32_t len)
{
	uint32_t n = mdr_chunk_count(len);

	for (uint32_t i = 0, off = 0; i < n; i++) {
		unsigned c = mdr_chunk_class(len - off);
		struct mdr_chunk_key k = chunk_key(id, gen, blob, i);

		bpf_map_delete_elem(m->chunk[c], &k);
		off += len - off < mdr_chunk_size[c] ? len - off : mdr_chunk_size[c];
	}
}

/* Delete every chunk of a generation whose blob lengths are unknown: walk
 * each blob's chunk indices, in every class map, until an index is absent
 * everywhere (a blob's chunks are indices 0..n-1). */
static void sweep_generation(struct mdr_maps *m, uint32_t id, uint32_t gen)
{
	for (unsigned b = 0; b < MDR_STORE_MAX_BLOBS; b++) {
		for (uint32_t i = 0; i <= UINT16_MAX; i++) {
			struct mdr_chunk_key k = chunk_key(id, gen, b, i);
			int found = 0;

			for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++)
				if (bpf_map_delete_elem(m->chunk[c], &k) == 0)
					found = 1;
			if (!found)
				break;
		}
	}
}

static void delete_blobs(struct mdr_maps *m, uint32_t id, uint32_t gen,
			 const struct mdr_blob *blobs, size_t nb)
{
	for (size_t b = 0; b < nb; b++)
		delete_blob_chunks(m, id, gen, (unsigned)b, (uint32_t)blobs[b].len);
}

static int write_blob(struct mdr_maps *m, uint32_t id, uint32_t gen, unsigned blob,
		      const uint8_t *data, uint32_t len)
{
	uint8_t val[MDR_CHUNK0_SIZE];
	uint32_t n = mdr_chunk_count(len);

	for (uint32_t i = 0, off = 0; i < n; i++) {
		unsigned c = mdr_chunk_class(len - off);
		uint32_t take = len - off < mdr_chunk_size[c] ? len - off : mdr_chunk_size[c];
		struct mdr_chunk_key k = chunk_key(id, gen, blob, i);

		memcpy(val, data + off, take);
		memset(val + take, 0, mdr_chunk_size[c] - take);
		if (bpf_map_update_elem(m->chunk[c], &k, val, BPF_ANY))
			return -errno;
		off += take;
	}
	return 0;
}

int mdr_store_read_blob(const struct mdr_maps *m, uint32_t id, uint32_t gen,
			unsigned blob, void *buf, uint32_t len)
{
	uint8_t val[MDR_CHUNK0_SIZE];
	uint32_t n = mdr_chunk_count(len);

	for (uint32_t i = 0, off = 0; i < n; i++) {
		unsigned c = mdr_chunk_class(len - off);
		uint32_t take = len - off < mdr_chunk_size[c] ? len - off : mdr_chunk_size[c];
		struct mdr_chunk_key k = chunk_key(id, gen, blob, i);

		if (bpf_map_lookup_elem(m->chunk[c], &k, val))
			return -errno;
		memcpy((uint8_t *)buf + off, val, take);
		off += take;
	}
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* First generation of a new instance: random, so that a uuid deleted and
 * created again never reuses a (id, gen) a reader may still cache. */
static uint32_t first_generation(void)
{
	uint32_t g = 0;

	if (getrandom(&g, sizeof(g), 0) != sizeof(g))
		g = (uint32_t)realtime_ns();
	return g ? g : 1;
}

int mdr_store_lookup(const struct mdr_maps *m, const char *uuid, uint32_t *id)
{
	struct mdr_instance rec;
	struct mdr_uuid_key k;
	char canon[MDR_UUID_SIZE];

	if (mdr_uuid_canonical(uuid, canon))
		return -EINVAL;
	uuid_key(&k, canon);
	if (bpf_map_lookup_elem(m->uuids, &k, id))
		return -errno;
	/* A claim without its record (a put that died) or with another
	 * uuid's record (a stale claim) names no instance of this uuid. */
	if (bpf_map_lookup_elem(m->inst, id, &rec) ||
	    strncmp(rec.uuid, canon, sizeof(rec.uuid)))
		return -ENOENT;
	return 0;
}

int mdr_store_record(const struct mdr_maps *m, uint32_t id, struct mdr_instance *rec)
{
	if (bpf_map_lookup_elem(m->inst, &id, rec))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Bindings                                                            */
/* ------------------------------------------------------------------ */

static int port_conflict(const struct mdr_maps *m, uint32_t id, uint32_t ifindex,
			 char *err, size_t errlen)
{
	struct mdr_port_binding pb;
	char who[MDR_UUID_SIZE + 16], name[IF_NAMESIZE];

	if (bpf_map_lookup_elem(m->ports, &ifindex, &pb) || pb.instance_id == id ||
	    !instance_live(m, pb.instance_id, NULL))
		return 0;
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "ifindex %u", ifindex);
	set_err(err, errlen, "port %s is already bound to instance %s", name,
		owner_name(m, pb.instance_id, who, sizeof(who)));
	return -EEXIST;
}

static int mac_conflict(const struct mdr_maps *m, uint32_t id, const uint8_t mac[6],
			uint16_t vlan, char *err, size_t errlen)
{
	struct mdr_mac_key k = { .vlan = vlan };
	struct mdr_mac_binding mb;
	char who[MDR_UUID_SIZE + 16];

	memcpy(k.mac, mac, 6);
	if (bpf_map_lookup_elem(m->macs, &k, &mb) || mb.instance_id == id ||
	    !instance_live(m, mb.instance_id, NULL))
		return 0;
	set_err(err, errlen,
		"MAC %02x:%02x:%02x:%02x:%02x:%02x vlan %u is already bound to instance %s",
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], vlan,
		owner_name(m, mb.instance_id, who, sizeof(who)));
	return -EEXIST;
}

int mdr_store_bind_port(struct mdr_maps *m, uint32_t id, uint32_t ifindex,
			const uint8_t *mac, uint16_t vlan, int force,
			char *err, size_t errlen)
{
	struct mdr_port_binding pb = { .instance_id = id, .vlan = vlan };
	int r;

	if (!force && (r = port_conflict(m, id, ifindex, err, errlen)))
		return r;
	if (mac) {
		memcpy(pb.mac, mac, 6);
		pb.flags = MDR_PORT_F_CHECK_MAC;
	}
	if (bpf_map_update_elem(m->ports, &ifindex, &pb, BPF_ANY)) {
		r = -errno;
		set_err(err, errlen, "writing %s[%u]: %s", MDR_MAP_PORTS, ifindex, strerror(-r));
		return r;
	}
	return 0;
}

int mdr_store_bind_mac(struct mdr_maps *m, uint32_t id, const uint8_t mac[6],
		       uint16_t vlan, uint32_t ifindex, int force,
		       char *err, size_t errlen)
{
	struct mdr_mac_key k = { .vlan = vlan };
	struct mdr_mac_binding mb = { .instance_id = id, .ifindex = ifindex };
	int r;

	if (!force && (r = mac_conflict(m, id, mac, vlan, err, errlen)))
		return r;
	memcpy(k.mac, mac, 6);
	if (bpf_map_update_elem(m->macs, &k, &mb, BPF_ANY)) {
		r = -errno;
		set_err(err, errlen, "writing %s: %s", MDR_MAP_MACS, strerror(-r));
		return r;
	}
	return 0;
}

int mdr_store_unbind_port(struct mdr_maps *m, uint32_t ifindex, uint32_t id)
{
	struct mdr_port_binding pb;

	if (bpf_map_lookup_elem(m->ports, &ifindex, &pb))
		return -ENOENT;
	if (id && pb.instance_id != id)
		return -ENOENT;
	return bpf_map_delete_elem(m->ports, &ifindex) ? -errno : 0;
}

int mdr_store_unbind_mac(struct mdr_maps *m, const uint8_t mac[6], uint16_t vlan,
			 uint32_t id)
{
	struct mdr_mac_key k = { .vlan = vlan };
	struct mdr_mac_binding mb;

	memcpy(k.mac, mac, 6);
	if (bpf_map_lookup_elem(m->macs, &k, &mb))
		return -ENOENT;
	if (id && mb.instance_id != id)
		return -ENOENT;
	return bpf_map_delete_elem(m->macs, &k) ? -errno : 0;
}

/* Collect the keys of a binding map whose value matches, then delete them
 * (deleting while walking with get_next_key would restart the walk). */
enum bind_match { MATCH_PORT_ID, MATCH_MAC_ID, MATCH_MAC_IFINDEX };

static int delete_bindings(struct mdr_maps *m, enum bind_match what, uint32_t v)
{
	int fd = what == MATCH_PORT_ID ? m->ports : m->macs;
	size_t ksz = what == MATCH_PORT_ID ? sizeof(__u32) : sizeof(struct mdr_mac_key);
	size_t cap = what == MATCH_PORT_ID ? MDR_MAX_PORTS : MDR_MAX_MACS;
	uint8_t key[8], next[8], *hits;
	size_t n = 0;
	void *prev = NULL;
	int removed = 0;

	hits = malloc(cap * ksz);
	if (!hits)
		return -ENOMEM;
	while (n < cap && bpf_map_get_next_key(fd, prev, next) == 0) {
		int match = 0;

		if (what == MATCH_PORT_ID) {
			struct mdr_port_binding pb;

			match = !bpf_map_lookup_elem(fd, next, &pb) && pb.instance_id == v;
		} else {
			struct mdr_mac_binding mb;

			match = !bpf_map_lookup_elem(fd, next, &mb) &&
				(what == MATCH_MAC_ID ? mb.instance_id : mb.ifindex) == v;
		}
		if (match)
			memcpy(hits + n++ * ksz, next, ksz);
		memcpy(key, next, ksz);
		prev = key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, hits + i * ksz) == 0)
			removed++;
	free(hits);
	return removed;
}

int mdr_store_forget_ifindex(struct mdr_maps *m, uint32_t ifindex)
{
	int n = 0, r;

	if (bpf_map_delete_elem(m->ports, &ifindex) == 0)
		n++;
	r = delete_bindings(m, MATCH_MAC_IFINDEX, ifindex);
	return r < 0 ? n : n + r;
}

int mdr_store_apply_bindings(struct mdr_maps *m, uint32_t id,
			     const struct mdr_defn *d, int *port_pending,
			     char *err, size_t errlen)
{
	const struct mdr_defn_binding *b = &d->binding;
	uint32_t ifindex = 0;
	int r;

	if (port_pending)
		*port_pending = 0;
	if (b->has_port) {
		ifindex = if_nametoindex(b->port);
		if (!ifindex) {
			if (port_pending)
				*port_pending = 1;
		} else if ((r = mdr_store_bind_port(m, id, ifindex, b->has_mac ? b->mac : NULL,
						    b->vlan, 0, err, errlen))) {
			return r;
		}
	}
	if (b->has_mac && b->has_port && !ifindex) {
		/* Pinned to a port that is absent: pending, never "any port". */
		mdr_store_unbind_mac(m, b->mac, b->vlan, id);
		return 0;
	}
	if (b->has_mac &&
	    (r = mdr_store_bind_mac(m, id, b->mac, b->vlan, ifindex, 0, err, errlen)))
		return r;
	return 0;
}

int mdr_store_mac_port(const struct mdr_maps *m, uint32_t id, uint32_t *ifindex,
		       char *err, size_t errlen)
{
	struct mdr_defn *d = NULL;
	uint32_t key, next, found = 0;
	void *prev = NULL;
	int r, n = 0;

	*ifindex = 0;
	r = mdr_store_get(m, NULL, id, 0, NULL, NULL, &d, err, errlen);
	if (r)
		return r;
	if (d->binding.has_port) {
		*ifindex = if_nametoindex(d->binding.port);
		if (!*ifindex)
			set_err(err, errlen,
				"instance %s is bound to port %s, which is not present: a MAC "
				"binding now would be trusted on any port", d->uuid,
				d->binding.port);
		mdr_defn_free(d);
		return *ifindex ? 0 : -ENODEV;
	}
	mdr_defn_free(d);
	/* Ports bound by hand (mdrctl bind --port). */
	while (bpf_map_get_next_key(m->ports, prev, &next) == 0) {
		struct mdr_port_binding pb;

		if (!bpf_map_lookup_elem(m->ports, &next, &pb) && pb.instance_id == id) {
			found = next;
			n++;
		}
		key = next;
		prev = &key;
	}
	if (n > 1) {
		set_err(err, errlen, "instance id %u is bound to %d ports: name the port (--port)",
			id, n);
		return -EINVAL;
	}
	*ifindex = found;
	return 0;
}

/* Remove the bindings the old definition named that the new one does not. */
static void drop_old_bindings(struct mdr_maps *m, uint32_t id, const struct mdr_defn *old,
			      const struct mdr_defn *d)
{
	const struct mdr_defn_binding *o = &old->binding, *n = &d->binding;

	if (o->has_port && (!n->has_port || strcmp(o->port, n->port))) {
		uint32_t ifindex = if_nametoindex(o->port);

		if (ifindex)
			mdr_store_unbind_port(m, ifindex, id);
	}
	if (o->has_mac && (!n->has_mac || memcmp(o->mac, n->mac, 6) || o->vlan != n->vlan))
		mdr_store_unbind_mac(m, o->mac, o->vlan, id);
}

/* ------------------------------------------------------------------ */
/* Put / delete                                                        */
/* ------------------------------------------------------------------ */

/* The stored doc of a record, parsed (no contents). Writers hold the lock,
 * so the generation cannot vanish under them. */
static struct mdr_defn *read_doc(const struct mdr_maps *m, uint32_t id,
				 const struct mdr_instance *rec)
{
	struct mdr_defn *d = NULL;
	char *doc = malloc(rec->doc_len + 1);

	if (!doc)
		return NULL;
	if (mdr_store_read_blob(m, id, rec->gen, MDR_BLOB_DOC, doc, rec->doc_len) == 0)
		mdr_defn_from_doc(doc, rec->doc_len, &d, NULL, 0);
	free(doc);
	return d;
}

static int check_blobs(const struct mdr_defn *d, struct mdr_blob *blobs, size_t *nb,
		       char *err, size_t errlen)
{
	if (mdr_defn_blobs(d, blobs, MDR_STORE_MAX_BLOBS, nb)) {
		set_err(err, errlen, "instance %s: too many files (limit %d)", d->uuid,
			MDR_MAX_FILES);
		return -EINVAL;
	}
	for (size_t b = 0; b < *nb; b++) {
		size_t lim = b == MDR_BLOB_DOC ? MDR_DOC_MAX :
			     b == MDR_BLOB_USER_DATA ? MDR_USER_DATA_MAX : MDR_FILE_MAX;

		if (blobs[b].len && !blobs[b].data) {
			set_err(err, errlen, "instance %s: content of blob %zu is not attached",
				d->uuid, b);
			return -EINVAL;
		}
		if (blobs[b].len > lim) {
			set_err(err, errlen, "instance %s: blob %zu is %zu bytes, the limit is %zu",
				d->uuid, b, blobs[b].len, lim);
			return -EFBIG;
		}
	}
	return 0;
}

int mdr_store_put(struct mdr_maps *m, const struct mdr_defn *d, unsigned flags,
		  struct mdr_store_result *res, char *err, size_t errlen)
{
	struct mdr_blob blobs[MDR_STORE_MAX_BLOBS];
	struct mdr_store_result out = { 0 };
	struct mdr_instance old = { 0 }, rec;
	struct mdr_defn *old_d = NULL;
	struct mdr_uuid_key uk;
	int have_old = 0, claim = 0; /* claim: 0 have it, 1 insert, 2 replace stale */
	size_t nb = 0;
	uint32_t id = 0, ifindex = 0;
	int r;

	if (!d->uuid[0]) {
		set_err(err, errlen, "definition has no uuid");
		return -EINVAL;
	}
	if ((r = check_blobs(d, blobs, &nb, err, errlen)))
		return r;
	if (d->binding.has_port) {
		ifindex = if_nametoindex(d->binding.port);
		if (!ifindex) {
			if (!(flags & MDR_STORE_F_DEFER_PORT)) {
				set_err(err, errlen,
					"binding.port: no interface named \"%s\" in this network namespace",
					d->binding.port);
				return -ENODEV;
			}
			out.port_pending = 1;
		}
	}
	if ((r = mdr_maps_lock(m))) {
		set_err(err, errlen, "locking %s: %s", m->pin_dir, strerror(-r));
		return r;
	}

	uuid_key(&uk, d->uuid);
	if (bpf_map_lookup_elem(m->uuids, &uk, &id) == 0) {
		if (instance_live(m, id, &old)) {
			if (strncmp(old.uuid, d->uuid, sizeof(old.uuid)) == 0)
				have_old = 1;
			else
				claim = 2; /* stale claim: id now belongs to another uuid */
		}
		/* else: claimed but never recorded (a writer died): reuse id */
	} else {
		claim = 1;
	}
	if (claim) {
		unsigned a;

		for (a = 0; a < MDR_ID_PROBES; a++) {
			id = mdr_instance_id_probe(d->uuid, a);
			if (!instance_live(m, id, NULL))
				break;
		}
		if (a == MDR_ID_PROBES) {
			set_err(err, errlen, "instance %s: no free instance id after %d probes",
				d->uuid, MDR_ID_PROBES);
			r = -ENOSPC;
			goto out_unlock;
		}
	}

	/* Checks that need the maps, still before any write. */
	if (ifindex && (r = port_conflict(m, id, ifindex, err, errlen)))
		goto out_unlock;
	if (d->binding.has_mac &&
	    (r = mac_conflict(m, id, d->binding.mac, d->binding.vlan, err, errlen)))
		goto out_unlock;
	if (have_old)
		old_d = read_doc(m, id, &old);

	if (claim && bpf_map_update_elem(m->uuids, &uk, &id,
					 claim == 1 ? BPF_NOEXIST : BPF_EXIST)) {
		r = -errno;
		set_err(err, errlen, "instance %s: claiming id in %s: %s", d->uuid,
			MDR_MAP_UUIDS, strerror(-r));
		goto out_unlock;
	}

	out.id = id;
	out.created = !have_old;
	out.gen = have_old ? old.gen + 1 : first_generation();
	if (out.gen == 0)
		out.gen = 1;
	for (size_t b = 0; b < nb; b++) {
		r = write_blob(m, id, out.gen, (unsigned)b, blobs[b].data, (uint32_t)blobs[b].len);
		if (r) {
			set_err(err, errlen, "instance %s: storing content blob %zu: %s%s",
				d->uuid, b, strerror(-r),
				r == -E2BIG || r == -ENOMEM ? " (chunk maps full)" : "");
			goto out_rollback;
		}
	}

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.uuid, sizeof(rec.uuid), "%s", d->uuid);
	rec.gen = out.gen;
	rec.doc_len = (uint32_t)blobs[MDR_BLOB_DOC].len;
	rec.max_conns = d->imds.max_connections;
	rec.max_req = d->imds.max_request;
	rec.tokens = (uint8_t)d->imds.tokens;
	rec.hop_limit = d->imds.hop_limit;
	rec.updated_ns = realtime_ns();
	/* The flip: from here on readers see the new generation as a whole. */
	if (bpf_map_update_elem(m->inst, &id, &rec, BPF_ANY)) {
		r = -errno;
		set_err(err, errlen, "instance %s: writing %s: %s", d->uuid, MDR_MAP_INST,
			strerror(-r));
		goto out_rollback;
	}

	{
		struct mdr_limits lim = { .rate_pps = d->imds.rate_pps, .burst = d->imds.burst };

		if (bpf_map_update_elem(m->limits, &id, &lim, BPF_ANY)) {
			r = -errno;
			set_err(err, errlen, "instance %s: writing %s: %s", d->uuid,
				MDR_MAP_LIMITS, strerror(-r));
			goto out_unlock; /* content is stored; limits retried on next put */
		}
	}

	if (old_d)
		drop_old_bindings(m, id, old_d, d);
	if (ifindex) {
		const struct mdr_defn_binding *b = &d->binding;

		r = mdr_store_bind_port(m, id, ifindex, b->has_mac ? b->mac : NULL,
					b->vlan, 1, err, errlen);
		if (r)
			goto out_unlock;
		out.ifindex = ifindex;
	}
	if (d->binding.has_mac && out.port_pending) {
		/* Pinned to a port that is absent: pending until it appears
		 * (mdrd), never written as "any port". */
		mdr_store_unbind_mac(m, d->binding.mac, d->binding.vlan, id);
	} else if (d->binding.has_mac &&
		   (r = mdr_store_bind_mac(m, id, d->binding.mac, d->binding.vlan, ifindex, 1,
					   err, errlen))) {
		goto out_unlock;
	}

	if (have_old) {
		if (old_d) {
			struct mdr_blob ob[MDR_STORE_MAX_BLOBS];
			size_t onb = 0;

			if (mdr_defn_blobs(old_d, ob, MDR_STORE_MAX_BLOBS, &onb) == 0) {
				ob[MDR_BLOB_DOC].len = old.doc_len;
				delete_blobs(m, id, old.gen, ob, onb);
			} else {
				sweep_generation(m, id, old.gen);
			}
		} else {
			sweep_generation(m, id, old.gen);
		}
	}
	r = 0;
	goto out_unlock;

out_rollback:
	delete_blobs(m, id, out.gen, blobs, nb);
	if (claim == 1)
		bpf_map_delete_elem(m->uuids, &uk);
out_unlock:
	mdr_maps_unlock(m);
	mdr_defn_free(old_d);
	if (r == 0 && res)
		*res = out;
	return r;
}

int mdr_store_delete(struct mdr_maps *m, const char *uuid, char *err, size_t errlen)
{
	char canon[MDR_UUID_SIZE];
	struct mdr_instance rec;
	struct mdr_uuid_key uk;
	uint32_t id;
	int r, have_rec;

	if (mdr_uuid_canonical(uuid, canon)) {
		set_err(err, errlen, "\"%s\" is not a uuid", uuid);
		return -EINVAL;
	}
	if ((r = mdr_maps_lock(m))) {
		set_err(err, errlen, "locking %s: %s", m->pin_dir, strerror(-r));
		return r;
	}
	uuid_key(&uk, canon);
	if (bpf_map_lookup_elem(m->uuids, &uk, &id)) {
		set_err(err, errlen, "unknown instance %s", canon);
		r = -ENOENT;
		goto out;
	}
	have_rec = instance_live(m, id, &rec) &&
		   strncmp(rec.uuid, canon, sizeof(rec.uuid)) == 0;
	if (have_rec) {
		/* XDP first stops recognising the instance, then content goes. */
		delete_bindings(m, MATCH_PORT_ID, id);
		delete_bindings(m, MATCH_MAC_ID, id);
		bpf_map_delete_elem(m->limits, &id);
		bpf_map_delete_elem(m->rl, &id);
		bpf_map_delete_elem(m->inst, &id);
		bpf_map_delete_elem(m->passwords, &id);
		bpf_map_delete_elem(m->istats, &id);
		bpf_map_delete_elem(m->rstats, &id);
		sweep_generation(m, id, rec.gen);
	}
	bpf_map_delete_elem(m->uuids, &uk);
	r = 0;
out:
	mdr_maps_unlock(m);
	return r;
}

int mdr_store_sweep_buckets(struct mdr_maps *m)
{
	uint32_t key, next, *stale;
	struct mdr_limits lim;
	void *prev = NULL;
	size_t n = 0;
	int removed = 0;

	stale = malloc(MDR_MAX_INSTANCES * sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	while (n < MDR_MAX_INSTANCES && bpf_map_get_next_key(m->rl, prev, &next) == 0) {
		if (bpf_map_lookup_elem(m->limits, &next, &lim))
			stale[n++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_lookup_elem(m->limits, &stale[i], &lim) &&
		    bpf_map_delete_elem(m->rl, &stale[i]) == 0)
			removed++;
	free(stale);
	return removed;
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

int mdr_store_ids(const struct mdr_maps *m, uint32_t *ids, size_t max)
{
	uint32_t key, next;
	void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(m->inst, prev, &next) == 0) {
		if (n < max)
			ids[n] = next;
		n++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return -errno;
	return (int)n;
}

/* One attempt at reading a consistent instance: -EAGAIN when a
 * generation vanished under us. */
static int get_once(const struct mdr_maps *m, uint32_t id, const char *canon,
		    unsigned flags, struct mdr_instance *rec, struct mdr_defn **d_out,
		    char *err, size_t errlen)
{
	struct mdr_blob blobs[MDR_STORE_MAX_BLOBS];
	struct mdr_defn *d = NULL;
	char perr[MDR_DEFN_ERR_SIZE];
	size_t nb = 0;
	char *doc;
	int r;

	if (bpf_map_lookup_elem(m->inst, &id, rec) ||
	    (canon && strncmp(rec->uuid, canon, sizeof(rec->uuid)))) {
		set_err(err, errlen, "unknown instance %s", canon ? canon : "");
		if (!canon)
			set_err(err, errlen, "unknown instance id %u", id);
		return -ENOENT;
	}
	if (!d_out)
		return 0;
	doc = malloc(rec->doc_len + 1);
	if (!doc)
		return -ENOMEM;
	r = mdr_store_read_blob(m, id, rec->gen, MDR_BLOB_DOC, doc, rec->doc_len);
	if (r) {
		free(doc);
		return r == -ENOENT ? -EAGAIN : r;
	}
	doc[rec->doc_len] = '\0';
	r = mdr_defn_from_doc(doc, rec->doc_len, &d, perr, sizeof(perr));
	free(doc);
	if (r) {
		set_err(err, errlen, "instance %s: stored document is invalid: %s",
			rec->uuid, perr);
		return -EINVAL;
	}
	if ((flags & MDR_STORE_GET_CONTENTS) &&
	    mdr_defn_blobs(d, blobs, MDR_STORE_MAX_BLOBS, &nb) == 0) {
		for (size_t b = MDR_BLOB_USER_DATA; b < nb; b++) {
			size_t len = blobs[b].len;
			uint8_t *buf;

			if (b == MDR_BLOB_USER_DATA && !d->has_user_data)
				continue;
			buf = malloc(len + 1);
			if (!buf) {
				mdr_defn_free(d);
				return -ENOMEM;
			}
			r = mdr_store_read_blob(m, id, rec->gen, (unsigned)b, buf, (uint32_t)len);
			if (!r && mdr_defn_set_blob(d, (unsigned)b, buf, len, perr, sizeof(perr))) {
				set_err(err, errlen, "instance %s: blob %zu: %s", rec->uuid, b, perr);
				r = -EINVAL;
			}
			free(buf);
			if (r) {
				mdr_defn_free(d);
				return r == -ENOENT ? -EAGAIN : r;
			}
		}
	}
	*d_out = d;
	return 0;
}

int mdr_store_get(const struct mdr_maps *m, const char *uuid, uint32_t id,
		  unsigned flags, uint32_t *id_out, struct mdr_instance *rec,
		  struct mdr_defn **d_out, char *err, size_t errlen)
{
	char canon[MDR_UUID_SIZE];
	struct mdr_instance tmp;
	int r = -EAGAIN;

	if (d_out)
		*d_out = NULL;
	if (uuid) {
		if (mdr_uuid_canonical(uuid, canon)) {
			set_err(err, errlen, "\"%s\" is not a uuid", uuid);
			return -EINVAL;
		}
		if (mdr_store_lookup(m, canon, &id)) {
			set_err(err, errlen, "unknown instance %s", canon);
			return -ENOENT;
		}
	}
	for (int i = 0; i < MDR_STORE_READ_RETRIES && r == -EAGAIN; i++)
		r = get_once(m, id, uuid ? canon : NULL, flags, rec ? rec : &tmp, d_out,
			     err, errlen);
	if (r == -EAGAIN)
		set_err(err, errlen, "instance %s changed %d times while being read",
			uuid ? canon : "", MDR_STORE_READ_RETRIES);
	if (r == 0 && id_out)
		*id_out = id;
	return r;
}
