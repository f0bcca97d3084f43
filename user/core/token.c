/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * token.c - IMDSv2 tokens: HMAC-SHA256 (OpenSSL) over a fixed-size header
 * and the instance uuid, base64url-encoded. See token.h for the format.
 */
#include "token.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Bytes covered by the MAC before the uuid: version, key id, expiry, nonce. */
#define SIGNED_SIZE (MDR_TOKEN_RAW_SIZE - MDR_TOKEN_MAC_SIZE)
/* Longest uuid text authenticated (the record's field size). */
#define UUID_MAX (MDR_UUID_SIZE - 1)

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	return o;
}

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode exactly MDR_TOKEN_LEN chars into MDR_TOKEN_RAW_SIZE bytes.
 * Strict: alphabet only, and the unused low bits of the last char must be
 * zero (one token has exactly one text form). Returns 0 or -1. */
static int b64url_decode_token(const char *in, size_t len, uint8_t *out)
{
	if (len != MDR_TOKEN_LEN)
		return -1;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < MDR_TOKEN_RAW_SIZE)
				out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (o != MDR_TOKEN_RAW_SIZE || acc != 0)
		return -1;
	return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* HMAC-SHA256(key, signed | uuid) -> mac. Returns 0 or -1. */
static int token_mac(const uint8_t key[MDR_TOKEN_KEY_SIZE], const uint8_t *signed_part,
		     const char *uuid, uint8_t mac[MDR_TOKEN_MAC_SIZE])
{
	size_t ulen = strnlen(uuid, UUID_MAX + 1);
	if (ulen > UUID_MAX)
		return -1;
	uint8_t msg[SIGNED_SIZE + UUID_MAX];
	memcpy(msg, signed_part, SIGNED_SIZE);
	memcpy(msg + SIGNED_SIZE, uuid, ulen);
	unsigned int mlen = 0;
	if (!HMAC(EVP_sha256(), key, MDR_TOKEN_KEY_SIZE, msg, SIGNED_SIZE + ulen, mac, &mlen) ||
	    mlen != MDR_TOKEN_MAC_SIZE)
		return -1;
	return 0;
}

size_t mdr_token_mint(const struct mdr_token_keys *k, const char *instance_uuid,
		      uint32_t ttl_s, uint64_t now_s,
		      const uint8_t nonce[MDR_TOKEN_NONCE_SIZE], char *out, size_t cap)
{
	if (!k || k->cur_id == 0 || !instance_uuid || !out || cap < MDR_TOKEN_BUF_SIZE)
		return 0;
	if (ttl_s < MDR_TOKEN_TTL_MIN || ttl_s > MDR_TOKEN_TTL_MAX)
		return 0;
	uint8_t raw[MDR_TOKEN_RAW_SIZE];
	raw[0] = MDR_TOKEN_VERSION;
	put_be32(raw + 1, k->cur_id);
	put_be64(raw + 5, now_s + ttl_s);
	memcpy(raw + 13, nonce, MDR_TOKEN_NONCE_SIZE);
	if (token_mac(k->cur, raw, instance_uuid, raw + SIGNED_SIZE) != 0)
		return 0;
	size_t n = b64url_encode(raw, sizeof(raw), out);
	out[n] = '\0';
	return n;
}

enum mdr_token_status mdr_token_verify(const struct mdr_token_keys *k,
				       const char *instance_uuid,
				       const char *token, size_t len,
				       uint64_t now_s)
{
	uint8_t raw[MDR_TOKEN_RAW_SIZE];
	if (!k || !instance_uuid || !token || b64url_decode_token(token, len, raw) != 0)
		return MDR_TOKEN_INVALID;
	if (raw[0] != MDR_TOKEN_VERSION)
		return MDR_TOKEN_INVALID;
	uint32_t id = get_be32(raw + 1);
	const uint8_t *key;
	if (id != 0 && id == k->cur_id)
		key = k->cur;
	else if (id != 0 && id == k->prev_id)
		key = k->prev;
	else
		return MDR_TOKEN_INVALID;
	uint8_t mac[MDR_TOKEN_MAC_SIZE];
	if (token_mac(key, raw, instance_uuid, mac) != 0)
		return MDR_TOKEN_INVALID;
	if (CRYPTO_memcmp(mac, raw + SIGNED_SIZE, MDR_TOKEN_MAC_SIZE) != 0)
		return MDR_TOKEN_INVALID;
	if (now_s >= get_be64(raw + 5))
		return MDR_TOKEN_EXPIRED;
	return MDR_TOKEN_OK;
}

uint64_t mdr_token_remaining(const char *token, size_t len, uint64_t now_s)
{
	uint8_t raw[MDR_TOKEN_RAW_SIZE];
	if (!token || b64url_decode_token(token, len, raw) != 0)
		return 0;
	uint64_t exp = get_be64(raw + 5);
	return exp > now_s ? exp - now_s : 0;
}
