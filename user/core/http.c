/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.c - incremental HTTP/1.1 request parser and response head builder.
 * See http.h for the rules. Every decision depends only on the bytes seen
 * so far, never on how they were split: that is what makes byte-by-byte
 * and pipelined input parse identically.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum state {
	S_START = 0, /* before a request line (empty lines skipped) */
	S_START_LF,  /* CR seen before a request line */
	S_METHOD,
	S_TARGET,
	S_VERSION,
	S_RL_LF,     /* CR after the version */
	S_HDR_START, /* start of a header line or of the final empty line */
	S_HDR_NAME,
	S_HDR_OWS,   /* after ':' */
	S_HDR_VALUE,
	S_HDR_LF,    /* CR at the end of a header line */
	S_HEAD_LF,   /* CR of the empty line ending the head */
	S_BODY,
};

enum hdr_id {
	H_NONE = 0,
	H_CONNECTION,
	H_CONTENT_LENGTH,
	H_TRANSFER_ENCODING,
	H_HOST,
	H_ACCEPT,
	H_TOKEN,
	H_TOKEN_TTL,
	H_FORWARDED_FOR,
	H_IF_NONE_MATCH,
};

static const struct {
	const char *name; /* lower case */
	enum hdr_id id;
} known_hdrs[] = {
	{"connection", H_CONNECTION},
	{"content-length", H_CONTENT_LENGTH},
	{"transfer-encoding", H_TRANSFER_ENCODING},
	{"host", H_HOST},
	{"accept", H_ACCEPT},
	{"x-aws-ec2-metadata-token", H_TOKEN},
	{"x-aws-ec2-metadata-token-ttl-seconds", H_TOKEN_TTL},
	{"x-forwarded-for", H_FORWARDED_FOR},
	{"if-none-match", H_IF_NONE_MATCH},
};

_Static_assert(sizeof("x-aws-ec2-metadata-token-ttl-seconds") - 1 <= HTTP_MAX_NAME,
	       "known header names fit HTTP_MAX_NAME");

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / SP / HTAB / obs-text. */
static bool is_value_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

void http_parser_init(struct http_parser *p, uint32_t max_req)
{
	memset(p, 0, sizeof(*p));
	if (max_req == 0 || max_req > HTTP_MAX_REQUEST)
		max_req = HTTP_MAX_REQUEST;
	p->max_req = max_req;
	p->state = S_START;
}

bool http_parser_busy(const struct http_parser *p)
{
	return p->state != S_START || p->empty_lines != 0;
}

static void req_reset(struct http_req *req)
{
	req->method = HTTP_M_OTHER;
	req->method_name[0] = '\0';
	req->target[0] = '\0';
	req->target_len = 0;
	req->version_minor = 1;
	req->keep_alive = false;
	req->has_content_length = false;
	req->content_length = 0;
	struct http_field *f[] = {&req->token, &req->token_ttl, &req->host, &req->accept,
				  &req->if_none_match};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		f[i]->count = 0;
		f[i]->len = 0;
		f[i]->value[0] = '\0';
	}
	req->forwarded_for = false;
	req->n_headers = 0;
	req->head_len = 0;
	req->body_len = 0;
	req->error_status = 0;
}

static enum http_result fail(struct http_parser *p, struct http_req *req, int status)
{
	p->failed = true;
	p->error_status = status;
	req->error_status = status;
	return HTTP_ERROR;
}

static void method_identify(struct http_req *req)
{
	static const struct {
		const char *name;
		enum http_method m;
	} methods[] = {
		{"GET", HTTP_M_GET}, {"HEAD", HTTP_M_HEAD},
		{"PUT", HTTP_M_PUT}, {"POST", HTTP_M_POST},
	};
	req->method = HTTP_M_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(req->method_name, methods[i].name) == 0) /* case-sensitive */
			req->method = methods[i].m;
}

/* Reduce an absolute-form target to its path; reject other non-origin
 * forms. Returns 0 or -1. */
static int target_finish(struct http_req *req)
{
	char *t = req->target;
	if (t[0] == '/')
		return 0;
	size_t skip;
	if (req->target_len >= 7 && ieq(t, 7, "http://"))
		skip = 7;
	else if (req->target_len >= 8 && ieq(t, 8, "https://"))
		skip = 8;
	else
		return -1;
	size_t i = skip;
	while (i < req->target_len && t[i] != '/' && t[i] != '?')
		i++;
	if (i == skip)
		return -1; /* empty authority */
	if (i == req->target_len) {
		strcpy(t, "/");
		req->target_len = 1;
		return 0;
	}
	size_t rest = req->target_len - i;
	if (t[i] == '?') { /* "http://h?q" -> "/?q" */
		memmove(t + 1, t + i, rest + 1);
		t[0] = '/';
		req->target_len = rest + 1;
	} else {
		memmove(t, t + i, rest + 1);
		req->target_len = rest;
	}
	return 0;
}

/* "HTTP/d.d": -> 0 ok, else the status to answer. */
static int version_finish(struct http_parser *p, struct http_req *req)
{
	const uint8_t *v = p->version;
	if (p->pos != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	/* RFC 9110 2.5: a higher minor version is served as the highest we
	 * implement. */
	req->version_minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/* Connection: comma-separated options, case-insensitive. */
static void connection_options(struct http_parser *p)
{
	const char *s = p->value;
	size_t n = p->vtrim;
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ows((uint8_t)s[i]) || s[i] == ','))
			i++;
		size_t start = i;
		while (i < n && s[i] != ',')
			i++;
		size_t end = i;
		while (end > start && is_ows((uint8_t)s[end - 1]))
			end--;
		if (ieq(s + start, end - start, "close"))
			p->conn_close = true;
		else if (ieq(s + start, end - start, "keep-alive"))
			p->conn_keep = true;
	}
}

static void field_store(struct http_parser *p, struct http_field *f)
{
	if (f->count == 0) {
		memcpy(f->value, p->value, p->vtrim);
		f->value[p->vtrim] = '\0';
		f->len = (uint16_t)p->vtrim;
	}
	if (f->count < UINT8_MAX)
		f->count++;
}

/* End of a header line: act on a kept header. 0 or an error status. */
static int header_finish(struct http_parser *p, struct http_req *req)
{
	switch ((enum hdr_id)p->hdr_id) {
	case H_CONNECTION:
		connection_options(p);
		break;
	case H_CONTENT_LENGTH: {
		if (p->vtrim == 0)
			return 400;
		size_t v = 0;
		for (size_t i = 0; i < p->vtrim; i++) {
			uint8_t c = (uint8_t)p->value[i];
			if (c < '0' || c > '9')
				return 400; /* sign, list, junk */
			if (v <= HTTP_MAX_REQUEST) /* saturate: anything above is too large */
				v = v * 10 + (size_t)(c - '0');
		}
		if (req->has_content_length && req->content_length != v)
			return 400;
		req->has_content_length = true;
		req->content_length = v;
		break;
	}
	case H_TRANSFER_ENCODING:
		p->has_te = true;
		break;
	case H_HOST:
		field_store(p, &req->host);
		break;
	case H_ACCEPT:
		field_store(p, &req->accept);
		break;
	case H_TOKEN:
		field_store(p, &req->token);
		break;
	case H_TOKEN_TTL:
		field_store(p, &req->token_ttl);
		break;
	case H_FORWARDED_FOR:
		req->forwarded_for = true;
		break;
	case H_IF_NONE_MATCH:
		field_store(p, &req->if_none_match);
		break;
	case H_NONE:
		break;
	}
	return 0;
}

/* End of the header section: framing decisions. 0 or an error status. */
static int head_finish(struct http_parser *p, struct http_req *req)
{
	req->head_len = p->head_len;
	if (req->host.count > 1)
		return 400;
	if (p->has_te) {
		if (req->has_content_length || req->version_minor == 0)
			return 400; /* ambiguous framing (RFC 9112 6.1, 6.3) */
		return 501;
	}
	if (req->content_length > HTTP_MAX_BODY ||
	    req->content_length > p->max_req - p->head_len)
		return 413;
	if (req->version_minor == 1)
		req->keep_alive = !p->conn_close;
	else
		req->keep_alive = p->conn_keep && !p->conn_close;
	return 0;
}

/* Limit on the head: the smaller of HTTP_MAX_HEAD and max_req. */
static size_t head_limit(const struct http_parser *p)
{
	return p->max_req < HTTP_MAX_HEAD ? p->max_req : HTTP_MAX_HEAD;
}

enum http_result http_parser_feed(struct http_parser *p, const uint8_t *data,
				  size_t len, size_t *consumed,
				  struct http_req *req)
{
	*consumed = 0;
	if (p->failed) {
		req->error_status = p->error_status;
		return HTTP_ERROR;
	}
	size_t i = 0;
	while (i < len) {
		if (p->state == S_BODY) {
			size_t n = len - i < p->body_left ? len - i : p->body_left;
			memcpy(req->body + req->body_len, data + i, n);
			req->body_len += n;
			p->body_left -= n;
			i += n;
			if (p->body_left == 0) {
				p->state = S_START;
				*consumed = i;
				return HTTP_REQUEST;
			}
			continue;
		}

		uint8_t c = data[i++];
		*consumed = i;
		if (p->state != S_START && p->state != S_START_LF) {
			if (++p->head_len > head_limit(p))
				return fail(p, req, p->state == S_TARGET ? 414 : 431);
		}

		switch ((enum state)p->state) {
		case S_START:
			if (c == '\r') {
				p->state = S_START_LF;
				break;
			}
			if (c == '\n') {
				if (++p->empty_lines > HTTP_MAX_EMPTY_LINES)
					return fail(p, req, 400);
				break;
			}
			if (!is_tchar(c))
				return fail(p, req, 400);
			req_reset(req);
			p->empty_lines = 0;
			p->conn_close = p->conn_keep = p->has_te = false;
			p->head_len = 1;
			p->pos = 0;
			req->method_name[p->pos++] = (char)c;
			p->state = S_METHOD;
			break;
		case S_START_LF:
			if (c != '\n')
				return fail(p, req, 400);
			if (++p->empty_lines > HTTP_MAX_EMPTY_LINES)
				return fail(p, req, 400);
			p->state = S_START;
			break;
		case S_METHOD:
			if (c == ' ') {
				req->method_name[p->pos] = '\0';
				method_identify(req);
				p->pos = 0;
				p->state = S_TARGET;
				break;
			}
			if (!is_tchar(c))
				return fail(p, req, 400);
			if (p->pos >= HTTP_MAX_METHOD)
				return fail(p, req, 501); /* longer than any method we know */
			req->method_name[p->pos++] = (char)c;
			break;
		case S_TARGET:
			if (c == ' ') {
				if (p->pos == 0)
					return fail(p, req, 400);
				req->target[p->pos] = '\0';
				req->target_len = p->pos;
				if (target_finish(req) != 0)
					return fail(p, req, 400);
				p->pos = 0;
				p->state = S_VERSION;
				break;
			}
			if (c < 0x21 || c > 0x7e)
				return fail(p, req, 400);
			if (p->pos >= HTTP_MAX_TARGET)
				return fail(p, req, 414);
			req->target[p->pos++] = (char)c;
			break;
		case S_VERSION:
			if (c == '\r' || c == '\n') {
				int st = version_finish(p, req);
				if (st)
					return fail(p, req, st);
				p->state = c == '\r' ? S_RL_LF : S_HDR_START;
				break;
			}
			if (p->pos >= sizeof(p->version))
				return fail(p, req, 400);
			p->version[p->pos++] = c;
			break;
		case S_RL_LF:
		case S_HDR_LF:
			if (c != '\n')
				return fail(p, req, 400);
			if (p->state == S_HDR_LF) {
				int st = header_finish(p, req);
				if (st)
					return fail(p, req, st);
			}
			p->state = S_HDR_START;
			break;
		case S_HDR_START:
		case S_HEAD_LF:
			if (p->state == S_HDR_START && c == '\r') {
				p->state = S_HEAD_LF;
				break;
			}
			if (c == '\n') {
				int st = head_finish(p, req);
				if (st)
					return fail(p, req, st);
				if (req->content_length > 0) {
					p->body_left = req->content_length;
					p->state = S_BODY;
					break;
				}
				p->state = S_START;
				return HTTP_REQUEST;
			}
			if (p->state == S_HEAD_LF || !is_tchar(c))
				return fail(p, req, 400); /* CR alone, obs-fold, junk */
			if (++req->n_headers > HTTP_MAX_HEADERS)
				return fail(p, req, 431);
			p->name_len = 0;
			p->name_long = false;
			p->name[p->name_len++] = (char)lower(c);
			p->state = S_HDR_NAME;
			break;
		case S_HDR_NAME:
			if (c == ':') {
				p->hdr_id = H_NONE;
				for (size_t k = 0; !p->name_long &&
				     k < sizeof(known_hdrs) / sizeof(known_hdrs[0]); k++)
					if (p->name_len == strlen(known_hdrs[k].name) &&
					    memcmp(p->name, known_hdrs[k].name, p->name_len) == 0)
						p->hdr_id = (uint8_t)known_hdrs[k].id;
				p->vlen = p->vtrim = 0;
				p->state = S_HDR_OWS;
				break;
			}
			if (!is_tchar(c))
				return fail(p, req, 400); /* incl. whitespace before ':' */
			if (p->name_len < HTTP_MAX_NAME)
				p->name[p->name_len++] = (char)lower(c);
			else
				p->name_long = true;
			break;
		case S_HDR_OWS:
		case S_HDR_VALUE:
			if (c == '\r' || c == '\n') {
				if (c == '\r') {
					p->state = S_HDR_LF;
					break;
				}
				int st = header_finish(p, req);
				if (st)
					return fail(p, req, st);
				p->state = S_HDR_START;
				break;
			}
			if (!is_value_char(c))
				return fail(p, req, 400);
			if (p->state == S_HDR_OWS && is_ows(c))
				break;
			p->state = S_HDR_VALUE;
			if (p->hdr_id != H_NONE && p->hdr_id != H_FORWARDED_FOR &&
			    p->hdr_id != H_TRANSFER_ENCODING) {
				if (p->vlen < HTTP_MAX_VALUE)
					p->value[p->vlen] = (char)c;
				p->vlen++;
				if (!is_ows(c)) {
					p->vtrim = p->vlen;
					if (p->vtrim > HTTP_MAX_VALUE)
						return fail(p, req, 431);
				}
			}
			break;
		case S_BODY:
			break; /* handled above */
		}
	}
	*consumed = len;
	return HTTP_NEED_MORE;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static bool hdr_text_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

/* Append n bytes of s to buf at *off, keeping buf NUL-terminated (as
 * snprintf would); false when out of room. The head is built per response,
 * so no printf. */
static bool put_n(char *buf, size_t cap, size_t *off, const char *s, size_t n)
{
	if (*off >= cap || n >= cap - *off)
		return false;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
	return true;
}

static bool put_s(char *buf, size_t cap, size_t *off, const char *s)
{
	return put_n(buf, cap, off, s, strlen(s));
}

/* Decimal, as %zu / %d would print it (v >= 0). */
static bool put_u(char *buf, size_t cap, size_t *off, uint64_t v)
{
	char tmp[20]; /* 2^64 has 20 digits */
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put_n(buf, cap, off, tmp + i, sizeof(tmp) - i);
}

#define PUT_LIT(buf, cap, off, lit) put_n(buf, cap, off, lit, sizeof(lit) - 1)

size_t http_response_head(char *buf, size_t cap, int status,
			  const char *content_type, size_t content_length,
			  int keep_alive, const struct http_hdr *extra,
			  size_t n_extra)
{
	size_t off = 0;
	if (status < 100 || status > 999)
		return 0;
	if (content_type && !hdr_text_ok(content_type))
		return 0;
	if (!PUT_LIT(buf, cap, &off, "HTTP/1.1 ") || !put_u(buf, cap, &off, (uint64_t)status) ||
	    !PUT_LIT(buf, cap, &off, " ") || !put_s(buf, cap, &off, http_reason(status)) ||
	    !PUT_LIT(buf, cap, &off, "\r\nServer: mdr\r\n"))
		return 0;
	if (content_type && (!PUT_LIT(buf, cap, &off, "Content-Type: ") ||
			     !put_s(buf, cap, &off, content_type) ||
			     !PUT_LIT(buf, cap, &off, "\r\n")))
		return 0;
	if (!PUT_LIT(buf, cap, &off, "Content-Length: ") ||
	    !put_u(buf, cap, &off, content_length) ||
	    !(keep_alive ? PUT_LIT(buf, cap, &off, "\r\nConnection: keep-alive\r\n")
			 : PUT_LIT(buf, cap, &off, "\r\nConnection: close\r\n")))
		return 0;
	for (size_t i = 0; i < n_extra; i++) {
		const struct http_hdr *h = &extra[i];
		if (!h->name || !h->value || !h->name[0])
			return 0;
		for (const char *s = h->name; *s; s++)
			if (!is_tchar((uint8_t)*s))
				return 0;
		if (!hdr_text_ok(h->value))
			return 0;
		if (!put_s(buf, cap, &off, h->name) || !PUT_LIT(buf, cap, &off, ": ") ||
		    !put_s(buf, cap, &off, h->value) || !PUT_LIT(buf, cap, &off, "\r\n"))
			return 0;
	}
	if (!PUT_LIT(buf, cap, &off, "\r\n"))
		return 0;
	return off;
}

void http_format_date(char out[HTTP_DATE_SIZE], uint64_t unix_s)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	/* Bounded fields (the %u ranges tell the compiler the size fits). */
	snprintf(out, HTTP_DATE_SIZE, "%s, %02u %s %04u %02u:%02u:%02u GMT",
		 days[tm.tm_wday % 7], (unsigned)tm.tm_mday % 100u, months[tm.tm_mon % 12],
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

const char *http_method_str(const struct http_req *req)
{
	return req->method_name;
}
