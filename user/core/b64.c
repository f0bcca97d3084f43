// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* b64.c - strict base64 over OpenSSL's block coders (see b64.h). */
#include "b64.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

size_t mdr_b64_encode(const void *in, size_t n, char *out)
{
	size_t done = 0, w = 0;

	/* EVP_EncodeBlock takes an int length: feed it in bounded slices
	 * (a multiple of 3 so no padding appears mid-stream). */
	while (n - done > 0) {
		size_t slice = n - done;

		if (slice > 3u * (1u << 20))
			slice = 3u * (1u << 20);
		w += (size_t)EVP_EncodeBlock((unsigned char *)out + w,
					     (const unsigned char *)in + done, (int)slice);
		done += slice;
	}
	out[w] = '\0';
	return w;
}

char *mdr_b64_encode_alloc(const void *in, size_t n)
{
	char *out = malloc(mdr_b64_encoded_len(n) + 1);

	if (out)
		mdr_b64_encode(in, n, out);
	return out;
}

static int b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int mdr_b64_decode(const char *text, size_t len, size_t max, uint8_t **out,
		   size_t *outlen)
{
	char *clean;
	size_t n = 0, pad = 0, raw;
	uint8_t *buf;
	int got;

	*out = NULL;
	*outlen = 0;
	clean = malloc(len + 1);
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (is_ws(c))
			continue;
		if (c == '=') {
			pad++;
		} else if (!b64_char(c) || pad) {
			free(clean); /* bad character, or data after padding */
			return -EINVAL;
		}
		clean[n++] = (char)c;
	}
	if (n % 4 || pad > 2) {
		free(clean);
		return -EINVAL;
	}
	raw = n / 4 * 3 - pad;
	if (raw > max) {
		free(clean);
		*outlen = raw; /* for the caller's error message */
		return -E2BIG;
	}
	buf = malloc(n / 4 * 3 + 1);
	if (!buf) {
		free(clean);
		return -ENOMEM;
	}
	if (n > (size_t)INT32_MAX) {
		free(clean);
		free(buf);
		return -2;
	}
	got = n ? EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)n) : 0;
	free(clean);
	/* EVP_DecodeBlock counts the padding as zero bytes: drop them. */
	if (got < 0 || (size_t)got != n / 4 * 3) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = raw;
	return 0;
}
