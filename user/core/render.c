// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * render.c - the nova/EC2 metadata tree of one instance (see render.h).
 *
 * The EC2 tree is built per request as a jansson value shaped exactly like
 * nova's get_ec2_metadata() dict, then walked and printed with nova's
 * find_path_in_tree() / ec2_md_print() rules, so listings (sorted keys,
 * "key/" for directories, "0=name" for public keys) come out the same by
 * construction. The OpenStack tree is a handful of fixed routes.
 * Overrides (mdrctl put/rm) are applied last, over the rendered node.
 */
#include "render.h"
#include "aws.h"

#include <errno.h>
#include "b64.h"
#include "nics.h"
#include "pyjson.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Path segments of a normalised path (each at least 1 byte + '/'). */
#define MDR_PATH_MAX_SEGS (MDR_PATH_MAX / 2)

const char *const mdr_ec2_versions[] = {
	"1.0",        "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
	"2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04",
};
const size_t mdr_n_ec2_versions = sizeof(mdr_ec2_versions) / sizeof(mdr_ec2_versions[0]);

/* Dated EC2 versions nova lacks that real agents ask for: cloud-init's Ec2
 * datasource probes 2021-03-23, 2018-09-24, 2016-09-02; afterburn reads
 * 2019-10-01. "latest" is the newest of them on the wire. */
const char *const mdr_ec2_aws_versions[] = {
	"2016-09-02", "2018-09-24", "2019-10-01", "2021-03-23",
};
const size_t mdr_n_ec2_aws_versions =
	sizeof(mdr_ec2_aws_versions) / sizeof(mdr_ec2_aws_versions[0]);

const char *const mdr_openstack_versions[] = {
	"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
	"2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "2025-04-04",
};
const size_t mdr_n_openstack_versions =
	sizeof(mdr_openstack_versions) / sizeof(mdr_openstack_versions[0]);

/* nova's newest EC2 version: "latest" on a config drive. */
#define EC2_NOVA_LATEST "2009-04-04"
/* First version mdr adds beyond nova's: what only mdr serves starts here,
 * so nova's nine versions stay byte-identical to nova's. */
#define EC2_FIRST_AWS "2016-09-02"
/* AWS's "version introduced" of the categories mdr adds. */
#define EC2_SINCE_AZ_ID "2019-10-01"
#define EC2_SINCE_REGION "2020-08-24"
/* The "version" an EC2 identity document carries (the format's date). */
#define MDR_IDENTITY_DOC_VERSION "2017-09-30"
enum { OS_FOLSOM, OS_GRIZZLY, OS_HAVANA, OS_LIBERTY, OS_NEWTON_ONE, OS_NEWTON_TWO, OS_OCATA,
       OS_ROCKY, OS_VICTORIA, OS_EPOXY };

/* webob's plain-text body of HTTPNotFound, as nova sends it. */
static const char body_404[] = "404 Not Found\n\nThe resource could not be found.\n\n   ";
static const char body_400[] = "400 Bad Request\n\nThe request path is not valid.\n\n   ";

/* ---- path normalisation --------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int mdr_path_normalize(const char *raw, char *out, size_t outlen)
{
	char dec[MDR_PATH_MAX * 3 + 2];
	size_t n = 0, o = 0, segs[MDR_PATH_MAX_SEGS + 1], nseg = 0;
	const char *p;

	if (!raw || outlen < 2)
		return -EINVAL;
	/* percent-decode up to the query / fragment (WSGI path_info) */
	dec[n++] = '/';
	for (p = raw; *p && *p != '?' && *p != '#'; p++) {
		char ch = *p;

		if (n + 1 >= sizeof(dec))
			return -EINVAL;
		if (ch == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			ch = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			if (!ch)
				return -EINVAL;
			p += 2;
		}
		dec[n++] = ch;
	}
	dec[n] = '\0';
	/* posix normpath over an absolute path: drop "", "." and resolve ".." */
	out[o++] = '/';
	for (size_t i = 0; i < n;) {
		size_t j = i, len;

		while (j < n && dec[j] == '/')
			j++;
		i = j;
		while (j < n && dec[j] != '/')
			j++;
		len = j - i;
		if (len == 0 || (len == 1 && dec[i] == '.')) {
			/* nothing */
		} else if (len == 2 && dec[i] == '.' && dec[i + 1] == '.') {
			if (nseg)
				o = segs[--nseg];
		} else {
			if (nseg >= MDR_PATH_MAX_SEGS)
				return -EINVAL;
			segs[nseg++] = o;
			if (o > 1) {
				if (o + 1 >= outlen)
					return -EINVAL;
				out[o++] = '/';
			}
			if (o + len >= outlen)
				return -EINVAL;
			memcpy(out + o, dec + i, len);
			o += len;
		}
		i = j;
	}
	if (o == 0)
		o = 1;
	out[o] = '\0';
	return 0;
}

/* ---- listings ---------------------------------------------------------- */

struct entry {
	char *key;     /* the name matched by lookups and overrides */
	char *display; /* what the listing prints: key, "key/" or "0=name" */
};

struct listing {
	struct entry *e;
	size_t n, cap;
	int sorted; /* EC2 dicts print sorted keys; version lists do not */
	int oom;
};

static void list_add(struct listing *l, const char *key, const char *display)
{
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e) {
			l->oom = 1;
			return;
		}
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n].key = strdup(key);
	l->e[l->n].display = strdup(display);
	if (!l->e[l->n].key || !l->e[l->n].display) {
		free(l->e[l->n].key);
		free(l->e[l->n].display);
		l->oom = 1;
		return;
	}
	l->n++;
}

static void list_add_dir(struct listing *l, const char *key)
{
	char tmp[MDR_PATH_MAX + 2];

	snprintf(tmp, sizeof(tmp), "%s/", key);
	list_add(l, key, tmp);
}

static ssize_t list_find(const struct listing *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].key, key))
			return (ssize_t)i;
	return -1;
}

static void list_del(struct listing *l, size_t i)
{
	free(l->e[i].key);
	free(l->e[i].display);
	memmove(&l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof(l->e[0]));
	l->n--;
}

static void list_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].key);
		free(l->e[i].display);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

/* "\n"-joined, no trailing newline (nova's ec2_md_print). */
static void list_print(struct listing *l, struct mdr_buf *b)
{
	if (l->sorted && l->n) /* an empty listing (tags/instance without tags) has no array */
		qsort(l->e, l->n, sizeof(l->e[0]), entry_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			mdr_buf_put(b, "\n", 1);
		mdr_buf_puts(b, l->e[i].display);
	}
}

/* ---- a rendered node ----------------------------------------------------- */

enum node_kind { N_NONE, N_BODY, N_LIST, N_BLOB, N_PASSWORD };

struct node {
	enum node_kind kind;
	const char *ctype;
	struct mdr_buf body; /* N_BODY */
	struct listing list; /* N_LIST */
	unsigned blob;       /* N_BLOB */
	size_t blob_len;
};

struct req {
	const struct mdr_defn *d;
	const struct mdr_render_ctx *ctx;
	char *tok[MDR_PATH_MAX_SEGS]; /* segments of the canonical path */
	size_t ntok;
	int openstack;     /* tok[0] == "openstack" */
	char cpath[MDR_PATH_MAX]; /* canonical: "/..." without the ec2 prefix */
};

static int version_index(const char *tok, const char *const *list, size_t n)
{
	if (!strcmp(tok, "latest"))
		return (int)n - 1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tok, list[i]))
			return (int)i;
	return -1;
}

/* The EC2 version a path segment names ("latest": the newest served), or
 * NULL when unknown. */
static const char *ec2_version(const char *tok)
{
	if (!strcmp(tok, "latest"))
		return mdr_ec2_aws_versions[mdr_n_ec2_aws_versions - 1];
	for (size_t i = 0; i < mdr_n_ec2_versions; i++)
		if (!strcmp(tok, mdr_ec2_versions[i]))
			return mdr_ec2_versions[i];
	for (size_t i = 0; i < mdr_n_ec2_aws_versions; i++)
		if (!strcmp(tok, mdr_ec2_aws_versions[i]))
			return mdr_ec2_aws_versions[i];
	return NULL;
}

/* nova's _check_version(required, version): EC2 versions are "1.0" then
 * dates, so byte order is their order. */
static int since(const char *ver, const char *required)
{
	return strcmp(ver, required) >= 0;
}

static const char *doc_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* ---- EC2 ---------------------------------------------------------------- */

/* The request's source address when it is IPv4, else NULL: local-ipv4
 * is never a guest's IPv6 address (nova would serve it; EC2 does not). */
static const char *remote_ipv4(const struct mdr_render_ctx *ctx)
{
	if (!ctx || !ctx->remote_ip || strchr(ctx->remote_ip, ':'))
		return NULL;
	return ctx->remote_ip;
}

/* AWS's instance identity document (dynamic/instance-identity/document),
 * as rendered from the definition: the fields and order EC2 prints, its
 * "key" : value layout. NULL on allocation failure. */
static char *identity_text(const json_t *doc, const char *private_ip, size_t *len)
{
	const json_t *ec2 = json_object_get(doc, "ec2");
	char region[MDR_AWS_REGION_SIZE];
	const char *s;
	char *text;
	json_t *o = json_object();

#define OPT_STR(x) ((x) && (x)[0] ? json_string(x) : json_null())
	json_object_set_new(o, "accountId", json_string(doc_str(doc, "project_id", "")));
	json_object_set_new(o, "architecture",
			    json_string(doc_str(ec2, "architecture", MDR_DEFN_ARCHITECTURE)));
	json_object_set_new(o, "availabilityZone",
			    json_string(doc_str(doc, "availability_zone", "")));
	json_object_set_new(o, "billingProducts", json_null());
	json_object_set_new(o, "devpayProductCodes", json_null());
	json_object_set_new(o, "marketplaceProductCodes", json_null());
	json_object_set_new(o, "imageId", json_string(doc_str(ec2, "ami_id", "")));
	json_object_set_new(o, "instanceId", json_string(doc_str(ec2, "instance_id", "")));
	json_object_set_new(o, "instanceType", json_string(doc_str(ec2, "instance_type", "")));
	s = doc_str(ec2, "kernel_id", NULL);
	json_object_set_new(o, "kernelId", OPT_STR(s));
	s = doc_str(ec2, "pending_time", NULL);
	json_object_set_new(o, "pendingTime", OPT_STR(s));
	json_object_set_new(o, "privateIp", OPT_STR(private_ip));
	s = doc_str(ec2, "ramdisk_id", NULL);
	json_object_set_new(o, "ramdiskId", OPT_STR(s));
	json_object_set_new(o, "region", json_string(mdr_aws_region(doc, region, sizeof(region))));
	json_object_set_new(o, "version", json_string(MDR_IDENTITY_DOC_VERSION));
#undef OPT_STR
	text = mdr_aws_pretty(o, len);
	json_decref(o);
	return text;
}

char *mdr_render_identity_document(const struct mdr_defn *d, size_t *len)
{
	const json_t *ec2 = json_object_get(d->doc, "ec2");

	return identity_text(d->doc, doc_str(ec2, "local_ipv4", NULL), len);
}

/* dynamic/instance-identity/: the document signed at load time with its
 * signatures when the loader stored them (mdr_identity_sign), else the
 * document rendered for this request, unsigned (no signature paths). */
static json_t *identity_tree(const json_t *doc, const char *private_ip)
{
	const json_t *signed_id = json_object_get(doc, "identity");
	json_t *out, *v;
	size_t len;
	char *text;

	if (signed_id)
		return json_deep_copy(signed_id);
	text = identity_text(doc, private_ip, &len);
	v = text ? json_stringn(text, len) : NULL;
	free(text);
	out = json_object();
	json_object_set_new(out, "document", v ? v : json_string(""));
	return out;
}

/* nova's get_ec2_metadata(version) as a JSON tree. */
static json_t *ec2_tree(const struct req *r, const char *ver)
{
	json_t *doc = r->d->doc, *ec2 = json_object_get(doc, "ec2"), *x;
	const char *host = doc_str(doc, "hostname", "");
	const char *remote = remote_ipv4(r->ctx) ? remote_ipv4(r->ctx) : "";
	json_t *md = json_object(), *top = json_object(), *keys;
	const char *k, *s;
	size_t i = 0;

	json_object_set_new(md, "ami-id", json_string(doc_str(ec2, "ami_id", "")));
	json_object_set_new(md, "ami-launch-index",
			    json_integer(json_integer_value(json_object_get(doc, "launch_index"))));
	json_object_set_new(md, "ami-manifest-path", json_string("FIXME"));
	json_object_set_new(md, "instance-id", json_string(doc_str(ec2, "instance_id", "")));
	json_object_set_new(md, "hostname", json_string(host));
	json_object_set_new(md, "local-ipv4", json_string(doc_str(ec2, "local_ipv4", remote)));
	json_object_set_new(md, "reservation-id", json_string(doc_str(ec2, "reservation_id", "")));
	x = json_object_get(ec2, "security_groups");
	json_object_set_new(md, "security-groups", x ? json_incref(x) : json_array());

	keys = json_object_get(doc, "public_keys");
	if (keys && json_object_size(keys)) {
		json_t *pk = json_object();

		json_object_foreach(keys, k, x) {
			char idx[24], nm[MDR_DEFN_NAME_MAX + 32];
			json_t *one = json_object();

			snprintf(idx, sizeof(idx), "%zu", i++);
			snprintf(nm, sizeof(nm), "%s=%s", idx, k);
			json_object_set_new(one, "_name", json_string(nm));
			json_object_set(one, "openssh-key", x);
			json_object_set_new(pk, idx, one);
		}
		json_object_set_new(md, "public-keys", pk);
	}
	if (since(ver, "2007-01-19")) {
		json_object_set_new(md, "local-hostname",
				    json_string(doc_str(ec2, "local_hostname", host)));
		json_object_set_new(md, "public-hostname",
				    json_string(doc_str(ec2, "public_hostname", host)));
		json_object_set_new(md, "public-ipv4", json_string(doc_str(ec2, "public_ipv4", "")));
	}
	if (since(ver, "2007-08-29"))
		json_object_set_new(md, "instance-type",
				    json_string(doc_str(ec2, "instance_type", "")));
	if (since(ver, "2007-12-15")) {
		x = json_object_get(ec2, "block_device_mapping");
		json_object_set_new(md, "block-device-mapping", x ? json_incref(x) : json_object());
		if ((s = doc_str(ec2, "kernel_id", NULL)) && s[0])
			json_object_set_new(md, "kernel-id", json_string(s));
		if ((s = doc_str(ec2, "ramdisk_id", NULL)) && s[0])
			json_object_set_new(md, "ramdisk-id", json_string(s));
	}
	if (since(ver, "2008-02-01")) {
		json_t *pl = json_pack("{s:s}", "availability-zone",
				       doc_str(doc, "availability_zone", ""));

		if (since(ver, EC2_SINCE_AZ_ID))
			json_object_set_new(pl, "availability-zone-id",
					    json_string(doc_str(doc, "availability_zone_id",
								doc_str(doc, "availability_zone", ""))));
		if (since(ver, EC2_SINCE_REGION)) {
			char region[MDR_AWS_REGION_SIZE];

			json_object_set_new(pl, "region",
					    json_string(mdr_aws_region(doc, region, sizeof(region))));
		}
		json_object_set_new(md, "placement", pl);
	}
	if (since(ver, "2008-09-01"))
		json_object_set_new(md, "instance-action", json_string("none"));
	if (since(ver, EC2_FIRST_AWS))
		mdr_aws_ec2_add(doc, ver, r->ctx,
				r->ntok >= 3 && !strcmp(r->tok[1], "meta-data") &&
					!strcmp(r->tok[2], "iam"),
				md);
	/* mac, network/interfaces/macs/ (AWS 2011-01-01 on) */
	mdr_nics_ec2(doc, ver, doc_str(ec2, "local_ipv4", remote), md);
	json_object_set_new(top, "meta-data", md);
	/* AWS has dynamic/ since 2009-04-04; nova's versions stay nova's */
	if (since(ver, EC2_FIRST_AWS)) {
		const char *lip = doc_str(ec2, "local_ipv4", remote_ipv4(r->ctx));

		json_object_set_new(top, "dynamic",
				    json_pack("{s:o}", "instance-identity", identity_tree(doc, lip)));
	}
	if (r->d->has_user_data)
		json_object_set_new(top, "user-data", json_string(""));
	return top;
}

/* ec2_md_print() of one value into node n. */
static void ec2_print(const json_t *v, struct node *n)
{
	char tmp[32];

	n->ctype = MDR_CT_TEXT;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		n->kind = N_LIST;
		n->list.sorted = 1;
		json_object_foreach((json_t *)v, k, x) {
			json_t *nm = json_object_get(x, "_name");

			if (!strcmp(k, "_name"))
				continue;
			if (json_is_object(x) && json_is_string(nm))
				list_add(&n->list, k, json_string_value(nm));
			else if (json_is_object(x))
				list_add_dir(&n->list, k);
			else
				list_add(&n->list, k, k);
		}
		return;
	}
	n->kind = N_BODY;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				mdr_buf_put(&n->body, "\n", 1);
			mdr_buf_puts(&n->body, json_string_value(json_array_get(v, i)));
		}
	} else if (json_is_string(v)) {
		mdr_buf_put(&n->body, json_string_value(v), json_string_length(v));
	} else {
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		mdr_buf_puts(&n->body, tmp);
	}
}

static void render_ec2(const struct req *r, struct node *n)
{
	json_t *tree, *v;
	const char *ver;

	if (r->ntok == 0) { /* "/" and "/ec2": the EC2 versions, then latest */
		n->kind = N_LIST;
		n->ctype = MDR_CT_TEXT;
		for (size_t i = 0; i < mdr_n_ec2_versions; i++)
			list_add(&n->list, mdr_ec2_versions[i], mdr_ec2_versions[i]);
		for (size_t i = 0; i < mdr_n_ec2_aws_versions; i++)
			list_add(&n->list, mdr_ec2_aws_versions[i], mdr_ec2_aws_versions[i]);
		list_add(&n->list, "latest", "latest");
		return;
	}
	ver = ec2_version(r->tok[0]);
	if (!ver)
		return;
	if (r->ntok == 2 && !strcmp(r->tok[1], "user-data")) {
		if (r->d->has_user_data) {
			n->kind = N_BLOB;
			n->ctype = MDR_CT_TEXT;
			n->blob = MDR_BLOB_USER_DATA;
			n->blob_len = r->d->user_data_len;
		}
		return;
	}
	tree = ec2_tree(r, ver);
	v = tree;
	/* find_path_in_tree: only dicts can be descended (nova fails with
	 * a 500 on lists and leaves; a 404 here) */
	for (size_t i = 1; v && i < r->ntok; i++)
		v = json_is_object(v) ? json_object_get(v, r->tok[i]) : NULL;
	if (v)
		ec2_print(v, n);
	json_decref(tree);
}

/* ---- OpenStack ---------------------------------------------------------- */

static void set_json_body(struct node *n, const json_t *v, const char *ctype)
{
	n->kind = N_BODY;
	n->ctype = ctype;
	mdr_pyjson_dump(&n->body, v);
}

/* nova's _get_device_metadata(version). */
static json_t *devices_json(const json_t *devs, int vi)
{
	json_t *out = json_array(), *dv;
	size_t i;

	json_array_foreach(devs, i, dv) {
		const char *type = doc_str(dv, "type", "");
		json_t *m = json_object(), *tags = json_object_get(dv, "tags");

		if (!strcmp(type, "nic")) {
			json_t *vlan = json_object_get(dv, "vlan");
			json_t *vft = json_object_get(dv, "vf_trusted");

			if (vi >= OS_OCATA && vlan)
				json_object_set(m, "vlan", vlan);
			if (vi >= OS_ROCKY)
				json_object_set_new(m, "vf_trusted", json_boolean(json_is_true(vft)));
			json_object_set_new(m, "type", json_string("nic"));
			json_object_set(m, "mac", json_object_get(dv, "mac"));
			/* a NIC with neither tags, vlan nor vf_trusted is not exposed */
			if (!tags && !json_object_get(m, "vlan") && !json_object_get(m, "vf_trusted")) {
				json_decref(m);
				continue;
			}
		} else if (!strcmp(type, "disk")) {
			json_object_set_new(m, "type", json_string("disk"));
			if (json_object_get(dv, "serial"))
				json_object_set(m, "serial", json_object_get(dv, "serial"));
			if (json_object_get(dv, "path"))
				json_object_set(m, "path", json_object_get(dv, "path"));
		} else if (!strcmp(type, "share") && vi >= OS_EPOXY) {
			json_object_set_new(m, "type", json_string("share"));
			json_object_set(m, "share_id", json_object_get(dv, "share_id"));
			json_object_set(m, "tag", json_object_get(dv, "tag"));
		} else {
			json_decref(m);
			continue;
		}
		json_object_set_new(m, "bus", json_string(doc_str(dv, "bus", "none")));
		json_object_set_new(m, "address", json_string(doc_str(dv, "address", "none")));
		if (tags)
			json_object_set(m, "tags", tags);
		json_array_append_new(out, m);
	}
	return out;
}

/* nova's _metadata_as_json(version): same keys, same order. */
static void meta_data_json(const struct req *r, int vi, struct node *n)
{
	const json_t *doc = r->d->doc, *x;
	json_t *md = json_object();
	const char *k;

	json_object_set(md, "uuid", json_object_get(doc, "uuid"));
	if ((x = json_object_get(doc, "meta")) && json_object_size(x))
		json_object_set(md, "meta", (json_t *)x);
	if ((x = json_object_get(doc, "files")) && json_array_size(x)) {
		json_t *files = json_array(), *f;
		size_t i;

		json_array_foreach(x, i, f) {
			char cp[32];

			snprintf(cp, sizeof(cp), "/content/%04zu", i);
			json_array_append_new(files, json_pack("{s:O,s:s}", "path",
							       json_object_get(f, "path"),
							       "content_path", cp));
		}
		json_object_set_new(md, "files", files);
	}
	if ((x = json_object_get(doc, "public_keys")) && json_object_size(x)) {
		json_t *keys = json_array(), *v;

		json_object_set(md, "public_keys", (json_t *)x);
		json_object_foreach((json_t *)x, k, v) {
			/* nova keypair types: "ssh" or "x509" (a PEM certificate) */
			const char *type = strncmp(json_string_value(v), "-----BEGIN CERTIFICATE",
						   22) ? "ssh" : "x509";

			json_array_append_new(keys, json_pack("{s:s,s:s,s:O}", "name", k, "type",
							      type, "data", v));
		}
		json_object_set_new(md, "keys", keys);
	}
	json_object_set(md, "hostname", json_object_get(doc, "hostname"));
	json_object_set(md, "name", json_object_get(doc, "name"));
	json_object_set(md, "launch_index", json_object_get(doc, "launch_index"));
	json_object_set(md, "availability_zone", json_object_get(doc, "availability_zone"));
	if (vi >= OS_GRIZZLY) {
		unsigned char seed[MDR_RANDOM_SEED_BYTES];
		char b64[MDR_RANDOM_SEED_BYTES / 3 * 4 + 8];

		memset(seed, 0, sizeof(seed));
		if (r->ctx && r->ctx->random)
			r->ctx->random(seed, sizeof(seed), r->ctx->opaque);
		mdr_b64_encode(seed, sizeof(seed), b64);
		json_object_set_new(md, "random_seed", json_string(b64));
	}
	if (vi >= OS_LIBERTY)
		json_object_set(md, "project_id", json_object_get(doc, "project_id"));
	if (vi >= OS_NEWTON_ONE) {
		x = json_object_get(doc, "devices");
		json_object_set_new(md, "devices", x ? devices_json(x, vi) : json_array());
	}
	if (vi >= OS_VICTORIA) {
		x = json_object_get(doc, "dedicated_cpus");
		json_object_set_new(md, "dedicated_cpus", x ? json_incref((json_t *)x) : json_array());
	}
	set_json_body(n, md, MDR_CT_JSON);
	json_decref(md);
}

/* nova's _handle_version(): fixed order, version-gated. */
static void version_listing(const struct req *r, int vi, struct node *n)
{
	static const struct {
		const char *name;
		int since;
	} files[] = {
		{"meta_data.json", OS_FOLSOM},    {"user_data", OS_FOLSOM},
		{"password", OS_GRIZZLY},         {"vendor_data.json", OS_HAVANA},
		{"network_data.json", OS_LIBERTY}, {"vendor_data2.json", OS_NEWTON_TWO},
	};

	n->kind = N_LIST;
	n->ctype = MDR_CT_TEXT;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (vi < files[i].since)
			continue;
		if (!strcmp(files[i].name, "user_data") && !r->d->has_user_data)
			continue;
		list_add(&n->list, files[i].name, files[i].name);
	}
}

static void render_openstack(const struct req *r, struct node *n)
{
	const json_t *doc = r->d->doc, *x;
	const char *f;
	int vi;

	if (r->ntok == 1) { /* "/openstack" */
		n->kind = N_LIST;
		n->ctype = MDR_CT_TEXT;
		for (size_t i = 0; i < mdr_n_openstack_versions; i++)
			list_add(&n->list, mdr_openstack_versions[i], mdr_openstack_versions[i]);
		list_add(&n->list, "latest", "latest");
		return;
	}
	if (!strcmp(r->tok[1], "content")) {
		/* /openstack/content/NNNN: "%04i" % index, exact match */
		char want[24];

		if (r->ntok != 3)
			return;
		for (size_t i = 0; i < r->d->n_files; i++) {
			snprintf(want, sizeof(want), "%04zu", i);
			if (!strcmp(r->tok[2], want)) {
				n->kind = N_BLOB;
				n->ctype = MDR_CT_TEXT;
				n->blob = MDR_BLOB_FILE0 + (unsigned)i;
				n->blob_len = r->d->file_len[i];
				return;
			}
		}
		return;
	}
	vi = version_index(r->tok[1], mdr_openstack_versions, mdr_n_openstack_versions);
	if (vi < 0)
		return;
	if (r->ntok == 2) {
		version_listing(r, vi, n);
		return;
	}
	if (r->ntok != 3)
		return;
	f = r->tok[2];
	if (!strcmp(f, "meta_data.json")) {
		meta_data_json(r, vi, n);
	} else if (!strcmp(f, "user_data")) {
		if (r->d->has_user_data) {
			n->kind = N_BLOB;
			n->ctype = MDR_CT_TEXT;
			n->blob = MDR_BLOB_USER_DATA;
			n->blob_len = r->d->user_data_len;
		}
	} else if (!strcmp(f, "password")) {
		if (vi >= OS_GRIZZLY) {
			n->kind = N_PASSWORD;
			n->ctype = MDR_CT_PASSWORD;
		}
	} else if (!strcmp(f, "vendor_data.json")) {
		if (vi >= OS_HAVANA) {
			x = json_object_get(doc, "vendor_data");
			json_t *empty = json_object();

			set_json_body(n, x ? x : empty, MDR_CT_JSON);
			json_decref(empty);
		}
	} else if (!strcmp(f, "vendor_data2.json")) {
		if (vi >= OS_NEWTON_TWO) {
			/* nova: {"static": <StaticJSON vendor data>, <dynamic targets>} */
			json_t *v2 = json_object_get(doc, "vendor_data2"), *tmp = NULL;

			if (!v2) {
				x = json_object_get(doc, "vendor_data");
				tmp = json_object();
				json_object_set_new(tmp, "static", x ? json_incref((json_t *)x)
								     : json_object());
				v2 = tmp;
			}
			set_json_body(n, v2, MDR_CT_JSON);
			json_decref(tmp);
		}
	} else if (!strcmp(f, "network_data.json")) {
		/* nova serves it under every version (not version-checked) and
		 * never sets its MIME type: text/plain */
		json_t *nd = mdr_nics_network_data(doc);

		if (nd)
			set_json_body(n, nd, MDR_CT_TEXT);
		json_decref(nd);
	} else if (!strcmp(f, "version")) {
		/* nova routes ".../version" to the version listing too */
		version_listing(r, vi, n);
	}
}

/* ---- overrides ------------------------------------------------------------ */

/* Index of the version segment in a canonical path's segments. */
static size_t version_seg(char *const *tok, size_t ntok, int *openstack)
{
	*openstack = ntok && !strcmp(tok[0], "openstack");
	return *openstack ? 1 : 0;
}

static int is_known_version(const char *v, int openstack)
{
	if (!strcmp(v, "latest"))
		return 0;
	return openstack ? version_index(v, mdr_openstack_versions, mdr_n_openstack_versions) >= 0
			 : ec2_version(v) != NULL;
}

/* Split a canonical path into segments (in buf). */
static size_t split(const char *path, char *buf, size_t buflen, char **tok)
{
	size_t n = 0;

	snprintf(buf, buflen, "%s", path);
	for (char *save = NULL, *p = strtok_r(buf, "/", &save); p && n < MDR_PATH_MAX_SEGS;
	     p = strtok_r(NULL, "/", &save))
		tok[n++] = p;
	return n;
}

static void join(char *out, size_t outlen, char *const *tok, size_t n)
{
	size_t o = 0;

	out[0] = '/';
	out[1] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, outlen - o, "/%s", tok[i]);

		if (w < 0 || (size_t)w >= outlen - o)
			break;
		o += (size_t)w;
	}
}

/* The override that applies to a canonical path: the exact key, else the
 * same path under "latest". NULL when none. */
static json_t *effective(const json_t *ov, const char *path)
{
	char buf[MDR_PATH_MAX], alias[MDR_PATH_MAX], *tok[MDR_PATH_MAX_SEGS];
	json_t *v = json_object_get(ov, path);
	size_t n, vs;
	int os;

	if (v)
		return v;
	n = split(path, buf, sizeof(buf), tok);
	vs = version_seg(tok, n, &os);
	if (vs >= n || !is_known_version(tok[vs], os))
		return NULL;
	tok[vs] = "latest";
	join(alias, sizeof(alias), tok, n);
	return json_object_get(ov, alias);
}

/* Map override key k into the version of listing path L (segments ltok):
 * a "latest" key applies to every version of its tree. */
static void key_for_listing(const char *k, char *const *ltok, size_t lnt, char *out,
			    size_t outlen)
{
	char buf[MDR_PATH_MAX], *tok[MDR_PATH_MAX_SEGS];
	size_t n, vs;
	int os, los;

	snprintf(out, outlen, "%s", k);
	n = split(k, buf, sizeof(buf), tok);
	vs = version_seg(tok, n, &os);
	if (vs >= n || strcmp(tok[vs], "latest"))
		return;
	if (version_seg(ltok, lnt, &los) >= lnt || los != os || !is_known_version(ltok[vs], os))
		return;
	tok[vs] = ltok[vs];
	join(out, outlen, tok, n);
}

static int has_live_below(const json_t *ov, const char *path, char *const *ltok, size_t lnt)
{
	char mk[MDR_PATH_MAX];
	size_t pl = strlen(path);
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)ov, k, v) {
		if (json_is_null(v))
			continue;
		key_for_listing(k, ltok, lnt, mk, sizeof(mk));
		if (!strncmp(mk, path, pl) && mk[pl] == '/')
			return 1;
	}
	return 0;
}

/* Add the children overrides create, remove the ones rm hid. */
static void merge_listing(const struct req *r, const json_t *ov, struct node *n)
{
	char mk[MDR_PATH_MAX], child[MDR_PATH_MAX], cpath[2 * MDR_PATH_MAX + 2];
	const char *k, *lp = r->cpath;
	size_t ll = strcmp(lp, "/") ? strlen(lp) : 0;
	json_t *v;
	int was_none = n->kind == N_NONE;

	if (was_none) {
		n->kind = N_LIST;
		n->ctype = MDR_CT_TEXT;
		/* a new directory under the EC2 tree lists sorted, like nova dicts */
		n->list.sorted = !r->openstack && r->ntok > 0;
	}
	json_object_foreach((json_t *)ov, k, v) {
		const char *rest;
		size_t cl;
		json_t *e;
		ssize_t at;

		key_for_listing(k, r->tok, r->ntok, mk, sizeof(mk));
		if (strncmp(mk, lp, ll) || mk[ll] != '/')
			continue;
		rest = mk + ll + 1;
		cl = strcspn(rest, "/");
		if (!cl)
			continue;
		snprintf(child, sizeof(child), "%.*s", (int)cl, rest);
		snprintf(cpath, sizeof(cpath), "%s/%s", ll ? lp : "", child);
		e = effective(ov, cpath);
		at = list_find(&n->list, child);
		if (e && json_is_null(e)) {
			if (at >= 0)
				list_del(&n->list, (size_t)at);
		} else if (at < 0 && e) {
			list_add(&n->list, child, child);
		} else if (at < 0 && has_live_below(ov, cpath, r->tok, r->ntok)) {
			list_add_dir(&n->list, child);
		}
	}
	if (was_none && !n->list.n)
		n->kind = N_NONE;
}

static const char *ctype_for(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(path);

	base = base ? base + 1 : path;
	if (n >= 5 && !strcmp(path + n - 5, ".json") && strcmp(base, "network_data.json"))
		return MDR_CT_JSON;
	return MDR_CT_TEXT;
}

/* Returns 1 when an override decided the answer (n filled or 404). */
static int apply_override(const struct req *r, const json_t *ov, struct node *n)
{
	char anc[MDR_PATH_MAX];
	json_t *e = effective(ov, r->cpath);

	if (e && json_is_string(e)) {
		uint8_t *body;
		size_t len;

		if (mdr_b64_decode(json_string_value(e), json_string_length(e), MDR_OVERRIDE_MAX,
				   &body, &len))
			return 1; /* validated at parse time; 404 if it ever fails */
		n->kind = N_BODY;
		n->ctype = ctype_for(r->cpath);
		mdr_buf_put(&n->body, body, len);
		free(body);
		return 1;
	}
	if (e) /* null: removed */
		return 1;
	/* a removed ancestor hides the whole subtree */
	snprintf(anc, sizeof(anc), "%s", r->cpath);
	for (char *slash = strrchr(anc, '/'); slash && slash != anc; slash = strrchr(anc, '/')) {
		*slash = '\0';
		e = effective(ov, anc);
		if (e && json_is_null(e))
			return 1;
	}
	return 0;
}

/* ---- config drive: ec2/<version>/meta-data.json ----------------------------- */

/* Walk (creating objects when create) to the parent of path segment
 * tok[n-1] below md. NULL when absent. */
static json_t *ec2_parent(json_t *md, char *const *tok, size_t n, int create)
{
	for (size_t i = 0; md && i + 1 < n; i++) {
		json_t *c = json_object_get(md, tok[i]);

		if (!json_is_object(c)) {
			if (!create)
				return NULL;
			c = json_object();
			json_object_set_new(md, tok[i], c);
		}
		md = c;
	}
	return md;
}

/*
 * The overrides that win for version `ver` (the served tree's rule: the
 * exact version's key, else the same path under latest), applied to the
 * meta-data dict: strings set leaves (not valid UTF-8: left out, JSON
 * cannot hold it), then nulls remove subtrees, so a removed ancestor hides
 * what was set below it, as in the served tree. Returns 1 when the
 * meta-data itself (or the whole version) was removed.
 */
static int ec2_apply_overrides(const json_t *ov, const char *ver, json_t *md)
{
	char buf[MDR_PATH_MAX], cpath[MDR_PATH_MAX], *tok[MDR_PATH_MAX_SEGS];
	const char *k;
	json_t *v;

	for (int pass = 0; pass < 2; pass++) {
		json_object_foreach((json_t *)ov, k, v) {
			size_t n = split(k, buf, sizeof(buf), tok);
			json_t *parent, *s;
			uint8_t *body;
			size_t len;

			if (!n || (strcmp(tok[0], ver) && strcmp(tok[0], "latest")))
				continue;
			if (n >= 2 && strcmp(tok[1], "meta-data"))
				continue;
			tok[0] = (char *)ver;
			join(cpath, sizeof(cpath), tok, n);
			if (effective(ov, cpath) != v)
				continue; /* another key wins for this version */
			if (pass == 1 && json_is_null(v)) {
				if (n <= 2)
					return 1;
				parent = ec2_parent(md, tok + 2, n - 2, 0);
				if (parent)
					json_object_del(parent, tok[n - 1]);
			} else if (pass == 0 && json_is_string(v) && n > 2 &&
				   !mdr_b64_decode(json_string_value(v), json_string_length(v),
						   MDR_OVERRIDE_MAX, &body, &len)) {
				s = json_stringn((const char *)body, len);
				free(body);
				parent = s ? ec2_parent(md, tok + 2, n - 2, 1) : NULL;
				if (parent)
					json_object_set_new(parent, tok[n - 1], s);
				else
					json_decref(s);
			}
		}
	}
	return 0;
}

int mdr_render_ec2_meta_json(const struct mdr_defn *d, const char *version,
			     const struct mdr_render_ctx *ctx, char **out, size_t *len)
{
	const json_t *ov = json_object_get(d->doc, "overrides"), *ec2;
	struct mdr_buf b = {0};
	json_t *tree, *md;
	struct req *r;
	/* a drive holds nova's versions only; its "latest" is nova's newest */
	int vi = version_index(version, mdr_ec2_versions, mdr_n_ec2_versions), gone = 0;

	*out = NULL;
	*len = 0;
	if (vi < 0)
		return 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->ctx = ctx;
	tree = ec2_tree(r, strcmp(version, "latest") ? mdr_ec2_versions[vi] : EC2_NOVA_LATEST);
	free(r);
	md = json_object_get(tree, "meta-data");
	/* nova: local-ipv4 = fixed_ip or self.address, and a config drive has
	 * no request address: null when the definition names no address */
	ec2 = json_object_get(d->doc, "ec2");
	if (!json_object_get(ec2, "local_ipv4") && !remote_ipv4(ctx))
		json_object_set_new(md, "local-ipv4", json_null());
	/* public-keys/<i>/_name stays: metadata_for_config_drive() means to
	 * delete it but looks for data['public-keys'] instead of
	 * data['meta-data']['public-keys'], so nova's drives carry it */
	if (ov && json_object_size(ov))
		gone = ec2_apply_overrides(ov, version, md);
	if (!gone)
		mdr_pyjson_dump(&b, md);
	json_decref(tree);
	if (gone)
		return 1;
	*out = mdr_buf_take(&b, len);
	return *out ? 0 : -1;
}

/* ---- entry point ---------------------------------------------------------- */

static int finish(struct node *n, struct mdr_reply *out)
{
	struct mdr_buf b = {0};

	out->status = 200;
	out->content_type = n->ctype ? n->ctype : MDR_CT_TEXT;
	switch (n->kind) {
	case N_NONE:
		out->status = 404;
		out->content_type = MDR_CT_TEXT;
		mdr_buf_put(&b, body_404, sizeof(body_404) - 1);
		break;
	case N_BODY:
		b = n->body;
		memset(&n->body, 0, sizeof(n->body));
		break;
	case N_LIST:
		list_print(&n->list, &b);
		if (n->list.oom)
			b.oom = 1;
		break;
	case N_BLOB:
		out->kind = MDR_REPLY_BLOB;
		out->blob = n->blob;
		out->blob_len = n->blob_len;
		break;
	case N_PASSWORD:
		out->kind = MDR_REPLY_PASSWORD;
		break;
	}
	mdr_buf_free(&n->body);
	list_free(&n->list);
	if (n->kind == N_BLOB || n->kind == N_PASSWORD)
		return 0;
	out->body = mdr_buf_take(&b, &out->body_len);
	return out->body ? 0 : -1;
}

int mdr_render(const struct mdr_defn *d, const char *raw_path, const struct mdr_render_ctx *ctx,
	       struct mdr_reply *out)
{
	char norm[MDR_PATH_MAX], segbuf[MDR_PATH_MAX];
	struct req *r;
	struct node n = {0};
	const json_t *ov = NULL;
	char **tok;
	size_t nt;
	int rc, unknown = 0;

	memset(out, 0, sizeof(*out));
	if (mdr_path_normalize(raw_path, norm, sizeof(norm))) {
		out->status = 400;
		out->content_type = MDR_CT_TEXT;
		out->body = strdup(body_400);
		out->body_len = out->body ? strlen(out->body) : 0;
		return out->body ? 0 : -1;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->ctx = ctx;
	nt = split(norm, segbuf, sizeof(segbuf), r->tok);
	tok = r->tok;
	/* nova prepends "ec2" to anything that is not ec2/ or openstack/ */
	if (nt && !strcmp(tok[0], "ec2")) {
		memmove(tok, tok + 1, (nt - 1) * sizeof(tok[0]));
		nt--;
		/* "/ec2/openstack/...": EC2 version "openstack" does not exist */
		unknown = nt && !strcmp(tok[0], "openstack");
	}
	r->ntok = nt;
	r->openstack = nt && !strcmp(tok[0], "openstack");
	join(r->cpath, sizeof(r->cpath), tok, nt);
	if (d) {
		ov = json_object_get(d->doc, "overrides");
		if (ov && !json_object_size(ov))
			ov = NULL;
	}
	if (unknown || (!d && nt)) {
		/* unknown path, or unknown instance: only "/" answers (nova needs no identity there) */
	} else if (ov && nt && apply_override(r, ov, &n)) {
		/* decided by an override */
	} else {
		if (r->openstack)
			render_openstack(r, &n);
		else
			render_ec2(r, &n);
		/* the version listings ("/", "/openstack") are fixed */
		if (ov && nt && !(r->openstack && nt == 1) &&
		    (n.kind == N_LIST || n.kind == N_NONE))
			merge_listing(r, ov, &n);
	}
	rc = finish(&n, out);
	free(r);
	if (rc)
		mdr_reply_free(out);
	return rc;
}

void mdr_reply_free(struct mdr_reply *r)
{
	if (!r)
		return;
	if (!r->borrowed)
		free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->borrowed = false;
}
