/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr-responder --metrics ADDR:PORT: its own counters (frames, UMEM fill
 * shortage, reopened sockets: process state no map holds) in the
 * Prometheus format, from user/io/promhttp.c's thread. The event loop
 * copies its stats into a snapshot once a tick (rsp_metrics_update); the
 * scrape reads that snapshot under a lock. The per-instance counters
 * (requests, connections, ...) are in mdr_rstats: mdrd --metrics has them.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "clock.h"
#include "promhttp.h"
#include "rspmetrics.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mdr_prom_rsp snap;
static struct mdr_promhttp *http;
static struct mdr_prom_hist service; /* the event loop's, copied each tick */

uint64_t rsp_metrics_clock(void)
{
	return http ? mdr_mono_ns() : 0;
}

void rsp_metrics_service(uint64_t t0)
{
	if (t0)
		mdr_prom_hist_observe(&service, mdr_mono_ns() - t0);
}

static int render(struct mdr_buf *out)
{
	struct mdr_prom_rsp s;

	pthread_mutex_lock(&lock);
	s = snap;
	pthread_mutex_unlock(&lock);
	return mdr_prom_format_responder(&s, out);
}

void rsp_metrics_update(const struct rsp_xsk *x)
{
	struct rsp_xsk_stats stats, *st = &stats;

	if (!http)
		return;
	rsp_xsk_get_stats(x, &stats);
	pthread_mutex_lock(&lock);
	snap = (struct mdr_prom_rsp){
		.rx_frames = st->rx_frames,
		.rx_untagged = st->rx_untagged,
		.tx_frames = st->tx_frames,
		.tx_dropped = st->tx_dropped,
		.kick_errors = st->kick_errors,
		.rx_fill_empty = st->rx_fill_empty,
		.rx_ring_full = st->rx_ring_full,
		.rx_dropped = st->rx_dropped,
		.reclaimed_frames = st->reclaimed_frames,
		.reopened = st->reopened,
		.sockets = st->sockets,
		.free_frames = st->free_frames,
		.service = service,
	};
	pthread_mutex_unlock(&lock);
}

int rsp_metrics_start(const char *addr, const struct rsp_xsk *x)
{
	int r = mdr_promhttp_start(&http, addr, render);

	rsp_metrics_update(x);
	return r;
}

void rsp_metrics_stop(void)
{
	mdr_promhttp_stop(http);
	http = NULL;
}
