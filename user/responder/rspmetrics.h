/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* metrics.c: mdr-responder --metrics (its process counters). */
#ifndef RSP_METRICS_H
#define RSP_METRICS_H

#include "xsk.h"

int rsp_metrics_start(const char *addr, const struct rsp_xsk *x); /* 0 or -errno */
void rsp_metrics_update(const struct rsp_xsk *x); /* from the loop, each tick; cheap when off */
void rsp_metrics_stop(void);

#endif
