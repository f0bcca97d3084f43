/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libFuzzer: the TCP engine driven by a script of operations decoded from
 * the input (segments from a few clients, app sends/closes/aborts, time),
 * with a fake clock. Invariants checked:
 * - no data beyond the largest right edge (ACK + window) the peer offered
 *   during the connection's life;
 * - delivered bytes are exactly the client's byte stream (every payload
 *   byte is a function of its sequence number, so reordering, overlaps and
 *   retransmissions cannot hide corruption);
 * - data only from established connections; never a RST for a RST;
 *   stateless RSTs carry RFC 9293 numbers; TTL never 0;
 * - table bounds (total and per instance); timers make progress;
 * - on_close exactly once per on_open; no leak (ASan) after engine free. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define NCLI 6               /* clients (tuples) in play */
#define MAX_CONNS 4          /* small, so cookies and eviction happen */
#define INST_LIMIT 2
#define MAX_OPS 2000         /* bound per input */
#define MS 1000000ull

struct cli {
	uint32_t inst;
	uint8_t family;
	uint16_t port;
	uint32_t seq_nxt;       /* the client's guess of its next seq */
	uint32_t ack_hint;      /* the end of what the server sent */
	struct tcp_conn *conn;  /* open connection of this tuple */
	uint32_t expect;        /* next stream position to be delivered */
	uint32_t snd_max;       /* end of what the conn sent */
	uint32_t edge;          /* largest right edge offered */
};

struct pending {
	bool valid;
	int idx;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	size_t len;
};

struct fz {
	struct tcp_engine *e;
	uint64_t now;
	struct cli cli[NCLI];
	struct pending p;
	long opens, closes;
	const uint8_t *in;
	size_t in_len, pos;
};

static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* The client's byte at stream position seq. */
static uint8_t stream_byte(int idx, uint32_t seq)
{
	return (uint8_t)(((seq * 2654435761u) >> 24) ^ (uint32_t)idx * 37u);
}

static uint8_t rd8(struct fz *f)
{
	return f->pos < f->in_len ? f->in[f->pos++] : 0;
}

static uint16_t rd16(struct fz *f)
{
	return (uint16_t)(rd8(f) << 8 | rd8(f));
}

static uint32_t rd32(struct fz *f)
{
	return (uint32_t)rd16(f) << 16 | rd16(f);
}

static int cli_of(const struct tcp_seg_out *s)
{
	int idx;

	CHECK(s->route_len == sizeof(idx));
	memcpy(&idx, s->route, sizeof(idx));
	CHECK(idx >= 0 && idx < NCLI);
	return idx;
}

/* Is the pending segment's edge one the engine may have taken for c? */
static bool pending_edge(struct fz *f, int idx, uint32_t *edge)
{
	struct cli *c = &f->cli[idx];

	if (!f->p.valid || f->p.idx != idx || !(f->p.flags & PKT_TCP_ACK))
		return false;
	if (seq_gt(f->p.ack, c->snd_max) ||
	    seq_gt(c->snd_max - f->p.ack, 1u << 30))
		return false;
	*edge = f->p.ack + f->p.win;
	return true;
}

static void emit(void *o, const struct tcp_seg_out *s)
{
	struct fz *f = o;
	int idx = cli_of(s);
	struct cli *c = &f->cli[idx];
	uint32_t end;

	CHECK(s->ttl != 0);
	CHECK(s->len == 0 || s->payload);
	if (f->p.valid && (f->p.flags & PKT_TCP_RST))
		CHECK(!(s->flags & PKT_TCP_RST));
	if (!s->conn && (s->flags & PKT_TCP_RST) && f->p.valid) {
		/* a reset for the segment being processed */
		CHECK(f->p.idx == idx);
		if (f->p.flags & PKT_TCP_ACK) {
			CHECK(s->seq == f->p.ack);
		} else {
			uint32_t l = (uint32_t)f->p.len +
				     !!(f->p.flags & PKT_TCP_SYN) +
				     !!(f->p.flags & PKT_TCP_FIN);

			CHECK(s->flags & PKT_TCP_ACK);
			CHECK(s->seq == 0 && s->ack == f->p.seq + l);
		}
	}
	if (s->len) {
		uint32_t allowed = c->edge, pe;

		CHECK(s->conn && s->conn == c->conn);
		CHECK(s->len <= 1460);
		if (pending_edge(f, idx, &pe) && seq_gt(pe, allowed))
			allowed = pe;
		CHECK(seq_le(s->seq + (uint32_t)s->len, allowed));
	}
	end = s->seq + (uint32_t)s->len + !!(s->flags & PKT_TCP_SYN) +
	      !!(s->flags & PKT_TCP_FIN);
	if (s->conn && s->conn == c->conn && seq_gt(end, c->snd_max))
		c->snd_max = end;
	if (!(s->flags & PKT_TCP_RST))
		c->ack_hint = end;
}

static int cli_of_conn(struct tcp_conn *conn)
{
	size_t len;
	const void *r = tcp_conn_route(conn, &len);
	int idx;

	CHECK(len == sizeof(idx));
	memcpy(&idx, r, sizeof(idx));
	CHECK(idx >= 0 && idx < NCLI);
	return idx;
}

static void on_open(void *o, struct tcp_conn *conn)
{
	struct fz *f = o;
	int idx = cli_of_conn(conn);
	struct cli *c = &f->cli[idx];
	const struct tcp_conn_stats *st = tcp_conn_stats(conn);

	CHECK(c->conn == NULL); /* one connection per tuple */
	CHECK(f->p.valid && f->p.idx == idx && (f->p.flags & PKT_TCP_ACK));
	CHECK(f->p.ack == st->isn_local + 1);
	f->opens++;
	c->conn = conn;
	c->expect = st->isn_peer + 1;
	c->snd_max = st->isn_local + 1;
	c->edge = f->p.ack + f->p.win;
	tcp_conn_set_app(conn, c);
}

static void on_data(void *o, struct tcp_conn *conn, const uint8_t *d,
		    size_t n)
{
	struct fz *f = o;
	struct cli *c = tcp_conn_app(conn);
	static const uint8_t reply[3000];

	CHECK(c && c->conn == conn);
	for (size_t i = 0; i < n; i++)
		CHECK(d[i] == stream_byte((int)(c - f->cli), c->expect + (uint32_t)i));
	c->expect += (uint32_t)n;
	if (n == 0)
		return;
	/* the app reacts to some requests from inside the callback */
	switch (d[0] & 7) {
	case 0:
	{
		int rc = tcp_conn_send(conn, reply, 1 + d[n - 1] * 11u, 0);

		CHECK(rc == 0 || rc == -ENOBUFS);
	}
		break;
	case 1:
		tcp_conn_send(conn, reply, 100, 1);
		tcp_conn_close(conn);
		break;
	case 2:
		if (d[n - 1] == 0x55)
			tcp_conn_abort(conn);
		break;
	case 3: /* a request's credit (on_writable comes when refused) */
		tcp_conn_take_request(conn);
		break;
	default:
		break;
	}
}

static void on_close(void *o, struct tcp_conn *conn, enum tcp_close_reason why)
{
	struct fz *f = o;
	struct cli *c = tcp_conn_app(conn);

	CHECK(why <= TCP_CLOSE_SHUTDOWN);
	CHECK(c && c->conn == conn);
	c->conn = NULL;
	f->closes++;
	CHECK(tcp_conn_send(conn, "x", 1, 0) == -EPIPE);
}

static uint32_t max_conns(void *o, uint32_t inst)
{
	(void)o;
	(void)inst;
	return INST_LIMIT;
}

/* Only for a connection still open (a request credit or send space). */
static void on_writable(void *o, struct tcp_conn *conn)
{
	struct fz *f = o;
	struct cli *c = tcp_conn_app(conn);

	CHECK(c && c->conn == conn && c >= f->cli && c < f->cli + NCLI);
}

static void budget(void *o, uint32_t inst, struct tcp_budget *b)
{
	(void)o;
	(void)inst;
	b->requests_per_s = 5; /* the 64-request burst, then one per 200 ms */
}

static const struct tcp_ops ops = {
	.on_data = on_data, .on_close = on_close, .emit = emit,
	.max_conns = max_conns, .on_open = on_open,
	.on_writable = on_writable, .budget = budget,
};

static void feed(struct fz *f, int idx, uint8_t flags, uint32_t seq,
		 uint32_t ack, uint16_t win, uint16_t mss, size_t len)
{
	static uint8_t payload[4096];
	struct cli *c = &f->cli[idx];
	struct tcp_seg_in in;
	uint32_t pe;

	for (size_t i = 0; i < len; i++)
		payload[i] = stream_byte(idx, seq + (uint32_t)i);
	memset(&in, 0, sizeof(in));
	in.instance_id = c->inst;
	in.family = c->family;
	in.local[0] = c->family == PKT_AF_INET ? 169 : 0xfd;
	in.remote[0] = 10;
	in.remote[3] = (uint8_t)(c->port & 1); /* two clients share addresses */
	in.lport = 80;
	in.rport = c->port;
	in.seq = seq;
	in.ack = ack;
	in.flags = flags;
	in.win = win;
	in.mss = mss;
	in.payload = len ? payload : NULL;
	in.len = len;
	in.route = &idx;
	in.route_len = sizeof(idx);
	f->p = (struct pending){true, idx, flags, seq, ack, win, len};
	tcp_input(f->e, &in, f->now);
	if (c->conn && pending_edge(f, idx, &pe) && seq_gt(pe, c->edge))
		c->edge = pe;
	f->p.valid = false;
}

static void check_bounds(struct fz *f)
{
	const struct tcp_stats *st = tcp_engine_stats(f->e);
	uint64_t d;

	CHECK(st->conns <= MAX_CONNS);
	for (int i = 0; i < NCLI; i++)
		CHECK(tcp_instance_conns(f->e, f->cli[i].inst) <= INST_LIMIT);
	d = tcp_next_deadline(f->e);
	CHECK(d == UINT64_MAX || d > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t wins[8] = {0, 1, 100, 536, 1000, 4096, 29200, 65535};
	static const uint8_t app_data[8192];
	struct tcp_cfg cfg;
	struct fz f;

	memset(&f, 0, sizeof(f));
	f.in = data;
	f.in_len = size;
	f.now = 1000ull * 1000000000ull;
	for (int i = 0; i < NCLI; i++) {
		f.cli[i].inst = (uint32_t)(1 + (i % 3));
		f.cli[i].family = i < 4 ? PKT_AF_INET : PKT_AF_INET6;
		f.cli[i].port = (uint16_t)(1000 + i / 2);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_conns = MAX_CONNS;
	cfg.rto_ns = 200 * MS;
	cfg.rto_max_ns = 2000 * MS;
	cfg.max_retries = 3;
	cfg.idle_ns = 30000 * MS;
	cfg.time_wait_ns = 1000 * MS;
	cfg.time_wait_max = 2;
	memset(cfg.key, 0x3c, sizeof(cfg.key));
	f.e = tcp_engine_new(&cfg, &ops, &f);
	if (!f.e)
		return 0;

	for (int op = 0; op < MAX_OPS && f.pos < f.in_len; op++) {
		uint8_t b = rd8(&f);
		int idx = (b >> 4) % NCLI;
		struct cli *c = &f.cli[idx];

		switch (b & 15) {
		case 0: /* SYN */
			c->seq_nxt = rd32(&f);
			feed(&f, idx, PKT_TCP_SYN, c->seq_nxt, 0, 65535,
			     rd8(&f) & 1 ? rd16(&f) : 0, 0);
			c->seq_nxt++;
			break;
		case 1: case 2: case 3: case 4: { /* ACK, maybe data/FIN */
			uint8_t x = rd8(&f), y = rd8(&f);
			int8_t dseq = (int8_t)rd8(&f), dack = (int8_t)rd8(&f);
			size_t len = (x & 3) == 0 ? 0 : (x & 3) == 3 ? rd16(&f) % 3000
							: y % 64;
			uint8_t fl = PKT_TCP_ACK | ((x & 4) ? PKT_TCP_FIN : 0) |
				     ((x & 8) ? PKT_TCP_PSH : 0);
			uint32_t seq = c->seq_nxt + (uint32_t)((x & 16) ? dseq : 0);
			uint32_t ack = c->ack_hint + (uint32_t)((x & 32) ? dack : 0);

			feed(&f, idx, fl, seq, ack, wins[y & 7], 0, len);
			if (!(x & 16))
				c->seq_nxt += (uint32_t)len + !!(fl & PKT_TCP_FIN);
			break;
		}
		case 5: /* time passes */
			f.now += (uint64_t)rd8(&f) * 10 * MS;
			tcp_timers(f.e, f.now);
			CHECK(tcp_next_deadline(f.e) > f.now);
			break;
		case 6: { /* the next timer */
			uint64_t d = tcp_next_deadline(f.e);

			if (d != UINT64_MAX && d >= f.now) {
				f.now = d;
				tcp_timers(f.e, f.now);
				CHECK(tcp_next_deadline(f.e) > f.now);
			}
			break;
		}
		case 7: /* the app sends */
			if (c->conn) {
				int rc = tcp_conn_send(c->conn, app_data,
						       rd16(&f) % sizeof(app_data),
						       rd8(&f) & 3);

				CHECK(rc == 0 || rc == -ENOBUFS || rc == -EPIPE);
			}
			break;
		case 8:
			if (c->conn)
				tcp_conn_close(c->conn);
			break;
		case 9:
			if (c->conn && (rd8(&f) & 3) == 0)
				tcp_conn_abort(c->conn);
			break;
		case 10: { /* anything, any numbers */
			uint8_t fl = rd8(&f);
			uint32_t seq = rd32(&f), ack = rd32(&f);

			feed(&f, idx, fl, seq, ack, rd16(&f), rd16(&f),
			     rd8(&f) % 32);
			break;
		}
		case 11: /* RST near the expected sequence number */
			feed(&f, idx, PKT_TCP_RST | (rd8(&f) & PKT_TCP_ACK),
			     c->seq_nxt + (uint32_t)(int8_t)rd8(&f), c->ack_hint,
			     0, 0, 0);
			break;
		case 12: /* SYN on a live tuple with the old or a new number */
			feed(&f, idx, PKT_TCP_SYN,
			     rd8(&f) & 1 ? c->seq_nxt - 1 : rd32(&f), 0, 65535,
			     0, 0);
			break;
		case 13: /* a retransmission of old data */
			feed(&f, idx, PKT_TCP_ACK, c->seq_nxt - rd8(&f),
			     c->ack_hint, 65535, 0, rd8(&f) % 200);
			break;
		default: /* duplicate ACK */
			feed(&f, idx, PKT_TCP_ACK, c->seq_nxt, c->ack_hint - 1,
			     wins[rd8(&f) & 7], 0, 0);
			break;
		}
		check_bounds(&f);
	}
	tcp_engine_free(f.e);
	CHECK(f.opens == f.closes);
	return 0;
}
