/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* hash: SipHash-2-4 (see hash.h). */
#include "hash.h"

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0;                \
		v0 = rotl64(v0, 32);                                    \
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                \
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                \
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2;                \
		v2 = rotl64(v2, 32);                                    \
	} while (0)

uint64_t mdr_siphash(const uint8_t key[MDR_SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
