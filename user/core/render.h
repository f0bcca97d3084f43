/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * render.h - the metadata tree nova serves, rendered from one instance
 * definition: (definition, request path) -> status, content type, body or
 * a reference to a content blob. Pure code: no I/O; randomness (the
 * random_seed of meta_data.json) is injected.
 *
 * Reproduces nova/api/metadata/{base,handler}.py: "/" lists the EC2
 * versions, a path without "ec2/" or "openstack/" is EC2, "/openstack"
 * lists the OpenStack versions, version-gated keys, listings "\n"-joined
 * without a trailing newline, a trailing "/" changes nothing.
 * The HTTP method is not an input: nova ignores it except on "password",
 * which the responder handles (MDR_REPLY_PASSWORD).
 */
#ifndef MDR_RENDER_H
#define MDR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "defn.h"

#define MDR_CT_TEXT "text/plain; charset=UTF-8"
#define MDR_CT_JSON "application/json"
/* nova returns the password as a bare string from the handler, so webob
 * labels it with its default type. */
#define MDR_CT_PASSWORD "text/html; charset=UTF-8"
/* Bytes of random_seed in meta_data.json (nova: os.urandom(512)). */
#define MDR_RANDOM_SEED_BYTES 512

enum mdr_reply_kind {
	MDR_REPLY_BODY = 0,     /* body/body_len hold the answer */
	MDR_REPLY_BLOB = 1,     /* the answer is blob `blob` of the instance */
	MDR_REPLY_PASSWORD = 2, /* the password path of a version that has it */
};

struct mdr_reply {
	int status;               /* 200 or 404 (400 for a path that cannot
				   * be normalised: too long, NUL byte) */
	const char *content_type; /* static string (MDR_CT_*), never NULL */
	enum mdr_reply_kind kind;
	char *body;               /* malloc'd (MDR_REPLY_BODY), else NULL;
				   * 404s carry a short text body */
	size_t body_len;
	unsigned blob;            /* MDR_REPLY_BLOB: MDR_BLOB_USER_DATA or
				   * MDR_BLOB_FILE0 + i */
	size_t blob_len;          /* its length (from the definition) */
	/* body belongs to someone else (a memo of rendered replies, see
	 * mdr_serve_inst.render): mdr_reply_free leaves it alone. mdr_render
	 * never sets it. */
	bool borrowed;
};

struct mdr_render_ctx {
	/* Fills buf with len random bytes (e.g. RAND_bytes / getrandom).
	 * NULL ctx or NULL random: zero bytes (tests, fuzzing only). */
	void (*random)(void *buf, size_t len, void *opaque);
	void *opaque;
	/* The guest's source address as text ("10.0.0.5"): EC2 local-ipv4
	 * when the definition sets no ec2.local_ipv4 (nova serves the fixed
	 * IP, else the request's address). NULL = empty. */
	const char *remote_ip;
	/* The wall clock, Unix seconds: whether IAM credentials are still
	 * valid (aws.h). Asked only for paths under meta-data/iam. NULL: the
	 * time is unknown and no credentials are served. */
	int64_t (*wall)(void *opaque);
};

/*
 * Normalise a request target into a canonical path: drop the query
 * ("?...") and fragment, percent-decode, prepend "/" if missing, collapse
 * "//", resolve "." and ".." (never above "/"), drop a trailing "/".
 * "/" stays "/". Examples: "/latest/meta-data/" -> "/latest/meta-data",
 * "//openstack/./latest/../2012-08-10?x=1" -> "/openstack/2012-08-10".
 * Returns 0, or -EINVAL when the result does not fit outlen or the path
 * contains a NUL byte (encoded or not).
 */
int mdr_path_normalize(const char *raw, char *out, size_t outlen);

/*
 * Render the answer for raw_path (as received: normalised here).
 * d == NULL (unknown instance): only "/" answers (the EC2 version list);
 * everything else is 404. Overrides in the definition win over rendered
 * values (see mdr_defn_set_override). Returns 0 (out filled; free with
 * mdr_reply_free) or -ENOMEM (out left empty).
 * d is only read (jansson's reference counts are atomic), so threads may
 * render the same definition concurrently.
 */
int mdr_render(const struct mdr_defn *d, const char *raw_path,
	       const struct mdr_render_ctx *ctx, struct mdr_reply *out);

void mdr_reply_free(struct mdr_reply *r);

/* The identity document of d as the loader signs it (mdr_identity_sign):
 * AWS's fields from the definition, privateIp = ec2.local_ipv4 (null when
 * unset: a signed document cannot follow each request's address).
 * malloc'd text, *len; NULL on allocation failure. */
char *mdr_render_identity_document(const struct mdr_defn *d, size_t *len);

/*
 * A config drive's ec2/<version>/meta-data.json (not a served path): nova's
 * jsonutils.dump_as_bytes() of get_ec2_metadata(version)["meta-data"], as
 * InstanceMetadata.metadata_for_config_drive() writes it: public-keys keep
 * their "_name" markers ("0=name"; nova's attempt to delete them misses
 * the dict they are in), local-ipv4 null when the
 * definition has no ec2.local_ipv4 and ctx gives no remote_ip (nova: the
 * fixed IP, else the request address, None on a drive), and the EC2
 * overrides of that version applied (strings set leaves, null removes).
 * version: an EC2 version or "latest". Returns 0 (*out malloc'd, *len),
 * 1 when there is no such file (unknown version, or the overrides removed
 * the meta-data), -1 on allocation failure.
 */
int mdr_render_ec2_meta_json(const struct mdr_defn *d, const char *version,
			     const struct mdr_render_ctx *ctx, char **out, size_t *len);

/* The OpenStack version list (oldest first, without "latest") and the
 * EC2 one, for callers that enumerate the tree (e.g. tests, mdrctl). */
extern const char *const mdr_openstack_versions[];
extern const size_t mdr_n_openstack_versions;
extern const char *const mdr_ec2_versions[];
extern const size_t mdr_n_ec2_versions;
/* The dated EC2 versions mdr serves beyond nova's (oldest first); the
 * listing at "/" is nova's, then these, then "latest" (= the newest). A
 * config drive holds nova's only. */
extern const char *const mdr_ec2_aws_versions[];
extern const size_t mdr_n_ec2_aws_versions;

#endif /* MDR_RENDER_H */
