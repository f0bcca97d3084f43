/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdrctl internals: the helpers of ctl.c and every command's entry point.
 * main.c holds only the command table; each command file includes this
 * header and nothing of main.c, so there is no include cycle. */
#ifndef MDRCTL_CTL_H
#define MDRCTL_CTL_H

#include <stdint.h>
#include <jansson.h>
#include "pinned.h"

/* Exit statuses: 0 done, 1 the operation failed, 2 bad usage. */
#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2

extern struct mdr_maps ctl_maps;
extern const char *ctl_pin_dir;

/* Opens ctl_maps on first use; CTL_OK or CTL_FAIL (message printed). */
int ctl_open(void);
/* Closes them if open. */
void ctl_close(void);
/* Prints "mdrctl: <msg>" on stderr, returns CTL_FAIL. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON value (stable key order, 2-space indent) and frees it. */
int ctl_print_json(json_t *v);
/* "-j" among argv[1..]: removes it, returns 1. */
int ctl_take_flag(int *argc, char **argv, const char *flag);

/* How frames reach the responder: the one data-path mode of this build. */
#define CTL_DATA_PATH_ID "tag-header"
#define CTL_DATA_PATH "tag header prepended by XDP (bpf_xdp_adjust_head), AF_XDP copy mode"

/* Reads FILE (or "-": stdin) whole; CTL_OK or CTL_FAIL (message printed). */
int ctl_read_input(const char *path, char **buf, size_t *len);
/* getrandom() filler for mdr_render_ctx.random. */
void ctl_random_bytes(void *buf, size_t len, void *opaque);

/* instance.c */
int cmd_instance(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_unbind(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* configdrive.c */
int cmd_configdrive(int argc, char **argv);

/* info.c */
int cmd_features(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_token_key(int argc, char **argv);
int cmd_notify(int argc, char **argv);
json_t *ctl_config_json(const struct mdr_config *c);

/* aws.c: EC2's categories at run time, password reset, node key */
extern const char *ctl_node_key_dir;
int cmd_set(int argc, char **argv);
int cmd_credentials(int argc, char **argv);
int cmd_password(int argc, char **argv);
int cmd_node_key(int argc, char **argv);
struct mdr_defn;
/* Sign d's identity document with the node key (none: unsigned).
 * CTL_OK or CTL_FAIL (message printed, d unchanged). */
int ctl_sign(struct mdr_defn *d, const char *what);

/* why.c: walk one guest's chain, name the first broken link */
int cmd_why(int argc, char **argv);

/* portsec.c: MAC bindings trusted on bridge ifindex (unpinned or pinned
 * to it), how many mdrd's nftables rules enforce, and the forged frames
 * they dropped. Returns 1 when mdrd's table exists. */
int ctl_portsec_bridge(uint32_t ifindex, int *trusted, int *enforced, long long *dropped);

#endif
