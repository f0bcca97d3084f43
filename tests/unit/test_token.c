/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of IMDSv2 tokens: mint, verify, expiry, tampering, binding to
 * the instance, key rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "token.h"

#define UUID_A "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b"
#define UUID_B "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5c"
#define NOW 1700000000ull

static const uint8_t nonce1[MDR_TOKEN_NONCE_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t nonce2[MDR_TOKEN_NONCE_SIZE] = {12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static struct mdr_token_keys keys(uint32_t cur_id, uint8_t cur_fill, uint32_t prev_id,
				  uint8_t prev_fill)
{
	struct mdr_token_keys k;
	memset(&k, 0, sizeof(k));
	k.cur_id = cur_id;
	k.prev_id = prev_id;
	memset(k.cur, cur_fill, sizeof(k.cur));
	memset(k.prev, prev_fill, sizeof(k.prev));
	return k;
}

static size_t mint(const struct mdr_token_keys *k, const char *uuid, uint32_t ttl,
		   uint64_t now, const uint8_t *nonce, char *out)
{
	return mdr_token_mint(k, uuid, ttl, now, nonce, out, MDR_TOKEN_BUF_SIZE);
}

static enum mdr_token_status verify(const struct mdr_token_keys *k, const char *uuid,
				    const char *tok, uint64_t now)
{
	return mdr_token_verify(k, uuid, tok, strlen(tok), now);
}

static void test_mint_verify_roundtrip(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	size_t n = mint(&k, UUID_A, 21600, NOW, nonce1, tok);
	assert_int_equal(n, MDR_TOKEN_LEN);
	assert_int_equal(strlen(tok), MDR_TOKEN_LEN);
	for (size_t i = 0; i < n; i++) /* base64url: safe in a header and a URL */
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
				       tok[i]));
	assert_int_equal(verify(&k, UUID_A, tok, NOW), MDR_TOKEN_OK);
	assert_int_equal(verify(&k, UUID_A, tok, NOW + 21599), MDR_TOKEN_OK);
}

static void test_expiry(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 60, NOW, nonce1, tok) > 0);
	assert_int_equal(verify(&k, UUID_A, tok, NOW + 59), MDR_TOKEN_OK);
	assert_int_equal(verify(&k, UUID_A, tok, NOW + 60), MDR_TOKEN_EXPIRED);
	assert_int_equal(verify(&k, UUID_A, tok, NOW + 100000), MDR_TOKEN_EXPIRED);
	assert_int_equal(mdr_token_remaining(tok, strlen(tok), NOW + 10), 50);
	assert_int_equal(mdr_token_remaining(tok, strlen(tok), NOW + 60), 0);
}

static void test_ttl_bounds(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_int_equal(mint(&k, UUID_A, 0, NOW, nonce1, tok), 0);
	assert_int_equal(mint(&k, UUID_A, 21601, NOW, nonce1, tok), 0);
	assert_true(mint(&k, UUID_A, 1, NOW, nonce1, tok) > 0);
	assert_int_equal(verify(&k, UUID_A, tok, NOW), MDR_TOKEN_OK);
	assert_int_equal(verify(&k, UUID_A, tok, NOW + 1), MDR_TOKEN_EXPIRED);
}

static void test_other_instance_rejected(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 600, NOW, nonce1, tok) > 0);
	assert_int_equal(verify(&k, UUID_B, tok, NOW), MDR_TOKEN_INVALID);
	assert_int_equal(verify(&k, "", tok, NOW), MDR_TOKEN_INVALID);
}

static void test_every_tampered_char_rejected(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 600, NOW, nonce1, tok) > 0);
	for (size_t i = 0; i < MDR_TOKEN_LEN; i++) {
		char t[MDR_TOKEN_BUF_SIZE];
		memcpy(t, tok, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_int_equal(verify(&k, UUID_A, t, NOW), MDR_TOKEN_INVALID);
	}
}

static void test_extended_expiry_rejected(void **state)
{
	(void)state;
	/* Re-encoding a token with a later expiry (what an attacker would try)
	 * breaks the MAC. Build it by minting with the same nonce at a later
	 * time under another key, then splice the header onto the first MAC. */
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char a[MDR_TOKEN_BUF_SIZE], b[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 60, NOW, nonce1, a) > 0);
	assert_true(mint(&k, UUID_A, 60, NOW + 1000, nonce1, b) > 0);
	/* chars 0..32 encode the 25 signed bytes (33.3 chars): swap the first
	 * 32 chars, which cover version, key id, expiry and most of the nonce */
	memcpy(a, b, 32);
	assert_int_equal(verify(&k, UUID_A, a, NOW + 500), MDR_TOKEN_INVALID);
}

static void test_malformed_rejected(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 600, NOW, nonce1, tok) > 0);
	char t[MDR_TOKEN_BUF_SIZE + 8];
	/* truncated, extended, padded, bad alphabet, empty */
	assert_int_equal(mdr_token_verify(&k, UUID_A, tok, MDR_TOKEN_LEN - 1, NOW), MDR_TOKEN_INVALID);
	snprintf(t, sizeof(t), "%sA", tok);
	assert_int_equal(verify(&k, UUID_A, t, NOW), MDR_TOKEN_INVALID);
	snprintf(t, sizeof(t), "%s=", tok);
	assert_int_equal(verify(&k, UUID_A, t, NOW), MDR_TOKEN_INVALID);
	memcpy(t, tok, sizeof(tok));
	t[10] = '+';
	assert_int_equal(verify(&k, UUID_A, t, NOW), MDR_TOKEN_INVALID);
	t[10] = '\0';
	assert_int_equal(mdr_token_verify(&k, UUID_A, t, MDR_TOKEN_LEN, NOW), MDR_TOKEN_INVALID);
	assert_int_equal(verify(&k, UUID_A, "", NOW), MDR_TOKEN_INVALID);
	assert_int_equal(verify(&k, UUID_A, "AQAEAFb0V8WzJvBtXJ4Lx3ZIYbzZYKqPVfG9OFVDfHeS_lAdI5sKLQ==",
				NOW), MDR_TOKEN_INVALID); /* an AWS-looking token */
	assert_int_equal(mdr_token_verify(NULL, UUID_A, tok, MDR_TOKEN_LEN, NOW), MDR_TOKEN_INVALID);
}

static void test_nonce_makes_tokens_unique(void **state)
{
	(void)state;
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	char a[MDR_TOKEN_BUF_SIZE], b[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k, UUID_A, 600, NOW, nonce1, a) > 0);
	assert_true(mint(&k, UUID_A, 600, NOW, nonce2, b) > 0);
	assert_string_not_equal(a, b);
	assert_int_equal(verify(&k, UUID_A, a, NOW), MDR_TOKEN_OK);
	assert_int_equal(verify(&k, UUID_A, b, NOW), MDR_TOKEN_OK);
	/* deterministic for identical inputs (pure function) */
	assert_true(mint(&k, UUID_A, 600, NOW, nonce2, a) > 0);
	assert_string_equal(a, b);
}

static void test_rotation_prev_key_still_accepted(void **state)
{
	(void)state;
	struct mdr_token_keys old = keys(1, 0x11, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&old, UUID_A, 600, NOW, nonce1, tok) > 0);
	struct mdr_token_keys rotated = keys(2, 0x22, 1, 0x11);
	assert_int_equal(verify(&rotated, UUID_A, tok, NOW), MDR_TOKEN_OK);
	/* new tokens use the new key */
	char tok2[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&rotated, UUID_A, 600, NOW, nonce1, tok2) > 0);
	assert_int_equal(verify(&rotated, UUID_A, tok2, NOW), MDR_TOKEN_OK);
	assert_int_equal(verify(&old, UUID_A, tok2, NOW), MDR_TOKEN_INVALID);
}

static void test_rotation_retired_key_rejected(void **state)
{
	(void)state;
	struct mdr_token_keys old = keys(1, 0x11, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&old, UUID_A, 600, NOW, nonce1, tok) > 0);
	struct mdr_token_keys twice = keys(3, 0x33, 2, 0x22);
	assert_int_equal(verify(&twice, UUID_A, tok, NOW), MDR_TOKEN_INVALID);
	struct mdr_token_keys cleared = keys(2, 0x22, 0, 0x11); /* prev_id 0 = none */
	assert_int_equal(verify(&cleared, UUID_A, tok, NOW), MDR_TOKEN_INVALID);
}

static void test_same_id_other_key_rejected(void **state)
{
	(void)state;
	struct mdr_token_keys k1 = keys(5, 0x55, 0, 0);
	struct mdr_token_keys k2 = keys(5, 0x56, 0, 0); /* key replaced, id reused */
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_true(mint(&k1, UUID_A, 600, NOW, nonce1, tok) > 0);
	assert_int_equal(verify(&k2, UUID_A, tok, NOW), MDR_TOKEN_INVALID);
}

static void test_no_key_no_token(void **state)
{
	(void)state;
	struct mdr_token_keys none = keys(0, 0, 0, 0);
	char tok[MDR_TOKEN_BUF_SIZE];
	assert_int_equal(mint(&none, UUID_A, 600, NOW, nonce1, tok), 0);
	assert_int_equal(mdr_token_mint(NULL, UUID_A, 600, NOW, nonce1, tok, sizeof(tok)), 0);
	struct mdr_token_keys k = keys(7, 0xaa, 0, 0);
	assert_int_equal(mdr_token_mint(&k, UUID_A, 600, NOW, nonce1, tok, MDR_TOKEN_LEN), 0);
	/* with no key at all, nothing verifies */
	assert_true(mint(&k, UUID_A, 600, NOW, nonce1, tok) > 0);
	assert_int_equal(verify(&none, UUID_A, tok, NOW), MDR_TOKEN_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_verify_roundtrip),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_ttl_bounds),
		cmocka_unit_test(test_other_instance_rejected),
		cmocka_unit_test(test_every_tampered_char_rejected),
		cmocka_unit_test(test_extended_expiry_rejected),
		cmocka_unit_test(test_malformed_rejected),
		cmocka_unit_test(test_nonce_makes_tokens_unique),
		cmocka_unit_test(test_rotation_prev_key_still_accepted),
		cmocka_unit_test(test_rotation_retired_key_rejected),
		cmocka_unit_test(test_same_id_other_key_rejected),
		cmocka_unit_test(test_no_key_no_token),
	};
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
