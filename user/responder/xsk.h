/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xsk.h - the AF_XDP shell of mdr-responder: one UMEM shared by one socket
 * per (interface, RX queue) listed in mdr_ifaces, a frame pool over it, and
 * the registration of every socket in mdr_xsks / mdr_xsk_slot.
 *
 * A socket is named by its slot in mdr_xsks (the index of our table too)
 * and an epoch that changes whenever a slot is reused, so a route that
 * outlived its socket never sends out of a different interface.
 *
 * Frames: the UMEM is cut in n_frames chunks; each chunk is free, in a
 * socket's fill ring / RX path, or in a socket's TX path, and its owner
 * slot is recorded so a socket torn down (interface gone) gives back every
 * frame it held, even those the kernel never returned.
 *
 * Threads: the process has one UMEM (struct rsp_umem) and one struct
 * rsp_xsk per thread ("shard"). A shard serves the interfaces
 * fill_shard_of() (user/core/fillshare.h) gives it (every queue of an interface in the same
 * shard: a guest's connections, connection cap and output budget stay in
 * one thread), takes the XSKMAP slots with slot % shards == shard and a
 * fixed range of the UMEM's frames. One rsp_xsk is used by one thread
 * only; rsp_umem_open/close run before the threads start and after they
 * ended.
 */
#ifndef MDR_RSP_XSK_H
#define MDR_RSP_XSK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "mdr_abi.h"

/* RX descriptors handled per socket per round, and TX kick batch: big
 * enough to amortise ring barriers and syscalls, small enough to keep
 * latency low when many sockets are busy. */
#define RSP_BATCH 64
/* UMEM chunk: a page holds one frame of any MTU up to 3.8 KB (the kernel
 * keeps XDP_PACKET_HEADROOM in front of received data, and XDP's tag
 * header comes first). Also the largest frame a reply may take. */
#define RSP_FRAME_SIZE 4096u
/* Largest guest frame one chunk holds: what is left after the headroom
 * the kernel keeps and the tag header XDP prepends. */
#define RSP_RX_FRAME_MAX (RSP_FRAME_SIZE - XDP_PACKET_HEADROOM - sizeof(struct mdr_tag_hdr))

/* epoll data tags: (tag << 32) | value. Sockets use their slot as value. */
#define RSP_EV_XSK 1u
#define RSP_EV_TAG(u64) ((uint32_t)((u64) >> 32))
#define RSP_EV_VAL(u64) ((uint32_t)(u64))
#define RSP_EV(tag, val) (((uint64_t)(tag) << 32) | (uint32_t)(val))

struct rsp_xsk_opts {
	uint32_t umem_frames; /* chunks of RSP_FRAME_SIZE bytes */
	uint32_t ring_size;   /* RX/TX/fill/completion ring entries (power of 2) */
	bool busy_poll;       /* SO_PREFER_BUSY_POLL on every socket */
};

/* Pinned maps the shell reads and writes. */
struct rsp_xsk_maps {
	int xsks_fd;   /* mdr_xsks (XSKMAP) */
	int slot_fd;   /* mdr_xsk_slot */
	int ifaces_fd; /* mdr_ifaces */
};

/* Where a frame came from and where its replies must leave. */
struct rsp_port {
	uint32_t slot;
	uint32_t epoch;
};

/* One received frame, with the tag header XDP wrote for it (frames
 * without a valid one never reach the handler). */
struct rsp_rx {
	struct rsp_port port;
	uint32_t ifindex;
	uint32_t queue;
	const uint8_t *frame; /* the guest's frame, after the tag header */
	uint32_t len;
	struct mdr_tag_hdr tag;
};

typedef void (*rsp_rx_fn)(void *ctx, const struct rsp_rx *rx);
/* Told before a socket goes away (interface removed, error, shutdown). */
typedef void (*rsp_down_fn)(void *ctx, struct rsp_port port);

struct rsp_xsk_stats {
	uint64_t rx_frames;
	uint64_t rx_untagged;  /* no valid tag header (pkt_tag_take): dropped */
	uint64_t sync_read_errors; /* mdr_ifaces could not be read: sync skipped */
	uint64_t tx_frames;
	uint64_t tx_dropped;   /* no free frame, ring full or stale port */
	uint64_t tx_no_frame;  /* of those: no free UMEM frame */
	uint64_t tx_ring_full; /* of those: TX ring full even after a kick */
	uint64_t kick_errors;  /* sendto failures other than EAGAIN/EBUSY */
	/* The kernel's XDP_STATISTICS of sockets already closed: frames lost
	 * before we saw them (no fill frame, RX ring full, other). */
	uint64_t rx_fill_empty;
	uint64_t rx_ring_full;
	uint64_t rx_dropped;
	uint64_t reclaimed_frames; /* taken back from idle sockets' fill rings */
	uint64_t reopened;     /* idle sockets reopened to reclaim them */
	uint32_t sockets;      /* sockets currently up */
	uint32_t free_frames;
};

/* Add one shard's stats to a total. */
void rsp_xsk_stats_add(struct rsp_xsk_stats *to, const struct rsp_xsk_stats *st);

/* Threads (shards) at most: a metadata responder is a small part of a
 * node's work; beyond this many, more threads only mean more cores woken. */
#define RSP_MAX_SHARDS 64u
/* UMEM frames one shard needs at least: its TX reserve plus a few fill
 * rings (as the responder's --umem-frames minimum). */
#define RSP_MIN_SHARD_FRAMES 1024u

struct rsp_umem;
struct rsp_xsk;

/*
 * Create the UMEM of opts->umem_frames frames for n_shards threads (and
 * its anchor socket, see xsk.c) and clear stale mdr_xsk_slot entries of a
 * previous responder. -EINVAL (not logged) when n_shards is 0, above
 * RSP_MAX_SHARDS or leaves a shard fewer than RSP_MIN_SHARD_FRAMES frames;
 * other errors -errno (logged).
 */
int rsp_umem_open(struct rsp_umem **out, const struct rsp_xsk_opts *opts,
		  const struct rsp_xsk_maps *maps, uint32_t n_shards);
/* After every shard's rsp_xsk_close. */
void rsp_umem_close(struct rsp_umem *u);

/*
 * Shard `shard` of u: its frames, no socket yet: call rsp_xsk_sync() to
 * create the sockets of its interfaces. Socket fds are added to epfd with
 * data RSP_EV(RSP_EV_XSK, slot). Returns 0 or -errno (logged).
 */
int rsp_xsk_open(struct rsp_xsk **out, struct rsp_umem *u, uint32_t shard, int epfd,
		 rsp_down_fn down, void *down_ctx);

/* Unregister every socket of the shard (XDP then follows its fallback
 * policy) and close them. */
void rsp_xsk_close(struct rsp_xsk *x);

/*
 * Follow mdr_ifaces: create and register a socket for every (ifindex,
 * queue) of an interface present in this network namespace, tear down
 * those whose interface left the map or the namespace (checked for
 * interfaces already served only when check_devices: after a link event
 * and now and then). Failures are logged once and retried with backoff
 * (now_ns: monotonic). Creates at most a budget of sockets per call (see
 * rsp_xsk_sync_more). Returns sockets changed.
 */
int rsp_xsk_sync(struct rsp_xsk *x, uint64_t now_ns, bool check_devices);

/* The last sync stopped at its creation budget: sync again soon. */
bool rsp_xsk_sync_more(const struct rsp_xsk *x);

/* Forget the backoff of the failed sockets of ifindex (0: of every
 * interface): a link event for it, retry them at the next sync. */
void rsp_xsk_retry_now(struct rsp_xsk *x, uint32_t ifindex);

/* XDP let a frame fall back for lack of a socket: poll the queue counts of
 * interfaces that use fewer RX queues than they have, at the next sync. */
void rsp_xsk_recheck_queues(struct rsp_xsk *x);

/* When an interface using fewer RX queues than it has is next polled for
 * new queues in use (monotonic ns; UINT64_MAX: none is): sync by then. A
 * multi-queue tap gains queues as its guest enables queue pairs, with no
 * link event; each is served within RSP_QWATCH_FAST_NS while it is expected
 * (xsk.c). */
uint64_t rsp_xsk_next_poll(const struct rsp_xsk *x);

/* The socket of slot reported EPOLLERR (its device is going away): tear
 * it down now; the next sync recreates it if the interface still exists. */
void rsp_xsk_sock_error(struct rsp_xsk *x, uint32_t slot);

/* Receive up to RSP_BATCH frames of slot, calling fn for each; frames are
 * only valid during the call. Returns frames handled (more may remain). */
unsigned rsp_xsk_rx(struct rsp_xsk *x, uint32_t slot, rsp_rx_fn fn, void *ctx);

/*
 * Build a frame in place: a UMEM frame of RSP_FRAME_SIZE bytes for port,
 * or NULL when dropped (port gone, no free frame, ring full even after a
 * kick). Finish with rsp_xsk_tx_commit (len 0 cancels) before any other
 * call on x; transmission starts at rsp_xsk_flush() or earlier.
 */
uint8_t *rsp_xsk_tx_reserve(struct rsp_xsk *x, struct rsp_port port);
/* Queue the reserved frame's first len bytes (0: cancel). 0 or -1. */
int rsp_xsk_tx_commit(struct rsp_xsk *x, uint32_t len);

/* Kick every socket with queued TX, reap completions, refill fill rings.
 * Call once per event-loop round. */
void rsp_xsk_flush(struct rsp_xsk *x);

/* About once a second: decay the fill-ring boost of sockets that are no
 * longer busy. */
void rsp_xsk_tick(struct rsp_xsk *x);

/* Describe a port for logs ("tap0 queue 0") into buf; returns buf. */
const char *rsp_xsk_port_name(const struct rsp_xsk *x, struct rsp_port port,
			      char *buf, unsigned len);

void rsp_xsk_get_stats(const struct rsp_xsk *x, struct rsp_xsk_stats *st);

#endif /* MDR_RSP_XSK_H */
