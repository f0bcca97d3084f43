// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * webob.c - nova's error bodies (webob 1.8 exc.WSGIHTTPException), see
 * webob.h. The templates and the negotiation are webob's; the bytes are
 * checked against webob itself by tests/e2e/nova_diff.py.
 */
#include "webob.h"

#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CT_HTML "text/html; charset=UTF-8"
#define CT_JSON "application/json"
#define CT_PLAIN "text/plain; charset=UTF-8"

/* Media ranges of one Accept header considered (more: the rest ignored). */
#define WEBOB_MAX_RANGES 32
/* q values in thousandths (RFC 9110: at most three decimals). */
#define Q_ONE 1000

const char *mdr_webob_explanation(int status)
{
	switch (status) {
	case 400: return "The server could not comply with the request since it is either "
			 "malformed or otherwise incorrect.";
	case 404: return "The resource could not be found.";
	case 409: return "There was a conflict when trying to complete your request.";
	case 500: return "The server has either erred or is incapable of performing the "
			 "requested operation.";
	default: return NULL;
	}
}

struct range {
	const char *type, *sub;
	size_t tlen, slen;
	int q;         /* thousandths */
	bool extparam; /* a parameter other than q: matches no bare offer */
};

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static size_t token(const char *s, size_t i, size_t n)
{
	while (i < n && is_tchar(s[i]))
		i++;
	return i;
}

/* "0", "0.xyz", "1", "1.000": thousandths, or -1. */
static int parse_q(const char *s, size_t n)
{
	int q = 0, scale = 100;
	size_t i;

	if (!n || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * Q_ONE;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q <= Q_ONE ? q : -1;
}

/* Split the header into ranges; -1 when it is not a valid Accept value
 * (webob then treats every offer as acceptable). */
static int parse_accept(const char *s, size_t n, struct range *r, size_t *nr)
{
	size_t i = 0;

	*nr = 0;
	while (i < n) {
		struct range x = {.q = Q_ONE};
		size_t j;

		i = skip_ows(s, i, n);
		if (i < n && s[i] == ',') { /* empty list elements are allowed */
			i++;
			continue;
		}
		if (i >= n)
			break;
		j = token(s, i, n);
		if (j == i || j >= n || s[j] != '/')
			return -1;
		x.type = s + i;
		x.tlen = j - i;
		i = j + 1;
		j = token(s, i, n);
		if (j == i)
			return -1;
		x.sub = s + i;
		x.slen = j - i;
		i = skip_ows(s, j, n);
		while (i < n && s[i] == ';') {
			size_t ns, ne, vs, ve;

			ns = skip_ows(s, i + 1, n);
			ne = token(s, ns, n);
			if (ne == ns || ne >= n || s[ne] != '=')
				return -1;
			vs = ne + 1;
			if (vs < n && s[vs] == '"') {
				ve = vs + 1;
				while (ve < n && s[ve] != '"')
					ve += s[ve] == '\\' ? 2 : 1;
				if (ve >= n)
					return -1;
				ve++;
			} else {
				ve = token(s, vs, n);
			}
			if (ne - ns == 1 && (s[ns] == 'q' || s[ns] == 'Q')) {
				x.q = parse_q(s + vs, ve - vs);
				if (x.q < 0)
					return -1;
			} else {
				x.extparam = true;
			}
			i = skip_ows(s, ve, n);
		}
		if (i < n && s[i] != ',')
			return -1;
		if (*nr < WEBOB_MAX_RANGES)
			r[(*nr)++] = x;
	}
	return 0;
}

static bool eq(const char *a, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(a, lit, n);
}

/* The q of offer type/sub: that of its most specific matching range, -1
 * when none matches. */
static int offer_q(const struct range *r, size_t nr, const char *type, const char *sub)
{
	int best = 0, q = -1;

	for (size_t i = 0; i < nr; i++) {
		int spec;

		if (r[i].extparam)
			continue;
		if (eq(r[i].type, r[i].tlen, "*"))
			spec = eq(r[i].sub, r[i].slen, "*") ? 1 : 0;
		else if (!eq(r[i].type, r[i].tlen, type))
			spec = 0;
		else if (eq(r[i].sub, r[i].slen, "*"))
			spec = 2;
		else
			spec = eq(r[i].sub, r[i].slen, sub) ? 3 : 0;
		if (spec > best || (spec && spec == best && r[i].q > q)) {
			best = spec;
			q = r[i].q;
		}
	}
	return q;
}

enum mdr_webob_fmt mdr_webob_negotiate(bool present, const char *value, size_t len)
{
	struct range r[WEBOB_MAX_RANGES];
	size_t nr;
	int qh, qj;

	if (!present)
		return MDR_WEBOB_PLAIN;
	if (parse_accept(value, len, r, &nr))
		return MDR_WEBOB_HTML; /* AcceptInvalidHeader: every offer */
	qh = offer_q(r, nr, "text", "html");
	qj = offer_q(r, nr, "application", "json");
	if (qh > 0 && qh >= qj)
		return MDR_WEBOB_HTML; /* ties go to the first offer */
	if (qj > 0)
		return MDR_WEBOB_JSON;
	return MDR_WEBOB_PLAIN;
}

char *mdr_webob_body(int status, const char *explanation, enum mdr_webob_fmt f,
		     size_t *len, const char **ctype)
{
	const char *reason = http_reason(status);
	char *out = NULL;
	int n;

	if (!explanation)
		explanation = mdr_webob_explanation(status);
	if (!explanation)
		explanation = "";
	switch (f) {
	case MDR_WEBOB_HTML:
		*ctype = CT_HTML;
		n = asprintf(&out,
			     "<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n"
			     "  <h1>%d %s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
			     status, reason, status, reason, explanation);
		break;
	case MDR_WEBOB_JSON:
		/* the explanations above need no JSON escaping */
		*ctype = CT_JSON;
		n = asprintf(&out,
			     "{\"message\": \"%s<br /><br />\\n\\n\\n\", \"code\": \"%d %s\", "
			     "\"title\": \"%s\"}",
			     explanation, status, reason, reason);
		break;
	case MDR_WEBOB_PLAIN:
	default:
		*ctype = CT_PLAIN;
		n = asprintf(&out, "%d %s\n\n%s\n\n   ", status, reason, explanation);
		break;
	}
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}
