// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pyjson.c - Python json.dumps() compatible serialiser (see pyjson.h). */
#include "pyjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Initial buffer size: one typical meta_data.json without growing. */
#define MDR_BUF_INITIAL 1024

void mdr_buf_put(struct mdr_buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : MDR_BUF_INITIAL;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void mdr_buf_puts(struct mdr_buf *b, const char *s)
{
	mdr_buf_put(b, s, strlen(s));
}

char *mdr_buf_take(struct mdr_buf *b, size_t *len)
{
	char *p = b->p;

	if (b->oom) {
		free(p);
		p = NULL;
	} else if (!p) {
		p = calloc(1, 1);
	}
	if (len)
		*len = p ? b->len : 0;
	memset(b, 0, sizeof(*b));
	return p;
}

void mdr_buf_free(struct mdr_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Decode one UTF-8 sequence (jansson guarantees valid UTF-8). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && n >= 2) {
		*cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && n >= 3) {
		*cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
		      (s[2] & 0x3f);
		return 3;
	}
	if ((s[0] & 0xf8) == 0xf0 && n >= 4) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
		      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	*cp = 0xfffd; /* not reached for jansson strings */
	return 1;
}

static void put_u(struct mdr_buf *b, uint32_t u)
{
	char tmp[8];

	snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)u);
	mdr_buf_put(b, tmp, 6);
}

static void dump_string(struct mdr_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	mdr_buf_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		const char *esc = NULL;

		/* Python escapes all but ' '..'~': DEL (0x7f) too */
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		mdr_buf_put(b, p + i - run, run); /* flush plain ASCII */
		run = 0;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc) {
			mdr_buf_puts(b, esc);
			i++;
		} else if (c < 0x20) {
			put_u(b, c);
			i++;
		} else {
			uint32_t cp;

			i += utf8_next(p + i, n - i, &cp);
			if (cp >= 0x10000) {
				cp -= 0x10000;
				put_u(b, 0xd800 | (cp >> 10));
				put_u(b, 0xdc00 | (cp & 0x3ff));
			} else {
				put_u(b, cp);
			}
		}
	}
	mdr_buf_put(b, p + i - run, run);
	mdr_buf_put(b, "\"", 1);
}

void mdr_pyjson_float(double d, char *out, size_t outlen)
{
	char tmp[40], digits[20];
	int prec, exp10, nd = 0, decpt;
	char *e;

	if (isnan(d) || isinf(d)) { /* not produced by a JSON parser */
		snprintf(out, outlen, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	/* Shortest digit string that reads back to the same double. */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* tmp = [-]d[.ddd]e[+-]XX */
	e = strchr(tmp, 'e');
	exp10 = atoi(e + 1);
	for (char *q = tmp; q < e; q++)
		if (*q >= '0' && *q <= '9')
			digits[nd++] = *q;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1; /* digits are 0.DIGITS x 10^decpt */

	struct mdr_buf b = {0};
	if (signbit(d))
		mdr_buf_put(&b, "-", 1);
	if (decpt <= -4 || decpt > 16) {
		/* Python repr: exponent form, e.g. 1e-05, 1.5e+16 */
		mdr_buf_put(&b, digits, 1);
		if (nd > 1) {
			mdr_buf_put(&b, ".", 1);
			mdr_buf_put(&b, digits + 1, (size_t)nd - 1);
		}
		snprintf(tmp, sizeof(tmp), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
		mdr_buf_puts(&b, tmp);
	} else if (decpt <= 0) {
		mdr_buf_puts(&b, "0.");
		for (int z = 0; z < -decpt; z++)
			mdr_buf_put(&b, "0", 1);
		mdr_buf_put(&b, digits, (size_t)nd);
	} else if (nd <= decpt) {
		mdr_buf_put(&b, digits, (size_t)nd);
		for (int z = nd; z < decpt; z++)
			mdr_buf_put(&b, "0", 1);
		mdr_buf_puts(&b, ".0");
	} else {
		mdr_buf_put(&b, digits, (size_t)decpt);
		mdr_buf_put(&b, ".", 1);
		mdr_buf_put(&b, digits + decpt, (size_t)(nd - decpt));
	}
	snprintf(out, outlen, "%s", b.p ? b.p : "0.0");
	mdr_buf_free(&b);
}

void mdr_pyjson_dump(struct mdr_buf *b, const json_t *v)
{
	char tmp[48];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		int first = 1;

		mdr_buf_put(b, "{", 1);
		json_object_foreach((json_t *)v, k, x) {
			if (!first)
				mdr_buf_put(b, ", ", 2);
			first = 0;
			dump_string(b, k, strlen(k));
			mdr_buf_put(b, ": ", 2);
			mdr_pyjson_dump(b, x);
		}
		mdr_buf_put(b, "}", 1);
		break;
	}
	case JSON_ARRAY:
		mdr_buf_put(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				mdr_buf_put(b, ", ", 2);
			mdr_pyjson_dump(b, json_array_get(v, i));
		}
		mdr_buf_put(b, "]", 1);
		break;
	case JSON_STRING:
		dump_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		mdr_buf_puts(b, tmp);
		break;
	case JSON_REAL:
		mdr_pyjson_float(json_real_value(v), tmp, sizeof(tmp));
		mdr_buf_puts(b, tmp);
		break;
	case JSON_TRUE:
		mdr_buf_puts(b, "true");
		break;
	case JSON_FALSE:
		mdr_buf_puts(b, "false");
		break;
	case JSON_NULL:
		mdr_buf_puts(b, "null");
		break;
	}
}
