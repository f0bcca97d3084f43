/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Scripted segment exchanges for the TCP engine (smoltcp / lwIP style):
 * segments in, expected segments out, virtual time. Tests that matter for
 * both families run twice (setup_v4 / setup_v6). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pkt.h"
#include "tcp.h"
#include "cookie.h"

#define S PKT_TCP_SYN
#define A PKT_TCP_ACK
#define F PKT_TCP_FIN
#define R PKT_TCP_RST
#define P PKT_TCP_PSH

#define QMAX 4096          /* segments the fake interface can hold */
#define RXMAX (256 * 1024) /* bytes the fake app can collect */
#define T0 (1000ull * 1000000000ull)
#define MS 1000000ull
#define SEC 1000000000ull
#define CISN 1000u         /* client ISN of the default connection */

struct seg {
	uint32_t inst;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, mss;
	uint8_t ttl;
	bool has_conn;
	size_t len;
	uint8_t *data;
	uint16_t route_port; /* client port recorded in the route blob */
};

struct route_blob {
	uint32_t magic;
	uint16_t cport;
};
#define ROUTE_MAGIC 0x52545431u

struct h {
	struct tcp_engine *e;
	struct tcp_cfg cfg;
	struct seg q[QMAX];
	unsigned qn, qr;
	uint64_t now;
	uint8_t family;
	uint32_t inst;
	uint16_t cport;
	uint8_t caddr[16], saddr[16];
	/* app */
	struct tcp_conn *c;
	int opens, closes, eofs, writable;
	enum tcp_close_reason why;
	uint8_t *rx;
	size_t rxlen;
	const uint8_t *reply;
	size_t reply_len;
	uint8_t reply_ttl;
	bool close_after_reply, abort_on_data, close_on_eof_manual;
	uint32_t max_conns; /* returned by ops.max_conns */
	uint32_t out_fps;   /* returned by ops.budget */
	uint64_t out_bps;
	uint32_t req_rps;   /* returned by ops.budget */
	bool take_in_data;  /* on_data takes a request credit */
	int took, refused;
	uint32_t inst_counts[TCP_CNT__MAX];
};

/* ---- fake ops ----------------------------------------------------------- */

static void on_data(void *o, struct tcp_conn *c, const uint8_t *d, size_t n)
{
	struct h *h = o;

	if (n == 0) {
		h->eofs++;
		return;
	}
	assert_true(h->rxlen + n <= RXMAX);
	memcpy(h->rx + h->rxlen, d, n);
	h->rxlen += n;
	if (h->take_in_data)
		(void)(tcp_conn_take_request(c) ? h->took++ : h->refused++);
	if (h->abort_on_data) {
		tcp_conn_abort(c);
		return;
	}
	if (h->reply) {
		assert_int_equal(tcp_conn_send(c, h->reply, h->reply_len,
					       h->reply_ttl), 0);
		if (h->close_after_reply)
			tcp_conn_close(c);
	}
}

static void on_close(void *o, struct tcp_conn *c, enum tcp_close_reason why)
{
	struct h *h = o;

	h->closes++;
	h->why = why;
	if (h->c == c)
		h->c = NULL;
	/* Sending from on_close is refused. */
	assert_int_equal(tcp_conn_send(c, "x", 1, 0), -EPIPE);
}

static void emit(void *o, const struct tcp_seg_out *s)
{
	struct h *h = o;
	struct seg *q;
	const struct route_blob *rb = s->route;

	assert_true(h->qn < QMAX);
	assert_int_equal(s->route_len, sizeof(*rb));
	assert_int_equal(rb->magic, ROUTE_MAGIC);
	assert_true(s->ttl != 0);
	q = &h->q[h->qn++];
	q->inst = s->instance_id;
	q->seq = s->seq;
	q->ack = s->ack;
	q->flags = s->flags;
	q->win = s->win;
	q->mss = s->mss;
	q->ttl = s->ttl;
	q->has_conn = s->conn != NULL;
	q->len = s->len;
	q->route_port = rb->cport;
	q->data = NULL;
	if (s->len) {
		q->data = malloc(s->len);
		assert_non_null(q->data);
		memcpy(q->data, s->payload, s->len);
	}
}

static uint32_t max_conns(void *o, uint32_t inst)
{
	(void)inst;
	return ((struct h *)o)->max_conns;
}

static void on_open(void *o, struct tcp_conn *c)
{
	struct h *h = o;

	h->opens++;
	h->c = c;
}

static void on_writable(void *o, struct tcp_conn *c)
{
	(void)c;
	((struct h *)o)->writable++;
}

static void count_cb(void *o, uint32_t inst, enum tcp_counter w)
{
	(void)inst;
	((struct h *)o)->inst_counts[w]++;
}

static void budget(void *o, uint32_t inst, struct tcp_budget *b)
{
	(void)inst;
	b->frames_per_s = ((struct h *)o)->out_fps;
	b->bytes_per_s = ((struct h *)o)->out_bps;
	b->requests_per_s = ((struct h *)o)->req_rps;
}

static const struct tcp_ops ops = {
	.on_data = on_data, .on_close = on_close, .emit = emit,
	.max_conns = max_conns, .on_open = on_open,
	.on_writable = on_writable, .count = count_cb,
	.budget = budget,
};

/* ---- harness ------------------------------------------------------------ */

static void default_cfg(struct tcp_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->max_conns = 8;
	c->max_conns_per_inst = 4;
	c->rto_ns = 200 * MS;
	c->rto_max_ns = 3200 * MS;
	c->max_retries = 3;
	c->idle_ns = 10 * SEC;
	c->time_wait_ns = 1 * SEC;
	c->time_wait_max = 4;
	c->max_probes = 3;
	for (int i = 0; i < TCP_KEY_LEN; i++)
		c->key[i] = (uint8_t)(0xa5 ^ i);
}

static void engine_start(struct h *h)
{
	if (h->e)
		tcp_engine_free(h->e);
	h->e = tcp_engine_new(&h->cfg, &ops, h);
	assert_non_null(h->e);
}

static int setup_family(void **state, uint8_t family)
{
	struct h *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->rx = malloc(RXMAX);
	h->family = family;
	h->inst = 7;
	h->cport = 40000;
	h->now = T0;
	if (family == PKT_AF_INET) {
		const uint8_t c[4] = {10, 0, 0, 5}, s[4] = {169, 254, 169, 254};

		memcpy(h->caddr, c, 4);
		memcpy(h->saddr, s, 4);
	} else {
		const uint8_t c[16] = {0xfe, 0x80, [15] = 5};
		const uint8_t s[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54};

		memcpy(h->caddr, c, 16);
		memcpy(h->saddr, s, 16);
	}
	default_cfg(&h->cfg);
	engine_start(h);
	*state = h;
	return 0;
}

static int setup_v4(void **state) { return setup_family(state, PKT_AF_INET); }
static int setup_v6(void **state) { return setup_family(state, PKT_AF_INET6); }

static void q_clear(struct h *h)
{
	for (unsigned i = 0; i < h->qn; i++)
		free(h->q[i].data);
	h->qn = h->qr = 0;
}

static int teardown(void **state)
{
	struct h *h = *state;

	tcp_engine_free(h->e);
	q_clear(h);
	free(h->rx);
	free(h);
	return 0;
}

/* A segment from the client (h->cport) with window/MSS. */
static void in_full(struct h *h, uint8_t flags, uint32_t seq, uint32_t ack,
		    uint16_t win, uint16_t mss, const void *data, size_t len)
{
	struct route_blob rb = {ROUTE_MAGIC, h->cport};
	struct tcp_seg_in in;

	memset(&in, 0, sizeof(in));
	in.instance_id = h->inst;
	in.family = h->family;
	memcpy(in.local, h->saddr, 16);
	memcpy(in.remote, h->caddr, 16);
	in.lport = 80;
	in.rport = h->cport;
	in.seq = seq;
	in.ack = ack;
	in.flags = flags;
	in.win = win;
	in.mss = mss;
	in.payload = data;
	in.len = len;
	in.route = &rb;
	in.route_len = sizeof(rb);
	tcp_input(h->e, &in, h->now);
}

static void in_seg(struct h *h, uint8_t flags, uint32_t seq, uint32_t ack,
		   const void *data, size_t len)
{
	in_full(h, flags, seq, ack, 65535, 0, data, len);
}

static void tick(struct h *h, uint64_t ns)
{
	h->now += ns;
	tcp_timers(h->e, h->now);
}

/* Run timers at the next deadline. */
static void to_deadline(struct h *h)
{
	uint64_t d = tcp_next_deadline(h->e);

	assert_true(d != UINT64_MAX);
	assert_true(d >= h->now);
	h->now = d;
	tcp_timers(h->e, h->now);
}

static struct seg *pop_(struct h *h, const char *file, int line)
{
	if (h->qr >= h->qn)
		_fail(file, line);
	return &h->q[h->qr++];
}

/* Expect the next emitted segment (len < 0: don't check length). */
#define EXPECT(h, fl, sq, ak, ln) expect_(h, fl, sq, ak, ln, __FILE__, __LINE__)
static struct seg *expect_(struct h *h, uint8_t flags, uint32_t seq,
			   uint32_t ack, long len, const char *file, int line)
{
	struct seg *s = pop_(h, file, line);

	_assert_int_equal(s->flags, flags, file, line);
	_assert_int_equal(s->seq, seq, file, line);
	_assert_int_equal(s->ack, ack, file, line);
	if (len >= 0)
		_assert_int_equal(s->len, (size_t)len, file, line);
	_assert_int_equal(s->route_port, h->cport, file, line);
	return s;
}

#define EXPECT_NONE(h) expect_none_(h, __FILE__, __LINE__)
static void expect_none_(struct h *h, const char *file, int line)
{
	if (h->qr != h->qn) {
		struct seg *s = &h->q[h->qr];

		print_error("unexpected segment flags=%#x seq=%u ack=%u len=%zu\n",
			    s->flags, s->seq, s->ack, s->len);
		_fail(file, line);
	}
}

/* SYN (with MSS option mss, 0 = none) -> SYN-ACK; returns our ISN. */
static uint32_t syn(struct h *h, uint32_t cisn, uint16_t mss)
{
	struct seg *s;

	in_full(h, S, cisn, 0, 65535, mss, NULL, 0);
	s = EXPECT(h, S | A, h->q[h->qr].seq, cisn + 1, 0);
	assert_int_equal(s->mss, h->family == PKT_AF_INET ? 1460 : 1440);
	assert_int_equal(s->win, 65535);
	EXPECT_NONE(h);
	return s->seq;
}

/* Full handshake; returns our ISN + 1 (first data sequence number). */
static uint32_t open_conn(struct h *h, uint32_t cisn, uint16_t mss)
{
	uint32_t iss = syn(h, cisn, mss);
	int opens = h->opens;

	in_seg(h, A, cisn + 1, iss + 1, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->opens, opens + 1);
	assert_non_null(h->c);
	return iss + 1;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* The client's side of a transfer: takes every data segment in order,
 * checks it stays inside the window it advertised, ACKs with window win.
 * Returns bytes received; *fin set if a FIN came. */
static size_t client_drain(struct h *h, uint32_t cseq, uint32_t *rcv_nxt,
			   uint16_t win, uint8_t *buf, size_t cap, bool *fin)
{
	size_t got = 0;
	uint32_t right = *rcv_nxt + win;

	while (h->qr < h->qn) {
		struct seg *s = &h->q[h->qr++];

		assert_false(s->flags & R);
		assert_true(s->flags & A);
		assert_int_equal(s->ack, cseq);
		assert_int_equal(s->seq, *rcv_nxt);
		/* never beyond the advertised right edge */
		assert_true((int32_t)(s->seq + s->len - right) <= 0);
		assert_true(got + s->len <= cap);
		if (s->len)
			memcpy(buf + got, s->data, s->len);
		got += s->len;
		*rcv_nxt += (uint32_t)s->len;
		if (s->flags & F) {
			*rcv_nxt += 1;
			*fin = true;
		}
		in_full(h, A, cseq, *rcv_nxt, win, 0, NULL, 0);
		right = *rcv_nxt + win;
	}
	return got;
}

/* ---- SipHash ------------------------------------------------------------ */

static void test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* Reference vectors of the SipHash paper / reference code. */
	assert_true(mdr_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
	assert_true(mdr_siphash(key, msg, 15) == 0xa129ca6149be45e5ull);
	assert_true(mdr_siphash(key, msg, 1) == 0x74f839c593dc67fdull);
	assert_true(mdr_siphash(key, msg, 8) == 0x93f5f5799a932462ull);
}

/* ---- handshake and options ---------------------------------------------- */

static void test_handshake(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	isn = open_conn(h, CISN, 1460);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_OPENED], 1);
	assert_int_equal(h->inst_counts[TCP_CNT_OPENED], 1);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 1);
	assert_int_equal(tcp_conn_instance(h->c), h->inst);
	/* data flows after the handshake */
	in_seg(h, A | P, CISN + 1, isn, "GET", 3);
	EXPECT(h, A, isn, CISN + 4, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->rxlen, 3);
	assert_memory_equal(h->rx, "GET", 3);
}

static void test_syn_ack_has_only_mss(void **state)
{
	struct h *h = *state;

	in_full(h, S, CISN, 0, 65535, 1460, NULL, 0);
	/* the recorded segment has an MSS and no other option exists in the
	 * API: window scale, SACK and timestamps are never offered */
	assert_int_equal(h->q[0].flags, S | A);
	assert_int_equal(h->q[0].mss, h->family == PKT_AF_INET ? 1460 : 1440);
	assert_int_equal(h->q[0].len, 0);
	/* no connection is reported to the app before the handshake ends */
	assert_int_equal(h->opens, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_OPENED], 0);
}

/* The MSS used for sending, as seen from segment sizes of a 3000-byte reply. */
static size_t first_seg_len(struct h *h, uint16_t mss_opt)
{
	static uint8_t big[3000];
	uint32_t isn;
	size_t len;

	h->reply = big;
	h->reply_len = sizeof(big);
	isn = open_conn(h, CISN, mss_opt);
	in_seg(h, A, CISN + 1, isn, "x", 1);
	len = h->q[h->qr].len;
	tcp_conn_abort(h->c);
	q_clear(h);
	h->cport++;
	return len;
}

static void test_mss_rules(void **state)
{
	struct h *h = *state;
	size_t ours = h->family == PKT_AF_INET ? 1460 : 1440;

	assert_int_equal(first_seg_len(h, 0), TCP_MSS_DEFAULT);  /* absent */
	assert_int_equal(first_seg_len(h, 1000), 1000);          /* honoured */
	assert_int_equal(first_seg_len(h, 10), TCP_MSS_MIN);     /* clamped */
	assert_int_equal(first_seg_len(h, 9000), ours);          /* ours caps */
}

static void test_mss_option_zero_ignored(void **state)
{
	struct h *h = *state;
	struct tcp_seg_in in;
	struct route_blob rb = {ROUTE_MAGIC, 40000};
	struct pkt_view v;
	uint8_t frame[128];
	struct pkt_route r;
	size_t n;

	/* MSS value 0 on the wire parses as "absent" and yields 536 */
	memset(&r, 0, sizeof(r));
	r.l2_len = 14;
	r.family = h->family;
	memcpy(r.local, h->caddr, 16);
	memcpy(r.remote, h->saddr, 16);
	r.lport = 40000;
	r.rport = 80;
	/* an MSS option with value 0 on the wire: build with a placeholder
	 * value, patch it to 0 (the TCP checksum is not verified on input) */
	n = pkt_build_tcp(frame, sizeof(frame), &r, 5, 0, S, 1000, 1, 64,
			  NULL, 0);
	assert_true(n > 0);
	frame[n - 2] = 0;
	frame[n - 1] = 0;
	assert_int_equal(pkt_parse(frame, n, &v), 0);
	assert_int_equal(v.mss, 0);
	tcp_seg_in_from_pkt(&in, h->inst, &v, NULL);
	in.route = &rb;
	in.route_len = sizeof(rb);
	tcp_input(h->e, &in, h->now);
	/* the SYN-ACK came and the connection sends 536-byte segments */
	assert_int_equal(h->q[0].flags, S | A);
	tcp_engine_free(h->e);
	h->e = NULL;
	q_clear(h);
	engine_start(h);
	assert_int_equal(first_seg_len(h, v.mss), TCP_MSS_DEFAULT);
}

static void test_isn_unpredictable(void **state)
{
	struct h *h = *state;
	uint32_t a, b, c, d;

	a = syn(h, CISN, 0);
	h->cport++;
	b = syn(h, CISN, 0);
	h->cport++;
	c = syn(h, CISN + 1, 0);
	/* another secret, same segment: another ISN */
	h->cfg.key[0] ^= 1;
	engine_start(h);
	h->cport -= 2;
	d = syn(h, CISN, 0);
	assert_true(a != b && b != c && a != c && a != d);
	/* not a counter: differences are not small */
	assert_true(b - a > 65536 && c - b > 65536);
}

static void test_syn_with_payload_dropped(void **state)
{
	struct h *h = *state;

	in_seg(h, S, CISN, 0, "GET", 3);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_BAD_SEGMENTS], 1);
}

static void test_syn_ack_retransmitted(void **state)
{
	struct h *h = *state;
	uint32_t iss = syn(h, CISN, 0);

	/* the client retransmits its SYN: same SYN-ACK again */
	in_full(h, S, CISN, 0, 65535, 0, NULL, 0);
	EXPECT(h, S | A, iss, CISN + 1, 0);
	/* RTO retransmits it with backoff, then the half-open state goes
	 * away silently (no app callback) */
	to_deadline(h);
	assert_int_equal(h->now, T0 + 200 * MS);
	EXPECT(h, S | A, iss, CISN + 1, 0);
	to_deadline(h);
	assert_int_equal(h->now, T0 + 600 * MS);
	EXPECT(h, S | A, iss, CISN + 1, 0);
	to_deadline(h);
	EXPECT(h, S | A, iss, CISN + 1, 0);
	to_deadline(h);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(h->closes, 0);
}

static void test_syn_rcvd_bad_ack_gets_rst(void **state)
{
	struct h *h = *state;
	uint32_t iss = syn(h, CISN, 0);

	in_seg(h, A, CISN + 1, iss + 77, NULL, 0);
	EXPECT(h, R, iss + 77, 0, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->opens, 0);
	/* the right ACK still completes it */
	in_seg(h, A, CISN + 1, iss + 1, NULL, 0);
	assert_int_equal(h->opens, 1);
}

/* ---- resets for segments matching nothing -------------------------------- */

struct rst_case {
	const char *name;
	uint8_t flags;
	uint32_t seq, ack;
	size_t len;
	bool reply;
	uint8_t rflags;
	uint32_t rseq, rack;
};

static void test_rst_for_unmatched(void **state)
{
	struct h *h = *state;
	static const struct rst_case cases[] = {
		{"ack", A, 100, 5000, 0, true, R, 5000, 0},
		{"ack+data", A | P, 100, 5000, 10, true, R, 5000, 0},
		{"fin+ack", F | A, 100, 7000, 0, true, R, 7000, 0},
		{"data no ack", P, 100, 0, 10, true, R | A, 0, 110},
		{"fin no ack", F, 100, 0, 5, true, R | A, 0, 106},
		{"bare", 0, 100, 0, 0, true, R | A, 0, 100},
		{"syn+ack", S | A, 100, 9000, 0, true, R, 9000, 0},
		{"rst", R, 100, 0, 0, false, 0, 0, 0},
		{"rst+ack", R | A, 100, 5, 0, false, 0, 0, 0},
		{"syn+fin", S | F, 100, 0, 0, false, 0, 0, 0},
		{"syn+rst", S | R, 100, 0, 0, false, 0, 0, 0},
	};
	static const uint8_t data[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rst_case *c = &cases[i];

		q_clear(h);
		in_seg(h, c->flags, c->seq, c->ack, c->len ? data : NULL,
		       c->len);
		if (!c->reply) {
			EXPECT_NONE(h);
			continue;
		}
		EXPECT(h, c->rflags, c->rseq, c->rack, 0);
		EXPECT_NONE(h);
	}
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_RESETS_SENT], 7);
}

/* ---- limits, eviction, cookies ------------------------------------------- */

static void test_instance_limit_refuses(void **state)
{
	struct h *h = *state;

	h->max_conns = 2;
	open_conn(h, CISN, 0);
	h->cport++;
	open_conn(h, CISN, 0);
	h->cport++;
	/* both connections spoke just now: not evictable */
	in_seg(h, S, 5000, 0, NULL, 0);
	EXPECT(h, R | A, 0, 5001, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 2);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_REFUSED], 1);
	assert_int_equal(h->inst_counts[TCP_CNT_REFUSED], 1);
	/* another instance on the same addresses is not affected */
	h->inst = 8;
	syn(h, 5000, 0);
	assert_int_equal(tcp_instance_conns(h->e, 8), 1);
}

static void test_instance_limit_evicts_idle(void **state)
{
	struct h *h = *state;
	uint32_t isn1;

	h->max_conns = 2;
	isn1 = open_conn(h, CISN, 0);
	h->cport++;
	h->now += 2 * SEC;
	open_conn(h, CISN, 0);
	h->cport++;
	/* the first is idle for 2 s: evicted with a RST, the SYN accepted */
	in_full(h, S, 5000, 0, 65535, 0, NULL, 0);
	h->cport -= 2;
	EXPECT(h, R | A, isn1, CISN + 1, 0);
	h->cport += 2;
	EXPECT(h, S | A, h->q[h->qr].seq, 5001, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_EVICTED);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 2);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_EVICTED], 1);
}

static void test_total_full_uses_cookies(void **state)
{
	struct h *h = *state;
	uint32_t iss;
	struct seg *s;

	h->cfg.max_conns = 2;
	engine_start(h);
	h->reply = (const uint8_t *)"OK";
	h->reply_len = 2;
	open_conn(h, CISN, 0);
	h->inst++;
	open_conn(h, CISN, 0);
	h->inst++;
	/* table full, nothing idle: SYN-ACK without state */
	in_full(h, S, 5000, 0, 65535, 1300, NULL, 0);
	s = EXPECT(h, S | A, h->q[h->qr].seq, 5001, 0);
	iss = s->seq;
	assert_false(s->has_conn);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 2);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_SENT], 1);
	/* still full when the ACK comes back: refused with RST */
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_REFUSED], 1);
	/* make room; the cookie ACK carrying the request now creates the
	 * connection and the request is answered */
	tcp_conn_abort(h->c);
	q_clear(h);
	in_seg(h, A | P, 5001, iss + 1, "GET", 3);
	EXPECT(h, A | P, iss + 1, 5004, 2);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 1);
	assert_int_equal(h->opens, 3);
	/* a forged cookie is just a segment matching nothing */
	h->cport++;
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
}

/* The ISN XDP puts in its SYN-ACK for the harness' connection (cookie.h). */
static uint32_t xdp_cookie(struct h *h, uint32_t cisn, unsigned mss_idx)
{
	struct mdr_cookie_tuple t;

	memset(&t, 0, sizeof(t));
	t.instance_id = h->inst;
	t.family = h->family;
	memcpy(t.local, h->saddr, 16);
	memcpy(t.remote, h->caddr, 16);
	t.lport = 80;
	t.rport = h->cport;
	return mdr_cookie_make(h->cfg.key, &t, cisn, mdr_cookie_slot(h->now), mss_idx);
}

/* The handshake answered by XDP: the engine first sees the guest's ACK
 * (here with its request) and creates the connection, established, with
 * the MSS the cookie encodes (index 0: 536, so a 1000-byte reply takes two
 * segments). */
static void test_xdp_cookie_creates_established(void **state)
{
	static uint8_t body[1000];
	struct h *h = *state;
	uint32_t iss = xdp_cookie(h, 5000, 0);

	memset(body, 'x', sizeof(body));
	h->reply = body;
	h->reply_len = sizeof(body);
	in_seg(h, A | P, 5001, iss + 1, "GET", 3);
	EXPECT(h, A, iss + 1, 5004, 536);
	EXPECT(h, A | P, iss + 1 + 536, 5004, 464);
	EXPECT_NONE(h);
	assert_int_equal(h->opens, 1);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 1);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 1);
	assert_int_equal(h->inst_counts[TCP_CNT_COOKIES_OK], 1);
	assert_int_equal(tcp_conn_stats(h->c)->isn_local, iss);
	assert_int_equal(tcp_conn_stats(h->c)->isn_peer, 5000);
	/* a bare ACK works the same (another port, MSS index 7: 1460) */
	h->cport++;
	iss = xdp_cookie(h, 7000, 7);
	in_seg(h, A, 7001, iss + 1, NULL, 0);
	EXPECT_NONE(h);
	in_seg(h, A | P, 7001, iss + 1, "GET", 3);
	EXPECT(h, A | P, iss + 1, 7004, 1000);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 2);
}

/* A bad cookie (wrong bits, or another connection's) is an ACK for no
 * connection: RST, counted as a refused cookie, nothing created. */
static void test_xdp_cookie_bad_gets_rst(void **state)
{
	struct h *h = *state;
	uint32_t iss = xdp_cookie(h, 5000, 3);

	in_seg(h, A, 5001, (iss ^ 0x100u) + 1, NULL, 0);
	EXPECT(h, R, (iss ^ 0x100u) + 1, 0, 0);
	in_seg(h, A, 5002, iss + 1, NULL, 0); /* another peer ISN */
	EXPECT(h, R, iss + 1, 0, 0);
	h->cport++; /* another port */
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(h->opens, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_BAD], 3);
	assert_int_equal(h->inst_counts[TCP_CNT_COOKIES_BAD], 3);
	/* expired: 3 minutes later the good one is refused too */
	h->cport--;
	h->now += 180 * SEC;
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

/* The instance's connection cap holds for XDP's handshakes: a valid
 * cookie over the cap is refused with RST. */
static void test_xdp_cookie_over_instance_cap(void **state)
{
	struct h *h = *state;
	uint32_t iss;

	h->max_conns = 2;
	for (int i = 0; i < 2; i++) {
		iss = xdp_cookie(h, 5000, 7);
		in_seg(h, A, 5001, iss + 1, NULL, 0);
		h->cport++;
	}
	EXPECT_NONE(h);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 2);
	iss = xdp_cookie(h, 5000, 7);
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 2);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_REFUSED], 1);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 2);
}

static void test_cookie_expires(void **state)
{
	struct h *h = *state;
	uint32_t iss;

	h->cfg.max_conns = 1;
	engine_start(h);
	h->inst = 100;
	open_conn(h, CISN, 0);
	h->inst = 101;
	in_full(h, S, 5000, 0, 65535, 0, NULL, 0);
	iss = EXPECT(h, S | A, h->q[h->qr].seq, 5001, 0)->seq;
	tcp_conn_abort(h->c);
	q_clear(h);
	/* 3 minutes later (beyond two 64 s slots) it is no longer valid */
	h->now += 180 * SEC;
	in_seg(h, A, 5001, iss + 1, NULL, 0);
	EXPECT(h, R, iss + 1, 0, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

static void test_total_full_evicts_idle(void **state)
{
	struct h *h = *state;

	h->cfg.max_conns = 2;
	engine_start(h);
	open_conn(h, CISN, 0);
	h->inst++;
	open_conn(h, CISN, 0);
	h->inst++;
	h->now += 5 * SEC;
	in_full(h, S, 5000, 0, 65535, 0, NULL, 0);
	EXPECT(h, R | A, h->q[h->qr].seq, CISN + 1, 0); /* oldest evicted */
	EXPECT(h, S | A, h->q[h->qr].seq, 5001, 0);
	assert_true(h->q[h->qr - 1].has_conn);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 2);
}

static void test_same_tuple_other_instance(void **state)
{
	struct h *h = *state;
	uint32_t isn7, isn9;

	isn7 = open_conn(h, CISN, 0);
	h->inst = 9;
	isn9 = open_conn(h, CISN, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 2);
	in_seg(h, A, CISN + 1, isn9, "nine", 4);
	EXPECT(h, A, isn9, CISN + 5, 0);
	assert_int_equal(h->q[h->qr - 1].inst, 9);
	h->inst = 7;
	in_seg(h, A, CISN + 1, isn7, "seven", 5);
	EXPECT(h, A, isn7, CISN + 6, 0);
	assert_int_equal(h->q[h->qr - 1].inst, 7);
}

/* ---- data transfer ------------------------------------------------------- */

static void test_reply_piggybacks_ack(void **state)
{
	struct h *h = *state;
	uint32_t isn;
	struct seg *s;

	h->reply = (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n";
	h->reply_len = strlen((const char *)h->reply);
	isn = open_conn(h, CISN, 0);
	in_seg(h, A | P, CISN + 1, isn, "GET / HTTP/1.1\r\n\r\n", 18);
	s = EXPECT(h, A | P, isn, CISN + 19, (long)h->reply_len);
	assert_memory_equal(s->data, h->reply, h->reply_len);
	assert_int_equal(s->ttl, TCP_DEFAULT_TTL);
	EXPECT_NONE(h);
	in_seg(h, A, CISN + 19, isn + (uint32_t)h->reply_len, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_conn_stats(h->c)->bytes_out, h->reply_len);
	assert_int_equal(tcp_conn_stats(h->c)->bytes_in, 18);
}

static void transfer(struct h *h, size_t size, uint16_t mss, uint16_t win)
{
	uint8_t *body = malloc(size), *got = malloc(size + 1);
	uint32_t isn, rcv;
	bool fin = false;
	size_t n;

	assert_non_null(body);
	assert_non_null(got);
	fill(body, size, 3);
	h->reply = body;
	h->reply_len = size;
	h->close_after_reply = true;
	isn = open_conn(h, CISN, mss);
	in_full(h, A | P, CISN + 1, isn, win, 0, "GET", 3);
	rcv = isn;
	n = client_drain(h, CISN + 4, &rcv, win, got, size + 1, &fin);
	assert_int_equal(n, size);
	assert_memory_equal(got, body, size);
	assert_true(fin);
	assert_int_equal(rcv, isn + size + 1);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_RETRANSMITS], 0);
	free(body);
	free(got);
}

static void test_64k_reply_intact(void **state)
{
	/* 64 KiB of user data plus an HTTP header's worth */
	transfer(*state, 65536 + 300, 1460, 65535);
}

static void test_64k_reply_small_window(void **state)
{
	/* the window, not the MSS, limits: never beyond it */
	transfer(*state, 65536 + 300, 1460, 1000);
}

static void test_64k_reply_min_mss(void **state)
{
	transfer(*state, 65536 + 300, 88, 4096);
}

static void test_never_beyond_window(void **state)
{
	struct h *h = *state;
	static uint8_t body[5000];
	uint32_t isn;
	struct seg *s;

	fill(body, sizeof(body), 1);
	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1400);
	in_full(h, A, CISN + 1, isn, 1000, 0, "x", 1);
	s = EXPECT(h, A, isn, CISN + 2, 1000);
	EXPECT_NONE(h);
	/* ACK half: the window slides 500 bytes; with 500 in flight a
	 * 500-byte piece waits (sender SWS avoidance) */
	in_full(h, A, CISN + 2, isn + 500, 1000, 0, NULL, 0);
	EXPECT_NONE(h);
	/* nothing in flight: what the window allows goes */
	in_full(h, A, CISN + 2, isn + 1000, 500, 0, NULL, 0);
	s = EXPECT(h, A, isn + 1000, CISN + 2, 500);
	assert_memory_equal(s->data, body + 1000, 500);
	EXPECT_NONE(h);
	/* a wider window lets a full MSS out */
	in_full(h, A, CISN + 2, isn + 1500, 4000, 0, NULL, 0);
	EXPECT(h, A, isn + 1500, CISN + 2, 1400);
	EXPECT(h, A, isn + 2900, CISN + 2, 1400);
	EXPECT(h, A | P, isn + 4300, CISN + 2, 700);
	EXPECT_NONE(h);
}

static void test_ttl_follows_bytes(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	isn = open_conn(h, CISN, 1460);
	in_seg(h, A, CISN + 1, isn, "PUT", 3);
	q_clear(h);
	/* the token reply goes with hop limit 1, the next with the default */
	assert_int_equal(tcp_conn_send(h->c, "token", 5, 1), 0);
	assert_int_equal(tcp_conn_send(h->c, "data", 4, 0), 0);
	assert_int_equal(h->q[0].len, 5);
	assert_int_equal(h->q[0].ttl, 1);
	assert_int_equal(h->q[1].len, 4);
	assert_int_equal(h->q[1].ttl, TCP_DEFAULT_TTL);
	/* a retransmission keeps the TTL of its bytes */
	to_deadline(h);
	assert_int_equal(h->q[2].seq, isn);
	assert_int_equal(h->q[2].len, 5);
	assert_int_equal(h->q[2].ttl, 1);
}

static void test_send_buffer_bounded(void **state)
{
	struct h *h = *state;
	static uint8_t big[TCP_SNDBUF_MAX];
	uint32_t isn;

	isn = open_conn(h, CISN, 1460);
	assert_int_equal(tcp_conn_send_space(h->c), TCP_SNDBUF_MAX);
	assert_int_equal(tcp_conn_send(h->c, big, TCP_SNDBUF_MAX - 10, 0), 0);
	assert_int_equal(tcp_conn_send_space(h->c), 10);
	assert_int_equal(tcp_conn_send(h->c, big, 11, 0), -ENOBUFS);
	assert_int_equal(h->writable, 0);
	/* the peer acks the first segment: space frees, the app is told */
	in_seg(h, A, CISN + 1, isn + 1460, NULL, 0);
	assert_int_equal(h->writable, 1);
	assert_int_equal(tcp_conn_send(h->c, big, 11, 0), 0);
	assert_true(TCP_SNDBUF_MAX >= 65536 + 4096 + 8 * 512);
}

/* ---- retransmission ------------------------------------------------------ */

static void test_rto_backoff_then_rst(void **state)
{
	struct h *h = *state;
	uint32_t isn;
	uint64_t t;

	h->reply = (const uint8_t *)"hello";
	h->reply_len = 5;
	isn = open_conn(h, CISN, 0);
	in_seg(h, A, CISN + 1, isn, "x", 1);
	EXPECT(h, A | P, isn, CISN + 2, 5);
	t = h->now;
	assert_int_equal(tcp_next_deadline(h->e), t + 200 * MS);
	to_deadline(h);
	EXPECT(h, A | P, isn, CISN + 2, 5);
	assert_int_equal(tcp_next_deadline(h->e), t + 600 * MS);  /* 400 */
	to_deadline(h);
	EXPECT(h, A | P, isn, CISN + 2, 5);
	assert_int_equal(tcp_next_deadline(h->e), t + 1400 * MS); /* 800 */
	to_deadline(h);
	EXPECT(h, A | P, isn, CISN + 2, 5);
	/* max_retries (3) used up: RST, on_close(TIMEOUT) */
	to_deadline(h);
	EXPECT(h, R | A, isn + 5, CISN + 2, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_TIMEOUT);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_RETRANSMITS], 3);
	assert_int_equal(h->inst_counts[TCP_CNT_RETRANSMITS], 3);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

static void test_rto_resets_on_progress(void **state)
{
	struct h *h = *state;
	static uint8_t body[3000];
	uint32_t isn;

	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1000);
	in_seg(h, A, CISN + 1, isn, "x", 1);
	EXPECT(h, A, isn, CISN + 2, 1000);
	EXPECT(h, A, isn + 1000, CISN + 2, 1000);
	EXPECT(h, A | P, isn + 2000, CISN + 2, 1000);
	/* RTO: only the first segment is resent */
	to_deadline(h);
	EXPECT(h, A, isn, CISN + 2, 1000);
	EXPECT_NONE(h);
	/* it arrives and the peer had the rest too: everything acked */
	h->now += 10 * MS;
	in_seg(h, A, CISN + 2, isn + 3000, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_next_deadline(h->e), h->now + 10 * SEC); /* idle */
	/* the peer had only the first: the rest goes as ACKs come */
	assert_int_equal(tcp_conn_send(h->c, body, 3000, 0), 0);
	q_clear(h);
	to_deadline(h);
	EXPECT(h, A, isn + 3000, CISN + 2, 1000);
	in_seg(h, A, CISN + 2, isn + 4000, NULL, 0);
	EXPECT(h, A, isn + 4000, CISN + 2, 1000);
	EXPECT(h, A | P, isn + 5000, CISN + 2, 1000);
	EXPECT_NONE(h);
}

static void test_fast_retransmit(void **state)
{
	struct h *h = *state;
	static uint8_t body[4000];
	uint32_t isn;
	struct seg *s;

	fill(body, sizeof(body), 9);
	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1000);
	in_seg(h, A, CISN + 1, isn, "x", 1);
	q_clear(h);
	/* segment 2 lost: the peer acks 1000 four times */
	in_seg(h, A, CISN + 2, isn + 1000, NULL, 0);
	in_seg(h, A, CISN + 2, isn + 1000, NULL, 0);
	in_seg(h, A, CISN + 2, isn + 1000, NULL, 0);
	EXPECT_NONE(h);
	in_seg(h, A, CISN + 2, isn + 1000, NULL, 0);
	s = EXPECT(h, A, isn + 1000, CISN + 2, 1000);
	assert_memory_equal(s->data, body + 1000, 1000);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_RETRANSMITS], 1);
	/* no new segment is invented afterwards */
	in_seg(h, A, CISN + 2, isn + 4000, NULL, 0);
	EXPECT_NONE(h);
}

static void test_zero_window_probe(void **state)
{
	struct h *h = *state;
	static uint8_t body[2000];
	uint32_t isn;

	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1400);
	/* the request arrives with a closed window: nothing may be sent */
	in_full(h, A, CISN + 1, isn, 0, 0, "x", 1);
	EXPECT(h, A, isn, CISN + 2, 0); /* only the ACK of the request */
	EXPECT_NONE(h);
	/* probes: old sequence number, no data, backing off */
	to_deadline(h);
	EXPECT(h, A, isn - 1, CISN + 2, 0);
	EXPECT_NONE(h);
	in_full(h, A, CISN + 2, isn, 0, 0, NULL, 0); /* still closed */
	to_deadline(h);
	EXPECT(h, A, isn - 1, CISN + 2, 0);
	/* the window opens */
	in_full(h, A, CISN + 2, isn, 3000, 0, NULL, 0);
	EXPECT(h, A, isn, CISN + 2, 1400);
	EXPECT(h, A | P, isn + 1400, CISN + 2, 600);
	EXPECT_NONE(h);
}

static void test_zero_window_unanswered_gives_up(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	h->reply = (const uint8_t *)"abc";
	h->reply_len = 3;
	isn = open_conn(h, CISN, 1460);
	in_full(h, A, CISN + 1, isn, 0, 0, "x", 1);
	q_clear(h);
	for (int i = 0; i < 3; i++) {
		to_deadline(h);
		EXPECT(h, A, isn - 1, CISN + 2, 0);
	}
	to_deadline(h);
	EXPECT(h, R | A, isn, CISN + 2, 0);
	assert_int_equal(h->why, TCP_CLOSE_TIMEOUT);
}

/* ---- close --------------------------------------------------------------- */

static void test_client_closes_first(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	h->reply = (const uint8_t *)"OK";
	h->reply_len = 2;
	isn = open_conn(h, CISN, 0);
	in_seg(h, A, CISN + 1, isn, "GET", 3);
	EXPECT(h, A | P, isn, CISN + 4, 2);
	in_seg(h, A, CISN + 4, isn + 2, NULL, 0);
	/* keep-alive: the client closes; we answer FIN right away */
	in_seg(h, F | A, CISN + 4, isn + 2, NULL, 0);
	EXPECT(h, F | A, isn + 2, CISN + 5, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->eofs, 1);
	assert_true(h->closes == 0);
	in_seg(h, A, CISN + 5, isn + 3, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_NORMAL);
	/* the passive closer keeps no TIME_WAIT */
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_CLOSED], 1);
}

static void test_request_with_fin(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	h->reply = (const uint8_t *)"OK";
	h->reply_len = 2;
	isn = open_conn(h, CISN, 0);
	/* request and FIN in one segment: the reply carries our FIN */
	in_seg(h, F | A | P, CISN + 1, isn, "GET", 3);
	EXPECT(h, F | A | P, isn, CISN + 5, 2);
	EXPECT_NONE(h);
	in_seg(h, A, CISN + 5, isn + 3, NULL, 0);
	assert_int_equal(h->why, TCP_CLOSE_NORMAL);
}

static void test_server_closes_first(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	h->reply = (const uint8_t *)"bye";
	h->reply_len = 3;
	h->close_after_reply = true;
	isn = open_conn(h, CISN, 0);
	in_seg(h, A, CISN + 1, isn, "GET", 3);
	EXPECT(h, F | A | P, isn, CISN + 4, 3);
	EXPECT_NONE(h);
	in_seg(h, A, CISN + 4, isn + 4, NULL, 0); /* FIN_WAIT_2 */
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 0);
	/* data after our close is acknowledged, not delivered */
	in_seg(h, A, CISN + 4, isn + 4, "more", 4);
	EXPECT(h, A, isn + 4, CISN + 8, 0);
	assert_int_equal(h->rxlen, 3);
	in_seg(h, F | A, CISN + 8, isn + 4, NULL, 0);
	EXPECT(h, A, isn + 4, CISN + 9, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_NORMAL);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 1);
	/* TIME_WAIT: a retransmitted FIN is acked again */
	in_seg(h, F | A, CISN + 8, isn + 4, NULL, 0);
	EXPECT(h, A, isn + 4, CISN + 9, 0);
	/* it expires after time_wait_ns */
	assert_int_equal(tcp_next_deadline(h->e), h->now + 1 * SEC);
	tick(h, 1 * SEC);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 0);
	assert_int_equal(tcp_next_deadline(h->e), UINT64_MAX);
	/* afterwards the same FIN matches nothing */
	in_seg(h, F | A, CISN + 8, isn + 4, NULL, 0);
	EXPECT(h, R, isn + 4, 0, 0);
}

static void test_simultaneous_close(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	h->reply = (const uint8_t *)"bye";
	h->reply_len = 3;
	h->close_after_reply = true;
	isn = open_conn(h, CISN, 0);
	in_seg(h, A, CISN + 1, isn, "GET", 3);
	EXPECT(h, F | A | P, isn, CISN + 4, 3);
	/* the client's FIN crosses ours (it has not seen our FIN) */
	in_seg(h, F | A, CISN + 4, isn + 3, NULL, 0);
	EXPECT(h, A, isn + 4, CISN + 5, 0);
	assert_int_equal(h->closes, 0); /* CLOSING */
	in_seg(h, A, CISN + 5, isn + 4, NULL, 0);
	assert_int_equal(h->closes, 1);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 1);
}

static void test_fin_retransmitted(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	isn = open_conn(h, CISN, 0);
	tcp_conn_close(h->c);
	EXPECT(h, F | A, isn, CISN + 1, 0);
	to_deadline(h);
	EXPECT(h, F | A, isn, CISN + 1, 0);
	in_seg(h, A, CISN + 1, isn + 1, NULL, 0);
	to_deadline(h); /* FIN_WAIT_2 ends by idle timeout */
	EXPECT(h, R | A, isn + 1, CISN + 1, 0);
	assert_int_equal(h->why, TCP_CLOSE_IDLE);
}

static void test_time_wait_replaced_by_syn(void **state)
{
	struct h *h = *state;
	uint32_t isn;

	isn = open_conn(h, CISN, 0);
	tcp_conn_close(h->c);
	EXPECT(h, F | A, isn, CISN + 1, 0);
	in_seg(h, F | A, CISN + 1, isn + 1, NULL, 0);
	EXPECT(h, A, isn + 1, CISN + 2, 0);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 1);
	/* the client reuses the port at once */
	syn(h, CISN + 100000, 0);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 1);
}

/* The same, when XDP answered the new SYN: the record gives way to the
 * cookie ACK, which creates the connection (the SYN never came here). */
static void test_time_wait_replaced_by_xdp_cookie(void **state)
{
	struct h *h = *state;
	uint32_t isn, iss;

	isn = open_conn(h, CISN, 0);
	tcp_conn_close(h->c);
	EXPECT(h, F | A, isn, CISN + 1, 0);
	in_seg(h, F | A, CISN + 1, isn + 1, NULL, 0);
	EXPECT(h, A, isn + 1, CISN + 2, 0);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 1);
	iss = xdp_cookie(h, CISN + 100000, 7);
	in_seg(h, A, CISN + 100001, iss + 1, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 1);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 1);
	/* a late ACK of the old connection's FIN is still the record's */
	h->cport++;
	isn = open_conn(h, CISN, 0);
	tcp_conn_close(h->c);
	EXPECT(h, F | A, isn, CISN + 1, 0);
	in_seg(h, F | A, CISN + 1, isn + 1, NULL, 0);
	EXPECT(h, A, isn + 1, CISN + 2, 0);
	in_seg(h, A, CISN + 2, isn + 2, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 1);
	/* the request itself, when XDP dropped the handshake ACK: the record
	 * gives way, the connection is created and the request answered */
	iss = xdp_cookie(h, CISN + 200000, 7);
	h->reply = (const uint8_t *)"OK";
	h->reply_len = 2;
	in_seg(h, A | P, CISN + 200001, iss + 1, "GET", 3);
	EXPECT(h, A | P, iss + 1, CISN + 200004, 2);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 0);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_COOKIES_OK], 2);
}

static void test_time_wait_bounded(void **state)
{
	struct h *h = *state;

	h->cfg.time_wait_max = 2;
	engine_start(h);
	for (int i = 0; i < 5; i++) {
		uint32_t isn = open_conn(h, CISN, 0);

		tcp_conn_close(h->c);
		in_seg(h, F | A, CISN + 1, isn + 1, NULL, 0);
		q_clear(h);
		h->cport++;
	}
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 2);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

/* ---- RST and SYN on a connection ----------------------------------------- */

static void test_rst_in_window_exact(void **state)
{
	struct h *h = *state;

	open_conn(h, CISN, 0);
	in_seg(h, R, CISN + 1, 0, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_RESET);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

static void test_rst_in_window_inexact_challenged(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	in_seg(h, R, CISN + 100, 0, NULL, 0);
	EXPECT(h, A, isn, CISN + 1, 0); /* challenge ACK */
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 0);
}

static void test_rst_out_of_window_ignored(void **state)
{
	struct h *h = *state;

	open_conn(h, CISN, 0);
	in_seg(h, R, CISN + 1 + 70000, 0, NULL, 0);
	in_seg(h, R, CISN - 5, 0, NULL, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 0);
}

static void test_syn_on_established_challenged(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	in_seg(h, S, 777777, 0, NULL, 0);
	EXPECT(h, A, isn, CISN + 1, 0);
	EXPECT_NONE(h);
	in_seg(h, S, CISN + 1, 0, NULL, 0); /* in window too */
	EXPECT(h, A, isn, CISN + 1, 0);
	assert_int_equal(h->closes, 0);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 1);
	/* the peer (rebooted) answers the challenge with a RST at our ACK */
	in_seg(h, R, CISN + 1, 0, NULL, 0);
	assert_int_equal(h->why, TCP_CLOSE_RESET);
}

static void test_ack_beyond_sent_dropped(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	in_seg(h, A, CISN + 1, isn + 500, "GET", 3);
	EXPECT(h, A, isn, CISN + 1, 0); /* data not taken */
	EXPECT_NONE(h);
	assert_int_equal(h->rxlen, 0);
}

/* ---- receive path -------------------------------------------------------- */

static void test_out_of_order_dropped(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	in_seg(h, A, CISN + 1 + 5, isn, "56789", 5);
	EXPECT(h, A, isn, CISN + 1, 0); /* duplicate ACK for the gap */
	assert_int_equal(h->rxlen, 0);
	in_seg(h, A, CISN + 1, isn, "01234", 5);
	EXPECT(h, A, isn, CISN + 6, 0);
	in_seg(h, A, CISN + 1 + 5, isn, "56789", 5);
	EXPECT(h, A, isn, CISN + 11, 0);
	assert_int_equal(h->rxlen, 10);
	assert_memory_equal(h->rx, "0123456789", 10);
}

static void test_overlap_trimmed(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	in_seg(h, A, CISN + 1, isn, "GET /", 5);
	EXPECT(h, A, isn, CISN + 6, 0);
	/* a retransmission covering old and new bytes, with DIFFERENT old
	 * bytes: only the new part is taken */
	in_seg(h, A, CISN + 1 + 3, isn, "XXlatest", 8);
	EXPECT(h, A, isn, CISN + 12, 0);
	/* an exact duplicate: acked, not delivered */
	in_seg(h, A, CISN + 1, isn, "GET /", 5);
	EXPECT(h, A, isn, CISN + 12, 0);
	assert_int_equal(h->rxlen, 11);
	assert_memory_equal(h->rx, "GET /latest", 11);
}

static void test_data_beyond_window_trimmed(void **state)
{
	struct h *h = *state;
	uint8_t *big = calloc(1, 70000);
	uint32_t isn = open_conn(h, CISN, 0);

	assert_non_null(big);
	in_seg(h, A | F, CISN + 1, isn, big, 70000);
	EXPECT(h, A, isn, CISN + 1 + 65535, 0);
	assert_int_equal(h->rxlen, 65535);
	assert_int_equal(h->eofs, 0); /* the FIN was beyond the window */
	free(big);
}

/* ---- app API ------------------------------------------------------------- */

static void test_abort_sends_rst(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	tcp_conn_abort(h->c);
	EXPECT(h, R | A, isn, CISN + 1, 0);
	assert_int_equal(h->why, TCP_CLOSE_ABORT);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

static void test_abort_from_on_data(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	h->abort_on_data = true;
	in_seg(h, A, CISN + 1, isn, "bad", 3);
	EXPECT(h, R | A, isn, CISN + 4, 0);
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_ABORT);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

static void test_idle_timeout(void **state)
{
	struct h *h = *state;
	uint32_t isn = open_conn(h, CISN, 0);

	tick(h, 9 * SEC);
	EXPECT_NONE(h);
	in_seg(h, A, CISN + 1, isn, "x", 1); /* activity restarts it */
	q_clear(h);
	tick(h, 9 * SEC);
	EXPECT_NONE(h);
	tick(h, 1 * SEC);
	EXPECT(h, R | A, isn, CISN + 2, 0);
	assert_int_equal(h->why, TCP_CLOSE_IDLE);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_TIMEOUTS], 1);
}

static void test_engine_free_closes(void **state)
{
	struct h *h = *state;

	open_conn(h, CISN, 0);
	h->cport++;
	open_conn(h, CISN, 0);
	h->cport++;
	syn(h, CISN, 0); /* half-open: no on_close owed */
	tcp_engine_free(h->e);
	h->e = NULL;
	EXPECT_NONE(h);
	assert_int_equal(h->closes, 2);
	assert_int_equal(h->why, TCP_CLOSE_SHUTDOWN);
	h->e = tcp_engine_new(&h->cfg, &ops, h);
}

static void test_app_pointer_and_route(void **state)
{
	struct h *h = *state;
	int x;
	size_t len;
	const struct route_blob *rb;

	open_conn(h, CISN, 0);
	tcp_conn_set_app(h->c, &x);
	assert_ptr_equal(tcp_conn_app(h->c), &x);
	rb = tcp_conn_route(h->c, &len);
	assert_int_equal(len, sizeof(*rb));
	assert_int_equal(rb->cport, h->cport);
	assert_false(tcp_conn_peer_closed(h->c));
	tcp_conn_close(h->c);
	assert_int_equal(tcp_conn_send(h->c, "x", 1, 0), -EPIPE);
	assert_int_equal(tcp_conn_send_space(h->c), 0);
}

static void test_bad_input_rejected(void **state)
{
	struct h *h = *state;
	struct tcp_seg_in in;
	uint8_t route[TCP_ROUTE_MAX + 1] = {0};

	memset(&in, 0, sizeof(in));
	in.instance_id = 1;
	in.family = 5;
	in.flags = S;
	in.lport = in.rport = 1;
	tcp_input(h->e, &in, h->now);
	in.family = PKT_AF_INET;
	in.route = route;
	in.route_len = sizeof(route);
	tcp_input(h->e, &in, h->now);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_BAD_SEGMENTS], 2);
	assert_null(tcp_engine_new(&h->cfg, &(struct tcp_ops){0}, h));
}

static void test_instance_limit_default_from_cfg(void **state)
{
	struct h *h = *state;

	/* ops.max_conns says 0: cfg.max_conns_per_inst (4) applies */
	for (int i = 0; i < 4; i++) {
		open_conn(h, CISN, 0);
		h->cport++;
	}
	in_seg(h, S, 5000, 0, NULL, 0);
	EXPECT(h, R | A, 0, 5001, 0);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 4);
}

static void test_instance_limit_lowered(void **state)
{
	struct h *h = *state;

	for (int i = 0; i < 3; i++) {
		open_conn(h, CISN, 0);
		h->cport++;
	}
	/* the operator lowers max_connections to 1; all three are idle */
	h->max_conns = 1;
	h->now += 2 * SEC;
	in_full(h, S, 5000, 0, 65535, 0, NULL, 0);
	assert_int_equal(h->closes, 3);
	assert_int_equal(tcp_instance_conns(h->e, h->inst), 1);
	assert_int_equal(h->q[h->qn - 1].flags, S | A);
}

static void pipelined_data(void *o, struct tcp_conn *c, const uint8_t *d,
			   size_t n)
{
	(void)o;
	/* one reply per request byte, all from one callback */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tcp_conn_send(c, d + i, 1, 0), 0);
}

static void test_pipelined_replies_share_a_segment(void **state)
{
	struct h *h = *state;
	struct tcp_ops o = ops;
	uint32_t isn;
	struct seg *s;

	o.on_data = pipelined_data;
	tcp_engine_free(h->e);
	h->e = tcp_engine_new(&h->cfg, &o, h);
	isn = open_conn(h, CISN, 0);
	in_seg(h, A | P, CISN + 1, isn, "abc", 3);
	s = EXPECT(h, A | P, isn, CISN + 4, 3);
	assert_memory_equal(s->data, "abc", 3);
	EXPECT_NONE(h);
}

static void test_eof_waits_for_app_with_pending_send(void **state)
{
	struct h *h = *state;
	static uint8_t big[TCP_SNDBUF_MAX];
	uint32_t isn = open_conn(h, CISN, 0);

	assert_int_equal(tcp_conn_send(h->c, big, TCP_SNDBUF_MAX, 0), 0);
	assert_int_equal(tcp_conn_send(h->c, big, 1, 0), -ENOBUFS);
	q_clear(h);
	/* the client half-closes: the app still owes bytes, no FIN yet */
	in_seg(h, F | A, CISN + 1, isn, NULL, 0);
	assert_int_equal(h->eofs, 1);
	assert_true(tcp_conn_peer_closed(h->c));
	for (unsigned i = h->qr; i < h->qn; i++)
		assert_false(h->q[i].flags & F);
	/* space comes back, the app sends the rest and closes */
	q_clear(h);
	in_seg(h, A, CISN + 2, isn + TCP_MSS_DEFAULT, NULL, 0);
	assert_int_equal(h->writable, 1);
	assert_int_equal(tcp_conn_send(h->c, big, 1, 0), 0);
	tcp_conn_close(h->c);
	assert_int_equal(tcp_conn_send_space(h->c), 0);
}

static void test_empty_engine_has_no_deadline(void **state)
{
	struct h *h = *state;

	assert_int_equal(tcp_next_deadline(h->e), UINT64_MAX);
	tick(h, 100 * SEC);
	EXPECT_NONE(h);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 0);
}

/* ---- on the wire: engine output through pkt_build_tcp / pkt_parse ------- */

struct wire {
	struct pkt_route route;
	uint8_t frames[64][2048];
	size_t lens[64];
	int n;
};

static void wire_emit(void *o, const struct tcp_seg_out *s)
{
	struct wire *w = o;

	assert_true(w->n < 64);
	assert_int_equal(s->route_len, sizeof(struct pkt_route));
	w->lens[w->n] = pkt_build_tcp(w->frames[w->n], 2048, s->route, s->seq,
				      s->ack, s->flags, s->win, s->mss, s->ttl,
				      s->payload, s->len);
	assert_true(w->lens[w->n] > 0);
	w->n++;
}

static void wire_data(void *o, struct tcp_conn *c, const uint8_t *d, size_t n)
{
	(void)o;
	(void)d;
	if (n)
		assert_int_equal(tcp_conn_send(c, "pong", 4, 0), 0);
}

static void wire_roundtrip(uint8_t family)
{
	static const struct tcp_ops wops = {.on_data = wire_data,
					    .emit = wire_emit};
	struct wire w;
	struct tcp_cfg cfg;
	struct tcp_engine *e;
	struct pkt_route guest; /* the guest's own view, to build its frames */
	struct pkt_view v, sv;
	struct pkt_route r;
	struct tcp_seg_in in;
	uint8_t f[256];
	size_t n;
	const uint8_t gmac[6] = {2, 0, 0, 0, 0, 5}, mmac[6] = {2, 0xa9, 0xfe,
							     0xa9, 0xfe, 0xfe};

	memset(&w, 0, sizeof(w));
	default_cfg(&cfg);
	e = tcp_engine_new(&cfg, &wops, &w);
	assert_non_null(e);
	memset(&guest, 0, sizeof(guest));
	memcpy(guest.l2, mmac, 6);
	memcpy(guest.l2 + 6, gmac, 6);
	guest.l2_len = 14;
	guest.family = family;
	if (family == PKT_AF_INET) {
		const uint8_t g[4] = {10, 0, 0, 5}, m[4] = {169, 254, 169, 254};

		memcpy(guest.local, g, 4);
		memcpy(guest.remote, m, 4);
	} else {
		const uint8_t g[16] = {0xfe, 0x80, [15] = 5};
		const uint8_t m[16] = {0xfd, 0, 0xe, 0xc2, [15] = 0x54};

		memcpy(guest.local, g, 16);
		memcpy(guest.remote, m, 16);
	}
	guest.lport = 33333;
	guest.rport = 80;

	/* SYN */
	n = pkt_build_tcp(f, sizeof(f), &guest, 100, 0, S, 65535, 1460, 64,
			  NULL, 0);
	assert_int_equal(pkt_parse(f, n, &v), 0);
	pkt_route_from_view(&v, &r);
	tcp_seg_in_from_pkt(&in, 1, &v, &r);
	tcp_input(e, &in, T0);
	assert_int_equal(w.n, 1);
	/* the SYN-ACK parses back, checksums verify, addresses swapped */
	assert_int_equal(pkt_parse(w.frames[0], w.lens[0], &sv), 0);
	assert_int_equal(sv.flags, S | A);
	assert_int_equal(sv.mss, family == PKT_AF_INET ? 1460 : 1440);
	assert_int_equal(sv.sport, 80);
	assert_int_equal(sv.dport, 33333);
	assert_memory_equal(sv.src, guest.remote, 16);
	assert_memory_equal(sv.dst, guest.local, 16);
	assert_memory_equal(sv.l2, gmac, 6);
	assert_memory_equal(sv.l2 + 6, mmac, 6);
	assert_int_equal(pkt_tcp_csum(family, sv.src, sv.dst,
				      w.frames[0] + sv.l4_off,
				      w.lens[0] - sv.l4_off), 0);
	/* ACK + request -> reply */
	n = pkt_build_tcp(f, sizeof(f), &guest, 101, sv.seq + 1, A | P, 65535,
			  0, 64, (const uint8_t *)"ping", 4);
	assert_int_equal(pkt_parse(f, n, &v), 0);
	pkt_route_from_view(&v, &r);
	tcp_seg_in_from_pkt(&in, 1, &v, &r);
	tcp_input(e, &in, T0 + MS);
	assert_int_equal(w.n, 2);
	assert_int_equal(pkt_parse(w.frames[1], w.lens[1], &sv), 0);
	assert_int_equal(sv.payload_len, 4);
	assert_memory_equal(sv.payload, "pong", 4);
	assert_int_equal(sv.ack, 105);
	assert_int_equal(pkt_tcp_csum(family, sv.src, sv.dst,
				      w.frames[1] + sv.l4_off,
				      w.lens[1] - sv.l4_off), 0);
	tcp_engine_free(e);
}

/* ---- hostile peers (issue 12) -------------------------------------------- */

/* Segments in the queue not yet looked at; checks each is data of at
 * least min bytes unless it ends the reply (PSH). */
static unsigned data_segs(struct h *h, size_t min)
{
	unsigned n = 0;

	for (; h->qr < h->qn; h->qr++) {
		struct seg *s = &h->q[h->qr];

		if (!s->len)
			continue;
		if (!(s->flags & P))
			assert_true(s->len >= min);
		n++;
	}
	return n;
}

/* Data bytes in the queue not yet looked at (marks them looked at). */
static size_t data_bytes(struct h *h)
{
	size_t n = 0;

	for (; h->qr < h->qn; h->qr++)
		n += h->q[h->qr].len;
	return n;
}

/* The end (sequence) of the last segment in the queue, or hi. */
static uint32_t q_hi(struct h *h, uint32_t hi)
{
	return h->qn ? h->q[h->qn - 1].seq + (uint32_t)h->q[h->qn - 1].len : hi;
}

/* A guest announces MSS 88 and a 64 KiB window, pipelines requests for a
 * big reply and ACKs the highest sequence number: segments stay >= 536
 * bytes, the first flight is the initial window and every ACK releases at
 * most twice the bytes it newly acknowledges. */
static void test_tiny_mss_and_ack_storm_bounded(void **state)
{
	struct h *h = *state;
	static uint8_t body[60000];
	uint32_t isn, hi;
	unsigned total = 0;

	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 88);
	in_full(h, A | P, CISN + 1, isn, 65535, 0, "GET", 3);
	assert_int_equal(data_segs(h, TCP_MSS_MIN), TCP_INIT_WND_SEGS);
	assert_int_equal(h->q[h->qn - 1].len, TCP_MSS_MIN);
	hi = q_hi(h, isn);
	total = TCP_INIT_WND_SEGS;
	q_clear(h);
	/* the highest sequence acknowledged, over and over */
	for (uint32_t una = isn, i = 0; i < 200 && hi != isn + sizeof(body);
	     i++) {
		unsigned n;

		h->now += MS;
		in_full(h, A, CISN + 4, hi, 65535, 0, NULL, 0);
		h->qr = 0;
		n = data_segs(h, TCP_MSS_MIN);
		h->qr = 0;
		assert_true(data_bytes(h) <= 2u * (hi - una));
		una = hi;
		total += n;
		hi = q_hi(h, hi);
		q_clear(h);
	}
	assert_int_equal(hi, isn + sizeof(body));
	/* 60000 bytes in 536-byte segments, never 88-byte ones */
	assert_int_equal(total, (sizeof(body) + TCP_MSS_MIN - 1) / TCP_MSS_MIN);
	/* duplicate ACKs with a wide-open window release nothing new */
	for (int i = 0; i < 5; i++)
		in_full(h, A, CISN + 4, hi, 65535, 0, NULL, 0);
	assert_int_equal(data_segs(h, 0), 0);
}

/* A client with MSS 1460 and a 64 KiB window gets a 16 KiB reply (and its
 * headers) in the first flight, without waiting for an ACK; the next
 * reply on the keep-alive connection, once all is acknowledged, too. */
static void test_16k_reply_one_flight(void **state)
{
	struct h *h = *state;
	static uint8_t body[16384 + 300];
	uint32_t isn, hi;

	fill(body, sizeof(body), 3);
	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1460);
	in_full(h, A | P, CISN + 1, isn, 65535, 0, "GET", 3);
	assert_int_equal(data_bytes(h), sizeof(body));
	hi = q_hi(h, isn);
	assert_int_equal(hi, isn + sizeof(body));
	q_clear(h);
	h->now += MS;
	in_full(h, A | P, CISN + 4, hi, 65535, 0, "GET", 3);
	assert_int_equal(data_bytes(h), sizeof(body));
}

/* Duplicate ACKs release nothing, an ACK of 1 byte at most one segment,
 * and 1-byte ACKs one after another release at most twice what they
 * acknowledge together (plus a segment) however many there are. */
static void test_small_acks_release_little(void **state)
{
	struct h *h = *state;
	static uint8_t body[60000];
	uint32_t isn, una;
	size_t out = 0;

	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 1460);
	in_full(h, A | P, CISN + 1, isn, 65535, 0, "GET", 3);
	assert_int_equal(data_bytes(h), (size_t)TCP_INIT_WND_SEGS * 1460);
	q_clear(h);
	/* the third one retransmits the first segment (fast retransmit),
	 * nothing beyond the first flight leaves */
	for (int i = 0; i < 50; i++) {
		h->now += MS;
		in_full(h, A, CISN + 4, isn, 65535, 0, NULL, 0);
	}
	for (; h->qr < h->qn; h->qr++)
		assert_true((int32_t)(h->q[h->qr].seq +
				      (uint32_t)h->q[h->qr].len -
				      (isn + TCP_INIT_WND_SEGS * 1460)) <= 0);
	q_clear(h);
	una = isn + 1;
	in_full(h, A, CISN + 4, una, 65535, 0, NULL, 0);
	assert_true(data_segs(h, 0) <= 1);
	q_clear(h);
	for (int i = 0; i < 300; i++) {
		h->now += MS;
		in_full(h, A, CISN + 4, ++una, 65535, 0, NULL, 0);
		out += data_bytes(h);
		q_clear(h);
	}
	assert_true(out <= 2u * 300 + 1460);
}

/* The instance's output budget holds segments back (counted) and sends
 * them when the bucket refills; closing every connection does not refill
 * it. */
static void test_out_budget(void **state)
{
	struct h *h = *state;
	static uint8_t body[TCP_MSS_DEFAULT * 240];
	uint32_t isn, hi = 0;
	unsigned sent = 0;
	uint64_t d;

	h->out_fps = 100; /* depth: the 64-frame floor */
	h->out_bps = 1000000000ull;
	h->reply = body;
	h->reply_len = sizeof(body);
	isn = open_conn(h, CISN, 0);
	in_full(h, A | P, CISN + 1, isn, 65535, 0, "GET", 3);
	for (int i = 0; i < 20; i++) {
		sent += data_segs(h, 0);
		if (h->qn)
			hi = h->q[h->qn - 1].seq + (uint32_t)h->q[h->qn - 1].len;
		q_clear(h);
		in_full(h, A, CISN + 4, hi, 65535, 0, NULL, 0);
	}
	sent += data_segs(h, 0);
	q_clear(h);
	/* the burst (64 frames) went out, then the budget held the rest */
	assert_int_equal(sent, 64);
	assert_true(h->inst_counts[TCP_CNT_OUT_DEFERRED] >= 1);
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_OUT_DEFERRED],
			 h->inst_counts[TCP_CNT_OUT_DEFERRED]);
	/* a frame's worth of tokens comes after 10 ms at 100 frames/s */
	d = tcp_next_deadline(h->e);
	assert_true(d > h->now && d <= h->now + 10 * MS + 1);
	to_deadline(h);
	assert_int_equal(data_segs(h, 0), 1);
	q_clear(h);
	/* a second later the bucket is full again (64): the ACK of all
	 * that was sent releases the initial window, no more */
	h->now += SEC;
	in_full(h, A, CISN + 4, isn + (uint32_t)(65 * TCP_MSS_DEFAULT), 65535,
		0, NULL, 0);
	assert_int_equal(data_segs(h, 0), TCP_INIT_WND_SEGS);
	q_clear(h);
	/* empty the bucket again; closing and reopening does not refill it */
	hi = isn + (uint32_t)(75 * TCP_MSS_DEFAULT);
	for (uint32_t held = h->inst_counts[TCP_CNT_OUT_DEFERRED], i = 0;
	     held == h->inst_counts[TCP_CNT_OUT_DEFERRED]; i++) {
		assert_true(i < 20);
		in_full(h, A, CISN + 4, hi, 65535, 0, NULL, 0);
		if (h->qn)
			hi = h->q[h->qn - 1].seq + (uint32_t)h->q[h->qn - 1].len;
		q_clear(h);
	}
	tcp_conn_abort(h->c);
	q_clear(h);
	tick(h, MS);
	h->cport++;
	isn = open_conn(h, CISN, 0);
	in_full(h, A | P, CISN + 1, isn, 65535, 0, "GET", 3);
	assert_true(data_segs(h, 0) <= 1);
}

/* The request budget: a burst of at least 64 requests, then one per
 * 1/rps s; a refusal is counted once per wait and on_writable comes when
 * a credit is there; closing and reopening does not refill the bucket; no
 * budget (0) is unlimited. */
static void test_request_budget(void **state)
{
	struct h *h = *state;
	uint32_t isn;
	int w;

	h->req_rps = 10; /* depth: the 64-request floor (10 x 250 ms is less) */
	isn = open_conn(h, CISN, 0);
	for (int i = 0; i < 64; i++)
		assert_true(tcp_conn_take_request(h->c));
	w = h->writable;
	assert_false(tcp_conn_take_request(h->c));
	assert_false(tcp_conn_take_request(h->c));
	assert_int_equal(h->inst_counts[TCP_CNT_REQ_DEFERRED], 1); /* one wait */
	assert_int_equal(tcp_engine_stats(h->e)->cnt[TCP_CNT_REQ_DEFERRED], 1);
	/* a credit comes after 100 ms at 10 requests/s */
	assert_true(tcp_next_deadline(h->e) > h->now);
	assert_true(tcp_next_deadline(h->e) <= h->now + 100 * MS + 1);
	to_deadline(h);
	assert_int_equal(h->writable, w + 1);
	assert_true(tcp_conn_take_request(h->c));
	assert_false(tcp_conn_take_request(h->c));
	assert_int_equal(h->inst_counts[TCP_CNT_REQ_DEFERRED], 2);
	/* from inside on_data too: the wait is scheduled when it returns */
	h->take_in_data = true;
	in_seg(h, A | P, CISN + 1, isn, "GET", 3);
	assert_int_equal(h->refused, 1);
	assert_true(tcp_next_deadline(h->e) <= h->now + 100 * MS + 1);
	/* a connection closed while it waits: no call for it */
	w = h->writable;
	tcp_conn_abort(h->c);
	q_clear(h);
	tick(h, 200 * MS);
	assert_int_equal(h->writable, w);
	/* reopened at once: the bucket has what 200 ms gave, no more */
	h->cport++;
	h->take_in_data = false;
	open_conn(h, CISN, 0);
	assert_true(tcp_conn_take_request(h->c));
	assert_true(tcp_conn_take_request(h->c));
	assert_false(tcp_conn_take_request(h->c));
	/* ten seconds later, the burst again and no more */
	tick(h, 10 * SEC - 100 * MS);
	for (int i = 0; i < 64; i++)
		assert_true(tcp_conn_take_request(h->c));
	assert_false(tcp_conn_take_request(h->c));
}

static void test_request_budget_unlimited(void **state)
{
	struct h *h = *state;

	h->req_rps = 0;
	open_conn(h, CISN, 0);
	for (int i = 0; i < 10000; i++)
		assert_true(tcp_conn_take_request(h->c));
	assert_int_equal(h->inst_counts[TCP_CNT_REQ_DEFERRED], 0);
}

/* A peer that answers every zero-window probe with a zero window is reset
 * after max_probes probes: the answers are not progress. */
static void test_zero_window_answered_gives_up(void **state)
{
	struct h *h = *state;
	uint32_t isn;
	int probes = 0;

	h->reply = (const uint8_t *)"abc";
	h->reply_len = 3;
	isn = open_conn(h, CISN, 1460);
	in_full(h, A, CISN + 1, isn, 0, 0, "x", 1);
	q_clear(h);
	for (int i = 0; i < 50 && h->closes == 0; i++) {
		to_deadline(h);
		if (h->qn && h->q[h->qn - 1].flags == A &&
		    h->q[h->qn - 1].seq == isn - 1) {
			probes++;
			/* the peer is alive and keeps its window shut */
			in_full(h, A, CISN + 2, isn, 0, 0, NULL, 0);
		}
		q_clear(h);
	}
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_TIMEOUT);
	assert_int_equal(probes, 3);
}

/* The same on a connection XDP's handshake opened (created at the ACK). */
static void test_zero_window_answered_gives_up_xdp_cookie(void **state)
{
	struct h *h = *state;
	uint32_t isn;
	int probes = 0;

	h->reply = (const uint8_t *)"abc";
	h->reply_len = 3;
	isn = xdp_cookie(h, CISN, 7) + 1;
	in_seg(h, A, CISN + 1, isn, NULL, 0);
	assert_int_equal(h->opens, 1);
	in_full(h, A, CISN + 1, isn, 0, 0, "x", 1);
	q_clear(h);
	for (int i = 0; i < 50 && h->closes == 0; i++) {
		to_deadline(h);
		if (h->qn && h->q[h->qn - 1].flags == A &&
		    h->q[h->qn - 1].seq == isn - 1) {
			probes++;
			in_full(h, A, CISN + 2, isn, 0, 0, NULL, 0);
		}
		q_clear(h);
	}
	assert_int_equal(h->closes, 1);
	assert_int_equal(h->why, TCP_CLOSE_TIMEOUT);
	assert_int_equal(probes, 3);
}

/* The send buffers of one instance's connections are bounded together;
 * a connection waiting for the instance's room hears when another frees
 * it. */
static void test_inst_sndbuf_bounded(void **state)
{
	struct h *h = *state;
	static uint8_t big[TCP_SNDBUF_MAX];
	struct tcp_conn *c1, *c2;
	uint32_t isn1;

	h->cfg.inst_sndbuf_max = TCP_SNDBUF_MAX + 1000;
	engine_start(h);
	isn1 = open_conn(h, CISN, 1460);
	c1 = h->c;
	h->cport++;
	open_conn(h, CISN, 1460);
	c2 = h->c;
	assert_int_equal(tcp_conn_send(c1, big, TCP_SNDBUF_MAX, 0), 0);
	assert_int_equal(tcp_conn_send_space(c2), 1000);
	assert_int_equal(tcp_conn_send(c2, big, 1001, 0), -ENOBUFS);
	assert_int_equal(tcp_conn_send(c2, big, 1000, 0), 0);
	assert_int_equal(tcp_conn_send(c2, big, 1, 0), -ENOBUFS);
	q_clear(h);
	/* another instance is not affected */
	h->inst++;
	h->cport++;
	open_conn(h, CISN, 1460);
	assert_int_equal(tcp_conn_send_space(h->c), TCP_SNDBUF_MAX);
	h->inst--;
	/* c1's peer acknowledges a segment: c2 (silent) is told */
	h->cport -= 2;
	h->writable = 0;
	in_seg(h, A, CISN + 1, isn1 + 1460, NULL, 0);
	assert_int_equal(h->writable, 1);
	assert_int_equal(tcp_conn_send_space(c2), 1460);
}

/* A full connection table: the instance holding more than its share loses
 * its own idle connections, not those of an instance within its share. */
static void test_table_full_evicts_hog_first(void **state)
{
	struct h *h = *state;

	h->cfg.max_conns = 8;
	h->max_conns = 8;
	engine_start(h);
	h->inst = 20; /* the victim's two connections are the oldest */
	open_conn(h, CISN, 0);
	h->cport++;
	open_conn(h, CISN, 0);
	h->cport++;
	h->now += SEC;
	h->inst = 21; /* the hog fills the rest */
	for (int i = 0; i < 6; i++) {
		open_conn(h, CISN, 0);
		h->cport++;
	}
	h->now += 5 * SEC;
	q_clear(h);
	/* a third instance's SYN: room is made at the hog's cost */
	h->inst = 22;
	in_full(h, S, 5000, 0, 65535, 0, NULL, 0);
	assert_int_equal(tcp_instance_conns(h->e, 20), 2);
	assert_int_equal(tcp_instance_conns(h->e, 21), 5);
	assert_int_equal(tcp_instance_conns(h->e, 22), 1);
	/* the hog's own SYNs only ever replace its own connections */
	h->inst = 21;
	for (int i = 0; i < 4; i++) {
		h->cport++;
		in_full(h, S, 6000, 0, 65535, 0, NULL, 0);
	}
	assert_int_equal(tcp_instance_conns(h->e, 20), 2);
	assert_int_equal(tcp_instance_conns(h->e, 22), 1);
	assert_int_equal(tcp_engine_stats(h->e)->conns, 8);
}

/* A full TIME_WAIT FIFO: an instance at its share replaces its own
 * records; another instance's records stay. */
static void test_time_wait_fair(void **state)
{
	struct h *h = *state;
	uint16_t victim_port;
	uint32_t visn = 0;

	h->cfg.time_wait_max = 4;
	engine_start(h);
	for (int k = 0; k < 12; k++) {
		uint32_t isn;

		h->inst = k < 2 ? 30 : 31; /* the victim closes first */
		isn = open_conn(h, CISN, 0);
		tcp_conn_close(h->c);
		in_seg(h, F | A, CISN + 1, isn + 1, NULL, 0);
		if (k == 0)
			visn = isn;
		q_clear(h);
		h->cport++;
	}
	assert_int_equal(tcp_engine_stats(h->e)->time_wait, 4);
	/* the victim's first record is still there: a retransmitted FIN is
	 * ACKed from TIME_WAIT (no record: RST) */
	victim_port = h->cport - 12;
	h->cport = victim_port;
	h->inst = 30;
	in_seg(h, F | A, CISN + 1, visn + 1, NULL, 0);
	EXPECT(h, A, visn + 1, CISN + 2, 0);
	EXPECT_NONE(h);
}

static void test_wire_roundtrip(void **state)
{
	wire_roundtrip(((struct h *)*state)->family);
}

#define T4(f) cmocka_unit_test_setup_teardown(f, setup_v4, teardown)
#define T6(f) cmocka_unit_test_setup_teardown(f, setup_v6, teardown)
#define TB(f) T4(f), T6(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		TB(test_handshake),
		TB(test_syn_ack_has_only_mss),
		TB(test_mss_rules),
		T4(test_mss_option_zero_ignored),
		TB(test_isn_unpredictable),
		T4(test_syn_with_payload_dropped),
		T4(test_syn_ack_retransmitted),
		T4(test_syn_rcvd_bad_ack_gets_rst),
		TB(test_rst_for_unmatched),
		T4(test_instance_limit_refuses),
		T4(test_instance_limit_evicts_idle),
		TB(test_total_full_uses_cookies),
		T4(test_cookie_expires),
		TB(test_xdp_cookie_creates_established),
		TB(test_xdp_cookie_bad_gets_rst),
		TB(test_xdp_cookie_over_instance_cap),
		TB(test_time_wait_replaced_by_xdp_cookie),
		TB(test_zero_window_answered_gives_up_xdp_cookie),
		T4(test_total_full_evicts_idle),
		T4(test_same_tuple_other_instance),
		TB(test_reply_piggybacks_ack),
		TB(test_64k_reply_intact),
		T4(test_64k_reply_small_window),
		T6(test_64k_reply_min_mss),
		TB(test_never_beyond_window),
		T4(test_ttl_follows_bytes),
		T4(test_send_buffer_bounded),
		TB(test_rto_backoff_then_rst),
		T4(test_rto_resets_on_progress),
		TB(test_fast_retransmit),
		TB(test_zero_window_probe),
		T4(test_zero_window_unanswered_gives_up),
		TB(test_client_closes_first),
		T4(test_request_with_fin),
		TB(test_server_closes_first),
		T4(test_simultaneous_close),
		T4(test_fin_retransmitted),
		TB(test_time_wait_replaced_by_syn),
		T4(test_time_wait_bounded),
		TB(test_rst_in_window_exact),
		T4(test_rst_in_window_inexact_challenged),
		T4(test_rst_out_of_window_ignored),
		TB(test_syn_on_established_challenged),
		T4(test_ack_beyond_sent_dropped),
		TB(test_out_of_order_dropped),
		T4(test_overlap_trimmed),
		T4(test_data_beyond_window_trimmed),
		T4(test_abort_sends_rst),
		T4(test_abort_from_on_data),
		TB(test_idle_timeout),
		T4(test_engine_free_closes),
		T4(test_app_pointer_and_route),
		T4(test_bad_input_rejected),
		T4(test_instance_limit_default_from_cfg),
		T4(test_instance_limit_lowered),
		T4(test_pipelined_replies_share_a_segment),
		T4(test_eof_waits_for_app_with_pending_send),
		T4(test_empty_engine_has_no_deadline),
		TB(test_wire_roundtrip),
		TB(test_tiny_mss_and_ack_storm_bounded),
		T4(test_16k_reply_one_flight),
		T4(test_small_acks_release_little),
		T4(test_out_budget),
		T4(test_request_budget),
		T4(test_request_budget_unlimited),
		T4(test_zero_window_answered_gives_up),
		T4(test_inst_sndbuf_bounded),
		T4(test_table_full_evicts_hog_first),
		T4(test_time_wait_fair),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
