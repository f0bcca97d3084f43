/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_common.h - includes, protocol constants and small types shared by the
 * headers of the XDP classifier (one concern per header: parsing, endpoints,
 * counters, tagging, rate limit, checksum, ARP/ND responder).
 */
#ifndef MDR_COMMON_H
#define MDR_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mdr_maps.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define MDR_VLAN_VID_MASK 0x0fff
#define MDR_IP_MF 0x2000     /* more fragments */
#define MDR_IP_OFFSET 0x1fff /* fragment offset */

/* ARP (RFC 826) for Ethernet/IPv4, the only kind answered. */
#define MDR_ARP_HRD_ETHER 1
#define MDR_ARP_OP_REQUEST 1
#define MDR_ARP_OP_REPLY 2

/* IPv6 next headers walked before TCP (RFC 8200 4.1). */
#define MDR_NH_HOPOPTS 0
#define MDR_NH_ROUTING 43
#define MDR_NH_FRAGMENT 44
#define MDR_NH_DSTOPTS 60
/* Extension headers walked for a metadata destination: a legitimate request
 * carries none; four covers HBH + dest opts + routing + dest opts. */
#define MDR_MAX_IPV6_EXT 4
/* Offsets in struct mdr_tag_hdr are one byte: deeper headers are refused. */
#define MDR_MAX_L4_OFF 255

/* Neighbour Discovery (RFC 4861). */
#define MDR_ND_HOP_LIMIT 255 /* NS/NA must carry 255 (4861 7.1.1) */
#define MDR_ND_NS 135
#define MDR_ND_NA 136
#define MDR_ND_OPT_TLLA 2
#define MDR_ND_NA_FLAGS_SO 0x60000000u /* Solicited + Override */
#define MDR_NS_LEN 24 /* ICMPv6 header + reserved + target, no options */
#define MDR_NA_LEN 32 /* ICMPv6 header + flags + target + TLLA option */

/* One token of the rate limiter, in the bucket's nanosecond scale. */
#define MDR_NS_PER_TOKEN 1000000000ull

struct mdr_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* ARP payload for Ethernet/IPv4 (28 bytes); addresses unaligned. */
struct mdr_arp_eth {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

struct mdr_icmp6_nd {
	__u8 type;
	__u8 code;
	__be16 csum;
	__be32 flags; /* reserved in NS, R/S/O in NA */
	__be32 target[4];
};

/* The NA this program builds: header, target, one TLLA option. */
struct mdr_nd_na {
	struct mdr_icmp6_nd nd;
	__u8 opt_type;
	__u8 opt_len; /* units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
};

/* What L2 parsing found: the ethertype after the tags and where L3 starts. */
struct mdr_l2 {
	__u16 proto;     /* network order */
	__u16 vid_outer; /* outermost tag's VID, 0 = untagged */
	__u16 vid_inner; /* second tag's VID (QinQ), 0 = none */
	__u16 l3_off;    /* 14, 18 or 22 */
};

_Static_assert(sizeof(struct mdr_arp_eth) == 28, "ARP Ethernet/IPv4 payload");
_Static_assert(sizeof(struct mdr_icmp6_nd) == MDR_NS_LEN, "NS without options");
_Static_assert(sizeof(struct mdr_nd_na) == MDR_NA_LEN, "NA with TLLA");

#endif /* MDR_COMMON_H */
