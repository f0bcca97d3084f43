/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cookie: SYN cookies, the ISN of a SYN-ACK that keeps no state. One
 * format for the two senders, the responder's TCP engine (when its table
 * is full) and the XDP program (bpf/mdr_synack.h, every SYN when the
 * handshake is in XDP); the responder checks both when an ACK matches no
 * connection. Format and reasons: maps/mdr_abi.h (struct mdr_cookie_in)
 * and docs/DESIGN.md "Handshake in XDP". Pure: the clock is passed in
 * (CLOCK_MONOTONIC nanoseconds, the clock of bpf_ktime_get_ns).
 */
#ifndef MDR_COOKIE_H
#define MDR_COOKIE_H

#include <stdint.h>

#include "mdr_abi.h"

/* The connection a cookie is for (addresses network order, IPv4 in bytes
 * 0..3 and the rest zero; ports host order). */
struct mdr_cookie_tuple {
	uint32_t instance_id;
	uint8_t family; /* 4 or 6 */
	uint8_t local[16];
	uint8_t remote[16];
	uint16_t lport, rport;
};

/* The MSS table a cookie's three low bits index. */
extern const uint16_t mdr_cookie_mss[MDR_COOKIE_MSS_N];

/* The index of the largest table entry <= the peer's MSS option (0 =
 * absent, and anything below 536, count as 536). */
unsigned mdr_cookie_mss_idx(uint16_t mss_opt);
/* The time counter at now_ns. */
uint32_t mdr_cookie_slot(uint64_t now_ns);
/* The cookie for a SYN with sequence number cisn at time slot. */
uint32_t mdr_cookie_make(const uint8_t key[MDR_COOKIE_KEY_LEN], const struct mdr_cookie_tuple *t,
			 uint32_t cisn, uint32_t slot, unsigned mss_idx);
/*
 * Does isn (the ACK's acknowledgment number - 1) carry a cookie for this
 * tuple and peer ISN (its sequence number - 1)? Accepted: made in the
 * current slot, the previous one (a cookie lives 64 to 128 s) or the next
 * (XDP's clock read may be a little ahead of the responder's batch time).
 * Returns the MSS it encodes, or 0.
 */
uint16_t mdr_cookie_check(const uint8_t key[MDR_COOKIE_KEY_LEN], const struct mdr_cookie_tuple *t,
			  uint32_t cisn, uint32_t isn, uint64_t now_ns);

#endif /* MDR_COOKIE_H */
