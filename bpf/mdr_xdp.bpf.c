/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Placeholder until the classifier lands: passes everything. */
#include "mdr_maps.h"

SEC("xdp")
int mdr_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
