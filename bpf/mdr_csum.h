/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_csum.h - Internet checksum (RFC 1071) helpers. Words are summed as
 * loaded from memory (network order); the one's-complement sum is byte-order
 * independent, so the folded result is stored back without swapping.
 */
#ifndef MDR_CSUM_H
#define MDR_CSUM_H

#include "mdr_common.h"

/* Add n 32-bit words read from p (bounds already checked by the caller). */
static __always_inline __u64 mdr_csum_words(__u64 sum, const __u32 *p, int n)
{
#pragma unroll
	for (int i = 0; i < n; i++)
		sum += p[i];
	return sum;
}

/* Fold a 64-bit accumulator to 16 bits and complement it. */
static __always_inline __u16 mdr_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffffull) + (sum >> 32);
	sum = (sum & 0xffffffffull) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* ICMPv6 checksum of an IPv6 packet whose header is ip6 and whose ICMPv6
 * message of len bytes (a multiple of 4) follows it directly. */
static __always_inline __u16 mdr_icmp6_csum(const struct ipv6hdr *ip6, const void *msg, int len)
{
	__u64 sum = 0;

	sum = mdr_csum_words(sum, (const __u32 *)&ip6->saddr, 8); /* saddr + daddr */
	sum += bpf_htonl(len);
	sum += bpf_htonl(IPPROTO_ICMPV6);
	return mdr_csum_fold(mdr_csum_words(sum, msg, len / 4));
}

#endif /* MDR_CSUM_H */
