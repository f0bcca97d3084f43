/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd upgrades: loading a new program over the pins of an older release.
 *
 * Pinned maps outlive programs. Before loading, upgrade_load compares every
 * pinned map with the definition this build's object asks for (type, key,
 * value, size, flags). Pins that still fit are reused as they are (token
 * keys, bindings, instances, counters: nothing to do). Pins of another
 * layout are moved aside into the subdirectory mdr_old/ (the old program
 * keeps using them and keeps serving), the new program is loaded with new
 * maps in their place, and the entries of each moved map are carried over
 * when key and value still have the same size (a limit that grew), or when
 * counters gained fields at the end (zero-extended); what
 * cannot be carried is rebuilt: instances from the definitions directory
 * (mdrd reloads it right after), counters and rate-limit state start from
 * zero, responder sockets are registered again by the responder. The
 * program is then swapped in atomically on every interface that runs an
 * older mdr program (upgrade_replace, XDP_FLAGS_REPLACE: no moment without
 * a program), and upgrade_finish drops the old pins. mdr_abi records the
 * version (MDR_ABI_VERSION) for the next upgrade.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "mdrd.h"
#include "clock.h"
#include "loader.h"
#include "log.h"
#include "mdr_xdp.skel.h"

/* Where pins of an older layout wait until the new program is attached. */
#define UPGRADE_OLD_DIR "mdr_old"
/* Largest key copied entry by entry (mdr_uuid_key, 40 bytes, is the largest). */
#define UPGRADE_KEY_MAX 64
/* Largest value buffer: mdr_chunk0's 4024 bytes, or a per-CPU value times
 * the CPUs (104 bytes x 4096 CPUs fits too). */
#define UPGRADE_VALUE_MAX (1u << 20)

struct moved {
	char name[BPF_OBJ_NAME_LEN];
	int fd; /* the old map */
	struct bpf_map_info old;
};

static struct moved moved[MDR_MAPS_COUNT];
static size_t n_moved;
static uint32_t found_version; /* 0 = fresh pins */
static uint64_t start_ms;
static char old_dir[PATH_MAX];

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	return snprintf(buf, len, "%s/%s", dir, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* The version in the pins: 0 = no pins, 1 = pins without a record. */
static uint32_t pinned_version(const char *pin_dir)
{
	char path[PATH_MAX];
	struct mdr_abi_record rec;
	uint32_t zero = 0, v = 1;
	int fd;

	if (pin_path(path, sizeof(path), pin_dir, MDR_MAP_NAME(config)) || access(path, F_OK))
		return 0;
	if (pin_path(path, sizeof(path), pin_dir, MDR_MAP_NAME(abi)))
		return 1;
	fd = bpf_obj_get(path);
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &rec) == 0 && rec.magic == MDR_ABI_MAGIC)
		v = rec.version;
	if (fd >= 0)
		close(fd);
	return v;
}

static int fits(const struct bpf_map *want, const struct bpf_map_info *have)
{
	return bpf_map__type(want) == have->type && bpf_map__key_size(want) == have->key_size &&
	       bpf_map__value_size(want) == have->value_size &&
	       bpf_map__max_entries(want) == have->max_entries &&
	       bpf_map__map_flags(want) == have->map_flags;
}

/* Moves every pin this build's object cannot reuse into old_dir. */
static int move_misfits(const char *pin_dir)
{
	struct mdr_xdp_bpf *skel = mdr_xdp_bpf__open();
	struct bpf_map *map;
	char path[PATH_MAX], to[PATH_MAX];
	int r = 0;

	if (!skel)
		return -errno;
	bpf_object__for_each_map(map, skel->obj) {
		const char *name = bpf_map__name(map);
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		int fd;

		if (name[0] == '.' || pin_path(path, sizeof(path), pin_dir, name))
			continue; /* .rodata / .bss: not pinned */
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || fits(map, &info)) {
			close(fd);
			continue;
		}
		if ((mkdir(old_dir, 0700) && errno != EEXIST) ||
		    pin_path(to, sizeof(to), old_dir, name) || rename(path, to)) {
			r = -errno;
			close(fd);
			mdr_log(MDR_LOG_ERR, "upgrade: moving %s aside: %s", path, strerror(-r));
			break;
		}
		mdr_log(MDR_LOG_INFO,
			"upgrade: %s has another layout (key %u value %u entries %u, now %u/%u/%u): "
			"rebuilt",
			name, info.key_size, info.value_size, info.max_entries, bpf_map__key_size(map),
			bpf_map__value_size(map), bpf_map__max_entries(map));
		snprintf(moved[n_moved].name, sizeof(moved[n_moved].name), "%s", name);
		moved[n_moved].fd = fd;
		moved[n_moved++].old = info;
	}
	mdr_xdp_bpf__destroy(skel);
	return r;
}

/* Puts the moved pins back (the load failed: the old program keeps them). */
static void move_back(const char *pin_dir)
{
	char path[PATH_MAX], from[PATH_MAX];

	for (size_t i = 0; i < n_moved; i++) {
		if (!pin_path(path, sizeof(path), pin_dir, moved[i].name) &&
		    !pin_path(from, sizeof(from), old_dir, moved[i].name)) {
			unlink(path);
			rename(from, path);
		}
		close(moved[i].fd);
	}
	n_moved = 0;
	rmdir(old_dir);
}

/* Maps whose values only ever grow by fields appended at the end (the
 * counters): an older, shorter value is carried over zero-extended. */
static int append_only(const char *name)
{
	return !strcmp(name, MDR_MAP_NAME(rstats)) || !strcmp(name, MDR_MAP_NAME(stats)) ||
	       !strcmp(name, MDR_MAP_NAME(istats));
}

static int is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH;
}

/* Copies every entry of a moved map into its new pin: same key size and
 * type, and the same value size or (append_only) a larger one. Returns the
 * count, or -errno. */
static long carry(const char *pin_dir, const struct moved *m)
{
	static unsigned char key[UPGRADE_KEY_MAX], next[UPGRADE_KEY_MAX];
	unsigned char *oldv = NULL, *newv = NULL;
	char path[PATH_MAX];
	struct bpf_map_info info;
	uint32_t len = sizeof(info), ostride, nstride, ncopy;
	size_t ncpu = 1, osize, nsize;
	void *prev = NULL;
	long n = 0;
	int fd;

	if (m->old.key_size > UPGRADE_KEY_MAX || pin_path(path, sizeof(path), pin_dir, m->name))
		return -E2BIG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != m->old.key_size ||
	    info.type != m->old.type ||
	    (info.value_size != m->old.value_size &&
	     !(append_only(m->name) && info.value_size > m->old.value_size))) {
		close(fd);
		return -EPROTO; /* another shape: rebuilt, not copied */
	}
	if (is_percpu(info.type)) {
		int c = libbpf_num_possible_cpus();

		ncpu = c > 0 ? (size_t)c : 1;
	}
	/* per-CPU values are laid out per CPU at 8-byte strides */
	ostride = is_percpu(info.type) ? (m->old.value_size + 7) & ~7u : m->old.value_size;
	nstride = is_percpu(info.type) ? (info.value_size + 7) & ~7u : info.value_size;
	ncopy = m->old.value_size;
	osize = ostride * ncpu;
	nsize = nstride * ncpu;
	if (osize <= UPGRADE_VALUE_MAX && nsize <= UPGRADE_VALUE_MAX) {
		oldv = malloc(osize);
		newv = malloc(nsize);
	}
	if (!oldv || !newv) {
		free(oldv);
		free(newv);
		close(fd);
		return -ENOMEM;
	}
	while (bpf_map_get_next_key(m->fd, prev, next) == 0) {
		memcpy(key, next, m->old.key_size);
		prev = key;
		if (bpf_map_lookup_elem(m->fd, key, oldv))
			continue;
		memset(newv, 0, nsize);
		for (size_t c = 0; c < ncpu; c++)
			memcpy(newv + c * nstride, oldv + c * ostride, ncopy);
		if (bpf_map_update_elem(fd, key, newv, BPF_ANY) == 0)
			n++;
	}
	free(oldv);
	free(newv);
	close(fd);
	return n;
}

static void write_record(const struct mdr_xdp_bpf *skel)
{
	struct mdr_abi_record rec = {
		.magic = MDR_ABI_MAGIC,
		.version = MDR_ABI_VERSION,
		.prev_version = found_version,
		.tag_magic = MDR_TAG_MAGIC,
	};
	struct timespec ts;
	uint32_t zero = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	rec.loaded_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_abi), &zero, &rec, BPF_ANY))
		mdr_log(MDR_LOG_ERR, "writing %s: %s", MDR_MAP_NAME(abi), strerror(errno));
}

int upgrade_load(const char *pin_dir, struct mdr_xdp_bpf **skel)
{
	int r;

	start_ms = mdr_mono_ms();
	n_moved = 0;
	if (pin_path(old_dir, sizeof(old_dir), pin_dir, UPGRADE_OLD_DIR))
		return -ENAMETOOLONG;
	found_version = pinned_version(pin_dir);
	if (found_version && found_version != MDR_ABI_VERSION)
		mdr_log(MDR_LOG_INFO, "upgrade: pins of ABI version %u under %s, this mdrd is %u",
			found_version, pin_dir, MDR_ABI_VERSION);
	if (found_version && (r = move_misfits(pin_dir))) {
		move_back(pin_dir);
		return r;
	}
	r = mdr_loader_open(pin_dir, skel);
	if (r) {
		move_back(pin_dir);
		return r;
	}
	for (size_t i = 0; i < n_moved; i++) {
		long n = carry(pin_dir, &moved[i]);

		if (n >= 0)
			mdr_log(MDR_LOG_INFO, "upgrade: %s: %ld entries carried over", moved[i].name, n);
		else
			mdr_log(!strcmp(moved[i].name, MDR_MAP_NAME(tokkey)) ||
						!strcmp(moved[i].name, MDR_MAP_NAME(ports)) ||
						!strcmp(moved[i].name, MDR_MAP_NAME(macs)) ?
					MDR_LOG_ERR :
					MDR_LOG_WARN,
				"upgrade: %s: entries not carried over (%s): rebuilt from the "
				"definitions, or starting empty",
				moved[i].name, strerror((int)-n));
	}
	write_record(*skel);
	return 0;
}

int upgrade_replace(uint32_t ifindex, int new_fd, uint32_t mode_flags)
{
	struct bpf_prog_info info;
	uint32_t id = 0, len = sizeof(info);
	int old, r;

	if (bpf_xdp_query_id((int)ifindex, (int)mode_flags, &id) || !id)
		return -ENOENT;
	old = bpf_prog_get_fd_by_id(id);
	if (old < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(old, &info, &len) || strcmp(info.name, "mdr_xdp")) {
		close(old);
		return -EEXIST; /* someone else's program: never replaced */
	}
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old);
	r = bpf_xdp_attach((int)ifindex, new_fd, mode_flags | XDP_FLAGS_REPLACE, &o);
	close(old);
	return r;
}

void upgrade_finish(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n_moved; i++) {
		if (!pin_path(path, sizeof(path), old_dir, moved[i].name))
			unlink(path);
		close(moved[i].fd);
	}
	if (n_moved)
		rmdir(old_dir);
	if (found_version && found_version != MDR_ABI_VERSION)
		mdr_log(MDR_LOG_INFO,
			"upgrade: ABI version %u -> %u done in %llu ms (%zu map(s) rebuilt)",
			found_version, MDR_ABI_VERSION,
			(unsigned long long)(mdr_mono_ms() - start_ms), n_moved);
	n_moved = 0;
}
