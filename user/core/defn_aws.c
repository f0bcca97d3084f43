// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * defn_aws.c - the AWS-only members of a definition (aws.h,
 * docs/instance-definition.md "AWS categories"): validated and stored in the
 * doc only when given, so definitions without them store the same bytes.
 */
#include "aws.h"
#include "defn_int.h"

#include <errno.h>
#include <stdlib.h>
#include "err.h"
#include <stdio.h>
#include <string.h>

/* ---- time ------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

int mdr_aws_time_parse(const char *s, int64_t *out)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, se;

	if (!s || strlen(s) != MDR_AWS_TIME_SIZE - 1 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    se > 59)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

void mdr_aws_time_fmt(int64_t t, char out[MDR_AWS_TIME_SIZE])
{
	/* civil_from_days (Hinnant) */
	int64_t z = t / 86400 + 719468, sod = t % 86400;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

	snprintf(out, MDR_AWS_TIME_SIZE, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(y % 10000), m % 13, d % 32, (unsigned)(sod / 3600) % 24,
		 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

/* ---- members ------------------------------------------------------------ */

static int want_time(struct pctx *c, const char *path, const json_t *x)
{
	int64_t t;

	if (!want_string(c, path, x, MDR_AWS_TIME_SIZE, 0))
		return -EINVAL;
	if (mdr_aws_time_parse(json_string_value(x), &t))
		return fail(c, "%s: \"%s\" is not a UTC time like 2026-12-07T06:00:00Z", path,
			    json_string_value(x));
	return 0;
}

/* A string member of obj: required (not empty), or optional with dflt
 * (NULL: not stored). */
static int member(struct pctx *c, const char *path, const json_t *obj, const char *key,
		  size_t max, int required, const char *dflt, json_t *out)
{
	char p[MDR_AWS_ROLE_MAX + 96];
	json_t *x = opt(obj, key);

	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!x && required)
		return fail(c, "%s: missing (required)", p);
	if (!x) {
		if (dflt)
			json_object_set_new(out, key, json_string(dflt));
		return 0;
	}
	/* an optional member may be empty (it may also be stored as its
	 * default "", e.g. instance_profile_id) */
	if (!want_string(c, p, x, max, required ? 0 : TXT_EMPTY_OK))
		return -EINVAL;
	json_object_set(out, key, x);
	return 0;
}

/* One role's credentials, in EC2's member names and order. */
static int parse_credential(struct pctx *c, const char *path, const json_t *v, json_t **out)
{
	static const char *const keys[] = {"Code", "LastUpdated", "Type", "AccessKeyId",
					   "SecretAccessKey", "Token", "Expiration", NULL};
	char p[MDR_AWS_ROLE_MAX + 64];
	json_t *o;

	if (!json_is_object(v))
		return fail(c, "%s: expected an object, got %s", path, type_name(v));
	if (only_keys(c, path, v, keys))
		return -EINVAL;
	o = *out = json_object();
	if (member(c, path, v, "Code", MDR_AWS_ROLE_MAX, 0, "Success", o))
		return -EINVAL;
	if (opt(v, "LastUpdated")) {
		snprintf(p, sizeof(p), "%s.LastUpdated", path);
		if (want_time(c, p, opt(v, "LastUpdated")))
			return -EINVAL;
		json_object_set(o, "LastUpdated", opt(v, "LastUpdated"));
	}
	if (member(c, path, v, "Type", MDR_AWS_ROLE_MAX, 0, "AWS-HMAC", o) ||
	    member(c, path, v, "AccessKeyId", MDR_AWS_KEY_MAX, 1, NULL, o) ||
	    member(c, path, v, "SecretAccessKey", MDR_AWS_KEY_MAX, 1, NULL, o) ||
	    member(c, path, v, "Token", MDR_AWS_TOKEN_MAX, 1, NULL, o))
		return -EINVAL;
	snprintf(p, sizeof(p), "%s.Expiration", path);
	if (!opt(v, "Expiration"))
		return fail(c, "%s: missing (required)", p);
	if (want_time(c, p, opt(v, "Expiration")))
		return -EINVAL;
	json_object_set(o, "Expiration", opt(v, "Expiration"));
	return 0;
}

static int parse_iam(struct pctx *c, const json_t *v, json_t *nd)
{
	static const char *const keys[] = {"instance_profile_arn", "instance_profile_id",
					   "credentials", NULL};
	char p[MDR_AWS_ROLE_MAX + 32];
	const char *k;
	json_t *x, *out, *creds, *cv;

	if (!json_is_object(v))
		return fail(c, "iam: expected an object, got %s", type_name(v));
	if (only_keys(c, "iam", v, keys))
		return -EINVAL;
	out = json_object();
	json_object_set_new(nd, "iam", out);
	if (member(c, "iam", v, "instance_profile_arn", MDR_AWS_ARN_MAX, 1, NULL, out) ||
	    member(c, "iam", v, "instance_profile_id", MDR_AWS_ARN_MAX, 0, "", out))
		return -EINVAL;
	creds = json_object();
	json_object_set_new(out, "credentials", creds);
	if (!(x = opt(v, "credentials")))
		return 0;
	if (!json_is_object(x))
		return fail(c, "iam.credentials: expected an object {role: credentials}, got %s",
			    type_name(x));
	if (json_object_size(x) > MDR_AWS_MAX_ROLES)
		return fail(c, "iam.credentials: %zu roles, the limit is %d", json_object_size(x),
			    MDR_AWS_MAX_ROLES);
	json_object_foreach(x, k, cv) {
		json_t *one = NULL;
		int r;

		if (check_text(c, "iam.credentials (a role name)", k, strlen(k), MDR_AWS_ROLE_MAX,
			       TXT_SEGMENT))
			return -EINVAL;
		snprintf(p, sizeof(p), "iam.credentials.%s", k);
		r = parse_credential(c, p, cv, &one);
		if (one)
			json_object_set_new(creds, k, one);
		if (r)
			return r;
	}
	return 0;
}

static int parse_tags(struct pctx *c, const json_t *v, json_t *nd)
{
	char p[MDR_AWS_TAG_KEY_MAX + 16];
	const char *k;
	json_t *x, *out;

	if (!json_is_object(v))
		return fail(c, "tags: expected an object {key: value}, got %s", type_name(v));
	if (json_object_size(v) > MDR_AWS_MAX_TAGS)
		return fail(c, "tags: %zu tags, the limit is %d", json_object_size(v),
			    MDR_AWS_MAX_TAGS);
	out = json_object();
	json_object_set_new(nd, "tags", out);
	json_object_foreach((json_t *)v, k, x) {
		/* a key is a path segment of tags/instance/<key> */
		if (check_text(c, "tags (a key)", k, strlen(k), MDR_AWS_TAG_KEY_MAX, TXT_SEGMENT))
			return -EINVAL;
		snprintf(p, sizeof(p), "tags.%s", k);
		if (!want_string(c, p, x, MDR_AWS_TAG_VALUE_MAX, TXT_EMPTY_OK))
			return -EINVAL;
		json_object_set(out, k, x);
	}
	return 0;
}

/* One of a fixed set of words; stored when given. */
static int parse_word(struct pctx *c, const json_t *root, const char *key,
		      const char *const *words, json_t *nd)
{
	json_t *x = opt(root, key);
	const char *s;

	if (!x)
		return 0;
	if (!(s = want_string(c, key, x, MDR_AWS_ROLE_MAX, 0)))
		return -EINVAL;
	for (size_t i = 0; words[i]; i++)
		if (!strcmp(s, words[i])) {
			json_object_set(nd, key, x);
			return 0;
		}
	return fail(c, "%s: \"%s\" is not one of the accepted values (%s, ...)", key, s,
		    words[0]);
}

/* events/maintenance/scheduled: EC2's members, in EC2's order. */
static int parse_events(struct pctx *c, const json_t *v, json_t *nd)
{
	static const char *const keys[] = {"NotBefore", "Code", "Description", "EventId",
					   "NotAfter", "NotBeforeDeadline", "State", NULL};
	static const int required[] = {1, 1, 0, 1, 0, 0, 1};
	char path[32];
	json_t *out;

	if (!json_is_array(v))
		return fail(c, "events: expected an array, got %s", type_name(v));
	if (json_array_size(v) > MDR_AWS_MAX_EVENTS)
		return fail(c, "events: %zu events, the limit is %d", json_array_size(v),
			    MDR_AWS_MAX_EVENTS);
	out = json_array();
	json_object_set_new(nd, "events", out);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i), *o;

		snprintf(path, sizeof(path), "events[%zu]", i);
		if (!json_is_object(e))
			return fail(c, "%s: expected an object, got %s", path, type_name(e));
		if (only_keys(c, path, e, keys))
			return -EINVAL;
		o = json_object();
		json_array_append_new(out, o);
		for (size_t k = 0; keys[k]; k++)
			if (member(c, path, e, keys[k], MDR_AWS_EVENT_FIELD_MAX, required[k], NULL,
				   o))
				return -EINVAL;
	}
	return 0;
}

static int parse_spot(struct pctx *c, const json_t *v, json_t *nd)
{
	static const char *const keys[] = {"action", "time", NULL};
	static const char *const actions[] = {"terminate", "stop", "hibernate", NULL};
	json_t *out = json_object();
	const char *s;
	int ok = 0;

	json_object_set_new(nd, "spot", out);
	if (!json_is_object(v))
		return fail(c, "spot: expected an object, got %s", type_name(v));
	if (only_keys(c, "spot", v, keys))
		return -EINVAL;
	if (!opt(v, "action"))
		return fail(c, "spot.action: missing (required)");
	if (!(s = want_string(c, "spot.action", opt(v, "action"), MDR_AWS_ROLE_MAX, 0)))
		return -EINVAL;
	for (size_t i = 0; actions[i]; i++)
		ok |= !strcmp(s, actions[i]);
	if (!ok)
		return fail(c, "spot.action: \"%s\" is not terminate, stop or hibernate", s);
	json_object_set(out, "action", opt(v, "action"));
	if (!opt(v, "time"))
		return fail(c, "spot.time: missing (required)");
	if (want_time(c, "spot.time", opt(v, "time")))
		return -EINVAL;
	json_object_set(out, "time", opt(v, "time"));
	return 0;
}

/* What the loader signed (mdr_identity_sign): kept verbatim. */
static int parse_identity(struct pctx *c, const json_t *v, json_t *nd)
{
	static const char *const keys[] = {"document", "signature", "pkcs7", "rsa2048", NULL};
	json_t *out = json_object();
	char p[32];

	json_object_set_new(nd, "identity", out);
	if (!json_is_object(v))
		return fail(c, "identity: expected an object, got %s", type_name(v));
	if (only_keys(c, "identity", v, keys))
		return -EINVAL;
	for (size_t k = 0; keys[k]; k++) {
		json_t *x = opt(v, keys[k]);

		snprintf(p, sizeof(p), "identity.%s", keys[k]);
		if (!x)
			return fail(c, "%s: missing (required)", p);
		if (!want_string(c, p, x, MDR_AWS_IDENTITY_MAX, TXT_NEWLINES_OK))
			return -EINVAL;
		json_object_set(out, keys[k], x);
	}
	return 0;
}

int mdr_defn_aws_parse(struct pctx *c, const json_t *root, json_t *nd)
{
	static const char *const enabled[] = {"enabled", "disabled", NULL};
	static const char *const cycles[] = {"on-demand", "spot", "scheduled", "capacity-block",
					     NULL};
	json_t *x;

	if ((x = opt(root, "iam")) && parse_iam(c, x, nd))
		return -EINVAL;
	if ((x = opt(root, "tags")) && parse_tags(c, x, nd))
		return -EINVAL;
	if (parse_word(c, root, "instance_metadata_tags", enabled, nd))
		return -EINVAL;
	if ((x = opt(root, "events")) && parse_events(c, x, nd))
		return -EINVAL;
	if ((x = opt(root, "spot")) && parse_spot(c, x, nd))
		return -EINVAL;
	if (parse_word(c, root, "instance_life_cycle", cycles, nd))
		return -EINVAL;
	if ((x = opt(root, "identity")) && parse_identity(c, x, nd))
		return -EINVAL;
	return 0;
}

int mdr_defn_set_member(struct mdr_defn *d, const char *key, const json_t *value, char *err,
			size_t errlen)
{
	static const char *const settable[] = {MDR_DEFN_AWS_KEYS, NULL};
	struct mdr_defn *nd = NULL;
	json_t *copy, *tmp;
	char *text, *ttmp;
	size_t ltmp;
	int ok = 0, r;

	for (size_t i = 0; settable[i]; i++)
		ok |= !strcmp(key, settable[i]);
	if (!ok)
		return mdr_errf(err, errlen, -EINVAL, "\"%s\" cannot be set at run time (only %s)",
				key, "iam, tags, instance_metadata_tags, events, spot, "
				"instance_life_cycle");
	copy = json_deep_copy(d->doc);
	if (!copy)
		return mdr_errf(err, errlen, -ENOMEM, "out of memory");
	if (value && !json_is_null(value))
		json_object_set(copy, key, (json_t *)value);
	else
		json_object_del(copy, key);
	text = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(copy);
	if (!text)
		return mdr_errf(err, errlen, -ENOMEM, "out of memory");
	/* the doc parser puts the member in its place and validates it */
	r = mdr_defn_from_doc(text, strlen(text), &nd, err, errlen);
	free(text);
	if (r)
		return r;
	tmp = d->doc, d->doc = nd->doc, nd->doc = tmp;
	ttmp = d->doc_text, d->doc_text = nd->doc_text, nd->doc_text = ttmp;
	ltmp = d->doc_len, d->doc_len = nd->doc_len, nd->doc_len = ltmp;
	mdr_defn_free(nd);
	return 0;
}
