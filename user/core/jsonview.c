/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A subtree as one JSON document (see jsonview.h). */
#include "jsonview.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "pyjson.h"

struct jv {
	const struct mdr_jsonview_src *src;
	size_t bytes; /* leaf bytes so far: stop early past MDR_JSONVIEW_MAX */
	int err;      /* first failure: -ENOMEM, -ENOENT, MDR_JSONVIEW_TOO_BIG */
};

/* Characters a child name keeps in a path; the rest is percent-encoded
 * (render decodes it again). */
static bool keep_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._~:@!$&'()*,;=", c) != NULL;
}

/* path + "/" + name (encoded) into out; false when it does not fit. */
static bool child_path(const char *path, const char *name, size_t nlen, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = strlen(path);

	if (o + 2 > MDR_PATH_MAX)
		return false;
	memcpy(out, path, o);
	if (o == 0 || out[o - 1] != '/')
		out[o++] = '/';
	for (size_t i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)name[i];
		if (o + 4 > MDR_PATH_MAX)
			return false;
		if (keep_char(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return true;
}

/* The child name of listing line l[0..n): "=..." and a trailing "/" cut. */
static size_t child_name(const char *l, size_t n)
{
	const char *eq = memchr(l, '=', n);

	if (eq)
		n = (size_t)(eq - l);
	if (n && l[n - 1] == '/')
		n--;
	return n;
}

static json_t *leaf(struct jv *v, const char *p, size_t n)
{
	json_t *s;

	v->bytes += n;
	if (v->bytes > MDR_JSONVIEW_MAX) {
		v->err = MDR_JSONVIEW_TOO_BIG;
		return NULL;
	}
	s = json_stringn(p, n); /* NULL: not valid UTF-8 (or no memory) */
	if (!s) {
		char *b = mdr_b64_encode_alloc(p, n);
		s = b ? json_pack("{s:s}", "base64", b) : NULL;
		free(b);
	}
	if (!s)
		v->err = -ENOMEM;
	return s;
}

static json_t *node(struct jv *v, const char *path, struct mdr_reply *r);

/* A JSON document: served as application/json, or named "*.json" (nova
 * serves network_data.json as text) with a body that parses. */
static json_t *as_document(const char *path, const struct mdr_reply *r)
{
	size_t pl = strlen(path);
	bool named = pl > 5 && !strcmp(path + pl - 5, ".json");

	if (r->kind != MDR_REPLY_BODY || !r->content_type ||
	    (strcmp(r->content_type, MDR_CT_JSON) && !named))
		return NULL;
	return json_loadb(r->body ? r->body : "", r->body_len, JSON_DECODE_ANY, NULL);
}

/* Render path; 0 with *r filled, or the error (set in v). */
static int get(struct jv *v, const char *path, struct mdr_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (v->src->render(v->src->opaque, path, r) != 0) {
		v->err = -ENOMEM;
		return -1;
	}
	return 0;
}

/* A text listing whose every line names a child answering 200 becomes an
 * object; anything else is NULL without an error (a leaf). */
static json_t *directory(struct jv *v, const char *path, const char *body, size_t len)
{
	json_t *obj = NULL;
	size_t i = 0;

	if (len == 0 || memchr(body, '\0', len))
		return NULL;
	while (i < len && !v->err) {
		const char *l = body + i;
		const char *nl = memchr(l, '\n', len - i);
		size_t ln = nl ? (size_t)(nl - l) : len - i;
		size_t n = child_name(l, ln);
		char cp[MDR_PATH_MAX], name[MDR_PATH_MAX];
		struct mdr_reply cr;
		json_t *c;

		i += ln + 1;
		if (n == 0 || n >= sizeof(name) || memchr(l, '/', n) || !child_path(path, l, n, cp))
			goto leaf;
		if (get(v, cp, &cr))
			goto fail;
		if (cr.status != 200) {
			mdr_reply_free(&cr);
			goto leaf;
		}
		c = node(v, cp, &cr);
		mdr_reply_free(&cr);
		if (!c)
			goto fail;
		if (!obj && !(obj = json_object())) {
			json_decref(c);
			v->err = -ENOMEM;
			goto fail;
		}
		memcpy(name, l, n);
		name[n] = '\0';
		if (json_object_setn_new(obj, name, n, c)) {
			v->err = -ENOMEM;
			goto fail;
		}
	}
	if (v->err)
		goto fail;
	return obj;
leaf:
	json_decref(obj);
	return NULL;
fail:
	json_decref(obj);
	if (!v->err)
		v->err = -ENOMEM;
	return NULL;
}

/* The view of path, whose reply (status 200) is r. NULL with v->err. */
static json_t *node(struct jv *v, const char *path, struct mdr_reply *r)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	json_t *j;

	switch (r->kind) {
	case MDR_REPLY_BLOB:
		if (v->src->blob) {
			int e = v->src->blob(v->src->opaque, r->blob, &data, &len);
			if (e) {
				v->err = e == -ENOENT ? -ENOENT : -ENOMEM;
				return NULL;
			}
		}
		return leaf(v, (const char *)data, len);
	case MDR_REPLY_PASSWORD:
		return leaf(v, v->src->password ? v->src->password : "",
			    v->src->password ? v->src->password_len : 0);
	case MDR_REPLY_BODY:
	default:
		break;
	}
	j = as_document(path, r);
	if (j) {
		v->bytes += r->body_len;
		if (v->bytes <= MDR_JSONVIEW_MAX)
			return j;
		json_decref(j);
		v->err = MDR_JSONVIEW_TOO_BIG;
		return NULL;
	}
	if (!r->content_type || strcmp(r->content_type, MDR_CT_JSON)) {
		j = directory(v, path, r->body ? r->body : "", r->body_len);
		if (j || v->err)
			return j;
	}
	return leaf(v, r->body ? r->body : "", r->body_len); /* text, or JSON that is not */
}

int mdr_jsonview(const struct mdr_jsonview_src *src, const char *path, char **out,
		 size_t *len)
{
	struct jv v = { .src = src };
	struct mdr_reply r;
	struct mdr_buf b = { 0 };
	json_t *j;
	int st;

	if (get(&v, path, &r))
		return v.err;
	st = r.status;
	if (st != 200) {
		mdr_reply_free(&r);
		return st;
	}
	j = as_document(path, &r);
	if (j) {
		/* a JSON document alone: its own bytes */
		json_decref(j);
		*out = malloc(r.body_len + 1);
		if (!*out) {
			mdr_reply_free(&r);
			return -ENOMEM;
		}
		memcpy(*out, r.body ? r.body : "", r.body_len);
		(*out)[r.body_len] = '\0';
		*len = r.body_len;
		mdr_reply_free(&r);
		return 200;
	}
	j = node(&v, path, &r);
	mdr_reply_free(&r);
	if (!j)
		return v.err ? v.err : -ENOMEM;
	mdr_pyjson_dump(&b, j);
	json_decref(j);
	*out = mdr_buf_take(&b, len);
	if (!*out)
		return -ENOMEM;
	if (*len > MDR_JSONVIEW_MAX) {
		free(*out);
		*out = NULL;
		return MDR_JSONVIEW_TOO_BIG;
	}
	return 200;
}
