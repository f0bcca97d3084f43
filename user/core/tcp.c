/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tcp: the responder's minimal TCP engine (see tcp.h for the behaviour).
 *
 * Layout: connections live in a hash table keyed by (instance, tuple), in
 * a global LRU list and their instance's LRU list (idle eviction), and in a
 * min-heap by their next deadline (tcp_next_deadline in O(1)). TIME_WAIT
 * records are separate, small, in their own hash table and a FIFO (they all
 * live equally long, so the FIFO is also expiry order). */
#include "tcp.h"
#include "cookie.h"
#include "hash.h"
#include "list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TCP_EVICT_MIN_IDLE_NS 1000000000ull /* never evict a connection that
                                               spoke within the last second */
#define TCP_EVICT_SCAN 8          /* LRU entries examined per eviction */
#define TCP_TTL_RUNS_MAX 8        /* TTL changes pending in a send buffer:
                                     replies alternate between at most two */
#define TCP_SNDBUF_KEEP 4096      /* a drained buffer larger than this is freed */
#define TCP_SNDBUF_MIN 2048       /* first allocation */
#define TCP_MIN_RTO_NS 1000000ull /* 1 ms floor so timers always progress */
#define TCP_DUPACK_THRESH 3       /* RFC 5681 fast retransmit */
#define TCP_OLD_ACK_SLACK 0x20000u /* ACKs this far below SND.UNA are bogus */
#define TCP_MIN_BUCKETS 64
#define TCP_NS 1000000000ull      /* nanoseconds per second */
#define TCP_BUDGET_REFRESH_NS TCP_NS /* ops->budget asked at most this
                                       often per instance */
#define TCP_OUT_BURST_NS 100000000ull /* bucket depth: 100 ms of budget */
#define TCP_OUT_BURST_MIN_FRAMES 64u  /* depth floor: a whole 64 KiB reply */
#define TCP_OUT_BURST_MIN_BYTES (TCP_SNDBUF_MAX) /* depth floor: a whole send
                                                    buffer, > any segment */
#define TCP_REQ_BURST_NS 250000000ull /* request bucket depth: 250 ms of budget */
#define TCP_REQ_BURST_MIN 64u     /* depth floor: a whole cloud-init crawl
                                     (~30-60 requests) at once */

_Static_assert(TCP_MSS_MIN == 536, "the cookie MSS table starts at TCP_MSS_MIN");
_Static_assert(TCP_KEY_LEN == MDR_COOKIE_KEY_LEN, "the engine's key is the cookie key");

/* ---- small helpers ---------------------------------------------------- */

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* The connection key; memset before filling so it hashes byte-exact. */
struct tcp_key {
	uint32_t inst;
	uint8_t family;
	uint8_t pad[3];
	uint8_t local[16];
	uint8_t remote[16];
	uint16_t lport, rport;
};

struct ttl_run {
	uint32_t end; /* sequence number after the run's last byte */
	uint8_t ttl;
};

enum conn_state { ST_SYN_RCVD, ST_SYNCED, ST_DEAD };

struct tcp_conn {
	struct tcp_engine *e;
	struct tcp_key key;
	struct tcp_conn *hnext;       /* hash chain */
	struct list lru;              /* global, by last segment received */
	struct list ilru;             /* the instance's, same order */
	struct tcp_inst *inst;
	uint32_t hidx;                /* position in the deadline heap */
	uint64_t deadline;
	enum conn_state state;
	bool opened;                  /* on_open ran: on_close owed */
	bool fin_queued;              /* the app closed: FIN after the data */
	bool fin_acked;
	bool peer_fin;
	bool peer_closed_first;       /* no TIME_WAIT for the passive closer */
	bool want_writable;
	bool ack_pending;
	bool doomed;                  /* destroy when the callback returns */
	bool held;                    /* the app holds a request (long-poll):
	                                 no idle timeout, never evicted */
	enum tcp_close_reason doom_reason;
	int cb_depth;
	uint16_t mss;                 /* send MSS */
	uint8_t dupacks;
	uint8_t retries;              /* RTO expiries in a row */
	uint8_t probes;               /* zero-window probes since data last
	                                 went out */
	uint8_t nruns;
	struct ttl_run runs[TCP_TTL_RUNS_MAX];
	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_right, snd_wl1, snd_wl2;
	uint32_t fin_seq;
	uint8_t *sbuf;
	uint32_t scap, soff, slen;    /* bytes from snd_una at sbuf + soff */
	uint32_t cwnd;                /* bytes that may be in flight (from
	                                 snd_una); 0 = the initial window */
	/* receive side */
	uint32_t irs, rcv_nxt;
	/* timers */
	uint64_t last_rx;
	uint64_t rto_cur, rto_at, persist_at;
	uint64_t throttle_at;         /* held back by the instance's budget */
	uint64_t req_at;              /* the app waits for request credit */
	void *app;
	struct tcp_conn_stats st;
	size_t route_len;
	uint8_t route[TCP_ROUTE_MAX];
};

/* Per-instance state. It outlives the instance's last connection and
 * TIME_WAIT record until its output bucket is full again (tcp_timers), so
 * closing everything does not refill the budget. */
struct tcp_inst {
	uint32_t id;
	uint32_t n;                   /* connections */
	uint32_t tw_n;                /* TIME_WAIT records */
	struct list conns;            /* ilru, oldest first */
	struct list tws;              /* its TIME_WAIT records, oldest first */
	struct list all;              /* e->inst_all */
	struct list idle;             /* e->inst_idle while n == tw_n == 0 */
	struct tcp_inst *hnext;
	struct tcp_inst *kick_next;   /* e->kick list */
	bool kick_pending;
	bool want_space;              /* a tcp_conn_send failed for it */
	uint64_t queued;              /* send-buffer bytes of its connections */
	/* output budget: credits in units x 1e9 (frame-ns, byte-ns) */
	uint32_t fps;
	uint64_t bps;
	uint64_t f_credit, b_credit, f_burst, b_burst;
	/* request budget (0 = unlimited): credit in requests x 1e9 */
	uint32_t rps;
	uint64_t r_credit, r_burst;
	uint64_t b_last;              /* clock of the last refill */
	uint64_t budget_at;           /* last ops->budget call */
	bool budget_known;
};

struct tcp_tw {
	struct tcp_key key;
	struct tcp_tw *hnext;
	struct tcp_inst *inst;
	struct list ilist;            /* inst->tws */
	struct list fifo;
	uint64_t expires;
	uint32_t snd_nxt, rcv_nxt;
	size_t route_len;
	uint8_t route[TCP_ROUTE_MAX];
};

struct tcp_engine {
	struct tcp_cfg cfg;
	struct tcp_ops ops;
	void *opaque;
	uint8_t hkey[TCP_KEY_LEN];    /* table hashing, derived from cfg.key */
	uint64_t now;                 /* latest clock seen */
	uint32_t nbuckets;            /* power of two */
	struct tcp_conn **conns;
	struct tcp_inst **insts;
	struct tcp_tw **tws;
	struct list lru;
	struct list twfifo;
	struct list inst_all;
	struct list inst_idle;        /* oldest first */
	struct tcp_inst *kick;        /* instances with freed send space */
	uint32_t n_conn_insts;        /* instances with connections */
	uint32_t n_tw_insts;          /* instances with TIME_WAIT records */
	struct tcp_conn **heap;
	uint32_t nheap;
	struct tcp_stats st;
};

/* ---- counters, emit ---------------------------------------------------- */

static void count(struct tcp_engine *e, uint32_t inst, enum tcp_counter w)
{
	e->st.cnt[w]++;
	if (e->ops.count)
		e->ops.count(e->opaque, inst, w);
}

static void emit_raw(struct tcp_engine *e, struct tcp_conn *c, uint32_t inst,
		     const void *route, size_t route_len, uint32_t seq,
		     uint32_t ack, uint8_t flags, uint16_t mss, uint8_t ttl,
		     const uint8_t *payload, size_t len)
{
	struct tcp_seg_out o = {
		.conn = c, .instance_id = inst, .route = route,
		.route_len = route_len, .seq = seq, .ack = ack, .flags = flags,
		.win = (flags & PKT_TCP_RST) ? 0 : e->cfg.rcv_wnd, .mss = mss,
		.ttl = ttl ? ttl : e->cfg.ttl, .payload = payload, .len = len,
	};

	if (flags & PKT_TCP_RST)
		count(e, inst, TCP_CNT_RESETS_SENT);
	e->ops.emit(e->opaque, &o);
}

static void emit_conn(struct tcp_conn *c, uint32_t seq, uint8_t flags,
		      uint16_t mss, uint8_t ttl, const uint8_t *payload,
		      size_t len)
{
	if (flags & PKT_TCP_ACK)
		c->ack_pending = false;
	emit_raw(c->e, c, c->key.inst, c->route, c->route_len, seq,
		 (flags & PKT_TCP_ACK) ? c->rcv_nxt : 0, flags, mss, ttl,
		 payload, len);
}

/* RST for a segment that matches nothing (RFC 9293 3.10.7.1). */
static void emit_reset_for(struct tcp_engine *e, const struct tcp_seg_in *in)
{
	uint32_t seglen = (uint32_t)in->len + !!(in->flags & PKT_TCP_SYN) +
			  !!(in->flags & PKT_TCP_FIN);

	if (in->flags & PKT_TCP_RST)
		return;
	if (in->flags & PKT_TCP_ACK)
		emit_raw(e, NULL, in->instance_id, in->route, in->route_len,
			 in->ack, 0, PKT_TCP_RST, 0, 0, NULL, 0);
	else
		emit_raw(e, NULL, in->instance_id, in->route, in->route_len,
			 0, in->seq + seglen, PKT_TCP_RST | PKT_TCP_ACK, 0, 0,
			 NULL, 0);
}

/* ---- hashing and tables ------------------------------------------------ */

static void key_from_in(struct tcp_key *k, const struct tcp_seg_in *in)
{
	memset(k, 0, sizeof(*k));
	k->inst = in->instance_id;
	k->family = in->family;
	memcpy(k->local, in->local, in->family == PKT_AF_INET ? 4 : 16);
	memcpy(k->remote, in->remote, in->family == PKT_AF_INET ? 4 : 16);
	k->lport = in->lport;
	k->rport = in->rport;
}

static uint32_t key_bucket(const struct tcp_engine *e, const struct tcp_key *k)
{
	return (uint32_t)mdr_siphash(e->hkey, k, sizeof(*k)) &
	       (e->nbuckets - 1);
}

static uint32_t inst_bucket(const struct tcp_engine *e, uint32_t id)
{
	return (uint32_t)mdr_siphash(e->hkey, &id, sizeof(id)) &
	       (e->nbuckets - 1);
}

static struct tcp_conn *conn_find(struct tcp_engine *e, const struct tcp_key *k)
{
	struct tcp_conn *c = e->conns[key_bucket(e, k)];

	while (c && memcmp(&c->key, k, sizeof(*k)))
		c = c->hnext;
	return c;
}

static struct tcp_tw *tw_find(struct tcp_engine *e, const struct tcp_key *k)
{
	struct tcp_tw *t = e->tws[key_bucket(e, k)];

	while (t && memcmp(&t->key, k, sizeof(*k)))
		t = t->hnext;
	return t;
}

static struct tcp_inst *inst_find(struct tcp_engine *e, uint32_t id)
{
	struct tcp_inst *i = e->insts[inst_bucket(e, id)];

	while (i && i->id != id)
		i = i->hnext;
	return i;
}

static uint32_t inst_limit(struct tcp_engine *e, uint32_t id)
{
	uint32_t n = e->ops.max_conns ? e->ops.max_conns(e->opaque, id) : 0;

	return n ? n : e->cfg.max_conns_per_inst;
}

/* ---- instances: budget, fair share ------------------------------------ */

static void bucket_refill(struct tcp_inst *i, uint64_t now)
{
	uint64_t el = now > i->b_last ? now - i->b_last : 0;
	unsigned __int128 f = (unsigned __int128)el * i->fps + i->f_credit;
	unsigned __int128 b = (unsigned __int128)el * i->bps + i->b_credit;
	unsigned __int128 r = (unsigned __int128)el * i->rps + i->r_credit;

	i->f_credit = f > i->f_burst ? i->f_burst : (uint64_t)f;
	i->b_credit = b > i->b_burst ? i->b_burst : (uint64_t)b;
	i->r_credit = r > i->r_burst ? i->r_burst : (uint64_t)r;
	if (now > i->b_last)
		i->b_last = now;
}

/* Set the budget (0 = cfg default), keeping the credit within the new
 * depth; a new instance starts with a full bucket. */
static void bucket_set(struct tcp_engine *e, struct tcp_inst *i,
		       uint32_t fps, uint64_t bps, uint32_t rps)
{
	fps = fps ? fps : e->cfg.out_fps;
	bps = bps ? bps : e->cfg.out_bps;
	if (fps > TCP_OUT_FPS_MAX)
		fps = TCP_OUT_FPS_MAX;
	if (bps > TCP_OUT_BPS_MAX)
		bps = TCP_OUT_BPS_MAX;
	if (rps > TCP_REQ_RPS_MAX)
		rps = TCP_REQ_RPS_MAX;
	bucket_refill(i, e->now);
	i->fps = fps;
	i->bps = bps;
	i->rps = rps;
	i->r_burst = (uint64_t)rps * TCP_REQ_BURST_NS;
	if (rps && i->r_burst < TCP_REQ_BURST_MIN * TCP_NS)
		i->r_burst = TCP_REQ_BURST_MIN * TCP_NS;
	i->f_burst = fps * TCP_OUT_BURST_NS; /* frames x 1e9 */
	if (i->f_burst < TCP_OUT_BURST_MIN_FRAMES * TCP_NS)
		i->f_burst = TCP_OUT_BURST_MIN_FRAMES * TCP_NS;
	i->b_burst = bps * TCP_OUT_BURST_NS;
	if (i->b_burst < TCP_OUT_BURST_MIN_BYTES * TCP_NS)
		i->b_burst = TCP_OUT_BURST_MIN_BYTES * TCP_NS;
	if (!i->budget_known) {
		i->f_credit = i->f_burst;
		i->b_credit = i->b_burst;
		i->r_credit = i->r_burst;
		i->budget_known = true;
	} else {
		if (i->f_credit > i->f_burst)
			i->f_credit = i->f_burst;
		if (i->b_credit > i->b_burst)
			i->b_credit = i->b_burst;
		if (i->r_credit > i->r_burst)
			i->r_credit = i->r_burst;
	}
	i->budget_at = e->now;
}

static void budget_refresh(struct tcp_engine *e, struct tcp_inst *i)
{
	struct tcp_budget b = {0};

	if (i->budget_known && e->now - i->budget_at < TCP_BUDGET_REFRESH_NS)
		return;
	if (e->ops.budget)
		e->ops.budget(e->opaque, i->id, &b);
	bucket_set(e, i, b.frames_per_s, b.bytes_per_s, b.requests_per_s);
}

/* One frame of len payload bytes within the budget? Else *wait_ns until
 * it would be. */
static bool bucket_take(struct tcp_inst *i, uint64_t now, uint32_t len,
			uint64_t *wait_ns)
{
	uint64_t need_b = (uint64_t)len * TCP_NS, wf = 0, wb = 0;

	bucket_refill(i, now);
	if (i->f_credit >= TCP_NS && i->b_credit >= need_b) {
		i->f_credit -= TCP_NS;
		i->b_credit -= need_b;
		return true;
	}
	if (i->f_credit < TCP_NS)
		wf = (TCP_NS - i->f_credit + i->fps - 1) / i->fps;
	if (i->b_credit < need_b)
		wb = (need_b - i->b_credit + i->bps - 1) / i->bps;
	*wait_ns = (wf > wb ? wf : wb) + 1;
	return false;
}

static bool bucket_full(struct tcp_inst *i, uint64_t now)
{
	bucket_refill(i, now);
	return i->f_credit >= i->f_burst && i->b_credit >= i->b_burst &&
	       i->r_credit >= i->r_burst;
}

static struct tcp_inst *inst_get(struct tcp_engine *e, uint32_t id)
{
	struct tcp_inst *i = inst_find(e, id);
	uint32_t b;

	if (i)
		return i;
	i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	i->id = id;
	list_init(&i->conns);
	list_init(&i->tws);
	list_init(&i->idle);
	list_add_tail(&e->inst_all, &i->all);
	b = inst_bucket(e, id);
	i->hnext = e->insts[b];
	e->insts[b] = i;
	i->b_last = e->now;
	list_add_tail(&e->inst_idle, &i->idle);
	return i;
}

static void inst_free(struct tcp_engine *e, struct tcp_inst *i)
{
	struct tcp_inst **ip = &e->insts[inst_bucket(e, i->id)];

	while (*ip != i)
		ip = &(*ip)->hnext;
	*ip = i->hnext;
	list_del(&i->all);
	list_del(&i->idle);
	free(i);
}

/* A connection or TIME_WAIT record was added to i (n or tw_n went up). */
static void inst_hold(struct tcp_engine *e, struct tcp_inst *i, bool conn)
{
	if (conn ? i->n++ == 0 : i->tw_n++ == 0)
		(*(conn ? &e->n_conn_insts : &e->n_tw_insts))++;
	list_del(&i->idle);
}

/* One was removed: an unused instance waits in inst_idle to be freed. */
static void inst_release(struct tcp_engine *e, struct tcp_inst *i, bool conn)
{
	if (conn ? --i->n == 0 : --i->tw_n == 0)
		(*(conn ? &e->n_conn_insts : &e->n_tw_insts))--;
	if (i->n == 0 && i->tw_n == 0 && list_empty(&i->idle))
		list_add_tail(&e->inst_idle, &i->idle);
}

/* The instance's fair share of a table of max entries shared by `active`
 * instances (counting the asking one, which may not hold any yet). */
static uint32_t fair_share(uint32_t max, uint32_t active, bool asker_holds)
{
	uint32_t n = active + !asker_holds;

	n = max / (n ? n : 1);
	return n ? n : 1;
}

/* The instance holding the most connections (conn) or TIME_WAIT records. */
static struct tcp_inst *inst_biggest(struct tcp_engine *e, bool conn)
{
	struct tcp_inst *best = NULL;

	for (struct list *l = e->inst_all.next; l != &e->inst_all; l = l->next) {
		struct tcp_inst *i = container_of(l, struct tcp_inst, all);

		if (!best || (conn ? i->n > best->n : i->tw_n > best->tw_n))
			best = i;
	}
	return best;
}

static void tw_free(struct tcp_engine *e, struct tcp_tw *t)
{
	struct tcp_tw **pp = &e->tws[key_bucket(e, &t->key)];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	list_del(&t->fifo);
	list_del(&t->ilist);
	inst_release(e, t->inst, false);
	e->st.time_wait--;
	free(t);
}

/* ---- deadline heap ----------------------------------------------------- */

static void heap_swap(struct tcp_engine *e, uint32_t a, uint32_t b)
{
	struct tcp_conn *t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->hidx = a;
	e->heap[b]->hidx = b;
}

static void heap_fix(struct tcp_engine *e, uint32_t i)
{
	while (i > 0 && e->heap[(i - 1) / 2]->deadline > e->heap[i]->deadline) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->nheap && e->heap[l]->deadline < e->heap[m]->deadline)
			m = l;
		if (r < e->nheap && e->heap[r]->deadline < e->heap[m]->deadline)
			m = r;
		if (m == i)
			break;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_remove(struct tcp_engine *e, struct tcp_conn *c)
{
	uint32_t i = c->hidx;

	e->nheap--;
	if (i != e->nheap) {
		e->heap[i] = e->heap[e->nheap];
		e->heap[i]->hidx = i;
		heap_fix(e, i);
	}
}

static void conn_resched(struct tcp_conn *c)
{
	struct tcp_engine *e = c->e;
	uint64_t d = c->held ? UINT64_MAX : c->last_rx + e->cfg.idle_ns;

	if (c->rto_at)
		d = min64(d, c->rto_at);
	if (c->persist_at)
		d = min64(d, c->persist_at);
	if (c->throttle_at)
		d = min64(d, c->throttle_at);
	if (c->req_at)
		d = min64(d, c->req_at);
	if (d != c->deadline) {
		c->deadline = d;
		heap_fix(e, c->hidx);
	}
}

/* ---- connection lifetime ----------------------------------------------- */

/* n send-buffer bytes of instance i were freed: its connections waiting
 * for room hear of it (run_kicks) when the engine call ends. */
static void inst_space_freed(struct tcp_engine *e, struct tcp_inst *i,
			     uint32_t n)
{
	i->queued -= n;
	if (n && i->want_space && !i->kick_pending) {
		i->kick_pending = true;
		i->kick_next = e->kick;
		e->kick = i;
	}
}

static void conn_unlink_free(struct tcp_engine *e, struct tcp_conn *c)
{
	struct tcp_conn **pp = &e->conns[key_bucket(e, &c->key)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	list_del(&c->lru);
	list_del(&c->ilru);
	heap_remove(e, c);
	inst_space_freed(e, c->inst, c->slen);
	inst_release(e, c->inst, true);
	e->st.conns--;
	free(c->sbuf);
	free(c);
}

/* End a connection: on_close for opened ones, then free. Deferred while a
 * callback on this connection is running. */
static void conn_destroy(struct tcp_conn *c, enum tcp_close_reason why)
{
	struct tcp_engine *e = c->e;

	if (c->cb_depth > 0) {
		if (!c->doomed) {
			c->doomed = true;
			c->doom_reason = why;
		}
		c->state = ST_DEAD;
		return;
	}
	c->state = ST_DEAD;
	if (c->opened) {
		c->opened = false;
		count(e, c->key.inst, TCP_CNT_CLOSED);
		if (e->ops.on_close) {
			c->cb_depth++;
			e->ops.on_close(e->opaque, c, why);
			c->cb_depth--;
		}
	}
	conn_unlink_free(e, c);
}

static void conn_reset(struct tcp_conn *c, enum tcp_close_reason why)
{
	if (c->state == ST_SYNCED)
		emit_conn(c, c->snd_max, PKT_TCP_RST | PKT_TCP_ACK, 0, 0,
			  NULL, 0);
	conn_destroy(c, why);
}

/* The engine works on c: destroys are deferred until conn_leave. */
static void conn_enter(struct tcp_conn *c)
{
	c->cb_depth++;
}

/* Finish a deferred destroy or reschedule. Returns false when c is gone. */
static bool conn_leave(struct tcp_conn *c)
{
	if (--c->cb_depth > 0)
		return true;
	if (c->doomed) {
		c->doomed = false;
		conn_destroy(c, c->doom_reason);
		return false;
	}
	conn_resched(c);
	return true;
}

/* Evict one idle connection of the list (oldest first). */
static bool evict_one(struct tcp_engine *e, struct list *head, bool global)
{
	struct list *n = head->next;

	for (int i = 0; i < TCP_EVICT_SCAN && n != head; i++, n = n->next) {
		struct tcp_conn *c = global ? container_of(n, struct tcp_conn, lru)
					    : container_of(n, struct tcp_conn, ilru);

		if (c->cb_depth > 0 || c->held)
			continue;
		if (c->state == ST_SYN_RCVD) {
			/* Half-open: the ISN is a cookie, its ACK can still
			 * create the connection later. */
			conn_destroy(c, TCP_CLOSE_EVICTED);
			return true;
		}
		if (c->state == ST_SYNCED && !c->fin_queued && c->slen == 0 &&
		    c->snd_max == c->snd_una &&
		    e->now - c->last_rx >= TCP_EVICT_MIN_IDLE_NS) {
			count(e, c->key.inst, TCP_CNT_EVICTED);
			conn_reset(c, TCP_CLOSE_EVICTED);
			return true;
		}
	}
	return false;
}

/* The table is full: evict for instance id. An instance at or over its
 * fair share only gives up its own connections; otherwise the one holding
 * the most, when over its share, gives one up. Only when nobody is over
 * (more instances than table entries) does the oldest idle one go. */
static bool evict_fair(struct tcp_engine *e, uint32_t id)
{
	struct tcp_inst *me = inst_find(e, id), *big;
	bool holds = me && me->n;
	uint32_t share = fair_share(e->cfg.max_conns, e->n_conn_insts, holds);

	if (holds && me->n >= share)
		return evict_one(e, &me->conns, false);
	big = inst_biggest(e, true);
	if (big && big->n > share)
		return evict_one(e, &big->conns, false);
	return evict_one(e, &e->lru, true);
}

/* Room for one more connection of instance id (evicting if needed)?
 * Returns 0, or -1 for the instance limit, -2 for the total limit. */
static int make_room(struct tcp_engine *e, uint32_t id)
{
	uint32_t limit = inst_limit(e, id);
	struct tcp_inst *i;
	int tries = 0;

	/* A loop: the limit may have been lowered below the current count. */
	while ((i = inst_find(e, id)) && i->n >= limit)
		if (++tries > TCP_EVICT_SCAN || !evict_one(e, &i->conns, false))
			return -1;
	if (e->st.conns >= e->cfg.max_conns && !evict_fair(e, id))
		return -2;
	return 0;
}

static struct tcp_conn *conn_new(struct tcp_engine *e, const struct tcp_key *k,
				 const struct tcp_seg_in *in, uint64_t now)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	struct tcp_inst *i;
	uint32_t b;

	if (!c)
		return NULL;
	i = inst_get(e, k->inst);
	if (!i) {
		free(c);
		return NULL;
	}
	budget_refresh(e, i);
	inst_hold(e, i, true);
	c->e = e;
	c->key = *k;
	c->inst = i;
	b = key_bucket(e, k);
	c->hnext = e->conns[b];
	e->conns[b] = c;
	list_add_tail(&e->lru, &c->lru);
	list_add_tail(&i->conns, &c->ilru);
	c->last_rx = now;
	c->rto_cur = e->cfg.rto_ns;
	c->route_len = in->route_len;
	if (in->route_len)
		memcpy(c->route, in->route, in->route_len);
	c->st.opened_ns = now;
	c->deadline = UINT64_MAX;
	c->hidx = e->nheap;
	e->heap[e->nheap++] = c;
	e->st.conns++;
	return c;
}

/* ---- ISN / SYN cookies ------------------------------------------------- */

static void cookie_tuple(const struct tcp_key *k, struct mdr_cookie_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->instance_id = k->inst;
	t->family = k->family;
	memcpy(t->local, k->local, sizeof(t->local));
	memcpy(t->remote, k->remote, sizeof(t->remote));
	t->lport = k->lport;
	t->rport = k->rport;
}

static uint32_t cookie_make(const struct tcp_engine *e, const struct tcp_key *k, uint32_t cisn,
			    uint64_t now, unsigned mss_idx)
{
	struct mdr_cookie_tuple t;

	cookie_tuple(k, &t);
	return mdr_cookie_make(e->cfg.key, &t, cisn, mdr_cookie_slot(now), mss_idx);
}

/* The peer's MSS after the rules of tcp.h (0 = absent = default). */
static uint16_t peer_mss(uint16_t opt)
{
	if (opt == 0)
		return TCP_MSS_DEFAULT;
	return opt < TCP_MSS_MIN ? TCP_MSS_MIN : opt;
}

static uint16_t our_mss(const struct tcp_engine *e, uint8_t family)
{
	uint32_t hdr = (family == PKT_AF_INET6 ? PKT_IPV6_HLEN : PKT_IPV4_HLEN) +
		       PKT_TCP_HLEN;
	uint32_t m = e->cfg.mtu > hdr + TCP_MSS_MIN ? e->cfg.mtu - hdr
						       : TCP_MSS_MIN;

	if (e->cfg.mss_clamp && e->cfg.mss_clamp < m)
		m = e->cfg.mss_clamp < TCP_MSS_MIN ? TCP_MSS_MIN : e->cfg.mss_clamp;
	return (uint16_t)m;
}

/* A valid cookie in this ACK? Returns the MSS it encodes, or 0. */
static uint16_t cookie_check(const struct tcp_engine *e,
			     const struct tcp_key *k,
			     const struct tcp_seg_in *in)
{
	struct mdr_cookie_tuple t;

	cookie_tuple(k, &t);
	return mdr_cookie_check(e->cfg.key, &t, in->seq - 1, in->ack - 1, e->now);
}

/* ---- send buffer ------------------------------------------------------- */

static uint32_t snd_end(const struct tcp_conn *c)
{
	return c->snd_una + c->slen;
}

static uint8_t run_ttl(const struct tcp_conn *c, uint32_t seq, uint32_t *end)
{
	for (unsigned i = 0; i < c->nruns; i++)
		if (seq_lt(seq, c->runs[i].end)) {
			*end = c->runs[i].end;
			return c->runs[i].ttl;
		}
	*end = snd_end(c);
	return c->e->cfg.ttl;
}

static void sbuf_consume(struct tcp_conn *c, uint32_t n)
{
	unsigned k = 0;

	inst_space_freed(c->e, c->inst, n);
	c->soff += n;
	c->slen -= n;
	c->st.bytes_out += n;
	while (k < c->nruns && seq_le(c->runs[k].end, c->snd_una))
		k++;
	if (k) {
		memmove(c->runs, c->runs + k, (c->nruns - k) * sizeof(c->runs[0]));
		c->nruns -= (uint8_t)k;
	}
	if (c->slen == 0) {
		c->soff = 0;
		if (c->scap > TCP_SNDBUF_KEEP) {
			free(c->sbuf);
			c->sbuf = NULL;
			c->scap = 0;
		}
	}
}

/* ---- output ------------------------------------------------------------ */

static void arm_rto(struct tcp_conn *c)
{
	if (!c->rto_at)
		c->rto_at = c->e->now + c->rto_cur;
}

static void emit_syn_ack(struct tcp_conn *c)
{
	c->ack_pending = false;
	emit_raw(c->e, c, c->key.inst, c->route, c->route_len, c->iss,
		 c->rcv_nxt, PKT_TCP_SYN | PKT_TCP_ACK,
		 our_mss(c->e, c->key.family), 0, NULL, 0);
}

static uint32_t init_wnd(const struct tcp_conn *c)
{
	return (uint32_t)TCP_INIT_WND_SEGS * c->mss;
}

/* Send what the peer's window and ours (cwnd) allow, at most max_segs
 * segments (0 = no limit). */
static void conn_output(struct tcp_conn *c, unsigned max_segs)
{
	unsigned sent = 0;
	uint64_t wait;

	if (c->state != ST_SYNCED)
		return;
	if (c->snd_max == c->snd_una && c->cwnd < init_wnd(c))
		c->cwnd = init_wnd(c); /* the initial window: nothing in flight */
	if (c->throttle_at) {
		if (c->e->now < c->throttle_at)
			return; /* over budget: the throttle timer resumes */
		c->throttle_at = 0;
	}
	for (;;) {
		uint32_t seq = c->snd_nxt, end = snd_end(c), run_end, n = 0;
		uint8_t flags = PKT_TCP_ACK, ttl = 0;
		bool fin = false;

		if (max_segs && sent >= max_segs)
			break;
		if (seq_lt(seq, end)) {
			uint32_t room = seq_lt(seq, c->snd_right) ?
						c->snd_right - seq : 0;

			ttl = run_ttl(c, seq, &run_end);
			n = end - seq;
			if (n > c->mss)
				n = c->mss;
			if (n > run_end - seq)
				n = run_end - seq;
			/* Sender SWS avoidance (RFC 9293 3.8.6.2.1): a piece
			 * cut short by the window waits while segments are in
			 * flight, their ACKs open it further. */
			if (n > room && room && c->snd_max != c->snd_una)
				break;
			if (n > room)
				n = room;
			if (n == 0)
				break; /* window closed: persist timer */
			/* Ours: a segment leaves whole within cwnd or waits
			 * for the ACKs of those in flight; the first
			 * unacknowledged one may always go (retransmission). */
			if (seq != c->snd_una && seq - c->snd_una + n > c->cwnd)
				break;
			if (seq + n == end)
				flags |= PKT_TCP_PSH;
		}
		/* FIN rides on the last data or goes alone; it sits at or
		 * before the peer's right edge (or was sent before). */
		if (c->fin_queued && seq + n == c->fin_seq &&
		    (seq_le(c->fin_seq, c->snd_right) ||
		     seq_lt(c->fin_seq, c->snd_max)))
			fin = true;
		if (n == 0 && !fin)
			break;
		if (fin)
			flags |= PKT_TCP_FIN;
		if (!bucket_take(c->inst, c->e->now, n, &wait)) {
			count(c->e, c->key.inst, TCP_CNT_OUT_DEFERRED);
			c->throttle_at = c->e->now + wait;
			break;
		}
		if (n)
			c->probes = 0; /* the window opened */
		if (seq_lt(seq, c->snd_max)) {
			c->st.retransmits++;
			count(c->e, c->key.inst, TCP_CNT_RETRANSMITS);
		}
		emit_conn(c, seq, flags, 0, ttl,
			  n ? c->sbuf + c->soff + (seq - c->snd_una) : NULL, n);
		sent++;
		c->snd_nxt = seq + n + fin;
		if (seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (fin)
			break;
	}
	if (c->snd_max != c->snd_una) {
		arm_rto(c);
		c->persist_at = 0;
	} else if (seq_lt(c->snd_nxt, snd_end(c)) && !c->throttle_at) {
		/* Data waits for a window with nothing in flight: probe. */
		if (!c->persist_at)
			c->persist_at = c->e->now + c->rto_cur;
	} else {
		c->persist_at = 0;
	}
}

static void send_ack(struct tcp_conn *c)
{
	emit_conn(c, c->snd_nxt, PKT_TCP_ACK, 0, 0, NULL, 0);
}

/* ---- callbacks into the app -------------------------------------------- */

static void app_data(struct tcp_conn *c, const uint8_t *d, size_t n)
{
	struct tcp_engine *e = c->e;

	c->cb_depth++;
	e->ops.on_data(e->opaque, c, d, n);
	c->cb_depth--;
}

static void app_open(struct tcp_conn *c)
{
	struct tcp_engine *e = c->e;

	c->opened = true;
	count(e, c->key.inst, TCP_CNT_OPENED);
	if (e->ops.on_open) {
		c->cb_depth++;
		e->ops.on_open(e->opaque, c);
		c->cb_depth--;
	}
}

static void app_writable(struct tcp_conn *c)
{
	struct tcp_engine *e = c->e;

	if (!c->want_writable || c->fin_queued || c->slen >= TCP_SNDBUF_MAX)
		return;
	c->want_writable = false;
	if (e->ops.on_writable) {
		c->cb_depth++;
		e->ops.on_writable(e->opaque, c);
		c->cb_depth--;
	}
}

/* ---- TIME_WAIT ---------------------------------------------------------- */

static void tw_enter(struct tcp_conn *c)
{
	struct tcp_engine *e = c->e;
	struct tcp_tw *t;
	uint32_t b;

	if (e->cfg.time_wait_max == 0)
		goto out;
	if (e->st.time_wait >= e->cfg.time_wait_max) {
		/* Full: an instance at or over its share replaces its own
		 * oldest record, others the biggest holder's oldest. */
		struct tcp_inst *v = c->inst;

		if (v->tw_n < fair_share(e->cfg.time_wait_max, e->n_tw_insts,
					 v->tw_n != 0))
			v = inst_biggest(e, false);
		tw_free(e, container_of(v->tws.next, struct tcp_tw, ilist));
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->key = c->key;
	t->inst = c->inst;
	list_add_tail(&c->inst->tws, &t->ilist);
	inst_hold(e, c->inst, false);
	t->expires = e->now + e->cfg.time_wait_ns;
	t->snd_nxt = c->snd_max;
	t->rcv_nxt = c->rcv_nxt;
	t->route_len = c->route_len;
	if (c->route_len)
		memcpy(t->route, c->route, c->route_len);
	b = key_bucket(e, &t->key);
	t->hnext = e->tws[b];
	e->tws[b] = t;
	list_add_tail(&e->twfifo, &t->fifo);
	e->st.time_wait++;
out:
	conn_destroy(c, TCP_CLOSE_NORMAL);
}

/* A segment for a TIME_WAIT record. Returns true when consumed; false when
 * the record was removed and the segment (a new SYN) must be processed. */
static bool tw_input(struct tcp_engine *e, struct tcp_tw *t,
		     const struct tcp_seg_in *in)
{
	if (in->flags & PKT_TCP_RST) {
		tw_free(e, t);
		return true;
	}
	if ((in->flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN) {
		tw_free(e, t); /* a new connection replaces the record */
		return false;
	}
	/* A new connection whose SYN XDP answered (it never reached us): its
	 * ACK carries a cookie for this 4-tuple; the record gives way. */
	if ((in->flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_ACK && in->ack != t->snd_nxt &&
	    cookie_check(e, &t->key, in)) {
		tw_free(e, t);
		return false;
	}
	if (in->flags & (PKT_TCP_FIN | PKT_TCP_SYN) || in->len)
		emit_raw(e, NULL, t->key.inst, t->route, t->route_len,
			 t->snd_nxt, t->rcv_nxt, PKT_TCP_ACK, 0, 0, NULL, 0);
	return true;
}

/* ---- input on an existing connection ------------------------------------ */

static bool seq_acceptable(const struct tcp_conn *c, uint32_t seq,
			   uint32_t seglen)
{
	uint32_t wnd = c->e->cfg.rcv_wnd;
	uint32_t lo = c->rcv_nxt, hi = c->rcv_nxt + wnd;

	if (seglen == 0)
		return seq_ge(seq, lo) && seq_lt(seq, hi);
	return (seq_ge(seq, lo) && seq_lt(seq, hi)) ||
	       (seq_ge(seq + seglen - 1, lo) && seq_lt(seq + seglen - 1, hi));
}

static void conn_touch(struct tcp_conn *c, uint64_t now)
{
	c->last_rx = now;
	list_del(&c->lru);
	list_add_tail(&c->e->lru, &c->lru);
	list_del(&c->ilru);
	list_add_tail(&c->inst->conns, &c->ilru);
}

/* ACK processing for a synchronized connection. Returns false when the
 * segment must not be processed further. */
static bool conn_ack(struct tcp_conn *c, const struct tcp_seg_in *in)
{
	struct tcp_engine *e = c->e;
	uint32_t ack = in->ack, win_right = in->ack + in->win;

	if (seq_gt(ack, c->snd_max)) {
		send_ack(c); /* acks something we never sent */
		count(e, c->key.inst, TCP_CNT_BAD_SEGMENTS);
		return false;
	}
	if (seq_lt(ack, c->snd_una - TCP_OLD_ACK_SLACK)) {
		send_ack(c);
		count(e, c->key.inst, TCP_CNT_BAD_SEGMENTS);
		return false;
	}
	if (seq_lt(ack, c->snd_una))
		return true; /* old duplicate: ignore the ACK, keep the data */

	if (ack == c->snd_una) {
		bool dup = c->snd_max != c->snd_una && in->len == 0 &&
			   !(in->flags & (PKT_TCP_SYN | PKT_TCP_FIN)) &&
			   win_right == c->snd_right;

		if (dup && ++c->dupacks == TCP_DUPACK_THRESH) {
			/* Fast retransmit of the first unacknowledged
			 * segment (RFC 5681 without congestion control). */
			uint32_t save = c->snd_nxt;

			c->snd_nxt = c->snd_una;
			conn_output(c, 1);
			if (seq_gt(save, c->snd_nxt))
				c->snd_nxt = save;
		} else if (!dup) {
			c->dupacks = 0;
		}
	} else {
		uint32_t acked = ack - c->snd_una, data = acked;
		uint32_t flight = c->snd_max - c->snd_una, cw;

		if (data > c->slen)
			data = c->slen; /* the rest is our FIN */
		/* Slow start, counted in bytes: what left the flight plus
		 * as much again. The flight after this ACK may reach the
		 * flight before it plus what it acknowledged, so the ACK
		 * releases at most twice that (a window we were not using
		 * does not grow, and a duplicate ACK releases nothing). */
		cw = c->cwnd + acked;
		if (cw > flight + acked)
			cw = flight + acked;
		c->cwnd = cw < TCP_CWND_MAX ? cw : TCP_CWND_MAX;
		c->snd_una = ack;
		if (seq_lt(c->snd_nxt, ack))
			c->snd_nxt = ack;
		sbuf_consume(c, data);
		if (c->fin_queued && seq_gt(ack, c->fin_seq))
			c->fin_acked = true;
		c->dupacks = 0;
		c->retries = 0;
		c->rto_cur = e->cfg.rto_ns;
		c->rto_at = 0;
		if (c->snd_max != c->snd_una)
			arm_rto(c);
	}
	if (c->snd_max == c->snd_una)
		c->retries = 0; /* a live peer answering our window probes */
	/* Window update (RFC 9293 SND.WL1/WL2 rule). */
	if (seq_lt(c->snd_wl1, in->seq) ||
	    (c->snd_wl1 == in->seq && seq_le(c->snd_wl2, ack))) {
		c->snd_right = win_right;
		c->snd_wl1 = in->seq;
		c->snd_wl2 = ack;
		if (seq_lt(c->snd_nxt, c->snd_right))
			c->persist_at = 0;
	}
	return true;
}

/* Data and FIN of an acceptable segment. */
static void conn_data(struct tcp_conn *c, const struct tcp_seg_in *in)
{
	const uint8_t *p = in->payload;
	uint32_t seq = in->seq, n = (uint32_t)in->len, wnd_end;
	bool fin = (in->flags & PKT_TCP_FIN) != 0;

	if (c->peer_fin)
		return; /* nothing comes after the peer's FIN */
	if (n == 0 && !fin)
		return;
	if (seq_lt(seq, c->rcv_nxt)) {
		uint32_t skip = c->rcv_nxt - seq;

		if (skip >= n + fin) {
			c->ack_pending = true; /* a full duplicate */
			return;
		}
		if (skip > n)
			skip = n;
		p += skip;
		n -= skip;
		seq += skip;
	}
	if (seq != c->rcv_nxt) {
		/* Out of order: dropped, the duplicate ACK asks for the gap. */
		c->ack_pending = true;
		return;
	}
	wnd_end = c->rcv_nxt + c->e->cfg.rcv_wnd;
	if (seq_gt(seq + n, wnd_end)) {
		n = wnd_end - seq;
		fin = false; /* the FIN lies beyond what we accept */
	}
	if (n) {
		c->rcv_nxt += n;
		c->ack_pending = true;
		if (!c->fin_queued) {
			c->st.bytes_in += n;
			app_data(c, p, n);
			if (c->state == ST_DEAD)
				return;
		}
	}
	if (fin) {
		c->rcv_nxt++;
		c->peer_fin = true;
		c->ack_pending = true;
		if (!c->fin_queued) {
			c->peer_closed_first = true;
			app_data(c, NULL, 0); /* end of stream */
			if (c->state == ST_DEAD)
				return;
			if (!c->fin_queued && !c->want_writable)
				tcp_conn_close(c);
		}
	}
}

static void conn_input(struct tcp_conn *c, const struct tcp_seg_in *in,
		       uint64_t now)
{
	struct tcp_engine *e = c->e;
	uint8_t f = in->flags;
	uint32_t seglen = (uint32_t)in->len + !!(f & PKT_TCP_SYN) +
			  !!(f & PKT_TCP_FIN);

	if (c->state == ST_SYN_RCVD && (f & PKT_TCP_SYN) &&
	    !(f & (PKT_TCP_ACK | PKT_TCP_RST))) {
		if (in->seq == c->irs) { /* our SYN-ACK was lost */
			c->st.retransmits++;
			count(e, c->key.inst, TCP_CNT_RETRANSMITS);
			emit_syn_ack(c);
		}
		return;
	}
	if (!seq_acceptable(c, in->seq, seglen)) {
		if (!(f & PKT_TCP_RST)) {
			conn_touch(c, now); /* e.g. a window probe: alive */
			if (c->state == ST_SYN_RCVD)
				emit_syn_ack(c);
			else
				send_ack(c);
		}
		return;
	}
	if (f & PKT_TCP_RST) {
		if (in->seq == c->rcv_nxt)
			conn_destroy(c, TCP_CLOSE_RESET);
		else if (c->state == ST_SYNCED)
			send_ack(c); /* RFC 5961 challenge ACK */
		return;
	}
	conn_touch(c, now);
	if (f & PKT_TCP_SYN) {
		if (c->state == ST_SYNCED)
			send_ack(c); /* RFC 5961 challenge ACK */
		return;
	}
	if (!(f & PKT_TCP_ACK))
		return;
	if (c->state == ST_SYN_RCVD) {
		if (in->ack != c->iss + 1) {
			emit_reset_for(e, in);
			return;
		}
		c->state = ST_SYNCED;
		c->snd_una = c->snd_nxt = c->snd_max = in->ack;
		c->snd_right = in->ack + in->win;
		c->snd_wl1 = in->seq;
		c->snd_wl2 = in->ack;
		c->rto_at = 0;
		c->retries = 0;
		c->rto_cur = e->cfg.rto_ns;
		app_open(c);
		if (c->state == ST_DEAD)
			return;
	}
	if (!conn_ack(c, in))
		return;
	if (c->peer_closed_first && c->fin_acked) {
		conn_destroy(c, TCP_CLOSE_NORMAL); /* LAST_ACK done */
		return;
	}
	conn_data(c, in);
	if (c->state == ST_DEAD)
		return;
	app_writable(c);
	if (c->state == ST_DEAD)
		return;
	conn_output(c, 0);
	if (c->ack_pending)
		send_ack(c);
	if (c->fin_acked && c->peer_fin) {
		if (c->peer_closed_first)
			conn_destroy(c, TCP_CLOSE_NORMAL);
		else
			tw_enter(c);
	}
}

/* ---- input without a connection ----------------------------------------- */

static void syn_input(struct tcp_engine *e, const struct tcp_key *k,
		      const struct tcp_seg_in *in, uint64_t now)
{
	uint16_t mss = peer_mss(in->mss);
	uint32_t iss = cookie_make(e, k, in->seq, now, mdr_cookie_mss_idx(mss));
	struct tcp_conn *c;
	int room = make_room(e, k->inst);

	if (room == -1) {
		count(e, k->inst, TCP_CNT_REFUSED);
		emit_reset_for(e, in);
		return;
	}
	c = room == 0 ? conn_new(e, k, in, now) : NULL;
	if (!c) {
		/* Under pressure: answer without keeping state. */
		count(e, k->inst, TCP_CNT_COOKIES_SENT);
		emit_raw(e, NULL, k->inst, in->route, in->route_len, iss,
			 in->seq + 1, PKT_TCP_SYN | PKT_TCP_ACK,
			 our_mss(e, k->family), 0, NULL, 0);
		return;
	}
	c->state = ST_SYN_RCVD;
	c->mss = mss < our_mss(e, k->family) ? mss : our_mss(e, k->family);
	c->irs = in->seq;
	c->rcv_nxt = in->seq + 1;
	c->iss = iss;
	c->snd_una = iss;
	c->snd_nxt = c->snd_max = iss + 1;
	c->st.isn_local = iss;
	c->st.isn_peer = in->seq;
	emit_syn_ack(c);
	arm_rto(c);
	conn_resched(c);
}

/* An ACK for no connection: a SYN cookie coming back? */
static bool cookie_input(struct tcp_engine *e, const struct tcp_key *k,
			 const struct tcp_seg_in *in, uint64_t now)
{
	uint16_t mss = cookie_check(e, k, in);
	struct tcp_conn *c;

	if (!mss) {
		count(e, k->inst, TCP_CNT_COOKIES_BAD);
		return false;
	}
	if (make_room(e, k->inst) != 0 || !(c = conn_new(e, k, in, now))) {
		count(e, k->inst, TCP_CNT_REFUSED);
		emit_reset_for(e, in);
		return true;
	}
	count(e, k->inst, TCP_CNT_COOKIES_OK);
	conn_enter(c);
	c->state = ST_SYNCED;
	c->mss = mss < our_mss(e, k->family) ? mss : our_mss(e, k->family);
	c->irs = in->seq - 1;
	c->rcv_nxt = in->seq;
	c->iss = in->ack - 1;
	c->st.isn_local = c->iss;
	c->st.isn_peer = c->irs;
	c->snd_una = c->snd_nxt = c->snd_max = in->ack;
	c->snd_right = in->ack + in->win;
	c->snd_wl1 = in->seq;
	c->snd_wl2 = in->ack;
	app_open(c);
	if (c->state != ST_DEAD)
		conn_input(c, in, now);
	conn_leave(c);
	return true;
}

static void input(struct tcp_engine *e, const struct tcp_seg_in *in,
		  uint64_t now_ns)
{
	struct tcp_key k;
	struct tcp_conn *c;
	struct tcp_tw *t;
	uint8_t f = in->flags;

	if (now_ns > e->now)
		e->now = now_ns;
	now_ns = e->now;
	if ((in->family != PKT_AF_INET && in->family != PKT_AF_INET6) ||
	    in->route_len > TCP_ROUTE_MAX || (in->len && !in->payload)) {
		count(e, in->instance_id, TCP_CNT_BAD_SEGMENTS);
		return;
	}
	key_from_in(&k, in);
	c = conn_find(e, &k);
	if (c) {
		/* A fresh SYN on a half-open entry with another ISN: the peer
		 * restarted its connect; start over. */
		if (c->state == ST_SYN_RCVD && (f & PKT_TCP_SYN) &&
		    !(f & (PKT_TCP_ACK | PKT_TCP_RST)) && in->seq != c->irs) {
			conn_destroy(c, TCP_CLOSE_EVICTED);
			c = NULL;
		}
	}
	if (c) {
		conn_enter(c);
		conn_input(c, in, now_ns);
		conn_leave(c);
		return;
	}
	t = tw_find(e, &k);
	if (t && tw_input(e, t, in))
		return;
	if ((f & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST | PKT_TCP_FIN)) ==
	    PKT_TCP_SYN) {
		if (in->len) { /* no TFO: a SYN never carries a request */
			count(e, k.inst, TCP_CNT_BAD_SEGMENTS);
			return;
		}
		syn_input(e, &k, in, now_ns);
		return;
	}
	if ((f & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST)) == PKT_TCP_ACK &&
	    cookie_input(e, &k, in, now_ns))
		return;
	if ((f & (PKT_TCP_SYN | PKT_TCP_RST)) == (PKT_TCP_SYN | PKT_TCP_RST) ||
	    (f & (PKT_TCP_SYN | PKT_TCP_FIN)) == (PKT_TCP_SYN | PKT_TCP_FIN)) {
		count(e, k.inst, TCP_CNT_BAD_SEGMENTS);
		return; /* nonsense flag combinations get no answer */
	}
	emit_reset_for(e, in);
}

/* Connections waiting for their instance's send room get on_writable,
 * each once, while there is room. */
static void inst_kick(struct tcp_engine *e, struct tcp_inst *i)
{
	uint32_t rounds = i->n;

	i->want_space = false;
	while (rounds-- > 0 && i->queued < e->cfg.inst_sndbuf_max) {
		struct tcp_conn *w = NULL;

		for (struct list *l = i->conns.next; l != &i->conns; l = l->next) {
			struct tcp_conn *c = container_of(l, struct tcp_conn,
							  ilru);

			if (c->want_writable && c->cb_depth == 0 &&
			    c->state == ST_SYNCED && !c->fin_queued &&
			    c->slen < TCP_SNDBUF_MAX) {
				w = c;
				break;
			}
		}
		if (!w)
			break;
		conn_enter(w);
		app_writable(w);
		conn_output(w, 0);
		conn_leave(w);
	}
}

static void run_kicks(struct tcp_engine *e)
{
	struct tcp_inst *i;

	while ((i = e->kick)) {
		e->kick = i->kick_next;
		i->kick_pending = false;
		inst_kick(e, i);
	}
}

void tcp_input(struct tcp_engine *e, const struct tcp_seg_in *in,
	       uint64_t now_ns)
{
	input(e, in, now_ns);
	run_kicks(e);
}

/* ---- timers ------------------------------------------------------------- */

static void conn_timer(struct tcp_conn *c, uint64_t now)
{
	struct tcp_engine *e = c->e;

	if (!c->held && now >= c->last_rx + e->cfg.idle_ns) {
		if (c->state == ST_SYNCED)
			count(e, c->key.inst, TCP_CNT_TIMEOUTS);
		conn_reset(c, TCP_CLOSE_IDLE);
		return;
	}
	if (c->throttle_at && now >= c->throttle_at) {
		c->throttle_at = 0;
		conn_output(c, 0);
	}
	if (c->req_at && now >= c->req_at) {
		/* request credit again: the app reads on (it takes it) */
		c->req_at = 0;
		conn_enter(c);
		if (e->ops.on_writable && c->state == ST_SYNCED)
			e->ops.on_writable(e->opaque, c);
		conn_output(c, 0);
		if (!conn_leave(c))
			return;
	}
	if (c->rto_at && now >= c->rto_at) {
		c->rto_at = 0;
		if (++c->retries > e->cfg.max_retries) {
			if (c->state == ST_SYNCED)
				count(e, c->key.inst, TCP_CNT_TIMEOUTS);
			conn_reset(c, TCP_CLOSE_TIMEOUT);
			return;
		}
		c->rto_cur = min64(c->rto_cur * 2, e->cfg.rto_max_ns);
		c->dupacks = 0;
		if (c->state == ST_SYN_RCVD) {
			c->st.retransmits++;
			count(e, c->key.inst, TCP_CNT_RETRANSMITS);
			emit_syn_ack(c);
		} else {
			/* Go back to the first unacknowledged byte; ACKs
			 * clock out the rest, from one segment again (RFC
			 * 5681's loss window: a peer that stops ACKing cannot
			 * have a whole window resent per ACK). */
			c->snd_nxt = c->snd_una;
			c->cwnd = c->mss;
			conn_output(c, 1);
		}
		arm_rto(c);
	} else if (c->persist_at && now >= c->persist_at) {
		c->persist_at = 0;
		/* The peer's answers to probes are no progress: a guest that
		 * keeps its window shut holds a buffer and a response. */
		if (++c->probes > e->cfg.max_probes) {
			count(e, c->key.inst, TCP_CNT_TIMEOUTS);
			conn_reset(c, TCP_CLOSE_TIMEOUT);
			return;
		}
		c->rto_cur = min64(c->rto_cur * 2, e->cfg.rto_max_ns);
		/* Zero-window probe: an old sequence number with no data,
		 * so nothing is sent beyond the window; the peer answers
		 * with its current window. */
		emit_conn(c, c->snd_una - 1, PKT_TCP_ACK, 0, 0, NULL, 0);
		c->persist_at = now + c->rto_cur;
	}
	conn_resched(c);
}

void tcp_timers(struct tcp_engine *e, uint64_t now_ns)
{
	if (now_ns > e->now)
		e->now = now_ns;
	now_ns = e->now;
	while (e->nheap && e->heap[0]->deadline <= now_ns) {
		struct tcp_conn *c = e->heap[0];

		conn_timer(c, now_ns);
	}
	while (!list_empty(&e->twfifo)) {
		struct tcp_tw *t = container_of(e->twfifo.next, struct tcp_tw,
						fifo);

		if (t->expires > now_ns)
			break;
		tw_free(e, t);
	}
	run_kicks(e);
	/* Unused instances go once their budget is whole again. */
	while (!list_empty(&e->inst_idle)) {
		struct tcp_inst *i = container_of(e->inst_idle.next,
						  struct tcp_inst, idle);

		if (!bucket_full(i, now_ns))
			break;
		inst_free(e, i);
	}
}

uint64_t tcp_next_deadline(const struct tcp_engine *e)
{
	uint64_t d = e->nheap ? e->heap[0]->deadline : UINT64_MAX;

	if (!list_empty(&e->twfifo))
		d = min64(d, container_of(e->twfifo.next, struct tcp_tw,
					  fifo)->expires);
	if (e->kick)
		d = min64(d, e->now);
	return d;
}

/* ---- application API ---------------------------------------------------- */

static bool runs_append(struct tcp_conn *c, uint32_t end, uint8_t ttl)
{
	if (c->nruns && c->runs[c->nruns - 1].ttl == ttl) {
		c->runs[c->nruns - 1].end = end;
		return true;
	}
	if (c->nruns == TCP_TTL_RUNS_MAX)
		return false;
	c->runs[c->nruns].end = end;
	c->runs[c->nruns].ttl = ttl;
	c->nruns++;
	return true;
}

/* Send-buffer bytes c's instance may still queue. */
static uint64_t inst_room(const struct tcp_conn *c)
{
	uint64_t max = c->e->cfg.inst_sndbuf_max;

	return c->inst->queued < max ? max - c->inst->queued : 0;
}

size_t tcp_conn_send_space(const struct tcp_conn *c)
{
	uint64_t room;

	if (c->state != ST_SYNCED || c->fin_queued)
		return 0;
	room = inst_room(c);
	return TCP_SNDBUF_MAX - c->slen < room ? TCP_SNDBUF_MAX - c->slen
					       : (size_t)room;
}

bool tcp_conn_take_request(struct tcp_conn *c)
{
	struct tcp_engine *e = c->e;
	struct tcp_inst *i = c->inst;
	uint64_t wait;

	budget_refresh(e, i);
	if (!i->rps)
		return true;
	bucket_refill(i, e->now);
	if (i->r_credit >= TCP_NS) {
		i->r_credit -= TCP_NS;
		return true;
	}
	wait = (TCP_NS - i->r_credit + i->rps - 1) / i->rps + 1;
	if (!c->req_at)
		count(e, c->key.inst, TCP_CNT_REQ_DEFERRED);
	if (!c->req_at || c->req_at > e->now + wait) {
		c->req_at = e->now + wait;
		if (c->cb_depth == 0)
			conn_resched(c);
	}
	return false;
}

int tcp_conn_send(struct tcp_conn *c, const void *data, size_t len,
		  uint8_t ttl)
{
	uint32_t need;

	if (!c || (len && !data))
		return -EINVAL;
	if (c->state != ST_SYNCED || c->fin_queued)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (len > TCP_SNDBUF_MAX - c->slen || len > inst_room(c)) {
		c->want_writable = true;
		if (len > inst_room(c))
			c->inst->want_space = true;
		return -ENOBUFS;
	}
	if (ttl == 0)
		ttl = c->e->cfg.ttl;
	need = c->slen + (uint32_t)len;
	if (c->soff + need > c->scap) {
		if (need <= c->scap) {
			memmove(c->sbuf, c->sbuf + c->soff, c->slen);
		} else {
			uint32_t cap = c->scap ? c->scap : TCP_SNDBUF_MIN;
			uint8_t *nb;

			while (cap < need)
				cap *= 2;
			if (cap > TCP_SNDBUF_MAX)
				cap = TCP_SNDBUF_MAX;
			nb = malloc(cap);
			if (!nb) {
				c->want_writable = true;
				return -ENOBUFS;
			}
			if (c->slen)
				memcpy(nb, c->sbuf + c->soff, c->slen);
			free(c->sbuf);
			c->sbuf = nb;
			c->scap = cap;
		}
		c->soff = 0;
	}
	if (!runs_append(c, snd_end(c) + (uint32_t)len, ttl)) {
		c->want_writable = true;
		return -ENOBUFS;
	}
	memcpy(c->sbuf + c->soff + c->slen, data, len);
	c->slen = need;
	c->inst->queued += len;
	/* Inside a callback the engine sends when it returns: replies and
	 * a following close then share segments (FIN rides on the data). */
	if (c->cb_depth == 0) {
		conn_output(c, 0);
		conn_resched(c);
	}
	return 0;
}

void tcp_conn_close(struct tcp_conn *c)
{
	if (!c || c->state != ST_SYNCED || c->fin_queued)
		return;
	c->fin_queued = true;
	c->want_writable = false;
	c->fin_seq = snd_end(c);
	if (c->cb_depth == 0) {
		conn_output(c, 0);
		conn_resched(c);
	}
}

void tcp_conn_abort(struct tcp_conn *c)
{
	if (!c || c->state == ST_DEAD)
		return;
	conn_reset(c, TCP_CLOSE_ABORT);
}

void tcp_conn_set_app(struct tcp_conn *c, void *app) { c->app = app; }
void *tcp_conn_app(const struct tcp_conn *c) { return c->app; }
uint32_t tcp_conn_instance(const struct tcp_conn *c) { return c->key.inst; }
bool tcp_conn_peer_closed(const struct tcp_conn *c) { return c->peer_fin; }

void tcp_conn_hold(struct tcp_conn *c, bool on)
{
	if (c->held == on)
		return;
	c->held = on;
	if (!on)
		c->last_rx = c->e->now; /* the wait counts as activity */
	conn_resched(c);
}

const void *tcp_conn_route(const struct tcp_conn *c, size_t *len)
{
	if (len)
		*len = c->route_len;
	return c->route;
}

const struct tcp_conn_stats *tcp_conn_stats(const struct tcp_conn *c)
{
	return &c->st;
}

const struct tcp_stats *tcp_engine_stats(const struct tcp_engine *e)
{
	return &e->st;
}

uint32_t tcp_instance_conns(const struct tcp_engine *e, uint32_t id)
{
	const struct tcp_inst *i = inst_find((struct tcp_engine *)e, id);

	return i ? i->n : 0;
}

void tcp_seg_in_from_pkt(struct tcp_seg_in *in, uint32_t instance_id,
			 const struct pkt_view *v, const struct pkt_route *r)
{
	memset(in, 0, sizeof(*in));
	in->instance_id = instance_id;
	in->family = v->family;
	memcpy(in->local, v->dst, 16);
	memcpy(in->remote, v->src, 16);
	in->lport = v->dport;
	in->rport = v->sport;
	in->seq = v->seq;
	in->ack = v->ack;
	in->flags = v->flags;
	in->win = v->win;
	in->mss = v->mss;
	in->payload = v->payload;
	in->len = v->payload_len;
	in->route = r;
	in->route_len = r ? sizeof(*r) : 0;
}

/* ---- engine ------------------------------------------------------------- */

struct tcp_engine *tcp_engine_new(const struct tcp_cfg *cfg,
				  const struct tcp_ops *ops, void *opaque)
{
	struct tcp_engine *e;
	static const char label0[] = "mdr-tcp-table-k0";
	static const char label1[] = "mdr-tcp-table-k1";
	uint64_t h;

	if (!cfg || !ops || !ops->on_data || !ops->emit)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->ops = *ops;
	e->opaque = opaque;
#define DEF(f, v) do { if (!e->cfg.f) e->cfg.f = (v); } while (0)
	DEF(max_conns, TCP_DEFAULT_MAX_CONNS);
	DEF(max_conns_per_inst, TCP_DEFAULT_MAX_CONNS_PER_INST);
	DEF(rto_ns, TCP_DEFAULT_RTO_NS);
	DEF(rto_max_ns, TCP_DEFAULT_RTO_MAX_NS);
	DEF(max_retries, TCP_DEFAULT_MAX_RETRIES);
	DEF(idle_ns, TCP_DEFAULT_IDLE_NS);
	DEF(time_wait_ns, TCP_DEFAULT_TIME_WAIT_NS);
	DEF(time_wait_max, TCP_DEFAULT_TIME_WAIT_MAX);
	DEF(mtu, TCP_DEFAULT_MTU);
	DEF(rcv_wnd, TCP_DEFAULT_RCV_WND);
	DEF(ttl, TCP_DEFAULT_TTL);
	DEF(max_probes, TCP_DEFAULT_MAX_PROBES);
	DEF(out_fps, TCP_DEFAULT_OUT_FPS);
	DEF(out_bps, TCP_DEFAULT_OUT_BPS);
	DEF(inst_sndbuf_max, TCP_DEFAULT_INST_SNDBUF_MAX);
#undef DEF
	if (e->cfg.max_probes > 100) /* probes is 8 bits; 100 is forever */
		e->cfg.max_probes = 100;
	if (e->cfg.rto_ns < TCP_MIN_RTO_NS)
		e->cfg.rto_ns = TCP_MIN_RTO_NS;
	if (e->cfg.rto_max_ns < e->cfg.rto_ns)
		e->cfg.rto_max_ns = e->cfg.rto_ns;
	if (e->cfg.max_retries > 100) /* retries is 8 bits; 100 is forever */
		e->cfg.max_retries = 100;
	h = mdr_siphash(e->cfg.key, label0, sizeof(label0) - 1);
	memcpy(e->hkey, &h, 8);
	h = mdr_siphash(e->cfg.key, label1, sizeof(label1) - 1);
	memcpy(e->hkey + 8, &h, 8);
	e->nbuckets = TCP_MIN_BUCKETS;
	while (e->nbuckets < e->cfg.max_conns && e->nbuckets < (1u << 24))
		e->nbuckets *= 2;
	while (e->nbuckets < e->cfg.time_wait_max && e->nbuckets < (1u << 24))
		e->nbuckets *= 2;
	e->conns = calloc(e->nbuckets, sizeof(*e->conns));
	e->insts = calloc(e->nbuckets, sizeof(*e->insts));
	e->tws = calloc(e->nbuckets, sizeof(*e->tws));
	e->heap = calloc(e->cfg.max_conns, sizeof(*e->heap));
	list_init(&e->lru);
	list_init(&e->twfifo);
	list_init(&e->inst_all);
	list_init(&e->inst_idle);
	if (!e->conns || !e->insts || !e->tws || !e->heap) {
		tcp_engine_free(e);
		return NULL;
	}
	return e;
}

void tcp_engine_synack_params(const struct tcp_engine *e, uint16_t *mss4, uint16_t *mss6,
			      uint16_t *win, uint8_t *ttl)
{
	*mss4 = our_mss(e, PKT_AF_INET);
	*mss6 = our_mss(e, PKT_AF_INET6);
	*win = e->cfg.rcv_wnd;
	*ttl = e->cfg.ttl;
}

void tcp_engine_free(struct tcp_engine *e)
{
	if (!e)
		return;
	while (e->nheap)
		conn_destroy(e->heap[e->nheap - 1], TCP_CLOSE_SHUTDOWN);
	while (!list_empty(&e->twfifo))
		tw_free(e, container_of(e->twfifo.next, struct tcp_tw, fifo));
	while (!list_empty(&e->inst_all))
		inst_free(e, container_of(e->inst_all.next, struct tcp_inst,
					  all));
	free(e->conns);
	free(e->insts);
	free(e->tws);
	free(e->heap);
	free(e);
}
