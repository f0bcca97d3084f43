/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * AF_XDP sockets over one shared UMEM (see xsk.h).
 *
 * libxdp 1.3.1 binds the first socket created on a UMEM to the UMEM's own
 * fd, and every later socket shares that UMEM through it (XDP_SHARED_UMEM),
 * which the kernel only allows while that first socket is bound. Guest
 * interfaces come and go, so the first socket is an "anchor" bound to the
 * loopback device of our namespace (always present, no XDP program, no
 * traffic): it owns the UMEM and never goes away before the responder does.
 * Shared sockets inherit copy mode and need-wakeup from it.
 *
 * Threads (main.c): one UMEM and one anchor for the process (a second
 * UMEM could not bind its anchor to lo queue 0: EBUSY), one struct
 * rsp_xsk per thread. A thread's sockets, its XSKMAP slots and its range
 * of UMEM frames are its own, so the data path takes no lock; only
 * libxdp's socket creation and deletion, which update the UMEM's shared
 * list of (interface, queue) contexts, run under the UMEM's lock.
 */
#include "xsk.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <xdp/xsk.h>

#include "log.h"
#include "pkt.h"
#include "fillshare.h"
#include "tcp.h"

/* The anchor needs a ring to bind; it never carries traffic. */
#define RSP_ANCHOR_RING 64u
/* Device the anchor binds to: exists in every network namespace. */
#define RSP_ANCHOR_IFNAME "lo"
/* Fill-ring shares: user/core/fillshare.h (FILL_BASE, FILL_FLOOR,
 * FILL_BOOST_RINGS, FILL_TX_RESERVE and the arithmetic). */
_Static_assert(FILL_BASE >= TCP_DEFAULT_MAX_CONNS_PER_INST,
	       "a fresh socket's base share holds a request per default connection");
/* A batch that used at least 1/RSP_BOOST_FRAC of the socket's fill target
 * means the ring may run dry before the next round: double the target. */
#define RSP_BOOST_FRAC 2u
/* A socket idle for this many ticks (about seconds) in a row may be
 * reopened to reclaim the frames its fill ring holds above the base share
 * (see reclaim()): long enough that it is not in the middle of a crawl. */
#define RSP_RECLAIM_IDLE_TICKS 2u
/* Base shares reclaimed beyond the current need, for the next sockets. */
#define RSP_RECLAIM_SLACK 16u
/* Reopening sockets to reclaim frames: the longest the event loop waits
 * for the kernel to free the closed sockets' queues (reopen_all()), and
 * the pause between bind attempts. */
#define RSP_REOPEN_BUDGET_NS (60ull * 1000000ull)
#define RSP_REOPEN_WAIT_NS 1000000L
/* A responder started right after one was killed: how long binding the
 * anchor may stay EBUSY (the kernel freeing the dead one's sockets, an RCU
 * grace period or a few), and the pause between tries. */
#define RSP_ANCHOR_BUSY_NS (3000ull * 1000000ull)
#define RSP_ANCHOR_BUSY_WAIT_NS 10000000L
/* Sockets reopened per reclaim round (~0.1 ms each): bounds the stall. */
#define RSP_RECLAIM_MAX 64u
/* Sockets created per sync round (~1 ms each): hundreds of new taps at
 * once do not stall serving the others; the rest come next round. */
#define RSP_SYNC_CREATE_MAX 32u
/* Queues served per interface: taps have 1..a few, a NIC at most 256. */
#define RSP_MAX_QUEUES 256u
/* sendto rounds per flush when the kernel returns EAGAIN (copy mode
 * transmits a bounded budget per call). */
#define RSP_KICK_ROUNDS 64
/* Hash buckets for (ifindex, queue) -> slot: a power of 2. */
#define RSP_HASH_BUCKETS 1024u
/* Busy-poll budget and timeout when --busy-poll is given. */
#define RSP_BUSY_POLL_US 20
#define RSP_BUSY_POLL_BUDGET RSP_BATCH

#define NO_OWNER 0xffffu
#define NO_SLOT 0xffffffffu

_Static_assert(MDR_MAX_XSKS < NO_OWNER, "slots fit the owner table");

struct rsp_sock {
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	int fd;
	uint32_t slot;
	uint32_t epoch;
	uint32_t ifindex;
	uint32_t queue;
	char ifname[IF_NAMESIZE];
	uint32_t in_fill;   /* frames given to the kernel for RX */
	uint32_t boost;     /* fill target above the base share, 0 = none */
	uint32_t short_of;  /* boost refused at the last refill: others hold the pool */
	uint32_t rx_period; /* frames received since the last rsp_xsk_tick */
	uint32_t idle_ticks; /* rsp_xsk_tick periods without traffic, in a row */
	bool hungry;        /* below its base share: refilled at every flush */
	uint64_t fill_empty_seen; /* kernel's rx_fill_ring_empty_descs, last tick */
	uint32_t tx_out;    /* frames queued for TX, not yet completed */
	uint32_t tx_unkicked; /* queued since the last sendto */
	bool seen;          /* present in the current sync */
	bool dirty;         /* on the flush list */
	uint32_t hnext;     /* hash chain (slot) */
	uint32_t dnext;     /* dirty list (slot) */
};

/* (ifindex, queue) pairs whose socket could not be created: logged once
 * per error, retried with backoff (a queue beyond the device's real queue
 * count fails until the device gets more queues). */
struct rsp_fail {
	uint32_t ifindex, queue;
	int err;
	bool seen;        /* still listed in the current sync */
	uint64_t next_ns; /* do not retry before */
	uint64_t delay_ns;
};
/* Failures remembered (one per queue we could not bind). */
#define RSP_MAX_FAILS MDR_MAX_XSKS
/* First retry after a failure, doubling up to the maximum; a link event
 * retries everything at once. */
#define RSP_RETRY_MIN_NS (150ull * 1000000ull)
/* First retry of a bind that found its queue busy (see fail_note). */
#define RSP_RETRY_BUSY_NS (10ull * 1000000ull)
#define RSP_RETRY_MAX_NS (10000ull * 1000000ull)

/* Interfaces using fewer RX queues than mdr_ifaces lists (the driver's
 * ETHTOOL_GCHANNELS says so): a multi-queue tap gets its queues from the
 * VMM as the guest enables queue pairs (TUNSETQUEUE), with no rtnetlink
 * event, and a socket can only bind to a queue in use. Such an interface is
 * polled (one ioctl) and a socket created as soon as a queue appears. */
struct rsp_qwatch {
	uint32_t ifindex;
	uint32_t in_use;     /* sockets are created for queues below this */
	uint32_t max;        /* the driver's maximum */
	bool seen;           /* still listed in the current sync */
	bool refresh;        /* a link event or a fallback: poll fast again */
	uint64_t next_ns;    /* next poll */
	uint64_t fast_until; /* poll every RSP_QWATCH_FAST_NS until then */
};
/* Poll period while a queue may appear any moment: the guest's first
 * frames on a new queue fall back to XDP_PASS until its socket exists,
 * and this bounds that window. */
#define RSP_QWATCH_FAST_NS (50ull * 1000000ull)
/* How long after the interface appears, its queue count changes or a link
 * event we poll fast: a guest enables its queue pairs when its virtio-net
 * driver starts, seconds after the VMM opened the tap (tens of seconds
 * for an emulated guest). */
#define RSP_QWATCH_FAST_WINDOW_NS (60000ull * 1000000ull)
/* Poll period after that (each poll takes the RTNL lock): a fallback seen
 * by XDP (rsp_xsk_recheck_queues) polls at once. */
#define RSP_QWATCH_SLOW_NS (1000ull * 1000000ull)

/* The process's UMEM: its memory, its anchor socket, and the lock around
 * libxdp's socket creation and deletion. Shared by every thread's
 * rsp_xsk, read-only after rsp_umem_open but for what the lock guards. */
struct rsp_umem {
	struct rsp_xsk_opts o;
	struct rsp_xsk_maps m;
	uint32_t n_shards;
	void *area;
	size_t area_len;
	struct xsk_umem *umem;
	struct xsk_ring_prod anchor_fill;
	struct xsk_ring_cons anchor_comp;
	struct xsk_ring_prod anchor_tx;
	struct xsk_socket *anchor;
	pthread_mutex_t lock;
	bool lock_init;
};

struct rsp_xsk {
	struct rsp_xsk_opts o;
	struct rsp_xsk_maps m;
	struct rsp_umem *u;
	uint32_t shard, n_shards;
	int epfd;
	rsp_down_fn down;
	void *down_ctx;

	/* The UMEM's (copied from u), and this shard's frames of it:
	 * [f_lo, f_lo + f_n) in chunks. */
	void *area;
	size_t area_len;
	struct xsk_umem *umem;
	uint32_t f_lo, f_n;

	uint64_t *free_stack; /* frame base addresses */
	struct fill_share fs; /* free frames and fill-ring shares */
	uint32_t n_hungry;    /* sockets with hungry set */
	bool warned_thin;     /* logged that the UMEM is spread thin */
	bool warned_short;    /* logged that sockets starve, nothing to reclaim */
	uint16_t *owner;      /* per frame of the shard: slot, or NO_OWNER when free */

	struct rsp_sock *socks[MDR_MAX_XSKS];
	uint32_t next_epoch;
	uint32_t hash[RSP_HASH_BUCKETS];
	uint32_t dirty_head;

	int ioctl_fd;           /* asks the kernel for interface names */
	uint32_t *if_keys;      /* mdr_ifaces snapshot (MDR_MAX_IFACES) */
	struct mdr_iface *if_vals;
	bool no_batch;          /* the kernel refused batched lookups */

	struct rsp_fail *fails; /* RSP_MAX_FAILS entries */
	uint32_t n_fails;
	struct rsp_qwatch *qwatch; /* MDR_MAX_IFACES entries */
	uint32_t n_qwatch;
	uint64_t now_ns;        /* of the current sync */
	bool sync_more;         /* the last sync left sockets to create */

	struct rsp_xsk_stats st;
	/* The open rsp_xsk_tx_reserve: socket, TX ring index, frame. */
	struct rsp_sock *pend;
	uint32_t pend_idx;
	uint64_t pend_addr;
};

/* ---------------------------------------------------------------- frames */

static uint64_t frame_alloc(struct rsp_xsk *x, uint32_t slot)
{
	uint64_t a;

	if (!x->fs.n_free)
		return UINT64_MAX;
	a = x->free_stack[--x->fs.n_free];
	x->owner[a / RSP_FRAME_SIZE - x->f_lo] = (uint16_t)slot;
	return a;
}

static void frame_free(struct rsp_xsk *x, uint64_t addr)
{
	uint64_t base = addr - addr % RSP_FRAME_SIZE;
	uint64_t i = base / RSP_FRAME_SIZE;

	/* never trust the kernel with our accounting (nor with frames of
	 * another thread's range) */
	if (i < x->f_lo || i - x->f_lo >= x->f_n || x->owner[i - x->f_lo] == NO_OWNER)
		return;
	i -= x->f_lo;
	x->owner[i] = NO_OWNER;
	x->free_stack[x->fs.n_free++] = base;
}

static void set_in_fill(struct rsp_xsk *x, struct rsp_sock *s, uint32_t v)
{
	fill_share_set(&x->fs, &s->in_fill, v);
}

static void set_hungry(struct rsp_xsk *x, struct rsp_sock *s, bool h)
{
	if (s->hungry != h) {
		s->hungry = h;
		if (h)
			x->n_hungry++;
		else
			x->n_hungry--;
	}
}

/* The socket count changed: new base share, recount what lies above it. */
static void rebase(struct rsp_xsk *x)
{
	x->fs.base = fill_share_base(&x->fs);
	x->fs.above_base = 0;
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++)
		if (x->socks[i])
			x->fs.above_base += fill_share_over_base(&x->fs, x->socks[i]->in_fill);
	if (!x->warned_thin && x->fs.n_socks &&
	    (uint64_t)x->fs.base * x->fs.n_socks > fill_share_pool(&x->fs)) {
		x->warned_thin = true;
		mdr_log(MDR_LOG_WARN, "%u sockets share %u UMEM frames (thread %u's of %u): fill rings are spread thin, raise --umem-frames",
			x->fs.n_socks, x->f_n, x->shard, x->o.umem_frames);
	}
}

/*
 * Top the socket's fill ring up to its target: the base share first (from
 * the pool above the TX reserve; a socket below FILL_FLOOR may use the
 * reserve too), then the boost, only from frames that neither the TX
 * reserve nor any socket's missing base share needs.
 */
static void refill(struct rsp_xsk *x, struct rsp_sock *s)
{
	struct fill_grant g = fill_share_grant(&x->fs, s->in_fill, s->boost);
	uint32_t n = g.base + g.boost, idx, i;

	s->short_of = g.short_of;

	if (n)
		n = xsk_ring_prod__reserve(&s->fill, n, &idx);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&s->fill, idx + i) = frame_alloc(x, s->slot);
	if (n) {
		xsk_ring_prod__submit(&s->fill, n);
		set_in_fill(x, s, s->in_fill + n);
	}
	set_hungry(x, s, s->in_fill < x->fs.base);
	if (n && xsk_ring_prod__needs_wakeup(&s->fill))
		recvfrom(s->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static void reap_completions(struct rsp_xsk *x, struct rsp_sock *s)
{
	uint32_t idx, n, i;

	while ((n = xsk_ring_cons__peek(&s->comp, RSP_BATCH * 4, &idx)) > 0) {
		for (i = 0; i < n; i++)
			frame_free(x, *xsk_ring_cons__comp_addr(&s->comp, idx + i));
		xsk_ring_cons__release(&s->comp, n);
		s->tx_out = s->tx_out > n ? s->tx_out - n : 0;
	}
}

static bool tx_ring_empty(const struct rsp_sock *s)
{
	return __atomic_load_n(s->tx.consumer, __ATOMIC_ACQUIRE) == *s->tx.producer;
}

/* Sockets below their base share (created while the pool was empty)
 * get frames as soon as some are free again. */
static void feed_hungry(struct rsp_xsk *x)
{
	for (uint32_t i = 0; i < MDR_MAX_XSKS && x->n_hungry && x->fs.n_free; i++)
		if (x->socks[i] && x->socks[i]->hungry)
			refill(x, x->socks[i]);
}

/* --------------------------------------------------------------- lookups */

static uint32_t hash_of(uint32_t ifindex, uint32_t queue)
{
	return (ifindex * 2654435761u + queue * 40503u) & (RSP_HASH_BUCKETS - 1);
}

static struct rsp_sock *sock_find(struct rsp_xsk *x, uint32_t ifindex, uint32_t queue)
{
	uint32_t s = x->hash[hash_of(ifindex, queue)];

	while (s != NO_SLOT) {
		struct rsp_sock *k = x->socks[s];
		if (k->ifindex == ifindex && k->queue == queue)
			return k;
		s = k->hnext;
	}
	return NULL;
}

static void hash_del(struct rsp_xsk *x, struct rsp_sock *k)
{
	uint32_t *p = &x->hash[hash_of(k->ifindex, k->queue)];

	while (*p != NO_SLOT) {
		if (*p == k->slot) {
			*p = k->hnext;
			return;
		}
		p = &x->socks[*p]->hnext;
	}
}

static struct rsp_sock *port_sock(const struct rsp_xsk *x, struct rsp_port p)
{
	struct rsp_sock *s;

	if (p.slot >= MDR_MAX_XSKS)
		return NULL;
	s = x->socks[p.slot];
	return s && s->epoch == p.epoch ? s : NULL;
}

static struct rsp_fail *fail_find(struct rsp_xsk *x, uint32_t ifindex, uint32_t queue)
{
	for (uint32_t i = 0; i < x->n_fails; i++)
		if (x->fails[i].ifindex == ifindex && x->fails[i].queue == queue)
			return &x->fails[i];
	return NULL;
}

static void fail_forget(struct rsp_xsk *x, uint32_t ifindex, uint32_t queue)
{
	struct rsp_fail *f = fail_find(x, ifindex, queue);

	if (f)
		*f = x->fails[--x->n_fails];
}

/* Record a failure; true when it is new (worth a log line). */
static bool fail_note(struct rsp_xsk *x, uint32_t ifindex, uint32_t queue, int err)
{
	struct rsp_fail *f = fail_find(x, ifindex, queue);
	bool fresh = !f || f->err != err;

	if (!f) {
		if (x->n_fails >= RSP_MAX_FAILS)
			return true;
		f = &x->fails[x->n_fails++];
		*f = (struct rsp_fail){ .ifindex = ifindex, .queue = queue };
	}
	f->err = err;
	f->seen = true;
	/* Binding beyond the queues a device uses is EINVAL (veth allocates
	 * one per CPU, uses fewer): only a link event or the slowest retry
	 * will find it in use. */
	if (err == -EINVAL && queue > 0)
		f->delay_ns = RSP_RETRY_MAX_NS;
	/* EBUSY: the queue's previous socket (closed by us moments ago) is
	 * still being freed by the kernel, an RCU grace period: try again
	 * soon, not after the backoff meant for a device that refuses. */
	if (err == -EBUSY && f->delay_ns < RSP_RETRY_BUSY_NS * 8) {
		f->delay_ns = f->delay_ns ? f->delay_ns * 2 : RSP_RETRY_BUSY_NS;
		f->next_ns = x->now_ns + f->delay_ns;
		return fresh;
	}
	f->delay_ns = f->delay_ns ? f->delay_ns * 2 : RSP_RETRY_MIN_NS;
	if (f->delay_ns > RSP_RETRY_MAX_NS)
		f->delay_ns = RSP_RETRY_MAX_NS;
	f->next_ns = x->now_ns + f->delay_ns;
	return fresh;
}

/* ------------------------------------------------------ socket lifecycle */

static void add_kernel_stats(struct rsp_xsk_stats *st, const struct rsp_sock *s)
{
	struct xdp_statistics ks;
	socklen_t len = sizeof(ks);

	memset(&ks, 0, sizeof(ks));
	if (getsockopt(s->fd, SOL_XDP, XDP_STATISTICS, &ks, &len))
		return;
	st->rx_dropped += ks.rx_dropped;
	if (len >= offsetof(struct xdp_statistics, rx_fill_ring_empty_descs) +
		   sizeof(ks.rx_fill_ring_empty_descs)) {
		st->rx_ring_full += ks.rx_ring_full;
		st->rx_fill_empty += ks.rx_fill_ring_empty_descs;
	}
}

/* Every frame the socket held (fill ring, RX, TX, completion) back to the
 * pool: call once the kernel let go of its rings (socket closed). */
static void return_frames(struct rsp_xsk *x, struct rsp_sock *s)
{
	for (uint32_t i = 0; i < x->f_n; i++)
		if (x->owner[i] == s->slot)
			frame_free(x, (uint64_t)(x->f_lo + i) * RSP_FRAME_SIZE);
	set_in_fill(x, s, 0);
	s->tx_out = 0;
	s->tx_unkicked = 0;
}

/* Close s's kernel socket, if open (which also empties its XSKMAP slot),
 * and take back every frame it held. */
static void sock_close(struct rsp_xsk *x, struct rsp_sock *s)
{
	if (!s->xsk)
		return;
	add_kernel_stats(&x->st, s);
	epoll_ctl(x->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	pthread_mutex_lock(&x->u->lock);
	xsk_socket__delete(s->xsk);
	pthread_mutex_unlock(&x->u->lock);
	s->xsk = NULL;
	s->fd = -1;
	return_frames(x, s);
}

/* Forget s (its kernel socket already closed) and free it. */
static void unlink_sock(struct rsp_xsk *x, struct rsp_sock *s)
{
	uint32_t slot = s->slot;

	hash_del(x, s);
	if (s->dirty) {
		uint32_t *p = &x->dirty_head;
		while (*p != NO_SLOT && *p != slot)
			p = &x->socks[*p]->dnext;
		if (*p == slot)
			*p = s->dnext;
	}
	set_in_fill(x, s, 0);
	set_hungry(x, s, false);
	x->socks[slot] = NULL;
	x->fs.n_socks--;
	rebase(x);
	free(s);
}

static void sock_destroy(struct rsp_xsk *x, struct rsp_sock *s, const char *why)
{
	struct mdr_xsk_key key = { .ifindex = s->ifindex, .queue = s->queue };
	uint32_t slot = s->slot;

	if (x->down)
		x->down(x->down_ctx, (struct rsp_port){ .slot = slot, .epoch = s->epoch });
	/* Stop the redirect first, then empty the XSKMAP slot. */
	if (bpf_map_delete_elem(x->m.slot_fd, &key) && errno != ENOENT)
		mdr_log(MDR_LOG_WARN, "socket %s queue %u: unregistering slot %u: %s",
			s->ifname, s->queue, slot, strerror(errno));
	bpf_map_delete_elem(x->m.xsks_fd, &slot); /* gone with the socket anyway */
	sock_close(x, s);
	mdr_log(MDR_LOG_INFO, "socket down: %s (ifindex %u) queue %u slot %u (%s)",
		s->ifname, s->ifindex, s->queue, slot, why);
	unlink_sock(x, s);
}

static int free_slot(const struct rsp_xsk *x)
{
	/* Lowest free slot of this shard's (slot % n_shards == shard): keeps
	 * the XSKMAP dense and slots stable. */
	for (uint32_t i = x->shard; i < MDR_MAX_XSKS; i += x->n_shards)
		if (!x->socks[i])
			return (int)i;
	return -1;
}

static void set_busy_poll(int fd)
{
	int one = 1, us = RSP_BUSY_POLL_US, budget = RSP_BUSY_POLL_BUDGET;

	/* Best effort: copy-mode sockets on virtual devices have no NAPI to
	 * poll, and the event loop spins anyway with --busy-poll. */
	setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us));
	setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget));
}

/* Bind a kernel socket for s (its ifname, queue and slot set), watch it
 * and point s's XSKMAP slot at it. 0 or -errno; on error nothing of it is
 * left (s->xsk NULL). */
static int sock_open(struct rsp_xsk *x, struct rsp_sock *s)
{
	struct xsk_socket_config cfg = {
		.rx_size = x->o.ring_size,
		.tx_size = x->o.ring_size,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		/* Ignored by the kernel for a shared UMEM (inherited from
		 * the anchor), stated for clarity. */
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = RSP_EV(RSP_EV_XSK, s->slot) };
	int err;

	/* libxdp sets only some of a ring's cached indexes (a fill ring's
	 * cached_prod and a completion ring's cached_prod/cached_cons not at
	 * all): a socket bound again in the same struct (reclaim) would reuse
	 * the closed socket's, write fill entries where the kernel never reads
	 * them and read the new completion ring as ~4 billion entries. Callers
	 * must hand it zeroed rings. */
	memset(&s->rx, 0, sizeof(s->rx));
	memset(&s->tx, 0, sizeof(s->tx));
	memset(&s->fill, 0, sizeof(s->fill));
	memset(&s->comp, 0, sizeof(s->comp));
	pthread_mutex_lock(&x->u->lock);
	err = xsk_socket__create_shared(&s->xsk, s->ifname, s->queue, x->umem, &s->rx,
					&s->tx, &s->fill, &s->comp, &cfg);
	pthread_mutex_unlock(&x->u->lock);
	if (err) {
		s->xsk = NULL;
		return err;
	}
	s->fd = xsk_socket__fd(s->xsk);
	if (x->o.busy_poll)
		set_busy_poll(s->fd);
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
		err = -errno;
		goto fail;
	}
	refill(x, s);
	if (bpf_map_update_elem(x->m.xsks_fd, &s->slot, &s->fd, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	sock_close(x, s);
	return err;
}

static int sock_create(struct rsp_xsk *x, uint32_t ifindex, const char *ifname,
		       uint32_t queue)
{
	struct mdr_xsk_key key = { .ifindex = ifindex, .queue = queue };
	struct rsp_sock *s;
	int slot, err;
	uint32_t uslot;

	slot = free_slot(x);
	if (slot < 0) {
		err = -ENOSPC;
		goto fail;
	}
	uslot = (uint32_t)slot;
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto fail;
	}
	s->slot = uslot;
	s->ifindex = ifindex;
	s->queue = queue;
	s->hnext = s->dnext = NO_SLOT;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->epoch = ++x->next_epoch;
	x->socks[uslot] = s;
	x->fs.n_socks++;
	rebase(x);
	s->hnext = x->hash[hash_of(ifindex, queue)];
	x->hash[hash_of(ifindex, queue)] = uslot;
	err = sock_open(x, s);
	if (err) {
		unlink_sock(x, s);
		goto fail;
	}
	/* Socket first, then the key XDP looks up: no frame is ever sent
	 * to a slot whose socket is not there yet. */
	if (bpf_map_update_elem(x->m.slot_fd, &key, &uslot, BPF_ANY)) {
		err = -errno;
		sock_destroy(x, s, "registration failed");
		goto fail;
	}
	fail_forget(x, ifindex, queue);
	mdr_log(MDR_LOG_INFO, "socket up: %s (ifindex %u) queue %u slot %u",
		ifname, ifindex, queue, uslot);
	return 0;

fail:
	if (fail_note(x, ifindex, queue, err)) {
		if (err == -EINVAL && queue > 0)
			mdr_log(MDR_LOG_DEBUG, "socket %s (ifindex %u) queue %u: no such queue in use (retrying in %llu s or at a link event)",
				ifname, ifindex, queue, RSP_RETRY_MAX_NS / 1000000000ull);
		else
			mdr_log(MDR_LOG_ERR, "socket %s (ifindex %u) queue %u: %s (retrying with backoff)",
				ifname, ifindex, queue, strerror(-err));
	}
	return err;
}

/*
 * Reclaim: frames in an idle socket's fill ring only come back when
 * traffic uses them, so sockets created while the UMEM had room keep
 * shares larger than today's base while later ones starve. When sockets
 * lack their base share and the pool cannot give it, recreate idle
 * sockets that hold more than it: closing a socket returns every frame it
 * held, and the new one gets the base share. Same slot and epoch, so
 * connections and XDP's (ifindex, queue) -> slot entry stay; a frame
 * arriving in the few microseconds without a socket follows the
 * fallback policy, and TCP retransmits it.
 */
static bool sock_quiet(const struct rsp_xsk *x, const struct rsp_sock *s)
{
	return s->idle_ticks >= RSP_RECLAIM_IDLE_TICKS && !s->tx_out && !s->dirty &&
	       x->pend != s && tx_ring_empty(s) &&
	       __atomic_load_n(s->rx.producer, __ATOMIC_ACQUIRE) == *s->rx.consumer;
}

/* Close s to take back the frames its fill ring holds; reopen_all() binds
 * it again, same slot and epoch. The XSKMAP entry goes first: while it
 * holds the old socket, the kernel keeps it bound and a new bind to the
 * queue fails with EBUSY. Until the new socket is in the slot, XDP falls
 * back for this (idle) queue. */
static void recycle_close(struct rsp_xsk *x, struct rsp_sock *s)
{
	bpf_map_delete_elem(x->m.xsks_fd, &s->slot);
	sock_close(x, s);
	s->boost = 0;
	s->short_of = 0;
	s->fill_empty_seen = 0; /* the new socket's kernel counters start at 0 */
	s->rx_period = 0;
}

/* Bind the sockets recycle_close() closed. The kernel frees a closed
 * socket's buffer pool after an RCU grace period (about 15 ms here): binds
 * before then fail with EBUSY. Closing them all first and waiting once lets
 * those grace periods overlap. What is still busy after the budget is
 * destroyed; the next sync creates it again. */
static void reopen_all(struct rsp_xsk *x, struct rsp_sock **v, uint32_t n)
{
	uint64_t deadline = mdr_mono_ns() + RSP_REOPEN_BUDGET_NS;
	uint32_t left = n, waits = 0;
	int err;

	for (;;) {
		for (uint32_t i = 0; i < n; i++) {
			if (!v[i] || (err = sock_open(x, v[i])) == -EBUSY)
				continue;
			if (err) {
				mdr_log(MDR_LOG_ERR, "socket %s queue %u: reopening to reclaim frames: %s",
					v[i]->ifname, v[i]->queue, strerror(-err));
				sock_destroy(x, v[i], "reopening failed"); /* the next sync retries */
			}
			v[i] = NULL;
			left--;
		}
		if (!left || mdr_mono_ns() >= deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = RSP_REOPEN_WAIT_NS }, NULL);
		waits++;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		mdr_log(MDR_LOG_ERR, "socket %s queue %u: reopening to reclaim frames: queue still busy after %llu ms",
			v[i]->ifname, v[i]->queue, (unsigned long long)(RSP_REOPEN_BUDGET_NS / 1000000ull));
		sock_destroy(x, v[i], "reopening failed");
	}
	mdr_log(MDR_LOG_DEBUG, "reopened %u sockets after %u waits of %ld us", n - left, waits,
		RSP_REOPEN_WAIT_NS / 1000);
}

/* Boost frames busy sockets were refused because idle rings hold the
 * boost pool (a socket boosted once keeps its frames until traffic uses
 * them): what reclaiming those idle rings would give back. */
static uint32_t boost_short(const struct rsp_xsk *x)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++) {
		const struct rsp_sock *s = x->socks[i];

		if (s && s->short_of && !s->idle_ticks)
			sum += s->short_of;
	}
	return sum;
}

static void reclaim(struct rsp_xsk *x)
{
	struct rsp_sock *closed[RSP_RECLAIM_MAX];
	uint32_t avail, need = 0, got = 0, n = 0, want_boost = boost_short(x);

	if (!x->n_hungry && !want_boost)
		return;
	avail = x->fs.n_free > FILL_TX_RESERVE ? x->fs.n_free - FILL_TX_RESERVE : 0;
	if (x->n_hungry) {
		need = fill_share_deficit(&x->fs);
		if (need > avail)
			/* And room for a few more sockets: taps tend to come
			 * in bursts. */
			need += RSP_RECLAIM_SLACK * x->fs.base - avail;
		else
			need = 0;
	}
	/* A busy socket whose boost the idle rings' hoards block: the frames
	 * they hold above their base share go back to the boost pool. */
	need += want_boost;
	if (!need)
		return;
	/* Largest idle hoards first: fewest sockets reopened. */
	while (got < need && n < RSP_RECLAIM_MAX) {
		struct rsp_sock *best = NULL;

		for (uint32_t i = 0; i < MDR_MAX_XSKS; i++) {
			struct rsp_sock *s = x->socks[i];
			if (s && s->in_fill > x->fs.base && sock_quiet(x, s) &&
			    (!best || s->in_fill > best->in_fill))
				best = s;
		}
		if (!best)
			break;
		got += best->in_fill - x->fs.base;
		if (x->n_hungry) {
			/* A socket waits for frames (a new tap's first SYN is on
			 * its way): give it the largest idle ring whole, now, and
			 * stop there (destroying more would only make more hungry
			 * sockets when the sync binds them again). The idle
			 * socket is bound again by the next sync, as soon as the
			 * kernel has freed its queue (fail_note's EBUSY retry). */
			sock_destroy(x, best, "idle, frames reclaimed");
			n++;
			break;
		}
		recycle_close(x, best);
		closed[n++] = best;
	}
	if (n && !x->n_hungry)
		reopen_all(x, closed, n);
	if (n) {
		mdr_log(MDR_LOG_DEBUG, "reclaimed %u UMEM frames from %u idle sockets for %u sockets below their share and %u boost frames",
			got, n, x->n_hungry, want_boost);
		x->st.reclaimed_frames += got;
		x->st.reopened += n;
		feed_hungry(x);
	}
	if (x->n_hungry && !x->warned_short && !x->fs.above_base &&
	    x->fs.n_free <= FILL_TX_RESERVE) {
		/* No socket holds more than its share: nothing to take back,
		 * only a bigger UMEM helps. */
		x->warned_short = true;
		mdr_log(MDR_LOG_WARN, "%u of %u sockets lack UMEM frames and no idle socket holds spare ones: raise --umem-frames (now %u, %u for thread %u)",
			x->n_hungry, x->fs.n_socks, x->o.umem_frames, x->f_n, x->shard);
	}
}

/* ------------------------------------------------------------ public API */

static void clear_stale_slots(const struct rsp_xsk_maps *m)
{
	struct mdr_xsk_key key, next;
	unsigned n = 0;

	/* A killed responder left its (ifindex, queue) -> slot entries; the
	 * kernel already emptied the XSKMAP slots of its closed sockets. */
	while (!bpf_map_get_next_key(m->slot_fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(m->slot_fd, &key))
			break;
		n++;
	}
	if (n)
		mdr_log(MDR_LOG_INFO, "cleared %u stale socket registrations", n);
}

/* One attempt of rsp_umem_open; busy_quiet: an EBUSY bind of the anchor
 * is not logged (the caller retries). */
static int umem_open_once(struct rsp_umem **out, const struct rsp_xsk_opts *opts,
			  const struct rsp_xsk_maps *maps, uint32_t n_shards, bool busy_quiet)
{
	struct xsk_umem_config ucfg = {
		.fill_size = opts->ring_size,
		.comp_size = opts->ring_size,
		.frame_size = RSP_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config acfg = {
		.rx_size = RSP_ANCHOR_RING,
		.tx_size = RSP_ANCHOR_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	struct rsp_umem *u;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->o = *opts;
	u->m = *maps;
	u->n_shards = n_shards;
	if (pthread_mutex_init(&u->lock, NULL)) {
		free(u);
		return -ENOMEM;
	}
	u->lock_init = true;
	u->area_len = (size_t)opts->umem_frames * RSP_FRAME_SIZE;
	u->area = mmap(NULL, u->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (u->area == MAP_FAILED) {
		u->area = NULL;
		err = -ENOMEM;
		mdr_log(MDR_LOG_ERR, "UMEM of %u frames: out of memory", opts->umem_frames);
		goto fail;
	}
	/* Touch every page once from here: MAP_POPULATE filled the page
	 * tables from the kernel's side, but the first user access of each
	 * page can still fault into the hypervisor on virtualised hosts
	 * (shadow page tables), which the first burst of guests would pay
	 * for, one frame at a time, in the middle of serving. */
	for (size_t off = 0; off < u->area_len; off += (size_t)getpagesize())
		((volatile uint8_t *)u->area)[off] = 0;

	err = xsk_umem__create(&u->umem, u->area, u->area_len, &u->anchor_fill,
			       &u->anchor_comp, &ucfg);
	if (err) {
		mdr_log(MDR_LOG_ERR, "creating the UMEM (%u frames): %s%s",
			opts->umem_frames, strerror(-err),
			err == -EAFNOSUPPORT ? " (kernel feature missing: AF_XDP sockets, "
					       "CONFIG_XDP_SOCKETS=y, Linux 4.18; see mdrctl features)" : "");
		u->umem = NULL;
		goto fail;
	}
	err = xsk_socket__create_shared(&u->anchor, RSP_ANCHOR_IFNAME, 0, u->umem,
					NULL, &u->anchor_tx, &u->anchor_fill,
					&u->anchor_comp, &acfg);
	if (err && !(err == -EBUSY && busy_quiet)) {
		mdr_log(MDR_LOG_ERR, "binding the UMEM's anchor socket to %s: %s%s",
			RSP_ANCHOR_IFNAME, strerror(-err),
			err == -EINVAL || err == -EOPNOTSUPP ?
				" (AF_XDP copy mode with need-wakeup needs Linux 5.4; see mdrctl features)" : "");
	}
	if (err) {
		u->anchor = NULL;
		goto fail;
	}
	clear_stale_slots(maps);
	*out = u;
	return 0;
fail:
	rsp_umem_close(u);
	return err;
}

int rsp_umem_open(struct rsp_umem **out, const struct rsp_xsk_opts *opts,
		  const struct rsp_xsk_maps *maps, uint32_t n_shards)
{
	/* A responder started right after one was killed: the kernel frees
	 * the dead one's sockets (its anchor on lo queue 0 among them) after
	 * a grace period, and binding before then is EBUSY. Retry the whole
	 * open (a failed bind leaves the UMEM's rings set up) for a while. */
	uint64_t deadline = mdr_mono_ns() + RSP_ANCHOR_BUSY_NS;
	unsigned tries = 1;
	int err;

	if (!n_shards || n_shards > RSP_MAX_SHARDS ||
	    opts->umem_frames / n_shards < RSP_MIN_SHARD_FRAMES)
		return -EINVAL;
	while ((err = umem_open_once(out, opts, maps, n_shards,
				     mdr_mono_ns() < deadline)) == -EBUSY &&
	       mdr_mono_ns() < deadline) {
		nanosleep(&(struct timespec){ .tv_nsec = RSP_ANCHOR_BUSY_WAIT_NS }, NULL);
		tries++;
	}
	if (!err && tries > 1)
		mdr_log(MDR_LOG_INFO, "anchor socket bound after %u tries (the previous responder's "
			"sockets were still being freed)", tries);
	return err;
}

void rsp_umem_close(struct rsp_umem *u)
{
	if (!u)
		return;
	if (u->anchor)
		xsk_socket__delete(u->anchor);
	if (u->umem)
		xsk_umem__delete(u->umem);
	if (u->area)
		munmap(u->area, u->area_len);
	if (u->lock_init)
		pthread_mutex_destroy(&u->lock);
	free(u);
}

int rsp_xsk_open(struct rsp_xsk **out, struct rsp_umem *u, uint32_t shard, int epfd,
		 rsp_down_fn down, void *down_ctx)
{
	struct rsp_xsk *x;

	if (shard >= u->n_shards)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->ioctl_fd = -1;
	x->o = u->o;
	x->m = u->m;
	x->u = u;
	x->shard = shard;
	x->n_shards = u->n_shards;
	x->area = u->area;
	x->area_len = u->area_len;
	x->umem = u->umem;
	x->f_n = fill_shard_frames(u->o.umem_frames, u->n_shards, shard, &x->f_lo);
	x->epfd = epfd;
	x->down = down;
	x->down_ctx = down_ctx;
	x->dirty_head = NO_SLOT;
	for (uint32_t i = 0; i < RSP_HASH_BUCKETS; i++)
		x->hash[i] = NO_SLOT;

	x->fails = calloc(RSP_MAX_FAILS, sizeof(*x->fails));
	x->qwatch = calloc(MDR_MAX_IFACES, sizeof(*x->qwatch));
	x->if_keys = calloc(MDR_MAX_IFACES, sizeof(*x->if_keys));
	x->if_vals = calloc(MDR_MAX_IFACES, sizeof(*x->if_vals));
	x->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	x->free_stack = calloc(x->f_n, sizeof(*x->free_stack));
	x->owner = calloc(x->f_n, sizeof(*x->owner));
	if (!x->free_stack || !x->owner || !x->fails || !x->qwatch ||
	    !x->if_keys || !x->if_vals || x->ioctl_fd < 0) {
		mdr_log(MDR_LOG_ERR, "thread %u's %u UMEM frames: out of memory or descriptors",
			shard, x->f_n);
		rsp_xsk_close(x);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < x->f_n; i++) {
		x->owner[i] = NO_OWNER;
		/* Low addresses on top: the first frames used stay hot. */
		x->free_stack[i] = (uint64_t)(x->f_lo + x->f_n - 1 - i) * RSP_FRAME_SIZE;
	}
	x->fs.n_free = x->f_n;
	x->fs.umem_frames = x->f_n;
	x->fs.ring_size = x->o.ring_size;
	x->fs.base = fill_share_base(&x->fs);
	*out = x;
	return 0;
}

void rsp_xsk_close(struct rsp_xsk *x)
{
	if (!x)
		return;
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++)
		if (x->socks[i])
			sock_destroy(x, x->socks[i], "shutdown");
	free(x->free_stack);
	free(x->owner);
	free(x->fails);
	free(x->qwatch);
	free(x->if_keys);
	free(x->if_vals);
	if (x->ioctl_fd >= 0)
		close(x->ioctl_fd);
	free(x);
}

/* The interface's current name in our namespace: false when it is gone
 * (or lives in another namespace). One ioctl, no /sys. */
static bool iface_name(struct rsp_xsk *x, uint32_t ifindex, char name[IF_NAMESIZE])
{
	struct ifreq ifr = { .ifr_ifindex = (int)ifindex };

	if (ioctl(x->ioctl_fd, SIOCGIFNAME, &ifr))
		return false;
	memcpy(name, ifr.ifr_name, IF_NAMESIZE);
	name[IF_NAMESIZE - 1] = '\0';
	return true;
}

/* Snapshot mdr_ifaces into x->if_keys/if_vals: one syscall per
 * MDR_MAX_IFACES entries when the kernel batches, else one per entry.
 * Returns the number of entries, or -errno when the map could not be read
 * whole: a partial snapshot would look like interfaces that went away. */
static int read_ifaces(struct rsp_xsk *x)
{
	uint32_t n = 0, key, next, *pkey = NULL;

	if (!x->no_batch) {
		uint32_t batch, count;
		void *in = NULL;
		int r;

		do {
			count = MDR_MAX_IFACES - n;
			r = bpf_map_lookup_batch(x->m.ifaces_fd, in, &batch, x->if_keys + n,
						 x->if_vals + n, &count, NULL);
			if (r && errno != ENOENT)
				break;
			n += count;
			in = &batch;
		} while (!r && n < MDR_MAX_IFACES);
		if (!r || errno == ENOENT)
			return (int)n;
		if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
			return -errno; /* transient: change nothing, rescan soon */
		x->no_batch = true;
		n = 0;
	}
	while (n < MDR_MAX_IFACES) {
		if (bpf_map_get_next_key(x->m.ifaces_fd, pkey, &next))
			return errno == ENOENT ? (int)n : -errno;
		key = next;
		pkey = &key;
		if (bpf_map_lookup_elem(x->m.ifaces_fd, &key, &x->if_vals[n])) {
			if (errno != ENOENT)
				return -errno;
			continue; /* deleted under us */
		}
		x->if_keys[n++] = key;
	}
	return (int)n;
}

bool rsp_xsk_sync_more(const struct rsp_xsk *x)
{
	return x->sync_more;
}

void rsp_xsk_retry_now(struct rsp_xsk *x, uint32_t ifindex)
{
	for (uint32_t i = 0; i < x->n_fails; i++)
		if (!ifindex || x->fails[i].ifindex == ifindex) {
			x->fails[i].next_ns = 0;
			x->fails[i].delay_ns = 0;
		}
	for (uint32_t i = 0; i < x->n_qwatch; i++)
		if (!ifindex || x->qwatch[i].ifindex == ifindex) {
			x->qwatch[i].next_ns = 0;
			x->qwatch[i].refresh = true;
		}
}

void rsp_xsk_recheck_queues(struct rsp_xsk *x)
{
	for (uint32_t i = 0; i < x->n_qwatch; i++) {
		x->qwatch[i].next_ns = 0;
		x->qwatch[i].refresh = true;
	}
}

uint64_t rsp_xsk_next_poll(const struct rsp_xsk *x)
{
	uint64_t t = UINT64_MAX;

	for (uint32_t i = 0; i < x->n_qwatch; i++)
		if (x->qwatch[i].next_ns < t)
			t = x->qwatch[i].next_ns;
	return t;
}

/* Combined queues the driver has and uses (ETHTOOL_GCHANNELS): false when
 * it does not say or has no combined queues to come and go (veth counts RX
 * queues, which only an administrator changes). A tap with no queue
 * attached yet uses 0. */
static bool combined_queues(struct rsp_xsk *x, const char *name, uint32_t *max, uint32_t *used)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(x->ioctl_fd, SIOCETHTOOL, &ifr) || ch.max_combined <= 1)
		return false;
	*max = ch.max_combined;
	*used = ch.combined_count;
	return true;
}

static struct rsp_qwatch *qwatch_find(struct rsp_xsk *x, uint32_t ifindex)
{
	for (uint32_t i = 0; i < x->n_qwatch; i++)
		if (x->qwatch[i].ifindex == ifindex)
			return &x->qwatch[i];
	return NULL;
}

/*
 * Queues of interface ifindex to serve: *nq (what mdr_ifaces lists) is
 * raised to the driver's maximum for a device with combined queues that
 * come and go (a multi-queue tap: mdrd may have recorded it while its VMM
 * had one queue attached), and the returned limit is how many of them are
 * in use now: sockets are created below it. Such a device is watched
 * (polled as struct rsp_qwatch says) while it uses fewer than its maximum.
 * The driver is asked when the interface has no socket yet, when its watch
 * is due, or when recheck. Sockets on queues above the limit stay: a queue
 * a guest disabled may come back.
 */
static uint32_t queue_limit(struct rsp_xsk *x, uint32_t ifindex, const char *name,
			    uint32_t *nq, bool first, bool recheck)
{
	struct rsp_qwatch *w = qwatch_find(x, ifindex);
	uint32_t max, used, lim;

	if (w) {
		w->seen = true;
		if (!recheck && x->now_ns < w->next_ns) {
			*nq = w->max;
			return w->in_use;
		}
	} else if (!first && !(recheck && *nq > 1)) {
		return *nq; /* not watched: nothing to ask */
	}
	if (!combined_queues(x, name, &max, &used)) {
		if (!w)
			return *nq;
		/* No answer this time (renamed?): keep the last one. */
		w->next_ns = x->now_ns + RSP_QWATCH_SLOW_NS;
		*nq = w->max;
		return w->in_use;
	}
	if (max > RSP_MAX_QUEUES)
		max = RSP_MAX_QUEUES;
	/* Queue 0 binds even before a VMM attaches one. */
	lim = used >= max ? max : used ? used : 1;
	if (lim == max && max == *nq) {
		/* All in use, as mdr_ifaces says: nothing to watch. */
		if (w) {
			mdr_log(MDR_LOG_INFO, "port %s (ifindex %u): all %u rx queues in use",
				name, ifindex, max);
			*w = x->qwatch[--x->n_qwatch];
		}
		return max;
	}
	/* Watched also when all are in use but mdr_ifaces lists fewer: later
	 * syncs must keep serving the driver's count, not the map's. */
	if (!w) {
		if (x->n_qwatch == MDR_MAX_IFACES)
			return *nq; /* cannot happen: one per interface */
		w = &x->qwatch[x->n_qwatch++];
		*w = (struct rsp_qwatch){ .ifindex = ifindex, .in_use = lim, .max = max,
					  .seen = true, .refresh = true };
		mdr_log(MDR_LOG_INFO, "port %s (ifindex %u): %u of %u rx queues in use (%u listed by mdrd): following them",
			name, ifindex, used, max, *nq);
	} else if (lim != w->in_use) {
		mdr_log(MDR_LOG_INFO, "port %s (ifindex %u): %u of %u rx queues in use (was %u)",
			name, ifindex, used, max, w->in_use);
		w->in_use = lim;
		w->refresh = true;
		/* Queues that just appeared: earlier bind failures are stale. */
		for (uint32_t i = 0; i < x->n_fails; i++)
			if (x->fails[i].ifindex == ifindex && x->fails[i].queue < lim)
				x->fails[i].next_ns = x->fails[i].delay_ns = 0;
	}
	w->max = max;
	if (w->refresh) {
		w->refresh = false;
		w->fast_until = x->now_ns + RSP_QWATCH_FAST_WINDOW_NS;
	}
	w->next_ns = x->now_ns + (x->now_ns < w->fast_until ? RSP_QWATCH_FAST_NS : RSP_QWATCH_SLOW_NS);
	*nq = max;
	return lim;
}

int rsp_xsk_sync(struct rsp_xsk *x, uint64_t now_ns, bool check_devices)
{
	char name[IF_NAMESIZE];
	uint32_t n, lim, created = 0;
	int changed = 0, r;

	x->now_ns = now_ns;
	x->sync_more = false;
	r = read_ifaces(x);
	if (r < 0) {
		/* A snapshot we could not take whole changes nothing: sockets
		 * stay, the next round (soon: sync_more) reads again. */
		x->st.sync_read_errors++;
		x->sync_more = true;
		mdr_log(MDR_LOG_WARN, "reading %s: %s (sockets kept, retrying)", MDR_MAP_NAME(ifaces),
			strerror(-r));
		return 0;
	}
	n = (uint32_t)r;
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++)
		if (x->socks[i])
			x->socks[i]->seen = false;
	for (uint32_t i = 0; i < x->n_fails; i++)
		x->fails[i].seen = false;
	for (uint32_t i = 0; i < x->n_qwatch; i++)
		x->qwatch[i].seen = false;

	for (uint32_t e = 0; e < n; e++) {
		uint32_t key = x->if_keys[e];
		uint32_t nq = x->if_vals[e].num_rx_queues ? x->if_vals[e].num_rx_queues : 1;
		struct rsp_sock *s0;

		if (fill_shard_of(key, x->n_shards) != x->shard)
			continue; /* another thread's */
		s0 = sock_find(x, key, 0);

		/* Served interfaces are only re-checked when asked (a link
		 * event, or now and then): one ioctl each is cheap, but not
		 * for hundreds of ports every rescan. */
		if (s0 && !check_devices)
			memcpy(name, s0->ifname, IF_NAMESIZE);
		else if (!iface_name(x, key, name))
			continue;
		if (nq > RSP_MAX_QUEUES)
			nq = RSP_MAX_QUEUES;
		lim = queue_limit(x, key, name, &nq, !s0, check_devices);
		for (uint32_t q = 0; q < nq; q++) {
			struct rsp_sock *s = q ? sock_find(x, key, q) : s0;
			struct rsp_fail *f;
			if (s) {
				s->seen = true;
				continue;
			}
			if (q >= lim)
				continue; /* not in use (yet) */
			f = fail_find(x, key, q);
			if (f) {
				f->seen = true;
				if (now_ns < f->next_ns)
					continue; /* backing off */
			}
			if (created >= RSP_SYNC_CREATE_MAX) {
				x->sync_more = true; /* the rest at the next round */
				continue;
			}
			created++;
			if (!sock_create(x, key, name, q)) {
				s = sock_find(x, key, q);
				if (s)
					s->seen = true;
				changed++;
			}
		}
	}
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++)
		if (x->socks[i] && !x->socks[i]->seen) {
			sock_destroy(x, x->socks[i], "interface gone");
			changed++;
		}
	/* Failures and watches of interfaces that are gone are forgotten. */
	for (uint32_t i = 0; i < x->n_fails;)
		if (!x->fails[i].seen)
			x->fails[i] = x->fails[--x->n_fails];
		else
			i++;
	for (uint32_t i = 0; i < x->n_qwatch;)
		if (!x->qwatch[i].seen)
			x->qwatch[i] = x->qwatch[--x->n_qwatch];
		else
			i++;
	/* New sockets the pool could not fill: serve them now, not at the
	 * next tick (the guest's first SYN is on its way). */
	if (changed)
		reclaim(x);
	return changed;
}

void rsp_xsk_sock_error(struct rsp_xsk *x, uint32_t slot)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (slot >= MDR_MAX_XSKS || !x->socks[slot])
		return;
	getsockopt(x->socks[slot]->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	sock_destroy(x, x->socks[slot], err ? strerror(err) : "socket error");
}

static void mark_dirty(struct rsp_xsk *x, struct rsp_sock *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	s->dnext = x->dirty_head;
	x->dirty_head = s->slot;
}

unsigned rsp_xsk_rx(struct rsp_xsk *x, uint32_t slot, rsp_rx_fn fn, void *ctx)
{
	struct rsp_sock *s = slot < MDR_MAX_XSKS ? x->socks[slot] : NULL;
	uint32_t idx, n, i, left, target;
	uint64_t addrs[RSP_BATCH];

	if (!s)
		return 0;
	n = xsk_ring_cons__peek(&s->rx, RSP_BATCH, &idx);
	if (!n)
		return 0;
	/* These n frames left the kernel's hands: refill the fill ring now,
	 * from the pool, not after the batch was handled (frames arriving
	 * meanwhile would find it empty and be lost). */
	left = s->in_fill > n ? s->in_fill - n : 0;
	set_in_fill(x, s, left);
	s->rx_period += n;
	s->idle_ticks = 0;
	/* This batch used a large part of the ring, or was a full batch
	 * (more may be waiting): the ring may run dry before the next round.
	 * Boost the socket's fill target to the whole ring at once: ramping
	 * up step by step loses frames (a TCP retransmission each) on the
	 * way. The frames come from the bounded boost pool. */
	target = x->fs.base + s->boost;
	if ((n == RSP_BATCH || n * RSP_BOOST_FRAC >= target) && target < x->o.ring_size)
		s->boost = x->o.ring_size - x->fs.base;
	refill(x, s);
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + i);
		uint64_t off = d->addr % RSP_FRAME_SIZE;
		struct rsp_rx r = {
			.port = { .slot = slot, .epoch = s->epoch },
			.ifindex = s->ifindex,
			.queue = s->queue,
		};
		int err;

		addrs[i] = d->addr;
		if (d->addr >= x->area_len || off + d->len > RSP_FRAME_SIZE)
			continue; /* cannot happen with an honest kernel */
		x->st.rx_frames++;
		err = pkt_tag_take((const uint8_t *)x->area + d->addr, d->len, s->ifindex, &r.tag);
		if (err) {
			x->st.rx_untagged++;
			mdr_log(MDR_LOG_DEBUG, "ifindex %u queue %u: dropped frame: %s",
				s->ifindex, s->queue, pkt_tag_strerror(err));
			continue;
		}
		r.frame = (const uint8_t *)x->area + d->addr + sizeof(r.tag);
		r.len = r.tag.frame_len;
		fn(ctx, &r);
		/* fn may have torn this socket down (it must not, but be safe) */
		if (x->socks[slot] != s)
			return i + 1;
	}
	xsk_ring_cons__release(&s->rx, n);
	for (i = 0; i < n; i++)
		frame_free(x, addrs[i]);
	return n;
}

/* Make the kernel transmit what the TX ring holds. Copy mode transmits
 * inside sendto, a bounded budget per call (EAGAIN: call again). */
static void kick(struct rsp_xsk *x, struct rsp_sock *s)
{
	for (int round = 0; round < RSP_KICK_ROUNDS; round++) {
		reap_completions(x, s);
		if (tx_ring_empty(s) || !xsk_ring_prod__needs_wakeup(&s->tx))
			break;
		if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EBUSY && errno != EINTR) {
			/* ENOBUFS: out of skbs, retried at the next flush */
			if (errno != ENOBUFS)
				x->st.kick_errors++;
			break;
		}
	}
	s->tx_unkicked = 0;
	reap_completions(x, s);
}

uint8_t *rsp_xsk_tx_reserve(struct rsp_xsk *x, struct rsp_port port)
{
	struct rsp_sock *s = port_sock(x, port);
	uint32_t idx;
	uint64_t a;

	if (!s || x->pend)
		goto drop;
	if (!xsk_ring_prod__reserve(&s->tx, 1, &idx)) {
		kick(x, s); /* copy mode frees ring entries synchronously */
		if (!xsk_ring_prod__reserve(&s->tx, 1, &idx)) {
			x->st.tx_ring_full++;
			goto drop;
		}
	}
	a = frame_alloc(x, s->slot);
	if (a == UINT64_MAX) {
		reap_completions(x, s);
		a = frame_alloc(x, s->slot);
	}
	if (a == UINT64_MAX) {
		/* give the reserved entry back: nothing was written yet */
		s->tx.cached_prod--;
		x->st.tx_no_frame++;
		goto drop;
	}
	x->pend = s;
	x->pend_idx = idx;
	x->pend_addr = a;
	return (uint8_t *)x->area + a;
drop:
	x->st.tx_dropped++;
	return NULL;
}

int rsp_xsk_tx_commit(struct rsp_xsk *x, uint32_t len)
{
	struct rsp_sock *s = x->pend;

	if (!s)
		return -1;
	x->pend = NULL;
	if (!len || len > RSP_FRAME_SIZE) {
		/* Cancelled: nothing was published, undo the reservation. */
		s->tx.cached_prod--;
		frame_free(x, x->pend_addr);
		if (len)
			x->st.tx_dropped++;
		return len ? -1 : 0;
	}
	*xsk_ring_prod__tx_desc(&s->tx, x->pend_idx) =
		(struct xdp_desc){ .addr = x->pend_addr, .len = len };
	xsk_ring_prod__submit(&s->tx, 1);
	s->tx_out++;
	s->idle_ticks = 0;
	x->st.tx_frames++;
	if (++s->tx_unkicked >= RSP_BATCH)
		kick(x, s);
	else
		mark_dirty(x, s);
	return 0;
}

void rsp_xsk_tick(struct rsp_xsk *x)
{
	/* A socket that received less than its fill target in a whole
	 * period is not busy any more: halve its boost. The frames above
	 * the new target stay in its ring until traffic uses them. */
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++) {
		struct rsp_sock *s = x->socks[i];
		struct rsp_xsk_stats ks = { 0 };

		if (!s)
			continue;
		/* Frames lost for want of a fill frame: full boost at once. */
		add_kernel_stats(&ks, s);
		if (ks.rx_fill_empty != s->fill_empty_seen) {
			mdr_log(MDR_LOG_DEBUG, "socket %s queue %u: %llu frames lost without a fill frame (fill %u, base %u, boost %u, %u frames in the last period)",
				s->ifname, s->queue,
				(unsigned long long)(ks.rx_fill_empty - s->fill_empty_seen),
				s->in_fill, x->fs.base, s->boost, s->rx_period);
			s->fill_empty_seen = ks.rx_fill_empty;
			s->boost = x->o.ring_size - x->fs.base;
		} else if (s->boost && s->rx_period < x->fs.base + s->boost) {
			s->boost /= 2;
		}
		if (s->rx_period || s->tx_out)
			s->idle_ticks = 0;
		else if (s->idle_ticks < UINT32_MAX)
			s->idle_ticks++;
		s->rx_period = 0;
	}
	if (x->n_hungry)
		feed_hungry(x);
	reclaim(x);
}

void rsp_xsk_flush(struct rsp_xsk *x)
{
	uint32_t slot = x->dirty_head;

	x->dirty_head = NO_SLOT;
	while (slot != NO_SLOT) {
		struct rsp_sock *s = x->socks[slot];
		slot = s->dnext;
		s->dirty = false;
		s->dnext = NO_SLOT;
		kick(x, s);
		/* Still sending or awaiting completions: look again next round. */
		if (s->tx_out || !tx_ring_empty(s))
			mark_dirty(x, s);
		refill(x, s);
	}
	if (x->n_hungry && x->fs.n_free > FILL_TX_RESERVE)
		feed_hungry(x);
}

const char *rsp_xsk_port_name(const struct rsp_xsk *x, struct rsp_port port,
			      char *buf, unsigned len)
{
	const struct rsp_sock *s = port_sock(x, port);

	if (s)
		snprintf(buf, len, "%s queue %u", s->ifname, s->queue);
	else
		snprintf(buf, len, "slot %u (gone)", port.slot);
	return buf;
}

void rsp_xsk_get_stats(const struct rsp_xsk *x, struct rsp_xsk_stats *st)
{
	*st = x->st;
	for (uint32_t i = 0; i < MDR_MAX_XSKS; i++)
		if (x->socks[i])
			add_kernel_stats(st, x->socks[i]);
	st->sockets = x->fs.n_socks;
	st->free_frames = x->fs.n_free;
}

void rsp_xsk_stats_add(struct rsp_xsk_stats *to, const struct rsp_xsk_stats *st)
{
	to->rx_frames += st->rx_frames;
	to->rx_untagged += st->rx_untagged;
	to->sync_read_errors += st->sync_read_errors;
	to->tx_frames += st->tx_frames;
	to->tx_dropped += st->tx_dropped;
	to->tx_no_frame += st->tx_no_frame;
	to->tx_ring_full += st->tx_ring_full;
	to->kick_errors += st->kick_errors;
	to->rx_fill_empty += st->rx_fill_empty;
	to->rx_ring_full += st->rx_ring_full;
	to->rx_dropped += st->rx_dropped;
	to->reclaimed_frames += st->reclaimed_frames;
	to->reopened += st->reopened;
	to->sockets += st->sockets;
	to->free_frames += st->free_frames;
}
