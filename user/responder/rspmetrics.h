/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* metrics.c: mdr-responder --metrics (its process counters). */
#ifndef RSP_METRICS_H
#define RSP_METRICS_H

#include "xsk.h"

/* Before the threads start: serve at addr the sum of the n shards'
 * snapshots (first taken now). 0 or -errno. */
int rsp_metrics_start(const char *addr, struct rsp_xsk *const *x, uint32_t n);
/* From shard's own loop, each tick; cheap when off. */
void rsp_metrics_update(uint32_t shard, const struct rsp_xsk *x);
void rsp_metrics_stop(void);
/* Request service time: t0 = rsp_metrics_clock() when a request is
 * complete (0 when metrics are off), rsp_metrics_service(t0) once its
 * response is queued (into the calling thread's histogram). */
uint64_t rsp_metrics_clock(void);
void rsp_metrics_service(uint64_t t0);

#endif
