/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_siphash.h - SipHash-2-4 over a whole number of 8-byte blocks, the
 * kernel-side twin of user/core/hash.c's mdr_siphash (same output for the
 * same key and bytes; tests/bpf checks them against each other through
 * the SYN cookie). Blocks are read little-endian, as SipHash defines.
 */
#ifndef MDR_SIPHASH_H
#define MDR_SIPHASH_H

#include "mdr_common.h"

#define MDR_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define MDR_SIPROUND(v0, v1, v2, v3)                                             \
	do {                                                                     \
		v0 += v1; v1 = MDR_ROTL64(v1, 13); v1 ^= v0; v0 = MDR_ROTL64(v0, 32); \
		v2 += v3; v3 = MDR_ROTL64(v3, 16); v3 ^= v2;                     \
		v0 += v3; v3 = MDR_ROTL64(v3, 21); v3 ^= v0;                     \
		v2 += v1; v1 = MDR_ROTL64(v1, 17); v1 ^= v2; v2 = MDR_ROTL64(v2, 32); \
	} while (0)

static __always_inline __u64 mdr_le64(const void *p)
{
	__u64 v;

	__builtin_memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* SipHash-2-4 of nblocks * 8 bytes at data (on the stack) with a 16-byte key. */
static __always_inline __u64 mdr_siphash_blocks(const __u8 *key, const void *data, int nblocks)
{
	__u64 k0 = mdr_le64(key), k1 = mdr_le64(key + 8);
	__u64 v0 = 0x736f6d6570736575ull ^ k0;
	__u64 v1 = 0x646f72616e646f6dull ^ k1;
	__u64 v2 = 0x6c7967656e657261ull ^ k0;
	__u64 v3 = 0x7465646279746573ull ^ k1;
	__u64 b = (__u64)(nblocks * 8) << 56, m;

#pragma clang loop unroll(disable) /* keeps the caller's stack small */
	for (int i = 0; i < nblocks; i++) {
		m = mdr_le64((const __u8 *)data + 8 * i);
		v3 ^= m;
		MDR_SIPROUND(v0, v1, v2, v3);
		MDR_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	v3 ^= b;
	MDR_SIPROUND(v0, v1, v2, v3);
	MDR_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	MDR_SIPROUND(v0, v1, v2, v3);
	MDR_SIPROUND(v0, v1, v2, v3);
	MDR_SIPROUND(v0, v1, v2, v3);
	MDR_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif /* MDR_SIPHASH_H */
