/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kfeat: probe the kernel features mdr's data path relies on, before
 * anything is loaded, so that a missing one is reported by name with what
 * provides it, instead of a bare "Invalid argument" from the verifier or a
 * bind.
 *
 * Each probe asks the kernel directly (libbpf's program-type, map-type and
 * helper probes; statfs; socket()). XDP attach modes and AF_XDP binding are
 * tried for real on a veth pair in a private network namespace that a
 * short-lived child process creates and that vanishes with it: nothing of
 * the caller's namespaces is touched.
 */
#ifndef MDR_KFEAT_H
#define MDR_KFEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum mdr_feat_status {
	MDR_FEAT_OK = 0,
	MDR_FEAT_MISSING,  /* the kernel said no */
	MDR_FEAT_UNKNOWN,  /* could not be asked (no privilege, probe failed) */
};

/* Flags of mdr_features_probe(). */
#define MDR_FEAT_SKIP_NETNS (1u << 0) /* no throwaway-netns attach/bind probes */

#define MDR_FEAT_DETAIL_MAX 96

struct mdr_feature {
	const char *name;     /* e.g. "helper bpf_xdp_adjust_head" */
	const char *provides; /* e.g. "Linux 4.10" or "CONFIG_XDP_SOCKETS=y" */
	bool required;        /* mdr cannot run without it */
	enum mdr_feat_status status;
	char detail[MDR_FEAT_DETAIL_MAX]; /* why, when not OK (errno text) */
};

/* Environment variable naming features to report missing whatever the
 * kernel says (comma-separated substrings of their names): how tests and
 * operators rehearse a kernel without them. */
#define MDR_KFEAT_DENY_ENV "MDR_KFEAT_DENY"

/* Upper bound on the rows mdr_features_probe() fills. */
#define MDR_FEATURES_MAX 32

/*
 * Run every probe and fill out[0..n). Returns n (<= MDR_FEATURES_MAX).
 * Needs the privileges mdrd runs with (root, or CAP_BPF + CAP_NET_ADMIN +
 * CAP_SYS_ADMIN for the namespace); without them rows say UNKNOWN.
 */
size_t mdr_features_probe(struct mdr_feature *out, unsigned flags);

/* Does the verifier let an XDP program call helper `id` (enum
 * bpf_func_id)? 1 yes, 0 no, -errno when it could not be asked. */
int mdr_kfeat_helper(int id);

/* The first required feature that is not OK, or NULL. */
const struct mdr_feature *mdr_features_first_missing(const struct mdr_feature *f, size_t n);

/* Print the table, one feature a line: status, name, what provides it,
 * and why when not OK. */
void mdr_features_print(FILE *out, const struct mdr_feature *f, size_t n);

/* "ok", "missing" or "unknown". */
const char *mdr_feat_status_name(enum mdr_feat_status s);

#endif /* MDR_KFEAT_H */
