// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * defn.c - instance definitions (see defn.h and docs/instance-definition.md).
 *
 * Both JSON forms go through one validator (struct pctx.doc_mode selects
 * which content fields are accepted). It builds the normalised doc in a
 * fixed key order with every default filled in, so that parsing a stored
 * doc gives back exactly the same doc.
 */
#include "defn.h"
#include "defn_int.h"
#include "err.h"
#include "mac.h"
#include "b64.h"
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Members of ec2.security_groups (AWS allows 5 per ENI; nova more). */
#define MDR_DEFN_MAX_SECGROUPS 256
/* ec2.block_device_mapping entries (virtio has at most 26+ disks). */
#define MDR_DEFN_MAX_BDM 256
/* Entries of "devices" (tagged NICs and disks of one server). */
#define MDR_DEFN_MAX_DEVICES 256
/* Tags of one device. */
#define MDR_DEFN_MAX_TAGS 64
/* Entries of "dedicated_cpus" and their largest value (CPU ids). */
#define MDR_DEFN_MAX_CPUS 4096
#define MDR_DEFN_MAX_CPU_ID 65535
/* launch_index is an int column in nova. */
#define MDR_DEFN_MAX_LAUNCH_INDEX 2147483647
/* imds.max_connections: the responder's connection table is u16-indexed. */
#define MDR_DEFN_MAX_CONNS 65535
/* imds.max_request: a metadata request is a few hundred bytes; 1 MiB
 * is far above any legitimate one. */
#define MDR_DEFN_MAX_REQUEST (1024 * 1024)
/* IEEE 802.1Q: VLAN ids 1..4094 (0 = untagged here). */
#define MDR_DEFN_MAX_VLAN 4094
/* IMDSv2 token PUT reply TTL (EC2: 1..64). */
#define MDR_DEFN_MAX_HOP_LIMIT 64

/* Validation context: where the error goes, which form we parse. */
int fail(struct pctx *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = mdr_verrf(c->err, c->errlen, -EINVAL, fmt, ap);
	va_end(ap);
	return r;
}

const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* ---- small validators ------------------------------------------------ */

int check_text(struct pctx *c, const char *path, const char *s, size_t len,
		      size_t max, unsigned flags)
{
	if (!len && !(flags & TXT_EMPTY_OK))
		return fail(c, "%s: must not be empty", path);
	if (flags & TXT_CHARS) {
		size_t nch = 0;

		for (size_t i = 0; i < len; i++)
			nch += ((unsigned char)s[i] & 0xc0) != 0x80;
		if (nch > max)
			return fail(c, "%s: %zu characters, the limit is %zu", path, nch, max);
	} else if (len > max) {
		return fail(c, "%s: %zu bytes, the limit is %zu", path, len, max);
	}
	for (size_t i = 0; i < len && !(flags & TXT_ANY); i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch == '\n' || ch == '\r') && (flags & TXT_NEWLINES_OK))
			continue;
		if (ch < 0x20 || ch == 0x7f)
			return fail(c, "%s: control character 0x%02x is not allowed", path, ch);
		if (ch == '/' && (flags & TXT_SEGMENT))
			return fail(c, "%s: '/' is not allowed (it is a path segment)", path);
	}
	if ((flags & TXT_SEGMENT) && (!strcmp(s, ".") || !strcmp(s, "..")))
		return fail(c, "%s: \"%s\" is not a valid path segment", path, s);
	return 0;
}

/* v must be a string; returns it or NULL after setting the error. */
const char *want_string(struct pctx *c, const char *path, const json_t *v,
			       size_t max, unsigned flags)
{
	if (!json_is_string(v)) {
		fail(c, "%s: expected a string, got %s", path, type_name(v));
		return NULL;
	}
	if (check_text(c, path, json_string_value(v), json_string_length(v), max, flags))
		return NULL;
	return json_string_value(v);
}

int want_int(struct pctx *c, const char *path, const json_t *v, long long lo,
		    long long hi, long long *out)
{
	if (!json_is_integer(v))
		return fail(c, "%s: expected an integer, got %s", path, type_name(v));
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return fail(c, "%s: %lld is out of range %lld..%lld", path, *out, lo, hi);
	return 0;
}

/* Optional member: absent and JSON null both mean "not given". */
json_t *opt(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* Every member of obj must be one of keys (NULL-terminated). */
int only_keys(struct pctx *c, const char *path, const json_t *obj,
		     const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		int ok = 0;

		for (size_t i = 0; keys[i]; i++)
			ok |= !strcmp(k, keys[i]);
		if (!ok) {
			if (path[0])
				return fail(c, "%s: unknown field \"%s\"", path, k);
			return fail(c, "unknown field \"%s\"", k);
		}
	}
	return 0;
}

int depth_ok(const json_t *v, int left)
{
	const char *k;
	json_t *x;

	if (left < 0)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
			if (!depth_ok(x, left - 1))
				return 0;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!depth_ok(json_array_get(v, i), left - 1))
				return 0;
	}
	return 1;
}

int mdr_uuid_canonical(const char *s, char out[MDR_UUID_SIZE])
{
	static const int dash_at[] = {8, 13, 18, 23};
	size_t len = strlen(s), o = 0, hex = 0;

	if (len != 36 && len != 32)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (ch != '-')
				return -EINVAL;
			continue;
		}
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -EINVAL;
		for (size_t j = 0; j < 4; j++)
			if ((size_t)dash_at[j] == o)
				out[o++] = '-';
		out[o++] = ch;
		hex++;
	}
	out[o] = '\0';
	return hex == 32 && o == 36 ? 0 : -1;
}

/* ---- sections -------------------------------------------------------- */

static int parse_public_keys(struct pctx *c, const json_t *v, json_t *nd)
{
	char path[MDR_DEFN_NAME_MAX + 32];
	const char *k;
	json_t *x, *out;

	if (!json_is_object(v))
		return fail(c, "public_keys: expected an object {name: key}, got %s", type_name(v));
	if (json_object_size(v) > MDR_DEFN_MAX_KEYS)
		return fail(c, "public_keys: %zu keys, the limit is %d", json_object_size(v),
			    MDR_DEFN_MAX_KEYS);
	out = json_object();
	json_object_set_new(nd, "public_keys", out);
	json_object_foreach((json_t *)v, k, x) {
		snprintf(path, sizeof(path), "public_keys.%.*s", MDR_DEFN_NAME_MAX, k);
		if (check_text(c, "public_keys (a key name)", k, strlen(k), MDR_DEFN_NAME_MAX, 0))
			return -EINVAL;
		if (!want_string(c, path, x, MDR_DEFN_KEY_MAX, TXT_NEWLINES_OK))
			return -EINVAL;
		json_object_set(out, k, x);
	}
	return 0;
}

static int parse_meta(struct pctx *c, const json_t *v, json_t *nd)
{
	char path[MDR_DEFN_META_MAX + 32];
	const char *k;
	json_t *x, *out;

	if (!json_is_object(v))
		return fail(c, "meta: expected an object {key: string}, got %s", type_name(v));
	if (json_object_size(v) > MDR_DEFN_MAX_META)
		return fail(c, "meta: %zu items, the limit is %d", json_object_size(v),
			    MDR_DEFN_MAX_META);
	out = json_object();
	json_object_set_new(nd, "meta", out);
	json_object_foreach((json_t *)v, k, x) {
		snprintf(path, sizeof(path), "meta.%.*s", MDR_DEFN_META_MAX, k);
		/* nova's API schema: 255 characters (maxLength), not bytes */
		if (check_text(c, "meta (a key)", k, strlen(k), MDR_DEFN_META_MAX, TXT_CHARS))
			return -EINVAL;
		if (!want_string(c, path, x, MDR_DEFN_META_MAX, TXT_EMPTY_OK | TXT_ANY | TXT_CHARS))
			return -EINVAL;
		json_object_set(out, k, x);
	}
	return 0;
}

/* "user_data" (definition) or "user_data_len" (doc). */
static int parse_user_data(struct pctx *c, const json_t *root, struct mdr_defn *d, json_t *nd)
{
	json_t *x;

	if (c->doc_mode) {
		long long n;

		if (json_object_get(root, "user_data"))
			return fail(c, "user_data: a stored document carries user_data_len, not contents");
		if (!(x = opt(root, "user_data_len")))
			return 0;
		if (want_int(c, "user_data_len", x, 0, MDR_USER_DATA_MAX, &n))
			return -EINVAL;
		d->has_user_data = 1;
		d->user_data_len = (size_t)n;
	} else {
		int r;

		if (!(x = opt(root, "user_data")))
			return 0;
		if (!json_is_string(x))
			return fail(c, "user_data: expected a base64 string, got %s", type_name(x));
		r = mdr_b64_decode(json_string_value(x), json_string_length(x), MDR_USER_DATA_MAX,
				   &d->user_data, &d->user_data_len);
		if (r == -E2BIG)
			return fail(c, "user_data: %zu bytes decoded, the limit is %d",
				    d->user_data_len, MDR_USER_DATA_MAX);
		if (r)
			return fail(c, "user_data: not valid base64");
		d->has_user_data = 1;
	}
	json_object_set_new(nd, "user_data_len", json_integer((json_int_t)d->user_data_len));
	return 0;
}

static int parse_files(struct pctx *c, const json_t *v, struct mdr_defn *d, json_t *nd)
{
	static const char *const def_keys[] = {"path", "content", NULL};
	static const char *const doc_keys[] = {"path", "length", NULL};
	char path[64];
	json_t *out;

	if (!json_is_array(v))
		return fail(c, "files: expected an array, got %s", type_name(v));
	if (json_array_size(v) > MDR_MAX_FILES)
		return fail(c, "files: %zu files, the limit is %d", json_array_size(v), MDR_MAX_FILES);
	out = json_array();
	json_object_set_new(nd, "files", out);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *f = json_array_get(v, i), *x, *nf;
		const char *p;

		snprintf(path, sizeof(path), "files[%zu]", i);
		if (!json_is_object(f))
			return fail(c, "%s: expected an object {path, content}, got %s", path,
				    type_name(f));
		if (only_keys(c, path, f, c->doc_mode ? doc_keys : def_keys))
			return -EINVAL;
		snprintf(path, sizeof(path), "files[%zu].path", i);
		if (!(x = opt(f, "path")))
			return fail(c, "%s: missing", path);
		if (!(p = want_string(c, path, x, MDR_DEFN_PATH_MAX, 0)))
			return -EINVAL;
		nf = json_object();
		json_array_append_new(out, nf);
		json_object_set_new(nf, "path", json_string(p));
		if (c->doc_mode) {
			long long n;

			snprintf(path, sizeof(path), "files[%zu].length", i);
			if (!(x = opt(f, "length")))
				return fail(c, "%s: missing", path);
			if (want_int(c, path, x, 0, MDR_FILE_MAX, &n))
				return -EINVAL;
			d->file_len[i] = (size_t)n;
		} else {
			int r;

			snprintf(path, sizeof(path), "files[%zu].content", i);
			if (!(x = opt(f, "content")))
				return fail(c, "%s: missing", path);
			if (!json_is_string(x))
				return fail(c, "%s: expected a base64 string, got %s", path,
					    type_name(x));
			r = mdr_b64_decode(json_string_value(x), json_string_length(x), MDR_FILE_MAX,
					   &d->file[i], &d->file_len[i]);
			if (r == -E2BIG)
				return fail(c, "%s: %zu bytes decoded, the limit is %d", path,
					    d->file_len[i], MDR_FILE_MAX);
			if (r)
				return fail(c, "%s: not valid base64", path);
		}
		json_object_set_new(nf, "length", json_integer((json_int_t)d->file_len[i]));
		d->n_files = i + 1;
	}
	return 0;
}

/* network_data, vendor_data, vendor_data2: free-form objects. */
static int parse_free_object(struct pctx *c, const json_t *root, const char *key, json_t *nd)
{
	json_t *x = opt(root, key);

	if (!x)
		return 0;
	if (!json_is_object(x))
		return fail(c, "%s: expected an object, got %s", key, type_name(x));
	if (!depth_ok(x, MDR_DEFN_MAX_DEPTH))
		return fail(c, "%s: nested deeper than %d levels", key, MDR_DEFN_MAX_DEPTH);
	json_object_set(nd, key, x);
	return 0;
}

int parse_string_list(struct pctx *c, const char *path, const json_t *v, size_t max_n,
			     size_t max_len, json_t **out)
{
	char p[96];

	if (!json_is_array(v))
		return fail(c, "%s: expected an array of strings, got %s", path, type_name(v));
	if (json_array_size(v) > max_n)
		return fail(c, "%s: %zu entries, the limit is %zu", path, json_array_size(v), max_n);
	*out = json_array();
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!want_string(c, p, x, max_len, 0)) {
			json_decref(*out);
			return -EINVAL;
		}
		json_array_append(*out, x);
	}
	return 0;
}

static int parse_devices(struct pctx *c, const json_t *v, json_t *nd)
{
	static const char *const nic_keys[] = {"type", "bus", "address", "tags", "mac", "vlan",
					       "vf_trusted", NULL};
	static const char *const disk_keys[] = {"type", "bus", "address", "tags", "serial",
						"path", NULL};
	static const char *const share_keys[] = {"type", "bus", "address", "tags", "share_id",
						 "tag", NULL};
	static const char *const buses[] = {"pci", "usb", "scsi", "ide", "xen", "none", NULL};
	char path[64], p2[96];
	json_t *out;

	if (!json_is_array(v))
		return fail(c, "devices: expected an array, got %s", type_name(v));
	if (json_array_size(v) > MDR_DEFN_MAX_DEVICES)
		return fail(c, "devices: %zu entries, the limit is %d", json_array_size(v),
			    MDR_DEFN_MAX_DEVICES);
	out = json_array();
	json_object_set_new(nd, "devices", out);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *dv = json_array_get(v, i), *x, *o;
		const char *type, *s;
		int ok = 0;

		snprintf(path, sizeof(path), "devices[%zu]", i);
		if (!json_is_object(dv))
			return fail(c, "%s: expected an object, got %s", path, type_name(dv));
		snprintf(p2, sizeof(p2), "%s.type", path);
		if (!(x = opt(dv, "type")))
			return fail(c, "%s: missing (\"nic\", \"disk\" or \"share\")", p2);
		if (!(type = want_string(c, p2, x, 16, 0)))
			return -EINVAL;
		if (!strcmp(type, "nic")) {
			if (only_keys(c, path, dv, nic_keys))
				return -EINVAL;
		} else if (!strcmp(type, "disk")) {
			if (only_keys(c, path, dv, disk_keys))
				return -EINVAL;
		} else if (!strcmp(type, "share")) {
			if (only_keys(c, path, dv, share_keys))
				return -EINVAL;
		} else {
			return fail(c, "%s: \"%s\" is not one of \"nic\", \"disk\", \"share\"", p2, type);
		}
		o = json_object();
		json_array_append_new(out, o);
		json_object_set_new(o, "type", json_string(type));
		snprintf(p2, sizeof(p2), "%s.bus", path);
		s = "none";
		if ((x = opt(dv, "bus")) && !(s = want_string(c, p2, x, 16, 0)))
			return -EINVAL;
		for (size_t b = 0; buses[b]; b++)
			ok |= !strcmp(s, buses[b]);
		if (!ok)
			return fail(c, "%s: \"%s\" is not one of pci, usb, scsi, ide, xen, none", p2, s);
		json_object_set_new(o, "bus", json_string(s));
		snprintf(p2, sizeof(p2), "%s.address", path);
		s = "none";
		if ((x = opt(dv, "address")) && !(s = want_string(c, p2, x, MDR_DEFN_NAME_MAX, 0)))
			return -EINVAL;
		if (!strcmp(json_string_value(json_object_get(o, "bus")), "pci")) {
			/* nova's PCIAddressField lower-cases the address */
			char low[MDR_DEFN_NAME_MAX + 1];
			size_t k;

			for (k = 0; s[k] && k < MDR_DEFN_NAME_MAX; k++)
				low[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (char)(s[k] - 'A' + 'a') : s[k];
			low[k] = '\0';
			json_object_set_new(o, "address", json_string(low));
		} else {
			json_object_set_new(o, "address", json_string(s));
		}
		if ((x = opt(dv, "tags"))) {
			json_t *tags;

			snprintf(p2, sizeof(p2), "%s.tags", path);
			if (parse_string_list(c, p2, x, MDR_DEFN_MAX_TAGS, MDR_DEFN_NAME_MAX, &tags))
				return -EINVAL;
			json_object_set_new(o, "tags", tags);
		}
		if (!strcmp(type, "nic")) {
			char mt[MDR_MAC_STRLEN];
			uint8_t mac[6];
			long long vlan;

			snprintf(p2, sizeof(p2), "%s.mac", path);
			if (!(x = opt(dv, "mac")))
				return fail(c, "%s: missing", p2);
			if (!(s = want_string(c, p2, x, 32, 0)))
				return -EINVAL;
			if (mdr_mac_parse(s, mac))
				return fail(c, "%s: \"%s\" is not a MAC address", p2, s);
			/* nova's MACAddressField: lower case, ':' separators */
			json_object_set_new(o, "mac", json_string(mdr_mac_fmt(mac, mt)));
			if ((x = opt(dv, "vlan"))) {
				snprintf(p2, sizeof(p2), "%s.vlan", path);
				if (want_int(c, p2, x, 1, MDR_DEFN_MAX_VLAN, &vlan))
					return -EINVAL;
				json_object_set_new(o, "vlan", json_integer(vlan));
			}
			if ((x = opt(dv, "vf_trusted"))) {
				snprintf(p2, sizeof(p2), "%s.vf_trusted", path);
				if (!json_is_boolean(x))
					return fail(c, "%s: expected a boolean, got %s", p2, type_name(x));
				json_object_set(o, "vf_trusted", x);
			}
		} else if (!strcmp(type, "disk")) {
			static const char *const opt_keys[] = {"serial", "path"};

			for (int k = 0; k < 2; k++) {
				if (!(x = opt(dv, opt_keys[k])))
					continue;
				snprintf(p2, sizeof(p2), "%s.%s", path, opt_keys[k]);
				if (!(s = want_string(c, p2, x, MDR_DEFN_PATH_MAX, TXT_EMPTY_OK)))
					return -EINVAL;
				json_object_set_new(o, opt_keys[k], json_string(s));
			}
		} else {
			static const char *const req_keys[] = {"share_id", "tag"};

			for (int k = 0; k < 2; k++) {
				snprintf(p2, sizeof(p2), "%s.%s", path, req_keys[k]);
				if (!(x = opt(dv, req_keys[k])))
					return fail(c, "%s: missing", p2);
				if (!(s = want_string(c, p2, x, MDR_DEFN_NAME_MAX, 0)))
					return -EINVAL;
				json_object_set_new(o, req_keys[k], json_string(s));
			}
		}
	}
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int parse_cpus(struct pctx *c, const json_t *v, json_t *nd)
{
	char path[48];
	long long *cpus;
	size_t n;
	json_t *out;

	if (!json_is_array(v))
		return fail(c, "dedicated_cpus: expected an array of integers, got %s", type_name(v));
	n = json_array_size(v);
	if (n > MDR_DEFN_MAX_CPUS)
		return fail(c, "dedicated_cpus: %zu entries, the limit is %d", n, MDR_DEFN_MAX_CPUS);
	cpus = calloc(n + 1, sizeof(*cpus));
	if (!cpus)
		return fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "dedicated_cpus[%zu]", i);
		if (want_int(c, path, json_array_get(v, i), 0, MDR_DEFN_MAX_CPU_ID, &cpus[i])) {
			free(cpus);
			return -EINVAL;
		}
	}
	/* nova serves sorted(chain(cell.pcpuset for cells)): pcpuset is a set,
	 * so a CPU listed twice is served once */
	qsort(cpus, n, sizeof(*cpus), cmp_ll);
	out = json_array();
	for (size_t i = 0; i < n; i++)
		if (!i || cpus[i] != cpus[i - 1])
			json_array_append_new(out, json_integer(cpus[i]));
	free(cpus);
	json_object_set_new(nd, "dedicated_cpus", out);
	return 0;
}

static int parse_ipv4(struct pctx *c, const char *path, const char *s)
{
	struct in_addr a;

	if (s[0] && inet_pton(AF_INET, s, &a) != 1)
		return fail(c, "%s: \"%s\" is not an IPv4 address", path, s);
	return 0;
}

/* One ec2 string member: given (validated), else dflt (NULL = leave out). */
static int ec2_str(struct pctx *c, const json_t *v, json_t *out, const char *key,
		   const char *dflt, int ipv4)
{
	char path[64];
	const json_t *x = v ? opt(v, key) : NULL;
	const char *s = dflt;

	snprintf(path, sizeof(path), "ec2.%s", key);
	if (x) {
		if (!(s = want_string(c, path, x, MDR_DEFN_NAME_MAX, TXT_EMPTY_OK)))
			return -EINVAL;
		if (ipv4 && parse_ipv4(c, path, s))
			return -EINVAL;
	}
	if (s)
		json_object_set_new(out, key, json_string(s));
	return 0;
}

static int parse_bdm(struct pctx *c, const json_t *x, json_t *out)
{
	char path[64];
	const char *k;
	json_t *y, *bdm;

	if (!x) {
		/* a KVM server booted from an image: nova's mapping for
		 * root_device_name /dev/vda */
		json_object_set_new(out, "block_device_mapping",
				    json_pack("{s:s,s:s}", "ami", "vda", "root", "/dev/vda"));
		return 0;
	}
	if (!json_is_object(x))
		return fail(c, "ec2.block_device_mapping: expected an object {name: device}, got %s",
			    type_name(x));
	if (json_object_size(x) > MDR_DEFN_MAX_BDM)
		return fail(c, "ec2.block_device_mapping: %zu entries, the limit is %d",
			    json_object_size(x), MDR_DEFN_MAX_BDM);
	bdm = json_object();
	json_object_set_new(out, "block_device_mapping", bdm);
	json_object_foreach((json_t *)x, k, y) {
		snprintf(path, sizeof(path), "ec2.block_device_mapping.%.24s", k);
		if (check_text(c, "ec2.block_device_mapping (a name)", k, strlen(k),
			       MDR_DEFN_NAME_MAX, TXT_SEGMENT))
			return -EINVAL;
		if (!want_string(c, path, y, MDR_DEFN_NAME_MAX, 0))
			return -EINVAL;
		json_object_set(bdm, k, y);
	}
	return 0;
}

static int parse_ec2(struct pctx *c, const json_t *v, const char *uuid, json_t *nd)
{
	static const char *const keys[] = {"instance_id", "ami_id", "instance_type", "local_ipv4",
					   "public_ipv4", "reservation_id", "security_groups",
					   "block_device_mapping", "kernel_id", "ramdisk_id",
					   "public_hostname", "local_hostname", "architecture",
					   "pending_time", NULL};
	char hex[33], iid[16], rid[16];
	json_t *out, *x, *sg;
	size_t h = 0;

	if (v && !json_is_object(v))
		return fail(c, "ec2: expected an object, got %s", type_name(v));
	if (v && only_keys(c, "ec2", v, keys))
		return -EINVAL;
	for (const char *p = uuid; *p && h < 32; p++)
		if (*p != '-')
			hex[h++] = *p;
	hex[h] = '\0';
	/* stable per-instance defaults shaped like nova's EC2 ids */
	snprintf(iid, sizeof(iid), "i-%.8s", hex);
	snprintf(rid, sizeof(rid), "r-%.8s", hex + 8);
	out = json_object();
	json_object_set_new(nd, "ec2", out);
	/* local_ipv4 absent: render serves the request's source address */
	if (ec2_str(c, v, out, "instance_id", iid, 0) ||
	    ec2_str(c, v, out, "ami_id", "ami-00000000", 0) ||
	    ec2_str(c, v, out, "instance_type", "", 0) ||
	    ec2_str(c, v, out, "local_ipv4", NULL, 1) ||
	    ec2_str(c, v, out, "public_ipv4", "", 1) ||
	    ec2_str(c, v, out, "reservation_id", rid, 0))
		return -EINVAL;
	if (v && (x = opt(v, "security_groups"))) {
		if (parse_string_list(c, "ec2.security_groups", x, MDR_DEFN_MAX_SECGROUPS,
				      MDR_DEFN_NAME_MAX, &sg))
			return -EINVAL;
	} else {
		sg = json_array();
	}
	json_object_set_new(out, "security_groups", sg);
	if (parse_bdm(c, v ? opt(v, "block_device_mapping") : NULL, out))
		return -EINVAL;
	return ec2_str(c, v, out, "kernel_id", NULL, 0) ||
	       ec2_str(c, v, out, "ramdisk_id", NULL, 0) ||
	       ec2_str(c, v, out, "public_hostname", NULL, 0) ||
	       ec2_str(c, v, out, "local_hostname", NULL, 0) ||
	       ec2_str(c, v, out, "architecture", NULL, 0) ||
	       ec2_str(c, v, out, "pending_time", NULL, 0) ? -1 : 0;
}

/* "optional" / "required" into *mode; x NULL leaves it. 0 or -EINVAL. */
static int tokens_mode(struct pctx *c, const char *path, const json_t *x,
		       enum mdr_tokens_mode *mode)
{
	const char *s;

	if (!x)
		return 0;
	if (!(s = want_string(c, path, x, 16, 0)))
		return -EINVAL;
	if (!strcmp(s, "required"))
		*mode = MDR_TOKENS_REQUIRED;
	else if (!strcmp(s, "optional"))
		*mode = MDR_TOKENS_OPTIONAL;
	else
		return fail(c, "%s: \"%s\" is not \"optional\" or \"required\"", path, s);
	return 0;
}

static const char *tokens_name(enum mdr_tokens_mode m)
{
	return m == MDR_TOKENS_REQUIRED ? "required" : "optional";
}

static int parse_imds(struct pctx *c, const json_t *v, struct mdr_defn *d, json_t *nd)
{
	static const char *const keys[] = {"tokens", "hop_limit", "rate_pps", "burst",
					   "max_connections", "max_request", NULL};
	json_t *x, *out;
	long long n;

	d->imds.tokens = MDR_TOKENS_OPTIONAL;
	d->imds.hop_limit = 1;
	if (v && !json_is_object(v))
		return fail(c, "imds: expected an object, got %s", type_name(v));
	if (v && only_keys(c, "imds", v, keys))
		return -EINVAL;
	d->imds.tokens_openstack = MDR_TOKENS_OPTIONAL;
	/* "tokens": "<mode>" (the EC2 tree; today's form) or
	 * {"ec2": "<mode>", "openstack": "<mode>"} */
	if (v && (x = opt(v, "tokens"))) {
		static const char *const trees[] = {"ec2", "openstack", NULL};

		if (json_is_object(x)) {
			if (only_keys(c, "imds.tokens", x, trees) ||
			    tokens_mode(c, "imds.tokens.ec2", opt(x, "ec2"), &d->imds.tokens) ||
			    tokens_mode(c, "imds.tokens.openstack", opt(x, "openstack"),
					&d->imds.tokens_openstack))
				return -EINVAL;
		} else if (tokens_mode(c, "imds.tokens", x, &d->imds.tokens)) {
			return -EINVAL;
		}
	}
	if (v && (x = opt(v, "hop_limit"))) {
		if (want_int(c, "imds.hop_limit", x, 1, MDR_DEFN_MAX_HOP_LIMIT, &n))
			return -EINVAL;
		d->imds.hop_limit = (uint8_t)n;
	}
	if (v && (x = opt(v, "rate_pps"))) {
		if (want_int(c, "imds.rate_pps", x, 0, MDR_MAX_RATE_PPS, &n))
			return -EINVAL;
		d->imds.rate_pps = (uint32_t)n;
	}
	if (v && (x = opt(v, "burst"))) {
		if (want_int(c, "imds.burst", x, 0, MDR_MAX_RATE_PPS, &n))
			return -EINVAL;
		d->imds.burst = (uint32_t)n;
	}
	if (v && (x = opt(v, "max_connections"))) {
		if (want_int(c, "imds.max_connections", x, 0, MDR_DEFN_MAX_CONNS, &n))
			return -EINVAL;
		d->imds.max_connections = (uint32_t)n;
	}
	if (v && (x = opt(v, "max_request"))) {
		if (want_int(c, "imds.max_request", x, 0, MDR_DEFN_MAX_REQUEST, &n))
			return -EINVAL;
		d->imds.max_request = (uint32_t)n;
	}
	out = json_object();
	/* stored as today's string unless /openstack differs from the default */
	if (d->imds.tokens_openstack == MDR_TOKENS_OPTIONAL)
		json_object_set_new(out, "tokens", json_string(tokens_name(d->imds.tokens)));
	else
		json_object_set_new(out, "tokens",
				    json_pack("{s:s,s:s}", "ec2", tokens_name(d->imds.tokens),
					      "openstack", tokens_name(d->imds.tokens_openstack)));
	json_object_set_new(out, "hop_limit", json_integer(d->imds.hop_limit));
	json_object_set_new(out, "rate_pps", json_integer(d->imds.rate_pps));
	json_object_set_new(out, "burst", json_integer(d->imds.burst));
	json_object_set_new(out, "max_connections", json_integer(d->imds.max_connections));
	json_object_set_new(out, "max_request", json_integer(d->imds.max_request));
	json_object_set_new(nd, "imds", out);
	return 0;
}

/* Whether path p starts with the whole segment seg ("/ec2" or "/ec2/..."). */
static int starts_segment(const char *p, const char *seg)
{
	size_t n = strlen(seg);

	return !strncmp(p, seg, n) && (!p[n] || p[n] == '/');
}

/* Canonical override key for a guest path: normalised, "ec2/" dropped.
 * Returns 0 or -1 with a message. */
static int override_key(struct pctx *c, const char *path, char *key, size_t keylen)
{
	char norm[MDR_PATH_MAX], again[MDR_PATH_MAX];
	const char *rest;
	json_t *utf8;

	if (!path || !path[0])
		return fail(c, "path: must not be empty");
	if (mdr_path_normalize(path, norm, sizeof(norm)))
		return fail(c, "path \"%.64s\": longer than %d bytes or contains NUL", path,
			    MDR_PATH_MAX - 1);
	rest = norm;
	if (starts_segment(norm, "/ec2"))
		rest = norm[4] ? norm + 4 : "/";
	/* "/ec2/openstack/..." and "/ec2/ec2/..." name no EC2 version (and
	 * the second would lose its "/ec2" again when loaded back: fuzz_defn) */
	if (rest != norm && (starts_segment(rest, "/openstack") || starts_segment(rest, "/ec2")))
		return fail(c, "path \"%s\": no such EC2 version", path);
	if (!strcmp(rest, "/") || !strcmp(rest, "/openstack"))
		return fail(c, "path \"%s\": the version listings cannot be changed", path);
	for (const unsigned char *q = (const unsigned char *)rest; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			return fail(c, "path: control character 0x%02x is not allowed", *q);
	/* The key is stored decoded and normalised again when the definition
	 * is loaded back: that must give the key itself. A decoded '%' before
	 * two hex digits, '?' or '#' would not (found by fuzz_defn). */
	if (mdr_path_normalize(rest, again, sizeof(again)) || strcmp(again, rest))
		return fail(c, "path \"%.64s\": decodes to a path holding '%%', '?' or '#', "
			    "which cannot be stored", path);
	utf8 = json_string(rest); /* jansson accepts valid UTF-8 only */
	if (!utf8)
		return fail(c, "path \"%.64s\": not valid UTF-8", path);
	json_decref(utf8);
	snprintf(key, keylen, "%s", rest);
	return 0;
}

/* "/openstack/<anything>/password" */
static int is_password_key(const char *key)
{
	const char *p;

	if (strncmp(key, "/openstack/", 11))
		return 0;
	p = strchr(key + 11, '/');
	return p && !strcmp(p, "/password");
}

static int parse_overrides(struct pctx *c, const json_t *v, json_t *nd)
{
	char key[MDR_PATH_MAX], path[MDR_PATH_MAX + 32];
	const char *k;
	json_t *x, *out;

	if (!json_is_object(v))
		return fail(c, "overrides: expected an object {path: base64 | null}, got %s",
			    type_name(v));
	if (json_object_size(v) > MDR_MAX_OVERRIDES)
		return fail(c, "overrides: %zu entries, the limit is %d", json_object_size(v),
			    MDR_MAX_OVERRIDES);
	out = json_object();
	json_object_set_new(nd, "overrides", out);
	json_object_foreach((json_t *)v, k, x) {
		uint8_t *body;
		size_t blen;
		int r;

		snprintf(path, sizeof(path), "overrides.%s", k);
		if (override_key(c, k, key, sizeof(key)))
			return -EINVAL;
		if (json_object_get(out, key))
			return fail(c, "%s: the same path as another entry", path);
		if (json_is_null(x)) {
			json_object_set_new(out, key, json_null());
			continue;
		}
		if (is_password_key(key))
			return fail(c, "%s: the password is written by the guest only", path);
		if (!json_is_string(x))
			return fail(c, "%s: expected a base64 string or null, got %s", path,
				    type_name(x));
		r = mdr_b64_decode(json_string_value(x), json_string_length(x), MDR_OVERRIDE_MAX,
				   &body, &blen);
		if (r)
			return fail(c, "%s: %s", path, r == -E2BIG ? "body too large" : "not valid base64");
		free(body);
		json_object_set(out, key, x);
	}
	return 0;
}

/* Length of a derived hostname, in characters (nova: dnsmasq's limit). */
#define HOSTNAME_MAX_CHARS 63

/* Python's \w over U+0000..U+00FF (str.isalnum() or '_'). */
static int latin1_word(unsigned cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || cp == '_';
	return cp == 0xaa || cp == 0xb2 || cp == 0xb3 || cp == 0xb5 || cp == 0xb9 ||
	       cp == 0xba || (cp >= 0xbc && cp <= 0xbe) ||
	       (cp >= 0xc0 && cp <= 0xff && cp != 0xd7 && cp != 0xf7);
}

/* One code point of valid UTF-8 (jansson checked it) at *p; advances. */
static unsigned utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned cp;
	int n;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	n = s[0] >= 0xf0 ? 3 : s[0] >= 0xe0 ? 2 : 1;
	cp = s[0] & (0x3fu >> n);
	for (int i = 1; i <= n && s[i]; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	for (int i = 0; i <= n && *s; i++)
		s++;
	*p = s;
	return cp;
}

/* nova's utils.sanitize_hostname(): characters beyond Latin-1 dropped,
 * truncated to 63 characters, [ _.] -> '-', other non-word characters
 * dropped (Latin-1 letters stay), lower case, '.' and '-' stripped at both
 * ends. out (UTF-8) holds 2 * HOSTNAME_MAX_CHARS + 1 bytes. */
static void sanitize_hostname(const char *in, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, nch = 0, lead;

	while (*p && nch < HOSTNAME_MAX_CHARS) {
		unsigned cp = utf8_next(&p);

		if (cp > 0xff)
			continue;
		nch++;
		if (cp == ' ' || cp == '_' || cp == '.')
			cp = '-';
		if (cp != '-' && !latin1_word(cp))
			continue;
		if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xc0 && cp <= 0xde && cp != 0xd7))
			cp += 0x20;
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	out[o] = '\0';
	while (o && out[o - 1] == '-')
		out[--o] = '\0';
	lead = strspn(out, "-");
	memmove(out, out + lead, strlen(out + lead) + 1);
}

/* ASCII letters, digits, '.', '-', '_', and the Latin-1 letters a derived
 * hostname may keep (so `instance show -j` output loads back). */
static int valid_hostname(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp = utf8_next(&p);

		if (!latin1_word(cp) && cp != '-' && cp != '.')
			return 0;
	}
	return 1;
}

static int refresh_doc_text(struct pctx *c, struct mdr_defn *d)
{
	json_t *ov = json_object_get(d->doc, "overrides");
	size_t n;
	char *t;

	if (ov && !json_object_size(ov)) /* parsing drops an empty one too */
		json_object_del(d->doc, "overrides");
	t = json_dumps(d->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!t)
		return fail(c, "out of memory");
	n = strlen(t);
	if (n > MDR_DOC_MAX) {
		free(t);
		return fail(c, "the stored document would be %zu bytes, the limit is %d "
			    "(public_keys, meta, network_data, vendor_data, overrides...)",
			    n, MDR_DOC_MAX);
	}
	free(d->doc_text);
	d->doc_text = t;
	d->doc_len = n;
	return 0;
}

static const char *const top_keys_def[] = {
	"uuid", "name", "hostname", "dhcp_domain", "availability_zone", "availability_zone_id",
	"region", "project_id", "launch_index",
	"binding", "bindings", "public_keys", "meta", "user_data", "files", "network_data", "vendor_data",
	"vendor_data2", "devices", "dedicated_cpus", "ec2", "imds", MDR_DEFN_AWS_KEYS,
	"overrides", NULL};
static const char *const top_keys_doc[] = {
	"uuid", "name", "hostname", "dhcp_domain", "availability_zone", "availability_zone_id",
	"region", "project_id", "launch_index",
	"binding", "bindings", "public_keys", "meta", "user_data_len", "files", "network_data",
	"vendor_data", "vendor_data2", "devices", "dedicated_cpus", "ec2", "imds",
	MDR_DEFN_AWS_KEYS, "overrides", NULL};

static int build(struct pctx *c, const json_t *root, struct mdr_defn *d)
{
	char name_buf[64], host_buf[2 * HOSTNAME_MAX_CHARS + 1 + MDR_DEFN_NAME_MAX + 1];
	const char *s, *name, *host, *domain = MDR_DEFN_DHCP_DOMAIN;
	json_t *x, *nd;
	long long n = 0;

	if (!json_is_object(root))
		return fail(c, "the definition must be a JSON object, got %s", type_name(root));
	if (c->doc_mode && json_object_get(root, "user_data"))
		return fail(c, "user_data: a stored document carries user_data_len, not contents");
	if (only_keys(c, "", root, c->doc_mode ? top_keys_doc : top_keys_def))
		return -EINVAL;
	nd = json_object();
	d->doc = nd;

	/* uuid */
	if (!(x = opt(root, "uuid")))
		return fail(c, "uuid: missing (required)");
	if (!(s = want_string(c, "uuid", x, 64, 0)))
		return -EINVAL;
	if (mdr_uuid_canonical(s, d->uuid))
		return fail(c, "uuid: \"%s\" is not a UUID (8-4-4-4-12 hex digits)", s);
	json_object_set_new(nd, "uuid", json_string(d->uuid));

	/* name and hostname default to each other, like a nova server whose
	 * hostname is the sanitised display name */
	name = host = NULL;
	if ((x = opt(root, "name")) &&
	    !(name = want_string(c, "name", x, MDR_DEFN_NAME_MAX, TXT_EMPTY_OK)))
		return -EINVAL;
	if ((x = opt(root, "hostname"))) {
		if (!(host = want_string(c, "hostname", x, MDR_DEFN_NAME_MAX, 0)))
			return -EINVAL;
		if (!valid_hostname(host))
			return fail(c, "hostname: \"%s\" has a character other than letters, "
				    "digits, '.', '-', '_'", host);
	}
	if (!name) {
		if (host) {
			name = host;
		} else {
			snprintf(name_buf, sizeof(name_buf), "Server-%s", d->uuid);
			name = name_buf;
		}
	}
	/* nova's _get_hostname(): instance.hostname + "." + CONF.api.dhcp_domain
	 * (default "novalocal"; unset: no suffix). An explicit hostname is the
	 * name served, verbatim. */
	if ((x = opt(root, "dhcp_domain"))) {
		if (!(domain = want_string(c, "dhcp_domain", x, MDR_DEFN_NAME_MAX, TXT_EMPTY_OK)))
			return -EINVAL;
		if (!valid_hostname(domain))
			return fail(c, "dhcp_domain: \"%s\" has a character other than letters, "
				    "digits, '.', '-', '_'", domain);
	}
	if (!host) {
		sanitize_hostname(name, host_buf);
		if (!host_buf[0]) /* nova's compute API: f'Server-{instance.uuid}' */
			snprintf(host_buf, sizeof(host_buf), "Server-%s", d->uuid);
		if (domain[0] && strlen(host_buf) + 1 + strlen(domain) <= MDR_DEFN_NAME_MAX) {
			size_t hl = strlen(host_buf);

			host_buf[hl] = '.';
			memcpy(host_buf + hl + 1, domain, strlen(domain) + 1);
		} else if (domain[0]) {
			return fail(c, "dhcp_domain: \"%s\" makes the hostname longer than %d bytes",
				    domain, MDR_DEFN_NAME_MAX);
		}
		host = host_buf;
	}
	json_object_set_new(nd, "name", json_string(name));
	json_object_set_new(nd, "hostname", json_string(host));
	if (opt(root, "dhcp_domain"))
		json_object_set_new(nd, "dhcp_domain", json_string(domain));

	s = "nova"; /* nova's default_availability_zone */
	if ((x = opt(root, "availability_zone")) &&
	    !(s = want_string(c, "availability_zone", x, MDR_DEFN_NAME_MAX, TXT_EMPTY_OK)))
		return -EINVAL;
	json_object_set_new(nd, "availability_zone", json_string(s));
	/* EC2 placement/availability-zone-id and placement/region: stored
	 * when given, render applies the defaults (the zone; MDR_DEFN_REGION) */
	if ((x = opt(root, "availability_zone_id"))) {
		if (!(s = want_string(c, "availability_zone_id", x, MDR_DEFN_NAME_MAX, 0)))
			return -EINVAL;
		json_object_set_new(nd, "availability_zone_id", json_string(s));
	}
	if ((x = opt(root, "region"))) {
		if (!(s = want_string(c, "region", x, MDR_DEFN_NAME_MAX, 0)))
			return -EINVAL;
		json_object_set_new(nd, "region", json_string(s));
	}
	s = "";
	if ((x = opt(root, "project_id")) &&
	    !(s = want_string(c, "project_id", x, MDR_DEFN_NAME_MAX, TXT_EMPTY_OK)))
		return -EINVAL;
	json_object_set_new(nd, "project_id", json_string(s));
	if ((x = opt(root, "launch_index")) &&
	    want_int(c, "launch_index", x, 0, MDR_DEFN_MAX_LAUNCH_INDEX, &n))
		return -EINVAL;
	json_object_set_new(nd, "launch_index", json_integer(n));

	if (mdr_nics_parse_bindings(c, root, d, nd))
		return -EINVAL;
	if ((x = opt(root, "public_keys")) && parse_public_keys(c, x, nd))
		return -EINVAL;
	if ((x = opt(root, "meta")) && parse_meta(c, x, nd))
		return -EINVAL;
	if (parse_user_data(c, root, d, nd))
		return -EINVAL;
	if ((x = opt(root, "files")) && parse_files(c, x, d, nd))
		return -EINVAL;
	if (mdr_nics_parse_network_data(c, root, nd) ||
	    parse_free_object(c, root, "vendor_data", nd) ||
	    parse_free_object(c, root, "vendor_data2", nd))
		return -EINVAL;
	if ((x = opt(root, "devices")) && parse_devices(c, x, nd))
		return -EINVAL;
	if ((x = opt(root, "dedicated_cpus")) && parse_cpus(c, x, nd))
		return -EINVAL;
	if (parse_ec2(c, opt(root, "ec2"), d->uuid, nd))
		return -EINVAL;
	if (parse_imds(c, opt(root, "imds"), d, nd))
		return -EINVAL;
	if (mdr_defn_aws_parse(c, root, nd))
		return -EINVAL;
	if ((x = opt(root, "overrides")) && json_object_size(x) && parse_overrides(c, x, nd))
		return -EINVAL;
	if (x && !json_is_object(x))
		return fail(c, "overrides: expected an object, got %s", type_name(x));
	return refresh_doc_text(c, d);
}

static int parse_common(const char *text, size_t len, int doc_mode, struct mdr_defn **out,
			char *err, size_t errlen)
{
	struct pctx c = {.err = err, .errlen = errlen, .doc_mode = doc_mode};
	struct mdr_defn *d;
	json_error_t je;
	json_t *root;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!text)
		return fail(&c, "no definition");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(&c, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
	d = calloc(1, sizeof(*d));
	if (!d) {
		json_decref(root);
		return fail(&c, "out of memory");
	}
	if (build(&c, root, d)) {
		json_decref(root);
		mdr_defn_free(d);
		return -EINVAL;
	}
	json_decref(root);
	*out = d;
	return 0;
}

int mdr_defn_parse(const char *json, size_t len, struct mdr_defn **out, char *err,
		   size_t errlen)
{
	return parse_common(json, len, 0, out, err, errlen);
}

int mdr_defn_from_doc(const char *doc, size_t len, struct mdr_defn **out, char *err,
		      size_t errlen)
{
	return parse_common(doc, len, 1, out, err, errlen);
}

void mdr_defn_free(struct mdr_defn *d)
{
	if (!d)
		return;
	free(d->user_data);
	for (size_t i = 0; i < MDR_MAX_FILES; i++)
		free(d->file[i]);
	json_decref(d->doc);
	free(d->doc_text);
	free(d);
}

size_t mdr_defn_n_blobs(const struct mdr_defn *d)
{
	return MDR_BLOB_FILE0 + d->n_files;
}

int mdr_defn_blobs(const struct mdr_defn *d, struct mdr_blob *blobs, size_t max, size_t *n)
{
	size_t need = mdr_defn_n_blobs(d);

	if (max < need)
		return -EINVAL;
	blobs[MDR_BLOB_DOC] = (struct mdr_blob){d->doc_text, d->doc_len};
	blobs[MDR_BLOB_USER_DATA] = (struct mdr_blob){d->user_data, d->has_user_data ? d->user_data_len : 0};
	for (size_t i = 0; i < d->n_files; i++)
		blobs[MDR_BLOB_FILE0 + i] = (struct mdr_blob){d->file[i], d->file_len[i]};
	*n = need;
	return 0;
}

int mdr_defn_set_blob(struct mdr_defn *d, unsigned blob, const void *data, size_t len,
		      char *err, size_t errlen)
{
	struct pctx c = {.err = err, .errlen = errlen};
	uint8_t **slot;
	size_t want;

	if (blob == MDR_BLOB_USER_DATA) {
		if (!d->has_user_data)
			return fail(&c, "the instance has no user data");
		slot = &d->user_data;
		want = d->user_data_len;
	} else if (blob >= MDR_BLOB_FILE0 && blob - MDR_BLOB_FILE0 < d->n_files) {
		slot = &d->file[blob - MDR_BLOB_FILE0];
		want = d->file_len[blob - MDR_BLOB_FILE0];
	} else {
		return fail(&c, "blob %u: no such content blob", blob);
	}
	if (len != want)
		return fail(&c, "blob %u: %zu bytes, the document records %zu", blob, len, want);
	if (len && !data)
		return fail(&c, "blob %u: no data", blob);
	free(*slot);
	*slot = malloc(len + 1);
	if (!*slot)
		return fail(&c, "out of memory");
	if (len)
		memcpy(*slot, data, len);
	return 0;
}

char *mdr_defn_to_json(const struct mdr_defn *d, int pretty)
{
	json_t *out = json_object(), *x;
	const char *k;
	char *text;

	if (!out)
		return NULL;
	json_object_foreach(d->doc, k, x) {
		if (!strcmp(k, "user_data_len") && d->user_data) {
			char *b = mdr_b64_encode_alloc(d->user_data, d->user_data_len);
			if (!b) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, "user_data", json_string(b));
			free(b);
		} else if (!strcmp(k, "files")) {
			json_t *files = json_array();

			for (size_t i = 0; i < json_array_size(x); i++) {
				json_t *f = json_deep_copy(json_array_get(x, i));

				if (d->file[i]) {
					char *b = mdr_b64_encode_alloc(d->file[i], d->file_len[i]);

					if (!b) {
						json_decref(f);
						json_decref(files);
						json_decref(out);
						return NULL;
					}
					json_object_del(f, "length");
					json_object_set_new(f, "content", json_string(b));
					free(b);
				}
				json_array_append_new(files, f);
			}
			json_object_set_new(out, "files", files);
		} else {
			json_object_set(out, k, x);
		}
	}
	text = json_dumps(out, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
	json_decref(out);
	return text;
}

int mdr_defn_set_override(struct mdr_defn *d, const char *path, const void *body, size_t len,
			  char *err, size_t errlen)
{
	struct pctx c = {.err = err, .errlen = errlen};
	char key[MDR_PATH_MAX];
	json_t *ov, *saved;
	char *b;

	if (override_key(&c, path, key, sizeof(key)))
		return -EINVAL;
	if (is_password_key(key))
		return fail(&c, "path \"%s\": the password is written by the guest only", path);
	if (len > MDR_OVERRIDE_MAX)
		return fail(&c, "body: %zu bytes, the limit is %d", len, MDR_OVERRIDE_MAX);
	if (len && !body)
		return fail(&c, "body: no data");
	ov = json_object_get(d->doc, "overrides");
	if (!ov) {
		ov = json_object();
		json_object_set_new(d->doc, "overrides", ov);
	}
	if (!json_object_get(ov, key) && json_object_size(ov) >= MDR_MAX_OVERRIDES)
		return fail(&c, "overrides: the limit of %d paths is reached", MDR_MAX_OVERRIDES);
	saved = json_deep_copy(ov);
	b = mdr_b64_encode_alloc(body ? body : "", len);
	if (!b || !saved) {
		free(b);
		json_decref(saved);
		return fail(&c, "out of memory");
	}
	if (json_object_set_new(ov, key, json_string(b))) {
		free(b);
		json_object_set_new(d->doc, "overrides", saved);
		return fail(&c, "out of memory");
	}
	free(b);
	if (refresh_doc_text(&c, d)) {
		json_object_set_new(d->doc, "overrides", saved);
		return -EINVAL;
	}
	json_decref(saved);
	return 0;
}

int mdr_defn_remove_path(struct mdr_defn *d, const char *path, char *err, size_t errlen)
{
	struct pctx c = {.err = err, .errlen = errlen};
	char key[MDR_PATH_MAX];
	json_t *ov, *saved, *nov, *x;
	const char *k;
	size_t kl;

	if (override_key(&c, path, key, sizeof(key)))
		return -EINVAL;
	kl = strlen(key);
	ov = json_object_get(d->doc, "overrides");
	saved = ov ? json_incref(ov) : NULL;
	/* Drop everything at or below the path (a removed subtree has no
	 * overrides left), then mark the path removed. */
	nov = json_object();
	if (ov) {
		json_object_foreach(ov, k, x) {
			if (!strncmp(k, key, kl) && (k[kl] == '\0' || k[kl] == '/'))
				continue;
			json_object_set(nov, k, x);
		}
	}
	if (json_object_size(nov) >= MDR_MAX_OVERRIDES) {
		json_decref(nov);
		json_decref(saved);
		return fail(&c, "overrides: the limit of %d paths is reached", MDR_MAX_OVERRIDES);
	}
	json_object_set_new(nov, key, json_null());
	json_object_set_new(d->doc, "overrides", nov);
	if (refresh_doc_text(&c, d)) {
		if (saved)
			json_object_set_new(d->doc, "overrides", saved);
		else
			json_object_del(d->doc, "overrides");
		return -EINVAL;
	}
	json_decref(saved);
	return 0;
}
