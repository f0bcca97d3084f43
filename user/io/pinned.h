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
#define MDR_MAP_FD_FIELD(f) int f;
	MDR_MAP_LIST(MDR_MAP_FD_FIELD)
#undef MDR_MAP_FD_FIELD
	/* abi is -1 on pins older than the version record */
	int chunk[MDR_CHUNK_CLASSES];
	int lock_fd; /* the pin directory, flock()ed by writers (store.c) */
	char pin_dir[MDR_PIN_DIR_MAX];
};

/* Every fd -1 (so mdr_maps_close is always safe). */
void mdr_maps_init(struct mdr_maps *m);

/*
 * Open all pinned maps under pin_dir. On failure returns -errno, closes
 * what it opened and, when err is not NULL, names the missing pin, e.g.
 * "cannot open pinned map /sys/fs/bpf/mdr/mdr_ports: No such file or
 * directory (was mdrd started with --pin-dir ...?)".
 */
int mdr_maps_open(struct mdr_maps *m, const char *pin_dir, char *err, size_t errlen);
void mdr_maps_close(struct mdr_maps *m);

/* Table view for generic code (status, purge): name and fd pointer. */
struct mdr_map_ref {
	const char *name;
	int *fd;
};
/* Fills refs (room for MDR_MAPS_COUNT), returns the count. */
#define MDR_MAP_COUNT_ONE(f) +1
#define MDR_MAPS_COUNT (0 MDR_MAP_LIST(MDR_MAP_COUNT_ONE) + MDR_CHUNK_CLASSES)
size_t mdr_maps_refs(struct mdr_maps *m, struct mdr_map_ref *refs);

/* Serialise writers across processes (mdrd, mdrctl): flock on the pin dir. */
int mdr_maps_lock(struct mdr_maps *m);
void mdr_maps_unlock(struct mdr_maps *m);

/* Read / write mdr_config[0]. 0 or -errno. */
int mdr_config_read(const struct mdr_maps *m, struct mdr_config *c);
int mdr_config_write(const struct mdr_maps *m, const struct mdr_config *c);

/* Read one per-CPU struct mdr_xdp_counters (mdr_stats, mdr_istats) summed
 * over every possible CPU. 0 or -errno (-ENOENT: no entry; sum zeroed). */
int mdr_xdp_counters_read(int fd, const void *key, struct mdr_xdp_counters *sum);

#endif /* MDR_MAPS_H_USER */
