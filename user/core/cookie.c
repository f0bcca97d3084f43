/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* cookie: SYN cookies shared with the XDP program (see cookie.h). */
#include "cookie.h"
#include "hash.h"

#include <string.h>

_Static_assert(MDR_COOKIE_KEY_LEN == MDR_SIPHASH_KEY_LEN, "the cookie key is a SipHash key");

const uint16_t mdr_cookie_mss[MDR_COOKIE_MSS_N] = MDR_COOKIE_MSS;

unsigned mdr_cookie_mss_idx(uint16_t mss_opt)
{
	unsigned i = MDR_COOKIE_MSS_N - 1;

	while (i > 0 && mdr_cookie_mss[i] > mss_opt)
		i--;
	return i;
}

uint32_t mdr_cookie_slot(uint64_t now_ns)
{
	return (uint32_t)(now_ns / MDR_COOKIE_SLOT_NS);
}

uint32_t mdr_cookie_make(const uint8_t key[MDR_COOKIE_KEY_LEN], const struct mdr_cookie_tuple *t,
			 uint32_t cisn, uint32_t slot, unsigned mss_idx)
{
	struct mdr_cookie_in ci;
	size_t alen = t->family == 6 ? 16 : 4;
	uint64_t h;

	memset(&ci, 0, sizeof(ci));
	ci.instance_id = t->instance_id;
	ci.family = t->family;
	ci.mss_idx = (uint8_t)(mss_idx & (MDR_COOKIE_MSS_N - 1));
	memcpy(ci.local, t->local, alen);
	memcpy(ci.remote, t->remote, alen);
	ci.lport = t->lport;
	ci.rport = t->rport;
	ci.cisn = cisn;
	ci.slot = slot;
	h = mdr_siphash(key, &ci, sizeof(ci));
	return ((uint32_t)(h ^ (h >> 32)) & ~(uint32_t)(MDR_COOKIE_MSS_N - 1)) | ci.mss_idx;
}

uint16_t mdr_cookie_check(const uint8_t key[MDR_COOKIE_KEY_LEN], const struct mdr_cookie_tuple *t,
			  uint32_t cisn, uint32_t isn, uint64_t now_ns)
{
	unsigned idx = isn & (MDR_COOKIE_MSS_N - 1);
	uint32_t slot = mdr_cookie_slot(now_ns);

	for (int d = -1; d <= 1; d++)
		if (mdr_cookie_make(key, t, cisn, slot + (uint32_t)d, idx) == isn)
			return mdr_cookie_mss[idx];
	return 0;
}
