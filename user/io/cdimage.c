// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cdimage.c - config drive images (see cdimage.h): ISO 9660 through
 * libisofs, vfat through mkfs.vfat + mcopy, both written atomically.
 */
#include "cdimage.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the burn_source declaration libisofs carries for users without libburn */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs.h>

/* libisofs hands out the image in 2 KiB sectors. */
#define CDI_SECTOR 2048
/* Room for the first lines a failed mkfs.vfat / mcopy prints. */
#define CDI_TOOL_MSG_MAX 512
/* nova's genisoimage -l: ISO 9660 names of up to 31 characters. */
#define CDI_ISO_LEVEL 2
/* libisofs option bit: apply to the Joliet tree alone. */
#define CDI_JOLIET_ONLY 2
/* libisofs profile 2 (DISTRIBUTION): Rock Ridge and Joliet. */
#define CDI_ISO_PROFILE 2

extern char **environ;


int mdr_cdrive_format_parse(const char *s, enum mdr_cdrive_format *f)
{
	if (!strcmp(s, "iso") || !strcmp(s, "iso9660"))
		*f = MDR_CDRIVE_ISO9660;
	else if (!strcmp(s, "vfat"))
		*f = MDR_CDRIVE_VFAT;
	else
		return -EIO;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- ISO 9660 (libisofs) -------------------------------------------------- */

static pthread_once_t iso_once = PTHREAD_ONCE_INIT;
static int iso_ready;

static void iso_setup(void)
{
	/* bit0: leave the locale alone (names are UTF-8 already) */
	iso_ready = iso_init_with_flag(1) >= 0;
	if (iso_ready)
		iso_set_msgs_severities("NEVER", "FATAL", "libisofs");
}

/* The directory of relative path p (created as needed) and its base name. */
static int iso_dir_for(IsoImage *img, const char *p, IsoDir **dir, const char **base)
{
	char comp[MDR_CDRIVE_PATH_MAX];
	IsoDir *d = iso_image_get_root(img);
	const char *s;
	int r;

	while ((s = strchr(p, '/'))) {
		IsoNode *n = NULL;

		snprintf(comp, sizeof(comp), "%.*s", (int)(s - p), p);
		if (iso_dir_get_node(d, comp, &n) == 1 && iso_node_get_type(n) == LIBISO_DIR) {
			d = (IsoDir *)n;
		} else {
			IsoDir *nd;

			r = iso_image_add_new_dir(img, d, comp, &nd);
			if (r < 0)
				return r;
			d = nd;
		}
		p = s + 1;
	}
	*dir = d;
	*base = p;
	return 0;
}

static int iso_build(const struct mdr_cdrive *c, IsoImage **out, char *err, size_t errlen)
{
	IsoImage *img;
	int r;

	r = iso_image_new(MDR_CDRIVE_LABEL, &img);
	if (r < 0)
		return mdr_errf(err, errlen, -EIO, "libisofs: %s", iso_error_to_msg(r));
	iso_image_set_publisher_id(img, "mdr");
	for (size_t i = 0; i < c->n; i++) {
		const struct mdr_cdrive_file *f = &c->f[i];
		unsigned char *copy = malloc(f->len ? f->len : 1);
		IsoStream *st;
		const char *base;
		IsoDir *dir;

		if (!copy) {
			iso_image_unref(img);
			return mdr_errf(err, errlen, -ENOMEM, "out of memory");
		}
		memcpy(copy, f->data, f->len);
		r = iso_memory_stream_new(copy, f->len, &st);
		if (r < 0) {
			free(copy);
		} else {
			r = iso_dir_for(img, f->path, &dir, &base);
			if (r >= 0)
				r = iso_image_add_new_file(img, dir, base, st, NULL);
			if (r < 0)
				iso_stream_unref(st);
		}
		if (r < 0) {
			iso_image_unref(img);
			return mdr_errf(err, errlen, -EIO, "%s: libisofs: %s", f->path, iso_error_to_msg(r));
		}
	}
	*out = img;
	return 0;
}

static int iso_write(const struct mdr_cdrive *c, int fd, char *err, size_t errlen)
{
	unsigned char buf[CDI_SECTOR];
	struct burn_source *bs = NULL;
	IsoWriteOpts *opts = NULL;
	IsoImage *img = NULL;
	int r, n, rc = 0;

	pthread_once(&iso_once, iso_setup);
	if (!iso_ready)
		return mdr_errf(err, errlen, -EIO, "libisofs could not be initialised");
	if (iso_build(c, &img, err, errlen))
		return -EIO;
	r = iso_write_opts_new(&opts, CDI_ISO_PROFILE);
	if (r >= 0) {
		iso_write_opts_set_iso_level(opts, CDI_ISO_LEVEL);
		iso_write_opts_set_rockridge(opts, 1);
		iso_write_opts_set_joliet(opts, 1);
		iso_write_opts_set_allow_lowercase(opts, 1);
		/* the volume id verbatim ("config-2"), as genisoimage -V writes it */
		iso_write_opts_set_relaxed_vol_atts(opts, 1);
		/* Joliet names as the files are called ("user_data", not
		 * "user_data.;1"): readers that use Joliet see the layout */
		iso_write_opts_set_omit_version_numbers(opts, CDI_JOLIET_ONLY);
		iso_write_opts_set_no_force_dots(opts, CDI_JOLIET_ONLY);
		r = iso_image_create_burn_source(img, opts, &bs);
	}
	if (opts)
		iso_write_opts_free(opts);
	if (r < 0) {
		iso_image_unref(img);
		return mdr_errf(err, errlen, -EIO, "libisofs: %s", iso_error_to_msg(r));
	}
	while ((n = bs->read_xt(bs, buf, sizeof(buf))) > 0) {
		r = write_all(fd, buf, (size_t)n);
		if (r) {
			rc = mdr_errf(err, errlen, -EIO, "%s", strerror(-r));
			bs->cancel(bs);
			break;
		}
	}
	if (!rc && n < 0)
		rc = mdr_errf(err, errlen, -EIO, "libisofs could not produce the image");
	bs->free_data(bs);
	free(bs);
	iso_image_unref(img);
	return rc;
}

/* ---- vfat (mkfs.vfat + mcopy) --------------------------------------------- */

/* Run argv; 0 on exit status 0, else -1 with its first output in err. */
static int run_tool(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char msg[CDI_TOOL_MSG_MAX];
	size_t got = 0;
	int pfd[2], st, r;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC))
		return mdr_errf(err, errlen, -EIO, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r) {
		close(pfd[0]);
		return mdr_errf(err, errlen, -EIO, "%s: %s%s", argv[0], strerror(r),
			    r == ENOENT ? " (install dosfstools and mtools)" : "");
	}
	/* read to the end (the tool must never block on a full pipe), keep
	 * the beginning */
	for (;;) {
		char chunk[CDI_TOOL_MSG_MAX];
		size_t keep;

		n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep = sizeof(msg) - 1 - got < (size_t)n ? sizeof(msg) - 1 - got : (size_t)n;
		memcpy(msg + got, chunk, keep);
		got += keep;
	}
	close(pfd[0]);
	msg[got] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = *(p + 1) ? ' ' : '\0';
	return mdr_errf(err, errlen, -EIO, "%s failed: %s", argv[0], got ? msg : "no message");
}

/* Write the files under a fresh directory stage (mkdtemp'd). */
static int stage_files(const struct mdr_cdrive *c, const char *stage, char *err, size_t errlen)
{
	char p[PATH_MAX + MDR_CDRIVE_PATH_MAX];

	for (size_t i = 0; i < c->n; i++) {
		int fd, r;

		snprintf(p, sizeof(p), "%s/%s", stage, c->f[i].path);
		for (char *s = strchr(p + strlen(stage) + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			r = mkdir(p, 0700);
			*s = '/';
			if (r && errno != EEXIST)
				return mdr_errf(err, errlen, -EIO, "%s: %s", p, strerror(errno));
		}
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return mdr_errf(err, errlen, -EIO, "%s: %s", p, strerror(errno));
		r = write_all(fd, c->f[i].data, c->f[i].len);
		close(fd);
		if (r)
			return mdr_errf(err, errlen, -EIO, "%s: %s", p, strerror(-r));
	}
	return 0;
}

/* Remove what stage_files made (only those paths: nothing else is there). */
static void unstage(const struct mdr_cdrive *c, const char *stage)
{
	char p[PATH_MAX + MDR_CDRIVE_PATH_MAX];

	for (size_t i = 0; i < c->n; i++) {
		snprintf(p, sizeof(p), "%s/%s", stage, c->f[i].path);
		unlink(p);
		for (char *s = strrchr(p, '/'); s && s > p + strlen(stage); s = strrchr(p, '/')) {
			*s = '\0';
			rmdir(p); /* fails while not empty: removed with its last file */
		}
	}
	rmdir(stage);
}

static int vfat_write(const struct mdr_cdrive *c, int fd, const char *tmp, char *err,
		      size_t errlen)
{
	const char *tmpdir = getenv("TMPDIR");
	char stage[PATH_MAX], src_ec2[PATH_MAX + 8], src_os[PATH_MAX + 16];
	char *mkfs[] = { "mkfs.vfat", "-n", MDR_CDRIVE_LABEL, (char *)tmp, NULL };
	char *mcopy[] = { "mcopy", "-s", "-Q", "-i", (char *)tmp, src_ec2, src_os, "::/", NULL };
	int r;

	if (ftruncate(fd, MDR_CDRIVE_VFAT_BYTES))
		return mdr_errf(err, errlen, -EIO, "%s", strerror(errno));
	if (run_tool(mkfs, err, errlen))
		return -EIO;
	snprintf(stage, sizeof(stage), "%s/mdr-cdrive.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(stage))
		return mdr_errf(err, errlen, -EIO, "staging directory %s: %s", stage, strerror(errno));
	r = stage_files(c, stage, err, errlen);
	if (!r) {
		snprintf(src_ec2, sizeof(src_ec2), "%s/ec2", stage);
		snprintf(src_os, sizeof(src_os), "%s/openstack", stage);
		/* mtools refuses images whose geometry it doubts; mkfs.vfat's
		 * is fine */
		setenv("MTOOLS_SKIP_CHECK", "1", 1);
		r = run_tool(mcopy, err, errlen);
	}
	unstage(c, stage);
	return r;
}

/* ---- atomic output -------------------------------------------------------- */

int mdr_cdrive_write(const struct mdr_cdrive *c, enum mdr_cdrive_format fmt, const char *path,
		     char *err, size_t errlen)
{
	char tmp[PATH_MAX], dcopy[PATH_MAX], bcopy[PATH_MAX], why[256];
	const char *dir, *base;
	mode_t um;
	int fd, dfd, r;

	if (strlen(path) + 16 >= sizeof(tmp))
		return mdr_errf(err, errlen, -EIO, "%s: path too long", path);
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	snprintf(bcopy, sizeof(bcopy), "%s", path);
	dir = dirname(dcopy);
	base = basename(bcopy);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mdr_errf(err, errlen, -EIO, "%s: cannot create a file in %s: %s", path, dir,
			    strerror(errno));
	/* the mode an ordinary file creation would give (mkstemp: 0600) */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um))
		goto sys_fail;
	r = fmt == MDR_CDRIVE_VFAT ? vfat_write(c, fd, tmp, why, sizeof(why))
				   : iso_write(c, fd, why, sizeof(why));
	if (r)
		goto tool_fail;
	if (fsync(fd))
		goto sys_fail;
	if (close(fd)) {
		fd = -1;
		goto sys_fail;
	}
	fd = -1;
	if (rename(tmp, path))
		goto sys_fail;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself: best effort */
		close(dfd);
	}
	return 0;
sys_fail:
	snprintf(why, sizeof(why), "%s", strerror(errno));
tool_fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return mdr_errf(err, errlen, -EIO, "writing %s: %s (nothing written)", path, why);
}
