/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * b64.h - strict standard base64 (RFC 4648 section 4, with padding) on top
 * of OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock. Pure code.
 */
#ifndef MDR_B64_H
#define MDR_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes, without the NUL. */
static inline size_t mdr_b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Encode n bytes into out (mdr_b64_encoded_len(n) + 1 bytes, NUL-terminated).
 * Returns the number of characters written. */
size_t mdr_b64_encode(const void *in, size_t n, char *out);

/* Encode into a malloc'd NUL-terminated string (NULL on allocation failure). */
char *mdr_b64_encode_alloc(const void *in, size_t n);

/*
 * Decode text (len bytes; ASCII whitespace anywhere is ignored, as MIME
 * line breaks are common in user data). The rest must be the standard
 * alphabet, a multiple of 4 characters, with '=' padding only at the end.
 * On success returns 0, *out is malloc'd (never NULL, even for 0 bytes)
 * and *outlen its length. Returns -EINVAL when invalid, -ENOMEM when
 * out of memory, and -E2BIG when the decoded length (then in *outlen)
 * would exceed max.
 */
int mdr_b64_decode(const char *text, size_t len, size_t max, uint8_t **out,
		   size_t *outlen);

#endif /* MDR_B64_H */
