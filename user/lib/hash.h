/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* FNV-1a, 32 bit: stable across builds and hosts, for non-adversarial keys
 * (instance ids from uuids, the responder's memo table). Not for anything a
 * guest can aim collisions at (the TCP table uses keyed SipHash). */
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

#endif /* MDR_HASH_H */
