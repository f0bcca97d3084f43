/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * synack.h - the handshake in XDP (bpf/mdr_synack.h) through
 * BPF_PROG_TEST_RUN, included by xdp.c (its environment and fixture).
 * The expected SYN-ACK is built independently of the BPF code: the
 * responder's own frame builder (pkt_build_tcp) on the route pkt_parse
 * derives from the SYN, with the cookie from user/core/cookie.c; both
 * checksums are verified again with frame.h's one's-complement sum.
 */
#ifndef MDR_TEST_SYNACK_H
#define MDR_TEST_SYNACK_H

#include "cookie.h"

/* What the responder publishes (app.c cookie_publish) on a 1500 MTU. */
#define SA_MSS4 1460
#define SA_MSS6 1440
#define SA_WIN 3584
#define SA_TTL 64
/* Attempts when the cookie's 64 s slot turns during a run. */
#define SA_SLOT_TRIES 3

static const uint8_t sa_key[MDR_COOKIE_KEY_LEN] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
						   0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

/* Publish (or withdraw) a cookie key, and turn xdp-synack on with it. */
static void sa_publish(int on)
{
	struct mdr_syncookie sc;
	struct mdr_config cfg;
	uint32_t k = 0;

	config_get(&cfg);
	cfg.flags &= ~MDR_CFG_F_NO_XDP_SYNACK;
	config_put(&cfg);
	memset(&sc, 0, sizeof(sc));
	if (on) {
		memcpy(sc.key, sa_key, sizeof(sc.key));
		sc.key_set = 1;
		sc.mss4 = SA_MSS4;
		sc.mss6 = SA_MSS6;
		sc.win = SA_WIN;
		sc.ttl = SA_TTL;
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(E.skel->maps.mdr_syncookie), &k, &sc,
					     BPF_ANY), 0);
}

/* The connection of the guest's segment `in` (parsed into v), as a cookie
 * covers it. */
static void sa_tuple(const struct frame *in, uint32_t inst, struct pkt_view *v,
		     struct mdr_cookie_tuple *t)
{
	assert_int_equal(pkt_parse(in->b, in->len, v), PKT_OK);
	memset(t, 0, sizeof(*t));
	t->instance_id = inst;
	t->family = v->family;
	memcpy(t->local, v->dst, 16);
	memcpy(t->remote, v->src, 16);
	t->lport = v->dport;
	t->rport = v->sport;
}

/* The SYN-ACK the responder would send for the SYN `in` at time slot. */
static size_t sa_expected(const struct frame *in, uint32_t inst, uint32_t slot, uint8_t *out,
			  size_t cap)
{
	struct mdr_cookie_tuple t;
	struct pkt_route r;
	struct pkt_view v;
	uint32_t cookie;

	sa_tuple(in, inst, &v, &t);
	pkt_route_from_view(&v, &r);
	cookie = mdr_cookie_make(sa_key, &t, v.seq, slot, mdr_cookie_mss_idx(v.mss));
	return pkt_build_tcp(out, cap, &r, cookie, v.seq + 1, PKT_TCP_SYN | PKT_TCP_ACK, SA_WIN,
			     v.family == PKT_AF_INET6 ? SA_MSS6 : SA_MSS4, SA_TTL, NULL, 0);
}

/* Checksums of a reply, recomputed with frame.h's sum: IPv4 header and
 * TCP (with the pseudo-header) must both verify. */
static void sa_check_csums(const uint8_t *f, size_t len, size_t l3)
{
	int v6 = f[l3] >> 4 == 6;
	size_t l4 = l3 + (v6 ? 40 : 20);
	const uint8_t *src = f + l3 + (v6 ? 8 : 12), *dst = src + (v6 ? 16 : 4);

	assert_true(len >= l4 + 24);
	if (!v6)
		assert_int_equal(csum_fold(csum_add(0, f + l3, 20)), 0);
	assert_int_equal(csum_l4(v6, src, dst, 6, f + l4, len - l4), 0);
}

/* Run a SYN through the program and compare the reply byte for byte. */
static void sa_expect_synack(const struct fspec *s, enum port p, uint32_t inst, size_t l3)
{
	uint8_t want[FRAME_MAX];
	struct run_result *r = NULL;
	struct frame f;
	size_t n = 0;

	fspec_build(s, &f);
	for (int i = 0; i < SA_SLOT_TRIES; i++) {
		uint32_t before = mdr_cookie_slot(mono_ns()), after;

		r = run_frame(&f, p, 0);
		after = mdr_cookie_slot(mono_ns());
		if (before != after)
			continue; /* the slot turned during the run: which one XDP saw is unknown */
		n = sa_expected(&f, inst, before, want, sizeof(want));
		break;
	}
	assert_int_equal(r->verdict, XDP_TX);
	assert_true(n > 0);
	expect_bytes("SYN-ACK", r->out, r->out_len, want, n);
	sa_check_csums(r->out, r->out_len, l3);
}

static void test_synack_ipv4(void **state)
{
	const struct fspec s = {.kind = K_TCP4, .mac = M_A, .mss_opt = 1460, .tcp_opts = 16};

	(void)state;
	fixture_reset();
	sa_publish(1);
	sa_expect_synack(&s, P_A, 1, 14);
	check_counters(&CNT(.matched = 1, .synack_sent = 1), 1);
}

static void test_synack_ipv6(void **state)
{
	const struct fspec s = {.kind = K_TCP6, .mac = M_A, .mss_opt = 1220, .tcp_opts = 8};

	(void)state;
	fixture_reset();
	sa_publish(1);
	sa_expect_synack(&s, P_A, 1, 14);
	check_counters(&CNT(.matched = 1, .synack_sent = 1), 1);
}

/* VLAN 100 on port B (instance 3): the tag is kept; QinQ through a MAC
 * binding on outer VLAN 300 (instance 5) keeps both. */
static void test_synack_vlan(void **state)
{
	const struct fspec s = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100},
				.mss_opt = 1400};
	const struct fspec q = {.kind = K_TCP6, .mac = M_Q, .ntags = 2, .vid = {300, 7},
				.mss_opt = 9000};

	(void)state;
	fixture_reset();
	sa_publish(1);
	sa_expect_synack(&s, P_B, 3, 18);
	check_counters(&CNT(.matched = 1, .synack_sent = 1), 3);
	fixture_reset();
	sa_publish(1);
	sa_expect_synack(&q, P_D, 5, 22);
	check_counters(&CNT(.matched = 1, .synack_sent = 1), 5);
}

/* No MSS option: 536 in the cookie, and the frame grows by the option. */
static void test_synack_without_options(void **state)
{
	const struct fspec s = {.kind = K_TCP4, .mac = M_A};

	(void)state;
	fixture_reset();
	sa_publish(1);
	sa_expect_synack(&s, P_A, 1, 14);
}

/* Everything the handshake in XDP leaves to the responder, untouched
 * behind the tag header: an ACK (a cookie coming back, good or bad: only
 * the responder knows its connections), an ACK for no connection, a SYN
 * carrying data, a SYN whose first option is not MSS, IPv4 options;
 * and a SYN when the key is not published or xdp-synack is off. */
static void sa_expect_redirect(const struct fspec *s)
{
	struct frame f;
	struct run_result *r;

	fspec_build(s, &f);
	r = run_frame(&f, P_A, 0);
	assert_int_equal(r->verdict, XDP_REDIRECT);
	assert_int_equal(r->out_len, sizeof(struct mdr_tag_hdr) + f.len);
	expect_bytes("frame behind the tag", r->out + sizeof(struct mdr_tag_hdr),
		     r->out_len - sizeof(struct mdr_tag_hdr), f.b, f.len);
}

static void test_synack_leaves_the_rest_to_the_responder(void **state)
{
	const struct fspec rest[] = {
		{.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10, .ack = 0xdeadbeef}, /* bad cookie */
		{.kind = K_TCP6, .mac = M_A, .tcp_flags = 0x10, .ack = 1},      /* unknown conn */
		{.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x18, .ack = 77, .payload = 16},
		{.kind = K_TCP4, .mac = M_A, .payload = 8, .mss_opt = 1460},     /* SYN + data */
		{.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x12, .mss_opt = 1460}, /* SYN-ACK */
		{.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x03, .mss_opt = 1460}, /* SYN+FIN */
		{.kind = K_TCP4, .mac = M_A, .tcp_opts = 4},                      /* NOPs first */
		{.kind = K_TCP4, .mac = M_A, .ip_opts = 4, .mss_opt = 1460},
		{.kind = K_TCP6, .mac = M_A, .v6_dstopts = 1, .mss_opt = 1460},
	};
	const struct fspec syn = {.kind = K_TCP4, .mac = M_A, .mss_opt = 1460};
	struct mdr_config c;

	(void)state;
	fixture_reset();
	sa_publish(1);
	for (size_t i = 0; i < ARRAY_SIZE(rest); i++)
		sa_expect_redirect(&rest[i]);
	check_counters(&CNT(.matched = ARRAY_SIZE(rest), .redirected = ARRAY_SIZE(rest)), 1);

	fixture_reset();
	sa_publish(0); /* no responder published a key */
	sa_expect_redirect(&syn);
	sa_publish(1);
	config_get(&c);
	c.flags |= MDR_CFG_F_NO_XDP_SYNACK; /* xdp-synack off */
	config_put(&c);
	sa_expect_redirect(&syn);
	check_counters(&CNT(.matched = 2, .redirected = 2), 1);
}

/* The instance's rate limit applies before a SYN is answered; a queue
 * whose slot has no live socket gets no SYN-ACK (the ACK could not reach
 * the responder): the no-socket policy applies. */
static void test_synack_rate_limited_and_no_socket(void **state)
{
	const struct fspec syn = {.kind = K_TCP4, .mac = M_A, .mss_opt = 1460};
	const struct fspec synb = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100},
				   .mss_opt = 1460};
	struct frame f;

	(void)state;
	fixture_reset();
	sa_publish(1);
	put_limits(1, 1, 2); /* 1 packet/s, burst 2 */
	assert_int_equal(run_spec(&syn, P_A), XDP_TX);
	rl_freeze(1);
	assert_int_equal(run_spec(&syn, P_A), XDP_TX);
	assert_int_equal(run_spec(&syn, P_A), XDP_DROP);
	check_counters(&CNT(.matched = 3, .synack_sent = 2, .rate_limited = 1), 1);

	fixture_reset();
	sa_publish(1);
	fspec_build(&synb, &f);
	assert_int_equal(run_frame(&f, P_B, 1)->verdict, XDP_PASS); /* slot 4: no socket */
	check_counters(&CNT(.matched = 1, .no_xsk = 1, .fallback_pass = 1), 3);
}

/* The cookie the guest's ACK `in` (its tuple, seq - 1) must carry for a
 * SYN-ACK made at time slot with MSS index idx. */
static uint32_t sa_ack_cookie(const struct frame *in, uint32_t inst, uint32_t slot, unsigned idx)
{
	struct mdr_cookie_tuple t;
	struct pkt_view v;

	sa_tuple(in, inst, &v, &t);
	return mdr_cookie_make(sa_key, &t, v.seq - 1, slot, idx);
}

/* Run the ACK of spec s (its .ack replaced by cookie + 1) on port p. */
static struct run_result *sa_run_ack(const struct fspec *s, enum port p, uint32_t inst,
				     int slot_delta, unsigned idx, uint32_t flip)
{
	struct fspec a = *s;
	struct frame f;

	fspec_build(&a, &f);
	a.ack = (sa_ack_cookie(&f, inst, mdr_cookie_slot(mono_ns()) + (uint32_t)slot_delta, idx) ^
		 flip) + 1;
	fspec_build(&a, &f);
	return run_frame(&f, p, 0);
}

/* The guest's bare ACK of an XDP SYN-ACK is dropped once its cookie is
 * checked (its request opens the connection in the responder): IPv4,
 * IPv6, on a VLAN and QinQ, with every MSS index; a cookie of the previous
 * 64 s slot too (made just before the slot turned). */
static void test_handshake_ack_dropped(void **state)
{
	const struct fspec a4 = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10};
	const struct fspec a6 = {.kind = K_TCP6, .mac = M_A, .tcp_flags = 0x10};
	const struct fspec av = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100},
				 .tcp_flags = 0x10};
	const struct fspec aq = {.kind = K_TCP6, .mac = M_Q, .ntags = 2, .vid = {300, 7},
				 .tcp_flags = 0x10};
	/* ECE/CWR beside ACK do not change what the segment is. */
	const struct fspec ae = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0xd0};

	(void)state;
	fixture_reset();
	sa_publish(1);
	for (unsigned idx = 0; idx < MDR_COOKIE_MSS_N; idx++)
		assert_int_equal(sa_run_ack(&a4, P_A, 1, 0, idx, 0)->verdict, XDP_DROP);
	assert_int_equal(sa_run_ack(&a6, P_A, 1, 0, 7, 0)->verdict, XDP_DROP);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, -1, 7, 0)->verdict, XDP_DROP);
	assert_int_equal(sa_run_ack(&ae, P_A, 1, 0, 3, 0)->verdict, XDP_DROP);
	check_counters(&CNT(.matched = 11, .handshake_acks = 11), 1);
	fixture_reset();
	sa_publish(1);
	assert_int_equal(sa_run_ack(&av, P_B, 3, 0, 5, 0)->verdict, XDP_DROP);
	check_counters(&CNT(.matched = 1, .handshake_acks = 1), 3);
	fixture_reset();
	sa_publish(1);
	assert_int_equal(sa_run_ack(&aq, P_D, 5, 0, 2, 0)->verdict, XDP_DROP);
	check_counters(&CNT(.matched = 1, .handshake_acks = 1), 5);
}

/* What goes on to the responder, unchanged behind the tag: the request
 * itself (ACK + data with the same cookie: it opens the connection), a
 * FIN or PSH with it, a cookie with a flipped bit or another MSS index,
 * one two slots old or for another instance, and every handshake ACK
 * while xdp-synack is off or no key is published. */
static void test_handshake_ack_rest_to_the_responder(void **state)
{
	const struct fspec a4 = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10};
	const struct fspec req = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x18, .payload = 40};
	const struct fspec fin = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x11};
	const struct fspec psh = {.kind = K_TCP6, .mac = M_A, .tcp_flags = 0x18};
	const struct fspec opt = {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10, .ip_opts = 4};
	struct mdr_config c;
	struct run_result *r;

	(void)state;
	fixture_reset();
	sa_publish(1);
	assert_int_equal(sa_run_ack(&req, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&fin, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&psh, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&opt, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, 0, 7, 0x100)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, 0, 7, 0x1)->verdict, XDP_REDIRECT);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, -2, 7, 0)->verdict, XDP_REDIRECT);
	r = sa_run_ack(&a4, P_A, 2, 0, 7, 0); /* instance 2's cookie on instance 1's port */
	assert_int_equal(r->verdict, XDP_REDIRECT);
	check_counters(&CNT(.matched = 8, .redirected = 8), 1);

	fixture_reset();
	sa_publish(0);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	sa_publish(1);
	config_get(&c);
	c.flags |= MDR_CFG_F_NO_XDP_SYNACK;
	config_put(&c);
	assert_int_equal(sa_run_ack(&a4, P_A, 1, 0, 7, 0)->verdict, XDP_REDIRECT);
	check_counters(&CNT(.matched = 2, .redirected = 2), 1);
}

#define SYNACK_TESTS                                                   \
	cmocka_unit_test(test_synack_ipv4),                            \
	cmocka_unit_test(test_synack_ipv6),                            \
	cmocka_unit_test(test_synack_vlan),                            \
	cmocka_unit_test(test_synack_without_options),                 \
	cmocka_unit_test(test_synack_leaves_the_rest_to_the_responder), \
	cmocka_unit_test(test_synack_rate_limited_and_no_socket),      \
	cmocka_unit_test(test_handshake_ack_dropped),                  \
	cmocka_unit_test(test_handshake_ack_rest_to_the_responder)

#endif /* MDR_TEST_SYNACK_H */
