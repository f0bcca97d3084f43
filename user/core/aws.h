/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * aws.h - the EC2-only categories of an instance (docs/instance-definition.md
 * "AWS categories"): IAM credentials, instance tags, scheduled events, spot
 * instance action, instance-life-cycle, and the signed identity document.
 * Pure code: definitions are validated in defn_aws.c, rendered into the EC2
 * tree in render_aws.c. The wall clock that decides whether credentials
 * have expired is injected (mdr_render_ctx.wall).
 */
#ifndef MDR_AWS_H
#define MDR_AWS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "render.h"

/* "2026-12-07T06:00:00Z" plus its NUL: EC2's timestamp form. */
#define MDR_AWS_TIME_SIZE 21
/* IAM roles per instance (EC2 attaches one instance profile with one role;
 * room for a few more, bounded). */
#define MDR_AWS_MAX_ROLES 16
/* IAM names (role names are <= 64 characters). */
#define MDR_AWS_ROLE_MAX 64
/* ARNs and instance profile ids (IAM: ARNs <= 2048). */
#define MDR_AWS_ARN_MAX 2048
/* Access key id, secret (IAM: <= 128 / 40; room for other clouds' forms). */
#define MDR_AWS_KEY_MAX 256
/* Session token (STS tokens are ~1-2 KB; room for large ones). */
#define MDR_AWS_TOKEN_MAX 16384
/* Tags per instance and their sizes: EC2's limits (50; key 128; value 256). */
#define MDR_AWS_MAX_TAGS 50
#define MDR_AWS_TAG_KEY_MAX 128
#define MDR_AWS_TAG_VALUE_MAX 256
/* Scheduled events at once (EC2 has a handful at most). */
#define MDR_AWS_MAX_EVENTS 16
/* One event member (codes, ids, descriptions, dates). */
#define MDR_AWS_EVENT_FIELD_MAX 1024
/* A signature, PKCS#7 or document text stored by the loader. */
#define MDR_AWS_IDENTITY_MAX 16384

/* EC2's "YYYY-MM-DDTHH:MM:SSZ" into Unix seconds. 0, or -1 when s is not
 * exactly that form or not a real date. */
int mdr_aws_time_parse(const char *s, int64_t *out);
/* Unix seconds (>= 0) into EC2's form. */
void mdr_aws_time_fmt(int64_t t, char out[MDR_AWS_TIME_SIZE]);

/*
 * Add the AWS categories of the stored doc to nova's EC2 meta-data tree md
 * of version ver (an AWS version: nova's nine have none of them), each
 * gated by the version AWS introduced it in. creds: the request is under
 * meta-data/iam, so iam/security-credentials is built, which asks the
 * clock (ctx->wall) and lists only the roles whose Expiration is still
 * ahead; without a clock, none (credentials are never served without
 * knowing they are valid). Other paths never ask the clock, so their
 * replies stay memoisable.
 */
void mdr_aws_ec2_add(const json_t *doc, const char *ver, const struct mdr_render_ctx *ctx,
		     int creds, json_t *md);

/* EC2's layout of a JSON object ("{\n  \"k\" : v,\n...\n}", Jackson's
 * pretty printer, as AWS prints identity documents and credentials).
 * NULL on allocation failure. */
char *mdr_aws_pretty(const json_t *o, size_t *len);

/* The EC2 region of the stored doc: "region" when given; else the zone
 * without its last letter when the zone is named as AWS names them
 * ("eu-west-1b" -> "eu-west-1": what botocore and cloud-init derive from
 * placement/availability-zone); else MDR_DEFN_REGION. Uses buf (>= the
 * zone's length) for the derived name. */
#define MDR_AWS_REGION_SIZE (MDR_DEFN_NAME_MAX + 1)
const char *mdr_aws_region(const json_t *doc, char *buf, size_t buflen);

/*
 * Set (value != NULL; the caller keeps its reference) or remove (NULL) the
 * top-level member `key` of d's stored doc, then validate the doc again as
 * mdr_defn_from_doc does: the runtime edits of orchestration (`mdrctl set`,
 * `mdrctl credentials set`, the identity signer). Only the AWS members are
 * settable (iam, tags, instance_metadata_tags, events, spot,
 * instance_life_cycle, identity). 0, or -EINVAL with a message naming the
 * field; d is unchanged on error.
 */
int mdr_defn_set_member(struct mdr_defn *d, const char *key, const json_t *value, char *err,
			size_t errlen);

#endif /* MDR_AWS_H */
