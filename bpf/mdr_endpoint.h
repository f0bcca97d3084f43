/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_endpoint.h - the runtime configuration and the metadata endpoint set.
 * With n_endpoints == 0 (never configured) the built-in defaults apply:
 * 169.254.169.254:80, [fe80::a9fe:a9fe]:80 and [fd00:ec2::254]:80.
 */
#ifndef MDR_ENDPOINT_H
#define MDR_ENDPOINT_H

#include "mdr_common.h"

#define MDR_DEF_PORT 80
#define MDR_DEF_V4 0xa9fea9feu            /* 169.254.169.254 */
#define MDR_DEF_LL6_W0 0xfe800000u        /* fe80::a9fe:a9fe, first word */
#define MDR_DEF_LL6_W3 0xa9fea9feu        /* ... and last word */
#define MDR_DEF_EC2_6_W0 0xfd000ec2u      /* fd00:ec2::254, first word */
#define MDR_DEF_EC2_6_W3 0x00000254u      /* ... and last word */

static __always_inline const struct mdr_config *mdr_config_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&mdr_config, &key);
}

/* The MAC that answers ARP/ND: configured, or the built-in default. */
static __always_inline void mdr_meta_mac(const struct mdr_config *cfg, __u8 mac[ETH_ALEN])
{
	const __u8 *m = cfg->meta_mac;

	if (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) {
		__builtin_memcpy(mac, m, ETH_ALEN);
	} else {
		const __u8 def[ETH_ALEN] = MDR_DEFAULT_META_MAC;

		/* byte by byte: folded to immediates, no .rodata map */
		mac[0] = def[0];
		mac[1] = def[1];
		mac[2] = def[2];
		mac[3] = def[3];
		mac[4] = def[4];
		mac[5] = def[5];
	}
}

/* Is (addr, port) a metadata endpoint? any_port: is addr a metadata address. */
static __always_inline int mdr_ep_match4(const struct mdr_config *cfg, __be32 addr, __be16 port,
					 int any_port)
{
	__u32 n = cfg->n_endpoints;

	if (n == 0)
		return addr == bpf_htonl(MDR_DEF_V4) && (any_port || port == bpf_htons(MDR_DEF_PORT));
#pragma unroll
	for (__u32 i = 0; i < MDR_MAX_ENDPOINTS; i++) {
		const struct mdr_endpoint *ep = &cfg->ep[i];

		if (i >= n)
			break;
		if (ep->family == 4 && *(const __be32 *)ep->addr == addr &&
		    (any_port || ep->port_be == port))
			return 1;
	}
	return 0;
}

static __always_inline int mdr_addr6_eq(const __be32 *a, __u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	return a[0] == bpf_htonl(w0) && a[1] == bpf_htonl(w1) && a[2] == bpf_htonl(w2) &&
	       a[3] == bpf_htonl(w3);
}

/* IPv6 flavour of mdr_ep_match4; addr points into the packet. */
static __always_inline int mdr_ep_match6(const struct mdr_config *cfg, const __be32 *addr,
					 __be16 port, int any_port)
{
	__u32 n = cfg->n_endpoints;

	if (n == 0)
		return (mdr_addr6_eq(addr, MDR_DEF_LL6_W0, 0, 0, MDR_DEF_LL6_W3) ||
			mdr_addr6_eq(addr, MDR_DEF_EC2_6_W0, 0, 0, MDR_DEF_EC2_6_W3)) &&
		       (any_port || port == bpf_htons(MDR_DEF_PORT));
#pragma unroll
	for (__u32 i = 0; i < MDR_MAX_ENDPOINTS; i++) {
		const struct mdr_endpoint *ep = &cfg->ep[i];
		const __be32 *w = (const __be32 *)ep->addr;

		if (i >= n)
			break;
		if (ep->family == 6 && w[0] == addr[0] && w[1] == addr[1] && w[2] == addr[2] &&
		    w[3] == addr[3] && (any_port || ep->port_be == port))
			return 1;
	}
	return 0;
}

#endif /* MDR_ENDPOINT_H */
