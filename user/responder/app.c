/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Frames to HTTP responses and back (see app.h). */
#include "app.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cache.h"
#include "http.h"
#include "log.h"
#include "pkt.h"
#include "rspmetrics.h"
#include "serve.h"
#include "store.h"
#include "tcp.h"

/* Headers in front of a guest's TCP payload, at most: Ethernet, two VLAN
 * tags, IPv6 with extension headers, TCP with options (rounded up). */
#define RSP_MAX_RX_HDRS 256u
/* The window we advertise. A veth guest keeps TSO when mdrd attaches in
 * generic mode, and generic XDP hands a GSO segment over whole: a segment
 * larger than one UMEM chunk could not be copied to the socket and would
 * only get through as the guest's retransmission. Bounding the window
 * bounds every segment, GSO or not; requests are small (a request over
 * ~3.5 KB takes one more round trip, not a retransmission timeout). */
#define RSP_RCV_WND (RSP_RX_FRAME_MAX - RSP_MAX_RX_HDRS)
_Static_assert(RSP_RCV_WND >= 2 * 1460, "room for two full segments");

/* Request bytes buffered while a response waits for send space: a client
 * pipelining more than this without reading its answers is reset. */
#define RSP_IN_MAX (2 * HTTP_MAX_REQUEST)
/* Times one request is re-run when the instance changed under it (its
 * generation vanished while reading content, or a concurrent password
 * POST won the race). */
#define RSP_SERVE_RETRIES MDR_STORE_READ_RETRIES
/* How old a cached record may be for a SYN's connection limit. */
#define RSP_RECORD_MAX_AGE_NS 1000000000ull
/* Cache entries unused this long are dropped. */
#define RSP_CACHE_IDLE_NS (300ull * 1000000000ull)
/* Counter deltas kept for instances between flushes (one per instance
 * seen in a second; more are flushed early). */
#define RSP_CTR_BUCKETS 1024u
/* Key id of a key this responder creates (rotation tools pick others). */
#define RSP_FIRST_KEY_ID 1u
/* IPv6 text form incl. NUL. */
#define RSP_IP_STR 46
/* "<ifname> queue <n>" for logs. */
#define RSP_PORT_NAME 48
/* Output budget of an instance, per packet/s of its XDP allowance
 * (imds.rate_pps): a guest's requests may cost at most this many frames
 * and payload bytes of the responder's output. 8 frames per packet leaves
 * a legitimate client room (a 64 KiB reply is 45 frames for ~23 ACKs)
 * while one guest stays a small share of the responder's ~500k frames/s. */
#define RSP_OUT_FRAMES_PER_PKT 8u
#define RSP_OUT_BYTES_PER_PKT 8192u
/* Request budget of an instance, per packet/s of its XDP allowance: a
 * client that does not pipeline spends at least one packet per request, so
 * one request per packet leaves it whole, while a guest pipelining many
 * requests per packet gets no more of the responder's work than that. */
#define RSP_REQ_PER_PKT 1u
/* Connection states kept for reuse: a new-connection-per-request client
 * (cloud-init, wrk with Connection: close) would otherwise allocate and
 * clear ~6 KiB per connection; 1024 of them is ~6 MiB at most. */
#define RSP_CONN_CACHE 1024
/* Held long-polls of one instance, at most this share of its connection
 * cap (num/den): the rest stays for its ordinary requests. */
#define RSP_WAIT_INST_NUM 3u
#define RSP_WAIT_INST_DEN 4u
/* Instances with held long-polls, hash buckets (power of 2). */
#define RSP_WAITQ_BUCKETS 1024u
/* Statuses refusing a long-poll over the bounds: the instance's share
 * (the guest's own doing) and the responder's total. */
#define RSP_WAIT_REFUSED_INST 429
#define RSP_WAIT_REFUSED_TOTAL 503

/* What a connection's segments carry back to the shell: the socket and the
 * L2/L3 template of the guest. */
struct rsp_route {
	struct rsp_port port;
	struct pkt_route pr;
};
_Static_assert(sizeof(struct rsp_route) <= TCP_ROUTE_MAX, "route fits the TCP blob");

struct out_chunk {
	struct out_chunk *next;
	size_t len, off;
	uint8_t ttl;
	uint8_t data[];
};

struct rsp_conn {
	struct rsp_app *a;
	struct tcp_conn *c;
	struct http_parser p;
	struct http_req req;
	uint8_t *in;          /* request bytes not parsed yet (blocked) */
	size_t in_len;
	struct out_chunk *out, *out_tail; /* response bytes TCP has no room for */
	size_t out_bytes;
	bool closing;         /* no further request is answered */
	bool charged;         /* the request being read took its credit */
	bool fin_after;       /* send FIN once the output drained */
	char remote_ip[RSP_IP_STR];
	struct rsp_conn *next_free;
	/* long-poll: k->req is held until its answer changes or wait_until */
	bool waiting;
	bool wait_expired;    /* serve once more with no_wait */
	uint64_t wait_until;  /* monotonic ns */
	uint64_t wait_etag;   /* the tag it waits to change */
	struct rsp_waitq *wq;
	struct rsp_conn *wnext, *wprev; /* the instance's held requests */
	struct rsp_conn *dnext, *dprev; /* all held requests by wait_until */
};

/* The held long-polls of one instance. */
struct rsp_waitq {
	uint32_t id;
	uint32_t gen;         /* generation their answers were made from */
	uint32_t n;
	struct rsp_conn *head;
	struct rsp_waitq *next;
};

struct rsp_ctr {
	uint32_t id;
	bool dirty;
	struct mdr_resp_counters d; /* deltas since the last flush */
	struct rsp_ctr *next;
};

struct rsp_app {
	struct mdr_maps *m;
	struct rsp_xsk *x;
	struct tcp_engine *tcp;
	struct rsp_cache *cache;
	struct mdr_token_keys keys;
	uint64_t now_ns;
	struct rsp_ctr *ctr[RSP_CTR_BUCKETS];
	struct rsp_ctr *last_ctr;   /* count_frame's, NULL after a flush */
	uint64_t dropped_frames, bad_frames;
	struct rsp_conn *conn_free; /* reusable connection states */
	unsigned n_conn_free;
	struct rsp_waitq *waitq[RSP_WAITQ_BUCKETS];
	struct rsp_conn *dhead, *dtail; /* held requests by wait_until */
	uint32_t max_waiting;
};

/* What the apps of the process's threads (one each, main.c) share: the
 * held long-polls of all of them (max_waiting bounds the process), and the
 * counter flush, a read-modify-write of mdr_rstats entries that two
 * threads serving the same instance (on two of its ports) would race on. */
static atomic_uint waiting_total;
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------- clock */

static uint64_t unix_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static void fill_random(void *buf, size_t len, void *opaque)
{
	uint8_t *p = buf;

	(void)opaque;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			/* cannot happen after boot; never hand out zeroes silently */
			mdr_log(MDR_LOG_ERR, "getrandom: %s", strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

/* ------------------------------------------------------------- counters */

static struct rsp_ctr *ctr_of(struct rsp_app *a, uint32_t id)
{
	unsigned b = (id * 2654435761u) >> 22 & (RSP_CTR_BUCKETS - 1);
	struct rsp_ctr *c;

	for (c = a->ctr[b]; c; c = c->next)
		if (c->id == id)
			break;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->id = id;
		c->next = a->ctr[b];
		a->ctr[b] = c;
	}
	c->dirty = true;
	return c;
}

static void count_status(struct rsp_app *a, uint32_t id, int status, size_t bytes)
{
	struct rsp_ctr *c = ctr_of(a, id);
	struct mdr_resp_counters *d;

	if (!c)
		return;
	d = &c->d;
	d->requests++;
	d->bytes_sent += bytes;
	switch (status) {
	case 200: d->status_200++; break;
	case 400: d->status_400++; break;
	case 401: d->status_401++; break;
	case 403: d->status_403++; break;
	case 404: d->status_404++; break;
	case 405: d->status_405++; break;
	case 409: d->status_409++; break;
	case 413: d->status_413++; break;
	case 414: d->status_414++; break;
	case 429: d->status_429++; break;
	case 431: d->status_431++; break;
	default:
		if (status >= 500)
			d->status_5xx++;
		break;
	}
}

/* One frame sent for instance id (the hash lookup of ctr_of is cached for
 * runs of frames of the same instance, as a reply's segments are). */
static void count_frame(struct rsp_app *a, uint32_t id)
{
	struct rsp_ctr *c = a->last_ctr && a->last_ctr->id == id ? a->last_ctr : ctr_of(a, id);

	if (c) {
		c->dirty = true;
		c->d.frames_sent++;
	}
	a->last_ctr = c;
}

static void add_counters(struct mdr_resp_counters *to, const struct mdr_resp_counters *d)
{
	/* every field is a __u64 counter (the ABI asserts the size) */
	enum { N = sizeof(*to) / sizeof(__u64) };
	__u64 a[N], b[N];

	memcpy(a, to, sizeof(a));
	memcpy(b, d, sizeof(b));
	for (size_t i = 0; i < N; i++)
		a[i] += b[i];
	memcpy(to, a, sizeof(a));
}

static void flush_counters(struct rsp_app *a)
{
	a->last_ctr = NULL; /* it may be freed below */
	pthread_mutex_lock(&flush_lock);
	for (unsigned b = 0; b < RSP_CTR_BUCKETS; b++) {
		struct rsp_ctr **p = &a->ctr[b];
		while (*p) {
			struct rsp_ctr *c = *p;
			struct mdr_resp_counters v;
			struct mdr_instance rec;

			if (!c->dirty) {
				/* idle for a whole period: forget it */
				*p = c->next;
				free(c);
				continue;
			}
			/* Counters of a deleted instance are not brought back. */
			if (c->id == 0 || mdr_store_record(a->m, c->id, &rec) == 0) {
				if (bpf_map_lookup_elem(a->m->rstats, &c->id, &v))
					memset(&v, 0, sizeof(v));
				add_counters(&v, &c->d);
				if (bpf_map_update_elem(a->m->rstats, &c->id, &v, BPF_ANY))
					mdr_log(MDR_LOG_WARN, "instance id %u: writing counters: %s",
						c->id, strerror(errno));
			}
			memset(&c->d, 0, sizeof(c->d));
			c->dirty = false;
			p = &c->next;
		}
	}
	pthread_mutex_unlock(&flush_lock);
}

/* ---------------------------------------------------------- token keys */

static void load_keys(struct rsp_app *a, bool create)
{
	struct mdr_token_keys k;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(a->m->tokkey, &zero, &k)) {
		mdr_log(MDR_LOG_ERR, "reading token keys: %s", strerror(errno));
		return;
	}
	if (k.cur_id == 0 && create) {
		/* First responder on this node: make a key. The map is an
		 * array (no BPF_NOEXIST), so write, then use whatever is
		 * there: a concurrent creator's key wins for both. */
		memset(&k, 0, sizeof(k));
		k.cur_id = RSP_FIRST_KEY_ID;
		fill_random(k.cur, sizeof(k.cur), NULL);
		if (bpf_map_update_elem(a->m->tokkey, &zero, &k, BPF_ANY))
			mdr_log(MDR_LOG_ERR, "storing a new token key: %s", strerror(errno));
		else
			mdr_log(MDR_LOG_INFO, "created IMDSv2 token key %u", k.cur_id);
		if (bpf_map_lookup_elem(a->m->tokkey, &zero, &k))
			return;
	}
	a->keys = k;
}

/* ------------------------------------------------------- SYN cookies */

/* The cookie key: the one in mdr_syncookie (a restarted responder keeps
 * accepting the cookies XDP handed out), else a new one. */
static void cookie_key(struct rsp_app *a, uint8_t key[MDR_COOKIE_KEY_LEN])
{
	struct mdr_syncookie sc;
	uint32_t zero = 0;

	if (!bpf_map_lookup_elem(a->m->syncookie, &zero, &sc) && sc.key_set == 1) {
		memcpy(key, sc.key, MDR_COOKIE_KEY_LEN);
		return;
	}
	fill_random(key, MDR_COOKIE_KEY_LEN, NULL);
}

/* Publish the key and what our SYN-ACKs carry: from now on XDP answers
 * SYNs itself (unless the config's xdp-synack is off). */
static void cookie_publish(struct rsp_app *a, const uint8_t key[MDR_COOKIE_KEY_LEN])
{
	struct mdr_syncookie sc;
	uint32_t zero = 0;

	memset(&sc, 0, sizeof(sc));
	memcpy(sc.key, key, MDR_COOKIE_KEY_LEN);
	tcp_engine_synack_params(a->tcp, &sc.mss4, &sc.mss6, &sc.win, &sc.ttl);
	sc.key_set = 1;
	if (bpf_map_update_elem(a->m->syncookie, &zero, &sc, BPF_ANY))
		mdr_log(MDR_LOG_ERR, "publishing the SYN cookie key: %s (XDP leaves the handshake "
			"to the responder)", strerror(errno));
	else
		mdr_log(MDR_LOG_INFO, "SYN cookie key published: XDP answers SYNs (MSS %u/%u, "
			"window %u) unless xdp-synack is off", sc.mss4, sc.mss6, sc.win);
}

/* ------------------------------------------------------------- output */

static void conn_fail(struct rsp_conn *k)
{
	k->closing = true;
	tcp_conn_abort(k->c);
}

/*
 * Hand p[0..n) to TCP as far as its send buffer takes it. Returns the
 * bytes taken or -errno. When not everything was taken, TCP has been told
 * (by a refused tcp_conn_send) that we want on_writable, which also keeps
 * it from closing the connection on the peer's FIN while we still owe
 * response bytes.
 */
static ssize_t push(struct tcp_conn *c, const uint8_t *p, size_t n, uint8_t ttl)
{
	size_t space;
	int r = tcp_conn_send(c, p, n, ttl);

	if (r == 0)
		return (ssize_t)n;
	if (r != -ENOBUFS)
		return r;
	space = tcp_conn_send_space(c);
	if (space == 0 || space >= n)
		return 0; /* full, or out of memory: wait for on_writable */
	r = tcp_conn_send(c, p, space, ttl);
	if (r)
		return r == -ENOBUFS ? 0 : r;
	r = tcp_conn_send(c, p + space, n - space, ttl); /* arms on_writable */
	if (r == 0)
		return (ssize_t)n;
	return r == -ENOBUFS ? (ssize_t)space : r;
}

/* Push queued response bytes into TCP as far as its send space allows. */
static void out_flush(struct rsp_conn *k)
{
	while (k->out) {
		struct out_chunk *o = k->out;
		ssize_t n = push(k->c, o->data + o->off, o->len - o->off, o->ttl);

		if (n < 0) {
			conn_fail(k);
			return;
		}
		o->off += (size_t)n;
		k->out_bytes -= (size_t)n;
		if (o->off < o->len)
			return;
		k->out = o->next;
		if (!k->out)
			k->out_tail = NULL;
		free(o);
	}
	if (k->fin_after) {
		k->fin_after = false;
		tcp_conn_close(k->c);
	}
}

/* Send bytes now as far as TCP takes them, queue (copied) the rest. */
static int out_write(struct rsp_conn *k, const void *data, size_t len, uint8_t ttl)
{
	const uint8_t *p = data;
	struct out_chunk *o;

	if (!k->out && len) {
		ssize_t n = push(k->c, p, len, ttl);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	if (!len)
		return 0;
	o = malloc(sizeof(*o) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	o->off = 0;
	o->ttl = ttl;
	memcpy(o->data, p, len);
	if (k->out_tail)
		k->out_tail->next = o;
	else
		k->out = o;
	k->out_tail = o;
	k->out_bytes += len;
	return 0;
}

/* ------------------------------------------------------------- requests */

static void port_name(struct rsp_app *a, struct rsp_conn *k, char *buf, unsigned len)
{
	size_t rl;
	const struct rsp_route *r = tcp_conn_route(k->c, &rl);

	if (r && rl == sizeof(*r))
		rsp_xsk_port_name(a->x, r->port, buf, len);
	else
		snprintf(buf, len, "?");
}

static bool is_password_request(const struct http_req *req)
{
	char path[MDR_PATH_MAX];

	/* serve.c decides exactly; this only avoids a map read for the
	 * other paths (reading the password needlessly is harmless). */
	return mdr_path_normalize(req->target, path, sizeof(path)) == 0 &&
	       strstr(path, "/password") != NULL;
}

/* ------------------------------------------------------------ long-poll */

static unsigned waitq_bucket(uint32_t id)
{
	return (id * 2654435761u) >> 22 & (RSP_WAITQ_BUCKETS - 1);
}

static struct rsp_waitq *waitq_find(struct rsp_app *a, uint32_t id)
{
	struct rsp_waitq *q = a->waitq[waitq_bucket(id)];

	while (q && q->id != id)
		q = q->next;
	return q;
}

/* Held requests instance id may have: a share of its connection cap. */
static uint32_t wait_max_inst(struct rsp_app *a, uint32_t id)
{
	const struct mdr_instance *rec = rsp_cache_record(a->cache, id, a->now_ns,
							  RSP_RECORD_MAX_AGE_NS);
	uint32_t cap = rec && rec->max_conns ? rec->max_conns : TCP_DEFAULT_MAX_CONNS_PER_INST;
	uint32_t m = (uint32_t)((uint64_t)cap * RSP_WAIT_INST_NUM / RSP_WAIT_INST_DEN);

	return m ? m : 1;
}

/* Hold k (first time): 0, or the status refusing it. */
static int wait_park(struct rsp_conn *k, uint32_t id, uint32_t gen, uint64_t etag,
		     uint32_t wait_s)
{
	struct rsp_app *a = k->a;
	struct rsp_waitq *q = waitq_find(a, id);
	struct rsp_conn *d;

	if (q && q->n >= wait_max_inst(a, id))
		return RSP_WAIT_REFUSED_INST;
	if (atomic_fetch_add(&waiting_total, 1) >= a->max_waiting) {
		atomic_fetch_sub(&waiting_total, 1);
		return RSP_WAIT_REFUSED_TOTAL;
	}
	if (!q) {
		unsigned b = waitq_bucket(id);
		q = calloc(1, sizeof(*q));
		if (!q) {
			atomic_fetch_sub(&waiting_total, 1);
			return 503;
		}
		q->id = id;
		q->next = a->waitq[b];
		a->waitq[b] = q;
	}
	q->gen = gen;
	k->waiting = true;
	k->wait_expired = false;
	k->wait_etag = etag;
	k->wait_until = a->now_ns + (uint64_t)wait_s * 1000000000ull;
	k->wq = q;
	k->wprev = NULL;
	k->wnext = q->head;
	if (q->head)
		q->head->wprev = k;
	q->head = k;
	q->n++;
	/* by deadline: from the tail, where equal timeouts put it */
	for (d = a->dtail; d && d->wait_until > k->wait_until; d = d->dprev)
		;
	k->dprev = d;
	k->dnext = d ? d->dnext : a->dhead;
	if (k->dnext)
		k->dnext->dprev = k;
	else
		a->dtail = k;
	if (d)
		d->dnext = k;
	else
		a->dhead = k;
	tcp_conn_hold(k->c, true);
	return 0;
}

/* k is answered (or gone: closing, TCP is destroying the connection). */
static void wait_unpark_as(struct rsp_conn *k, bool closing)
{
	struct rsp_app *a = k->a;
	struct rsp_waitq *q = k->wq;

	if (!k->waiting)
		return;
	k->waiting = false;
	if (k->wprev)
		k->wprev->wnext = k->wnext;
	else
		q->head = k->wnext;
	if (k->wnext)
		k->wnext->wprev = k->wprev;
	if (k->dprev)
		k->dprev->dnext = k->dnext;
	else
		a->dhead = k->dnext;
	if (k->dnext)
		k->dnext->dprev = k->dprev;
	else
		a->dtail = k->dprev;
	atomic_fetch_sub(&waiting_total, 1);
	if (--q->n == 0) {
		struct rsp_waitq **p = &a->waitq[waitq_bucket(q->id)];
		while (*p != q)
			p = &(*p)->next;
		*p = q->next;
		free(q);
	}
	k->wq = NULL;
	if (!closing)
		tcp_conn_hold(k->c, false);
}

static void wait_unpark(struct rsp_conn *k)
{
	wait_unpark_as(k, false);
}

static int serve_blob(void *opaque, unsigned blob, const uint8_t **data, size_t *len)
{
	struct rsp_inst *i = opaque;

	return rsp_cache_blob(i->cache, i, blob, data, len);
}

static int serve_blob_hash(void *opaque, unsigned blob, uint64_t *h)
{
	struct rsp_inst *i = opaque;

	return rsp_cache_blob_hash(i->cache, i, blob, h);
}

static void wait_rerun(struct rsp_conn *k);

/* Answer k->req (or the parse error `error_status`). */
static void respond(struct rsp_conn *k, int error_status)
{
	struct rsp_app *a = k->a;
	uint32_t id = tcp_conn_instance(k->c);
	struct mdr_render_ctx rctx = { .random = fill_random, .remote_ip = k->remote_ip,
				       .wall = mdr_wall_s };
	struct mdr_serve_resp resp;
	struct mdr_password pw;
	const uint8_t *body = NULL;
	size_t body_len = 0, head_len;
	char head[HTTP_RESPONSE_HEAD_MAX];
	const char *uuid = "-";
	bool done = false;
	uint64_t t0 = rsp_metrics_clock();
	int r;

	if (error_status) {
		mdr_serve_error(error_status, &resp);
		done = true;
	}
	for (int attempt = 0; !done && attempt < RSP_SERVE_RETRIES; attempt++) {
		struct rsp_inst *i = id ? rsp_cache_get(a->cache, id, a->now_ns) : NULL;
		struct mdr_serve_inst si = { .id = id, .keys = &a->keys };

		if (i) {
			uuid = i->rec.uuid;
			si.uuid = i->rec.uuid;
			si.tokens = (enum mdr_tokens_mode)i->rec.tokens;
			si.tokens_openstack = i->defn ? i->defn->imds.tokens_openstack
						       : MDR_TOKENS_OPTIONAL;
			si.hop_limit = i->rec.hop_limit;
			si.defn = i->defn;
			si.render = rsp_cache_render;
			si.render_opaque = i;
			si.blob = serve_blob;
			si.blob_hash = serve_blob_hash;
			si.has_wait_etag = k->waiting;
			si.wait_etag = k->wait_etag;
			si.no_wait = k->wait_expired;
			if (i->broken) {
				mdr_serve_error(500, &resp);
				done = true;
				break;
			}
			if (is_password_request(&k->req) &&
			    !bpf_map_lookup_elem(a->m->passwords, &id, &pw)) {
				si.has_password = true;
				si.password = pw.data;
				si.password_len = pw.len <= MDR_PASSWORD_MAX ? pw.len : MDR_PASSWORD_MAX;
			}
		}
		mdr_serve(&k->req, &si, unix_now_s(), &rctx, &resp);
		if (resp.retry) {
			mdr_serve_resp_free(&resp);
			continue; /* a blob's generation went: redo with the new one */
		}
		if (resp.wait) {
			int st;
			if (k->waiting) {
				k->wq->gen = i ? i->rec.gen : 0;
				mdr_serve_resp_free(&resp);
				return; /* still the same answer: keep holding */
			}
			st = wait_park(k, id, i ? i->rec.gen : 0, resp.etag, resp.wait_s);
			mdr_serve_resp_free(&resp);
			if (!st)
				return; /* held: answered by wait_rerun */
			mdr_serve_error(st, &resp);
			mdr_serve_date(&resp, unix_now_s());
			done = true;
			break;
		}

		if (resp.store_password) {
			struct mdr_password nw = { .len = (uint32_t)resp.password_len };
			memcpy(nw.data, resp.password, resp.password_len);
			/* NOEXIST: of two racing POSTs only one wins (409 for the
			 * other); an empty stored password may be replaced, as nova. */
			if (bpf_map_update_elem(a->m->passwords, &id, &nw,
						si.has_password ? BPF_EXIST : BPF_NOEXIST)) {
				int e = errno;
				mdr_serve_resp_free(&resp);
				if (e == EEXIST || e == ENOENT)
					continue; /* re-read: the answer becomes 409 */
				char pn[RSP_PORT_NAME];
				port_name(a, k, pn, sizeof(pn));
				mdr_log(MDR_LOG_ERR, "instance %s port %s: storing the password: %s",
					uuid, pn, strerror(e));
				mdr_serve_error(500, &resp);
			}
		}
		if (resp.kind == MDR_SERVE_BLOB && resp.send_body) {
			r = i ? rsp_cache_blob(a->cache, i, resp.blob, &body, &body_len) : -EINVAL;
			if (r == -ENOENT) {
				mdr_serve_resp_free(&resp);
				continue; /* new generation: redo with it */
			}
			if (r || body_len != resp.content_length) {
				char pn[RSP_PORT_NAME];
				port_name(a, k, pn, sizeof(pn));
				mdr_log(MDR_LOG_ERR, "instance %s port %s: reading blob %u: %s",
					uuid, pn, resp.blob, r ? strerror(-r) : "length mismatch");
				mdr_serve_resp_free(&resp);
				mdr_serve_error(500, &resp);
				body = NULL;
			}
		}
		done = true;
	}
	wait_unpark(k); /* a held request is answered now */
	if (!done) {
		mdr_log(MDR_LOG_WARN, "instance %s: content kept changing under request", uuid);
		mdr_serve_error(503, &resp);
	}
	if (resp.kind == MDR_SERVE_BODY) {
		body = (const uint8_t *)resp.body;
		body_len = resp.content_length;
	}
	if (!resp.send_body)
		body_len = 0;

	mdr_serve_date(&resp, unix_now_s()); /* error replies too */
	head_len = mdr_serve_head(&resp, head, sizeof(head));
	r = head_len ? out_write(k, head, head_len, resp.ip_ttl) : -EINVAL;
	if (!r && body_len)
		r = out_write(k, body, body_len, resp.ip_ttl);
	count_status(a, id, resp.status, head_len + body_len);
	rsp_metrics_service(t0);
	if (resp.token_issued) {
		struct rsp_ctr *c = ctr_of(a, id);
		if (c)
			c->d.tokens_issued++;
	}
	if (!resp.keep_alive || r) {
		k->closing = true;
		k->fin_after = true;
	}
	mdr_serve_resp_free(&resp);
	if (r) {
		conn_fail(k);
		return;
	}
	if (k->fin_after && !k->out) {
		k->fin_after = false;
		tcp_conn_close(k->c);
	}
}

/* Parse and answer requests from data; stops when a response waits for
 * send space or the connection is closing. Returns bytes used. */
static size_t consume(struct rsp_conn *k, const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len && !k->closing && !k->out && !k->waiting) {
		size_t used = 0;
		enum http_result r;

		/* Each request takes a credit of the instance's request budget
		 * before its first byte is read; without one it waits (in k->in)
		 * and on_writable resumes it. */
		if (!k->charged && !tcp_conn_take_request(k->c))
			break;
		k->charged = true;
		r = http_parser_feed(&k->p, data + off, len - off, &used, &k->req);
		off += used;
		if (r == HTTP_NEED_MORE)
			break;
		k->charged = false;
		respond(k, r == HTTP_ERROR ? k->req.error_status : 0);
		if (r == HTTP_ERROR)
			break;
	}
	if (k->closing)
		return len; /* the rest is never looked at */
	return off;
}

/* Handle buffered input after output drained. */
static void resume(struct rsp_conn *k)
{
	size_t used;

	if (!k->in_len || k->out || k->closing || k->waiting)
		return;
	used = consume(k, k->in, k->in_len);
	memmove(k->in, k->in + used, k->in_len - used);
	k->in_len -= used;
}

/* The peer sent FIN and every request it sent has been answered: close
 * our side too (a keep-alive client leaving). */
static void maybe_finish(struct rsp_conn *k)
{
	if (!k->closing && !k->out && !k->in_len && !k->waiting && tcp_conn_peer_closed(k->c)) {
		k->closing = true;
		tcp_conn_close(k->c);
	}
}

/* ------------------------------------------------------------- tcp ops */

static void on_open(void *opaque, struct tcp_conn *c)
{
	struct rsp_app *a = opaque;
	struct rsp_conn *k = a->conn_free;
	const struct mdr_instance *rec;
	const struct rsp_route *r;
	size_t rl;

	if (k) {
		a->conn_free = k->next_free;
		a->n_conn_free--;
	} else if (!(k = malloc(sizeof(*k)))) {
		tcp_conn_abort(c);
		return;
	}
	/* Everything but the request, which the parser resets per request. */
	k->a = a;
	k->c = c;
	k->in = NULL;
	k->in_len = 0;
	k->out = k->out_tail = NULL;
	k->out_bytes = 0;
	k->closing = k->fin_after = k->charged = false;
	k->remote_ip[0] = '\0';
	k->next_free = NULL;
	k->waiting = k->wait_expired = false;
	k->wq = NULL;
	rec = rsp_cache_record(a->cache, tcp_conn_instance(c), a->now_ns, RSP_RECORD_MAX_AGE_NS);
	http_parser_init(&k->p, rec ? rec->max_req : 0);
	r = tcp_conn_route(c, &rl);
	if (r && rl == sizeof(*r))
		inet_ntop(r->pr.family == PKT_AF_INET6 ? AF_INET6 : AF_INET, r->pr.remote,
			  k->remote_ip, sizeof(k->remote_ip));
	tcp_conn_set_app(c, k);
}

static void on_data(void *opaque, struct tcp_conn *c, const uint8_t *data, size_t len)
{
	struct rsp_conn *k = tcp_conn_app(c);
	size_t used;

	(void)opaque;
	if (!k || k->closing)
		return;
	if (k->in_len) {
		used = 0; /* keep order: append behind what waits */
	} else {
		used = consume(k, data, len);
		if (k->closing)
			return;
	}
	if (used < len) {
		uint8_t *n;
		if (k->in_len + (len - used) > RSP_IN_MAX) {
			conn_fail(k);
			return;
		}
		n = realloc(k->in, k->in_len + (len - used));
		if (!n) {
			conn_fail(k);
			return;
		}
		k->in = n;
		memcpy(k->in + k->in_len, data + used, len - used);
		k->in_len += len - used;
		resume(k);
	}
	maybe_finish(k);
}

static void on_writable(void *opaque, struct tcp_conn *c)
{
	struct rsp_conn *k = tcp_conn_app(c);

	(void)opaque;
	if (!k)
		return;
	out_flush(k);
	if (!k->out) {
		resume(k);
		maybe_finish(k);
	}
}

static void on_close(void *opaque, struct tcp_conn *c, enum tcp_close_reason why)
{
	struct rsp_conn *k = tcp_conn_app(c);

	(void)opaque;
	(void)why;
	if (!k)
		return;
	wait_unpark_as(k, true);
	while (k->out) {
		struct out_chunk *o = k->out;
		k->out = o->next;
		free(o);
	}
	free(k->in);
	tcp_conn_set_app(c, NULL);
	if (k->a->n_conn_free < RSP_CONN_CACHE) {
		k->next_free = k->a->conn_free;
		k->a->conn_free = k;
		k->a->n_conn_free++;
	} else {
		free(k);
	}
}

static void emit(void *opaque, const struct tcp_seg_out *seg)
{
	struct rsp_app *a = opaque;
	const struct rsp_route *r = seg->route;
	size_t n;

	uint8_t *buf;

	if (!r || seg->route_len != sizeof(*r))
		return;
	count_frame(a, seg->instance_id);
	/* Built straight into the UMEM frame the kernel sends from. */
	buf = rsp_xsk_tx_reserve(a->x, r->port);
	if (!buf) {
		a->dropped_frames++;
		return;
	}
	n = pkt_build_tcp(buf, RSP_FRAME_SIZE, &r->pr, seg->seq, seg->ack, seg->flags, seg->win,
			  seg->mss, seg->ttl, seg->payload, seg->len);
	if (rsp_xsk_tx_commit(a->x, (uint32_t)n) || !n)
		a->dropped_frames++;
}

/* The instance's XDP rate, packets/s: mdr_limits, else the config
 * default, else MDR_DEFAULT_RATE_PPS. */
static uint64_t inst_rate_pps(struct rsp_app *a, uint32_t id)
{
	struct mdr_limits l = { 0 };
	struct mdr_config cfg;
	uint32_t zero = 0;
	uint64_t rate;

	if (bpf_map_lookup_elem(a->m->limits, &id, &l))
		l.rate_pps = 0;
	rate = l.rate_pps;
	if (!rate && !bpf_map_lookup_elem(a->m->config, &zero, &cfg))
		rate = cfg.default_rate_pps;
	return rate ? rate : MDR_DEFAULT_RATE_PPS;
}

/* tcp_ops.budget: frames, bytes and requests from the instance's XDP
 * rate (one lookup a second per active instance). */
static void budget(void *opaque, uint32_t id, struct tcp_budget *b)
{
	uint64_t rate = inst_rate_pps(opaque, id);
	uint64_t fps = rate * RSP_OUT_FRAMES_PER_PKT, rps = rate * RSP_REQ_PER_PKT;

	b->frames_per_s = (uint32_t)(fps > TCP_OUT_FPS_MAX ? TCP_OUT_FPS_MAX : fps);
	b->bytes_per_s = rate * RSP_OUT_BYTES_PER_PKT;
	b->requests_per_s = (uint32_t)(rps > TCP_REQ_RPS_MAX ? TCP_REQ_RPS_MAX : rps);
}

static uint32_t max_conns(void *opaque, uint32_t id)
{
	struct rsp_app *a = opaque;
	const struct mdr_instance *rec = rsp_cache_record(a->cache, id, a->now_ns,
							  RSP_RECORD_MAX_AGE_NS);

	return rec ? rec->max_conns : 0;
}

static void count(void *opaque, uint32_t id, enum tcp_counter what)
{
	struct rsp_app *a = opaque;
	struct rsp_ctr *c;
	__u64 *f;

	switch (what) {
	case TCP_CNT_OPENED:
	case TCP_CNT_CLOSED:
	case TCP_CNT_REFUSED:
	case TCP_CNT_RESETS_SENT:
	case TCP_CNT_RETRANSMITS:
	case TCP_CNT_OUT_DEFERRED:
	case TCP_CNT_COOKIES_OK:
	case TCP_CNT_COOKIES_BAD:
	case TCP_CNT_REQ_DEFERRED:
		break;
	default:
		return;
	}
	c = ctr_of(a, id);
	if (!c)
		return;
	f = what == TCP_CNT_OPENED ? &c->d.conns_opened :
	    what == TCP_CNT_CLOSED ? &c->d.conns_closed :
	    what == TCP_CNT_REFUSED ? &c->d.conns_refused :
	    what == TCP_CNT_RESETS_SENT ? &c->d.resets_sent :
	    what == TCP_CNT_OUT_DEFERRED ? &c->d.frames_deferred :
	    what == TCP_CNT_COOKIES_OK ? &c->d.cookies_ok :
	    what == TCP_CNT_COOKIES_BAD ? &c->d.cookies_bad :
	    what == TCP_CNT_REQ_DEFERRED ? &c->d.requests_deferred : &c->d.retransmits;
	(*f)++;
}

/* ------------------------------------------------------------ frames */

void rsp_app_rx(void *app, const struct rsp_rx *rx)
{
	struct rsp_app *a = app;
	struct pkt_view v;
	struct rsp_route route;
	struct tcp_seg_in in;
	int r;

	r = pkt_parse(rx->frame, rx->len, &v);
	if (r != PKT_OK) {
		a->bad_frames++;
		mdr_log(MDR_LOG_DEBUG, "ifindex %u queue %u: dropped frame: %s",
			rx->ifindex, rx->queue, pkt_strerror(r));
		return;
	}
	memset(&route, 0, sizeof(route));
	route.port = rx->port;
	pkt_route_from_view(&v, &route.pr);
	tcp_seg_in_from_pkt(&in, rx->tag.instance_id, &v, &route.pr);
	in.route = &route;
	in.route_len = sizeof(route);
	tcp_input(a->tcp, &in, a->now_ns);
}

void rsp_app_port_down(void *app, struct rsp_port port)
{
	(void)app;
	(void)port;
	/* Connections through it fail their next send (stale port) and end
	 * by retransmission timeout or idle timeout. */
}

/* ------------------------------------------------------------ lifecycle */

struct rsp_app *rsp_app_new(const struct rsp_app_opts *o, struct mdr_maps *m)
{
	struct tcp_ops ops = {
		.on_data = on_data,
		.on_close = on_close,
		.emit = emit,
		.max_conns = max_conns,
		.on_open = on_open,
		.on_writable = on_writable,
		.count = count,
		.budget = budget,
	};
	struct tcp_cfg cfg = {
		.max_conns = o->max_conns,
		.idle_ns = o->idle_timeout_ns,
		.rcv_wnd = RSP_RCV_WND,
	};
	struct rsp_app *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->m = m;
	a->max_waiting = o->max_waiting ? o->max_waiting : RSP_WAIT_MAX_DEFAULT;
	cookie_key(a, cfg.key);
	a->cache = rsp_cache_new(m);
	a->tcp = tcp_engine_new(&cfg, &ops, a);
	if (!a->cache || !a->tcp) {
		mdr_log(MDR_LOG_ERR, "out of memory creating the TCP engine");
		rsp_app_free(a);
		return NULL;
	}
	load_keys(a, true);
	cookie_publish(a, cfg.key);
	return a;
}

void rsp_app_set_xsk(struct rsp_app *a, struct rsp_xsk *x) { a->x = x; }

void rsp_app_set_now(struct rsp_app *a, uint64_t now_ns) { a->now_ns = now_ns; }

void rsp_app_rx_batch(struct rsp_app *a) { rsp_cache_new_batch(a->cache); }

/* Serve a held request again (its instance changed, or it timed out):
 * answered when the answer changed, else held on. Then the requests the
 * guest pipelined behind it. */
static void wait_rerun(struct rsp_conn *k)
{
	respond(k, 0);
	if (!k->waiting) {
		resume(k);
		maybe_finish(k);
	}
}

uint64_t rsp_app_timers(struct rsp_app *a)
{
	uint64_t d;

	tcp_timers(a->tcp, a->now_ns);
	while (a->dhead && a->dhead->wait_until <= a->now_ns) {
		struct rsp_conn *k = a->dhead;
		k->wait_expired = true;
		rsp_cache_new_batch(a->cache); /* answer from the record as it is */
		wait_rerun(k);
		if (k->waiting) /* cannot be: no_wait answers */
			wait_unpark(k);
	}
	d = tcp_next_deadline(a->tcp);
	if (a->dhead && a->dhead->wait_until < d)
		d = a->dhead->wait_until;
	return d;
}

/* Serve every held request of q again. */
static void waitq_rerun(struct rsp_waitq *q)
{
	struct rsp_conn *k = q->head, *next;
	uint32_t n = q->n;

	/* respond() only ever unparks the request it serves (q goes with
	 * the last one): take the next before, and stop after n. */
	while (k && n--) {
		next = k->wnext;
		wait_rerun(k);
		k = next;
	}
}

void rsp_app_changed(struct rsp_app *a, uint32_t id)
{
	rsp_cache_new_batch(a->cache); /* read the records again */
	if (id) {
		struct rsp_waitq *q = waitq_find(a, id);
		if (q)
			waitq_rerun(q);
		return;
	}
	for (unsigned b = 0; b < RSP_WAITQ_BUCKETS; b++) {
		struct rsp_waitq *q = a->waitq[b], *next;
		for (; q; q = next) {
			next = q->next;
			waitq_rerun(q);
		}
	}
}

/* One record read per instance with held requests (none without). */
static void waitq_check(struct rsp_app *a)
{
	bool fresh = false;

	for (unsigned b = 0; b < RSP_WAITQ_BUCKETS; b++) {
		struct rsp_waitq *q = a->waitq[b], *next;
		for (; q; q = next) {
			struct mdr_instance rec;
			next = q->next;
			if (bpf_map_lookup_elem(a->m->inst, &q->id, &rec) == 0 && rec.gen == q->gen)
				continue;
			if (!fresh) {
				rsp_cache_new_batch(a->cache);
				fresh = true;
			}
			waitq_rerun(q);
		}
	}
}

void rsp_app_tick(struct rsp_app *a)
{
	flush_counters(a);
	load_keys(a, false);
	waitq_check(a);
	rsp_cache_expire(a->cache, a->now_ns, RSP_CACHE_IDLE_NS);
}

void rsp_app_free(struct rsp_app *a)
{
	if (!a)
		return;
	if (a->tcp)
		tcp_engine_free(a->tcp); /* on_close frees every connection */
	flush_counters(a);
	for (unsigned b = 0; b < RSP_CTR_BUCKETS; b++)
		while (a->ctr[b]) {
			struct rsp_ctr *c = a->ctr[b];
			a->ctr[b] = c->next;
			free(c);
		}
	rsp_cache_free(a->cache);
	while (a->conn_free) {
		struct rsp_conn *k = a->conn_free;
		a->conn_free = k->next_free;
		free(k);
	}
	free(a);
}
