/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* clock: the programs' one monotonic clock (CLOCK_MONOTONIC). The pure
 * cores never read a clock: their callers pass the time in. */
#ifndef MDR_CLOCK_H
#define MDR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mdr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int64_t mdr_mono_ms(void)
{
	return (int64_t)(mdr_mono_ns() / 1000000ull);
}

/* The wall clock in Unix seconds (CLOCK_REALTIME), for what is dated in
 * UTC: IAM credentials' Expiration (mdr_render_ctx.wall; opaque unused). */
static inline int64_t mdr_wall_s(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

#endif /* MDR_CLOCK_H */
