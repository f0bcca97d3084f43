/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Query strings, ETags, Accept (see query.h for the rules). */
#include "query.h"

#include <string.h>

/* A decoded name or value longer than this cannot be a known one (the
 * longest is an ETag with quotes and W/, 20 bytes): it is ignored, or
 * for a known name, a bad value. */
#define QUERY_MAX_TOKEN 64

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (NUL-terminated). Returns the length, or
 * -1 when it does not fit (too long to matter) or holds a bad escape. */
static int decode(const char *s, size_t n, char out[QUERY_MAX_TOKEN + 1])
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o >= QUERY_MAX_TOKEN)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		if (x != *b)
			return false;
	}
	return *a == *b;
}

static int parse_bool(const char *v, bool *out)
{
	if (ieq(v, "true"))
		*out = true;
	else if (ieq(v, "false"))
		*out = false;
	else
		return 400;
	return 0;
}

enum { Q_WAIT = 1, Q_RECURSIVE = 2, Q_ALT = 4, Q_TIMEOUT = 8, Q_ETAG = 16 };

static int one(struct mdr_query *q, unsigned *seen, const char *name, const char *v, int vlen)
{
	unsigned bit;

	if (!strcmp(name, "wait_for_change"))
		bit = Q_WAIT;
	else if (!strcmp(name, "recursive"))
		bit = Q_RECURSIVE;
	else if (!strcmp(name, "alt"))
		bit = Q_ALT;
	else if (!strcmp(name, "timeout_sec"))
		bit = Q_TIMEOUT;
	else if (!strcmp(name, "last_etag"))
		bit = Q_ETAG;
	else
		return 0; /* unknown: ignored */
	if (*seen & bit)
		return 400;
	*seen |= bit;
	switch (bit) {
	case Q_WAIT:
		return vlen < 0 ? 400 : parse_bool(v, &q->wait_for_change);
	case Q_RECURSIVE:
		return vlen < 0 ? 400 : parse_bool(v, &q->recursive);
	case Q_ALT:
		if (vlen >= 0 && ieq(v, "json"))
			q->alt = MDR_ALT_JSON;
		else if (vlen >= 0 && ieq(v, "text"))
			q->alt = MDR_ALT_TEXT;
		else
			return 400;
		return 0;
	case Q_TIMEOUT: {
		uint32_t t = 0;
		if (vlen <= 0 || vlen > 3)
			return 400; /* 300 has three digits */
		for (int i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return 400;
			t = t * 10 + (uint32_t)(v[i] - '0');
		}
		if (t < 1 || t > MDR_WAIT_MAX_S)
			return 400;
		q->timeout_s = t;
		return 0;
	}
	case Q_ETAG:
	default:
		q->has_last_etag = true;
		q->last_etag_valid = vlen >= 0 && mdr_etag_parse(v, (size_t)vlen, &q->last_etag) == 0;
		return 0;
	}
}

int mdr_query_parse(const char *target, struct mdr_query *q)
{
	const char *s = target + strcspn(target, "?#");
	unsigned seen = 0;

	memset(q, 0, sizeof(*q));
	q->timeout_s = MDR_WAIT_DEFAULT_S;
	if (*s != '?')
		return 0; /* no query, or '?' only inside the fragment */
	s++;
	while (*s && *s != '#') {
		size_t n = strcspn(s, "&#");
		const char *eq = memchr(s, '=', n);
		size_t nl = eq ? (size_t)(eq - s) : n;
		char name[QUERY_MAX_TOKEN + 1], val[QUERY_MAX_TOKEN + 1];
		int vlen = 0;

		if (n > 0 && decode(s, nl, name) >= 0) {
			if (eq)
				vlen = decode(eq + 1, n - nl - 1, val);
			else
				vlen = (int)strlen(strcpy(val, "true"));
			if (vlen < 0)
				val[0] = '\0';
			else
				vlen = (int)strlen(val) == vlen ? vlen : -1; /* NUL inside: bad */
			int r = one(q, &seen, name, val, vlen);
			if (r)
				return r;
		} /* else: a name too long or badly escaped is no known name */
		s += n;
		if (*s == '&')
			s++;
	}
	return 0;
}

uint64_t mdr_etag_update(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	/* FNV-1a 64: stable across builds and hosts (a guest may keep a tag
	 * across a responder restart); a collision only costs a guest a
	 * missed wake-up of its own making. */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

uint64_t mdr_etag_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

void mdr_etag_format(uint64_t tag, char out[MDR_ETAG_SIZE])
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '"';
	for (int i = 0; i < 16; i++)
		out[1 + i] = hex[(tag >> (60 - 4 * i)) & 15];
	out[17] = '"';
	out[18] = '\0';
}

int mdr_etag_parse(const char *s, size_t len, uint64_t *tag)
{
	uint64_t v = 0;

	if (len >= 2 && s[0] == 'W' && s[1] == '/') {
		s += 2;
		len -= 2;
	}
	if (len == 18 && s[0] == '"' && s[17] == '"') {
		s++;
		len = 16;
	}
	if (len != 16)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int d = hexval(s[i]);
		if (d < 0 || (s[i] >= 'A' && s[i] <= 'F'))
			return -1; /* we send lower case only */
		v = v << 4 | (uint64_t)d;
	}
	if (v == 0)
		return -1; /* never sent */
	*tag = v;
	return 0;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim OWS around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
	while (*n && ows(*s)) {
		s++;
		(*n)--;
	}
	while (*n && ows(s[*n - 1]))
		(*n)--;
	return s;
}

bool mdr_etag_none_match(const char *value, size_t len, uint64_t tag)
{
	size_t i = 0;

	while (i <= len) {
		size_t j = i;
		while (j < len && value[j] != ',')
			j++;
		size_t n = j - i;
		const char *m = trim(value + i, &n);
		uint64_t t;
		if (n == 1 && m[0] == '*')
			return true;
		if (mdr_etag_parse(m, n, &t) == 0 && t == tag)
			return true;
		i = j + 1;
	}
	return false;
}

/* Media type of one Accept member (before ';'), case-insensitive. */
static bool media_is(const char *m, size_t n, const char *want)
{
	size_t w = strlen(want);

	if (n != w)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = m[i] >= 'A' && m[i] <= 'Z' ? (char)(m[i] + 32) : m[i];
		if (c != want[i])
			return false;
	}
	return true;
}

/* A ";q=0" (or 0.0, 0.00, 0.000) parameter in params[0..n). */
static bool q_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ';')
			continue;
		size_t k = i + 1;
		while (k < n && ows(p[k]))
			k++;
		if (k + 1 < n && (p[k] == 'q' || p[k] == 'Q') && p[k + 1] == '=') {
			k += 2;
			if (k >= n || p[k] != '0')
				return false;
			for (k++; k < n && (p[k] == '.' || p[k] == '0'); k++)
				;
			return k == n || ows(p[k]) || p[k] == ';';
		}
	}
	return false;
}

bool mdr_accept_json(const char *value, size_t len)
{
	bool json = false;
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && value[j] != ',')
			j++;
		size_t n = j - i;
		const char *m = trim(value + i, &n);
		size_t t = 0;
		while (t < n && m[t] != ';')
			t++;
		size_t tl = t;
		const char *ty = trim(m, &tl);
		bool zero = q_zero(m + t, n - t);
		if (!zero) {
			if (media_is(ty, tl, "application/json"))
				json = true;
			else if (media_is(ty, tl, "text/plain") || media_is(ty, tl, "text/*"))
				return false;
		}
		i = j + 1;
	}
	return json;
}
