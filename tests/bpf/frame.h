/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * frame.h - small builders of test frames for the XDP suite. A frame is
 * described by a struct fspec (kind of packet plus knobs that corrupt it)
 * and built by fspec_build(); expected replies are assembled from the same
 * header builders by the test, independently of the BPF program's code.
 * Everything here writes network byte order explicitly, byte by byte.
 */
#ifndef MDR_TEST_FRAME_H
#define MDR_TEST_FRAME_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Largest frame a case builds (BPF_PROG_TEST_RUN takes up to ~3.5 KiB). */
#define FRAME_MAX 2048
/* Minimum Ethernet frame without FCS: NICs pad shorter frames to this. */
#define FRAME_MIN 60

enum fkind {
	K_TCP4 = 1,
	K_UDP4,
	K_ICMP4,   /* echo request */
	K_TCP6,
	K_UDP6,
	K_ICMP6,   /* echo request */
	K_ARP,     /* request (op overridable) */
	K_NS,      /* neighbour solicitation, target = dst */
	K_NA,      /* neighbour advertisement, target = dst */
	K_LLDP,    /* some non-IP ethertype */
};

/* Source MACs of the fixture (index = fspec.mac). */
enum { M_A, M_B, M_C, M_D, M_Q, M_U, M_X, M_COUNT };
static const uint8_t test_macs[M_COUNT][6] = {
	[M_A] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0a}, /* instance 1, port A */
	[M_B] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0b}, /* instance 2, MAC binding, any port */
	[M_C] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0c}, /* instance 3's guest on port B */
	[M_D] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0d}, /* instance 4, MAC pinned to port D */
	[M_Q] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0e}, /* instance 5, MAC binding on VLAN 300 */
	[M_U] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0f}, /* bound to instance 6, no limits */
	[M_X] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x99}, /* no binding at all */
};
static const uint8_t router_mac[6] = {0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01};
static const uint8_t meta_mac_default[6] = MDR_DEFAULT_META_MAC;

#define GUEST4 "10.0.0.10"
#define GUEST6 "fe80::5054:ff:fe00:a"
#define META4 "169.254.169.254"
#define META6_LL "fe80::a9fe:a9fe"
#define META6_EC2 "fd00:ec2::254"

struct fspec {
	enum fkind kind;
	int mac;             /* source MAC, index in test_macs */
	int ntags;           /* VLAN tags, 0..3 */
	uint16_t tpid[3];    /* 0 = 802.1Q, or 802.1ad for the outer of two */
	uint16_t vid[3];
	const char *src;     /* IP source, NULL = guest address */
	const char *dst;     /* IP destination / ARP and ND target, NULL = metadata */
	uint16_t dport;      /* 0 = 80 */
	int ip_opts;         /* IPv4 option bytes, multiple of 4 */
	int ihl;             /* IPv4 IHL override, 0 = right */
	int ver;             /* IP version override, 0 = right */
	int len_delta;       /* added to IPv4 tot_len / IPv6 payload_len */
	uint16_t frag;       /* IPv4 frag_off field (flags + offset) */
	int v6_frag;         /* insert an IPv6 fragment header */
	int v6_dstopts;      /* insert an 8-byte destination options header */
	int tcp_opts;        /* TCP option bytes, multiple of 4 */
	int doff;            /* TCP data offset override, 0 = right */
	int payload;         /* L4 payload bytes */
	int cut;             /* truncate the frame to this length, 0 = keep */
	int arp_op;          /* ARP operation, 0 = request */
	int hop;             /* IPv6 hop limit override, 0 = 64 (255 for ND) */
	int nd_opts;         /* NS/NA: 0 = SLLA, -1 = none, 1 = SLLA + nonce */
	uint8_t tcp_flags;   /* TCP flags, 0 = SYN */
	uint16_t mss_opt;    /* MSS option first (before tcp_opts), 0 = none */
	uint32_t ack;        /* TCP acknowledgment number */
};

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* TCP header of a spec: ports, seq 1000, flags, MSS option, NOP options. */
static inline size_t put_tcp(uint8_t *l4, const struct fspec *s)
{
	int mssb = s->mss_opt ? 4 : 0;
	int doff = (20 + mssb + s->tcp_opts) / 4;

	put16(l4, 40000);
	put16(l4 + 2, s->dport ? s->dport : 80);
	put32(l4 + 4, 1000);
	put32(l4 + 8, s->ack);
	l4[12] = (uint8_t)((s->doff ? s->doff : doff) << 4);
	l4[13] = s->tcp_flags ? s->tcp_flags : 0x02; /* SYN */
	put16(l4 + 14, 64240);
	if (mssb) {
		l4[20] = 2;
		l4[21] = 4;
		put16(l4 + 22, s->mss_opt);
	}
	for (int i = 0; i < s->tcp_opts; i++)
		l4[20 + mssb + i] = 1; /* NOP */
	return (size_t)(20 + mssb + s->tcp_opts);
}

/* One's-complement sum of a byte string as big-endian 16-bit words. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checksum of an L4 message with the IPv4 or IPv6 pseudo-header. */
static inline uint16_t csum_l4(int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			       const uint8_t *msg, size_t len)
{
	uint8_t tail[4];
	uint32_t sum = 0;

	sum = csum_add(sum, src, v6 ? 16 : 4);
	sum = csum_add(sum, dst, v6 ? 16 : 4);
	put32(tail, (uint32_t)len);
	sum = csum_add(sum, tail, 4);
	sum += proto;
	sum = csum_add(sum, msg, len);
	return csum_fold(sum);
}

static inline void addr_parse(int v6, const char *text, uint8_t *out)
{
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, out) != 1) {
		fprintf(stderr, "frame.h: bad address %s\n", text);
		memset(out, 0, v6 ? 16 : 4);
	}
}

/* Ethernet header and VLAN tags; returns the length written. */
static inline size_t put_l2(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], int ntags,
			    const uint16_t *tpid, const uint16_t *vid, uint16_t ethertype)
{
	size_t off = 12;

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	for (int i = 0; i < ntags; i++) {
		uint16_t t = tpid[i] ? tpid[i] : (ntags >= 2 && i == 0 ? 0x88a8 : 0x8100);

		put16(p + off, t);
		put16(p + off + 2, vid[i]);
		off += 4;
	}
	put16(p + off, ethertype);
	return off + 2;
}

/* ARP Ethernet/IPv4 body (28 bytes). */
static inline size_t put_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], const uint8_t spa[4],
			     const uint8_t tha[6], const uint8_t tpa[4])
{
	put16(p, 1);
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	memcpy(p + 14, spa, 4);
	memcpy(p + 18, tha, 6);
	memcpy(p + 24, tpa, 4);
	return 28;
}

/* IPv6 fixed header. */
static inline size_t put_ipv6(uint8_t *p, int ver, uint16_t plen, uint8_t nh, uint8_t hop,
			      const uint8_t src[16], const uint8_t dst[16])
{
	put32(p, (uint32_t)ver << 28);
	put16(p + 4, plen);
	p[6] = nh;
	p[7] = hop;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	return 40;
}

/* The solicited-node multicast address of target and its Ethernet MAC. */
static inline void solicited_node(const uint8_t target[16], uint8_t ip[16], uint8_t mac[6])
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, 0xff};

	memcpy(ip, pfx, 13);
	memcpy(ip + 13, target + 13, 3);
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, ip + 12, 4);
}

/* ND message (NS or NA) with options as asked; returns its length. */
static inline size_t put_nd(uint8_t *p, uint8_t type, uint32_t flags, const uint8_t target[16],
			    int opts, uint8_t opt_type, const uint8_t mac[6])
{
	size_t n = 24;

	p[0] = type;
	p[1] = 0;
	put16(p + 2, 0);
	put32(p + 4, flags);
	memcpy(p + 8, target, 16);
	if (opts >= 0) {
		p[n] = opt_type;
		p[n + 1] = 1;
		memcpy(p + n + 2, mac, 6);
		n += 8;
	}
	if (opts > 0) { /* nonce option (RFC 3971), 6 bytes of value */
		static const uint8_t nonce[6] = {1, 2, 3, 4, 5, 6};

		p[n] = 14;
		p[n + 1] = 1;
		memcpy(p + n + 2, nonce, 6);
		n += 8;
	}
	return n;
}

static inline int fkind_is_v6(enum fkind k)
{
	return k == K_TCP6 || k == K_UDP6 || k == K_ICMP6 || k == K_NS || k == K_NA;
}

/* Build the frame a spec describes. */
static inline void fspec_build(const struct fspec *s, struct frame *f)
{
	int v6 = fkind_is_v6(s->kind);
	uint8_t src[16], dst[16], dmac[6], l4proto = 0;
	uint8_t *p = f->b, *l3, *l4;
	uint16_t ethertype = v6 ? 0x86dd : 0x0800;
	size_t off, l3len, l4len, hlen;

	memset(f, 0, sizeof(*f));
	addr_parse(v6, s->src ? s->src : (v6 ? GUEST6 : GUEST4), src);
	if (s->kind == K_NS || s->kind == K_NA)
		addr_parse(1, s->dst ? s->dst : META6_LL, dst);
	else
		addr_parse(v6, s->dst ? s->dst : (v6 ? META6_LL : META4), dst);
	memcpy(dmac, router_mac, 6);
	if (s->kind == K_ARP) {
		memset(dmac, 0xff, 6);
		ethertype = 0x0806;
	} else if (s->kind == K_LLDP) {
		ethertype = 0x88cc;
	}
	if (s->kind == K_NS) {
		uint8_t sn[16];

		solicited_node(dst, sn, dmac);
	}
	off = put_l2(p, dmac, test_macs[s->mac], s->ntags, s->tpid, s->vid, ethertype);
	l3 = p + off;

	switch (s->kind) {
	case K_ARP: {
		static const uint8_t zero[6];

		off += put_arp(l3, s->arp_op ? s->arp_op : 1, test_macs[s->mac], src, zero, dst);
		break;
	}
	case K_LLDP:
		memset(l3, 0x5a, 32);
		off += 32;
		break;
	case K_TCP4:
	case K_UDP4:
	case K_ICMP4:
		l4proto = s->kind == K_TCP4 ? 6 : s->kind == K_UDP4 ? 17 : 1;
		hlen = 20 + s->ip_opts;
		l4 = l3 + hlen;
		if (s->kind == K_TCP4) {
			l4len = put_tcp(l4, s);
		} else if (s->kind == K_UDP4) {
			put16(l4, 40000);
			put16(l4 + 2, s->dport ? s->dport : 80);
			l4len = 8;
		} else {
			l4[0] = 8; /* echo request */
			l4len = 8;
		}
		memset(l4 + l4len, 'a', s->payload);
		l4len += s->payload;
		if (s->kind == K_UDP4)
			put16(l4 + 4, (uint16_t)l4len);
		put16(l4 + (s->kind == K_TCP4 ? 16 : s->kind == K_UDP4 ? 6 : 2),
		      s->kind == K_ICMP4 ? csum_fold(csum_add(0, l4, l4len))
					 : csum_l4(0, src, dst, l4proto, l4, l4len));
		l3len = hlen + l4len;
		l3[0] = (uint8_t)((s->ver ? s->ver : 4) << 4 | (s->ihl ? s->ihl : (int)hlen / 4));
		put16(l3 + 2, (uint16_t)(l3len + s->len_delta));
		put16(l3 + 4, 1);
		put16(l3 + 6, s->frag);
		l3[8] = 64;
		l3[9] = l4proto;
		memcpy(l3 + 12, src, 4);
		memcpy(l3 + 16, dst, 4);
		for (int i = 0; i < s->ip_opts; i++)
			l3[20 + i] = 1; /* NOP options */
		put16(l3 + 10, csum_fold(csum_add(0, l3, hlen)));
		off += l3len;
		break;
	default: { /* IPv6 kinds */
		uint8_t nh, hop = s->hop ? s->hop : 64;
		size_t ext = 0;

		l4proto = s->kind == K_TCP6 ? 6 : s->kind == K_UDP6 ? 17 : 58;
		nh = l4proto;
		l4 = l3 + 40;
		if (s->v6_dstopts) { /* 8 bytes: next header, length 0, PadN */
			l4[0] = nh;
			l4[1] = 0;
			l4[2] = 1;
			l4[3] = 4;
			nh = 60;
			ext += 8;
		}
		if (s->v6_frag) { /* fragment header: offset 0, M set */
			memmove(l4 + 8, l4, ext);
			l4[0] = ext ? 60 : nh;
			l4[1] = 0;
			put16(l4 + 2, 1);
			put32(l4 + 4, 0x1234);
			nh = 44;
			ext += 8;
		}
		l4 += ext;
		if (s->kind == K_TCP6) {
			l4len = put_tcp(l4, s);
		} else if (s->kind == K_UDP6) {
			put16(l4, 40000);
			put16(l4 + 2, s->dport ? s->dport : 80);
			l4len = 8;
		} else if (s->kind == K_ICMP6) {
			l4[0] = 128;
			l4len = 8;
		} else {
			hop = s->hop ? s->hop : 255;
			if (s->kind == K_NS) {
				uint8_t sn[16], m[6];

				solicited_node(dst, sn, m);
				l4len = put_nd(l4, 135, 0, dst, s->nd_opts, 1, test_macs[s->mac]);
				memcpy(dst, sn, 16); /* the IPv6 destination */
			} else {
				l4len = put_nd(l4, 136, 0x60000000u, dst, s->nd_opts, 2,
					       test_macs[s->mac]);
			}
		}
		if (s->kind != K_NS && s->kind != K_NA) {
			memset(l4 + l4len, 'a', s->payload);
			l4len += s->payload;
		}
		if (s->kind == K_UDP6)
			put16(l4 + 4, (uint16_t)l4len);
		put16(l4 + (s->kind == K_TCP6 ? 16 : s->kind == K_UDP6 ? 6 : 2),
		      csum_l4(1, src, dst, l4proto, l4, l4len));
		put_ipv6(l3, s->ver ? s->ver : 6, (uint16_t)(ext + l4len + s->len_delta), nh, hop, src,
			 dst);
		off += 40 + ext + l4len;
		break;
	}
	}
	f->len = off < FRAME_MIN ? FRAME_MIN : off;
	if (s->cut)
		f->len = (size_t)s->cut;
}

/* Expected ARP reply to a request built from s, answered from meta_mac. */
static inline void expect_arp_reply(const struct fspec *s, const uint8_t meta_mac[6],
				    struct frame *f)
{
	uint8_t guest[4], target[4];
	size_t off;

	memset(f, 0, sizeof(*f));
	addr_parse(0, s->src ? s->src : GUEST4, guest);
	addr_parse(0, s->dst ? s->dst : META4, target);
	off = put_l2(f->b, test_macs[s->mac], meta_mac, s->ntags, s->tpid, s->vid, 0x0806);
	off += put_arp(f->b + off, 2, meta_mac, target, test_macs[s->mac], guest);
	f->len = off < FRAME_MIN ? FRAME_MIN : off;
}

/* Expected NA to an NS built from s: from the target to the solicitor. */
static inline void expect_na(const struct fspec *s, const uint8_t meta_mac[6], struct frame *f)
{
	uint8_t guest[16], target[16], *l3, *icmp;
	size_t off;

	memset(f, 0, sizeof(*f));
	addr_parse(1, s->src ? s->src : GUEST6, guest);
	addr_parse(1, s->dst ? s->dst : META6_LL, target);
	off = put_l2(f->b, test_macs[s->mac], meta_mac, s->ntags, s->tpid, s->vid, 0x86dd);
	l3 = f->b + off;
	icmp = l3 + 40;
	put_ipv6(l3, 6, 32, 58, 255, target, guest);
	put_nd(icmp, 136, 0x60000000u, target, 0, 2, meta_mac);
	put16(icmp + 2, csum_l4(1, target, guest, 58, icmp, 32));
	f->len = off + 40 + 32;
}

#endif /* MDR_TEST_FRAME_H */
