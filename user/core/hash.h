/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hash: the two hashes of mdr.
 * - FNV-1a, 32 bit: stable across builds and hosts, for non-adversarial
 *   keys (instance ids from uuids, the responder's memo table).
 * - SipHash-2-4, keyed: for anything a guest can aim collisions at (the
 *   TCP table) and for secrets derived from data (ISN / SYN cookies).
 */
#ifndef MDR_HASH_H
#define MDR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MDR_FNV1A_INIT 2166136261u
#define MDR_FNV1A_PRIME 16777619u

/* Continue hash h over n bytes at p. */
static inline uint32_t mdr_fnv1a(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t k = 0; k < n; k++)
		h = (h ^ b[k]) * MDR_FNV1A_PRIME;
	return h;
}

/* SipHash-2-4 key size. */
#define MDR_SIPHASH_KEY_LEN 16

/* SipHash-2-4 of data[0..len) under key (reference test vectors in
 * tests/unit/test_tcp.c). */
uint64_t mdr_siphash(const uint8_t key[MDR_SIPHASH_KEY_LEN], const void *data, size_t len);

#endif /* MDR_HASH_H */
