/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "pinned.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "err.h"

static char chunk_names[MDR_CHUNK_CLASSES][16];

size_t mdr_maps_refs(struct mdr_maps *m, struct mdr_map_ref *refs)
{
	size_t n = 0;

#define REF(f) refs[n++] = (struct mdr_map_ref){ MDR_MAP_NAME(f), &m->f };
	MDR_MAP_LIST(REF)
#undef REF
	for (int i = 0; i < MDR_CHUNK_CLASSES; i++) {
		if (!chunk_names[i][0])
			snprintf(chunk_names[i], sizeof(chunk_names[i]), MDR_MAP_CHUNK_FMT, i);
		refs[n++] = (struct mdr_map_ref){ chunk_names[i], &m->chunk[i] };
	}
	return n;
}

void mdr_maps_init(struct mdr_maps *m)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	size_t n = mdr_maps_refs(m, refs);

	for (size_t i = 0; i < n; i++)
		*refs[i].fd = -1;
	m->lock_fd = -1;
	m->pin_dir[0] = '\0';
}

void mdr_maps_close(struct mdr_maps *m)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	size_t n = mdr_maps_refs(m, refs);

	for (size_t i = 0; i < n; i++) {
		if (*refs[i].fd >= 0)
			close(*refs[i].fd);
		*refs[i].fd = -1;
	}
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
}

int mdr_maps_open(struct mdr_maps *m, const char *pin_dir, char *errbuf, size_t errlen)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	char path[PATH_MAX];
	size_t n;
	int err;

	mdr_maps_init(m);
	if (strlen(pin_dir) >= sizeof(m->pin_dir)) {
		return mdr_errf(errbuf, errlen, -ENAMETOOLONG, "pin directory path too long: %s",
				pin_dir);
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	n = mdr_maps_refs(m, refs);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, refs[i].name);
		*refs[i].fd = bpf_obj_get(path);
		/* Pins of a release before the version record (or before the
		 * SYN cookie map, ABI 3): readable too; the map's fd stays -1. */
		if (*refs[i].fd < 0 && errno == ENOENT &&
		    (refs[i].fd == &m->abi || refs[i].fd == &m->syncookie))
			continue;
		if (*refs[i].fd < 0) {
			err = -errno;
			mdr_maps_close(m);
			return mdr_errf(errbuf, errlen, err,
					"cannot open pinned map %s: %s (was mdrd started with --pin-dir %s?)",
					path, strerror(-err), pin_dir);
		}
	}
	m->lock_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->lock_fd < 0) {
		err = -errno;
		mdr_maps_close(m);
		return mdr_errf(errbuf, errlen, err, "cannot open pin directory %s: %s", pin_dir,
				strerror(-err));
	}
	return 0;
}

int mdr_maps_lock(struct mdr_maps *m)
{
	if (m->lock_fd < 0)
		return 0; /* maps opened by hand (tests): nothing to serialise with */
	while (flock(m->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void mdr_maps_unlock(struct mdr_maps *m)
{
	if (m->lock_fd >= 0)
		flock(m->lock_fd, LOCK_UN);
}

int mdr_config_read(const struct mdr_maps *m, struct mdr_config *c)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(m->config, &k, c) ? -errno : 0;
}

int mdr_config_write(const struct mdr_maps *m, const struct mdr_config *c)
{
	__u32 k = 0;

	return bpf_map_update_elem(m->config, &k, c, BPF_ANY) ? -errno : 0;
}

int mdr_xdp_counters_read(int fd, const void *key, struct mdr_xdp_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mdr_xdp_counters *v;
	const size_t nf = sizeof(*sum) / sizeof(__u64);

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v)); /* 104 bytes: already 8-aligned */
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		int e = -errno;

		free(v);
		return e;
	}
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < nf; f++)
			((__u64 *)sum)[f] += ((const __u64 *)&v[c])[f];
	free(v);
	return 0;
}
