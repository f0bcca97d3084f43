/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.h - incremental, strict, bounded HTTP/1.1 request parser and
 * response header builder. Pure code: no I/O, no clock, no allocation.
 *
 * The parser is a byte-at-a-time state machine, so a request split at any
 * byte (down to one byte per TCP segment) parses exactly like the same
 * bytes in one buffer, and several pipelined requests in one buffer come
 * out one at a time. Only the headers the responder acts on are kept;
 * every other header is syntax-checked, counted and dropped.
 *
 * Choices (RFC 9112 unless said):
 *  - request-target: origin-form ("/..."), or absolute-form
 *    ("http://host/...": the path is kept); anything else -> 400.
 *  - a bare LF ends a line like CRLF (RFC 9112 2.2 allows it); a CR not
 *    followed by LF -> 400. Up to HTTP_MAX_EMPTY_LINES empty lines before
 *    a request line are skipped (2.2: clients may send a CRLF after a body).
 *  - whitespace before ':' or an obs-fold continuation line -> 400.
 *  - Content-Length: digits only; a list or differing duplicates -> 400;
 *    above the body limit -> 413.
 *  - Transfer-Encoding: no request needs a body we cannot size up front,
 *    so any Transfer-Encoding -> 501 (with Content-Length too, or on
 *    HTTP/1.0 -> 400: ambiguous framing, RFC 9112 6.1).
 *  - Host: duplicates -> 400; a missing Host is accepted (no virtual
 *    hosting here, and hand-written probes omit it).
 *  - HTTP/1.0 and 1.1 only; "HTTP/d.d" otherwise -> 505.
 * After ERROR the parser stays in error: the caller answers
 * http_req.error_status with "Connection: close" and closes.
 */
#ifndef MDR_HTTP_H
#define MDR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Method token: the longest method we implement is 4 bytes, 16 keeps the
 * name of other common methods (OPTIONS, DELETE, PROPFIND) for logs/405;
 * a longer method cannot be one we implement -> 501. */
#define HTTP_MAX_METHOD 16
/* Request-target: metadata paths are < 200 bytes; > this -> 414. */
#define HTTP_MAX_TARGET 1024
/* Whole header section incl. request line: curl/botocore send < 300
 * bytes; 8 KiB is the common server default -> 431 above. */
#define HTTP_MAX_HEAD 8192
/* Header field lines per request -> 431 above. */
#define HTTP_MAX_HEADERS 64
/* Value of a header we keep (token, TTL, Host, Accept, If-None-Match): tokens are < 100
 * bytes; a longer value of a kept header -> 431. */
#define HTTP_MAX_VALUE 256
/* Request body: the only body used is a password (MDR_PASSWORD_MAX =
 * 1020, more -> nova's 400 from the handler); 4 KiB leaves room to see
 * that overflow, larger bodies -> 413. */
#define HTTP_MAX_BODY 4096
/* Default and largest total request (head + body) for http_parser_init. */
#define HTTP_MAX_REQUEST (HTTP_MAX_HEAD + HTTP_MAX_BODY)
/* Empty lines tolerated before a request line (then 400). */
#define HTTP_MAX_EMPTY_LINES 4
/* Header names are matched against known ones of at most this length;
 * longer names are checked and skipped without being stored. */
#define HTTP_MAX_NAME 40
/* Room for any response head http_response_head writes for mdr. */
#define HTTP_RESPONSE_HEAD_MAX 1024

enum http_result {
	HTTP_NEED_MORE = 0, /* all input consumed, request incomplete */
	HTTP_REQUEST = 1,   /* *req is complete; *consumed bytes used */
	HTTP_ERROR = 2,     /* bad request: answer req->error_status, close */
};

enum http_method {
	HTTP_M_OTHER = 0, /* name in http_req.method_name */
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_PUT,
	HTTP_M_POST,
};

/* A kept header: count is how many field lines carried it. */
struct http_field {
	uint8_t count;                 /* 0 = absent (saturates at 255) */
	uint16_t len;
	char value[HTTP_MAX_VALUE + 1]; /* first occurrence, OWS trimmed, NUL-terminated */
};

struct http_req {
	enum http_method method;
	char method_name[HTTP_MAX_METHOD + 1]; /* as received, NUL-terminated */
	char target[HTTP_MAX_TARGET + 1];      /* raw target (absolute-form reduced
					        * to its path), NUL-terminated */
	size_t target_len;
	uint8_t version_minor; /* HTTP/1.<minor>: 0 or 1 */
	bool keep_alive;       /* after this request (version + Connection) */
	bool has_content_length;
	size_t content_length;
	struct http_field token;     /* X-aws-ec2-metadata-token */
	struct http_field token_ttl; /* X-aws-ec2-metadata-token-ttl-seconds */
	struct http_field host;
	struct http_field accept;
	struct http_field if_none_match; /* ETag revalidation (serve.h) */
	bool forwarded_for;          /* an X-Forwarded-For header (any case) */
	size_t n_headers;            /* field lines seen */
	size_t head_len;             /* bytes of request line + headers */
	uint8_t body[HTTP_MAX_BODY];
	size_t body_len;             /* == content_length when complete */
	int error_status;            /* set with HTTP_ERROR: 400/413/414/431/501/505 */
};

/* Parser state (opaque to callers; fields are internal). */
struct http_parser {
	uint32_t max_req;  /* head + body limit */
	uint8_t state;
	uint8_t empty_lines;
	bool in_request;   /* *req was reset for the request being parsed */
	bool saw_cr;
	bool failed;
	int error_status;
	size_t pos;        /* bytes in the current element */
	size_t head_len;
	size_t body_left;
	uint8_t hdr_id;    /* which kept header the current line is */
	bool name_long;
	size_t name_len;
	char name[HTTP_MAX_NAME + 1];
	size_t vlen;       /* value bytes (trailing OWS included) */
	size_t vtrim;      /* value length without trailing OWS */
	char value[HTTP_MAX_VALUE + 1];
	bool conn_close, conn_keep, has_te;
	uint8_t version[8];
};

/*
 * Reset p for a new connection. max_req bounds one request (head + body)
 * in bytes (an instance's max_request): 0 = HTTP_MAX_REQUEST; values above
 * HTTP_MAX_REQUEST are clamped to it. A head crossing it -> 431 (414 while
 * still in the target); Content-Length making the request cross it -> 413.
 */
void http_parser_init(struct http_parser *p, uint32_t max_req);

/*
 * Feed len bytes. *req is filled progressively: pass the same req for
 * every call until HTTP_REQUEST or HTTP_ERROR (it is reset when the next
 * request starts). Returns:
 *  HTTP_NEED_MORE - *consumed == len, feed more later;
 *  HTTP_REQUEST   - *req holds one complete request (body included);
 *                   *consumed <= len: feed data + *consumed again for the
 *                   next pipelined request (HTTP_NEED_MORE with
 *                   *consumed == 0 when nothing is left);
 *  HTTP_ERROR     - req->error_status is the status to answer; the
 *                   connection must close (every later call errors too).
 * The result and *req are the same however the input is split.
 */
enum http_result http_parser_feed(struct http_parser *p, const uint8_t *data,
				  size_t len, size_t *consumed,
				  struct http_req *req);

/* True when the parser holds part of a request (bytes after the last
 * complete one): lets the caller tell an idle keep-alive connection from
 * a stalled request. */
bool http_parser_busy(const struct http_parser *p);

/* An extra response header (name and value without CRLF). */
struct http_hdr {
	const char *name;
	const char *value;
};

/* Reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/*
 * Write a response head into buf:
 *   HTTP/1.1 <status> <reason>\r\n
 *   Server: mdr\r\n
 *   Content-Type: <content_type>\r\n        (omitted when NULL)
 *   Content-Length: <content_length>\r\n    (always)
 *   Connection: keep-alive | close\r\n
 *   <extra headers>\r\n ...
 *   \r\n
 * No Date: pure code has no clock; pass one as an extra header
 * (http_format_date) if wanted. Names/values must not contain CR/LF
 * (rejected). Returns the length written (no NUL counted, one written if
 * room), or 0 when cap is too small or a header is invalid.
 */
size_t http_response_head(char *buf, size_t cap, int status,
			  const char *content_type, size_t content_length,
			  int keep_alive, const struct http_hdr *extra,
			  size_t n_extra);

/* IMF-fixdate of unix time t ("Sun, 06 Nov 1994 08:49:37 GMT"). */
#define HTTP_DATE_SIZE 30
void http_format_date(char out[HTTP_DATE_SIZE], uint64_t unix_s);

/* Printable name of a method (method_name for HTTP_M_OTHER). */
const char *http_method_str(const struct http_req *req);

#endif /* MDR_HTTP_H */
