/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * query.h - the query string of a metadata request, ETags, and the
 * request headers that select a view (GCE's wait_for_change and
 * recursive, Firecracker's Accept: application/json). Pure code.
 *
 * Query rules (the part after '?' of the request-target; '#...' dropped):
 *  - pairs are separated by '&'; a name without '=' has the value "true";
 *    names and values are percent-decoded ('+' is a space);
 *  - known names, each at most once (a repeated known name -> 400):
 *      wait_for_change  true | false        (else 400)
 *      recursive        true | false        (else 400)
 *      alt              json | text         (else 400)
 *      timeout_sec      decimal 1..MDR_WAIT_MAX_S (else 400; default
 *                       MDR_WAIT_DEFAULT_S)
 *      last_etag        an ETag as mdr sends it, with or without its
 *                       quotes; anything else is kept as "no such tag":
 *                       it differs from every current tag, so a wait
 *                       returns at once with the current tag (GCE does
 *                       the same with a stale tag);
 *    boolean values are matched without regard to case;
 *  - any other name is ignored (clients add cache busters);
 *  - a query longer than the request-target limit cannot happen (414).
 */
#ifndef MDR_QUERY_H
#define MDR_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Long-poll timeout when timeout_sec is absent (GCE waits about as long). */
#define MDR_WAIT_DEFAULT_S 300u
/* Largest timeout_sec: GCE's limit; beyond it a proxy or NAT on the path
 * may already have dropped the idle connection. */
#define MDR_WAIT_MAX_S 300u
/* Text of an ETag incl. the quotes and NUL: "\"" 16 hex digits "\"". */
#define MDR_ETAG_SIZE 19

enum mdr_alt {
	MDR_ALT_NONE = 0, /* not given */
	MDR_ALT_JSON,
	MDR_ALT_TEXT,
};

struct mdr_query {
	bool wait_for_change;
	bool recursive;
	enum mdr_alt alt;
	uint32_t timeout_s;     /* MDR_WAIT_DEFAULT_S when not given */
	bool has_last_etag;     /* last_etag given */
	bool last_etag_valid;   /* ... and it is a tag mdr could have sent */
	uint64_t last_etag;     /* its value when valid */
};

/* Parse the query of target (everything after the first '?'; no '?' =
 * empty query). Returns 0, or 400 with *q unspecified. */
int mdr_query_parse(const char *target, struct mdr_query *q);

/* The ETag value of a reply: a 64-bit hash of status, content type and
 * body (never 0). Continue with mdr_etag_update over more bytes. */
#define MDR_ETAG_INIT 0xcbf29ce484222325ull
uint64_t mdr_etag_update(uint64_t h, const void *p, size_t n);
/* Mix a finished value into one tag (the 0 value is mapped to 1). */
uint64_t mdr_etag_final(uint64_t h);

/* "\"0123456789abcdef\"" (strong, quoted) into out. */
void mdr_etag_format(uint64_t tag, char out[MDR_ETAG_SIZE]);

/* Parse one ETag as mdr_etag_format writes it, quotes optional, "W/"
 * prefix accepted (weak comparison, RFC 9110 13.1.2). 0 or -1. */
int mdr_etag_parse(const char *s, size_t len, uint64_t *tag);

/* If-None-Match (RFC 9110 13.1.2) against the current tag: true when the
 * header value is "*" or lists tag (weak comparison). Unparseable
 * members never match. */
bool mdr_etag_none_match(const char *value, size_t len, uint64_t tag);

/* Accept asks for the JSON view: one of its media ranges is
 * application/json (q not 0) and none is text/plain or text/ (a client
 * that accepts text keeps today's bytes). */
bool mdr_accept_json(const char *value, size_t len);

#endif /* MDR_QUERY_H */
