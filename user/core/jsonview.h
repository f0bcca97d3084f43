/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * jsonview.h - a subtree of the metadata tree as one JSON document (GCE's
 * ?recursive=true / alt=json, Firecracker's Accept: application/json).
 * Pure code: paths are rendered through a callback (mdr_render, or the
 * responder's memo) and blobs read through another.
 *
 * Rules:
 *  - a path is a directory when its answer is a text listing each of
 *    whose lines names a child that answers 200; the child's name is the
 *    line without a trailing "/" and without an EC2 "=name" suffix
 *    (public-keys' "0=my-key" is the key "0");
 *  - a directory is an object {name: view of the child} in listing order;
 *  - a leaf is a string (its bytes; a leaf that is not valid UTF-8, such
 *    as binary user data, is {"base64": "<standard base64>"});
 *  - a JSON document is embedded as the JSON value it is: a leaf served
 *    as application/json (meta_data.json, vendor_data.json, ...) or named
 *    "*.json" with a body that parses (nova serves network_data.json as
 *    text/plain);
 *  - the view of a leaf path alone is that leaf: a JSON document's own
 *    bytes unchanged, a text value as a JSON string;
 *  - output is Python json.dumps() text (pyjson.h), like nova's documents.
 */
#ifndef MDR_JSONVIEW_H
#define MDR_JSONVIEW_H

#include <stddef.h>
#include <stdint.h>
#include "render.h"

/* Largest JSON view: "/" recursively repeats every version's user data;
 * a bigger subtree gets MDR_JSONVIEW_TOO_BIG (ask for a smaller one). */
#define MDR_JSONVIEW_MAX (1024u * 1024u)
/* Status of a view over MDR_JSONVIEW_MAX. */
#define MDR_JSONVIEW_TOO_BIG 413

struct mdr_jsonview_src {
	/* Render path (normalised, percent-encoded where needed): same
	 * contract as mdr_render (0, or -ENOMEM). */
	int (*render)(void *opaque, const char *path, struct mdr_reply *out);
	/* Bytes of blob (MDR_REPLY_BLOB); 0, -ENOENT when the content changed
	 * under the view (the caller retries), other -errno. NULL: blobs
	 * become empty strings. */
	int (*blob)(void *opaque, unsigned blob, const uint8_t **data, size_t *len);
	void *opaque;
	const char *password; /* the password leaf (MDR_REPLY_PASSWORD) */
	size_t password_len;
};

/*
 * The view of path (normalised). Returns 200 with *out (malloc'd,
 * NUL-terminated) and *len; the path's own status when it does not answer
 * 200 (nothing allocated); MDR_JSONVIEW_TOO_BIG; -ENOENT (a blob changed
 * under the view); -ENOMEM.
 */
int mdr_jsonview(const struct mdr_jsonview_src *src, const char *path, char **out,
		 size_t *len);

#endif /* MDR_JSONVIEW_H */
