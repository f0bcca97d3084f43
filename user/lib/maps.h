/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.[ch]: open every pinned map of a pin directory by name (the names
 * are MDR_MAP_* in mdr_abi.h). Used by mdrd, mdr-responder and mdrctl.
 */
#ifndef MDR_MAPS_H_USER
#define MDR_MAPS_H_USER

#include <stddef.h>
#include "mdr_abi.h"

/* Longest pin directory path accepted (fits PATH_MAX with a map name). */
#define MDR_PIN_DIR_MAX 3800

struct mdr_maps {
	int config;
	int ports;
	int macs;
	int limits;
	int rl;
	int inst;
	int uuids;
	int xsks;
	int xsk_slot;
	int ifaces;
	int passwords;
	int tokkey;
	int stats;
	int istats;
	int rstats;
	int abi; /* -1 on pins older than the version record */
	int chunk[MDR_CHUNK_CLASSES];
	int lock_fd; /* the pin directory, flock()ed by writers (store.c) */
	char pin_dir[MDR_PIN_DIR_MAX];
};

/* Every fd -1 (so mdr_maps_close is always safe). */
void mdr_maps_init(struct mdr_maps *m);

/*
 * Open all pinned maps under pin_dir. On failure returns -errno, closes
 * what it opened and logs one line naming the missing pin, e.g.
 * "cannot open pinned map /sys/fs/bpf/mdr/mdr_ports: No such file or
 * directory (is mdrd running / was the program loaded with this --pin-dir?)".
 */
int mdr_maps_open(struct mdr_maps *m, const char *pin_dir);
void mdr_maps_close(struct mdr_maps *m);

/* Table view for generic code (status, purge): name and fd pointer. */
struct mdr_map_ref {
	const char *name;
	int *fd;
};
/* Fills refs (room for MDR_MAPS_COUNT), returns the count. */
#define MDR_MAPS_COUNT (16 + MDR_CHUNK_CLASSES)
size_t mdr_maps_refs(struct mdr_maps *m, struct mdr_map_ref *refs);

/* Serialise writers across processes (mdrd, mdrctl): flock on the pin dir. */
int mdr_maps_lock(struct mdr_maps *m);
void mdr_maps_unlock(struct mdr_maps *m);

/* ---- runtime configuration (mdr_config), shared by mdrctl and mdrd ---- */

/* Defaults of a fresh mdr_config: mdr_config_defaults() in loader.h. */

/* An edit of the configuration built from settings, applied to the map's
 * current value with mdr_config_edit_apply. */
struct mdr_config_edit {
	int set_unknown_policy, set_no_xsk_policy, set_meta_mac, set_rate, set_burst;
	int set_arp, set_endpoints;
	struct mdr_config v; /* the values of the fields marked set_* */
};

/*
 * One setting, as a flag (--policy-unknown drop) or a config file line
 * (policy-unknown=drop). Keys: policy-unknown, policy-no-xsk (pass|drop),
 * meta-mac (MAC), rate (1..MDR_MAX_RATE_PPS), burst (1..), arp (on|off),
 * endpoint (ADDR[:PORT], IPv6 as [ADDR]:PORT, repeatable: the first
 * replaces the set, later ones add to it; port defaults to 80).
 * Returns 0, 1 when key is not a config key, or -1 with err naming the
 * problem.
 */
int mdr_config_edit_set(struct mdr_config_edit *e, const char *key, const char *value,
			char *err, size_t errlen);
void mdr_config_edit_apply(const struct mdr_config_edit *e, struct mdr_config *c);
int mdr_config_edit_empty(const struct mdr_config_edit *e);

/* "169.254.169.254:80" / "[fe80::a9fe:a9fe]:80". */
void mdr_endpoint_format(const struct mdr_endpoint *ep, char *buf, size_t len);
const char *mdr_policy_name(unsigned policy);

/* Read / write mdr_config[0]. 0 or -errno. */
int mdr_config_read(const struct mdr_maps *m, struct mdr_config *c);
int mdr_config_write(const struct mdr_maps *m, const struct mdr_config *c);

/* Read one per-CPU struct mdr_xdp_counters (mdr_stats, mdr_istats) summed
 * over every possible CPU. 0 or -errno (-ENOENT: no entry; sum zeroed). */
int mdr_xdp_counters_read(int fd, const void *key, struct mdr_xdp_counters *sum);

#endif /* MDR_MAPS_H_USER */
