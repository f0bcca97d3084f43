/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * mdr_xdp - the XDP classifier in front of every guest port.
 *
 *   ARP/NS for a metadata address from a known instance  -> reply, XDP_TX
 *   TCP to a metadata endpoint from a known instance      -> meta + XSK redirect
 *   anything else                                          -> XDP_PASS, early
 *
 * It runs on every frame a guest sends, so the pass-through path reads only
 * what it must: Ethernet (+ tags), then the IP protocol and destination. The
 * strict validation, instance tagging and rate limiting only happen for
 * frames addressed to the metadata service. Headers: mdr_parse.h (parsing),
 * mdr_endpoint.h (config), mdr_tag.h (instances), mdr_ratelimit.h,
 * mdr_stats.h (counters), mdr_csum.h and mdr_l2resp.h (ARP/ND).
 */
#include "mdr_common.h"
#include "mdr_parse.h"
#include "mdr_endpoint.h"
#include "mdr_stats.h"
#include "mdr_tag.h"
#include "mdr_ratelimit.h"
#include "mdr_l2resp.h"

/*
 * Make the metadata area exactly one struct mdr_xdp_meta. At XDP entry it is
 * empty, so this is adjust_meta(-sizeof(meta)); measuring what is already
 * there keeps it right when a program before us (a libxdp dispatcher chain)
 * or a repeated BPF_PROG_TEST_RUN already reserved some.
 */
static __always_inline int mdr_meta_reserve(struct xdp_md *ctx)
{
	long have = (long)ctx->data - (long)ctx->data_meta;

	return bpf_xdp_adjust_meta(ctx, (int)(have - (long)sizeof(struct mdr_xdp_meta)));
}

/*
 * A valid TCP segment for a metadata endpoint: tag it, rate-limit it, and
 * hand it to the responder socket of this (interface, queue) with the
 * metadata in front.
 */
static __always_inline int mdr_serve_tcp(struct xdp_md *ctx, void *data, const struct mdr_l2 *l2,
					 const struct mdr_config *cfg, const struct mdr_l4 *l4,
					 __u8 flags)
{
	struct mdr_cnt cnt = { .g = mdr_stats_global() };
	struct mdr_xsk_key xk;
	struct mdr_xdp_meta *m;
	struct mdr_tag t;
	__u32 *slot;
	__u64 fb;
	int who, verdict;

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
	if (!slot || mdr_meta_reserve(ctx)) {
		MDR_COUNT(&cnt, no_xsk);
		return mdr_fallback(cfg->no_xsk_policy, &cnt);
	}
	data = (void *)(long)ctx->data;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data) {
		MDR_COUNT(&cnt, no_xsk);
		return mdr_fallback(cfg->no_xsk_policy, &cnt);
	}
	m->instance_id = t.instance_id;
	m->ifindex = ctx->ingress_ifindex;
	m->vlan_outer = l2->vid_outer;
	m->vlan_inner = l2->vid_inner;
	m->tagged_by = t.by;
	m->l3_off = l2->l3_off;
	m->l4_off = l4->l4_off;
	m->flags = flags;
	m->magic = MDR_META_MAGIC;

	fb = cfg->no_xsk_policy == MDR_POLICY_DROP ? XDP_DROP : XDP_PASS;
	verdict = bpf_redirect_map(&mdr_xsks, *slot, fb);
	if (verdict == XDP_REDIRECT) {
		MDR_COUNT(&cnt, redirected);
		return verdict;
	}
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
	return mdr_serve_tcp(ctx, data, l2, cfg, &l4, MDR_META_F_IPV6);
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
