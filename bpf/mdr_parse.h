/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_parse.h - bounds-checked header parsing. The L2 step runs on every
 * frame and does only what classification needs; the strict IPv4/IPv6/TCP
 * validation runs only for frames addressed to a metadata address.
 */
#ifndef MDR_PARSE_H
#define MDR_PARSE_H

#include "mdr_common.h"

static __always_inline int mdr_is_vlan(__u16 proto_be)
{
	return proto_be == bpf_htons(ETH_P_8021Q) || proto_be == bpf_htons(ETH_P_8021AD);
}

/* Ethernet and up to two VLAN tags (802.1Q or 802.1ad, any order). Returns
 * -1 for a frame that is not ours to look at (truncated, three tags). */
static __always_inline int mdr_parse_l2(void *data, void *data_end, struct mdr_l2 *l2)
{
	struct ethhdr *eth = data;
	struct mdr_vlan_hdr *vh;

	if ((void *)(eth + 1) > data_end)
		return -1;
	l2->proto = eth->h_proto;
	l2->vid_outer = 0;
	l2->vid_inner = 0;
	l2->l3_off = sizeof(*eth);
	if (!mdr_is_vlan(l2->proto))
		return 0;

	vh = data + sizeof(*eth);
	if ((void *)(vh + 1) > data_end)
		return -1;
	l2->vid_outer = bpf_ntohs(vh->tci) & MDR_VLAN_VID_MASK;
	l2->proto = vh->proto;
	l2->l3_off += sizeof(*vh);
	if (!mdr_is_vlan(l2->proto))
		return 0;

	vh++;
	if ((void *)(vh + 1) > data_end)
		return -1;
	l2->vid_inner = bpf_ntohs(vh->tci) & MDR_VLAN_VID_MASK;
	l2->proto = vh->proto;
	l2->l3_off += sizeof(*vh);
	if (mdr_is_vlan(l2->proto))
		return -1; /* a third tag: no guest port produces that */
	return 0;
}

/* Outcome of validating a frame already known to carry TCP (or a fragment)
 * for a metadata address. */
enum mdr_l4_status {
	MDR_L4_OK = 0,
	MDR_L4_MALFORMED,
	MDR_L4_FRAGMENT,
	MDR_L4_NOT_TCP, /* IPv6 extension chain ends in another protocol */
};

/* Where TCP starts and where the IP payload ends (frame offsets). */
struct mdr_l4 {
	__u32 l4_off;
	__u32 end_off;
};

/*
 * IPv4: version 4, IHL >= 5 with options inside the packet, total length
 * covering the header and inside the frame (Ethernet padding allowed after
 * it), no fragment, a whole TCP header inside the total length.
 */
static __always_inline int mdr_check_ipv4(void *data_end, struct iphdr *ip, __u32 l3_off,
					  struct mdr_l4 *l4)
{
	__u32 hlen, tot;
	struct tcphdr *tcp;

	if (ip->version != 4 || ip->ihl < 5)
		return MDR_L4_MALFORMED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if ((void *)ip + hlen > data_end || tot < hlen || (void *)ip + tot > data_end)
		return MDR_L4_MALFORMED;
	if (ip->frag_off & bpf_htons(MDR_IP_MF | MDR_IP_OFFSET))
		return MDR_L4_FRAGMENT;
	if (tot < hlen + sizeof(*tcp))
		return MDR_L4_MALFORMED;
	tcp = (void *)ip + hlen;
	if ((void *)(tcp + 1) > data_end)
		return MDR_L4_MALFORMED;
	l4->l4_off = l3_off + hlen;
	l4->end_off = l3_off + tot;
	return MDR_L4_OK;
}

/*
 * IPv6: version 6, payload inside the frame, extension headers walked (a
 * fragment header means a fragment), a whole TCP header inside the payload.
 */
static __always_inline int mdr_check_ipv6(void *data, void *data_end, struct ipv6hdr *ip6,
					  __u32 l3_off, struct mdr_l4 *l4)
{
	void *end;
	__u8 nh = ip6->nexthdr;
	__u32 off = l3_off + sizeof(*ip6);
	struct tcphdr *tcp;

	if (ip6->version != 6)
		return MDR_L4_MALFORMED;
	end = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
	if (end > data_end)
		return MDR_L4_MALFORMED;

#pragma unroll
	for (int i = 0; i < MDR_MAX_IPV6_EXT; i++) {
		__u8 *ext = data + off;
		__u32 len;

		if (nh == IPPROTO_TCP)
			break;
		if (nh == MDR_NH_FRAGMENT)
			return MDR_L4_FRAGMENT;
		if (nh != MDR_NH_HOPOPTS && nh != MDR_NH_ROUTING && nh != MDR_NH_DSTOPTS)
			return MDR_L4_NOT_TCP;
		if ((void *)(ext + 2) > end || (void *)(ext + 2) > data_end)
			return MDR_L4_MALFORMED;
		nh = ext[0];
		len = ((__u32)ext[1] + 1) * 8;
		off += len;
		if (off > MDR_MAX_L4_OFF)
			return MDR_L4_MALFORMED;
	}
	if (nh != IPPROTO_TCP)
		return MDR_L4_MALFORMED; /* more extension headers than any request has */
	tcp = data + off;
	if ((void *)(tcp + 1) > end || (void *)(tcp + 1) > data_end)
		return MDR_L4_MALFORMED;
	l4->l4_off = off;
	l4->end_off = l3_off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	return MDR_L4_OK;
}

/* TCP data offset: at least the fixed header, options inside the IP payload. */
static __always_inline int mdr_check_tcp_doff(const struct tcphdr *tcp, const struct mdr_l4 *l4)
{
	if (tcp->doff < 5 || l4->l4_off + tcp->doff * 4 > l4->end_off)
		return MDR_L4_MALFORMED;
	return MDR_L4_OK;
}

#endif /* MDR_PARSE_H */
