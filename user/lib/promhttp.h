/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * promhttp.[ch]: serves GET /metrics (Prometheus text format) on a local
 * address with libmicrohttpd, in its own thread; render() builds the body
 * of each scrape and runs in that thread (it must only read what is safe to
 * read from there: map fds, a snapshot under a lock). Used by mdrd and
 * mdr-responder (--metrics ADDR:PORT).
 */
#ifndef MDR_PROMHTTP_H
#define MDR_PROMHTTP_H

#include "prom.h"

/* --metrics ADDR:PORT: an IPv6 address in brackets and a port fit. */
#define MDR_PROMHTTP_ADDR_MAX 64

typedef int (*mdr_promhttp_render)(struct mdr_buf *out); /* 0 or -errno */

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric. 0 or -EINVAL. */
int mdr_promhttp_check_addr(const char *spec);

struct mdr_promhttp;
/* Listens on addr; 0 or -errno (logged). */
int mdr_promhttp_start(struct mdr_promhttp **out, const char *addr, mdr_promhttp_render render);
void mdr_promhttp_stop(struct mdr_promhttp *h);

#endif /* MDR_PROMHTTP_H */
