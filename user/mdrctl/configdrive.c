/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrctl configdrive UUID|FILE.json OUT [--format iso|vfat]: the config
 * drive nova would attach to that instance, from the stored instance (the
 * pinned maps) or straight from a definition file (no maps needed).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdint.h>
#include "ctl.h"
#include "cdimage.h"
#include "cdrive.h"
#include "defn.h"
#include "store.h"

/* A stored instance when src is a UUID that names no file, else a file. */
static int load_defn(const char *src, struct mdr_defn **d)
{
	char uuid[MDR_UUID_SIZE], err[MDR_DEFN_ERR_SIZE + 64], *text;
	struct stat st;
	size_t len;
	int r;

	if (!mdr_uuid_canonical(src, uuid) && stat(src, &st)) {
		if (ctl_open())
			return CTL_FAIL;
		if (mdr_store_get(&ctl_maps, uuid, 0, MDR_STORE_GET_CONTENTS, NULL, NULL, d, err,
				  sizeof(err)))
			return ctl_fail("configdrive: %s", err);
		return CTL_OK;
	}
	if (ctl_read_input(src, &text, &len))
		return CTL_FAIL;
	r = mdr_defn_parse(text, len, d, err, sizeof(err));
	free(text);
	if (r)
		return ctl_fail("configdrive: %s: invalid definition: %s", src, err);
	return CTL_OK;
}

int cmd_configdrive(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct mdr_render_ctx ctx = { .random = ctl_random_bytes };
	enum mdr_cdrive_format fmt = MDR_CDRIVE_ISO9660;
	char err[PATH_MAX + 512];
	struct mdr_cdrive cd;
	struct mdr_defn *d;
	int c, r;

	optind = 0; /* full re-initialisation of GNU getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return ctl_usage("configdrive: unknown option");
		if (mdr_cdrive_format_parse(optarg, &fmt))
			return ctl_usage("configdrive: --format \"%s\": expected iso or vfat", optarg);
	}
	if (optind != argc - 2)
		return ctl_usage("usage: configdrive UUID|FILE.json OUT [--format iso|vfat]");
	if (load_defn(argv[optind], &d))
		return CTL_FAIL;
	r = mdr_cdrive_build(d, &ctx, &cd, err, sizeof(err));
	if (!r) {
		r = mdr_cdrive_write(&cd, fmt, argv[optind + 1], err, sizeof(err));
		if (!r)
			printf("instance %s: config drive %s written (%s, %zu files)\n", d->uuid,
			       argv[optind + 1], fmt == MDR_CDRIVE_VFAT ? "vfat" : "iso9660", cd.n);
		mdr_cdrive_free(&cd);
	}
	mdr_defn_free(d);
	return r ? ctl_fail("configdrive: %s", err) : CTL_OK;
}
