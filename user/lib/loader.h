/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loader.h - load the XDP classifier and its maps into a pin directory.
 *
 * The one loader of mdr: mdrd and the BPF tests both use it, so what the
 * tests verify is what runs. Every map is pinned by name under pin_dir and
 * reused on the next load (a daemon restart keeps bindings, instances and
 * counters); the program is pinned as <pin_dir>/mdr_prog, replacing the
 * previous one. Attaching to interfaces is the caller's job.
 */
#ifndef MDR_LOADER_H
#define MDR_LOADER_H

#include "mdr_abi.h"

struct mdr_xdp_bpf; /* the skeleton (build/mdr_xdp.skel.h) */

/*
 * Make sure pin_dir exists on a bpffs: mkdir -p, mounting bpffs at
 * /sys/fs/bpf first if pin_dir lies under it and nothing is mounted there
 * (fresh machines). Returns 0, or -errno (-ENOTSUP: pin_dir is on another
 * filesystem; mount one there with `mount -t bpf bpf DIR`).
 */
int mdr_bpffs_ensure(const char *pin_dir);

/* The configuration a fresh deployment starts with: the three default
 * endpoints, MDR_DEFAULT_META_MAC, default rate/burst, both policies PASS. */
void mdr_config_defaults(struct mdr_config *cfg);

/*
 * Open, load and pin: maps under pin_dir (created or reused), the program
 * as <pin_dir>/MDR_PROG_PIN_NAME (replaced atomically when bpffs allows),
 * and mdr_config[0] set to mdr_config_defaults() if it is all zero. On
 * success *skel_out owns the loaded object (bpf_program__fd(
 * (*skel_out)->progs.mdr_xdp), (*skel_out)->maps.*); release it with
 * mdr_loader_close() (the pins stay). Returns 0 or -errno (-EINVAL also
 * when pinned maps of an older, incompatible layout are in the way).
 * pin_dir must already exist on a bpffs (see mdr_bpffs_ensure()).
 * Needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (the verifier allows
 * variable-offset packet access only with the latter), or plain root.
 */
int mdr_loader_open(const char *pin_dir, struct mdr_xdp_bpf **skel_out);

/* Release the skeleton; pinned maps and program stay. NULL is fine. */
void mdr_loader_close(struct mdr_xdp_bpf *skel);

#endif /* MDR_LOADER_H */
