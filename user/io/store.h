/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store.[ch]: instances in the pinned maps (docs/DESIGN.md "Content storage
 * and atomic updates").
 *
 * Content blobs are cut greedily into immutable chunks keyed by
 * (id, gen, blob, chunk) over the mdr_chunk0..5 maps. A writer stores every
 * chunk of a NEW generation, flips the mdr_inst record in one update, then
 * deletes the old generation. A reader takes the record, reads chunks of
 * that generation and, when a chunk is gone (-ENOENT: replaced under it),
 * re-reads the record and retries; it never mixes generations.
 *
 * Writers of all processes are serialised by mdr_maps_lock() (flock on the
 * pin directory); readers take no lock.
 */
#ifndef MDR_STORE_H
#define MDR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"
#include "pinned.h"
#include "defn.h"

/* ---- pure: the greedy chunk cut (see mdr_abi.h) ---- */

/* Value size of each chunk class (mdr_chunkN), largest first. */
extern const uint32_t mdr_chunk_size[MDR_CHUNK_CLASSES];

/* The class the greedy cut takes for `remaining` (> 0) bytes: the largest
 * class whose size <= remaining, or the smallest class. */
unsigned mdr_chunk_class(uint32_t remaining);

/* One chunk of a blob: stored in map mdr_chunk<cls> under chunk index i,
 * holds blob bytes [off, off + len) (len <= class size; the rest of the
 * value is zero). */
struct mdr_chunk_piece {
	unsigned cls;
	uint32_t off;
	uint32_t len;
};

/* Chunks a blob of len bytes is cut into (0 for an empty blob). */
uint32_t mdr_chunk_count(uint32_t len);

/* Cut len bytes: fills up to max pieces (in chunk index order) and returns
 * the total count (mdr_chunk_count(len)), which may exceed max. */
uint32_t mdr_chunk_cut(uint32_t len, struct mdr_chunk_piece *out, uint32_t max);

/* ---- pure: instance ids ---- */

/* Probes for a uuid's id before giving up (32-bit ids, <= 16384 instances:
 * a collision is already rare, eight in a row never happens). */
#define MDR_ID_PROBES 8

/* The id to try at probe `attempt` (0..) for uuid: a 32-bit hash of the
 * canonical uuid, linear probing, never 0 (0 means "no instance"). */
uint32_t mdr_instance_id_probe(const char *uuid, unsigned attempt);

/* ---- map I/O ---- */

/* Re-reads of the record when a generation vanished under a reader: two
 * replaces racing one read is already rare; more means a writer storm. */
#define MDR_STORE_READ_RETRIES 16

/* mdr_store_put flags */
/* A binding's port that names no interface (yet) is not an error: the
 * instance is stored without that port binding, and without a MAC binding
 * pinned to it (mdrd writes both when the interface appears; the other
 * bindings are written now). Default: error, nothing changed. */
#define MDR_STORE_F_DEFER_PORT (1u << 0)

struct mdr_store_result {
	uint32_t id;
	uint32_t gen;
	int created;       /* 1 = new instance, 0 = replaced */
	int port_pending;  /* bindings whose port is not present (MDR_STORE_F_DEFER_PORT) */
	uint32_t ifindex;  /* the first binding's port's ifindex, 0 if none/pending */
};

/*
 * Create or atomically replace the instance d (complete: every content
 * blob attached, e.g. from mdr_defn_parse). Resolves binding.port with
 * if_nametoindex in the caller's network namespace. Steps: resolve the id,
 * check conflicts (unknown interface, port or MAC bound to another
 * instance, missing content), write the new generation, publish (limits
 * and new bindings, then the one record update), retire the old version
 * (its bindings d lacks, its chunks). On error nothing is changed: what
 * was written is removed or put back, the old record, limits and bindings
 * stay; the return is -errno and err holds one line naming the problem.
 * Once published the put succeeds; old chunks a delete could not remove
 * are swept by the next put or delete of the instance or by
 * mdr_store_sweep_chunks.
 * Bindings: for each of d's bindings (NICs), the port binding (with
 * MDR_PORT_F_CHECK_MAC when a MAC is given too) and the MAC(+VLAN)
 * binding, all published before the record, all put back on failure;
 * bindings the previous version named and d does not are removed;
 * bindings made by hand (mdr_store_bind_*) are kept.
 */
int mdr_store_put(struct mdr_maps *m, const struct mdr_defn *d, unsigned flags,
		  struct mdr_store_result *res, char *err, size_t errlen);

/* Delete an instance: bindings (every port/MAC bound to its id), limits,
 * rate-limit state, record, password, counters, chunks, and last the uuid.
 * -ENOENT (with message) for an unknown uuid. */
int mdr_store_delete(struct mdr_maps *m, const char *uuid, char *err, size_t errlen);

/* Remove every rate-limit bucket (mdr_rl) whose instance has no limits
 * record: left by a delete that died between the two, they would fill
 * mdr_rl (where XDP fails open). Returns the number removed or -errno. */
int mdr_store_sweep_buckets(struct mdr_maps *m);

/* Remove every chunk that is not of its instance's current generation
 * (record gone, or another gen): left by a put or delete that died half-way.
 * The caller holds mdr_maps_lock() (a put in progress writes chunks of a
 * generation no record names yet). Returns the number removed or -errno. */
int mdr_store_sweep_chunks(struct mdr_maps *m);

/* uuid (any accepted spelling) -> id of its live record. 0 or -ENOENT (also
 * for a claim whose record is missing or belongs to another uuid: a put
 * that died). */
int mdr_store_lookup(const struct mdr_maps *m, const char *uuid, uint32_t *id);

/* The record of id. 0 or -ENOENT. */
int mdr_store_record(const struct mdr_maps *m, uint32_t id, struct mdr_instance *rec);

/* Read blob `blob` of generation gen (len bytes, from the doc or record)
 * into buf. 0, -ENOENT when a chunk of that generation is gone (re-read
 * the record and retry), other -errno on failure. */
int mdr_store_read_blob(const struct mdr_maps *m, uint32_t id, uint32_t gen,
			unsigned blob, void *buf, uint32_t len);

/* mdr_store_get flags */
#define MDR_STORE_GET_CONTENTS (1u << 0) /* attach user data and files */

/*
 * Read an instance, by uuid (any spelling) or, when uuid is NULL, by id:
 * its record and its definition parsed from the doc (mdr_defn_from_doc),
 * with contents attached when MDR_STORE_GET_CONTENTS. Retries on a
 * concurrent replace. 0, or -errno with a message (-ENOENT: unknown).
 * rec, id_out, d_out may be NULL.
 */
int mdr_store_get(const struct mdr_maps *m, const char *uuid, uint32_t id,
		  unsigned flags, uint32_t *id_out, struct mdr_instance *rec,
		  struct mdr_defn **d_out, char *err, size_t errlen);

/* Every instance id (mdr_inst keys), unordered. Returns the count, which
 * may exceed max (only max are written), or -errno. */
int mdr_store_ids(const struct mdr_maps *m, uint32_t *ids, size_t max);

/* ---- bindings ---- */

/* mdr_ports[ifindex] = id (mac != NULL: frames must come from mac/vlan).
 * -EEXIST with a message when the port is bound to another live instance
 * (unless force). */
int mdr_store_bind_port(struct mdr_maps *m, uint32_t id, uint32_t ifindex,
			const uint8_t *mac, uint16_t vlan, int force,
			char *err, size_t errlen);
/* mdr_macs[(mac, vlan)] = (id, ifindex: 0 = any port). Same -EEXIST rule. */
int mdr_store_bind_mac(struct mdr_maps *m, uint32_t id, const uint8_t mac[6],
		       uint16_t vlan, uint32_t ifindex, int force,
		       char *err, size_t errlen);
/* Remove one binding; when id != 0 only if it belongs to id. 0 or -ENOENT. */
int mdr_store_unbind_port(struct mdr_maps *m, uint32_t ifindex, uint32_t id);
int mdr_store_unbind_mac(struct mdr_maps *m, const uint8_t mac[6], uint16_t vlan,
			 uint32_t id);
/* An interface went away: drop its port binding and the MAC bindings
 * pinned to it. Returns the number of bindings removed. */
int mdr_store_forget_ifindex(struct mdr_maps *m, uint32_t ifindex);

/* The port a MAC binding of instance id made by hand must be pinned to:
 * its definition's one port (-ENODEV with a message while that port is
 * absent: never trust the MAC on any port; -EINVAL when it binds several),
 * else the one port bound to id (-EINVAL when several), else 0 (no port:
 * bridge-device mode). */
int mdr_store_mac_port(const struct mdr_maps *m, uint32_t id, uint32_t *ifindex,
		       char *err, size_t errlen);
/* The same for the MAC mac (+ vlan) being bound: the port of the NIC of
 * the definition that names that MAC, when there is one (mac NULL: as
 * mdr_store_mac_port). */
int mdr_store_mac_port_for(const struct mdr_maps *m, uint32_t id, const uint8_t *mac,
			   uint16_t vlan, uint32_t *ifindex, char *err, size_t errlen);

/* The ifindex a MAC bound to port is pinned to: the port, or, when XDP is
 * not attached to the port but to its master (a bridge device, issue 12
 * hole 3), the bridge: every frame from its ports arrives as the bridge's,
 * and mdrd's per-port nftables rules (mdrd/portsec.c) stand in for the
 * port check. */
uint32_t mdr_store_pin_ifindex(const struct mdr_maps *m, uint32_t port);

/* Apply d's bindings for instance id now (e.g. a port just appeared).
 * *port_pending = the number of bindings whose port is still absent; a
 * MAC binding pinned to such a port is not written (and removed if
 * present). Every binding is tried; 0 or the first -errno. */
int mdr_store_apply_bindings(struct mdr_maps *m, uint32_t id,
			     const struct mdr_defn *d, int *port_pending,
			     char *err, size_t errlen);

/* ---- test seam (tests/unit/test_store.c only) ---- */

/* A map access of the store, as the seam sees it. */
enum mdr_store_seam_op {
	MDR_STORE_SEAM_LOOKUP, /* lookups of the put steps and conflict checks */
	MDR_STORE_SEAM_UPDATE, /* every map write */
	MDR_STORE_SEAM_DELETE, /* every map delete */
};

/* Fault injection for unit tests: when fail is set, it is called before
 * each access above with the map's fd; a non-zero return (-errno) becomes
 * that access's result and the map is not touched. Programs leave it
 * zero (no fault). */
struct mdr_store_test_seam {
	int (*fail)(int fd, enum mdr_store_seam_op op, void *ctx);
	void *ctx;
};
extern struct mdr_store_test_seam mdr_store_test_seam;

#endif /* MDR_STORE_H */
