// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_token.c - libFuzzer target for IMDSv2 tokens (token.c). A guest
 * presents any X-aws-ec2-metadata-token it likes; this checks that only
 * tokens minted with the key validate.
 *
 * Input: a fixed header (keys, key ids, clock, TTL, nonce, a position and
 * a byte), then the instance uuid up to a NUL byte, then a presented token.
 * Invariants (abort on violation):
 *  - a presented token that verifies OK (or EXPIRED) decodes to a key id
 *    of cur or prev, and is byte for byte the token mint() makes with that
 *    key, its nonce and its expiry: nothing else validates;
 *  - remaining() is > 0 exactly when verify() says OK;
 *  - a minted token is MDR_TOKEN_LEN characters of the base64url alphabet,
 *    verifies OK until now + ttl - 1 and EXPIRED from now + ttl, reports
 *    ttl seconds remaining, and is INVALID for another uuid, with the key
 *    ids swapped away, or with any one character changed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

/* Input header, packed, integers little-endian: cur key, prev key, cur_id,
 * prev_id (u32), now (u64), ttl (u32), nonce, pos, ch (u8). */
#define HDR_SIZE (2 * MDR_TOKEN_KEY_SIZE + 4 + 4 + 8 + 4 + MDR_TOKEN_NONCE_SIZE + 1 + 1)

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The clock is wall time in seconds: keep it far from wrapping. */
#define NOW_MASK ((1ull << 62) - 1)
/* Long enough for any uuid the parser accepts, and some that it rejects. */
#define UUID_BUF 128

static int b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decode the header fields of a presented token (text already checked to
 * be MDR_TOKEN_LEN base64url characters): key id, expiry, nonce. */
static void decode_fields(const char *t, uint32_t *id, uint64_t *exp, uint8_t *nonce)
{
	uint8_t raw[MDR_TOKEN_RAW_SIZE + 3];
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < MDR_TOKEN_LEN; i++) {
		acc = acc << 6 | (uint32_t)(strchr(alphabet, t[i]) - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*id = (uint32_t)raw[1] << 24 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 8 | raw[4];
	*exp = 0;
	for (int i = 0; i < 8; i++)
		*exp = *exp << 8 | raw[5 + i];
	memcpy(nonce, raw + 13, MDR_TOKEN_NONCE_SIZE);
}

/* A presented token that the verifier accepted must be one we could mint. */
static void check_presented(const struct mdr_token_keys *k, const char *uuid, const char *tok,
			    size_t len, uint64_t now)
{
	enum mdr_token_status st = mdr_token_verify(k, uuid, tok, len, now);
	uint64_t rem = mdr_token_remaining(tok, len, now);
	struct mdr_token_keys one;
	uint8_t nonce[MDR_TOKEN_NONCE_SIZE];
	char again[MDR_TOKEN_BUF_SIZE];
	uint32_t id;
	uint64_t exp;

	if (st != MDR_TOKEN_OK && st != MDR_TOKEN_EXPIRED && st != MDR_TOKEN_INVALID)
		abort();
	if (st == MDR_TOKEN_OK && rem == 0)
		abort();
	if (st == MDR_TOKEN_EXPIRED && rem != 0)
		abort();
	if (st == MDR_TOKEN_INVALID)
		return;
	if (len != MDR_TOKEN_LEN)
		abort();
	for (size_t i = 0; i < len; i++)
		if (!b64url_char(tok[i]))
			abort();
	decode_fields(tok, &id, &exp, nonce);
	memset(&one, 0, sizeof(one));
	if (id == 0 || (id != k->cur_id && id != k->prev_id))
		abort();
	one.cur_id = id;
	memcpy(one.cur, id == k->cur_id ? k->cur : k->prev, MDR_TOKEN_KEY_SIZE);
	/* mint(now = exp - 1, ttl 1) writes expiry exp */
	if (exp == 0 || mdr_token_mint(&one, uuid, 1, exp - 1, nonce, again, sizeof(again)) != MDR_TOKEN_LEN)
		abort();
	if (memcmp(again, tok, MDR_TOKEN_LEN))
		abort();
}

static void check_minted(const struct mdr_token_keys *k, const char *uuid, uint32_t ttl,
			 uint64_t now, const uint8_t *nonce, unsigned pos, uint8_t ch)
{
	char tok[MDR_TOKEN_BUF_SIZE], other[UUID_BUF + 2];
	struct mdr_token_keys swapped = *k;
	size_t n = mdr_token_mint(k, uuid, ttl, now, nonce, tok, sizeof(tok));
	int valid_args = k->cur_id != 0 && ttl >= MDR_TOKEN_TTL_MIN && ttl <= MDR_TOKEN_TTL_MAX;

	if (!n) {
		/* refused only for a missing key, a TTL out of range or a uuid
		 * too long to authenticate */
		if (valid_args && strlen(uuid) < MDR_UUID_SIZE)
			abort();
		return;
	}
	if (!valid_args || n != MDR_TOKEN_LEN || strlen(tok) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!b64url_char(tok[i]))
			abort();
	if (mdr_token_verify(k, uuid, tok, n, now) != MDR_TOKEN_OK ||
	    mdr_token_verify(k, uuid, tok, n, now + ttl - 1) != MDR_TOKEN_OK ||
	    mdr_token_verify(k, uuid, tok, n, now + ttl) != MDR_TOKEN_EXPIRED)
		abort();
	if (mdr_token_remaining(tok, n, now) != ttl)
		abort();
	/* bound to the instance: any other uuid (a prefix, an extension) fails */
	snprintf(other, sizeof(other), "%sx", uuid);
	if (mdr_token_verify(k, other, tok, n, now) != MDR_TOKEN_INVALID)
		abort();
	if (uuid[0]) {
		other[strlen(uuid) - 1] = '\0';
		if (mdr_token_verify(k, other, tok, n, now) != MDR_TOKEN_INVALID)
			abort();
	}
	/* signed with cur: invalid once cur's id is neither cur nor prev */
	swapped.cur_id = k->cur_id + 1;
	if (swapped.prev_id != k->cur_id && swapped.cur_id != 0 &&
	    mdr_token_verify(&swapped, uuid, tok, n, now) != MDR_TOKEN_INVALID)
		abort();
	/* and still valid after rotation (cur -> prev) */
	swapped.prev_id = k->cur_id;
	memcpy(swapped.prev, k->cur, MDR_TOKEN_KEY_SIZE);
	if (mdr_token_verify(&swapped, uuid, tok, n, now) != MDR_TOKEN_OK)
		abort();
	/* one character changed: never valid */
	pos %= n;
	if (tok[pos] != (char)ch) {
		tok[pos] = (char)ch;
		if (mdr_token_verify(k, uuid, tok, n, now) != MDR_TOKEN_INVALID)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdr_token_keys k;
	char uuid[UUID_BUF];
	const uint8_t *rest, *nul, *h = data + 2 * MDR_TOKEN_KEY_SIZE;
	size_t rlen, ulen;
	uint64_t now;

	if (size < HDR_SIZE)
		return 0;
	rest = data + HDR_SIZE;
	rlen = size - HDR_SIZE;
	nul = memchr(rest, 0, rlen);
	ulen = nul ? (size_t)(nul - rest) : rlen;
	if (ulen >= sizeof(uuid))
		return 0;
	memcpy(uuid, rest, ulen);
	uuid[ulen] = '\0';
	memset(&k, 0, sizeof(k));
	memcpy(k.cur, data, MDR_TOKEN_KEY_SIZE);
	memcpy(k.prev, data + MDR_TOKEN_KEY_SIZE, MDR_TOKEN_KEY_SIZE);
	k.cur_id = (uint32_t)le(h, 4);
	k.prev_id = (uint32_t)le(h + 4, 4);
	now = le(h + 8, 8) & NOW_MASK;
	check_minted(&k, uuid, (uint32_t)le(h + 16, 4), now, h + 20, h[20 + MDR_TOKEN_NONCE_SIZE],
		     h[21 + MDR_TOKEN_NONCE_SIZE]);
	if (nul)
		check_presented(&k, uuid, (const char *)nul + 1, rlen - ulen - 1, now);
	return 0;
}
