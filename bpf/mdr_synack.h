/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_synack.h - the TCP handshake answered in XDP. A clean SYN (flag SYN
 * alone, ECE/CWR aside; no payload, IPv4 without options or IPv6 without
 * extension headers, no TCP options or the MSS option first) from a
 * known, rate-allowed instance, with a live responder socket, is turned
 * in place into the SYN-ACK the responder would have sent (same bytes as
 * pkt_build_tcp: MACs swapped and VLAN tags kept, DF, ID 0, the
 * responder's TTL, window and MSS) whose ISN is a SYN cookie
 * (maps/mdr_abi.h), and leaves with XDP_TX. Nothing is remembered. The
 * guest's bare ACK of it, its cookie checked here, is dropped: its request
 * creates the connection in the responder, which checks the cookie again
 * (user/core/cookie.c). Every other segment, and a SYN this cannot
 * answer, goes to the responder as before.
 */
#ifndef MDR_SYNACK_H
#define MDR_SYNACK_H

#include "mdr_common.h"
#include "mdr_csum.h"
#include "mdr_siphash.h"

#define MDR_TCP_F_FIN 0x01
#define MDR_TCP_F_SYN 0x02
#define MDR_TCP_F_RST 0x04
#define MDR_TCP_F_PSH 0x08
#define MDR_TCP_F_ACK 0x10
#define MDR_TCP_F_URG 0x20
/* The flags that decide what a segment is (ECE and CWR do not). */
#define MDR_TCP_F_ALL (MDR_TCP_F_FIN | MDR_TCP_F_SYN | MDR_TCP_F_RST | MDR_TCP_F_PSH | \
		       MDR_TCP_F_ACK | MDR_TCP_F_URG)
#define MDR_TCP_OPT_MSS 2
#define MDR_TCP_OPT_MSS_LEN 4
#define MDR_SYNACK_TCP_LEN 24 /* TCP header + MSS option */
#define MDR_IP_DF 0x4000
#define MDR_MAX_L3_OFF 22 /* Ethernet + two VLAN tags */

/* The SYN's fields, read before the frame is cut: the cookie's input
 * (addresses, ports, ISN: all the reply needs too) and the MSS option. */
struct mdr_syn {
	struct mdr_cookie_in ci;
	__u16 mss; /* the SYN's MSS option, 0 = none */
};

/*
 * The MSS option of a SYN whose options are the n bytes at opt: none at
 * all (mss 0, counted as 536), or an MSS option first, as every common
 * stack sends it (Linux, Windows, the BSDs, lwIP). Returns -1 for any
 * other layout: that SYN goes to the responder, whose parser walks every
 * option. (A walk over 40 option bytes here makes the verifier explore
 * every NOP/option sequence: over its million-instruction limit.)
 */
static __always_inline int mdr_syn_mss(const __u8 *opt, void *data_end, __u32 n, struct mdr_syn *syn)
{
	syn->mss = 0;
	if (n == 0)
		return 0;
	if (n < MDR_TCP_OPT_MSS_LEN || (void *)(opt + MDR_TCP_OPT_MSS_LEN) > data_end ||
	    opt[0] != MDR_TCP_OPT_MSS || opt[1] != MDR_TCP_OPT_MSS_LEN)
		return -1;
	syn->mss = (__u16)(opt[2] << 8 | opt[3]);
	return 0;
}

/* The index in MDR_COOKIE_MSS of the largest entry <= the peer's MSS (an
 * absent option or one below 536 counts as 536), as user/core/cookie.c. */
static __always_inline __u8 mdr_cookie_mss_idx(__u16 mss)
{
	const __u16 tab[MDR_COOKIE_MSS_N] = MDR_COOKIE_MSS;
	__u8 idx = 0;

#pragma unroll
	for (int i = 1; i < MDR_COOKIE_MSS_N; i++)
		if (mss >= tab[i])
			idx = (__u8)i;
	return idx;
}

/* The cookie for ci (every field set). */
static __always_inline __u32 mdr_cookie_of(const struct mdr_syncookie *sc,
					   const struct mdr_cookie_in *ci)
{
	__u64 h = mdr_siphash_blocks(sc->key, ci, sizeof(*ci) / 8);

	return ((__u32)(h ^ (h >> 32)) & ~(__u32)(MDR_COOKIE_MSS_N - 1)) | ci->mss_idx;
}

/* The cookie of the SYN read into syn (ci completed here). */
static __always_inline __u32 mdr_cookie(const struct mdr_syncookie *sc, __u32 instance_id,
					int v6, struct mdr_syn *syn)
{
	struct mdr_cookie_in *ci = &syn->ci;

	ci->instance_id = instance_id;
	ci->family = v6 ? 6 : 4;
	ci->mss_idx = mdr_cookie_mss_idx(syn->mss);
	ci->slot = (__u32)(bpf_ktime_get_ns() / MDR_COOKIE_SLOT_NS);
	return mdr_cookie_of(sc, ci);
}

/* Read a segment's connection into ci (addresses, ports, its sequence
 * number as cisn) and check that no IPv4 option or IPv6 extension header
 * sits between IP and TCP; its TCP header is `tcp`, already bounded. */
static __always_inline int mdr_seg_read(void *data, void *data_end, __u32 l3_off, __u32 l4_off,
					int v6, const struct tcphdr *tcp, struct mdr_cookie_in *ci)
{
	__builtin_memset(ci, 0, sizeof(*ci));
	if (v6) {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end || l4_off != l3_off + sizeof(*ip6))
			return -1;
		__builtin_memcpy(ci->remote, &ip6->saddr, 16);
		__builtin_memcpy(ci->local, &ip6->daddr, 16);
	} else {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || l4_off != l3_off + sizeof(*ip))
			return -1;
		__builtin_memcpy(ci->remote, &ip->saddr, 4);
		__builtin_memcpy(ci->local, &ip->daddr, 4);
	}
	ci->rport = bpf_ntohs(tcp->source);
	ci->lport = bpf_ntohs(tcp->dest);
	ci->cisn = bpf_ntohl(tcp->seq);
	return 0;
}

/* Read the SYN (its flags checked by mdr_handshake); -1 when it is not
 * one this program answers. */
static __always_inline int mdr_syn_read(void *data, void *data_end, __u32 l3_off, __u32 l4_off,
					__u32 end_off, int v6, struct mdr_syn *syn)
{
	struct tcphdr *tcp = data + l4_off;
	__u32 thlen;

	if ((void *)(tcp + 1) > data_end)
		return -1;
	thlen = tcp->doff * 4;
	if (thlen < sizeof(*tcp) || l4_off + thlen != end_off)
		return -1; /* a SYN with data: the responder refuses it */
	if (mdr_seg_read(data, data_end, l3_off, l4_off, v6, tcp, &syn->ci))
		return -1;
	return mdr_syn_mss((const __u8 *)(tcp + 1), data_end, thlen - sizeof(*tcp), syn);
}

/*
 * Answer the SYN with a cookie SYN-ACK: XDP_TX, or -1 when the frame is
 * left as it was for the responder (not a SYN this answers, the frame
 * could not be resized).
 */
static __always_inline int mdr_synack(struct xdp_md *ctx, const struct mdr_syncookie *sc,
				      __u32 l3_off, __u32 l4_off, __u32 end_off, int v6,
				      __u32 instance_id)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;
	struct tcphdr *tcp;
	struct mdr_syn syn;
	__u8 mac[ETH_ALEN], *opt;
	__u32 cookie, new_len;
	__u64 sum;
	__u16 mss;

	if (mdr_syn_read(data, data_end, l3_off, l4_off, end_off, v6, &syn))
		return -1;
	cookie = mdr_cookie(sc, instance_id, v6, &syn);
	mss = v6 ? sc->mss6 : sc->mss4;

	/* The reply: L2 as received, a bare IP header, TCP with one option. */
	new_len = l4_off + MDR_SYNACK_TCP_LEN;
	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)(data_end - data)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	tcp = data + l4_off;
	if ((void *)(eth + 1) > data_end || (void *)tcp + MDR_SYNACK_TCP_LEN > data_end)
		return -1; /* cannot happen: the frame is exactly this long */

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	tcp->source = bpf_htons(syn.ci.lport);
	tcp->dest = bpf_htons(syn.ci.rport);
	tcp->seq = bpf_htonl(cookie);
	tcp->ack_seq = bpf_htonl(syn.ci.cisn + 1);
	((__u8 *)tcp)[12] = (MDR_SYNACK_TCP_LEN / 4) << 4;
	((__u8 *)tcp)[13] = MDR_TCP_F_SYN | MDR_TCP_F_ACK;
	tcp->window = bpf_htons(sc->win);
	tcp->check = 0;
	tcp->urg_ptr = 0;
	opt = (__u8 *)(tcp + 1);
	opt[0] = MDR_TCP_OPT_MSS;
	opt[1] = MDR_TCP_OPT_MSS_LEN;
	opt[2] = (__u8)(mss >> 8);
	opt[3] = (__u8)mss;
	sum = bpf_htonl(MDR_SYNACK_TCP_LEN) + bpf_htonl(IPPROTO_TCP);

	if (v6) {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(0x60000000u); /* version 6, no class, no label */
		ip6->payload_len = bpf_htons(MDR_SYNACK_TCP_LEN);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = sc->ttl;
		__builtin_memcpy(&ip6->saddr, syn.ci.local, 16);
		__builtin_memcpy(&ip6->daddr, syn.ci.remote, 16);
		sum = mdr_csum_words(sum, (const __u32 *)syn.ci.local, 8); /* local + remote */
	} else {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > data_end)
			return -1;
		((__u8 *)ip)[0] = 0x45;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + MDR_SYNACK_TCP_LEN);
		ip->id = 0; /* unused with DF (RFC 6864) */
		ip->frag_off = bpf_htons(MDR_IP_DF);
		ip->ttl = sc->ttl;
		ip->protocol = IPPROTO_TCP;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, syn.ci.local, 4);
		__builtin_memcpy(&ip->daddr, syn.ci.remote, 4);
		ip->check = mdr_csum_fold(mdr_csum_words(0, (const __u32 *)ip, 5));
		sum = mdr_csum_words(sum, (const __u32 *)&ip->saddr, 2);
	}
	tcp->check = mdr_csum_fold(mdr_csum_words(sum, (const __u32 *)tcp, MDR_SYNACK_TCP_LEN / 4));
	return XDP_TX;
}

/*
 * The guest's handshake ACK: a bare ACK (no payload; its flags, ACK alone
 * but for ECE/CWR, checked by mdr_handshake) whose acknowledgment number - 1 is a cookie for its connection
 * and sequence number - 1, made in this slot or the previous one. The
 * responder does not need it: the request that follows carries the same
 * numbers and creates the connection there (user/core/tcp.c,
 * cookie_input), so it is dropped here, one frame less per connection for
 * the responder and for a fresh socket's fill ring. XDP_DROP, or -1 for
 * the responder: any other segment, or a bare ACK without such a cookie
 * (an ACK of a connection past its handshake, or a forged one).
 * The one thing lost (docs/DESIGN.md "Handshake in XDP"): a window update
 * sent before the responder sent any data; only a guest that advertised a
 * zero window in its request sends one, and it stalls only itself.
 */
static __always_inline int mdr_handshake_ack(struct xdp_md *ctx, const struct mdr_syncookie *sc,
					     __u32 l3_off, __u32 l4_off, __u32 end_off, int v6,
					     __u32 instance_id)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcp = data + l4_off;
	struct mdr_cookie_in ci;
	__u32 isn, slot;

	if ((void *)(tcp + 1) > data_end || l4_off + tcp->doff * 4 != end_off)
		return -1;
	if (mdr_seg_read(data, data_end, l3_off, l4_off, v6, tcp, &ci))
		return -1;
	ci.cisn -= 1;
	isn = bpf_ntohl(tcp->ack_seq) - 1;
	ci.instance_id = instance_id;
	ci.family = v6 ? 6 : 4;
	ci.mss_idx = (__u8)(isn & (MDR_COOKIE_MSS_N - 1));
	slot = (__u32)(bpf_ktime_get_ns() / MDR_COOKIE_SLOT_NS);
	ci.slot = slot;
	if (mdr_cookie_of(sc, &ci) == isn)
		return XDP_DROP;
	ci.slot = slot - 1;
	if (mdr_cookie_of(sc, &ci) == isn)
		return XDP_DROP;
	return -1;
}

/*
 * The TCP handshake in XDP: a SYN answered (XDP_TX), the guest's ACK of
 * that answer dropped (XDP_DROP), or -1: the frame goes to the responder
 * as it was (any other segment, the handshake off (cfg_flags, the caller's
 * mdr_config flags) or no key published by the responder). A global
 * function: the verifier checks it once, apart from its callers (offsets
 * arrive as unknown scalars, bounded here). offs = l3_off | l4_off << 8 |
 * is_ipv6 << 16 (a BPF call takes five arguments at most).
 */
__noinline int mdr_handshake(struct xdp_md *ctx, __u32 offs, __u32 end_off, __u32 instance_id,
			     __u32 cfg_flags)
{
	__u32 l3_off = offs & 0xff, l4_off = (offs >> 8) & 0xff, v6 = offs >> 16;
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	const struct mdr_syncookie *sc;
	struct tcphdr *tcp = data + l4_off;
	__u32 key = 0;
	__u8 flags;

	if (l3_off > MDR_MAX_L3_OFF || l4_off > MDR_MAX_L4_OFF || end_off > 0xffff)
		return -1;
	if ((void *)(tcp + 1) > data_end)
		return -1;
	flags = ((__u8 *)tcp)[13] & MDR_TCP_F_ALL;
	if (flags != MDR_TCP_F_SYN && flags != MDR_TCP_F_ACK)
		return -1; /* the common case, a request (PSH) or a FIN: no lookup */
	if (cfg_flags & MDR_CFG_F_NO_XDP_SYNACK)
		return -1;
	sc = bpf_map_lookup_elem(&mdr_syncookie, &key);
	if (!sc || sc->key_set != 1)
		return -1;
	if (flags == MDR_TCP_F_SYN)
		return mdr_synack(ctx, sc, l3_off, l4_off, end_off, v6, instance_id);
	return mdr_handshake_ack(ctx, sc, l3_off, l4_off, end_off, v6, instance_id);
}

#endif /* MDR_SYNACK_H */
