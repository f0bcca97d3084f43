/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * defn_int.h - the validators of defn.c shared with the other parsers of
 * the definition (defn_aws.c, nics.c). Internal to user/core: not an API.
 */
#ifndef MDR_DEFN_INT_H
#define MDR_DEFN_INT_H

#include <stddef.h>
#include <jansson.h>
#include "defn.h"

struct pctx {
	char *err;
	size_t errlen;
	int doc_mode; /* stored doc: lengths instead of contents */
};

/* Text flags of check_text / want_string */
#define TXT_EMPTY_OK (1u << 0)    /* "" accepted */
#define TXT_NEWLINES_OK (1u << 1) /* \n, \r accepted (key text, meta) */
#define TXT_SEGMENT (1u << 2)     /* becomes a path segment: no '/', not . or .. */
#define TXT_ANY (1u << 3)         /* any control character accepted */
#define TXT_CHARS (1u << 4)       /* max counts characters (UTF-8), not bytes */

/* Library-wide names for the short ones the parsers use. */
#define fail mdr_defn_int_fail
#define type_name mdr_defn_int_type_name
#define check_text mdr_defn_int_check_text
#define want_string mdr_defn_int_want_string
#define want_int mdr_defn_int_want_int
#define opt mdr_defn_int_opt
#define only_keys mdr_defn_int_only_keys
#define parse_string_list mdr_defn_int_string_list
#define depth_ok mdr_defn_int_depth_ok

/* The error message (path: problem) into c->err; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) int fail(struct pctx *c, const char *fmt, ...);
/* "an object", "a string"... for messages. */
const char *type_name(const json_t *v);
/* Length, emptiness and character rules (TXT_*) of one string. */
int check_text(struct pctx *c, const char *path, const char *s, size_t len, size_t max,
	       unsigned flags);
/* v must be a string passing check_text; returns it or NULL (error set). */
const char *want_string(struct pctx *c, const char *path, const json_t *v, size_t max,
			unsigned flags);
/* v must be an integer in lo..hi. 0 or -EINVAL. */
int want_int(struct pctx *c, const char *path, const json_t *v, long long lo, long long hi,
	     long long *out);
/* Optional member: absent and JSON null both give NULL. */
json_t *opt(const json_t *obj, const char *key);
/* Every member of obj must be one of keys (NULL-terminated). */
int only_keys(struct pctx *c, const char *path, const json_t *obj, const char *const *keys);

/* defn_aws.c: the AWS-only members (iam, tags, instance_metadata_tags,
 * events, spot, instance_life_cycle, identity) from root into nd. */
#define MDR_DEFN_AWS_KEYS                                                                  \
	"iam", "tags", "instance_metadata_tags", "events", "spot", "instance_life_cycle",   \
		"identity"
int mdr_defn_aws_parse(struct pctx *c, const json_t *root, json_t *nd);

/* An array of <= max_n strings of <= max_len bytes into *out (new). */
int parse_string_list(struct pctx *c, const char *path, const json_t *v, size_t max_n,
		      size_t max_len, json_t **out);

/* 1 when v nests at most `left` levels. */
int depth_ok(const json_t *v, int left);

/* nics.c: "binding" (one object, today's form) or "bindings" (an array)
 * of root into d->bindings and the doc nd (stored in the form given). */
int mdr_nics_parse_bindings(struct pctx *c, const json_t *root, struct mdr_defn *d,
			    json_t *nd);
/* nics.c: "network_data" validated against nova's shape, copied into nd. */
int mdr_nics_parse_network_data(struct pctx *c, const json_t *root, json_t *nd);

#endif /* MDR_DEFN_INT_H */
