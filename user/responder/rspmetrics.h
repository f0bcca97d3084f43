/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* metrics.c: mdr-responder --metrics (its process counters). */
#ifndef RSP_METRICS_H
#define RSP_METRICS_H

#include "xsk.h"

int rsp_metrics_start(const char *addr, const struct rsp_xsk *x); /* 0 or -errno */
void rsp_metrics_update(const struct rsp_xsk *x); /* from the loop, each tick; cheap when off */
void rsp_metrics_stop(void);
/* Request service time: t0 = rsp_metrics_clock() when a request is
 * complete (0 when metrics are off), rsp_metrics_service(t0) once its
 * response is queued. */
uint64_t rsp_metrics_clock(void);
void rsp_metrics_service(uint64_t t0);

#endif
