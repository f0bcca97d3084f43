/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * token.h - IMDSv2 session tokens: stateless, bound to one instance,
 * authenticated with HMAC-SHA256 (OpenSSL). Pure code: the clock and the
 * nonce are injected.
 *
 * Token = base64url, no padding, of
 *   version (1 byte, MDR_TOKEN_VERSION) | key id (u32 BE) |
 *   expiry (u64 BE, unix seconds) | nonce (MDR_TOKEN_NONCE_SIZE bytes) |
 *   HMAC-SHA256(key, those bytes | instance uuid)
 * The uuid is authenticated but not carried: another instance's token
 * fails the MAC. The key comes from the pinned mdr_tokkey map, so tokens
 * survive a responder restart.
 *
 * Key rotation: write a new key as `cur` with a new non-zero id and move
 * the old one to `prev` (same map update). Tokens signed with either are
 * accepted; after MDR_TOKEN_TTL_MAX seconds no valid token can still use
 * `prev`, which may then be cleared (prev_id = 0).
 */
#ifndef MDR_TOKEN_H
#define MDR_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"

/* EC2's accepted TTL range for X-aws-ec2-metadata-token-ttl-seconds. */
#define MDR_TOKEN_TTL_MIN 1
#define MDR_TOKEN_TTL_MAX 21600
/* Format version byte (a future format changes it). */
#define MDR_TOKEN_VERSION 1
/* Random bytes per token: makes every token unique (96 bits). */
#define MDR_TOKEN_NONCE_SIZE 12
/* MAC length: full HMAC-SHA256 output. */
#define MDR_TOKEN_MAC_SIZE 32
/* Decoded token bytes: 1 + 4 + 8 + nonce + MAC = 57. */
#define MDR_TOKEN_RAW_SIZE (1 + 4 + 8 + MDR_TOKEN_NONCE_SIZE + MDR_TOKEN_MAC_SIZE)
/* base64url text length (57 bytes -> 76 chars, no padding). */
#define MDR_TOKEN_LEN ((MDR_TOKEN_RAW_SIZE * 8 + 5) / 6)
/* Buffer for a minted token including its NUL. */
#define MDR_TOKEN_BUF_SIZE (MDR_TOKEN_LEN + 1)

enum mdr_token_status {
	MDR_TOKEN_OK = 0,
	MDR_TOKEN_EXPIRED = 1, /* authentic, but now >= expiry */
	MDR_TOKEN_INVALID = 2, /* malformed, unknown key, bad MAC, other instance */
};

/*
 * Mint a token for instance_uuid valid ttl_s seconds from now_s, signed
 * with k->cur. nonce: MDR_TOKEN_NONCE_SIZE random bytes from the caller.
 * Writes the NUL-terminated token (MDR_TOKEN_LEN chars) into out.
 * Returns its length, or 0 when: no current key (cur_id == 0), ttl_s out
 * of MDR_TOKEN_TTL_MIN..MDR_TOKEN_TTL_MAX, cap < MDR_TOKEN_BUF_SIZE,
 * or HMAC failure.
 */
size_t mdr_token_mint(const struct mdr_token_keys *k, const char *instance_uuid,
		      uint32_t ttl_s, uint64_t now_s,
		      const uint8_t nonce[MDR_TOKEN_NONCE_SIZE], char *out,
		      size_t cap);

/*
 * Check a presented token (len bytes, need not be NUL-terminated) for
 * instance_uuid at now_s. The MAC is checked (constant time) before the
 * expiry, so EXPIRED is only reported for authentic tokens. A key id
 * matching neither cur_id nor prev_id (or 0) -> INVALID.
 */
enum mdr_token_status mdr_token_verify(const struct mdr_token_keys *k,
				       const char *instance_uuid,
				       const char *token, size_t len,
				       uint64_t now_s);

/* Remaining lifetime in seconds of a token that verified OK (0 otherwise
 * or when expired): for the TTL header on replies. */
uint64_t mdr_token_remaining(const char *token, size_t len, uint64_t now_s);

#endif /* MDR_TOKEN_H */
