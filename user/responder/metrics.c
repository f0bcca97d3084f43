/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr-responder --metrics ADDR:PORT: its own counters (frames, UMEM fill
 * shortage, reopened sockets: process state no map holds) in the
 * Prometheus format, from user/io/promhttp.c's thread. Each thread's event
 * loop copies its stats into its snapshot once a tick (rsp_metrics_update);
 * the scrape sums the snapshots under a lock. The per-instance counters
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
/* One per thread, copied from its loop each tick. */
static struct {
	struct rsp_xsk_stats st;
	struct mdr_prom_hist service;
} snap[RSP_MAX_SHARDS];
static uint32_t n_snap;
/* Set before the threads start and cleared after they ended. */
static struct mdr_promhttp *http;
/* Each event loop's own. */
static _Thread_local struct mdr_prom_hist service;

uint64_t rsp_metrics_clock(void)
{
	return http ? mdr_mono_ns() : 0;
}

void rsp_metrics_service(uint64_t t0)
{
	if (t0)
		mdr_prom_hist_observe(&service, mdr_mono_ns() - t0);
}

static void hist_add(struct mdr_prom_hist *to, const struct mdr_prom_hist *h)
{
	for (unsigned i = 0; i < MDR_PROM_HIST_BUCKETS; i++)
		to->bucket[i] += h->bucket[i];
	to->count += h->count;
	to->sum_ns += h->sum_ns;
}

/* The sum of the threads' snapshots. */
static int render(struct mdr_buf *out)
{
	struct rsp_xsk_stats st = { 0 };
	struct mdr_prom_hist h = { 0 };

	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < n_snap; i++) {
		rsp_xsk_stats_add(&st, &snap[i].st);
		hist_add(&h, &snap[i].service);
	}
	pthread_mutex_unlock(&lock);
	return mdr_prom_format_responder(&(struct mdr_prom_rsp){
		.rx_frames = st.rx_frames,
		.rx_untagged = st.rx_untagged,
		.tx_frames = st.tx_frames,
		.tx_dropped = st.tx_dropped,
		.kick_errors = st.kick_errors,
		.rx_fill_empty = st.rx_fill_empty,
		.rx_ring_full = st.rx_ring_full,
		.rx_dropped = st.rx_dropped,
		.reclaimed_frames = st.reclaimed_frames,
		.reopened = st.reopened,
		.sockets = st.sockets,
		.free_frames = st.free_frames,
		.service = h,
	}, out);
}

void rsp_metrics_update(uint32_t shard, const struct rsp_xsk *x)
{
	struct rsp_xsk_stats st;

	if (!http || shard >= RSP_MAX_SHARDS)
		return;
	rsp_xsk_get_stats(x, &st);
	pthread_mutex_lock(&lock);
	snap[shard].st = st;
	snap[shard].service = service;
	pthread_mutex_unlock(&lock);
}

int rsp_metrics_start(const char *addr, struct rsp_xsk *const *x, uint32_t n)
{
	int r;

	n_snap = n < RSP_MAX_SHARDS ? n : RSP_MAX_SHARDS;
	r = mdr_promhttp_start(&http, addr, render);
	for (uint32_t i = 0; i < n_snap; i++)
		rsp_metrics_update(i, x[i]);
	return r;
}

void rsp_metrics_stop(void)
{
	mdr_promhttp_stop(http);
	http = NULL;
}
