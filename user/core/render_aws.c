// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * render_aws.c - the AWS-only categories of the EC2 tree (aws.h): iam,
 * tags/instance, events/maintenance/scheduled, spot/, instance-life-cycle.
 * Added to the meta-data dict render.c builds, so listings and gating
 * follow the same rules as nova's keys.
 */
#include "aws.h"
#include "pyjson.h"

#include <stdlib.h>
#include <string.h>

/* AWS's "version when category was released" (instance metadata
 * categories table of the EC2 user guide). */
#define AWS_SINCE_IAM "2012-01-12"
#define AWS_SINCE_TERMINATION_TIME "2014-11-05"
#define AWS_SINCE_SPOT_ACTION "2016-11-15"
#define AWS_SINCE_EVENTS "2018-08-17"
#define AWS_SINCE_LIFE_CYCLE "2019-10-01"
#define AWS_SINCE_TAGS "2021-03-23"
/* instance-life-cycle when the definition names none. */
#define AWS_DEFAULT_LIFE_CYCLE "on-demand"

static int since(const char *ver, const char *required)
{
	return strcmp(ver, required) >= 0;
}

/* {"k" : v, ...} one member per line, members indented by `in` + 2. */
static void pretty_obj(struct mdr_buf *b, const json_t *o, const char *in)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	mdr_buf_puts(b, "{\n");
	json_object_foreach((json_t *)o, k, v) {
		json_t *key = json_string(k);

		if (i++)
			mdr_buf_puts(b, ",\n");
		mdr_buf_puts(b, in);
		mdr_buf_puts(b, "  ");
		mdr_pyjson_dump(b, key);
		mdr_buf_puts(b, " : ");
		mdr_pyjson_dump(b, v);
		json_decref(key);
	}
	mdr_buf_puts(b, "\n");
	mdr_buf_puts(b, in);
	mdr_buf_puts(b, "}");
}

char *mdr_aws_pretty(const json_t *o, size_t *len)
{
	struct mdr_buf b = {0};

	pretty_obj(&b, o, "");
	return mdr_buf_take(&b, len);
}

/* The string value of text (or "" on allocation failure). */
static json_t *text_value(char *text, size_t len)
{
	json_t *v = text ? json_stringn(text, len) : NULL;

	free(text);
	return v ? v : json_string("");
}

/* The text of b as a string value (b is emptied). */
static json_t *buf_value(struct mdr_buf *b)
{
	size_t len = 0;
	char *t = mdr_buf_take(b, &len);

	return text_value(t, len);
}

/* events/maintenance/scheduled: the layout of the EC2 user guide's example
 * ("[ ", each event indented by 2, "} ", "]"); "[]" without events. */
static json_t *events_text(const json_t *events)
{
	struct mdr_buf b = {0};

	if (!json_array_size(events))
		return json_string("[]");
	mdr_buf_puts(&b, "[ \n");
	for (size_t i = 0; i < json_array_size(events); i++) {
		if (i)
			mdr_buf_puts(&b, ", \n");
		mdr_buf_puts(&b, "  ");
		pretty_obj(&b, json_array_get(events, i), "  ");
	}
	mdr_buf_puts(&b, " \n]");
	return buf_value(&b);
}

static int64_t wall_now(const struct mdr_render_ctx *ctx)
{
	return ctx && ctx->wall ? ctx->wall(ctx->opaque) : -1;
}

/* iam/: info always (it holds no secret), security-credentials/<role> for
 * the roles still valid at now, only when creds (the path is under it). */
static json_t *iam_tree(const json_t *iam, const struct mdr_render_ctx *ctx, int creds)
{
	const json_t *all = json_object_get(iam, "credentials");
	json_t *info = json_object(), *out = json_object(), *sc = json_object(), *c;
	const char *role, *newest = NULL;
	int64_t now = creds ? wall_now(ctx) : -1;
	size_t len;
	char *t;

	json_object_foreach((json_t *)all, role, c) {
		const char *lu = json_string_value(json_object_get(c, "LastUpdated"));
		int64_t exp;

		if (lu && (!newest || strcmp(lu, newest) > 0))
			newest = lu;
		if (now < 0 ||
		    mdr_aws_time_parse(json_string_value(json_object_get(c, "Expiration")), &exp) ||
		    now >= exp)
			continue;
		t = mdr_aws_pretty(c, &len);
		json_object_set_new(sc, role, text_value(t, len));
	}
	json_object_set_new(info, "Code", json_string("Success"));
	if (newest)
		json_object_set_new(info, "LastUpdated", json_string(newest));
	json_object_set(info, "InstanceProfileArn", json_object_get(iam, "instance_profile_arn"));
	json_object_set(info, "InstanceProfileId", json_object_get(iam, "instance_profile_id"));
	t = mdr_aws_pretty(info, &len);
	json_decref(info);
	json_object_set_new(out, "info", text_value(t, len));
	/* no valid role: gone, as on an instance without one (never a stale key) */
	if (json_object_size(sc))
		json_object_set_new(out, "security-credentials", sc);
	else
		json_decref(sc);
	return out;
}

void mdr_aws_ec2_add(const json_t *doc, const char *ver, const struct mdr_render_ctx *ctx,
		     int creds, json_t *md)
{
	const json_t *iam = json_object_get(doc, "iam"), *spot = json_object_get(doc, "spot");
	const char *s;

	if (iam && since(ver, AWS_SINCE_IAM))
		json_object_set_new(md, "iam", iam_tree(iam, ctx, creds));
	if (spot) {
		json_t *o = json_object();
		const char *action = json_string_value(json_object_get(spot, "action"));
		struct mdr_buf b = {0};

		if (since(ver, AWS_SINCE_SPOT_ACTION)) {
			mdr_pyjson_dump(&b, spot);
			json_object_set_new(o, "instance-action", buf_value(&b));
		}
		if (since(ver, AWS_SINCE_TERMINATION_TIME) && action &&
		    !strcmp(action, "terminate"))
			json_object_set(o, "termination-time", json_object_get(spot, "time"));
		if (json_object_size(o))
			json_object_set_new(md, "spot", o);
		else
			json_decref(o);
	}
	if (since(ver, AWS_SINCE_EVENTS))
		json_object_set_new(md, "events",
				    json_pack("{s:{s:o}}", "maintenance", "scheduled",
					      events_text(json_object_get(doc, "events"))));
	if (since(ver, AWS_SINCE_LIFE_CYCLE)) {
		s = json_string_value(json_object_get(doc, "instance_life_cycle"));
		json_object_set_new(md, "instance-life-cycle",
				    json_string(s ? s : AWS_DEFAULT_LIFE_CYCLE));
	}
	s = json_string_value(json_object_get(doc, "instance_metadata_tags"));
	if (since(ver, AWS_SINCE_TAGS) && s && !strcmp(s, "enabled")) {
		const json_t *tags = json_object_get(doc, "tags");
		json_t *inst = tags ? json_deep_copy(tags) : json_object();

		json_object_set_new(md, "tags", json_pack("{s:o}", "instance", inst));
	}
}

/* "us-east-1b", "ap-southeast-2a", "us-gov-west-1a": two letters, one or
 * more "-word", "-digits", one letter. */
static int aws_shaped_zone(const char *z)
{
	size_t i = 0, n = strlen(z), words = 0;

	if (n < 6 || z[0] < 'a' || z[0] > 'z' || z[1] < 'a' || z[1] > 'z' || z[2] != '-')
		return 0;
	i = 3;
	for (;;) { /* -word ... then digits */
		size_t s = i;

		while (i < n && z[i] >= 'a' && z[i] <= 'z')
			i++;
		if (i == s || i >= n || z[i] != '-')
			break;
		words++;
		i++;
		if (i < n && z[i] >= '0' && z[i] <= '9')
			break;
	}
	if (!words || i >= n || z[i] < '0' || z[i] > '9')
		return 0;
	while (i < n && z[i] >= '0' && z[i] <= '9')
		i++;
	return i == n - 1 && z[i] >= 'a' && z[i] <= 'z';
}

const char *mdr_aws_region(const json_t *doc, char *buf, size_t buflen)
{
	const char *r = json_string_value(json_object_get(doc, "region"));
	const char *z = json_string_value(json_object_get(doc, "availability_zone"));

	if (r)
		return r;
	if (z && aws_shaped_zone(z) && strlen(z) <= buflen) {
		memcpy(buf, z, strlen(z) - 1);
		buf[strlen(z) - 1] = '\0';
		return buf;
	}
	return MDR_DEFN_REGION;
}
