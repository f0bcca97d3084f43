/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cdrive.h - the files of an OpenStack config drive (config-2) for one
 * instance, as nova's InstanceMetadata.metadata_for_config_drive() yields
 * them, every one rendered by render.c (mdr_render for the served paths,
 * mdr_render_ec2_meta_json for ec2/<v>/meta-data.json). Pure code: no I/O.
 * cdimage.h writes them into an ISO 9660 or vfat image.
 *
 * Layout (paths relative to the image root):
 *   ec2/<v>/meta-data.json, ec2/<v>/user-data (when present) for the EC2
 *     versions nova's default config_drive_skip_versions leaves
 *     (2009-04-04) and latest;
 *   openstack/<v>/<f> for every OpenStack version and latest, <f> being
 *     each file of the version's listing except "password" (meta_data.json,
 *     user_data when present, vendor_data.json, network_data.json,
 *     vendor_data2.json by version, plus files `mdrctl put` added; paths
 *     `mdrctl rm` removed are left out);
 *   openstack/content/NNNN for each injected file.
 */
#ifndef MDR_CDRIVE_H
#define MDR_CDRIVE_H

#include <stddef.h>
#include "defn.h"
#include "render.h"

/* nova's volume label (ConfigDriveBuilder: -V config-2, mkfs -n). */
#define MDR_CDRIVE_LABEL "config-2"
/* Relative paths in the image: "openstack/<version>/<file>", a file name
 * from a listing being at most one normalised path. */
#define MDR_CDRIVE_PATH_MAX (MDR_PATH_MAX + 32)

struct mdr_cdrive_file {
	char path[MDR_CDRIVE_PATH_MAX]; /* relative, '/'-separated */
	const void *data;               /* owned, or into the definition */
	size_t len;
	char *owned;                    /* malloc'd rendering (data), or NULL */
};

struct mdr_cdrive {
	struct mdr_cdrive_file *f;
	size_t n, cap;
};

/*
 * Render the config drive of d (contents attached: mdr_defn_parse, or
 * mdr_store_get with contents). ctx gives random_seed's randomness (see
 * render.h); its remote_ip should be NULL (a drive has no request).
 * Returns 0 (free with mdr_cdrive_free) or -errno with a message in err.
 */
int mdr_cdrive_build(const struct mdr_defn *d, const struct mdr_render_ctx *ctx,
		     struct mdr_cdrive *out, char *err, size_t errlen);

/* The file of that relative path, or NULL. */
const struct mdr_cdrive_file *mdr_cdrive_find(const struct mdr_cdrive *c, const char *path);

void mdr_cdrive_free(struct mdr_cdrive *c);

/* EC2 versions nova skips on a config drive by default
 * (CONF.api.config_drive_skip_versions), space separated. */
extern const char mdr_cdrive_ec2_skip[];

#endif /* MDR_CDRIVE_H */
