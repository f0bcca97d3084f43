/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The empty XDP_PASS program: the baseline for pass-through cost benchmarks. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_empty(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
