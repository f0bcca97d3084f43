// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_cdrive.c - the config drive's file list and contents: the list
 * nova's metadata_for_config_drive() yields (written out here from its
 * version gates, independently of cdrive.c), every openstack/ file equal
 * to what the renderer answers for the same path, ec2/<v>/meta-data.json
 * as nova's JSON dump of the EC2 dict (keys in get_ec2_metadata()'s
 * order, public-keys' "_name" kept as nova's drives have it), overrides
 * seen on the drive as in the service.
 */
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cdrive.h"
#include "defn.h"
#include "render.h"
#include "defn_samples.h"

/* A fixed "random" seed, so two renderings compare equal. */
static void fixed_random(void *buf, size_t len, void *opaque)
{
	(void)opaque;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(i * 7 + 1);
}

static const struct mdr_render_ctx CTX = { .random = fixed_random };

static struct mdr_defn *parse(const char *text)
{
	char err[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d = NULL;

	if (mdr_defn_parse(text, strlen(text), &d, err, sizeof(err)))
		fail_msg("parse: %s", err);
	return d;
}

static void build(const struct mdr_defn *d, struct mdr_cdrive *c)
{
	char err[256];

	if (mdr_cdrive_build(d, &CTX, c, err, sizeof(err)))
		fail_msg("build: %s", err);
}

/* nova's layout for a definition with (has_ud) or without user data and
 * n_files injected files: count, and every path present. */
static void assert_layout(const struct mdr_cdrive *c, int has_ud, size_t n_files)
{
	static const char *const os_v[] = { "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
					    "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
					    "2020-10-14", "2025-04-04", "latest" };
	char p[128];
	size_t want = 0;

	/* config_drive_skip_versions leaves 2009-04-04 and latest */
	for (int i = 0; i < 2; i++) {
		const char *v = i ? "latest" : "2009-04-04";

		snprintf(p, sizeof(p), "ec2/%s/meta-data.json", v);
		assert_non_null(mdr_cdrive_find(c, p));
		snprintf(p, sizeof(p), "ec2/%s/user-data", v);
		assert_true(!!mdr_cdrive_find(c, p) == !!has_ud);
		want += 1 + (has_ud ? 1 : 0);
	}
	assert_null(mdr_cdrive_find(c, "ec2/2008-09-01/meta-data.json"));
	assert_null(mdr_cdrive_find(c, "ec2/1.0/meta-data.json"));
	for (size_t i = 0; i < sizeof(os_v) / sizeof(os_v[0]); i++) {
		/* HAVANA = index 2, LIBERTY = 3, NEWTON_TWO = 5; latest has all */
		const struct {
			const char *name;
			size_t since;
			int present;
		} f[] = {
			{ "meta_data.json", 0, 1 },  { "user_data", 0, has_ud },
			{ "vendor_data.json", 2, 1 }, { "network_data.json", 3, 1 },
			{ "vendor_data2.json", 5, 1 }, { "password", 0, 0 },
		};

		for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
			int in = f[j].present && i >= f[j].since;

			snprintf(p, sizeof(p), "openstack/%s/%s", os_v[i], f[j].name);
			if (!!mdr_cdrive_find(c, p) != in)
				fail_msg("%s: expected %s", p, in ? "present" : "absent");
			want += (size_t)in;
		}
	}
	for (size_t i = 0; i < n_files; i++) {
		snprintf(p, sizeof(p), "openstack/content/%04zu", i);
		assert_non_null(mdr_cdrive_find(c, p));
	}
	want += n_files;
	assert_int_equal(c->n, want);
}

/* Every openstack/ file is byte for byte the renderer's answer. */
static void assert_same_as_served(const struct mdr_defn *d, const struct mdr_cdrive *c)
{
	size_t checked = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct mdr_cdrive_file *f = &c->f[i];
		const void *body;
		struct mdr_reply rep;
		char path[MDR_CDRIVE_PATH_MAX + 2];
		size_t len;

		if (strncmp(f->path, "openstack/", 10))
			continue;
		snprintf(path, sizeof(path), "/%s", f->path);
		assert_int_equal(mdr_render(d, path, &CTX, &rep), 0);
		assert_int_equal(rep.status, 200);
		body = rep.body;
		len = rep.body_len;
		if (rep.kind == MDR_REPLY_BLOB) {
			body = rep.blob == MDR_BLOB_USER_DATA ? d->user_data
							      : d->file[rep.blob - MDR_BLOB_FILE0];
			len = rep.blob_len;
		}
		if (f->len != len || memcmp(f->data, body, len))
			fail_msg("%s differs from the served answer", f->path);
		mdr_reply_free(&rep);
		checked++;
	}
	assert_true(checked > 0);
}

static void assert_file(const struct mdr_cdrive *c, const char *path, const char *want)
{
	const struct mdr_cdrive_file *f = mdr_cdrive_find(c, path);

	if (!f)
		fail_msg("%s missing", path);
	if (f->len != strlen(want) || memcmp(f->data, want, f->len))
		fail_msg("%s:\n got  %.*s\n want %s", path, (int)f->len, (const char *)f->data, want);
}

static void test_layout_full(void **state)
{
	struct mdr_defn *d = parse(SAMPLE_FULL);
	struct mdr_cdrive c;

	(void)state;
	build(d, &c);
	assert_layout(&c, 1, 2);
	assert_same_as_served(d, &c);
	assert_file(&c, "openstack/content/0001", "hello");
	assert_file(&c, "ec2/latest/user-data", "#cloud-config\nhostname: vm1\n");
	assert_file(&c, "openstack/2012-08-10/user_data", "#cloud-config\nhostname: vm1\n");
	mdr_cdrive_free(&c);
	mdr_defn_free(d);
}

static void test_layout_minimal_and_no_user_data(void **state)
{
	struct mdr_defn *d = parse(SAMPLE_MINIMAL);
	struct mdr_cdrive c;

	(void)state;
	build(d, &c);
	assert_layout(&c, 0, 0);
	assert_same_as_served(d, &c);
	assert_file(&c, "openstack/latest/vendor_data.json", "{}");
	assert_file(&c, "openstack/latest/network_data.json", "{}");
	mdr_cdrive_free(&c);
	mdr_defn_free(d);
	d = parse(SAMPLE_NO_USER_DATA);
	build(d, &c);
	assert_layout(&c, 0, 2);
	assert_same_as_served(d, &c);
	mdr_cdrive_free(&c);
	mdr_defn_free(d);
}

static const char EXP_EC2_FULL[] =
	"{\"ami-id\": \"ami-00000001\", \"ami-launch-index\": 2, \"ami-manifest-path\": \"FIXME\", "
	"\"instance-id\": \"i-0000000a\", \"hostname\": \"vm1.novalocal\", \"local-ipv4\": "
	"\"10.0.0.5\", \"reservation-id\": \"r-3ux3hp7u\", \"security-groups\": [\"default\", "
	"\"web\"], \"public-keys\": {\"0\": {\"_name\": \"0=mykey\", \"openssh-key\": "
	"\"ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU user@host\"}}, \"local-hostname\": \"vm1.novalocal\", "
	"\"public-hostname\": \"vm1.novalocal\", \"public-ipv4\": \"203.0.113.7\", "
	"\"instance-type\": \"m1.small\", \"block-device-mapping\": {\"ami\": \"vda\", \"root\": "
	"\"/dev/vda\", \"ephemeral0\": \"vdb\", \"swap\": \"vdc\"}, \"kernel-id\": "
	"\"aki-00000002\", \"ramdisk-id\": \"ari-00000003\", \"placement\": "
	"{\"availability-zone\": \"az1\"}, \"instance-action\": \"none\"}";
static const char EXP_EC2_MINIMAL[] =
	"{\"ami-id\": \"ami-00000000\", \"ami-launch-index\": 0, \"ami-manifest-path\": \"FIXME\", "
	"\"instance-id\": \"i-d8e02d56\", \"hostname\": "
	"\"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"local-ipv4\": null, "
	"\"reservation-id\": \"r-2648415b\", \"security-groups\": [], \"local-hostname\": "
	"\"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"public-hostname\": "
	"\"server-d8e02d56-2648-415b-b62a-3a1b9ce1d0f8.novalocal\", \"public-ipv4\": \"\", "
	"\"instance-type\": \"\", \"block-device-mapping\": {\"ami\": \"vda\", \"root\": "
	"\"/dev/vda\"}, \"placement\": {\"availability-zone\": \"nova\"}, \"instance-action\": "
	"\"none\"}";

static void test_ec2_meta_data_json(void **state)
{
	struct mdr_defn *d = parse(SAMPLE_FULL);
	struct mdr_cdrive c;
	char *out;
	size_t len;

	(void)state;
	build(d, &c);
	assert_file(&c, "ec2/latest/meta-data.json", EXP_EC2_FULL);
	assert_file(&c, "ec2/2009-04-04/meta-data.json", EXP_EC2_FULL);
	mdr_cdrive_free(&c);
	/* an older version drops the gated keys, like the served listing */
	assert_int_equal(mdr_render_ec2_meta_json(d, "1.0", &CTX, &out, &len), 0);
	assert_null(strstr(out, "instance-type"));
	assert_null(strstr(out, "placement"));
	assert_non_null(strstr(out, "\"ami-id\": \"ami-00000001\""));
	free(out);
	assert_int_equal(mdr_render_ec2_meta_json(d, "2099-01-01", &CTX, &out, &len), 1);
	/* with a request address (the service's view), local-ipv4 is that
	 * address when the definition names none */
	mdr_defn_free(d);
	d = parse(SAMPLE_MINIMAL);
	build(d, &c);
	assert_file(&c, "ec2/latest/meta-data.json", EXP_EC2_MINIMAL);
	mdr_cdrive_free(&c);
	{
		const struct mdr_render_ctx rctx = { .random = fixed_random, .remote_ip = "10.1.2.3" };

		assert_int_equal(mdr_render_ec2_meta_json(d, "latest", &rctx, &out, &len), 0);
		assert_non_null(strstr(out, "\"local-ipv4\": \"10.1.2.3\""));
		free(out);
	}
	mdr_defn_free(d);
}

static void put(struct mdr_defn *d, const char *path, const char *body)
{
	char err[256];

	if (mdr_defn_set_override(d, path, body, strlen(body), err, sizeof(err)))
		fail_msg("put %s: %s", path, err);
}

static void rm(struct mdr_defn *d, const char *path)
{
	char err[256];

	if (mdr_defn_remove_path(d, path, err, sizeof(err)))
		fail_msg("rm %s: %s", path, err);
}

static void test_overrides_on_the_drive(void **state)
{
	struct mdr_defn *d = parse(SAMPLE_FULL);
	struct mdr_cdrive c;

	(void)state;
	put(d, "/openstack/latest/vendor_data.json", "{\"over\": 1}");
	put(d, "/openstack/2013-10-17/vendor_data.json", "{\"old\": 1}");
	rm(d, "/openstack/latest/network_data.json");
	put(d, "/openstack/latest/extra.txt", "more");
	put(d, "/latest/meta-data/iam/info", "{\"Code\": \"Success\"}");
	put(d, "/2009-04-04/meta-data/instance-type", "m1.huge");
	rm(d, "/latest/meta-data/placement");
	build(d, &c);
	assert_same_as_served(d, &c);
	assert_file(&c, "openstack/latest/vendor_data.json", "{\"over\": 1}");
	assert_file(&c, "openstack/2016-06-30/vendor_data.json", "{\"over\": 1}");
	assert_file(&c, "openstack/2013-10-17/vendor_data.json", "{\"old\": 1}");
	assert_null(mdr_cdrive_find(&c, "openstack/latest/network_data.json"));
	assert_null(mdr_cdrive_find(&c, "openstack/2015-10-15/network_data.json"));
	assert_file(&c, "openstack/2012-08-10/extra.txt", "more");
	{
		const struct mdr_cdrive_file *l = mdr_cdrive_find(&c, "ec2/latest/meta-data.json");
		const struct mdr_cdrive_file *o = mdr_cdrive_find(&c, "ec2/2009-04-04/meta-data.json");
		char *ls = strndup(l->data, l->len), *os = strndup(o->data, o->len);

		assert_non_null(strstr(ls, "\"iam\": {\"info\": \"{\\\"Code\\\": \\\"Success\\\"}\"}"));
		assert_null(strstr(ls, "placement"));
		assert_non_null(strstr(ls, "\"instance-type\": \"m1.small\""));
		/* the version-specific override wins over latest for its version */
		assert_non_null(strstr(os, "\"instance-type\": \"m1.huge\""));
		assert_null(strstr(os, "placement"));
		free(ls);
		free(os);
	}
	mdr_cdrive_free(&c);
	/* removing the whole EC2 meta-data of a version drops its file */
	rm(d, "/latest/meta-data");
	build(d, &c);
	assert_null(mdr_cdrive_find(&c, "ec2/latest/meta-data.json"));
	assert_null(mdr_cdrive_find(&c, "ec2/2009-04-04/meta-data.json"));
	assert_non_null(mdr_cdrive_find(&c, "ec2/latest/user-data"));
	mdr_cdrive_free(&c);
	mdr_defn_free(d);
}

static void test_contents_not_attached(void **state)
{
	struct mdr_defn *d = parse(SAMPLE_FULL), *s;
	struct mdr_cdrive c;
	char err[256];

	(void)state;
	/* a definition read back from its stored doc has no contents yet */
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &s, err, sizeof(err)), 0);
	assert_int_equal(mdr_cdrive_build(s, &CTX, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "contents not attached"));
	assert_int_equal(c.n, 0);
	mdr_defn_free(s);
	mdr_defn_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_full),
		cmocka_unit_test(test_layout_minimal_and_no_user_data),
		cmocka_unit_test(test_ec2_meta_data_json),
		cmocka_unit_test(test_overrides_on_the_drive),
		cmocka_unit_test(test_contents_not_attached),
	};

	return cmocka_run_group_tests_name("cdrive", tests, NULL, NULL);
}
