// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_path.c - libFuzzer target for the request path normaliser
 * (mdr_path_normalize in render.c), which sees every guest's request
 * target before anything else looks at it.
 *
 * Input: one byte choosing the output buffer size (2 .. 2 + 255 * 5
 * bytes, allocated exactly so ASan sees any overrun), then the raw target
 * (up to a NUL byte). Invariants (abort on violation):
 *  - an accepted path is NUL-terminated inside the buffer, starts with "/",
 *    has no empty, "." or ".." segment and no trailing "/" (except "/");
 *  - it equals a plain reference normaliser (decode, split, push/pop);
 *  - a short, shallow path is never refused when it fits the buffer all
 *    along (the normaliser builds in place: a long segment later removed
 *    by ".." still has to fit);
 *  - normalising the output again gives the output (idempotent), when the
 *    output has no '%', '?' or '#' that a second decode would reinterpret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defn.h"
#include "render.h"

/* Buffer size step per unit of the first input byte. */
#define OUT_STEP 5
/* Well under the normaliser's own limits (MDR_PATH_MAX, MDR_PATH_MAX / 2
 * segments): such a path must never be refused for being too big. */
#define SMALL_LEN (MDR_PATH_MAX / 2)
#define SMALL_DEPTH 64

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The reference: returns the normalised path (malloc'd), or NULL when the
 * path decodes a NUL byte. *depth: the deepest segment stack seen;
 * *declen: the decoded length; *peak: the longest the output gets on the
 * way (before a ".." takes a segment off). */
static char *reference(const char *raw, size_t *depth, size_t *declen, size_t *peak)
{
	size_t rl = strlen(raw), n = 0, nseg = 0, o = 0, cur = 0;
	char *dec = malloc(rl + 2), *out = malloc(rl + 2);
	size_t *seg = malloc((rl + 2) * sizeof(*seg)), *segl = malloc((rl + 2) * sizeof(*segl));

	if (!dec || !out || !seg || !segl)
		abort();
	*depth = *peak = 0;
	for (const char *p = raw; *p && *p != '?' && *p != '#'; p++) {
		char c = *p;

		if (c == '%' && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
			c = (char)(hexv(p[1]) * 16 + hexv(p[2]));
			p += 2;
			if (!c) {
				free(dec), free(out), free(seg), free(segl);
				return NULL;
			}
		}
		dec[n++] = c;
	}
	*declen = n;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && dec[j] != '/')
			j++;
		if (j - i == 2 && dec[i] == '.' && dec[i + 1] == '.') {
			if (nseg)
				cur -= 1 + segl[--nseg];
		} else if (j > i && !(j - i == 1 && dec[i] == '.')) {
			seg[nseg] = i;
			segl[nseg++] = j - i;
			cur += 1 + (j - i);
			if (nseg > *depth)
				*depth = nseg;
			if (cur > *peak)
				*peak = cur;
		}
		i = j + 1;
	}
	for (size_t s = 0; s < nseg; s++) {
		out[o++] = '/';
		memcpy(out + o, dec + seg[s], segl[s]);
		o += segl[s];
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	free(dec), free(seg), free(segl);
	return out;
}

static void check_shape(const char *out, size_t outlen)
{
	size_t l = strnlen(out, outlen);

	if (l == outlen || out[0] != '/')
		abort();
	if (l > 1 && out[l - 1] == '/')
		abort();
	for (size_t i = 0; i < l; i++) {
		if (out[i] != '/')
			continue;
		if (out[i + 1] == '/' && l > 1)
			abort();
		if (out[i + 1] == '.' && (out[i + 2] == '/' || !out[i + 2]))
			abort();
		if (out[i + 1] == '.' && out[i + 2] == '.' && (out[i + 3] == '/' || !out[i + 3]))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outlen, depth = 0, declen = 0, peak = 0;
	char *raw, *out, *ref, *again;
	int rc;

	if (size < 1)
		return 0;
	outlen = 2 + (size_t)data[0] * OUT_STEP;
	raw = strndup((const char *)data + 1, size - 1);
	out = malloc(outlen);
	if (!raw || !out)
		abort();
	rc = mdr_path_normalize(raw, out, outlen);
	ref = reference(raw, &depth, &declen, &peak);
	if (!ref) {
		if (rc == 0)
			abort(); /* an encoded NUL must be refused */
	} else if (rc == 0) {
		check_shape(out, outlen);
		if (strcmp(out, ref))
			abort();
		if (!strpbrk(out, "%?#")) {
			again = malloc(outlen);
			if (!again || mdr_path_normalize(out, again, outlen) || strcmp(again, out))
				abort();
			free(again);
		}
	} else if (declen < SMALL_LEN && depth < SMALL_DEPTH && peak + 1 < outlen) {
		abort(); /* refused a small path that fits */
	}
	free(ref);
	free(out);
	free(raw);
	return 0;
}
