/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_tag.h - which instance sent a frame addressed to the metadata service.
 * The ingress port binding wins (its VLAN and, if asked, its MAC must match:
 * anything else is spoofing); without one, the (source MAC, outer VLAN)
 * binding, which may itself be pinned to one port. The instance must also
 * have limits (mdr_limits) to be known.
 */
#ifndef MDR_TAG_H
#define MDR_TAG_H

#include "mdr_common.h"
#include "mdr_stats.h"

enum mdr_who {
	MDR_WHO_KNOWN = 0,
	MDR_WHO_SPOOFED, /* bound, but from the wrong MAC, VLAN or port */
	MDR_WHO_UNKNOWN, /* no binding, or a binding to an instance without limits */
};

struct mdr_tag {
	__u32 instance_id;
	__u8 by; /* enum mdr_tagged_by */
	const struct mdr_limits *lim; /* NULL unless the instance is known */
};

static __always_inline int mdr_mac_eq(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

/*
 * Tag the frame and attach the instance's counters to cnt when the bound
 * instance exists (also for spoofed frames: the victim sees the attempt).
 */
static __always_inline int mdr_identify(const struct xdp_md *ctx, const struct ethhdr *eth,
					const struct mdr_l2 *l2, struct mdr_tag *t,
					struct mdr_cnt *cnt)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct mdr_port_binding *pb;
	struct mdr_mac_binding *mb;
	struct mdr_mac_key key = {};
	int spoofed;

	t->lim = NULL;
	pb = bpf_map_lookup_elem(&mdr_ports, &ifindex);
	if (pb) {
		t->instance_id = pb->instance_id;
		t->by = MDR_TAG_PORT;
		spoofed = pb->vlan != l2->vid_outer ||
			  ((pb->flags & MDR_PORT_F_CHECK_MAC) && !mdr_mac_eq(pb->mac, eth->h_source));
	} else {
		__builtin_memcpy(key.mac, eth->h_source, ETH_ALEN);
		key.vlan = l2->vid_outer;
		mb = bpf_map_lookup_elem(&mdr_macs, &key);
		if (!mb)
			return MDR_WHO_UNKNOWN;
		t->instance_id = mb->instance_id;
		t->by = MDR_TAG_MAC;
		spoofed = mb->ifindex && mb->ifindex != ifindex;
	}
	t->lim = bpf_map_lookup_elem(&mdr_limits, &t->instance_id);
	if (t->lim)
		cnt->i = mdr_stats_instance(t->instance_id);
	if (spoofed)
		return MDR_WHO_SPOOFED;
	return t->lim ? MDR_WHO_KNOWN : MDR_WHO_UNKNOWN;
}

#endif /* MDR_TAG_H */
