/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fillshare: how the responder shares one UMEM's frames among the fill
 * rings of its AF_XDP sockets. Pure arithmetic, no I/O (the rings are
 * user/responder/xsk.c's); tests in tests/unit/test_fillshare.c.
 *
 * A frame handed to a fill ring stays there until a frame arrives on that
 * socket: the kernel gives no way to take it back. So an idle socket only
 * gets a small base share, and a socket whose traffic drains its ring is
 * boosted (its fill target becomes the whole ring) from a bounded pool
 * that nobody's base share needs, including the shares of sockets yet to
 * come; the boost decays when the socket quietens.
 *
 * With several threads (shards) each has a fixed range of the UMEM and
 * its own fill_share over it (fill_shard_frames), and serves the
 * interfaces fill_shard_of gives it.
 */
#ifndef MDR_FILLSHARE_H
#define MDR_FILLSHARE_H

#include <stdint.h>

/* Base share of an idle socket when the UMEM has room: one request for
 * each connection an instance may open by default (64,
 * TCP_DEFAULT_MAX_CONNS_PER_INST): with the handshake in XDP a guest that
 * opens them all at once sends that many requests before the socket's
 * first batch could boost it, and a frame without a fill frame is lost (a
 * retransmission). The default 8192 frames hold it for
 * (8192 - 256 - 1024) / 64 = 108 sockets, down to 27 each at 256. */
#define FILL_BASE 64u
/* Least base share when the UMEM is spread thin (many sockets): one
 * client's handshake and request; a socket below it may use the TX
 * reserve. */
#define FILL_FLOOR 8u
/* Full fill rings of boost always available on top of the base shares of
 * as many sockets as the pool plans for (busy guests at once). */
#define FILL_BOOST_RINGS 2u
/* Frames kept out of fill rings so replies can always be built. */
#define FILL_TX_RESERVE 256u

/* The state of one shared UMEM, as far as fill rings go. */
struct fill_share {
	uint32_t umem_frames; /* frames in the UMEM */
	uint32_t ring_size;   /* size of every socket's fill ring */
	uint32_t n_socks;     /* sockets sharing the UMEM */
	uint32_t base;        /* base share (fill_share_base() at the last rebase) */
	uint32_t n_free;      /* frames free in the pool */
	uint32_t fill_total;  /* sum of the sockets' in_fill */
	uint32_t above_base;  /* sum of max(0, in_fill - base) */
};

/* Frames fill rings may take: the UMEM less the TX reserve (half of a UMEM
 * too small for the reserve). */
uint32_t fill_share_pool(const struct fill_share *f);
/* Frames set aside for boosts: FILL_BOOST_RINGS full rings, at most half
 * the pool. */
uint32_t fill_share_boost_headroom(const struct fill_share *f);
/* Base share per socket for n_socks sockets: FILL_BASE while every share
 * plus the boost headroom fit the pool, less with more sockets (never
 * below FILL_FLOOR), never more than a ring. */
uint32_t fill_share_base(const struct fill_share *f);
/* Frames that may sit above base shares in fill rings: what the base
 * shares of the sockets there are, or could be (as many as the pool plans
 * for at FILL_BASE), leave. */
uint32_t fill_share_boost_pool(const struct fill_share *f);
/* Frames a ring holding in_fill has above the base share. */
uint32_t fill_share_over_base(const struct fill_share *f, uint32_t in_fill);
/* Frames the sockets below their base share still need. */
uint32_t fill_share_deficit(const struct fill_share *f);
/* A socket's ring now holds v frames instead of *in_fill: keep the totals. */
void fill_share_set(struct fill_share *f, uint32_t *in_fill, uint32_t v);

/* Frames to give a socket's fill ring now. */
struct fill_grant {
	uint32_t base;  /* towards its base share */
	uint32_t boost; /* above it, towards base + boost */
	uint32_t short_of; /* boost frames refused only because the boost pool
			    * is held by other rings (frames reclaim could free) */
};

/*
 * What a socket holding in_fill frames, with the given boost, may take:
 * its base share first (from the pool above the TX reserve; a socket
 * below FILL_FLOOR may use the reserve too), then its boost, only from
 * frames that neither the TX reserve nor any socket's missing base share
 * needs, and within the boost pool. Never more than n_free in total.
 */
struct fill_grant fill_share_grant(const struct fill_share *f, uint32_t in_fill, uint32_t boost);

/* The shard (0..n_shards-1) serving interface ifindex: every queue of an
 * interface in one shard, interfaces spread evenly. */
uint32_t fill_shard_of(uint32_t ifindex, uint32_t n_shards);
/* Shard k's frames of a UMEM of umem_frames: [*first, *first + return).
 * Equal ranges; the last shard also takes what the division leaves. */
uint32_t fill_shard_frames(uint32_t umem_frames, uint32_t n_shards, uint32_t k, uint32_t *first);

#endif /* MDR_FILLSHARE_H */
