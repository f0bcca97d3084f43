/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pyjson.h - serialise a jansson value exactly as Python's json.dumps()
 * does with its defaults (what nova's jsonutils.dump_as_bytes produces):
 * ", " and ": " separators, keys in insertion order, ensure_ascii
 * (\uXXXX lower-case hex, surrogate pairs above U+FFFF), floats as
 * Python's repr(). Guests compare documents with nova's byte for byte.
 */
#ifndef MDR_PYJSON_H
#define MDR_PYJSON_H

#include <stddef.h>
#include <jansson.h>

/* A growable byte buffer (also used by render.c). */
struct mdr_buf {
	char *p;
	size_t len, cap;
	int oom; /* an append failed: contents are incomplete */
};

void mdr_buf_put(struct mdr_buf *b, const void *data, size_t n);
void mdr_buf_puts(struct mdr_buf *b, const char *s);
/* Takes the contents (NUL-terminated, NULL if oom) and resets b. */
char *mdr_buf_take(struct mdr_buf *b, size_t *len);
void mdr_buf_free(struct mdr_buf *b);

/* Append the Python json.dumps() text of v to b. */
void mdr_pyjson_dump(struct mdr_buf *b, const json_t *v);

/* Format d as Python's repr(float) into out (>= 32 bytes). */
void mdr_pyjson_float(double d, char *out, size_t outlen);

#endif /* MDR_PYJSON_H */
