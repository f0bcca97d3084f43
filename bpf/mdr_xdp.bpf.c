/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_xdp - the XDP classifier in front of every guest port.
 *
 *   ARP/NS for a metadata address from a known instance  -> reply, XDP_TX
 *   SYN to a metadata endpoint from a known instance      -> cookie SYN-ACK, XDP_TX
 *   its bare ACK with a valid cookie                      -> XDP_DROP (request opens)
 *   TCP to a metadata endpoint from a known instance      -> tag header + XSK redirect
 *   anything else                                          -> XDP_PASS, early
 *
 * It runs on every frame a guest sends, so the pass-through path reads only
 * what it must: Ethernet (+ tags), then the IP protocol and destination. The
 * strict validation, instance tagging and rate limiting only happen for
 * frames addressed to the metadata service. Headers: mdr_parse.h (parsing),
 * mdr_endpoint.h (config), mdr_tag.h (instances), mdr_ratelimit.h,
 * mdr_stats.h (counters), mdr_csum.h and mdr_l2resp.h (ARP/ND), mdr_synack.h
 * and mdr_siphash.h (the handshake).
 */
#include "mdr_common.h"
#include "mdr_parse.h"
#include "mdr_endpoint.h"
#include "mdr_stats.h"
#include "mdr_tag.h"
#include "mdr_ratelimit.h"
#include "mdr_l2resp.h"
#include "mdr_synack.h"

/*
 * The tag travels in a header prepended to the frame (bpf_xdp_adjust_head),
 * not in the XDP metadata area: every XDP-capable kernel and driver keeps
 * XDP_PACKET_HEADROOM in front of the frame, in native and generic mode,
 * while the metadata area is optional (refused by some kernels' verifiers,
 * missing in many NIC drivers). AF_XDP copies the frame from `data`, so the
 * header lands at the start of the descriptor, written for this very frame.
 * Returns the header, or NULL when the headroom could not be taken (the
 * frame is then unchanged).
 */
static __always_inline struct mdr_tag_hdr *mdr_tag_push(struct xdp_md *ctx)
{
	struct mdr_tag_hdr *h;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*h)))
		return NULL;
	h = (void *)(long)ctx->data;
	if ((void *)(h + 1) > (void *)(long)ctx->data_end)
		return NULL; /* cannot happen: the frame only grew */
	return h;
}

/* Take the header off again: the frame leaves exactly as the guest sent it. */
static __always_inline void mdr_tag_pop(struct xdp_md *ctx)
{
	bpf_xdp_adjust_head(ctx, (int)sizeof(struct mdr_tag_hdr));
}

/*
 * A valid TCP segment for a metadata endpoint: tag it, rate-limit it, and
 * hand it to the responder socket of this (interface, queue) with the tag
 * header in front.
 */
static __always_inline int mdr_serve_tcp(struct xdp_md *ctx, void *data, const struct mdr_l2 *l2,
					 const struct mdr_config *cfg, const struct mdr_l4 *l4,
					 __u8 flags)
{
	struct mdr_cnt cnt = { .g = mdr_stats_global() };
	struct mdr_xsk_key xk;
	struct mdr_tag_hdr *h;
	struct mdr_tag t;
	__u32 *slot, xsk;
	__u16 frame_len;
	int who;

	who = mdr_identify(ctx, data, l2, &t, &cnt);
	MDR_COUNT(&cnt, matched);
	if (who == MDR_WHO_SPOOFED) {
		MDR_COUNT(&cnt, spoofed);
		return XDP_DROP;
	}
	if (who == MDR_WHO_UNKNOWN || !t.lim) {
		MDR_COUNT(&cnt, unknown);
		return mdr_fallback(cfg->unknown_policy, &cnt);
	}
	if (!mdr_rl_allow(t.instance_id, t.lim, cfg)) {
		MDR_COUNT(&cnt, rate_limited);
		return XDP_DROP;
	}

	xk.ifindex = ctx->ingress_ifindex;
	xk.queue = ctx->rx_queue_index;
	slot = bpf_map_lookup_elem(&mdr_xsk_slot, &xk);
	if (!slot) {
		MDR_COUNT(&cnt, no_xsk);
		return mdr_fallback(cfg->no_xsk_policy, &cnt);
	}
	xsk = *slot;
	/* The handshake is answered here when the responder's socket is
	 * alive (the guest's request must reach it) and it published its
	 * cookie key. */
	if (bpf_map_lookup_elem(&mdr_xsks, &xsk)) {
		int hs = mdr_handshake(ctx, l2->l3_off | l4->l4_off << 8 |
					    (flags & MDR_TAG_F_IPV6) << 16,
				       l4->end_off, t.instance_id, cfg->flags);

		if (hs == XDP_TX) {
			MDR_COUNT(&cnt, synack_sent);
			return XDP_TX;
		}
		if (hs == XDP_DROP) {
			MDR_COUNT(&cnt, handshake_acks);
			return XDP_DROP;
		}
	}
	frame_len = (__u16)((long)ctx->data_end - (long)ctx->data);
	h = mdr_tag_push(ctx);
	if (!h) {
		MDR_COUNT(&cnt, no_xsk);
		return mdr_fallback(cfg->no_xsk_policy, &cnt);
	}
	h->magic = MDR_TAG_MAGIC;
	h->instance_id = t.instance_id;
	h->ifindex = ctx->ingress_ifindex;
	h->vlan_outer = l2->vid_outer;
	h->vlan_inner = l2->vid_inner;
	h->frame_len = frame_len;
	h->tagged_by = t.by;
	h->l3_off = l2->l3_off;
	h->l4_off = l4->l4_off;
	h->flags = flags;
	h->pad = 0;

	/* XDP_DROP stands for "no socket in that slot": the verdict we return
	 * then is the policy's, on the frame with its header taken off. */
	if (bpf_redirect_map(&mdr_xsks, xsk, XDP_DROP) == XDP_REDIRECT) {
		MDR_COUNT(&cnt, redirected);
		return XDP_REDIRECT;
	}
	mdr_tag_pop(ctx);
	MDR_COUNT(&cnt, no_xsk); /* slot registered, socket gone */
	return mdr_fallback(cfg->no_xsk_policy, &cnt);
}

/* Count a drop of a frame for a metadata address that we refuse to serve. */
static __always_inline int mdr_refuse(int status)
{
	struct mdr_cnt cnt = { .g = mdr_stats_global() };

	if (status == MDR_L4_FRAGMENT)
		MDR_COUNT(&cnt, fragment);
	else
		MDR_COUNT(&cnt, malformed);
	return XDP_DROP;
}

static __always_inline int mdr_ipv4(struct xdp_md *ctx, void *data, void *data_end,
				    const struct mdr_l2 *l2)
{
	struct iphdr *ip = data + l2->l3_off;
	const struct mdr_config *cfg;
	struct tcphdr *tcp;
	struct mdr_l4 l4;
	int st;

	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
		return mdr_pass();
	cfg = mdr_config_get();
	if (!cfg || !mdr_ep_match4(cfg, ip->daddr, 0, 1))
		return mdr_pass();

	/* TCP for a metadata address: from here on, it must be clean. */
	st = mdr_check_ipv4(data_end, ip, l2->l3_off, &l4);
	if (st != MDR_L4_OK)
		return mdr_refuse(st);
	tcp = data + l4.l4_off;
	if ((void *)(tcp + 1) > data_end)
		return mdr_refuse(MDR_L4_MALFORMED);
	if (!mdr_ep_match4(cfg, ip->daddr, tcp->dest, 0))
		return mdr_pass(); /* another port of that address: not ours */
	st = mdr_check_tcp_doff(tcp, &l4);
	if (st != MDR_L4_OK)
		return mdr_refuse(st);
	return mdr_serve_tcp(ctx, data, l2, cfg, &l4, 0);
}

static __always_inline int mdr_ipv6(struct xdp_md *ctx, void *data, void *data_end,
				    const struct mdr_l2 *l2)
{
	struct ipv6hdr *ip6 = data + l2->l3_off;
	const struct mdr_config *cfg;
	struct tcphdr *tcp;
	struct mdr_l4 l4;
	__u8 nh;
	int st;

	if ((void *)(ip6 + 1) > data_end)
		return mdr_pass();
	nh = ip6->nexthdr;
	if (nh == IPPROTO_ICMPV6)
		return mdr_ns(ctx, data, data_end, l2);
	if (nh != IPPROTO_TCP && nh != MDR_NH_HOPOPTS && nh != MDR_NH_ROUTING &&
	    nh != MDR_NH_FRAGMENT && nh != MDR_NH_DSTOPTS)
		return mdr_pass();
	cfg = mdr_config_get();
	if (!cfg || !mdr_ep_match6(cfg, ip6->daddr.in6_u.u6_addr32, 0, 1))
		return mdr_pass();

	st = mdr_check_ipv6(data, data_end, ip6, l2->l3_off, &l4);
	if (st == MDR_L4_NOT_TCP)
		return mdr_pass();
	if (st != MDR_L4_OK)
		return mdr_refuse(st);
	tcp = data + l4.l4_off;
	if ((void *)(tcp + 1) > data_end)
		return mdr_refuse(MDR_L4_MALFORMED);
	if (!mdr_ep_match6(cfg, ip6->daddr.in6_u.u6_addr32, tcp->dest, 0))
		return mdr_pass();
	st = mdr_check_tcp_doff(tcp, &l4);
	if (st != MDR_L4_OK)
		return mdr_refuse(st);
	return mdr_serve_tcp(ctx, data, l2, cfg, &l4, MDR_TAG_F_IPV6);
}

SEC("xdp")
int mdr_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct mdr_l2 l2;

	if (mdr_parse_l2(data, data_end, &l2) < 0)
		return mdr_pass();
	switch (l2.proto) {
	case bpf_htons(ETH_P_IP):
		return mdr_ipv4(ctx, data, data_end, &l2);
	case bpf_htons(ETH_P_IPV6):
		return mdr_ipv6(ctx, data, data_end, &l2);
	case bpf_htons(ETH_P_ARP):
		return mdr_arp(ctx, data, data_end, &l2);
	}
	return mdr_pass();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
