/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "store.h"
#include "chnotify.h"
#include "err.h"
#include "mac.h"
#include "hash.h"
#include "rtnl.h"

#include <errno.h>
#include <net/if.h>
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
/* Map access (through the test seam)                                  */
/* ------------------------------------------------------------------ */

struct mdr_store_test_seam mdr_store_test_seam;

static int seam(int fd, enum mdr_store_seam_op op)
{
	const struct mdr_store_test_seam *s = &mdr_store_test_seam;

	return s->fail ? s->fail(fd, op, s->ctx) : 0;
}

/* bpf_map_*_elem as 0 or -errno, each first asking the seam. */
static int map_lookup(int fd, const void *key, void *val)
{
	int r = seam(fd, MDR_STORE_SEAM_LOOKUP);

	return r ? r : bpf_map_lookup_elem(fd, key, val) ? -errno : 0;
}

static int map_update(int fd, const void *key, const void *val, __u64 flags)
{
	int r = seam(fd, MDR_STORE_SEAM_UPDATE);

	return r ? r : bpf_map_update_elem(fd, key, val, flags) ? -errno : 0;
}

static int map_delete(int fd, const void *key)
{
	int r = seam(fd, MDR_STORE_SEAM_DELETE);

	return r ? r : bpf_map_delete_elem(fd, key) ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

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

/*
 * Every generation's first chunk, (blob MDR_BLOB_DOC, chunk 0) (the doc is
 * never empty), is its marker: written first and deleted last, so a
 * generation of which any chunk is left has its marker. A writer that died
 * half-way, or a delete that failed, leaves a marked generation that
 * sweep_if_marked finds with one lookup per class.
 */

/* Delete one chunk from the map of its class; 0, or -errno other than
 * -ENOENT (already gone). */
static int delete_chunk(struct mdr_maps *m, unsigned cls, struct mdr_chunk_key k)
{
	int r = map_delete(m->chunk[cls], &k);

	return r == -ENOENT ? 0 : r;
}

/* Chunks of the largest blob (a document of MDR_DOC_MAX): full chunks of
 * the largest class, then at most one of each smaller class. */
#define STORE_MAX_BLOB_CHUNKS (MDR_DOC_MAX / MDR_CHUNK0_SIZE + MDR_CHUNK_CLASSES + 1)

/* Delete the chunks of one blob of known length, highest index first and
 * chunk 0 last: what a delete interrupted at any point leaves is always
 * indices 0..j, which sweep_generation's walk (up to the first absent
 * index) finds whole. Returns the number of deletes that failed. */
static unsigned delete_blob_chunks(struct mdr_maps *m, uint32_t id, uint32_t gen,
				   unsigned blob, uint32_t len)
{
	struct mdr_chunk_piece pc[STORE_MAX_BLOB_CHUNKS];
	uint32_t n = mdr_chunk_cut(len, pc, STORE_MAX_BLOB_CHUNKS);
	unsigned failed = 0;

	if (n > STORE_MAX_BLOB_CHUNKS) /* longer than any blob: sweep it instead */
		return 1;
	for (uint32_t i = n; i-- > 0;)
		failed += !!delete_chunk(m, pc[i].cls, chunk_key(id, gen, blob, i));
	return failed;
}

/* Delete the first nb blobs of a generation, the doc (the marker) last.
 * Returns the number of deletes that failed. */
static unsigned delete_blobs(struct mdr_maps *m, uint32_t id, uint32_t gen,
			     const struct mdr_blob *blobs, size_t nb)
{
	unsigned failed = 0;

	for (size_t b = nb; b-- > 0;)
		failed += delete_blob_chunks(m, id, gen, (unsigned)b, (uint32_t)blobs[b].len);
	return failed;
}

/* Delete every chunk of a generation whose blob lengths are unknown: walk
 * each blob's chunk indices, in every class map, until an index is absent
 * everywhere (a blob's chunks are indices 0..n-1); the marker goes last.
 * Returns the number of deletes that failed. */
static unsigned sweep_generation(struct mdr_maps *m, uint32_t id, uint32_t gen)
{
	unsigned failed = 0;

	for (unsigned b = 0; b < MDR_STORE_MAX_BLOBS; b++) {
		for (uint32_t i = b == MDR_BLOB_DOC; i <= UINT16_MAX; i++) {
			struct mdr_chunk_key k = chunk_key(id, gen, b, i);
			int found = 0;

			for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++) {
				int r = map_delete(m->chunk[c], &k);

				found |= r != -ENOENT;
				failed += r && r != -ENOENT;
			}
			if (!found)
				break;
		}
	}
	for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++)
		failed += !!delete_chunk(m, c, chunk_key(id, gen, MDR_BLOB_DOC, 0));
	return failed;
}

/* Sweep generation gen of id when its marker is there (a put that died
 * while writing it, or a retire that failed). gen 0 is never used. */
static void sweep_if_marked(struct mdr_maps *m, uint32_t id, uint32_t gen)
{
	struct mdr_chunk_key k = chunk_key(id, gen, MDR_BLOB_DOC, 0);
	uint8_t val[MDR_CHUNK0_SIZE];

	if (!gen)
		return;
	for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++) {
		if (map_lookup(m->chunk[c], &k, val) == 0) {
			sweep_generation(m, id, gen);
			return;
		}
	}
}

/* Bytes of the rest of a blob that chunk class c holds (the greedy cut of
 * mdr_abi.h: every chunk full but the last). */
static uint32_t chunk_take(unsigned c, uint32_t rest)
{
	return rest < mdr_chunk_size[c] ? rest : mdr_chunk_size[c];
}

/* Write the chunks of one blob in index order (the marker first). */
static int write_blob(struct mdr_maps *m, uint32_t id, uint32_t gen, unsigned blob,
		      const uint8_t *data, uint32_t len)
{
	uint8_t val[MDR_CHUNK0_SIZE];
	uint32_t n = mdr_chunk_count(len);

	for (uint32_t i = 0, off = 0; i < n; i++) {
		unsigned c = mdr_chunk_class(len - off);
		uint32_t take = chunk_take(c, len - off);
		struct mdr_chunk_key k = chunk_key(id, gen, blob, i);
		int r;

		memcpy(val, data + off, take);
		memset(val + take, 0, mdr_chunk_size[c] - take);
		if ((r = map_update(m->chunk[c], &k, val, BPF_ANY)))
			return r;
		off += take;
	}
	return 0;
}

/* The same walk over the chunks as write_blob, reading instead: kept as
 * two plain loops (a callback per chunk would cost the responder's hot
 * read path an indirect call for six shared lines). */
int mdr_store_read_blob(const struct mdr_maps *m, uint32_t id, uint32_t gen,
			unsigned blob, void *buf, uint32_t len)
{
	uint8_t val[MDR_CHUNK0_SIZE];
	uint32_t n = mdr_chunk_count(len);

	for (uint32_t i = 0, off = 0; i < n; i++) {
		unsigned c = mdr_chunk_class(len - off);
		uint32_t take = chunk_take(c, len - off);
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

/* -EEXIST (with a message) when ifindex is bound to another live
 * instance; a read error is an error too (never "no conflict"). */
static int port_conflict(const struct mdr_maps *m, uint32_t id, uint32_t ifindex,
			 char *err, size_t errlen)
{
	struct mdr_port_binding pb;
	char who[MDR_UUID_SIZE + 16], name[IF_NAMESIZE];
	int r = map_lookup(m->ports, &ifindex, &pb);

	if (r == -ENOENT)
		return 0;
	if (r)
		return mdr_errf(err, errlen, r, "reading %s[%u]: %s", MDR_MAP_NAME(ports), ifindex,
				strerror(-r));
	if (pb.instance_id == id || !instance_live(m, pb.instance_id, NULL))
		return 0;
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "ifindex %u", ifindex);
	return mdr_errf(err, errlen, -EEXIST, "port %s is already bound to instance %s", name,
			owner_name(m, pb.instance_id, who, sizeof(who)));
}

static int mac_conflict(const struct mdr_maps *m, uint32_t id, const uint8_t mac[6],
			uint16_t vlan, char *err, size_t errlen)
{
	struct mdr_mac_key k = { .vlan = vlan };
	struct mdr_mac_binding mb;
	char who[MDR_UUID_SIZE + 16], mtxt[MDR_MAC_STRLEN];
	int r;

	memcpy(k.mac, mac, 6);
	r = map_lookup(m->macs, &k, &mb);
	if (r == -ENOENT)
		return 0;
	if (r)
		return mdr_errf(err, errlen, r, "reading %s: %s", MDR_MAP_NAME(macs), strerror(-r));
	if (mb.instance_id == id || !instance_live(m, mb.instance_id, NULL))
		return 0;
	return mdr_errf(err, errlen, -EEXIST, "MAC %s vlan %u is already bound to instance %s",
			mdr_mac_fmt(mac, mtxt), vlan, owner_name(m, mb.instance_id, who, sizeof(who)));
}

/* The value of mdr_ports[ifindex] for instance id (mac may be NULL). */
static struct mdr_port_binding port_binding(uint32_t id, const uint8_t *mac, uint16_t vlan)
{
	struct mdr_port_binding pb = { .instance_id = id, .vlan = vlan };

	if (mac) {
		memcpy(pb.mac, mac, 6);
		pb.flags = MDR_PORT_F_CHECK_MAC;
	}
	return pb;
}

static struct mdr_mac_key mac_key(const uint8_t mac[6], uint16_t vlan)
{
	struct mdr_mac_key k = { .vlan = vlan };

	memcpy(k.mac, mac, 6);
	return k;
}

int mdr_store_bind_port(struct mdr_maps *m, uint32_t id, uint32_t ifindex,
			const uint8_t *mac, uint16_t vlan, int force,
			char *err, size_t errlen)
{
	struct mdr_port_binding pb = port_binding(id, mac, vlan);
	int r;

	if (!force && (r = port_conflict(m, id, ifindex, err, errlen)))
		return r;
	if ((r = map_update(m->ports, &ifindex, &pb, BPF_ANY)))
		return mdr_errf(err, errlen, r, "writing %s[%u]: %s", MDR_MAP_NAME(ports), ifindex,
				strerror(-r));
	return 0;
}

int mdr_store_bind_mac(struct mdr_maps *m, uint32_t id, const uint8_t mac[6],
		       uint16_t vlan, uint32_t ifindex, int force,
		       char *err, size_t errlen)
{
	struct mdr_mac_key k = mac_key(mac, vlan);
	struct mdr_mac_binding mb = { .instance_id = id, .ifindex = ifindex };
	int r;

	if (!force && (r = mac_conflict(m, id, mac, vlan, err, errlen)))
		return r;
	if ((r = map_update(m->macs, &k, &mb, BPF_ANY)))
		return mdr_errf(err, errlen, r, "writing %s: %s", MDR_MAP_NAME(macs), strerror(-r));
	return 0;
}

int mdr_store_unbind_port(struct mdr_maps *m, uint32_t ifindex, uint32_t id)
{
	struct mdr_port_binding pb;

	if (bpf_map_lookup_elem(m->ports, &ifindex, &pb))
		return -ENOENT;
	if (id && pb.instance_id != id)
		return -ENOENT;
	return map_delete(m->ports, &ifindex);
}

int mdr_store_unbind_mac(struct mdr_maps *m, const uint8_t mac[6], uint16_t vlan,
			 uint32_t id)
{
	struct mdr_mac_key k = mac_key(mac, vlan);
	struct mdr_mac_binding mb;

	if (bpf_map_lookup_elem(m->macs, &k, &mb))
		return -ENOENT;
	if (id && mb.instance_id != id)
		return -ENOENT;
	return map_delete(m->macs, &k);
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
		if (map_delete(fd, hits + i * ksz) == 0)
			removed++;
	free(hits);
	return removed;
}

int mdr_store_forget_ifindex(struct mdr_maps *m, uint32_t ifindex)
{
	int n = 0, r;

	if (map_delete(m->ports, &ifindex) == 0)
		n++;
	r = delete_bindings(m, MATCH_MAC_IFINDEX, ifindex);
	return r < 0 ? n : n + r;
}

uint32_t mdr_store_pin_ifindex(const struct mdr_maps *m, uint32_t port)
{
	struct mdr_iface ifc;
	int64_t master;
	uint32_t b;

	if (!port || !bpf_map_lookup_elem(m->ifaces, &port, &ifc))
		return port; /* XDP runs on the port itself (or nothing does) */
	master = mdr_rtnl_master(port);
	if (master <= 0)
		return port;
	b = (uint32_t)master;
	return bpf_map_lookup_elem(m->ifaces, &b, &ifc) ? port : b;
}

/* One binding of a definition, now; *pending when its port is absent. */
static int apply_binding(struct mdr_maps *m, uint32_t id, const struct mdr_defn_binding *b,
			 int *pending, char *err, size_t errlen)
{
	uint32_t ifindex = 0;
	int r;

	*pending = 0;
	if (b->has_port) {
		ifindex = if_nametoindex(b->port);
		if (!ifindex)
			*pending = 1;
		else if ((r = mdr_store_bind_port(m, id, ifindex, b->has_mac ? b->mac : NULL,
						  b->vlan, 0, err, errlen)))
			return r;
	}
	if (b->has_mac && b->has_port && !ifindex) {
		/* Pinned to a port that is absent: pending, never "any port". */
		mdr_store_unbind_mac(m, b->mac, b->vlan, id);
		return 0;
	}
	if (b->has_mac &&
	    (r = mdr_store_bind_mac(m, id, b->mac, b->vlan, mdr_store_pin_ifindex(m, ifindex), 0,
				    err, errlen)))
		return r;
	return 0;
}

int mdr_store_apply_bindings(struct mdr_maps *m, uint32_t id,
			     const struct mdr_defn *d, int *port_pending,
			     char *err, size_t errlen)
{
	int pending, n = 0, r = 0;

	/* every binding is tried: one that fails leaves the others applied */
	for (size_t i = 0; i < d->n_bindings; i++) {
		int ri = apply_binding(m, id, &d->bindings[i], &pending, err, errlen);

		r = r ? r : ri;
		n += pending;
	}
	if (port_pending)
		*port_pending = n;
	return r;
}

int mdr_store_mac_port(const struct mdr_maps *m, uint32_t id, uint32_t *ifindex,
		       char *err, size_t errlen)
{
	return mdr_store_mac_port_for(m, id, NULL, 0, ifindex, err, errlen);
}

int mdr_store_mac_port_for(const struct mdr_maps *m, uint32_t id, const uint8_t *mac,
			   uint16_t vlan, uint32_t *ifindex, char *err, size_t errlen)
{
	const struct mdr_defn_binding *pick = NULL;
	struct mdr_defn *d = NULL;
	uint32_t key, next, found = 0;
	void *prev = NULL;
	int r, n = 0;

	*ifindex = 0;
	r = mdr_store_get(m, NULL, id, 0, NULL, NULL, &d, err, errlen);
	if (r)
		return r;
	/* the definition's NIC with this MAC decides: its port */
	for (size_t i = 0; mac && i < d->n_bindings && !pick; i++) {
		const struct mdr_defn_binding *b = &d->bindings[i];

		if (b->has_port && b->has_mac && !memcmp(b->mac, mac, 6) && b->vlan == vlan)
			pick = b;
	}
	/* else its one port */
	for (size_t i = 0; !pick && !r && i < d->n_bindings; i++) {
		if (!d->bindings[i].has_port)
			continue;
		if (n++)
			r = mdr_errf(err, errlen, -EINVAL, "instance %s binds several ports: name "
				     "the port (--port)", d->uuid);
	}
	for (size_t i = 0; !pick && n == 1 && i < d->n_bindings; i++)
		if (d->bindings[i].has_port)
			pick = &d->bindings[i];
	if (pick) {
		*ifindex = mdr_store_pin_ifindex(m, if_nametoindex(pick->port));
		r = *ifindex ? 0 :
		    mdr_errf(err, errlen, -ENODEV,
			     "instance %s is bound to port %s, which is not present: a MAC "
			     "binding now would be trusted on any port", d->uuid, pick->port);
	}
	mdr_defn_free(d);
	if (r || pick)
		return r;
	n = 0;
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
	if (n > 1)
		return mdr_errf(err, errlen, -EINVAL,
				"instance id %u is bound to %d ports: name the port (--port)", id, n);
	*ifindex = found;
	return 0;
}

/* Does d bind port (name) / mac+vlan? */
static int names_port(const struct mdr_defn *d, const char *port)
{
	for (size_t i = 0; i < d->n_bindings; i++)
		if (d->bindings[i].has_port && !strcmp(d->bindings[i].port, port))
			return 1;
	return 0;
}

static int names_mac(const struct mdr_defn *d, const uint8_t mac[6], uint16_t vlan)
{
	for (size_t i = 0; i < d->n_bindings; i++)
		if (d->bindings[i].has_mac && !memcmp(d->bindings[i].mac, mac, 6) &&
		    d->bindings[i].vlan == vlan)
			return 1;
	return 0;
}

/* Remove the bindings the old definition named that the new one does not. */
static void drop_old_bindings(struct mdr_maps *m, uint32_t id, const struct mdr_defn *old,
			      const struct mdr_defn *d)
{
	for (size_t i = 0; i < old->n_bindings; i++) {
		const struct mdr_defn_binding *o = &old->bindings[i];

		if (o->has_port && !names_port(d, o->port)) {
			uint32_t ifindex = if_nametoindex(o->port);

			if (ifindex)
				mdr_store_unbind_port(m, ifindex, id);
		}
		if (o->has_mac && !names_mac(d, o->mac, o->vlan))
			mdr_store_unbind_mac(m, o->mac, o->vlan, id);
	}
}

/* ------------------------------------------------------------------ */
/* Put: resolve id, check conflicts, write generation, publish, retire */
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
	if (mdr_defn_blobs(d, blobs, MDR_STORE_MAX_BLOBS, nb))
		return mdr_errf(err, errlen, -EINVAL, "instance %s: too many files (limit %d)",
				d->uuid, MDR_MAX_FILES);
	for (size_t b = 0; b < *nb; b++) {
		size_t lim = b == MDR_BLOB_DOC ? MDR_DOC_MAX :
			     b == MDR_BLOB_USER_DATA ? MDR_USER_DATA_MAX : MDR_FILE_MAX;

		if (blobs[b].len && !blobs[b].data)
			return mdr_errf(err, errlen, -EINVAL,
					"instance %s: content of blob %zu is not attached", d->uuid, b);
		if (blobs[b].len > lim)
			return mdr_errf(err, errlen, -EFBIG,
					"instance %s: blob %zu is %zu bytes, the limit is %zu",
					d->uuid, b, blobs[b].len, lim);
	}
	return 0;
}

/* Largest key or value a put saves before overwriting it (the uuid key). */
#define SAVED_MAX MDR_UUID_SIZE

/* A map entry a put overwrote, kept so that a failed put can put it back. */
struct saved {
	int fd;                 /* -1: nothing written */
	int had;                /* the key held val before */
	size_t ksz;
	uint8_t key[SAVED_MAX];
	uint8_t val[SAVED_MAX];
};
_Static_assert(sizeof(uint32_t) <= SAVED_MAX && sizeof(struct mdr_limits) <= SAVED_MAX &&
	       sizeof(struct mdr_port_binding) <= SAVED_MAX &&
	       sizeof(struct mdr_mac_key) <= SAVED_MAX &&
	       sizeof(struct mdr_mac_binding) <= SAVED_MAX, "a saved entry fits");

/* fd[key] = val, first saving what key held into s. */
static int save_and_write(struct saved *s, int fd, const void *key, size_t ksz,
			  const void *val, __u64 flags)
{
	int r = map_lookup(fd, key, s->val);

	if (r && r != -ENOENT)
		return r;
	s->had = r == 0;
	s->ksz = ksz;
	memcpy(s->key, key, ksz);
	if ((r = map_update(fd, key, val, flags)))
		return r;
	s->fd = fd;
	return 0;
}

/* Put back what save_and_write replaced. An entry that existed is
 * rewritten in place (a hash map needs no free slot for that). */
static void restore(struct saved *s)
{
	if (s->fd < 0)
		return;
	if (s->had)
		map_update(s->fd, s->key, s->val, BPF_ANY);
	else
		map_delete(s->fd, s->key);
	s->fd = -1;
}

/* What the steps of one put share. */
struct put {
	struct mdr_maps *m;
	const struct mdr_defn *d;
	char *err;
	size_t errlen;
	struct mdr_blob blobs[MDR_STORE_MAX_BLOBS];
	size_t nb;
	size_t nb_written;       /* blobs put_write_generation started */
	struct mdr_uuid_key uk;
	int claim;               /* uuids[uk] = id is to be written: */
	int stale_claim;         /* over a claim of an id now another uuid's */
	int dead_claim;          /* this uuid's claim of an id with no record */
	int have_old;            /* old is this uuid's live record */
	struct mdr_instance old;
	struct mdr_defn *old_d;  /* old's doc, NULL when unreadable */
	struct saved uuid, limits;
	struct saved port[MDR_DEFN_MAX_BINDINGS], mac[MDR_DEFN_MAX_BINDINGS];
	uint32_t ifindex[MDR_DEFN_MAX_BINDINGS]; /* of each binding's port, 0 = none/absent */
	struct mdr_store_result out;
};

static int put_fail(struct put *p, int r, const char *what, const char *map)
{
	return mdr_errf(p->err, p->errlen, r, "instance %s: %s %s: %s", p->d->uuid, what, map,
			strerror(-r));
}

/* Step 0 (no maps): the definition is complete, its port exists. */
static int put_check_input(struct put *p, unsigned flags)
{
	const struct mdr_defn *d = p->d;
	int r;

	if (!d->uuid[0])
		return mdr_errf(p->err, p->errlen, -EINVAL, "definition has no uuid");
	if ((r = check_blobs(d, p->blobs, &p->nb, p->err, p->errlen)))
		return r;
	for (size_t i = 0; i < d->n_bindings; i++) {
		const struct mdr_defn_binding *b = &d->bindings[i];

		if (!b->has_port)
			continue;
		p->ifindex[i] = if_nametoindex(b->port);
		if (!p->ifindex[i] && !(flags & MDR_STORE_F_DEFER_PORT)) {
			char label[32] = "binding";

			if (d->n_bindings > 1)
				snprintf(label, sizeof(label), "bindings[%zu]", i);
			return mdr_errf(p->err, p->errlen, -ENODEV,
					"%s.port: no interface named \"%s\" in this network "
					"namespace", label, b->port);
		}
		p->out.port_pending += !p->ifindex[i];
	}
	p->out.ifindex = d->n_bindings ? p->ifindex[0] : 0;
	uuid_key(&p->uk, d->uuid);
	return 0;
}

/* Step 1: the id: this uuid's (its record becomes old), the id of a claim
 * whose put died before recording it, or a free id probed for. A read
 * error is an error, never "absent". */
static int put_resolve_id(struct put *p)
{
	struct mdr_maps *m = p->m;
	struct mdr_instance rec;
	uint32_t id;
	int r = map_lookup(m->uuids, &p->uk, &id);

	if (r == 0) {
		p->out.id = id;
		r = map_lookup(m->inst, &id, &rec);
		if (r == -ENOENT) {
			/* claimed but never recorded (a create that died):
			 * reuse the id, and sweep what it wrote (step 3) */
			p->dead_claim = 1;
			return 0;
		}
		if (r)
			return put_fail(p, r, "reading", MDR_MAP_NAME(inst));
		if (strncmp(rec.uuid, p->d->uuid, sizeof(rec.uuid)) == 0) {
			p->old = rec;
			p->have_old = 1;
			return 0;
		}
		p->stale_claim = 1; /* the id now belongs to another uuid */
	} else if (r != -ENOENT) {
		return put_fail(p, r, "reading", MDR_MAP_NAME(uuids));
	}
	p->claim = 1;
	for (unsigned a = 0; a < MDR_ID_PROBES; a++) {
		p->out.id = mdr_instance_id_probe(p->d->uuid, a);
		r = map_lookup(m->inst, &p->out.id, &rec);
		if (r == -ENOENT)
			return 0;
		if (r)
			return put_fail(p, r, "reading", MDR_MAP_NAME(inst));
	}
	return mdr_errf(p->err, p->errlen, -ENOSPC,
			"instance %s: no free instance id after %d probes", p->d->uuid,
			MDR_ID_PROBES);
}

/* Step 2: the port and MAC are not another live instance's; read the old
 * doc (its bindings and blob lengths, for step 5). */
static int put_check_conflicts(struct put *p)
{
	int r;

	for (size_t i = 0; i < p->d->n_bindings; i++) {
		const struct mdr_defn_binding *b = &p->d->bindings[i];

		if (p->ifindex[i] &&
		    (r = port_conflict(p->m, p->out.id, p->ifindex[i], p->err, p->errlen)))
			return r;
		if (b->has_mac &&
		    (r = mac_conflict(p->m, p->out.id, b->mac, b->vlan, p->err, p->errlen)))
			return r;
	}
	if (p->have_old)
		p->old_d = read_doc(p->m, p->out.id, &p->old);
	return 0;
}

/* Remove what step 3 wrote: the new chunks (the marker last), the claim. */
static void put_unwrite_generation(struct put *p)
{
	delete_blobs(p->m, p->out.id, p->out.gen, p->blobs, p->nb_written);
	restore(&p->uuid);
}

/* Step 3: claim the id and write every chunk of the new generation, which
 * no reader can reach yet. On failure what was written is removed. */
static int put_write_generation(struct put *p)
{
	struct mdr_maps *m = p->m;
	uint32_t id = p->out.id;
	int r;

	p->out.created = !p->have_old;
	p->out.gen = p->have_old ? p->old.gen + 1 : first_generation();
	if (p->out.gen == 0)
		p->out.gen = 1;
	if (p->claim && (r = save_and_write(&p->uuid, m->uuids, &p->uk, sizeof(p->uk), &id,
					    p->stale_claim ? BPF_EXIST : BPF_NOEXIST)))
		return r == -E2BIG ?
			mdr_errf(p->err, p->errlen, r, "instance %s: no room for another instance: %s "
				 "is full (%d instances, MDR_MAX_INSTANCES)", p->d->uuid,
				 MDR_MAP_NAME(uuids), MDR_MAX_INSTANCES) :
			put_fail(p, r, "claiming id in", MDR_MAP_NAME(uuids));
	sweep_if_marked(m, id, p->out.gen); /* left by a put that died writing it */
	/* A create that died writing its first generation (a random one, not
	 * this put's): its chunks belong to no record. */
	if (p->dead_claim)
		mdr_store_sweep_chunks(m);
	for (size_t b = 0; b < p->nb; b++) {
		p->nb_written = b + 1;
		r = write_blob(m, id, p->out.gen, (unsigned)b, p->blobs[b].data,
			       (uint32_t)p->blobs[b].len);
		if (r) {
			mdr_errf(p->err, p->errlen, r, "instance %s: storing content blob %zu: %s%s",
				 p->d->uuid, b, strerror(-r),
				 r == -E2BIG || r == -ENOMEM ? " (chunk maps full)" : "");
			put_unwrite_generation(p);
			return r;
		}
	}
	return 0;
}

/* Step 4: write the limits and the new bindings, each saving what it
 * replaced, then flip the record: from that one update on, readers see the
 * new generation as a whole. Nothing the old version had is removed here.
 * On failure this step's writes are put back and step 3's removed. */
static int put_publish(struct put *p)
{
	struct mdr_maps *m = p->m;
	const struct mdr_defn *d = p->d;
	struct mdr_limits lim = { .rate_pps = d->imds.rate_pps, .burst = d->imds.burst };
	struct mdr_instance rec = { 0 };
	uint32_t id = p->out.id;
	int r;

	if ((r = save_and_write(&p->limits, m->limits, &id, sizeof(id), &lim, BPF_ANY))) {
		put_fail(p, r, "writing", MDR_MAP_NAME(limits));
		goto undo;
	}
	for (size_t i = 0; i < d->n_bindings; i++) {
		const struct mdr_defn_binding *b = &d->bindings[i];
		int pending = b->has_port && !p->ifindex[i];

		if (p->ifindex[i]) {
			struct mdr_port_binding pb = port_binding(id, b->has_mac ? b->mac : NULL,
								  b->vlan);

			if ((r = save_and_write(&p->port[i], m->ports, &p->ifindex[i],
						sizeof(uint32_t), &pb, BPF_ANY))) {
				put_fail(p, r, "writing", MDR_MAP_NAME(ports));
				goto undo;
			}
		}
		if (b->has_mac && !pending) {
			struct mdr_mac_key k = mac_key(b->mac, b->vlan);
			struct mdr_mac_binding mb = { .instance_id = id, .ifindex = p->ifindex[i] };

			if ((r = save_and_write(&p->mac[i], m->macs, &k, sizeof(k), &mb, BPF_ANY))) {
				put_fail(p, r, "writing", MDR_MAP_NAME(macs));
				goto undo;
			}
		}
	}
	snprintf(rec.uuid, sizeof(rec.uuid), "%s", d->uuid);
	rec.gen = p->out.gen;
	rec.doc_len = (uint32_t)p->blobs[MDR_BLOB_DOC].len;
	rec.max_conns = d->imds.max_connections;
	rec.max_req = d->imds.max_request;
	rec.tokens = (uint8_t)d->imds.tokens;
	rec.hop_limit = d->imds.hop_limit;
	rec.updated_ns = realtime_ns();
	if ((r = map_update(m->inst, &id, &rec, BPF_ANY))) {
		put_fail(p, r, "writing", MDR_MAP_NAME(inst));
		goto undo;
	}
	return 0;
undo:
	for (size_t i = d->n_bindings; i-- > 0;) {
		restore(&p->mac[i]);
		restore(&p->port[i]);
	}
	restore(&p->limits);
	put_unwrite_generation(p);
	return r;
}

/* Delete generation rec->gen of id: by the blob lengths of its doc d when
 * known, and by a sweep when not or when a delete failed (a retry). */
static void retire_generation(struct mdr_maps *m, uint32_t id, const struct mdr_instance *rec,
			      const struct mdr_defn *d)
{
	struct mdr_blob ob[MDR_STORE_MAX_BLOBS];
	size_t onb = 0;

	if (d && mdr_defn_blobs(d, ob, MDR_STORE_MAX_BLOBS, &onb) == 0) {
		ob[MDR_BLOB_DOC].len = rec->doc_len;
		if (delete_blobs(m, id, rec->gen, ob, onb) == 0)
			return;
	}
	sweep_generation(m, id, rec->gen);
}

/* Step 5 (published; nothing here fails the put): drop the bindings the
 * old version named and the new one does not, delete the old generation.
 * A chunk a delete could not remove keeps its generation's marker: the
 * next put or delete of this instance sweeps it (sweep_if_marked), and
 * mdr_store_sweep_chunks when mdrd starts. */
static void put_retire_old(struct put *p)
{
	uint32_t id = p->out.id;

	if (p->old_d)
		drop_old_bindings(p->m, id, p->old_d, p->d);
	/* A MAC pinned to an absent port is pending until the port appears
	 * (mdrd), never bound as "any port". */
	for (size_t i = 0; i < p->d->n_bindings; i++) {
		const struct mdr_defn_binding *b = &p->d->bindings[i];

		if (b->has_mac && b->has_port && !p->ifindex[i])
			mdr_store_unbind_mac(p->m, b->mac, b->vlan, id);
	}
	if (!p->have_old)
		return;
	retire_generation(p->m, id, &p->old, p->old_d);
	sweep_if_marked(p->m, id, p->old.gen - 1); /* an earlier put's failed retire */
}

int mdr_store_put(struct mdr_maps *m, const struct mdr_defn *d, unsigned flags,
		  struct mdr_store_result *res, char *err, size_t errlen)
{
	struct put p = { .m = m, .d = d, .err = err, .errlen = errlen, .uuid.fd = -1,
			 .limits.fd = -1 };
	int r;

	for (size_t i = 0; i < MDR_DEFN_MAX_BINDINGS; i++)
		p.port[i].fd = p.mac[i].fd = -1;
	if ((r = put_check_input(&p, flags)))
		return r;
	if ((r = mdr_maps_lock(m)))
		return mdr_errf(err, errlen, r, "locking %s: %s", m->pin_dir, strerror(-r));
	if (!(r = put_resolve_id(&p)) && !(r = put_check_conflicts(&p)) &&
	    !(r = put_write_generation(&p)) && !(r = put_publish(&p))) {
		/* published: wake long-polls now, the retire can follow */
		mdr_chnotify_send(m->pin_dir, p.out.id);
		put_retire_old(&p);
	}
	mdr_maps_unlock(m);
	mdr_defn_free(p.old_d);
	if (r == 0 && res)
		*res = p.out;
	return r;
}

/* ------------------------------------------------------------------ */
/* Delete and sweeps                                                   */
/* ------------------------------------------------------------------ */

int mdr_store_delete(struct mdr_maps *m, const char *uuid, char *err, size_t errlen)
{
	struct mdr_defn *d;
	char canon[MDR_UUID_SIZE];
	struct mdr_instance rec;
	struct mdr_uuid_key uk;
	uint32_t id;
	int r, have_rec;

	if (mdr_uuid_canonical(uuid, canon))
		return mdr_errf(err, errlen, -EINVAL, "\"%s\" is not a uuid", uuid);
	if ((r = mdr_maps_lock(m)))
		return mdr_errf(err, errlen, r, "locking %s: %s", m->pin_dir, strerror(-r));
	uuid_key(&uk, canon);
	if (bpf_map_lookup_elem(m->uuids, &uk, &id)) {
		r = mdr_errf(err, errlen, -ENOENT, "unknown instance %s", canon);
		goto out;
	}
	have_rec = instance_live(m, id, &rec) &&
		   strncmp(rec.uuid, canon, sizeof(rec.uuid)) == 0;
	if (have_rec) {
		/* XDP first stops recognising the instance, then content goes. */
		delete_bindings(m, MATCH_PORT_ID, id);
		delete_bindings(m, MATCH_MAC_ID, id);
		map_delete(m->limits, &id);
		map_delete(m->rl, &id);
		map_delete(m->inst, &id);
		map_delete(m->passwords, &id);
		map_delete(m->istats, &id);
		map_delete(m->rstats, &id);
		/* by the doc's blob lengths (a few deletes), a sweep when it
		 * is unreadable (some 400 probes) */
		d = read_doc(m, id, &rec);
		retire_generation(m, id, &rec, d);
		mdr_defn_free(d);
		/* an earlier put's failed retire, a put that died writing */
		sweep_if_marked(m, id, rec.gen - 1);
		sweep_if_marked(m, id, rec.gen + 1);
	}
	map_delete(m->uuids, &uk);
	r = 0;
out:
	mdr_maps_unlock(m);
	if (r == 0)
		mdr_chnotify_send(m->pin_dir, id); /* its long-polls end */
	return r;
}

int mdr_store_sweep_chunks(struct mdr_maps *m)
{
	struct mdr_chunk_key key, next, *stale;
	int removed = 0;

	stale = malloc(MDR_MAX_CHUNKS * sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	for (unsigned c = 0; c < MDR_CHUNK_CLASSES; c++) {
		void *prev = NULL;
		size_t n = 0;

		while (n < MDR_MAX_CHUNKS && bpf_map_get_next_key(m->chunk[c], prev, &next) == 0) {
			struct mdr_instance rec;
			int r = map_lookup(m->inst, &next.instance_id, &rec);

			/* a read error keeps the chunk: never delete live content */
			if (r == -ENOENT || (r == 0 && rec.gen != next.gen))
				stale[n++] = next;
			key = next;
			prev = &key;
		}
		for (size_t i = 0; i < n; i++)
			if (map_delete(m->chunk[c], &stale[i]) == 0)
				removed++;
	}
	free(stale);
	return removed;
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
		    map_delete(m->rl, &stale[i]) == 0)
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
		if (canon)
			return mdr_errf(err, errlen, -ENOENT, "unknown instance %s", canon);
		return mdr_errf(err, errlen, -ENOENT, "unknown instance id %u", id);
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
	if (r)
		return mdr_errf(err, errlen, -EINVAL, "instance %s: stored document is invalid: %s",
				rec->uuid, perr);
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
			if (!r && mdr_defn_set_blob(d, (unsigned)b, buf, len, perr, sizeof(perr)))
				r = mdr_errf(err, errlen, -EINVAL, "instance %s: blob %zu: %s",
					     rec->uuid, b, perr);
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
		if (mdr_uuid_canonical(uuid, canon))
			return mdr_errf(err, errlen, -EINVAL, "\"%s\" is not a uuid", uuid);
		if (mdr_store_lookup(m, canon, &id))
			return mdr_errf(err, errlen, -ENOENT, "unknown instance %s", canon);
	}
	for (int i = 0; i < MDR_STORE_READ_RETRIES && r == -EAGAIN; i++)
		r = get_once(m, id, uuid ? canon : NULL, flags, rec ? rec : &tmp, d_out,
			     err, errlen);
	if (r == -EAGAIN)
		r = mdr_errf(err, errlen, -EAGAIN, "instance %s changed %d times while being read",
			     uuid ? canon : "", MDR_STORE_READ_RETRIES);
	if (r == 0 && id_out)
		*id_out = id;
	return r;
}
