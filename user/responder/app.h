/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * app.h - the glue between the AF_XDP shell (xsk.h) and the pure cores:
 * frames -> pkt_parse -> tcp_input -> HTTP parser -> mdr_serve (instance
 * content from the cache) -> tcp_conn_send -> pkt_build_tcp -> XSK TX on
 * the socket the connection came from. Also the per-instance counters
 * (mdr_rstats) and the IMDSv2 token keys (mdr_tokkey).
 */
#ifndef MDR_RSP_APP_H
#define MDR_RSP_APP_H

#include <stdint.h>
#include "pinned.h"
#include "xsk.h"

/* Long-polls (wait_for_change) held at once, all instances, by default:
 * a quarter of the default connection table, so waiting guests never
 * crowd out the table. */
#define RSP_WAIT_MAX_DEFAULT 4096u

struct rsp_app_opts {
	uint32_t max_conns;       /* TCP connections, all instances; 0 = default */
	uint64_t idle_timeout_ns; /* 0 = TCP default */
	uint32_t max_waiting;     /* held long-polls, all instances; 0 = default */
};

struct rsp_app;

/* NULL on failure (logged). m must outlive the app. */
struct rsp_app *rsp_app_new(const struct rsp_app_opts *o, struct mdr_maps *m);
/* The shell replies go out through (set once, before any frame). */
void rsp_app_set_xsk(struct rsp_app *a, struct rsp_xsk *x);
/* Flush counters and free everything (connections are dropped silently:
 * guests retry, and a restarted responder answers with RSTs). */
void rsp_app_free(struct rsp_app *a);

/* Clock for the frames and timers that follow (monotonic ns). */
void rsp_app_set_now(struct rsp_app *a, uint64_t now_ns);

/* An RX ring is about to be peeked: instance records are read again on
 * their next use (at most once per batch, always after the batch's frames
 * arrived). Call before every rsp_xsk_rx. */
void rsp_app_rx_batch(struct rsp_app *a);

/* rsp_rx_fn: one received frame (opaque = the app). */
void rsp_app_rx(void *app, const struct rsp_rx *rx);
/* rsp_down_fn: a socket is going away. */
void rsp_app_port_down(void *app, struct rsp_port port);

/* Run due TCP timers; returns the next deadline (monotonic ns, UINT64_MAX
 * for none). */
uint64_t rsp_app_timers(struct rsp_app *a);

/* Instance id changed (a datagram of the change channel, chnotify.h; 0 =
 * any instance): its held long-polls are served again and answered when
 * their answer changed. */
void rsp_app_changed(struct rsp_app *a, uint32_t id);

/* Housekeeping, about once a second: flush counters to mdr_rstats,
 * re-read the token keys, expire idle cache entries, and check the
 * generation of every instance that has held long-polls (catches an
 * update that sent no change datagram, e.g. bpftool on mdr_inst). */
void rsp_app_tick(struct rsp_app *a);

#endif /* MDR_RSP_APP_H */
