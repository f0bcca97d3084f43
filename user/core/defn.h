/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * defn.h - instance definitions: parse and validate the user-facing JSON
 * (docs/instance-definition.md), serialise an instance into content blobs
 * (MDR_BLOB_* in maps/mdr_abi.h) and read the stored document back.
 *
 * Pure code: no I/O. Two JSON forms exist:
 *  - the DEFINITION (what orchestration writes, `mdrctl instance load`):
 *    "user_data" and files[].content are base64;
 *  - the stored DOC (blob MDR_BLOB_DOC): the same normalised object with
 *    every default filled in, but without contents: "user_data_len" and
 *    files[].length instead, plus the "overrides" of `mdrctl put/rm`.
 * Contents (user data, file i) travel as separate blobs, so the responder
 * caches them once whatever version path a guest asks for.
 */
#ifndef MDR_DEFN_H
#define MDR_DEFN_H

#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"

struct json_t; /* jansson; the defn owns one reference */

/* Error messages of the parsers fit in this (callers pass a buffer). */
#define MDR_DEFN_ERR_SIZE 256
/* Nesting depth of free-form objects (network_data, vendor_data, ...):
 * deep enough for any real document, bounded against stack abuse. */
#define MDR_DEFN_MAX_DEPTH 32
/* Strings naming things (hostname, name, key names, meta keys...). */
#define MDR_DEFN_NAME_MAX 255
/* Suffix of a derived hostname: nova's [api] dhcp_domain default. */
#define MDR_DEFN_DHCP_DOMAIN "novalocal"
/* EC2 placement/region when the definition names none: keystone's and
 * devstack's default region name (OpenStack has regions, not zones' prefixes). */
#define MDR_DEFN_REGION "RegionOne"
/* The identity document's architecture when ec2.architecture is unset. */
#define MDR_DEFN_ARCHITECTURE "x86_64"
/* nova limits server metadata values to 255 characters; keys likewise. */
#define MDR_DEFN_META_MAX 255
/* Metadata items per server: nova's default quota is 128. */
#define MDR_DEFN_MAX_META 128
/* Public keys per instance (nova serves one; room for a few more). */
#define MDR_DEFN_MAX_KEYS 64
/* One SSH public key text (RSA 16384-bit keys are ~2.8 KiB). */
#define MDR_DEFN_KEY_MAX 16384
/* Path of an injected file inside the guest (PATH_MAX). */
#define MDR_DEFN_PATH_MAX 4096
/* `mdrctl put` bodies: one value, same cap as an injected file. */
#define MDR_OVERRIDE_MAX MDR_FILE_MAX
/* Overrides per instance. */
#define MDR_MAX_OVERRIDES 256
/* Normalised request paths (and override keys) fit in this. */
#define MDR_PATH_MAX 1024

/* Bindings (NICs) of one instance: a VM's NICs sit on its PCI bus, which
 * has 32 slots. The maps bound the node's total (MDR_MAX_PORTS port,
 * MDR_MAX_MACS MAC bindings): a put past them fails and changes nothing. */
#define MDR_DEFN_MAX_BINDINGS 32

/* Where the XDP program recognises this instance's frames: one per NIC
 * (docs/instance-definition.md, "binding" / "bindings"). Addresses and
 * the EC2 interface ids stay in the doc (render reads them there). */
struct mdr_defn_binding {
	int has_port;                /* "port": ingress interface */
	char port[MDR_IFNAME_SIZE];
	int has_mac;                 /* "mac" (+ "vlan"): source MAC */
	uint8_t mac[6];
	uint16_t vlan;               /* 0 = untagged, else 1..4094 */
};

/* Per-instance IMDS policy ("imds" object). 0 = use the daemon default. */
struct mdr_defn_imds {
	enum mdr_tokens_mode tokens; /* the EC2 tree; default MDR_TOKENS_OPTIONAL */
	/* The /openstack tree; default MDR_TOKENS_OPTIONAL: its agents
	 * (cloud-init's OpenStack datasource, cloudbase-init, afterburn)
	 * never send a token. */
	enum mdr_tokens_mode tokens_openstack;
	uint8_t hop_limit;           /* 1..64, default 1 */
	uint32_t rate_pps;           /* 0..MDR_MAX_RATE_PPS, 0 = default */
	uint32_t burst;              /* 0 = default */
	uint32_t max_connections;    /* 0 = default */
	uint32_t max_request;        /* largest request in bytes, 0 = default */
};

/*
 * A parsed, validated instance. Scalars the data path needs are decoded
 * into fields; everything else (rendered by render.c) stays in `doc`, the
 * normalised stored document (never NULL, no contents inside).
 * Contents are attached when known: after mdr_defn_parse(), or after
 * mdr_defn_set_blob() on a definition read with mdr_defn_from_doc().
 */
struct mdr_defn {
	char uuid[MDR_UUID_SIZE];    /* canonical lower-case */
	size_t n_bindings;           /* <= MDR_DEFN_MAX_BINDINGS; 0 = bind later */
	struct mdr_defn_binding bindings[MDR_DEFN_MAX_BINDINGS]; /* device order */
	struct mdr_defn_imds imds;

	int has_user_data;           /* "user_data" present (may be 0 bytes) */
	size_t user_data_len;
	uint8_t *user_data;          /* owned; NULL when not attached */

	size_t n_files;              /* <= MDR_MAX_FILES */
	size_t file_len[MDR_MAX_FILES];
	uint8_t *file[MDR_MAX_FILES]; /* owned; NULL when not attached */

	struct json_t *doc;          /* normalised doc (see above), owned */
	char *doc_text;              /* compact serialisation of doc, owned */
	size_t doc_len;              /* strlen(doc_text) <= MDR_DOC_MAX */
};

/* One content blob: pointers into the definition (valid until it is
 * modified or freed). data is NULL when the content is not attached. */
struct mdr_blob {
	const void *data;
	size_t len;
};

/*
 * Parse and validate a user-facing definition (JSON text, need not be
 * NUL-terminated). Decodes base64 user_data and files[].content.
 * Returns 0 and *out (free with mdr_defn_free), or -EINVAL with a one-line
 * message in err naming the field and the problem, e.g.
 *   "ec2.security_groups[1]: expected a string"
 *   "unknown field \"usr_data\""
 *   "user_data: 70000 bytes decoded, the limit is 65535".
 */
int mdr_defn_parse(const char *json, size_t len, struct mdr_defn **out,
		   char *err, size_t errlen);

/* Parse a stored doc (blob MDR_BLOB_DOC). Contents are not attached. */
int mdr_defn_from_doc(const char *doc, size_t len, struct mdr_defn **out,
		      char *err, size_t errlen);

void mdr_defn_free(struct mdr_defn *d);

/* Number of blobs of this instance: 2 + n_files (doc, user data, files;
 * the user data blob has length 0 and is unused when !has_user_data). */
size_t mdr_defn_n_blobs(const struct mdr_defn *d);

/*
 * The blobs to store for this instance: blobs[MDR_BLOB_DOC] = doc_text,
 * blobs[MDR_BLOB_USER_DATA] = user data, blobs[MDR_BLOB_FILE0 + i] = file i.
 * Returns 0 with *n = mdr_defn_n_blobs(d), or -EINVAL if max is too small.
 */
int mdr_defn_blobs(const struct mdr_defn *d, struct mdr_blob *blobs,
		   size_t max, size_t *n);

/*
 * Attach the content of blob (MDR_BLOB_USER_DATA or MDR_BLOB_FILE0 + i),
 * copied; len must equal the length the doc records. Lets a reader of
 * the maps rebuild a complete definition (mdrctl put/rm then re-store,
 * mdrctl instance show). Returns 0 or -EINVAL (bad blob id or length).
 */
int mdr_defn_set_blob(struct mdr_defn *d, unsigned blob, const void *data,
		      size_t len, char *err, size_t errlen);

/*
 * The definition as user-facing JSON (malloc'd, NUL-terminated; NULL on
 * allocation failure). Attached contents are base64-encoded into
 * "user_data" / files[].content, so the output loads back with
 * mdr_defn_parse(); contents not attached appear as "user_data_len" /
 * files[].length (informational, for `mdrctl instance show`).
 * pretty: indent 2 spaces; else compact. Keys in a stable order.
 */
char *mdr_defn_to_json(const struct mdr_defn *d, int pretty);

/*
 * `mdrctl put`: make the guest path `path` answer `body` (any bytes,
 * <= MDR_OVERRIDE_MAX). path is normalised like a request
 * (mdr_path_normalize in render.h); an "ec2/" prefix is dropped. A path
 * under version "latest" applies to every version of its tree unless a
 * version-specific override of the same path exists. New paths appear in
 * their parent listings. The password path cannot be overridden.
 * Stored in the doc's "overrides" (doc_text is refreshed).
 * Returns 0 or -EINVAL with a message.
 */
int mdr_defn_set_override(struct mdr_defn *d, const char *path,
			  const void *body, size_t len, char *err, size_t errlen);

/*
 * `mdrctl rm`: make `path` (and everything below it) answer 404 and
 * disappear from its parent listing. Replaces any override of that path.
 * Returns 0 or -EINVAL with a message.
 */
int mdr_defn_remove_path(struct mdr_defn *d, const char *path, char *err,
			 size_t errlen);

/* Canonicalise a UUID (8-4-4-4-12 hex, or 32 hex without dashes, any
 * case) into out as lower-case with dashes. 0 or -EINVAL when invalid. */
int mdr_uuid_canonical(const char *s, char out[MDR_UUID_SIZE]);

#endif /* MDR_DEFN_H */
