// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_render.c - libFuzzer target for defn.c + render.c.
 *
 * Input: a definition (JSON) up to the first NUL byte, then one request
 * per line. A line "+PATH=BODY" puts an override, "-PATH" removes a path,
 * anything else is rendered. Checked invariants (abort on violation):
 *  - a parsed definition's doc re-parses to the identical doc, and its
 *    user-facing JSON re-parses to the identical doc;
 *  - every reply is 200/404/400 with a content type, a blob reference
 *    names an existing blob with its recorded length;
 *  - "PATH" and "PATH/" get the same answer (except password bodies,
 *    which the responder fills);
 *  - the config drive (cdrive.c) of the final definition builds, every
 *    ec2/<v>/meta-data.json on it is valid JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cdrive.h"
#include "defn.h"
#include "render.h"

static void fuzz_random(void *buf, size_t len, void *opaque)
{
	(void)opaque;
	memset(buf, 0x5a, len); /* deterministic: replies must compare equal */
}

/* A fixed wall clock (2026-12-07T06:00:00Z): credentials are rendered. */
static int64_t fuzz_wall(void *opaque)
{
	(void)opaque;
	return 1796623200;
}

static const struct mdr_render_ctx ctx = {.random = fuzz_random, .remote_ip = "10.1.2.3",
					  .wall = fuzz_wall};

static void check_reply(const struct mdr_defn *d, const struct mdr_reply *r)
{
	if (r->status != 200 && r->status != 404 && r->status != 400)
		abort();
	if (!r->content_type)
		abort();
	if (r->kind == MDR_REPLY_BODY && !r->body)
		abort();
	if (r->kind == MDR_REPLY_BLOB) {
		if (!d || r->blob < MDR_BLOB_USER_DATA || r->blob >= mdr_defn_n_blobs(d))
			abort();
		if (r->blob == MDR_BLOB_USER_DATA && r->blob_len != d->user_data_len)
			abort();
		if (r->blob >= MDR_BLOB_FILE0 && r->blob_len != d->file_len[r->blob - MDR_BLOB_FILE0])
			abort();
	}
	if (r->kind == MDR_REPLY_PASSWORD && (r->body || r->status != 200))
		abort();
}

static void same_reply(const struct mdr_reply *a, const struct mdr_reply *b)
{
	if (a->status != b->status || a->kind != b->kind || strcmp(a->content_type, b->content_type) ||
	    a->body_len != b->body_len || a->blob != b->blob || a->blob_len != b->blob_len)
		abort();
	if (a->body_len && memcmp(a->body, b->body, a->body_len))
		abort();
}

static void render_one(const struct mdr_defn *d, const char *path)
{
	struct mdr_reply a, b;
	char slash[MDR_PATH_MAX * 2];

	if (mdr_render(d, path, &ctx, &a))
		return; /* allocation failure */
	check_reply(d, &a);
	/* the trailing-slash twin, unless a query or fragment would swallow it */
	if (!strpbrk(path, "?#") && strlen(path) + 2 < sizeof(slash)) {
		snprintf(slash, sizeof(slash), "%s/", path);
		if (!mdr_render(d, slash, &ctx, &b)) {
			check_reply(d, &b);
			same_reply(&a, &b);
			mdr_reply_free(&b);
		}
	}
	mdr_reply_free(&a);
}

static void check_roundtrips(const struct mdr_defn *d)
{
	struct mdr_defn *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE], *j;

	if (mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)))
		abort();
	if (strcmp(d2->doc_text, d->doc_text))
		abort();
	mdr_defn_free(d2);
	j = mdr_defn_to_json(d, 0);
	if (!j)
		return;
	if (mdr_defn_parse(j, strlen(j), &d2, err, sizeof(err)))
		abort();
	if (strcmp(d2->doc_text, d->doc_text))
		abort();
	mdr_defn_free(d2);
	free(j);
}

/* A drive has no request address: the null local-ipv4 path too. */
static void check_cdrive(const struct mdr_defn *d)
{
	const struct mdr_render_ctx dctx = {.random = fuzz_random};
	struct mdr_cdrive c;
	char err[256];

	if (!d || mdr_cdrive_build(d, &dctx, &c, err, sizeof(err)))
		return; /* no definition, or contents not attached (a stored doc) */
	for (size_t i = 0; i < c.n; i++) {
		size_t l = strlen(c.f[i].path);

		if (c.f[i].len && !c.f[i].data)
			abort();
		if (l > 15 && !strcmp(c.f[i].path + l - 15, "/meta-data.json")) {
			json_t *j = json_loadb(c.f[i].data, c.f[i].len, JSON_ALLOW_NUL, NULL);

			if (!json_is_object(j))
				abort();
			json_decref(j);
		}
	}
	mdr_cdrive_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t jlen = nul ? (size_t)(nul - data) : size;
	struct mdr_defn *d = NULL;
	char err[MDR_DEFN_ERR_SIZE];
	char *req, *line, *save = NULL;

	if (mdr_defn_parse((const char *)data, jlen, &d, err, sizeof(err))) {
		/* maybe it is a stored doc */
		if (mdr_defn_from_doc((const char *)data, jlen, &d, err, sizeof(err)))
			d = NULL;
	}
	if (d)
		check_roundtrips(d);
	if (!nul) {
		render_one(d, "/");
		render_one(d, "/latest/meta-data/");
		render_one(d, "/openstack/latest/meta_data.json");
		mdr_defn_free(d);
		return 0;
	}
	req = strndup((const char *)nul + 1, size - jlen - 1);
	if (!req) {
		mdr_defn_free(d);
		return 0;
	}
	for (line = strtok_r(req, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '+' && d) {
			char *eq = strchr(line, '=');

			if (eq) {
				*eq = '\0';
				if (!mdr_defn_set_override(d, line + 1, eq + 1, strlen(eq + 1), err,
							   sizeof(err)))
					check_roundtrips(d);
			}
		} else if (line[0] == '-' && d) {
			if (!mdr_defn_remove_path(d, line + 1, err, sizeof(err)))
				check_roundtrips(d);
		} else {
			render_one(d, line);
		}
	}
	free(req);
	check_cdrive(d);
	mdr_defn_free(d);
	return 0;
}
