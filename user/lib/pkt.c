/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* pkt: frame parsing and reply building (see pkt.h). */
#include "pkt.h"

#include <string.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP_ 6
#define IP6_NH_HOPOPTS 0
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_DSTOPTS 60
#define IPV4_DF 0x4000
#define IPV4_FRAG_MASK 0x3fff   /* MF flag + fragment offset */
#define TCP_OPT_END 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Every payload byte of every segment goes through here: sum native
	 * 32-bit halves of 64-bit words (no carry is lost before 2^32
	 * words), fold, then swap the bytes once: the one's complement sum
	 * commutes with byte order (RFC 1071 2(B)), so the result equals the
	 * big-endian 16-bit word sum below. */
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		s += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len)
		s += p[0]; /* the high byte of a big-endian word */
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = ((s & 0xff) << 8) | (s >> 8);
#else
	while (len >= 2) {
		s += rd16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
#endif
	s += sum;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	/* Keep the result comfortably below 2^32 for further chaining. */
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_ipv4_csum(const uint8_t *iph, size_t hlen)
{
	return pkt_csum_fold(pkt_csum_add(0, iph, hlen));
}

uint16_t pkt_tcp_csum(uint8_t family, const uint8_t src[16],
		      const uint8_t dst[16], const uint8_t *tcp, size_t len)
{
	size_t alen = family == PKT_AF_INET6 ? 16 : 4;
	uint8_t tail[8] = {0};
	uint32_t sum;

	sum = pkt_csum_add(0, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three
	 * zero bytes, next header. Both add up to the same words. */
	wr32(tail, (uint32_t)len);
	tail[7] = IPPROTO_TCP_;
	sum = pkt_csum_add(sum, tail, sizeof(tail));
	sum = pkt_csum_add(sum, tcp, len);
	return pkt_csum_fold(sum);
}

const char *pkt_strerror(int err)
{
	switch (err) {
	case PKT_OK: return "ok";
	case PKT_ERR_TRUNC: return "truncated";
	case PKT_ERR_L2: return "not IP";
	case PKT_ERR_IP_HDR: return "bad IP header";
	case PKT_ERR_IP_CSUM: return "bad IPv4 header checksum";
	case PKT_ERR_FRAGMENT: return "IP fragment";
	case PKT_ERR_NOT_TCP: return "not TCP";
	case PKT_ERR_TCP_HDR: return "bad TCP header";
	case PKT_ERR_ADDR: return "multicast/broadcast/unspecified address";
	}
	return "unknown";
}

static bool ipv4_bad_src(const uint8_t *a)
{
	uint32_t v = rd32(a);

	return v == 0 || v == 0xffffffffu || (a[0] & 0xf0) == 0xe0;
}

static bool ipv4_bad_dst(const uint8_t *a)
{
	uint32_t v = rd32(a);

	return v == 0 || v == 0xffffffffu || (a[0] & 0xf0) == 0xe0;
}

static bool ipv6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

/* Parse TCP options; only MSS is kept. */
static int parse_tcp_opts(const uint8_t *o, size_t n, uint16_t *mss)
{
	size_t i = 0;

	while (i < n) {
		uint8_t kind = o[i];
		uint8_t olen;

		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return PKT_ERR_TCP_HDR;
		olen = o[i + 1];
		if (olen < 2 || i + olen > n)
			return PKT_ERR_TCP_HDR;
		if (kind == TCP_OPT_MSS) {
			if (olen != PKT_TCP_OPT_MSS_LEN)
				return PKT_ERR_TCP_HDR;
			*mss = rd16(o + i + 2);
		}
		i += olen;
	}
	return PKT_OK;
}

int pkt_parse(const uint8_t *frame, size_t len, struct pkt_view *v)
{
	size_t off = PKT_ETH_HLEN, l3_end, tcp_len;
	uint16_t type;
	uint8_t proto;
	const uint8_t *t;
	int rc;

	memset(v, 0, sizeof(*v));
	if (!frame || len < PKT_ETH_HLEN)
		return PKT_ERR_TRUNC;
	v->l2 = frame;
	type = rd16(frame + 12);
	while (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (v->n_vlans == PKT_MAX_VLANS)
			return PKT_ERR_L2;
		if (len < off + PKT_VLAN_HLEN)
			return PKT_ERR_TRUNC;
		v->vlan_tci[v->n_vlans++] = rd16(frame + off);
		type = rd16(frame + off + 2);
		off += PKT_VLAN_HLEN;
	}
	v->l2_len = (uint8_t)off;
	v->l3_off = (uint16_t)off;

	if (type == ETH_P_IPV4) {
		const uint8_t *ip = frame + off;
		size_t ihl, tot;

		if (len < off + PKT_IPV4_HLEN)
			return PKT_ERR_TRUNC;
		if (ip[0] >> 4 != 4)
			return PKT_ERR_IP_HDR;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		tot = rd16(ip + 2);
		if (ihl < PKT_IPV4_HLEN || tot < ihl)
			return PKT_ERR_IP_HDR;
		if (len < off + ihl || len < off + tot)
			return PKT_ERR_TRUNC;
		if (pkt_ipv4_csum(ip, ihl) != 0)
			return PKT_ERR_IP_CSUM;
		if (rd16(ip + 6) & IPV4_FRAG_MASK)
			return PKT_ERR_FRAGMENT;
		proto = ip[9];
		v->family = PKT_AF_INET;
		v->ttl = ip[8];
		memcpy(v->src, ip + 12, 4);
		memcpy(v->dst, ip + 16, 4);
		if (proto != IPPROTO_TCP_)
			return PKT_ERR_NOT_TCP;
		if (ipv4_bad_src(v->src) || ipv4_bad_dst(v->dst))
			return PKT_ERR_ADDR;
		l3_end = off + tot;
		off += ihl;
	} else if (type == ETH_P_IPV6) {
		const uint8_t *ip = frame + off;
		size_t plen;
		int ext = 0;

		if (len < off + PKT_IPV6_HLEN)
			return PKT_ERR_TRUNC;
		if (ip[0] >> 4 != 6)
			return PKT_ERR_IP_HDR;
		plen = rd16(ip + 4);
		if (plen == 0) /* jumbogram or nothing: neither is a request */
			return PKT_ERR_IP_HDR;
		if (len < off + PKT_IPV6_HLEN + plen)
			return PKT_ERR_TRUNC;
		v->family = PKT_AF_INET6;
		v->ttl = ip[7];
		memcpy(v->src, ip + 8, 16);
		memcpy(v->dst, ip + 24, 16);
		l3_end = off + PKT_IPV6_HLEN + plen;
		proto = ip[6];
		off += PKT_IPV6_HLEN;
		while (proto == IP6_NH_HOPOPTS || proto == IP6_NH_ROUTING ||
		       proto == IP6_NH_DSTOPTS) {
			size_t elen;

			if (++ext > PKT_IPV6_EXT_MAX)
				return PKT_ERR_IP_HDR;
			if (l3_end < off + 8)
				return PKT_ERR_TRUNC;
			elen = ((size_t)frame[off + 1] + 1) * 8;
			if (l3_end < off + elen)
				return PKT_ERR_TRUNC;
			proto = frame[off];
			off += elen;
		}
		if (proto == IP6_NH_FRAGMENT)
			return PKT_ERR_FRAGMENT;
		if (proto != IPPROTO_TCP_)
			return PKT_ERR_NOT_TCP;
		if (v->src[0] == 0xff || ipv6_unspecified(v->src) ||
		    v->dst[0] == 0xff || ipv6_unspecified(v->dst))
			return PKT_ERR_ADDR;
	} else {
		return PKT_ERR_L2;
	}

	v->l4_off = (uint16_t)off;
	if (l3_end < off + PKT_TCP_HLEN)
		return PKT_ERR_TRUNC;
	t = frame + off;
	tcp_len = l3_end - off;
	v->tcp_hlen = (uint8_t)((t[12] >> 4) * 4);
	if (v->tcp_hlen < PKT_TCP_HLEN)
		return PKT_ERR_TCP_HDR;
	if (v->tcp_hlen > tcp_len)
		return PKT_ERR_TRUNC;
	v->sport = rd16(t);
	v->dport = rd16(t + 2);
	if (v->sport == 0 || v->dport == 0)
		return PKT_ERR_TCP_HDR;
	v->seq = rd32(t + 4);
	v->ack = rd32(t + 8);
	v->flags = t[13];
	v->win = rd16(t + 14);
	rc = parse_tcp_opts(t + PKT_TCP_HLEN, v->tcp_hlen - PKT_TCP_HLEN,
			    &v->mss);
	if (rc)
		return rc;
	v->payload = t + v->tcp_hlen;
	v->payload_len = tcp_len - v->tcp_hlen;
	return PKT_OK;
}

void pkt_route_from_view(const struct pkt_view *v, struct pkt_route *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->l2, v->l2, v->l2_len);
	memcpy(r->l2, v->l2 + 6, 6);     /* reply to the guest's MAC */
	memcpy(r->l2 + 6, v->l2, 6);     /* from the MAC it addressed */
	r->l2_len = v->l2_len;
	r->family = v->family;
	memcpy(r->local, v->dst, 16);
	memcpy(r->remote, v->src, 16);
	r->lport = v->dport;
	r->rport = v->sport;
}

size_t pkt_tcp_frame_len(const struct pkt_route *r, bool mss_opt, size_t len)
{
	return (size_t)r->l2_len +
	       (r->family == PKT_AF_INET6 ? PKT_IPV6_HLEN : PKT_IPV4_HLEN) +
	       PKT_TCP_HLEN + (mss_opt ? PKT_TCP_OPT_MSS_LEN : 0) + len;
}

size_t pkt_build_tcp(uint8_t *out, size_t cap, const struct pkt_route *r,
		     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     uint16_t mss_opt, uint8_t ttl,
		     const uint8_t *payload, size_t len)
{
	size_t thlen = PKT_TCP_HLEN + (mss_opt ? PKT_TCP_OPT_MSS_LEN : 0);
	size_t iphlen, total = pkt_tcp_frame_len(r, mss_opt != 0, len);
	uint8_t *ip, *t;

	if (r->l2_len < PKT_ETH_HLEN || r->l2_len > PKT_L2_MAX ||
	    (r->family != PKT_AF_INET && r->family != PKT_AF_INET6))
		return 0;
	iphlen = r->family == PKT_AF_INET6 ? PKT_IPV6_HLEN : PKT_IPV4_HLEN;
	/* IPv4 total length and IPv6 payload length are 16 bits. */
	if (total > cap || thlen + len + (r->family == PKT_AF_INET ? iphlen : 0) > 0xffff)
		return 0;
	if (ttl == 0)
		ttl = PKT_DEFAULT_TTL;

	memcpy(out, r->l2, r->l2_len);
	ip = out + r->l2_len;
	t = ip + iphlen;
	if (r->family == PKT_AF_INET) {
		wr16(out + r->l2_len - 2, ETH_P_IPV4);
		ip[0] = 0x45;
		ip[1] = 0;
		wr16(ip + 2, (uint16_t)(iphlen + thlen + len));
		wr16(ip + 4, 0);       /* ID unused with DF (RFC 6864) */
		wr16(ip + 6, IPV4_DF);
		ip[8] = ttl;
		ip[9] = IPPROTO_TCP_;
		wr16(ip + 10, 0);
		memcpy(ip + 12, r->local, 4);
		memcpy(ip + 16, r->remote, 4);
		wr16(ip + 10, pkt_ipv4_csum(ip, iphlen));
	} else {
		wr16(out + r->l2_len - 2, ETH_P_IPV6);
		wr32(ip, 0x60000000u); /* version 6, no class, no flow label */
		wr16(ip + 4, (uint16_t)(thlen + len));
		ip[6] = IPPROTO_TCP_;
		ip[7] = ttl;
		memcpy(ip + 8, r->local, 16);
		memcpy(ip + 24, r->remote, 16);
	}
	wr16(t, r->lport);
	wr16(t + 2, r->rport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((thlen / 4) << 4);
	t[13] = flags;
	wr16(t + 14, win);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (mss_opt) {
		t[20] = TCP_OPT_MSS;
		t[21] = PKT_TCP_OPT_MSS_LEN;
		wr16(t + 22, mss_opt);
	}
	if (len)
		memcpy(t + thlen, payload, len);
	wr16(t + 16, pkt_tcp_csum(r->family, r->local, r->remote, t,
				  thlen + len));
	return total;
}

/* ---- the tag header in front of a redirected frame ---- */

int pkt_tag_take(const uint8_t *desc, size_t len, uint32_t ifindex, struct mdr_tag_hdr *tag)
{
	if (len < sizeof(*tag) + PKT_ETH_HLEN)
		return PKT_TAG_SHORT;
	memcpy(tag, desc, sizeof(*tag));
	if (tag->magic != MDR_TAG_MAGIC)
		return PKT_TAG_MAGIC;
	if (tag->frame_len != len - sizeof(*tag))
		return PKT_TAG_LEN;
	if (tag->ifindex != ifindex)
		return PKT_TAG_IFINDEX;
	if (tag->pad || (tag->flags & ~MDR_TAG_F_IPV6))
		return PKT_TAG_RESERVED;
	return PKT_TAG_OK;
}

const char *pkt_tag_strerror(int err)
{
	switch (err) {
	case PKT_TAG_OK: return "ok";
	case PKT_TAG_SHORT: return "shorter than a tag header and an Ethernet header";
	case PKT_TAG_MAGIC: return "no tag header";
	case PKT_TAG_LEN: return "tag header's frame length differs from the descriptor's";
	case PKT_TAG_IFINDEX: return "tagged on another interface";
	case PKT_TAG_RESERVED: return "tag header with reserved bits set";
	}
	return "unknown tag error";
}
