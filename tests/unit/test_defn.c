// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_defn.c - instance definitions: validation (every invalid input is
 * rejected with a message naming the problem), defaults, the stored doc
 * and its round trips, blobs, overrides.
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

#include "b64.h"
#include "defn.h"
#include "mac.h"
#include "defn_samples.h"

#define UUID "d8e02d56-2648-415b-b62a-3a1b9ce1d0f8"
#define HEAD "{\"uuid\":\"" UUID "\","

/* ---- invalid definitions: one TAP line per case ---------------------- */

struct bad_case {
	const char *name;
	const char *json; /* NULL: built by a generator below */
	const char *want; /* substring the error must contain */
	char *(*gen)(void);
};

static char *gen_big_user_data(void)
{
	size_t n = MDR_USER_DATA_MAX + 1;
	unsigned char *raw = calloc(1, n);
	char *b = mdr_b64_encode_alloc(raw, n), *j;

	j = malloc(strlen(b) + 128);
	sprintf(j, HEAD "\"user_data\":\"%s\"}", b);
	free(raw);
	free(b);
	return j;
}

static char *gen_big_file(void)
{
	size_t n = MDR_FILE_MAX + 1;
	unsigned char *raw = calloc(1, n);
	char *b = mdr_b64_encode_alloc(raw, n), *j;

	j = malloc(strlen(b) + 128);
	sprintf(j, HEAD "\"files\":[{\"path\":\"/x\",\"content\":\"%s\"}]}", b);
	free(raw);
	free(b);
	return j;
}

static char *gen_many_files(void)
{
	char *j = malloc(64 * 1024);
	size_t o = (size_t)sprintf(j, HEAD "\"files\":[");

	for (int i = 0; i <= MDR_MAX_FILES; i++)
		o += (size_t)sprintf(j + o, "%s{\"path\":\"/f%d\",\"content\":\"\"}", i ? "," : "", i);
	strcpy(j + o, "]}");
	return j;
}

static char *gen_many_meta(void)
{
	char *j = malloc(64 * 1024);
	size_t o = (size_t)sprintf(j, HEAD "\"meta\":{");

	for (int i = 0; i <= MDR_DEFN_MAX_META; i++)
		o += (size_t)sprintf(j + o, "%s\"k%d\":\"v\"", i ? "," : "", i);
	strcpy(j + o, "}}");
	return j;
}

static char *gen_long_meta(void)
{
	char *j = malloc(1024);
	size_t o = (size_t)sprintf(j, HEAD "\"meta\":{\"k\":\"");

	memset(j + o, 'v', MDR_DEFN_META_MAX + 1);
	o += MDR_DEFN_META_MAX + 1;
	strcpy(j + o, "\"}}");
	return j;
}

static char *gen_deep(void)
{
	char *j = malloc(1024);
	size_t o = (size_t)sprintf(j, HEAD "\"vendor_data2\":");

	for (int i = 0; i < MDR_DEFN_MAX_DEPTH + 2; i++)
		o += (size_t)sprintf(j + o, "{\"a\":");
	o += (size_t)sprintf(j + o, "1");
	for (int i = 0; i < MDR_DEFN_MAX_DEPTH + 2; i++)
		j[o++] = '}';
	strcpy(j + o, "}");
	return j;
}

static char *gen_huge_doc(void)
{
	size_t n = MDR_DOC_MAX + 10;
	char *j = malloc(n + 128);
	size_t o = (size_t)sprintf(j, HEAD "\"vendor_data\":{\"blob\":\"");

	memset(j + o, 'x', n);
	o += n;
	strcpy(j + o, "\"}}");
	return j;
}

static const struct bad_case bad_cases[] = {
	{"not JSON", "{", "invalid JSON", NULL},
	{"trailing garbage", HEAD "\"name\":\"a\"} x", "invalid JSON", NULL},
	{"top level array", "[]", "must be a JSON object", NULL},
	{"missing uuid", "{\"name\":\"vm\"}", "uuid: missing", NULL},
	{"uuid not a string", "{\"uuid\":5}", "uuid: expected a string, got an integer", NULL},
	{"uuid malformed", "{\"uuid\":\"not-a-uuid\"}", "uuid: \"not-a-uuid\" is not a UUID", NULL},
	{"uuid bad hex", "{\"uuid\":\"g8e02d56-2648-415b-b62a-3a1b9ce1d0f8\"}", "is not a UUID", NULL},
	{"unknown top-level field", HEAD "\"usr_data\":\"\"}", "unknown field \"usr_data\"", NULL},
	{"user_data_len in a definition", HEAD "\"user_data_len\":3}", "unknown field \"user_data_len\"", NULL},
	{"duplicate key", HEAD "\"name\":\"a\",\"name\":\"b\"}", "duplicate", NULL},
	{"name wrong type", HEAD "\"name\":1}", "name: expected a string, got an integer", NULL},
	{"hostname with space", HEAD "\"hostname\":\"vm 1\"}", "hostname: \"vm 1\"", NULL},
	{"hostname empty", HEAD "\"hostname\":\"\"}", "hostname: must not be empty", NULL},
	{"dhcp_domain with space", HEAD "\"dhcp_domain\":\"a b\"}", "dhcp_domain: \"a b\"", NULL},
	{"hostname beyond Latin-1", HEAD "\"hostname\":\"\316\251mega\"}", "hostname:", NULL},
	{"availability_zone control char", HEAD "\"availability_zone\":\"a\\nb\"}",
	 "availability_zone: control character 0x0a", NULL},
	{"launch_index negative", HEAD "\"launch_index\":-1}", "launch_index: -1 is out of range", NULL},
	{"launch_index string", HEAD "\"launch_index\":\"0\"}", "launch_index: expected an integer, got a string", NULL},
	{"launch_index real", HEAD "\"launch_index\":1.5}", "launch_index: expected an integer, got a number", NULL},
	{"binding not object", HEAD "\"binding\":\"tap1\"}", "binding: expected an object, got a string", NULL},
	{"binding empty", HEAD "\"binding\":{}}", "binding: needs \"port\", \"mac\" or both", NULL},
	{"binding port with slash", HEAD "\"binding\":{\"port\":\"eth/0\"}}", "binding.port: \"eth/0\" is not a valid interface name", NULL},
	{"binding port too long", HEAD "\"binding\":{\"port\":\"abcdefghijklmnop\"}}", "binding.port: 16 bytes, the limit is 15", NULL},
	{"binding mac short", HEAD "\"binding\":{\"mac\":\"52:54:00:12:34\"}}", "binding.mac: \"52:54:00:12:34\" is not a MAC address", NULL},
	{"binding mac multicast", HEAD "\"binding\":{\"mac\":\"01:00:5e:00:00:01\"}}", "binding.mac: 01:00:5e:00:00:01 is a multicast address", NULL},
	{"binding mac zero", HEAD "\"binding\":{\"mac\":\"00:00:00:00:00:00\"}}", "all-zero", NULL},
	{"binding vlan 4095", HEAD "\"binding\":{\"mac\":\"52:54:00:12:34:56\",\"vlan\":4095}}", "binding.vlan: 4095 is out of range 0..4094", NULL},
	{"unknown field with a newline", HEAD "\"bi\\nding\":{}}", "unknown field \"bi?ding\"", NULL},
	{"unknown field with an escape", HEAD "\"x\\u001b[2J\":1}", "unknown field \"x?[2J\"", NULL},
	{"binding unknown field", HEAD "\"binding\":{\"ifname\":\"tap1\"}}", "binding: unknown field \"ifname\"", NULL},
	{"public_keys array", HEAD "\"public_keys\":[\"ssh-rsa A\"]}", "public_keys: expected an object", NULL},
	{"public key not a string", HEAD "\"public_keys\":{\"k\":1}}", "public_keys.k: expected a string, got an integer", NULL},
	{"public key empty", HEAD "\"public_keys\":{\"k\":\"\"}}", "public_keys.k: must not be empty", NULL},
	{"public key name control char", HEAD "\"public_keys\":{\"a\\tb\":\"ssh-rsa A\"}}", "control character", NULL},
	{"meta not object", HEAD "\"meta\":[]}", "meta: expected an object", NULL},
	{"meta value integer", HEAD "\"meta\":{\"role\":1}}", "meta.role: expected a string, got an integer", NULL},
	{"meta value too long", NULL, "meta.k: 256 characters, the limit is 255", gen_long_meta},
	{"meta too many items", NULL, "meta: 129 items, the limit is 128", gen_many_meta},
	{"user_data not base64", HEAD "\"user_data\":\"@@@@\"}", "user_data: not valid base64", NULL},
	{"user_data bad padding", HEAD "\"user_data\":\"QQ\"}", "user_data: not valid base64", NULL},
	{"user_data data after padding", HEAD "\"user_data\":\"QQ==QQ==\"}", "user_data: not valid base64", NULL},
	{"user_data not a string", HEAD "\"user_data\":{}}", "user_data: expected a base64 string, got an object", NULL},
	{"user_data over 65535 bytes", NULL, "user_data: 65536 bytes decoded, the limit is 65535", gen_big_user_data},
	{"files not array", HEAD "\"files\":{}}", "files: expected an array", NULL},
	{"file not object", HEAD "\"files\":[\"x\"]}", "files[0]: expected an object", NULL},
	{"file missing content", HEAD "\"files\":[{\"path\":\"/x\"}]}", "files[0].content: missing", NULL},
	{"file missing path", HEAD "\"files\":[{\"content\":\"\"}]}", "files[0].path: missing", NULL},
	{"file bad base64", HEAD "\"files\":[{\"path\":\"/x\",\"content\":\"!\"}]}", "files[0].content: not valid base64", NULL},
	{"file unknown field", HEAD "\"files\":[{\"path\":\"/x\",\"content\":\"\",\"mode\":420}]}", "files[0]: unknown field \"mode\"", NULL},
	{"file length in a definition", HEAD "\"files\":[{\"path\":\"/x\",\"length\":1}]}", "files[0]: unknown field \"length\"", NULL},
	{"too many files", NULL, "files: 65 files, the limit is 64", gen_many_files},
	{"file too large", NULL, "files[0].content: 65536 bytes decoded, the limit is 65535", gen_big_file},
	{"network_data array", HEAD "\"network_data\":[]}", "network_data: expected an object, got an array", NULL},
	{"vendor_data string", HEAD "\"vendor_data\":\"x\"}", "vendor_data: expected an object, got a string", NULL},
	{"vendor_data2 too deep", NULL, "vendor_data2: nested deeper than 32 levels", gen_deep},
	{"devices not array", HEAD "\"devices\":{}}", "devices: expected an array", NULL},
	{"device unknown type", HEAD "\"devices\":[{\"type\":\"gpu\"}]}", "devices[0].type: \"gpu\" is not one of", NULL},
	{"device missing type", HEAD "\"devices\":[{\"mac\":\"52:54:00:12:34:56\"}]}", "devices[0].type: missing", NULL},
	{"nic missing mac", HEAD "\"devices\":[{\"type\":\"nic\"}]}", "devices[0].mac: missing", NULL},
	{"nic bad mac", HEAD "\"devices\":[{\"type\":\"nic\",\"mac\":\"zz\"}]}", "devices[0].mac: \"zz\" is not a MAC address", NULL},
	{"device bad bus", HEAD "\"devices\":[{\"type\":\"disk\",\"bus\":\"sata\"}]}", "devices[0].bus: \"sata\" is not one of", NULL},
	{"disk with a nic field", HEAD "\"devices\":[{\"type\":\"disk\",\"mac\":\"52:54:00:12:34:56\"}]}", "devices[0]: unknown field \"mac\"", NULL},
	{"vf_trusted not boolean", HEAD "\"devices\":[{\"type\":\"nic\",\"mac\":\"52:54:00:12:34:56\",\"vf_trusted\":\"yes\"}]}", "devices[0].vf_trusted: expected a boolean", NULL},
	{"share missing share_id", HEAD "\"devices\":[{\"type\":\"share\",\"tag\":\"t\"}]}", "devices[0].share_id: missing", NULL},
	{"dedicated_cpus string", HEAD "\"dedicated_cpus\":[1,\"2\"]}", "dedicated_cpus[1]: expected an integer, got a string", NULL},
	{"ec2 not object", HEAD "\"ec2\":[]}", "ec2: expected an object", NULL},
	{"ec2 unknown field", HEAD "\"ec2\":{\"instanceid\":\"i-1\"}}", "ec2: unknown field \"instanceid\"", NULL},
	{"ec2 security_groups string", HEAD "\"ec2\":{\"security_groups\":\"default\"}}", "ec2.security_groups: expected an array of strings, got a string", NULL},
	{"ec2 security group integer", HEAD "\"ec2\":{\"security_groups\":[1]}}", "ec2.security_groups[0]: expected a string", NULL},
	{"ec2 security group newline", HEAD "\"ec2\":{\"security_groups\":[\"a\\nb\"]}}", "ec2.security_groups[0]: control character", NULL},
	{"ec2 local_ipv4 invalid", HEAD "\"ec2\":{\"local_ipv4\":\"10.0.0.300\"}}", "ec2.local_ipv4: \"10.0.0.300\" is not an IPv4 address", NULL},
	{"ec2 public_ipv4 IPv6", HEAD "\"ec2\":{\"public_ipv4\":\"2001:db8::1\"}}", "ec2.public_ipv4:", NULL},
	{"ec2 bdm value integer", HEAD "\"ec2\":{\"block_device_mapping\":{\"ami\":1}}}", "ec2.block_device_mapping.ami: expected a string", NULL},
	{"ec2 bdm name with slash", HEAD "\"ec2\":{\"block_device_mapping\":{\"a/b\":\"vda\"}}}", "'/' is not allowed", NULL},
	{"ec2 instance_id control char", HEAD "\"ec2\":{\"instance_id\":\"i-1\\n\"}}", "ec2.instance_id: control character", NULL},
	{"imds tokens invalid", HEAD "\"imds\":{\"tokens\":\"maybe\"}}", "imds.tokens: \"maybe\" is not \"optional\" or \"required\"", NULL},
	{"imds tokens tree invalid", HEAD "\"imds\":{\"tokens\":{\"openstack\":\"maybe\"}}}", "imds.tokens.openstack: \"maybe\" is not \"optional\" or \"required\"", NULL},
	{"imds tokens unknown tree", HEAD "\"imds\":{\"tokens\":{\"gce\":\"required\"}}}", "imds.tokens", NULL},
	{"imds hop_limit 0", HEAD "\"imds\":{\"hop_limit\":0}}", "imds.hop_limit: 0 is out of range 1..64", NULL},
	{"imds hop_limit 65", HEAD "\"imds\":{\"hop_limit\":65}}", "imds.hop_limit: 65 is out of range 1..64", NULL},
	{"imds rate too high", HEAD "\"imds\":{\"rate_pps\":10000001}}", "imds.rate_pps: 10000001 is out of range", NULL},
	{"imds max_connections negative", HEAD "\"imds\":{\"max_connections\":-5}}", "imds.max_connections", NULL},
	{"imds unknown field", HEAD "\"imds\":{\"token\":\"required\"}}", "imds: unknown field \"token\"", NULL},
	{"override not base64", HEAD "\"overrides\":{\"/latest/x\":\"!!\"}}", "overrides./latest/x: not valid base64", NULL},
	{"override integer", HEAD "\"overrides\":{\"/latest/x\":1}}", "overrides./latest/x: expected a base64 string or null", NULL},
	{"override of the password", HEAD "\"overrides\":{\"/openstack/latest/password\":\"eA==\"}}", "password is written by the guest", NULL},
	{"override of the root listing", HEAD "\"overrides\":{\"/\":\"eA==\"}}", "version listings cannot be changed", NULL},
	/* fuzz_defn: "%2566" is stored as "%66", which a reload decodes to "f" */
	{"override decoding to an escape", HEAD "\"overrides\":{\"/latest/a%2566\":null}}", "cannot be stored", NULL},
	{"override decoding to a query", HEAD "\"overrides\":{\"/latest/a%3Fb\":null}}", "cannot be stored", NULL},
	/* fuzz_defn: stored as "/ec2/x", which a reload would strip to "/x" */
	{"override under /ec2/ec2", HEAD "\"overrides\":{\"ec2//ec2/x\":null}}", "no such EC2 version", NULL},
	{"override same path twice", HEAD "\"overrides\":{\"/latest/x\":null,\"/ec2/latest/x/\":null}}", "the same path as another entry", NULL},
	{"document too large", NULL, "the stored document would be", gen_huge_doc},
};

static void test_bad_case(void **state)
{
	const struct bad_case *c = *state;
	char err[MDR_DEFN_ERR_SIZE], *gen = c->gen ? c->gen() : NULL;
	const char *json = gen ? gen : c->json;
	struct mdr_defn *d = (struct mdr_defn *)1;

	assert_int_equal(mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)), -EINVAL);
	assert_null(d);
	if (!strstr(err, c->want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, c->want);
	/* one line, whatever the definition holds (it becomes one log line) */
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("error \"%s\" holds control character 0x%02x", err, (unsigned char)*p);
	free(gen);
}

/* ---- valid definitions --------------------------------------------------- */

static void test_minimal_doc_has_defaults(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);

	(void)state;
	assert_string_equal(d->doc_text,
		"{\"uuid\":\"" UUID "\",\"name\":\"Server-" UUID "\",\"hostname\":\"server-" UUID ".novalocal\","
		"\"availability_zone\":\"nova\",\"project_id\":\"\",\"launch_index\":0,"
		"\"ec2\":{\"instance_id\":\"i-d8e02d56\",\"ami_id\":\"ami-00000000\",\"instance_type\":\"\","
		"\"public_ipv4\":\"\",\"reservation_id\":\"r-2648415b\",\"security_groups\":[],"
		"\"block_device_mapping\":{\"ami\":\"vda\",\"root\":\"/dev/vda\"}},"
		"\"imds\":{\"tokens\":\"optional\",\"hop_limit\":1,\"rate_pps\":0,\"burst\":0,"
		"\"max_connections\":0,\"max_request\":0}}");
	assert_int_equal(d->doc_len, strlen(d->doc_text));
	assert_false(d->has_user_data);
	assert_int_equal(d->n_files, 0);
	assert_int_equal(d->n_bindings, 0);
	assert_int_equal(d->imds.tokens, MDR_TOKENS_OPTIONAL);
	assert_int_equal(d->imds.hop_limit, 1);
	mdr_defn_free(d);
}

static void test_full_fields_decoded(void **state)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct mdr_defn *d = load(SAMPLE_FULL);

	(void)state;
	assert_string_equal(d->uuid, UUID);
	assert_true(d->bindings[0].has_port);
	assert_string_equal(d->bindings[0].port, "tap1");
	assert_true(d->bindings[0].has_mac);
	assert_memory_equal(d->bindings[0].mac, mac, 6);
	assert_int_equal(d->bindings[0].vlan, 100);
	assert_int_equal(d->imds.tokens, MDR_TOKENS_REQUIRED);
	assert_int_equal(d->imds.hop_limit, 2);
	assert_int_equal(d->imds.rate_pps, 2048);
	assert_int_equal(d->imds.burst, 512);
	assert_int_equal(d->imds.max_connections, 32);
	assert_int_equal(d->imds.max_request, 0);
	assert_true(d->has_user_data);
	assert_int_equal(d->user_data_len, 28);
	assert_memory_equal(d->user_data, "#cloud-config\nhostname: vm1\n", 28);
	assert_int_equal(d->n_files, 2);
	assert_int_equal(d->file_len[0], 10);
	assert_memory_equal(d->file[0], "auto eth0\n", 10);
	assert_non_null(strstr(d->doc_text, "\"user_data_len\":28,\"files\":[{\"path\":\"/etc/network/interfaces\",\"length\":10}"));
	assert_null(strstr(d->doc_text, "I2Nsb3Vk")); /* no contents in the doc */
	assert_non_null(strstr(d->doc_text, "\"dedicated_cpus\":[1,2,3]"));
	mdr_defn_free(d);
}

/* nova's API schema limits meta keys and values to 255 characters, not
 * bytes: 255 two-byte letters are accepted, 256 are not. */
static void test_meta_limit_in_characters(void **state)
{
	char buf[2048], val[2 * 256 + 1], err[256];
	struct mdr_defn *d = NULL;

	(void)state;
	for (int i = 0; i < 256; i++)
		memcpy(val + 2 * i, "\303\251", 2);
	val[2 * 255] = '\0';
	snprintf(buf, sizeof(buf), HEAD "\"meta\":{\"%s\":\"%s\"}}", val, val);
	mdr_defn_free(load(buf));
	val[2 * 255] = '\303';
	val[2 * 255 + 1] = '\251';
	val[2 * 256] = '\0';
	snprintf(buf, sizeof(buf), HEAD "\"meta\":{\"k\":\"%s\"}}", val);
	assert_int_not_equal(mdr_defn_parse(buf, strlen(buf), &d, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "meta.k: 256 characters, the limit is 255"));
}

static void test_uuid_canonicalised(void **state)
{
	struct mdr_defn *d = load("{\"uuid\":\"D8E02D562648415BB62A3A1B9CE1D0F8\"}");

	(void)state;
	assert_string_equal(d->uuid, UUID);
	assert_non_null(strstr(d->doc_text, "\"uuid\":\"" UUID "\""));
	mdr_defn_free(d);
}

static void test_uuid_and_mac_helpers(void **state)
{
	char out[MDR_UUID_SIZE];
	uint8_t mac[6];

	(void)state;
	assert_int_equal(mdr_uuid_canonical("D8E02D56-2648-415B-B62A-3A1B9CE1D0F8", out), 0);
	assert_string_equal(out, UUID);
	assert_int_equal(mdr_uuid_canonical("d8e02d56-2648-415b-b62a-3a1b9ce1d0f", out), -EINVAL);
	assert_int_equal(mdr_uuid_canonical("d8e02d56x2648-415b-b62a-3a1b9ce1d0f8", out), -EINVAL);
	assert_int_equal(mdr_uuid_canonical("", out), -EINVAL);
	assert_int_equal(mdr_mac_parse("52-54-00-AB-cd-EF", mac), 0);
	assert_int_equal(mac[3], 0xab);
	assert_int_equal(mac[5], 0xef);
	assert_int_equal(mdr_mac_parse("52:54:00:ab:cd:ef:", mac), -EINVAL);
	assert_int_equal(mdr_mac_parse("52:54:00:ab:cd:e", mac), -EINVAL);
	assert_int_equal(mdr_mac_parse("5254.00ab.cdef", mac), -EINVAL);
}

static void test_null_means_absent(void **state)
{
	struct mdr_defn *d = load(HEAD "\"name\":null,\"user_data\":null,\"binding\":null,"
				  "\"ec2\":{\"kernel_id\":null},\"imds\":null}");

	(void)state;
	assert_false(d->has_user_data);
	assert_non_null(strstr(d->doc_text, "\"name\":\"Server-" UUID "\""));
	assert_null(strstr(d->doc_text, "kernel_id"));
	mdr_defn_free(d);
}

/* imds.tokens: today's string is the EC2 tree's policy and leaves
 * /openstack optional; {"ec2", "openstack"} sets each tree. */
static void test_tokens_per_tree(void **state)
{
	struct mdr_defn *a = load(HEAD "\"imds\":{\"tokens\":\"required\"}}");
	struct mdr_defn *b = load(HEAD "\"imds\":{\"tokens\":{\"openstack\":\"required\"}}}");
	struct mdr_defn *c = load(HEAD "\"imds\":{\"tokens\":{\"ec2\":\"required\"}}}");
	struct mdr_defn *r = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	(void)state;
	assert_int_equal(a->imds.tokens, MDR_TOKENS_REQUIRED);
	assert_int_equal(a->imds.tokens_openstack, MDR_TOKENS_OPTIONAL);
	assert_non_null(strstr(a->doc_text, "\"imds\":{\"tokens\":\"required\","));
	assert_int_equal(b->imds.tokens, MDR_TOKENS_OPTIONAL);
	assert_int_equal(b->imds.tokens_openstack, MDR_TOKENS_REQUIRED);
	assert_non_null(strstr(b->doc_text,
			       "\"imds\":{\"tokens\":{\"ec2\":\"optional\",\"openstack\":\"required\"},"));
	/* the stored form reads back the same */
	if (mdr_defn_from_doc(b->doc_text, b->doc_len, &r, err, sizeof(err)))
		fail_msg("doc rejected: %s", err);
	assert_int_equal(r->imds.tokens_openstack, MDR_TOKENS_REQUIRED);
	assert_string_equal(r->doc_text, b->doc_text);
	/* same as the string form */
	assert_int_equal(c->imds.tokens, MDR_TOKENS_REQUIRED);
	assert_int_equal(c->imds.tokens_openstack, MDR_TOKENS_OPTIONAL);
	assert_non_null(strstr(c->doc_text, "\"imds\":{\"tokens\":\"required\","));
	mdr_defn_free(a);
	mdr_defn_free(b);
	mdr_defn_free(c);
	mdr_defn_free(r);
}

static void test_name_and_hostname_default_to_each_other(void **state)
{
	struct mdr_defn *a = load(HEAD "\"name\":\"My Web_Server.1!\"}");
	struct mdr_defn *b = load(HEAD "\"hostname\":\"web1.example\"}");

	(void)state;
	/* nova's sanitize_hostname: [ _.] -> '-', other symbols dropped, lower case */
	assert_non_null(strstr(a->doc_text, "\"name\":\"My Web_Server.1!\",\"hostname\":\"my-web-server-1.novalocal\""));
	assert_non_null(strstr(b->doc_text, "\"name\":\"web1.example\",\"hostname\":\"web1.example\""));
	mdr_defn_free(a);
	mdr_defn_free(b);
}

/* nova's utils.sanitize_hostname() and the compute API's fallback, values
 * from nova 26 itself: truncated to 63 characters before symbols are
 * dropped, Latin-1 letters kept (lower-cased), other characters dropped,
 * "Server-<uuid>" when nothing is left. */
static void test_hostname_derived_as_nova(void **state)
{
	static const struct {
		const char *name, *host;
	} cases[] = {
		{"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!abcdefgh", "abc"},
		{"Caf\303\251 \303\234n\303\257code \303\227 \302\275",
		 "caf\303\251-\303\274n\303\257code--\302\275"},
		{"\346\227\245\346\234\254", "Server-" UUID},
		{"\316\251mega_\303\200\303\236.\303\277\303\237",
		 "mega-\303\240\303\276-\303\277\303\237"},
	};
	char buf[512], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mdr_defn *d, *back;

		snprintf(buf, sizeof(buf), HEAD "\"name\":\"%s\",\"dhcp_domain\":\"\"}", cases[i].name);
		d = load(buf);
		snprintf(want, sizeof(want), "\"hostname\":\"%s\"", cases[i].host);
		if (!strstr(d->doc_text, want))
			fail_msg("case %zu: %s lacks %s", i, d->doc_text, want);
		/* the served hostname loads back as an explicit one */
		snprintf(buf, sizeof(buf), HEAD "\"hostname\":\"%s\"}", cases[i].host);
		back = load(buf);
		mdr_defn_free(back);
		mdr_defn_free(d);
	}
}

/* nova's object fields: MACAddressField and PCIAddressField lower-case;
 * dedicated_cpus come from a set (pcpuset): a duplicate is served once. */
static void test_nova_field_coercions(void **state)
{
	struct mdr_defn *d = load(HEAD "\"devices\":[{\"type\":\"nic\",\"bus\":\"pci\","
				  "\"address\":\"0000:0A:1F.0\",\"mac\":\"FA:16:3E:AB:CD:EF\",\"tags\":[\"x\"]},"
				  "{\"type\":\"disk\",\"bus\":\"scsi\",\"address\":\"0:0:0:0\"}],"
				  "\"dedicated_cpus\":[3,1,3,2,1]}");

	(void)state;
	assert_non_null(strstr(d->doc_text, "\"address\":\"0000:0a:1f.0\""));
	assert_non_null(strstr(d->doc_text, "\"mac\":\"fa:16:3e:ab:cd:ef\""));
	assert_non_null(strstr(d->doc_text, "\"dedicated_cpus\":[1,2,3]"));
	mdr_defn_free(d);
}

/* nova's _get_hostname(): the derived hostname + "." + [api] dhcp_domain
 * (default "novalocal", "" = none); an explicit hostname stays verbatim. */
static void test_dhcp_domain_suffix(void **state)
{
	struct mdr_defn *a = load(HEAD "\"name\":\"vm1\",\"dhcp_domain\":\"example.org\"}");
	struct mdr_defn *b = load(HEAD "\"name\":\"vm1\",\"dhcp_domain\":\"\"}");
	struct mdr_defn *c = load(HEAD "\"hostname\":\"vm1\",\"dhcp_domain\":\"example.org\"}");

	(void)state;
	assert_non_null(strstr(a->doc_text, "\"hostname\":\"vm1.example.org\",\"dhcp_domain\":\"example.org\""));
	assert_non_null(strstr(b->doc_text, "\"hostname\":\"vm1\",\"dhcp_domain\":\"\""));
	assert_non_null(strstr(c->doc_text, "\"hostname\":\"vm1\",\"dhcp_domain\""));
	mdr_defn_free(a);
	mdr_defn_free(b);
	mdr_defn_free(c);
}

static void test_limits_accepted_at_the_edge(void **state)
{
	char *j = malloc(128 * 1024);
	size_t o = (size_t)sprintf(j, HEAD "\"meta\":{");
	struct mdr_defn *d;

	(void)state;
	for (int i = 0; i < MDR_DEFN_MAX_META; i++)
		o += (size_t)sprintf(j + o, "%s\"k%d\":\"%0255d\"", i ? "," : "", i, 0);
	o += (size_t)sprintf(j + o, "},\"files\":[");
	for (int i = 0; i < MDR_MAX_FILES; i++)
		o += (size_t)sprintf(j + o, "%s{\"path\":\"/f%d\",\"content\":\"eA==\"}", i ? "," : "", i);
	strcpy(j + o, "],\"imds\":{\"hop_limit\":64,\"rate_pps\":10000000},\"binding\":{\"port\":\"abcdefghijklmno\",\"vlan\":4094}}");
	d = load(j);
	assert_int_equal(d->n_files, MDR_MAX_FILES);
	assert_int_equal(d->imds.hop_limit, 64);
	assert_int_equal(d->bindings[0].vlan, 4094);
	mdr_defn_free(d);
	free(j);
}

static void test_base64_whitespace_tolerated(void **state)
{
	struct mdr_defn *d = load(HEAD "\"user_data\":\"I2Nsb3Vk\\nLWNvbmZp\\r\\nZwo= \"}");

	(void)state;
	assert_int_equal(d->user_data_len, 14);
	assert_memory_equal(d->user_data, "#cloud-config\n", 14);
	mdr_defn_free(d);
}

static void test_doc_roundtrip_is_identity(void **state)
{
	const char *samples[] = {SAMPLE_MINIMAL, SAMPLE_FULL, SAMPLE_NO_KEYS, SAMPLE_NO_USER_DATA,
				 SAMPLE_UNICODE};
	char err[MDR_DEFN_ERR_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct mdr_defn *d = load(samples[i]), *d2 = NULL;

		if (mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)))
			fail_msg("sample %zu: doc rejected: %s", i, err);
		assert_string_equal(d2->doc_text, d->doc_text);
		assert_int_equal(d2->has_user_data, d->has_user_data);
		assert_int_equal(d2->user_data_len, d->user_data_len);
		assert_null(d2->user_data);
		assert_int_equal(d2->n_files, d->n_files);
		for (size_t f = 0; f < d->n_files; f++)
			assert_int_equal(d2->file_len[f], d->file_len[f]);
		assert_int_equal(d2->n_bindings, d->n_bindings);
		assert_memory_equal(d2->bindings, d->bindings, sizeof(d->bindings));
		assert_memory_equal(&d2->imds, &d->imds, sizeof(d->imds));
		mdr_defn_free(d);
		mdr_defn_free(d2);
	}
}

static void test_doc_rejects_contents(void **state)
{
	struct mdr_defn *d = NULL;
	char err[MDR_DEFN_ERR_SIZE];
	const char *doc = HEAD "\"user_data\":\"eA==\"}";

	(void)state;
	assert_int_equal(mdr_defn_from_doc(doc, strlen(doc), &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "user_data"));
	doc = HEAD "\"files\":[{\"path\":\"/x\",\"content\":\"eA==\"}]}";
	assert_int_equal(mdr_defn_from_doc(doc, strlen(doc), &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "files[0]: unknown field \"content\""));
}

static void test_to_json_roundtrip(void **state)
{
	const char *samples[] = {SAMPLE_MINIMAL, SAMPLE_FULL, SAMPLE_UNICODE};

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct mdr_defn *d = load(samples[i]), *d2;
		char *pretty = mdr_defn_to_json(d, 1);

		assert_non_null(pretty);
		d2 = load(pretty);
		assert_string_equal(d2->doc_text, d->doc_text);
		assert_int_equal(d2->user_data_len, d->user_data_len);
		if (d->user_data)
			assert_memory_equal(d2->user_data, d->user_data, d->user_data_len);
		for (size_t f = 0; f < d->n_files; f++)
			assert_memory_equal(d2->file[f], d->file[f], d->file_len[f]);
		free(pretty);
		mdr_defn_free(d);
		mdr_defn_free(d2);
	}
}

static void test_to_json_without_contents(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL), *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE], *j;

	(void)state;
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)), 0);
	j = mdr_defn_to_json(d2, 0);
	assert_non_null(strstr(j, "\"user_data_len\":28"));
	assert_non_null(strstr(j, "\"length\":10"));
	assert_null(strstr(j, "\"user_data\""));
	free(j);
	mdr_defn_free(d);
	mdr_defn_free(d2);
}

static void test_blobs(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL);
	struct mdr_blob b[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(mdr_defn_n_blobs(d), 4);
	assert_int_equal(mdr_defn_blobs(d, b, 3, &n), -EINVAL);
	assert_int_equal(mdr_defn_blobs(d, b, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_ptr_equal(b[MDR_BLOB_DOC].data, d->doc_text);
	assert_int_equal(b[MDR_BLOB_DOC].len, d->doc_len);
	assert_int_equal(b[MDR_BLOB_USER_DATA].len, 28);
	assert_memory_equal(b[MDR_BLOB_USER_DATA].data, "#cloud-config\n", 14);
	assert_int_equal(b[MDR_BLOB_FILE0 + 1].len, 5);
	assert_memory_equal(b[MDR_BLOB_FILE0 + 1].data, "hello", 5);
	mdr_defn_free(d);
}

static void test_set_blob_reattaches_contents(void **state)
{
	struct mdr_defn *d = load(SAMPLE_FULL), *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE], *j;

	(void)state;
	assert_int_equal(mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)), 0);
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_USER_DATA, "short", 5, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "5 bytes, the document records 28"));
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_FILE0 + 2, "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_DOC, "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_USER_DATA, d->user_data, 28, err, sizeof(err)), 0);
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_FILE0, d->file[0], 10, err, sizeof(err)), 0);
	assert_int_equal(mdr_defn_set_blob(d2, MDR_BLOB_FILE0 + 1, d->file[1], 5, err, sizeof(err)), 0);
	j = mdr_defn_to_json(d2, 1);
	mdr_defn_free(d2);
	d2 = load(j);
	assert_string_equal(d2->doc_text, d->doc_text);
	assert_memory_equal(d2->user_data, d->user_data, 28);
	free(j);
	mdr_defn_free(d);
	mdr_defn_free(d2);
}

static void test_override_keys_normalised(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	char err[MDR_DEFN_ERR_SIZE];

	(void)state;
	assert_int_equal(mdr_defn_set_override(d, "ec2//latest/meta-data/x/?q", "v", 1, err, sizeof(err)), 0);
	assert_non_null(strstr(d->doc_text, "\"overrides\":{\"/latest/meta-data/x\":\"dg==\"}"));
	assert_int_equal(mdr_defn_remove_path(d, "/latest/meta-data", err, sizeof(err)), 0);
	/* rm drops the overrides below the removed path */
	assert_non_null(strstr(d->doc_text, "\"overrides\":{\"/latest/meta-data\":null}"));
	mdr_defn_free(d);
}

static void test_override_errors(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	char err[MDR_DEFN_ERR_SIZE], *big = calloc(1, MDR_OVERRIDE_MAX + 1);
	char *before = strdup(d->doc_text);

	(void)state;
	assert_int_equal(mdr_defn_set_override(d, "/openstack/2013-04-04/password", "x", 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "password"));
	assert_int_equal(mdr_defn_set_override(d, "/", "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_override(d, "/openstack/", "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_override(d, "", "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_override(d, "/ec2/openstack/x", "x", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(mdr_defn_set_override(d, "/latest/x", big, MDR_OVERRIDE_MAX + 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "limit is 65535"));
	assert_int_equal(mdr_defn_remove_path(d, "/ec2", err, sizeof(err)), -EINVAL);
	assert_string_equal(d->doc_text, before); /* failures change nothing */
	free(big);
	free(before);
	mdr_defn_free(d);
}

static void test_override_limit(void **state)
{
	struct mdr_defn *d = load(SAMPLE_MINIMAL);
	char err[MDR_DEFN_ERR_SIZE], p[64];

	(void)state;
	for (int i = 0; i < MDR_MAX_OVERRIDES; i++) {
		snprintf(p, sizeof(p), "/latest/meta-data/k%d", i);
		assert_int_equal(mdr_defn_set_override(d, p, "v", 1, err, sizeof(err)), 0);
	}
	assert_int_equal(mdr_defn_set_override(d, "/latest/meta-data/one-more", "v", 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "limit of 256"));
	/* replacing an existing path is still fine */
	assert_int_equal(mdr_defn_set_override(d, "/latest/meta-data/k0", "w", 1, err, sizeof(err)), 0);
	mdr_defn_free(d);
}

static void test_b64_helpers(void **state)
{
	uint8_t *out;
	size_t n;
	char enc[16];

	(void)state;
	assert_int_equal(mdr_b64_encode("hello", 5, enc), 8);
	assert_string_equal(enc, "aGVsbG8=");
	assert_int_equal(mdr_b64_decode("aGVsbG8=", 8, 100, &out, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_int_equal(mdr_b64_decode("", 0, 100, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(mdr_b64_decode("aGVsbG8=", 8, 4, &out, &n), -E2BIG);
	assert_int_equal(mdr_b64_decode("aGVsbG8", 7, 100, &out, &n), -EINVAL);
	assert_int_equal(mdr_b64_decode("a===", 4, 100, &out, &n), -EINVAL);
	assert_int_equal(mdr_b64_decode("aG-s", 4, 100, &out, &n), -EINVAL);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_minimal_doc_has_defaults),
		cmocka_unit_test(test_full_fields_decoded),
		cmocka_unit_test(test_uuid_canonicalised),
		cmocka_unit_test(test_uuid_and_mac_helpers),
		cmocka_unit_test(test_null_means_absent),
		cmocka_unit_test(test_name_and_hostname_default_to_each_other),
		cmocka_unit_test(test_dhcp_domain_suffix),
		cmocka_unit_test(test_hostname_derived_as_nova),
		cmocka_unit_test(test_nova_field_coercions),
		cmocka_unit_test(test_meta_limit_in_characters),
		cmocka_unit_test(test_tokens_per_tree),
		cmocka_unit_test(test_limits_accepted_at_the_edge),
		cmocka_unit_test(test_base64_whitespace_tolerated),
		cmocka_unit_test(test_doc_roundtrip_is_identity),
		cmocka_unit_test(test_doc_rejects_contents),
		cmocka_unit_test(test_to_json_roundtrip),
		cmocka_unit_test(test_to_json_without_contents),
		cmocka_unit_test(test_blobs),
		cmocka_unit_test(test_set_blob_reattaches_contents),
		cmocka_unit_test(test_override_keys_normalised),
		cmocka_unit_test(test_override_errors),
		cmocka_unit_test(test_override_limit),
		cmocka_unit_test(test_b64_helpers),
	};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	size_t nb = sizeof(bad_cases) / sizeof(bad_cases[0]);
	struct CMUnitTest *all = calloc(nf + nb, sizeof(*all));
	char (*names)[96] = calloc(nb, sizeof(*names));
	int rc;

	memcpy(all, fixed, sizeof(fixed));
	for (size_t i = 0; i < nb; i++) {
		snprintf(names[i], sizeof(names[i]), "rejects %s", bad_cases[i].name);
		all[nf + i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_bad_case,
			.initial_state = (void *)&bad_cases[i],
		};
	}
	rc = _cmocka_run_group_tests("defn", all, nf + nb, NULL, NULL);
	free(all);
	free(names);
	return rc;
}
