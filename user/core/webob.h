/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * webob.h - error bodies as nova sends them: webob's WSGIHTTPException
 * picks HTML, JSON or plain text from the request's Accept header
 * (acceptable_offers(['text/html', 'application/json']), else text/plain)
 * and fills its templates. Pure code: no I/O.
 */
#ifndef MDR_WEBOB_H
#define MDR_WEBOB_H

#include <stdbool.h>
#include <stddef.h>

enum mdr_webob_fmt { MDR_WEBOB_PLAIN, MDR_WEBOB_HTML, MDR_WEBOB_JSON };

/* The format webob answers an Accept header with (present: the request
 * has one; value: its field value, len bytes). curl's and
 * python-requests' "* / *" gets HTML, no header plain text. */
enum mdr_webob_fmt mdr_webob_negotiate(bool present, const char *value, size_t len);

/* The explanation webob's exception class prints for status (404: "The
 * resource could not be found."), NULL for a status it has none for here. */
const char *mdr_webob_explanation(int status);

/*
 * The body of webob's error for status with explanation (NULL: the
 * class's own) in format f: a malloc'd string (*len bytes) and its content
 * type (*ctype, a static string). NULL on allocation failure.
 */
char *mdr_webob_body(int status, const char *explanation, enum mdr_webob_fmt f,
		     size_t *len, const char **ctype);

#endif
