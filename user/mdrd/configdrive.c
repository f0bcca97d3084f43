/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd --config-drive-dir DIR: DIR/<uuid>.iso (or .img with
 * --config-drive-format vfat) for every stored instance, whoever stored
 * it (the instances directory or mdrctl). An image is rewritten
 * atomically (cdimage.c: temporary file, fsync, rename) when the
 * instance's generation changes, and removed when the instance is
 * deleted. Changes are seen right after mdrd itself stores or deletes an
 * instance (configdrive_sync from instances.c) and by a poll of the
 * instance records every CD_POLL_MS (mdrctl changes the maps directly).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mdrd.h"
#include "clock.h"
#include "cdimage.h"
#include "cdrive.h"
#include "defn.h"
#include "log.h"
#include "store.h"

/* How soon a change made by mdrctl reaches the image: one map walk per
 * second costs microseconds. */
#define CD_POLL_MS 1000
/* A failed write (disk full, directory gone) is retried this much later,
 * so a lasting problem logs one line per instance per 10 s. */
#define CD_RETRY_MS 10000
/* A canonical uuid: 8-4-4-4-12 hex digits. */
#define CD_UUID_LEN 36

struct cd_entry {
	char uuid[MDR_UUID_SIZE];
	uint32_t id, gen;
	int written;          /* the image of (id, gen) is in place */
	int64_t retry_at_ms;  /* !written: next attempt */
	int seen;             /* present in the last walk */
};

static struct cd_entry tab[MDR_MAX_INSTANCES];
static size_t n_tab;
static int64_t next_poll_ms;
static int ready; /* configdrive_init checked the directory */

static const char *ext(void)
{
	return mdrd_opts.config_drive_format == MDR_CDRIVE_VFAT ? "img" : "iso";
}

static void random_fill(void *buf, size_t len, void *opaque)
{
	(void)opaque;
	for (uint8_t *p = buf; len;) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
}

static void write_image(struct cd_entry *e)
{
	const struct mdr_render_ctx ctx = { .random = random_fill };
	char path[PATH_MAX + MDR_UUID_SIZE + 8], err[PATH_MAX + 512];
	struct mdr_cdrive cd;
	struct mdr_defn *d;

	snprintf(path, sizeof(path), "%s/%s.%s", mdrd_opts.config_drive_dir, e->uuid, ext());
	if (mdr_store_get(&mdrd_maps, NULL, e->id, MDR_STORE_GET_CONTENTS, NULL, NULL, &d, err,
			  sizeof(err)) == 0) {
		if (mdr_cdrive_build(d, &ctx, &cd, err, sizeof(err)) == 0) {
			e->written = !mdr_cdrive_write(&cd, mdrd_opts.config_drive_format, path, err,
						       sizeof(err));
			mdr_cdrive_free(&cd);
		}
		mdr_defn_free(d);
	}
	if (e->written) {
		mdr_log(MDR_LOG_INFO, "instance %s: config drive %s written (generation %u)", e->uuid,
			path, e->gen);
	} else {
		e->retry_at_ms = mdr_mono_ms() + CD_RETRY_MS;
		mdr_log(MDR_LOG_ERR, "instance %s: config drive %s not written: %s", e->uuid, path,
			err);
	}
}

static void remove_image(const char *uuid, const char *why)
{
	char path[PATH_MAX + MDR_UUID_SIZE + 8];

	snprintf(path, sizeof(path), "%s/%s.%s", mdrd_opts.config_drive_dir, uuid, ext());
	if (unlink(path) == 0)
		mdr_log(MDR_LOG_INFO, "instance %s: config drive %s removed (%s)", uuid, path, why);
	else if (errno != ENOENT)
		mdr_log(MDR_LOG_ERR, "instance %s: removing config drive %s: %s", uuid, path,
			strerror(errno));
}

static struct cd_entry *find(const char *uuid)
{
	for (size_t i = 0; i < n_tab; i++)
		if (!strcmp(tab[i].uuid, uuid))
			return &tab[i];
	return NULL;
}

void configdrive_sync(void)
{
	static uint32_t ids[MDR_MAX_INSTANCES];
	int64_t now = mdr_mono_ms();
	int cnt;

	if (!ready)
		return;
	next_poll_ms = now + CD_POLL_MS;
	cnt = mdr_store_ids(&mdrd_maps, ids, MDR_MAX_INSTANCES);
	if (cnt < 0)
		return;
	if (cnt > MDR_MAX_INSTANCES)
		cnt = MDR_MAX_INSTANCES;
	for (size_t i = 0; i < n_tab; i++)
		tab[i].seen = 0;
	for (int i = 0; i < cnt; i++) {
		struct mdr_instance rec;
		struct cd_entry *e;

		if (mdr_store_record(&mdrd_maps, ids[i], &rec))
			continue;
		e = find(rec.uuid);
		if (!e) {
			if (n_tab == MDR_MAX_INSTANCES)
				continue;
			e = &tab[n_tab++];
			memset(e, 0, sizeof(*e));
			snprintf(e->uuid, sizeof(e->uuid), "%s", rec.uuid);
		} else if (e->id == ids[i] && e->gen == rec.gen &&
			   (e->written || e->retry_at_ms > now)) {
			e->seen = 1;
			continue;
		}
		e->seen = 1;
		e->id = ids[i];
		e->gen = rec.gen;
		e->written = 0;
		write_image(e);
	}
	for (size_t i = 0; i < n_tab;) {
		if (tab[i].seen) {
			i++;
			continue;
		}
		remove_image(tab[i].uuid, "instance deleted");
		tab[i] = tab[--n_tab];
	}
}

/* Images left by an earlier run for instances deleted since. Only names
 * this file writes (<uuid>.iso / <uuid>.img) are touched. */
static void remove_stale(void)
{
	char uuid[MDR_UUID_SIZE], want[MDR_UUID_SIZE + 8];
	struct dirent *de;
	DIR *dir = opendir(mdrd_opts.config_drive_dir);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);

		if (l != CD_UUID_LEN + 4)
			continue;
		snprintf(uuid, sizeof(uuid), "%.*s", CD_UUID_LEN, de->d_name);
		if (mdr_uuid_canonical(uuid, want) || strcmp(uuid, want))
			continue;
		snprintf(want, sizeof(want), "%s.%s", uuid, ext());
		if (strcmp(de->d_name, want) || find(uuid))
			continue;
		remove_image(uuid, "no such instance");
	}
	closedir(dir);
}

int configdrive_init(void)
{
	DIR *dir;

	if (!mdrd_opts.config_drive_dir[0])
		return 0;
	dir = opendir(mdrd_opts.config_drive_dir);
	if (!dir || access(mdrd_opts.config_drive_dir, W_OK)) {
		int e = errno;

		if (dir)
			closedir(dir);
		mdr_log(MDR_LOG_ERR, "config drive directory %s: %s", mdrd_opts.config_drive_dir,
			strerror(e));
		return -1;
	}
	closedir(dir);
	ready = 1;
	configdrive_sync();
	remove_stale();
	return 0;
}

int configdrive_timeout_ms(void)
{
	int64_t now = mdr_mono_ms();

	if (!ready)
		return -1;
	return next_poll_ms <= now ? 0 : (int)(next_poll_ms - now);
}

void configdrive_tick(void)
{
	if (ready && mdr_mono_ms() >= next_poll_ms)
		configdrive_sync();
}
