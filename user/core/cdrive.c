// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cdrive.c - the file list of a config drive (see cdrive.h). Every file
 * comes from the renderer: the set of OpenStack files is each version's
 * listing (what nova's metadata_for_config_drive() walks by hand is exactly
 * that listing without "password"), their bytes the answer to the same
 * path, so the drive and the service cannot disagree.
 */
#include "cdrive.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char mdr_cdrive_ec2_skip[] = "1.0 2007-01-19 2007-03-01 2007-08-29 2007-10-10 "
				   "2007-12-15 2008-02-01 2008-09-01";


/* Append a file; takes owned (freed on failure too). */
static int add(struct mdr_cdrive *c, const char *path, const void *data, size_t len, char *owned)
{
	struct mdr_cdrive_file *f;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct mdr_cdrive_file *nf = realloc(c->f, cap * sizeof(*nf));

		if (!nf) {
			free(owned);
			return -EINVAL;
		}
		c->f = nf;
		c->cap = cap;
	}
	f = &c->f[c->n++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->data = data;
	f->len = len;
	f->owned = owned;
	return 0;
}

/*
 * Render guest path gpath into drive file dpath. A 404 adds nothing.
 * Returns 0, or -1 with err set.
 */
static int add_rendered(struct mdr_cdrive *c, const struct mdr_defn *d,
			const struct mdr_render_ctx *ctx, const char *gpath, const char *dpath,
			char *err, size_t errlen)
{
	struct mdr_reply rep;
	const void *data;
	size_t len;

	if (mdr_render(d, gpath, ctx, &rep))
		return mdr_errf(err, errlen, -ENOMEM, "out of memory rendering %s", gpath);
	if (rep.status != 200 || rep.kind == MDR_REPLY_PASSWORD) {
		mdr_reply_free(&rep);
		return 0;
	}
	if (rep.kind == MDR_REPLY_BODY) {
		/* the drive owns the body from here */
		if (add(c, dpath, rep.body, rep.body_len, rep.body))
			return mdr_errf(err, errlen, -ENOMEM, "out of memory");
		return 0;
	}
	if (rep.blob == MDR_BLOB_USER_DATA) {
		data = d->user_data;
		len = d->user_data_len;
	} else {
		data = d->file[rep.blob - MDR_BLOB_FILE0];
		len = d->file_len[rep.blob - MDR_BLOB_FILE0];
	}
	if (!data && len)
		return mdr_errf(err, errlen, -EINVAL, "%s: contents not attached to the definition", gpath);
	if (add(c, dpath, data ? data : "", len, NULL))
		return mdr_errf(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int ec2_skipped(const char *v)
{
	size_t l = strlen(v);

	for (const char *p = mdr_cdrive_ec2_skip; (p = strstr(p, v)); p += l)
		if ((p == mdr_cdrive_ec2_skip || p[-1] == ' ') && (!p[l] || p[l] == ' '))
			return 1;
	return 0;
}

static int add_ec2(struct mdr_cdrive *c, const struct mdr_defn *d,
		   const struct mdr_render_ctx *ctx, const char *v, char *err, size_t errlen)
{
	char gpath[64], dpath[64], *json;
	size_t len;
	int r;

	/* nova: user-data first, then meta-data.json */
	snprintf(gpath, sizeof(gpath), "/%s/user-data", v);
	snprintf(dpath, sizeof(dpath), "ec2/%s/user-data", v);
	if (add_rendered(c, d, ctx, gpath, dpath, err, errlen))
		return -EINVAL;
	r = mdr_render_ec2_meta_json(d, v, ctx, &json, &len);
	if (r < 0)
		return mdr_errf(err, errlen, -ENOMEM, "out of memory rendering ec2/%s/meta-data.json", v);
	snprintf(dpath, sizeof(dpath), "ec2/%s/meta-data.json", v);
	if (r == 0 && add(c, dpath, json, len, json))
		return mdr_errf(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int add_openstack(struct mdr_cdrive *c, const struct mdr_defn *d,
			 const struct mdr_render_ctx *ctx, const char *v, char *err,
			 size_t errlen)
{
	char gpath[MDR_CDRIVE_PATH_MAX], dpath[MDR_CDRIVE_PATH_MAX];
	struct mdr_reply rep;
	char *save = NULL;
	int r = 0;

	snprintf(gpath, sizeof(gpath), "/openstack/%s", v);
	if (mdr_render(d, gpath, ctx, &rep))
		return mdr_errf(err, errlen, -ENOMEM, "out of memory rendering %s", gpath);
	if (rep.status != 200 || rep.kind != MDR_REPLY_BODY) {
		mdr_reply_free(&rep);
		return 0; /* the version was removed by an override */
	}
	for (char *e = strtok_r(rep.body, "\n", &save); e && !r; e = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(e);

		/* the guest's password is never on a drive; directories made by
		 * overrides are not files nova writes */
		if (!strcmp(e, "password") || !l || e[l - 1] == '/')
			continue;
		snprintf(gpath, sizeof(gpath), "/openstack/%s/%s", v, e);
		snprintf(dpath, sizeof(dpath), "openstack/%s/%s", v, e);
		r = add_rendered(c, d, ctx, gpath, dpath, err, errlen);
	}
	mdr_reply_free(&rep);
	return r;
}

int mdr_cdrive_build(const struct mdr_defn *d, const struct mdr_render_ctx *ctx,
		     struct mdr_cdrive *out, char *err, size_t errlen)
{
	char gpath[64], dpath[64];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i <= mdr_n_ec2_versions; i++) {
		const char *v = i < mdr_n_ec2_versions ? mdr_ec2_versions[i] : "latest";

		if (!ec2_skipped(v) && add_ec2(out, d, ctx, v, err, errlen))
			goto fail;
	}
	for (size_t i = 0; i <= mdr_n_openstack_versions; i++) {
		const char *v = i < mdr_n_openstack_versions ? mdr_openstack_versions[i] : "latest";

		if (add_openstack(out, d, ctx, v, err, errlen))
			goto fail;
	}
	for (size_t i = 0; i < d->n_files; i++) {
		snprintf(gpath, sizeof(gpath), "/openstack/content/%04zu", i);
		snprintf(dpath, sizeof(dpath), "openstack/content/%04zu", i);
		if (add_rendered(out, d, ctx, gpath, dpath, err, errlen))
			goto fail;
	}
	return 0;
fail:
	mdr_cdrive_free(out);
	return -EINVAL;
}

const struct mdr_cdrive_file *mdr_cdrive_find(const struct mdr_cdrive *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->f[i].path, path))
			return &c->f[i];
	return NULL;
}

void mdr_cdrive_free(struct mdr_cdrive *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->f[i].owned);
	free(c->f);
	memset(c, 0, sizeof(*c));
}
