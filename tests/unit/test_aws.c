// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* EC2's categories beyond nova (aws.h): iam credentials and their expiry at
 * serve time, tags/instance opt-in, events, spot, instance-life-cycle,
 * version gating, the signed identity paths, runtime edits; byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws.h"
#include "defn.h"
#include "render.h"

/* the injected wall clock; each read counted */
static int64_t now_s;
static unsigned wall_reads;

static int64_t fake_wall(void *opaque)
{
	(void)opaque;
	wall_reads++;
	return now_s;
}

static struct mdr_render_ctx ctx = {.wall = fake_wall, .remote_ip = "10.0.0.5"};

#define UUID "\"uuid\": \"d8e02d56-2648-415b-b62a-3a1b9ce1d0f8\""
#define IAM                                                                              \
	"\"iam\": {\"instance_profile_arn\": \"arn:aws:iam::123456789012:instance-profile/web\"," \
	" \"instance_profile_id\": \"AIPAEXAMPLE\", \"credentials\": {\"web\": {"         \
	"\"AccessKeyId\": \"ASIAEXAMPLE\", \"SecretAccessKey\": \"c2VjcmV0\", "            \
	"\"Token\": \"tok==\", \"Expiration\": \"2026-12-07T12:00:00Z\", "                 \
	"\"LastUpdated\": \"2026-12-07T06:00:00Z\"}}}"

static const char CREDS[] = "{\n"
			    "  \"Code\" : \"Success\",\n"
			    "  \"LastUpdated\" : \"2026-12-07T06:00:00Z\",\n"
			    "  \"Type\" : \"AWS-HMAC\",\n"
			    "  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n"
			    "  \"SecretAccessKey\" : \"c2VjcmV0\",\n"
			    "  \"Token\" : \"tok==\",\n"
			    "  \"Expiration\" : \"2026-12-07T12:00:00Z\"\n"
			    "}";
static const char INFO[] = "{\n"
			   "  \"Code\" : \"Success\",\n"
			   "  \"LastUpdated\" : \"2026-12-07T06:00:00Z\",\n"
			   "  \"InstanceProfileArn\" : \"arn:aws:iam::123456789012:instance-profile/web\",\n"
			   "  \"InstanceProfileId\" : \"AIPAEXAMPLE\"\n"
			   "}";
/* 2026-12-07T12:00:00Z */
#define EXPIRY 1796644800LL

static struct mdr_defn *load(const char *json)
{
	struct mdr_defn *d = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	if (mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)))
		fail_msg("parse: %s", err);
	return d;
}

static void expect_err(const char *json, const char *msg)
{
	struct mdr_defn *d = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	assert_int_equal(mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)), -22);
	assert_null(d);
	if (!strstr(err, msg))
		fail_msg("error [%s], want [%s]", err, msg);
}

static void expect(const struct mdr_defn *d, const char *path, int status, const char *body)
{
	struct mdr_reply r;

	assert_int_equal(mdr_render(d, path, &ctx, &r), 0);
	if (r.status != status)
		fail_msg("%s: status %d, want %d [%.*s]", path, r.status, status, (int)r.body_len,
			 r.body ? r.body : "");
	if (body && (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len)))
		fail_msg("%s:\n got [%.*s]\nwant [%s]", path, (int)r.body_len, r.body, body);
	if (status == 200)
		assert_string_equal(r.content_type, MDR_CT_TEXT);
	mdr_reply_free(&r);
}

static void test_time_parse_fmt(void **state)
{
	char out[MDR_AWS_TIME_SIZE];
	int64_t t;

	(void)state;
	assert_int_equal(mdr_aws_time_parse("2026-12-07T12:00:00Z", &t), 0);
	assert_int_equal(t, EXPIRY);
	assert_int_equal(mdr_aws_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(mdr_aws_time_parse("2024-02-29T23:59:59Z", &t), 0);
	mdr_aws_time_fmt(t, out);
	assert_string_equal(out, "2024-02-29T23:59:59Z");
	mdr_aws_time_fmt(EXPIRY, out);
	assert_string_equal(out, "2026-12-07T12:00:00Z");
	assert_int_equal(mdr_aws_time_parse("2023-02-29T00:00:00Z", &t), -1);
	assert_int_equal(mdr_aws_time_parse("2026-12-07 12:00:00Z", &t), -1);
	assert_int_equal(mdr_aws_time_parse("2026-12-07T12:00:00", &t), -1);
	assert_int_equal(mdr_aws_time_parse("2026-13-07T12:00:00Z", &t), -1);
	assert_int_equal(mdr_aws_time_parse("2026-12-07T24:00:00Z", &t), -1);
	assert_int_equal(mdr_aws_time_parse("2026-12-07T12:00:00+01:00", &t), -1);
}

static void test_iam_served_until_expiry(void **state)
{
	struct mdr_defn *d = load("{" UUID ", " IAM "}");

	(void)state;
	now_s = EXPIRY - 1;
	expect(d, "/latest/meta-data/iam", 200, "info\nsecurity-credentials/");
	expect(d, "/latest/meta-data/iam/info", 200, INFO);
	expect(d, "/latest/meta-data/iam/security-credentials/", 200, "web");
	expect(d, "/latest/meta-data/iam/security-credentials/web", 200, CREDS);
	expect(d, "/2016-09-02/meta-data/iam/security-credentials/web", 200, CREDS);
	/* the second Expiration is reached: never a stale key */
	now_s = EXPIRY;
	expect(d, "/latest/meta-data/iam/security-credentials/web", 404, NULL);
	expect(d, "/latest/meta-data/iam/security-credentials/", 404, NULL);
	expect(d, "/latest/meta-data/iam", 200, "info");
	expect(d, "/latest/meta-data/iam/info", 200, INFO);
	/* nova's versions have no iam */
	now_s = EXPIRY - 1;
	expect(d, "/2009-04-04/meta-data/iam/info", 404, NULL);
	mdr_defn_free(d);
}

static void test_iam_without_clock_serves_none(void **state)
{
	struct mdr_defn *d = load("{" UUID ", " IAM "}");
	struct mdr_render_ctx noclock = {.remote_ip = "10.0.0.5"};
	struct mdr_reply r;

	(void)state;
	assert_int_equal(mdr_render(d, "/latest/meta-data/iam/security-credentials/web", &noclock,
				    &r), 0);
	assert_int_equal(r.status, 404);
	mdr_reply_free(&r);
	mdr_defn_free(d);
}

static void test_clock_read_only_under_iam(void **state)
{
	struct mdr_defn *d = load("{" UUID ", " IAM "}");

	(void)state;
	now_s = 0;
	wall_reads = 0;
	expect(d, "/latest/meta-data/", 200, NULL);
	expect(d, "/latest/meta-data/instance-id", 200, "i-d8e02d56");
	expect(d, "/latest/dynamic/instance-identity/document", 200, NULL);
	assert_int_equal(wall_reads, 0); /* those replies stay memoisable */
	expect(d, "/latest/meta-data/iam/security-credentials/web", 200, CREDS);
	assert_int_equal(wall_reads, 1);
	mdr_defn_free(d);
}

static void test_iam_rejects(void **state)
{
	(void)state;
	expect_err("{" UUID ", \"iam\": {\"credentials\": {}}}",
		   "iam.instance_profile_arn: missing (required)");
	expect_err("{" UUID ", \"iam\": {\"instance_profile_arn\": \"a\", \"credentials\": {\"r\": "
		   "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Token\": \"T\", "
		   "\"Expiration\": \"tomorrow\"}}}}",
		   "iam.credentials.r.Expiration: \"tomorrow\" is not a UTC time");
	expect_err("{" UUID ", \"iam\": {\"instance_profile_arn\": \"a\", \"credentials\": {\"r\": "
		   "{\"AccessKeyId\": \"A\", \"Token\": \"T\", \"Expiration\": "
		   "\"2026-12-07T12:00:00Z\"}}}}",
		   "iam.credentials.r.SecretAccessKey: missing (required)");
	expect_err("{" UUID ", \"iam\": {\"instance_profile_arn\": \"a\", \"credentials\": {\"a/b\": "
		   "{}}}}",
		   "'/' is not allowed");
	expect_err("{" UUID ", \"iam\": {\"instance_profile_arn\": \"a\", \"credentials\": {\"r\": "
		   "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Token\": \"T\", "
		   "\"Expiration\": \"2026-12-07T12:00:00Z\", \"Secret\": 1}}}}",
		   "iam.credentials.r: unknown field \"Secret\"");
}

/* A definition's own output loads back (found by fuzz_defn: the default
 * instance_profile_id "" was refused when read back). */
static void test_aws_members_roundtrip(void **state)
{
	struct mdr_defn *d = load("{" UUID ", \"iam\": {\"instance_profile_arn\": \"a\"}, "
				  "\"events\": [{\"Code\": \"c\", \"EventId\": \"e\", "
				  "\"NotBefore\": \"n\", \"State\": \"s\", \"Description\": \"\"}]}");
	struct mdr_defn *back = NULL;
	char err[MDR_DEFN_ERR_SIZE], *j = mdr_defn_to_json(d, 1);

	(void)state;
	if (mdr_defn_parse(j, strlen(j), &back, err, sizeof(err)))
		fail_msg("%s\n%s", err, j);
	assert_string_equal(back->doc_text, d->doc_text);
	free(j);
	mdr_defn_free(back);
	mdr_defn_free(d);
}

static void test_tags_opt_in(void **state)
{
	struct mdr_defn *off = load("{" UUID ", \"tags\": {\"Name\": \"web-1\", \"env\": \"prod\"}}");
	struct mdr_defn *on = load("{" UUID ", \"tags\": {\"Name\": \"web-1\", \"env\": \"prod\"},"
				   " \"instance_metadata_tags\": \"enabled\"}");
	struct mdr_defn *empty = load("{" UUID ", \"instance_metadata_tags\": \"enabled\"}");

	(void)state;
	expect(off, "/latest/meta-data/tags/instance", 404, NULL);
	expect(on, "/latest/meta-data/tags", 200, "instance/");
	expect(on, "/latest/meta-data/tags/instance", 200, "Name\nenv");
	expect(on, "/latest/meta-data/tags/instance/Name", 200, "web-1");
	expect(on, "/latest/meta-data/tags/instance/env", 200, "prod");
	expect(on, "/latest/meta-data/tags/instance/nope", 404, NULL);
	/* AWS introduced tags/instance in 2021-03-23 */
	expect(on, "/2019-10-01/meta-data/tags/instance/Name", 404, NULL);
	expect(on, "/2021-03-23/meta-data/tags/instance/Name", 200, "web-1");
	expect(empty, "/latest/meta-data/tags/instance", 200, "");
	expect_err("{" UUID ", \"instance_metadata_tags\": \"on\"}",
		   "instance_metadata_tags: \"on\" is not one of");
	expect_err("{" UUID ", \"tags\": {\"a/b\": \"x\"}}", "'/' is not allowed");
	mdr_defn_free(off);
	mdr_defn_free(on);
	mdr_defn_free(empty);
}

static void test_events_spot_life_cycle(void **state)
{
	struct mdr_defn *none = load("{" UUID "}");
	struct mdr_defn *d = load(
		"{" UUID ", \"instance_life_cycle\": \"spot\", "
		"\"spot\": {\"action\": \"terminate\", \"time\": \"2026-12-07T08:22:00Z\"}, "
		"\"events\": [{\"Code\": \"system-reboot\", \"State\": \"active\", "
		"\"EventId\": \"instance-event-0d59937288b749b32\", "
		"\"NotBefore\": \"21 Jan 2019 09:00:43 GMT\", "
		"\"NotAfter\": \"21 Jan 2019 09:17:23 GMT\", "
		"\"Description\": \"scheduled reboot\"}]}");

	(void)state;
	expect(none, "/latest/meta-data/events/maintenance/scheduled", 200, "[]");
	expect(none, "/latest/meta-data/instance-life-cycle", 200, "on-demand");
	expect(none, "/latest/meta-data/spot/instance-action", 404, NULL);
	expect(d, "/latest/meta-data/events", 200, "maintenance/");
	expect(d, "/latest/meta-data/events/maintenance", 200, "scheduled");
	expect(d, "/latest/meta-data/events/maintenance/scheduled", 200,
	       "[ \n"
	       "  {\n"
	       "    \"NotBefore\" : \"21 Jan 2019 09:00:43 GMT\",\n"
	       "    \"Code\" : \"system-reboot\",\n"
	       "    \"Description\" : \"scheduled reboot\",\n"
	       "    \"EventId\" : \"instance-event-0d59937288b749b32\",\n"
	       "    \"NotAfter\" : \"21 Jan 2019 09:17:23 GMT\",\n"
	       "    \"State\" : \"active\"\n"
	       "  } \n"
	       "]");
	expect(d, "/latest/meta-data/spot", 200, "instance-action\ntermination-time");
	expect(d, "/latest/meta-data/spot/instance-action", 200,
	       "{\"action\": \"terminate\", \"time\": \"2026-12-07T08:22:00Z\"}");
	expect(d, "/latest/meta-data/spot/termination-time", 200, "2026-12-07T08:22:00Z");
	expect(d, "/latest/meta-data/instance-life-cycle", 200, "spot");
	/* gating: spot/instance-action 2016-11-15, events 2018-08-17,
	 * instance-life-cycle 2019-10-01 */
	expect(d, "/2016-09-02/meta-data/spot", 200, "termination-time");
	expect(d, "/2016-09-02/meta-data/events/maintenance/scheduled", 404, NULL);
	expect(d, "/2018-09-24/meta-data/spot/instance-action", 200, NULL);
	expect(d, "/2018-09-24/meta-data/events/maintenance/scheduled", 200, NULL);
	expect(d, "/2018-09-24/meta-data/instance-life-cycle", 404, NULL);
	expect(d, "/2019-10-01/meta-data/instance-life-cycle", 200, "spot");
	expect(d, "/2009-04-04/meta-data/spot/termination-time", 404, NULL);
	expect_err("{" UUID ", \"spot\": {\"action\": \"reboot\", \"time\": \"2026-12-07T08:22:00Z\"}}",
		   "spot.action: \"reboot\" is not terminate, stop or hibernate");
	expect_err("{" UUID ", \"events\": [{\"Code\": \"x\"}]}",
		   "events[0].NotBefore: missing (required)");
	expect_err("{" UUID ", \"instance_life_cycle\": \"cheap\"}", "instance_life_cycle:");
	mdr_defn_free(none);
	mdr_defn_free(d);
}

static void test_set_member_runtime(void **state)
{
	struct mdr_defn *d = load("{" UUID ", \"meta\": {\"a\": \"b\"}}");
	char err[MDR_DEFN_ERR_SIZE], *before = strdup(d->doc_text), *again;
	json_t *v = json_pack("{s:s}", "Name", "web-2");
	struct mdr_defn *back = NULL;

	(void)state;
	assert_int_equal(mdr_defn_set_member(d, "tags", v, err, sizeof(err)), 0);
	json_decref(v);
	v = json_string("enabled");
	assert_int_equal(mdr_defn_set_member(d, "instance_metadata_tags", v, err, sizeof(err)), 0);
	json_decref(v);
	expect(d, "/latest/meta-data/tags/instance/Name", 200, "web-2");
	/* the doc stays canonical: parsing it again gives the same bytes */
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &back, err, sizeof(err)), 0);
	assert_string_equal(back->doc_text, d->doc_text);
	mdr_defn_free(back);
	/* invalid: rejected, nothing changes */
	again = strdup(d->doc_text);
	v = json_pack("{s:i}", "Name", 1);
	assert_int_equal(mdr_defn_set_member(d, "tags", v, err, sizeof(err)), -22);
	assert_non_null(strstr(err, "tags.Name: expected a string"));
	json_decref(v);
	assert_string_equal(d->doc_text, again);
	v = json_string("x");
	assert_int_equal(mdr_defn_set_member(d, "uuid", v, err, sizeof(err)), -22);
	json_decref(v);
	/* removal */
	assert_int_equal(mdr_defn_set_member(d, "tags", NULL, err, sizeof(err)), 0);
	assert_int_equal(mdr_defn_set_member(d, "instance_metadata_tags", NULL, err, sizeof(err)), 0);
	assert_string_equal(d->doc_text, before);
	free(before);
	free(again);
	mdr_defn_free(d);
}

static void test_signed_identity_served(void **state)
{
	struct mdr_defn *d = load("{" UUID ", \"ec2\": {\"local_ipv4\": \"10.0.0.7\"}}");
	struct mdr_defn *plain = load("{" UUID "}");
	char err[MDR_DEFN_ERR_SIZE], *doc;
	size_t len;
	json_t *id;

	(void)state;
	expect(plain, "/latest/dynamic/instance-identity", 200, "document");
	expect(plain, "/latest/dynamic/instance-identity/signature", 404, NULL);
	expect(plain, "/latest/dynamic/instance-identity/pkcs7", 404, NULL);
	doc = mdr_render_identity_document(d, &len);
	assert_non_null(strstr(doc, "\"privateIp\" : \"10.0.0.7\""));
	id = json_pack("{s:s, s:s, s:s, s:s}", "document", doc, "signature", "U0lH\nU0lH",
		       "pkcs7", "UEtDUzc=", "rsa2048", "UlNB");
	assert_int_equal(mdr_defn_set_member(d, "identity", id, err, sizeof(err)), 0);
	json_decref(id);
	expect(d, "/latest/dynamic/instance-identity", 200, "document\npkcs7\nrsa2048\nsignature");
	expect(d, "/latest/dynamic/instance-identity/document", 200, doc);
	expect(d, "/latest/dynamic/instance-identity/signature", 200, "U0lH\nU0lH");
	expect(d, "/latest/dynamic/instance-identity/pkcs7", 200, "UEtDUzc=");
	expect(d, "/latest/dynamic/instance-identity/rsa2048", 200, "UlNB");
	free(doc);
	mdr_defn_free(d);
	mdr_defn_free(plain);
}

/* Region default: the zone's region when the zone is AWS-shaped (what
 * botocore's cut gives), else RegionOne; "region" always wins. */
static void test_region_default(void **state)
{
	static const struct {
		const char *zone, *region;
	} t[] = {
		{"eu-west-1b", "eu-west-1"}, {"us-gov-west-1a", "us-gov-west-1"},
		{"ap-southeast-2c", "ap-southeast-2"}, {"nova", "RegionOne"},
		{"az1", "RegionOne"}, {"eu-west-1", "RegionOne"}, {"eu-west-1bb", "RegionOne"},
		{"EU-west-1b", "RegionOne"}, {"", "RegionOne"},
	};
	char json[256], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mdr_defn *d;

		snprintf(json, sizeof(json), "{" UUID ", \"availability_zone\": \"%s\"}", t[i].zone);
		d = load(json);
		expect(d, "/latest/meta-data/placement/region", 200, t[i].region);
		snprintf(want, sizeof(want), "\"region\" : \"%s\"", t[i].region);
		{
			size_t len;
			char *doc = mdr_render_identity_document(d, &len);

			if (!strstr(doc, want))
				fail_msg("%s: %s", t[i].zone, doc);
			free(doc);
		}
		mdr_defn_free(d);
	}
	{
		struct mdr_defn *d = load("{" UUID ", \"availability_zone\": \"eu-west-1b\", "
					  "\"region\": \"RegionTwo\"}");

		expect(d, "/latest/meta-data/placement/region", 200, "RegionTwo");
		mdr_defn_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse_fmt),
		cmocka_unit_test(test_iam_served_until_expiry),
		cmocka_unit_test(test_iam_without_clock_serves_none),
		cmocka_unit_test(test_clock_read_only_under_iam),
		cmocka_unit_test(test_iam_rejects),
		cmocka_unit_test(test_aws_members_roundtrip),
		cmocka_unit_test(test_tags_opt_in),
		cmocka_unit_test(test_events_spot_life_cycle),
		cmocka_unit_test(test_set_member_runtime),
		cmocka_unit_test(test_signed_identity_served),
		cmocka_unit_test(test_region_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
