/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_l2resp.h - the ARP and Neighbour Discovery responder: a request for a
 * metadata address from a known instance is turned into the reply in place
 * (VLAN tags kept) and sent back with XDP_TX. Everything else passes.
 */
#ifndef MDR_L2RESP_H
#define MDR_L2RESP_H

#include "mdr_common.h"
#include "mdr_csum.h"
#include "mdr_endpoint.h"
#include "mdr_ratelimit.h"
#include "mdr_stats.h"
#include "mdr_tag.h"

/*
 * Common gate for ARP and NS from a candidate instance: spoofed -> drop,
 * unknown -> pass untouched (the host's own neighbour code may answer),
 * over the rate -> drop. Returns -1 when the reply may be built, else the
 * verdict.
 */
static __always_inline int mdr_l2resp_gate(const struct xdp_md *ctx, const struct ethhdr *eth,
					   const struct mdr_l2 *l2, const struct mdr_config *cfg,
					   struct mdr_cnt *cnt)
{
	struct mdr_tag t;

	switch (mdr_identify(ctx, eth, l2, &t, cnt)) {
	case MDR_WHO_SPOOFED:
		MDR_COUNT(cnt, spoofed);
		return XDP_DROP;
	case MDR_WHO_UNKNOWN:
		MDR_COUNT(cnt, unknown);
		MDR_COUNT(cnt, passed);
		return XDP_PASS;
	}
	if (!t.lim || !mdr_rl_allow(t.instance_id, t.lim, cfg)) { /* lim is set when KNOWN */
		MDR_COUNT(cnt, rate_limited);
		return XDP_DROP;
	}
	return -1;
}

/* ARP request (Ethernet/IPv4) for a metadata address -> ARP reply. */
static __always_inline int mdr_arp(struct xdp_md *ctx, void *data, void *data_end,
				   const struct mdr_l2 *l2)
{
	struct ethhdr *eth = data;
	struct mdr_arp_eth *arp = data + l2->l3_off;
	const struct mdr_config *cfg;
	struct mdr_cnt cnt = {};
	__u8 mac[ETH_ALEN];
	__be32 spa, tpa;
	int verdict;

	if ((void *)(arp + 1) > data_end)
		return mdr_pass();
	if (arp->op != bpf_htons(MDR_ARP_OP_REQUEST) || arp->htype != bpf_htons(MDR_ARP_HRD_ETHER) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN || arp->plen != 4)
		return mdr_pass();
	cfg = mdr_config_get();
	if (!cfg || (cfg->flags & MDR_CFG_F_NO_ARP))
		return mdr_pass();
	__builtin_memcpy(&tpa, arp->tpa, 4);
	__builtin_memcpy(&spa, arp->spa, 4);
	/* A gratuitous ARP (sender == target) announces, it asks nothing. */
	if (spa == tpa || !mdr_ep_match4(cfg, tpa, 0, 1))
		return mdr_pass();

	cnt.g = mdr_stats_global();
	verdict = mdr_l2resp_gate(ctx, eth, l2, cfg, &cnt);
	if (verdict >= 0)
		return verdict;

	mdr_meta_mac(cfg, mac);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	arp->op = bpf_htons(MDR_ARP_OP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, &spa, 4);
	__builtin_memcpy(arp->sha, mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, &tpa, 4);
	MDR_COUNT(&cnt, arp_replied);
	return XDP_TX;
}

/*
 * ICMPv6 to us: a Neighbour Solicitation (hop limit 255, code 0, from a
 * specified source: DAD probes are not answered) for a metadata address ->
 * Neighbour Advertisement (Solicited + Override, TLLA = metadata MAC) from
 * the target address to the solicitor, resized to exactly the NA.
 */
static __always_inline int mdr_ns(struct xdp_md *ctx, void *data, void *data_end,
				  const struct mdr_l2 *l2)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + l2->l3_off;
	struct mdr_icmp6_nd *ns = (void *)(ip6 + 1);
	const struct mdr_config *cfg;
	struct mdr_cnt cnt = {};
	struct mdr_nd_na *na;
	__u8 mac[ETH_ALEN];
	__be32 src[4], target[4];
	__u32 plen, new_len, len;
	int verdict;

	if ((void *)(ns + 1) > data_end)
		return mdr_pass();
	if (ns->type != MDR_ND_NS || ns->code != 0 || ip6->hop_limit != MDR_ND_HOP_LIMIT)
		return mdr_pass();
	plen = bpf_ntohs(ip6->payload_len);
	if (plen < MDR_NS_LEN || (void *)(ip6 + 1) + plen > data_end)
		return mdr_pass();
	__builtin_memcpy(src, &ip6->saddr, sizeof(src));
	if (!(src[0] | src[1] | src[2] | src[3]))
		return mdr_pass(); /* DAD probe */
	cfg = mdr_config_get();
	if (!cfg || (cfg->flags & MDR_CFG_F_NO_ARP) || !mdr_ep_match6(cfg, ns->target, 0, 1))
		return mdr_pass();
	__builtin_memcpy(target, ns->target, sizeof(target));

	cnt.g = mdr_stats_global();
	verdict = mdr_l2resp_gate(ctx, eth, l2, cfg, &cnt);
	if (verdict >= 0)
		return verdict;

	/* Exactly header + NA: grow when the NS had no option, trim extras. */
	mdr_meta_mac(cfg, mac);
	len = (long)data_end - (long)data;
	new_len = l2->l3_off + sizeof(*ip6) + sizeof(*na);
	if (new_len != len && bpf_xdp_adjust_tail(ctx, (int)new_len - (int)len)) {
		MDR_COUNT(&cnt, passed); /* no tailroom: leave it to the host */
		return XDP_PASS;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = data + l2->l3_off;
	na = (void *)(ip6 + 1);
	if ((void *)(na + 1) > data_end) {
		MDR_COUNT(&cnt, malformed);
		return XDP_DROP;
	}

	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	*(__be32 *)ip6 = bpf_htonl(0x60000000u); /* version 6, no class, no flow */
	ip6->payload_len = bpf_htons(sizeof(*na));
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = MDR_ND_HOP_LIMIT;
	__builtin_memcpy(&ip6->saddr, target, sizeof(target));
	__builtin_memcpy(&ip6->daddr, src, sizeof(src));
	na->nd.type = MDR_ND_NA;
	na->nd.code = 0;
	na->nd.csum = 0;
	na->nd.flags = bpf_htonl(MDR_ND_NA_FLAGS_SO);
	__builtin_memcpy(na->nd.target, target, sizeof(target));
	na->opt_type = MDR_ND_OPT_TLLA;
	na->opt_len = 1;
	__builtin_memcpy(na->opt_mac, mac, ETH_ALEN);
	na->nd.csum = mdr_icmp6_csum(ip6, na, sizeof(*na));
	MDR_COUNT(&cnt, nd_replied);
	return XDP_TX;
}

#endif /* MDR_L2RESP_H */
