/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* pkt: frame parsing and reply building. Reference frames were produced by
 * scapy 2.5 (independent checksum code) and are compared byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pkt.h"

#define S PKT_TCP_SYN
#define A PKT_TCP_ACK
#define P PKT_TCP_PSH

static const uint8_t GUEST_MAC[6] = {0x02, 0, 0, 0, 0, 0x05};
static const uint8_t META_MAC[6] = {0x02, 0xa9, 0xfe, 0xa9, 0xfe, 0xfe};
static const uint8_t V4_META[4] = {169, 254, 169, 254};
static const uint8_t V4_GUEST[4] = {10, 0, 0, 5};
static const uint8_t V6_META[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02,
				    [15] = 0x54};
static const uint8_t V6_GUEST[16] = {0xfe, 0x80, [15] = 0x05};

/* scapy: Ether(dst=guest, src=meta)/IP(src=169.254.169.254, dst=10.0.0.5,
 * id=0, flags=DF, ttl=64)/TCP(sport=80, dport=40000, seq=0x11223344,
 * ack=0x55667788, flags=SA, window=65535, options=[(MSS, 1460)]) */
static const uint8_t REF_V4_SYNACK[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0xa9, 0xfe, 0xa9, 0xfe, 0xfe,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
	0xdc, 0xca, 0xa9, 0xfe, 0xa9, 0xfe, 0x0a, 0x00, 0x00, 0x05, 0x00, 0x50,
	0x9c, 0x40, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x60, 0x12,
	0xff, 0xff, 0x8c, 0x2f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
};

/* scapy: Ether(dst=guest, src=meta)/Dot1Q(vlan=100)/IPv6(src=fd00:ec2::254,
 * dst=fe80::5, hlim=1)/TCP(sport=80, dport=40000, seq=0x01020304,
 * ack=0xa0b0c0d0, flags=PA, window=1000)/"hello, world!" */
static const uint8_t REF_V6_DATA[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0xa9, 0xfe, 0xa9, 0xfe, 0xfe,
	0x81, 0x00, 0x00, 0x64, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x21,
	0x06, 0x01, 0xfd, 0x00, 0x0e, 0xc2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x02, 0x54, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x50,
	0x9c, 0x40, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0, 0x50, 0x18,
	0x03, 0xe8, 0x3b, 0xd7, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c,
	0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21,
};

/* The route a guest would use to send to the metadata service (its frames
 * are then built with the same builder and mutated per test). */
static void guest_route(struct pkt_route *r, uint8_t family, int vlans)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->l2, META_MAC, 6);
	memcpy(r->l2 + 6, GUEST_MAC, 6);
	r->l2_len = 14;
	for (int i = 0; i < vlans; i++) {
		uint8_t *t = r->l2 + 12 + 4 * i;

		t[0] = i == 0 && vlans == 2 ? 0x88 : 0x81;
		t[1] = i == 0 && vlans == 2 ? 0xa8 : 0x00;
		t[2] = 0;
		t[3] = (uint8_t)(10 + i);
		r->l2_len += 4;
	}
	r->family = family;
	if (family == PKT_AF_INET) {
		memcpy(r->local, V4_GUEST, 4);
		memcpy(r->remote, V4_META, 4);
	} else {
		memcpy(r->local, V6_GUEST, 16);
		memcpy(r->remote, V6_META, 16);
	}
	r->lport = 40000;
	r->rport = 80;
}

static size_t guest_frame(uint8_t *f, size_t cap, uint8_t family, int vlans,
			  const char *payload)
{
	struct pkt_route r;

	guest_route(&r, family, vlans);
	return pkt_build_tcp(f, cap, &r, 1000, 2000, A | P, 29200, 0, 64,
			     (const uint8_t *)payload, strlen(payload));
}

static void fix_ip4_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = pkt_ipv4_csum(ip, ihl);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* ---- checksums ----------------------------------------------------------- */

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: the sum of these words is ddf2 */
	static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6,
				    0xf7};

	(void)state;
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, d, sizeof(d))),
			 (uint16_t)~0xddf2);
	/* chained in even chunks, same result */
	assert_int_equal(pkt_csum_fold(pkt_csum_add(pkt_csum_add(0, d, 4),
						    d + 4, 4)),
			 (uint16_t)~0xddf2);
	/* an odd tail is padded with a zero byte */
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, d, 3)),
			 (uint16_t)~(0x0001 + 0xf200));
}

static void test_ipv4_header_csum_known(void **state)
{
	/* a classic example header, checksum b861 */
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
			 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
			 0xc0, 0xa8, 0x00, 0xc7};

	(void)state;
	assert_int_equal(pkt_ipv4_csum(h, 20), 0); /* verifies */
	h[10] = h[11] = 0;
	assert_int_equal(pkt_ipv4_csum(h, 20), 0xb861);
}

/* ---- building ------------------------------------------------------------ */

static void test_build_v4_matches_reference(void **state)
{
	struct pkt_route r;
	uint8_t f[128];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	memcpy(r.l2, GUEST_MAC, 6);
	memcpy(r.l2 + 6, META_MAC, 6);
	r.l2[12] = 0x08;
	r.l2_len = 14;
	r.family = PKT_AF_INET;
	memcpy(r.local, V4_META, 4);
	memcpy(r.remote, V4_GUEST, 4);
	r.lport = 80;
	r.rport = 40000;
	n = pkt_build_tcp(f, sizeof(f), &r, 0x11223344, 0x55667788, S | A,
			  65535, 1460, 64, NULL, 0);
	assert_int_equal(n, sizeof(REF_V4_SYNACK));
	assert_memory_equal(f, REF_V4_SYNACK, n);
	assert_int_equal(pkt_tcp_frame_len(&r, true, 0), n);
}

static void test_build_v6_vlan_matches_reference(void **state)
{
	struct pkt_route r;
	uint8_t f[128];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	memcpy(r.l2, GUEST_MAC, 6);
	memcpy(r.l2 + 6, META_MAC, 6);
	r.l2[12] = 0x81;
	r.l2[15] = 100;
	r.l2_len = 18;
	r.family = PKT_AF_INET6;
	memcpy(r.local, V6_META, 16);
	memcpy(r.remote, V6_GUEST, 16);
	r.lport = 80;
	r.rport = 40000;
	n = pkt_build_tcp(f, sizeof(f), &r, 0x01020304, 0xa0b0c0d0, P | A,
			  1000, 0, 1, (const uint8_t *)"hello, world!", 13);
	assert_int_equal(n, sizeof(REF_V6_DATA));
	assert_memory_equal(f, REF_V6_DATA, n);
}

static void test_build_default_ttl_and_cap(void **state)
{
	struct pkt_route r;
	uint8_t f[128];
	size_t n;

	(void)state;
	guest_route(&r, PKT_AF_INET, 0);
	n = pkt_build_tcp(f, sizeof(f), &r, 1, 2, A, 100, 0, 0, NULL, 0);
	assert_int_equal(n, 54);
	assert_int_equal(f[14 + 8], PKT_DEFAULT_TTL);
	/* one byte short: nothing written */
	assert_int_equal(pkt_build_tcp(f, 53, &r, 1, 2, A, 100, 0, 0, NULL, 0),
			 0);
	/* an IP length field cannot describe it */
	assert_int_equal(pkt_build_tcp(f, 1u << 20, &r, 1, 2, A, 100, 0, 0,
				       f, 70000), 0);
	/* unknown family */
	r.family = 5;
	assert_int_equal(pkt_build_tcp(f, sizeof(f), &r, 1, 2, A, 100, 0, 0,
				       NULL, 0), 0);
}

static void test_build_checksums_verify(void **state)
{
	static uint8_t payload[1440], f[1600];
	const uint8_t fams[2] = {PKT_AF_INET, PKT_AF_INET6};

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (int fi = 0; fi < 2; fi++) {
		for (size_t len = 0; len <= sizeof(payload); len += 97) {
			struct pkt_route r;
			struct pkt_view v;
			size_t n;

			guest_route(&r, fams[fi], fi);
			n = pkt_build_tcp(f, sizeof(f), &r, 7, 9, A, 500, 0, 5,
					  payload, len);
			assert_true(n > 0);
			assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
			assert_int_equal(v.payload_len, len);
			assert_int_equal(pkt_tcp_csum(v.family, v.src, v.dst,
						      f + v.l4_off, n - v.l4_off),
					 0);
			if (v.family == PKT_AF_INET)
				assert_int_equal(pkt_ipv4_csum(f + v.l3_off, 20),
						 0);
		}
	}
}

/* ---- parsing ------------------------------------------------------------- */

/* ---- the tag header XDP prepends ---- */

/* A descriptor as XDP hands it over: tag header, then REF_V4_SYNACK. */
static size_t tagged_desc(uint8_t *out, uint32_t instance, uint32_t ifindex)
{
	struct mdr_tag_hdr h = {
		.magic = MDR_TAG_MAGIC, .instance_id = instance, .ifindex = ifindex,
		.frame_len = sizeof(REF_V4_SYNACK), .tagged_by = MDR_TAG_PORT,
		.l3_off = 14, .l4_off = 34,
	};

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), REF_V4_SYNACK, sizeof(REF_V4_SYNACK));
	return sizeof(h) + sizeof(REF_V4_SYNACK);
}

static void test_tag_take_valid(void **state)
{
	uint8_t d[256];
	size_t n = tagged_desc(d, 7, 42);
	struct mdr_tag_hdr t;

	(void)state;
	assert_int_equal(pkt_tag_take(d, n, 42, &t), PKT_TAG_OK);
	assert_int_equal(t.instance_id, 7);
	assert_int_equal(t.frame_len, sizeof(REF_V4_SYNACK));
	assert_string_equal(pkt_tag_strerror(PKT_TAG_OK), "ok");
}

static void test_tag_take_refusals(void **state)
{
	uint8_t d[256];
	size_t n = tagged_desc(d, 7, 42);
	struct mdr_tag_hdr t, *h = (void *)d;

	(void)state;
	/* too short for a header and an Ethernet header, at every length */
	for (size_t len = 0; len < sizeof(t) + 14; len++)
		assert_int_equal(pkt_tag_take(d, len, 42, &t), PKT_TAG_SHORT);
	/* a frame cut short or padded: the length XDP saw must match */
	assert_int_equal(pkt_tag_take(d, n - 1, 42, &t), PKT_TAG_LEN);
	assert_int_equal(pkt_tag_take(d, n + 1, 42, &t), PKT_TAG_LEN);
	/* tagged on another interface than the socket's */
	assert_int_equal(pkt_tag_take(d, n, 43, &t), PKT_TAG_IFINDEX);
	h->pad = 1;
	assert_int_equal(pkt_tag_take(d, n, 42, &t), PKT_TAG_RESERVED);
	h->pad = 0;
	h->flags = 0x80;
	assert_int_equal(pkt_tag_take(d, n, 42, &t), PKT_TAG_RESERVED);
	h->flags = 0;
	h->magic = 0x4d445231u; /* the old metadata layout's "MDR1" */
	assert_int_equal(pkt_tag_take(d, n, 42, &t), PKT_TAG_MAGIC);
	for (int e = PKT_TAG_RESERVED; e < 0; e++)
		assert_string_not_equal(pkt_tag_strerror(e), "unknown tag error");
}

/* A guest frame with no header in front (what a descriptor would hold if
 * anything but our XDP program filled it) is refused whatever lies in the
 * chunk before it: a chunk whose earlier bytes hold a forged header, as a
 * reply body the guest chose could leave them, does not make it a tag. */
static void test_tag_take_ignores_bytes_before_the_descriptor(void **state)
{
	uint8_t chunk[512];
	size_t n = tagged_desc(chunk, 1, 42); /* forged: instance 1, in front */
	const uint8_t *desc = chunk + sizeof(struct mdr_tag_hdr);
	struct mdr_tag_hdr t;

	(void)state;
	assert_int_equal(pkt_tag_take(desc, n - sizeof(t), 42, &t), PKT_TAG_MAGIC);
	/* and a guest that sends the magic as its destination MAC still has
	 * the length, interface and padding to match: here the length fails */
	memcpy(chunk + 64, &(uint32_t){MDR_TAG_MAGIC}, 4);
	assert_int_not_equal(pkt_tag_take(chunk + 64, 60, 42, &t), PKT_TAG_OK);
}

static void test_parse_v4_fields(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "GET /");

	(void)state;
	assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
	assert_int_equal(v.family, PKT_AF_INET);
	assert_int_equal(v.l2_len, 14);
	assert_int_equal(v.n_vlans, 0);
	assert_int_equal(v.l3_off, 14);
	assert_int_equal(v.l4_off, 34);
	assert_int_equal(v.ttl, 64);
	assert_memory_equal(v.src, V4_GUEST, 4);
	assert_memory_equal(v.dst, V4_META, 4);
	assert_int_equal(v.src[4], 0);
	assert_int_equal(v.sport, 40000);
	assert_int_equal(v.dport, 80);
	assert_int_equal(v.seq, 1000);
	assert_int_equal(v.ack, 2000);
	assert_int_equal(v.flags, A | P);
	assert_int_equal(v.win, 29200);
	assert_int_equal(v.mss, 0);
	assert_int_equal(v.tcp_hlen, 20);
	assert_int_equal(v.payload_len, 5);
	assert_memory_equal(v.payload, "GET /", 5);
}

static void test_parse_v6_fields(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "GET /");

	(void)state;
	assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
	assert_int_equal(v.family, PKT_AF_INET6);
	assert_int_equal(v.l4_off, 54);
	assert_memory_equal(v.src, V6_GUEST, 16);
	assert_memory_equal(v.dst, V6_META, 16);
	assert_int_equal(v.ttl, 64);
	assert_int_equal(v.payload_len, 5);
}

static void test_parse_reference_frames(void **state)
{
	struct pkt_view v;

	(void)state;
	assert_int_equal(pkt_parse(REF_V4_SYNACK, sizeof(REF_V4_SYNACK), &v),
			 PKT_OK);
	assert_int_equal(v.mss, 1460);
	assert_int_equal(v.flags, S | A);
	assert_int_equal(v.seq, 0x11223344);
	assert_int_equal(v.ack, 0x55667788);
	assert_int_equal(pkt_parse(REF_V6_DATA, sizeof(REF_V6_DATA), &v),
			 PKT_OK);
	assert_int_equal(v.n_vlans, 1);
	assert_int_equal(v.vlan_tci[0], 100);
	assert_int_equal(v.ttl, 1);
	assert_int_equal(v.payload_len, 13);
	assert_memory_equal(v.payload, "hello, world!", 13);
}

static void test_parse_vlan_tags(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n;

	(void)state;
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 1, "x");
	assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
	assert_int_equal(v.n_vlans, 1);
	assert_int_equal(v.vlan_tci[0], 10);
	assert_int_equal(v.l3_off, 18);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 2, "x");
	assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
	assert_int_equal(v.n_vlans, 2);
	assert_int_equal(v.vlan_tci[0], 10);
	assert_int_equal(v.vlan_tci[1], 11);
	assert_int_equal(v.l2_len, 22);
	assert_int_equal(v.payload_len, 1);
}

static void test_parse_three_vlan_tags_rejected(void **state)
{
	uint8_t f[128], g[132];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 2, "x");

	(void)state;
	/* insert a third 802.1Q tag */
	memcpy(g, f, 20);
	g[20] = 0x81;
	g[21] = 0x00;
	g[22] = 0;
	g[23] = 12;
	memcpy(g + 24, f + 20, n - 20);
	assert_int_equal(pkt_parse(g, n + 4, &v), PKT_ERR_L2);
}

static void test_parse_ipv4_options(void **state)
{
	uint8_t f[128], g[136];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "GET");

	(void)state;
	/* add 8 bytes of options (NOP x 7, EOL) after the 20-byte header */
	memcpy(g, f, 34);
	memset(g + 34, 1, 7);
	g[41] = 0;
	memcpy(g + 42, f + 34, n - 34);
	g[14] = 0x47;
	g[16] = 0;
	g[17] = (uint8_t)(n - 14 + 8);
	fix_ip4_csum(g + 14);
	assert_int_equal(pkt_parse(g, n + 8, &v), PKT_OK);
	assert_int_equal(v.l4_off, 42);
	assert_int_equal(v.payload_len, 3);
	assert_memory_equal(v.payload, "GET", 3);
}

static void test_parse_ethernet_padding_excluded(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "");

	(void)state;
	assert_int_equal(n, 54);
	memset(f + n, 0xee, 6); /* padded to the 60-byte minimum */
	assert_int_equal(pkt_parse(f, 60, &v), PKT_OK);
	assert_int_equal(v.payload_len, 0);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "ab");
	memset(f + n, 0xee, 10);
	assert_int_equal(pkt_parse(f, n + 10, &v), PKT_OK);
	assert_int_equal(v.payload_len, 2);
}

static void test_parse_every_truncation(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	const uint8_t fams[2] = {PKT_AF_INET, PKT_AF_INET6};

	(void)state;
	for (int i = 0; i < 2; i++) {
		size_t n = guest_frame(f, sizeof(f), fams[i], 2, "data");

		assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(pkt_parse(f, k, &v), PKT_ERR_TRUNC);
	}
	assert_int_equal(pkt_parse(NULL, 0, &v), PKT_ERR_TRUNC);
}

static void test_parse_bad_ipv4_csum(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");

	(void)state;
	f[14 + 10] ^= 0x40;
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_IP_CSUM);
}

static void test_parse_partial_tcp_csum_accepted(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	const uint8_t fams[2] = {PKT_AF_INET, PKT_AF_INET6};

	(void)state;
	for (int i = 0; i < 2; i++) {
		size_t n = guest_frame(f, sizeof(f), fams[i], 0, "GET");
		struct pkt_view w;

		assert_int_equal(pkt_parse(f, n, &w), PKT_OK);
		/* offload: only the pseudo-header sum is in the field */
		f[w.l4_off + 16] = 0x12;
		f[w.l4_off + 17] = 0x34;
		assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
		assert_int_equal(v.payload_len, 3);
	}
}

static void test_parse_fragments_rejected(void **state)
{
	uint8_t f[128], g[136];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");

	(void)state;
	f[14 + 6] |= 0x20; /* MF */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_FRAGMENT);
	f[14 + 6] = 0x40;
	f[14 + 7] = 0x10; /* offset 16, DF */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_FRAGMENT);
	/* IPv6 fragment header */
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	memcpy(g, f, 54);
	g[14 + 6] = 44;
	g[14 + 5] = (uint8_t)(g[14 + 5] + 8);
	memset(g + 54, 0, 8);
	g[54] = 6;
	memcpy(g + 62, f + 54, n - 54);
	assert_int_equal(pkt_parse(g, n + 8, &v), PKT_ERR_FRAGMENT);
}

static void test_parse_ipv6_ext_headers_skipped(void **state)
{
	uint8_t f[128], g[144];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "GET");

	(void)state;
	/* hop-by-hop (8 bytes) then destination options (16 bytes) */
	memcpy(g, f, 54);
	g[14 + 6] = 0;
	g[14 + 5] = (uint8_t)(g[14 + 5] + 24);
	memset(g + 54, 0, 24);
	g[54] = 60;
	g[54 + 8] = 6;
	g[54 + 9] = 1;
	memcpy(g + 78, f + 54, n - 54);
	assert_int_equal(pkt_parse(g, n + 24, &v), PKT_OK);
	assert_int_equal(v.l4_off, 78);
	assert_int_equal(v.payload_len, 3);
	assert_memory_equal(v.payload, "GET", 3);
	/* an extension header running past the payload length */
	g[54 + 9] = 200;
	assert_int_equal(pkt_parse(g, n + 24, &v), PKT_ERR_TRUNC);
}

static void test_parse_not_tcp_or_not_ip(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");

	(void)state;
	f[14 + 9] = 17; /* UDP */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_NOT_TCP);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	f[14 + 6] = 58; /* ICMPv6 */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_NOT_TCP);
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_L2);
}

static void test_parse_bad_ip_headers(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n;

	(void)state;
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	f[14] = 0x44; /* IHL 4 */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_IP_HDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	f[14] = 0x65; /* version 6 behind an IPv4 ethertype */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_IP_HDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	f[16] = 0;
	f[17] = 10; /* total length below the header */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_IP_HDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	f[14 + 4] = f[14 + 5] = 0; /* payload length 0 (jumbogram) */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_IP_HDR);
}

static void test_parse_bad_addresses(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n;
	static const struct {
		int off;
		uint8_t val;
	} v4[] = {
		{26, 224},  /* multicast source */
		{30, 239},  /* multicast destination */
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
		f[v4[i].off] = v4[i].val;
		fix_ip4_csum(f + 14);
		assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	}
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	memset(f + 30, 0xff, 4); /* broadcast destination */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	memset(f + 26, 0, 4); /* unspecified source */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	memset(f + 30, 0, 4); /* unspecified destination */
	fix_ip4_csum(f + 14);
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	memset(f + 38, 0, 16); /* :: destination */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	memset(f + 22, 0, 16); /* :: source */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
	n = guest_frame(f, sizeof(f), PKT_AF_INET6, 0, "x");
	f[38] = 0xff; /* multicast destination */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_ADDR);
}

static void test_parse_tcp_header_errors(void **state)
{
	uint8_t f[128];
	struct pkt_view v;
	size_t n;

	(void)state;
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	f[34 + 12] = 0x40; /* data offset 4 */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_TCP_HDR);
	f[34 + 12] = 0xf0; /* 60 bytes: more than the segment */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_TRUNC);
	n = guest_frame(f, sizeof(f), PKT_AF_INET, 0, "x");
	f[34] = f[35] = 0; /* source port 0 */
	assert_int_equal(pkt_parse(f, n, &v), PKT_ERR_TCP_HDR);
}

/* A TCP header with the given options (padded to 4 bytes) in a frame. */
static int parse_with_opts(const uint8_t *opts, size_t olen, uint16_t *mss)
{
	struct pkt_route r;
	uint8_t f[160], g[200];
	struct pkt_view v;
	size_t n, pad = (olen + 3) & ~(size_t)3;
	int rc;

	guest_route(&r, PKT_AF_INET, 0);
	n = pkt_build_tcp(f, sizeof(f), &r, 1, 0, S, 100, 0, 64, NULL, 0);
	memcpy(g, f, n);
	memset(g + n, 0, pad);
	memcpy(g + n, opts, olen);
	g[34 + 12] = (uint8_t)(((20 + pad) / 4) << 4);
	g[16] = 0;
	g[17] = (uint8_t)(20 + 20 + pad);
	fix_ip4_csum(g + 14);
	rc = pkt_parse(g, n + pad, &v);
	*mss = v.mss;
	return rc;
}

static void test_parse_tcp_options(void **state)
{
	/* what Linux sends in a SYN: MSS, SACK-perm, timestamps, NOP, WS */
	static const uint8_t linux_syn[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10,
					    1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};
	static const uint8_t mss_late[] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					   2, 4, 0x02, 0x18};
	static const uint8_t eol_first[] = {0, 2, 4, 0x05, 0xb4};
	static const uint8_t zero_len[] = {1, 5, 0, 1};
	static const uint8_t past_end[] = {1, 1, 8, 10};
	static const uint8_t bad_mss_len[] = {2, 3, 5, 1};
	static const uint8_t kind_only[] = {1, 1, 1, 5};
	uint16_t mss;

	(void)state;
	assert_int_equal(parse_with_opts(linux_syn, sizeof(linux_syn), &mss),
			 PKT_OK);
	assert_int_equal(mss, 1460);
	assert_int_equal(parse_with_opts(mss_late, sizeof(mss_late), &mss),
			 PKT_OK);
	assert_int_equal(mss, 536);
	assert_int_equal(parse_with_opts(eol_first, sizeof(eol_first), &mss),
			 PKT_OK);
	assert_int_equal(mss, 0); /* after EOL nothing counts */
	assert_int_equal(parse_with_opts(zero_len, sizeof(zero_len), &mss),
			 PKT_ERR_TCP_HDR);
	assert_int_equal(parse_with_opts(past_end, sizeof(past_end), &mss),
			 PKT_ERR_TCP_HDR);
	assert_int_equal(parse_with_opts(bad_mss_len, sizeof(bad_mss_len), &mss),
			 PKT_ERR_TCP_HDR);
	assert_int_equal(parse_with_opts(kind_only, sizeof(kind_only), &mss),
			 PKT_ERR_TCP_HDR);
}

/* ---- route --------------------------------------------------------------- */

static void test_route_swaps_and_keeps_vlans(void **state)
{
	uint8_t f[128], out[128];
	struct pkt_view v, w;
	struct pkt_route r;
	size_t n = guest_frame(f, sizeof(f), PKT_AF_INET6, 2, "GET");

	(void)state;
	assert_int_equal(pkt_parse(f, n, &v), PKT_OK);
	pkt_route_from_view(&v, &r);
	assert_int_equal(r.l2_len, 22);
	assert_memory_equal(r.l2, GUEST_MAC, 6);
	assert_memory_equal(r.l2 + 6, META_MAC, 6);
	assert_memory_equal(r.l2 + 12, f + 12, 10); /* tags + ethertype */
	assert_memory_equal(r.local, V6_META, 16);
	assert_memory_equal(r.remote, V6_GUEST, 16);
	assert_int_equal(r.lport, 80);
	assert_int_equal(r.rport, 40000);
	/* the reply parses as a frame to the guest on the same VLANs */
	n = pkt_build_tcp(out, sizeof(out), &r, 5, 1003, A, 100, 0, 0,
			  (const uint8_t *)"ok", 2);
	assert_int_equal(pkt_parse(out, n, &w), PKT_OK);
	assert_int_equal(w.n_vlans, 2);
	assert_int_equal(w.vlan_tci[0], 10);
	assert_int_equal(w.vlan_tci[1], 11);
	assert_memory_equal(w.dst, V6_GUEST, 16);
	assert_int_equal(w.dport, 40000);
	assert_true(sizeof(struct pkt_route) <= 96); /* fits TCP_ROUTE_MAX */
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = PKT_OK; e >= PKT_ERR_ADDR; e--)
		assert_string_not_equal(pkt_strerror(e), "unknown");
	assert_string_equal(pkt_strerror(-100), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_csum_known),
		cmocka_unit_test(test_build_v4_matches_reference),
		cmocka_unit_test(test_build_v6_vlan_matches_reference),
		cmocka_unit_test(test_build_default_ttl_and_cap),
		cmocka_unit_test(test_build_checksums_verify),
		cmocka_unit_test(test_tag_take_valid),
		cmocka_unit_test(test_tag_take_refusals),
		cmocka_unit_test(test_tag_take_ignores_bytes_before_the_descriptor),
		cmocka_unit_test(test_parse_v4_fields),
		cmocka_unit_test(test_parse_v6_fields),
		cmocka_unit_test(test_parse_reference_frames),
		cmocka_unit_test(test_parse_vlan_tags),
		cmocka_unit_test(test_parse_three_vlan_tags_rejected),
		cmocka_unit_test(test_parse_ipv4_options),
		cmocka_unit_test(test_parse_ethernet_padding_excluded),
		cmocka_unit_test(test_parse_every_truncation),
		cmocka_unit_test(test_parse_bad_ipv4_csum),
		cmocka_unit_test(test_parse_partial_tcp_csum_accepted),
		cmocka_unit_test(test_parse_fragments_rejected),
		cmocka_unit_test(test_parse_ipv6_ext_headers_skipped),
		cmocka_unit_test(test_parse_not_tcp_or_not_ip),
		cmocka_unit_test(test_parse_bad_ip_headers),
		cmocka_unit_test(test_parse_bad_addresses),
		cmocka_unit_test(test_parse_tcp_header_errors),
		cmocka_unit_test(test_parse_tcp_options),
		cmocka_unit_test(test_route_swaps_and_keeps_vlans),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("pkt", tests, NULL, NULL);
}
