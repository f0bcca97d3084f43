/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cdimage.h - write a config drive (cdrive.h) as an image file, the two
 * formats of nova's config_drive_format:
 *  - iso9660: built in-process with libisofs (Rock Ridge + Joliet, ISO
 *    level 2, lower case allowed, volume id "config-2": what nova's
 *    genisoimage -J -r -l -allow-lowercase -V config-2 makes);
 *  - vfat: nova's way without the mount: a 64 MiB file, mkfs.vfat -n
 *    config-2 (dosfstools), files copied in with mtools' mcopy.
 * The output appears atomically: written to a temporary file in the same
 * directory, fsync'd, renamed over path, the directory fsync'd. On any
 * error the temporary file is removed and path is left as it was.
 */
#ifndef MDR_CDIMAGE_H
#define MDR_CDIMAGE_H

#include <stddef.h>
#include "cdrive.h"

enum mdr_cdrive_format {
	MDR_CDRIVE_ISO9660 = 0,
	MDR_CDRIVE_VFAT = 1,
};

/* nova's vfat config drive size (CONFIGDRIVESIZE_BYTES). */
#define MDR_CDRIVE_VFAT_BYTES (64u << 20)

/* "iso", "iso9660" or "vfat". 0 or -EINVAL. */
int mdr_cdrive_format_parse(const char *s, enum mdr_cdrive_format *f);

/* Write c to path atomically. 0, or -errno with a one-line message in err
 * (naming path and the cause) and nothing left behind. */
int mdr_cdrive_write(const struct mdr_cdrive *c, enum mdr_cdrive_format fmt, const char *path,
		     char *err, size_t errlen);

#endif /* MDR_CDIMAGE_H */
