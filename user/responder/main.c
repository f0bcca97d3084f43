/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr-responder: serves instance metadata to guests over AF_XDP.
 *
 *   mdr-responder --pin-dir DIR [--threads N] [--umem-frames N]
 *                 [--ring-size N] [--max-conns N] [--idle-timeout-ms N]
 *                 [--busy-poll] [--spin-us N] [-v]
 *
 * One event loop (epoll) per thread over the AF_XDP sockets of the
 * interfaces its shard serves (xsk.h), an rtnetlink socket (link events)
 * and an eventfd of the main thread; its timeout is the next TCP deadline,
 * the next interface rescan or the next housekeeping tick. Each thread has
 * its own TCP engine, cache and counters (app.h): a guest's frames always
 * reach the thread of its port, so the data path shares nothing. The main
 * thread holds the signalfd, the change channel (passed on to every
 * thread) and the systemd watchdog. SIGTERM/SIGINT unregister every socket
 * (XDP falls back to its policy) and flush the counters; the responder can
 * be restarted at any time.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "app.h"
#include "chnotify.h"
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "promhttp.h"
#include "rspmetrics.h"
#include "sd.h"
#include "pinned.h"
#include "rtnl.h"
#include "tcp.h"
#include "xsk.h"

/* Defaults (and bounds) of the options. */
#define DEF_UMEM_FRAMES 8192u   /* 32 MiB: fill rings of ~100 ports + TX */
/* ... and at least this many per thread (each has its own TX reserve and
 * boost pool, fillshare.h). */
#define DEF_UMEM_FRAMES_PER_THREAD 4096u
/* Threads by default: one per CPU the responder may run on, at most this
 * many (each is one more core it may wake; a node's cores are its
 * guests'). --threads goes up to RSP_MAX_SHARDS. */
#define DEF_THREADS_MAX 4u
#define MIN_UMEM_FRAMES 1024u   /* TX reserve plus a few fill rings */
#define MAX_UMEM_FRAMES 262144u /* 1 GiB of pinned memory */
#define DEF_RING_SIZE 512u      /* a burst of 512 frames per socket */
#define MIN_RING_SIZE 64u       /* one RX batch */
#define MAX_RING_SIZE 16384u
#define MAX_IDLE_TIMEOUT_MS (24u * 3600u * 1000u) /* a day: beyond is a typo */
#define MAX_CONNS_OPT (1u << 24) /* 16 M connections: far above any node */

/* mdr_ifaces is rescanned this often (mdrd writes it without telling). */
#define RESCAN_NS (150ull * 1000000ull)
/* ... and this often for a while after a link event, so a new tap is
 * served as soon as mdrd attached to it. */
#define RESCAN_FAST_NS (20ull * 1000000ull)
#define RESCAN_FAST_WINDOW_NS (1000ull * 1000000ull)
/* Served interfaces are checked for existence at least this often even
 * without link events (mdrd removes them from mdr_ifaces anyway). */
#define DEVICE_CHECK_NS (2000ull * 1000000ull)
/* Counters flushed, keys re-read, cache expired: at least once a second. */
#define TICK_NS (1000ull * 1000000ull)
/* glibc heap tuning: every response allocates its TCP send buffer (up to
 * TCP_SNDBUF_MAX) and frees it once acknowledged. With the default,
 * dynamic trim threshold the heap top is given back and faulted in again
 * for every large reply (page faults and page clearing per request).
 * Keep up to this much free memory at the heap top instead. */
#define HEAP_TRIM_THRESHOLD (16 * 1024 * 1024)
/* Allocations up to this size come from the heap, not mmap (no page
 * faults for send buffers and queued replies). */
#define HEAP_MMAP_THRESHOLD (1024 * 1024)

/* epoll events taken per wait. */
#define MAX_EVENTS 64
/* After a round that received frames, poll without sleeping this long
 * (default of --spin-us): under load the responder then never sleeps, so
 * the guest's frames need no wakeup (a cross-CPU wakeup costs the sending
 * guest more than the whole request costs us). Idle, it sleeps again
 * after one such window per burst. */
#define DEF_SPIN_US 50u
#define MAX_SPIN_US 100000u /* 100 ms: beyond that use --busy-poll */
/* A thread whose loop has not come round for this long (it does at least
 * once a TICK_NS) is stuck: the main thread stops feeding the systemd
 * watchdog, which then restarts the responder. */
#define WORKER_STALL_NS (10000ull * 1000000ull)
/* Change datagrams queued for a thread between two of its rounds; beyond,
 * it re-checks the held long-polls of every instance. */
#define WORKER_CHANGES 64u

enum { EV_SIGNAL = 2, EV_NETLINK = 3, EV_CHANGE = 4, EV_WAKE = 5 }; /* RSP_EV_XSK is 1 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mdr-responder --pin-dir DIR [options]\n"
		"  --pin-dir DIR          pinned maps of mdrd (default %s)\n"
		"  --threads N            event loops, each serving its share of the ports\n"
		"                         (default: one per usable CPU, at most %u; 1..%u)\n"
		"  --umem-frames N        UMEM size in 4 KiB frames, split between the threads\n"
		"                         (default %u or %u per thread if more, %u..%u,\n"
		"                         at least %u per thread)\n"
		"  --ring-size N          AF_XDP ring entries, power of 2 (default %u, %u..%u)\n"
		"  --max-conns N          TCP connections in total (default %u)\n"
		"  --idle-timeout-ms N    close connections idle this long (default %llu)\n"
		"  --max-waiting N        long-polls (wait_for_change) held at once, all\n"
		"                         instances (default %u)\n"
		"  --busy-poll            poll the rings without sleeping (burns a core)\n"
		"  --spin-us N            after frames arrived, poll N us before sleeping\n"
		"                         (default %u, 0..%u; 0 = sleep at once)\n"
		"  --metrics ADDR:PORT    serve this process's counters (frames, UMEM fill\n"
		"                         shortage, reopened sockets) for Prometheus at\n"
		"                         http://ADDR:PORT/metrics (off by default; loopback)\n"
		"  -v, --verbose          debug logs\n",
		MDR_DEFAULT_PIN_DIR, DEF_THREADS_MAX, RSP_MAX_SHARDS, DEF_UMEM_FRAMES,
		DEF_UMEM_FRAMES_PER_THREAD, MIN_UMEM_FRAMES, MAX_UMEM_FRAMES, RSP_MIN_SHARD_FRAMES,
		DEF_RING_SIZE, MIN_RING_SIZE, MAX_RING_SIZE, TCP_DEFAULT_MAX_CONNS,
		TCP_DEFAULT_IDLE_NS / 1000000ull, RSP_WAIT_MAX_DEFAULT, DEF_SPIN_US, MAX_SPIN_US);
}

static int parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		mdr_log(MDR_LOG_ERR, "%s: expected a number in %u..%u, got \"%s\"", opt, lo, hi, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Link events tell us to look again, and which interfaces' failed sockets
 * to retry at once (all of them when events were lost). */
static void drain_netlink(struct mnl_socket *nl, struct rsp_xsk *x)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		int left = (int)n;

		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
			if ((h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
				const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
				if (ifi->ifi_index > 0)
					rsp_xsk_retry_now(x, (uint32_t)ifi->ifi_index);
			}
	}
	if (n < 0 && errno == ENOBUFS)
		rsp_xsk_retry_now(x, 0); /* overrun: events lost */
}

/* When to sync next, counted from now (the end of a sync): at once while
 * sockets remain to be created, soon after a link event, else the usual
 * period. */
static uint64_t next_sync_at(const struct rsp_xsk *x, uint64_t now, uint64_t fast_until)
{
	uint64_t t, poll = rsp_xsk_next_poll(x);

	if (rsp_xsk_sync_more(x))
		return now; /* after serving what arrived */
	t = now + (now < fast_until ? RESCAN_FAST_NS : RESCAN_NS);
	return poll < t ? poll : t; /* an interface waiting for its queues */
}

/* XDP counted frames that fell back for lack of a socket since the last
 * call: a queue may have come into use unannounced (a tap's queue attached
 * by its VMM), so its interface is polled at once. */
static void watch_no_xsk(const struct mdr_maps *m, struct rsp_xsk *x, uint64_t *seen)
{
	struct mdr_xdp_counters c;
	__u32 key = 0;

	if (mdr_xdp_counters_read(m->stats, &key, &c))
		return;
	if (c.no_xsk > *seen)
		rsp_xsk_recheck_queues(x);
	*seen = c.no_xsk;
}

static int add_fd(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = RSP_EV(tag, 0) };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static const char *metrics_addr; /* --metrics, NULL = off */

/* What every thread reads and nothing changes once they run. */
struct rsp_ctx {
	struct mdr_maps m;
	const struct rsp_xsk_opts *xo;
	uint64_t spin_ns;
	int main_evfd;          /* a worker tells the main thread it failed */
	atomic_bool stop;
	/* An event loop failed: the first failure is the event (logged as an
	 * error); the same failure of the other loops on the way out is not
	 * news (debug). */
	atomic_bool failed;
};

/* One event loop per thread over its shard's sockets (xsk.h). */
struct worker {
	struct rsp_ctx *ctx;
	uint32_t k;
	pthread_t tid;
	bool started;
	int epfd, evfd;         /* evfd: the main thread's wake-up */
	struct rsp_xsk *x;
	struct rsp_app *app;
	struct mnl_socket *nl;
	/* Change datagrams the main thread received, for this thread's held
	 * long-polls (all: more arrived than the queue holds). */
	pthread_mutex_t lock;
	uint32_t ch[WORKER_CHANGES];
	uint32_t n_ch;
	bool ch_all;
	atomic_uint_fast64_t beat; /* monotonic ns of its last round */
	int fatal;
};

static void wake(int evfd)
{
	uint64_t one = 1;

	if (write(evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		mdr_log(MDR_LOG_WARN, "waking a thread: %s", strerror(errno));
}

/* The main thread's wake-up: take the change datagrams queued for w. */
static void worker_changes(struct worker *w)
{
	uint32_t ch[WORKER_CHANGES], n;
	uint64_t v;
	bool all;

	while (read(w->evfd, &v, sizeof(v)) == sizeof(v))
		;
	pthread_mutex_lock(&w->lock);
	n = w->n_ch;
	memcpy(ch, w->ch, n * sizeof(ch[0]));
	all = w->ch_all;
	w->n_ch = 0;
	w->ch_all = false;
	pthread_mutex_unlock(&w->lock);
	if (all)
		rsp_app_changed(w->app, 0);
	else
		for (uint32_t i = 0; i < n; i++)
			rsp_app_changed(w->app, ch[i]);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct rsp_ctx *ctx = w->ctx;
	struct rsp_xsk *x = w->x;
	struct rsp_app *app = w->app;
	uint64_t now = mdr_mono_ns(), next_rescan, next_tick, fast_until = 0, deadline, next_check;
	uint64_t spin_until = 0, no_xsk = 0;
	bool link_event = false;

	next_check = now + DEVICE_CHECK_NS;
	next_rescan = next_sync_at(x, now, fast_until);
	next_tick = now + TICK_NS;
	deadline = UINT64_MAX;
	while (!atomic_load(&ctx->stop)) {
		struct epoll_event ev[MAX_EVENTS];
		uint64_t wake_at = next_rescan < next_tick ? next_rescan : next_tick;
		int timeout_ms = 0, n;
		unsigned rx = 0;

		if (deadline < wake_at)
			wake_at = deadline;
		now = mdr_mono_ns();
		atomic_store_explicit(&w->beat, now, memory_order_relaxed);
		if (!ctx->xo->busy_poll && wake_at > now && now >= spin_until)
			timeout_ms = (int)((wake_at - now + 999999ull) / 1000000ull);
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, timeout_ms);
		if (n < 0 && errno != EINTR) {
			mdr_log(atomic_exchange(&ctx->failed, true) ? MDR_LOG_DEBUG : MDR_LOG_ERR,
				"thread %u: epoll_wait: %s", w->k, strerror(errno));
			w->fatal = 1;
			wake(ctx->main_evfd);
			break;
		}
		now = mdr_mono_ns();
		rsp_app_set_now(app, now);
		for (int i = 0; i < n; i++) {
			uint64_t d = ev[i].data.u64;

			switch (RSP_EV_TAG(d)) {
			case RSP_EV_XSK:
				if (ev[i].events & (EPOLLERR | EPOLLHUP))
					rsp_xsk_sock_error(x, RSP_EV_VAL(d));
				else {
					rsp_app_rx_batch(app);
					rx += rsp_xsk_rx(x, RSP_EV_VAL(d), rsp_app_rx, app);
				}
				break;
			case EV_NETLINK:
				drain_netlink(w->nl, x);
				link_event = true;
				next_rescan = now;
				fast_until = now + RESCAN_FAST_WINDOW_NS;
				break;
			case EV_WAKE:
				worker_changes(w);
				break;
			}
		}
		if (rx)
			spin_until = now + ctx->spin_ns;
		deadline = rsp_app_timers(app);
		rsp_xsk_flush(x);
		if (now >= next_rescan) {
			bool check = link_event || !w->nl || now >= next_check;

			watch_no_xsk(&ctx->m, x, &no_xsk);
			rsp_xsk_sync(x, now, check);
			if (check) {
				link_event = false;
				next_check = now + DEVICE_CHECK_NS;
			}
			rsp_xsk_flush(x);
			/* From the end of the sync: creating sockets takes time. */
			now = mdr_mono_ns();
			next_rescan = next_sync_at(x, now, fast_until);
		}
		if (now >= next_tick) {
			rsp_app_tick(app);
			rsp_xsk_tick(x);
			next_tick = now + TICK_NS;
			rsp_metrics_update(w->k, x);
		}
	}
	return NULL;
}

/* Everything of w but its thread (joined before). */
static void worker_free(struct worker *w)
{
	rsp_xsk_close(w->x); /* unregister first: XDP falls back at once */
	rsp_app_free(w->app);
	if (w->nl)
		mnl_socket_close(w->nl);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->epfd >= 0)
		close(w->epfd);
	pthread_mutex_destroy(&w->lock);
}

/* Thread k's event loop, shard, app and first sync (run by the main
 * thread, one after the other: the first app publishes the SYN cookie and
 * token keys, the others find them). 0 or -1 (logged). */
static int worker_init(struct worker *w, struct rsp_ctx *ctx, struct rsp_umem *u,
		       uint32_t k, const struct rsp_app_opts *ao)
{
	uint64_t now;

	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->k = k;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&w->lock, NULL);
	if (w->epfd < 0 || w->evfd < 0 || add_fd(w->epfd, w->evfd, EV_WAKE)) {
		mdr_log(MDR_LOG_ERR, "thread %u: event loop setup: %s", k, strerror(errno));
		return -1;
	}
	w->nl = mdr_rtnl_open(RTMGRP_LINK, SOCK_NONBLOCK);
	if (!w->nl || add_fd(w->epfd, mnl_socket_get_fd(w->nl), EV_NETLINK)) {
		if (k == 0)
			mdr_log(MDR_LOG_WARN, "no rtnetlink link events (%s): rescanning every %llu ms only",
				strerror(errno), RESCAN_NS / 1000000ull);
		if (w->nl)
			mnl_socket_close(w->nl);
		w->nl = NULL;
	}
	w->app = rsp_app_new(ao, &ctx->m);
	if (!w->app || rsp_xsk_open(&w->x, u, k, w->epfd, rsp_app_port_down, w->app))
		return -1;
	rsp_app_set_xsk(w->app, w->x);
	now = mdr_mono_ns();
	rsp_app_set_now(w->app, now);
	rsp_xsk_sync(w->x, now, true);
	atomic_store(&w->beat, mdr_mono_ns()); /* after the sync, which takes a while */
	return 0;
}

/* The main thread's change datagram for instance id: queued for every
 * thread (an instance's ports may be served by several), which the caller
 * wakes once it has queued all that arrived. */
static void queue_change(struct worker *w, uint32_t n, uint32_t id)
{
	for (uint32_t k = 0; k < n; k++) {
		pthread_mutex_lock(&w[k].lock);
		if (id == 0 || w[k].n_ch == WORKER_CHANGES)
			w[k].ch_all = true;
		else if (!w[k].ch_all)
			w[k].ch[w[k].n_ch++] = id;
		pthread_mutex_unlock(&w[k].lock);
	}
}

/* A thread whose loop has not come round for WORKER_STALL_NS: true (and
 * logged once) when one has. */
static bool workers_stalled(struct worker *w, uint32_t n, bool *logged)
{
	uint64_t now = mdr_mono_ns();

	for (uint32_t k = 0; k < n; k++) {
		uint64_t b = atomic_load_explicit(&w[k].beat, memory_order_relaxed);
		if (now > b && now - b > WORKER_STALL_NS) {
			if (!*logged)
				mdr_log(MDR_LOG_ERR, "thread %u has not come round for %llu ms: no longer "
					"feeding the watchdog", k, (unsigned long long)((now - b) / 1000000ull));
			*logged = true;
			return true;
		}
	}
	*logged = false;
	return false;
}

static int run(const char *pin_dir, const struct rsp_xsk_opts *xo,
	       const struct rsp_app_opts *ao_in, uint64_t spin_ns, uint32_t n_threads)
{
	struct rsp_ctx ctx = { .xo = xo, .spin_ns = spin_ns, .main_evfd = -1 };
	struct rsp_xsk_maps xm;
	struct rsp_app_opts ao = *ao_in;
	struct rsp_umem *u = NULL;
	struct worker *w = NULL;
	struct rsp_xsk *xs[RSP_MAX_SHARDS];
	uint32_t n_init = 0, total_conns;
	int epfd = -1, sfd = -1, chfd = -1, rc = 1, err, fatal = 0;
	bool stop = false, stall_logged = false;

	mdr_maps_init(&ctx.m);
	{
		char msg[MDR_PIN_DIR_MAX + 128];

		err = mdr_maps_open(&ctx.m, pin_dir, msg, sizeof(msg));
		if (err) {
			mdr_log(MDR_LOG_ERR, "%s", msg);
			return 1;
		}
	}
	/* Blocked before any thread starts: they inherit the mask, and the
	 * signals reach the main thread's signalfd only. */
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = open_signals();
	ctx.main_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (epfd < 0 || sfd < 0 || ctx.main_evfd < 0 || add_fd(epfd, sfd, EV_SIGNAL) ||
	    add_fd(epfd, ctx.main_evfd, EV_WAKE)) {
		mdr_log(MDR_LOG_ERR, "event loop setup: %s", strerror(errno));
		goto out;
	}
	chfd = mdr_chnotify_listen(pin_dir);
	if (chfd < 0 || add_fd(epfd, chfd, EV_CHANGE)) {
		mdr_log(MDR_LOG_WARN, "no change channel (%s): held long-polls see changes within %llu ms",
			strerror(chfd < 0 ? -chfd : errno), TICK_NS / 1000000ull);
		if (chfd >= 0)
			close(chfd);
		chfd = -1;
	}
	xm.xsks_fd = ctx.m.xsks;
	xm.slot_fd = ctx.m.xsk_slot;
	xm.ifaces_fd = ctx.m.ifaces;
	if (rsp_umem_open(&u, xo, &xm, n_threads))
		goto out;
	/* The connection table is split between the threads (a guest's
	 * connections all live in the thread of its port). */
	total_conns = ao.max_conns ? ao.max_conns : TCP_DEFAULT_MAX_CONNS;
	ao.max_conns = (total_conns + n_threads - 1) / n_threads;
	w = calloc(n_threads, sizeof(*w));
	if (!w)
		goto out;
	for (; n_init < n_threads; n_init++) {
		if (worker_init(&w[n_init], &ctx, u, n_init, &ao)) {
			n_init++; /* freed below, as far as it got */
			goto out;
		}
		xs[n_init] = w[n_init].x;
	}
	mdr_log(MDR_LOG_INFO, "serving (pin dir %s, %u UMEM frames, rings of %u, %u thread%s)",
		pin_dir, xo->umem_frames, xo->ring_size, n_threads, n_threads == 1 ? "" : "s");
	if (metrics_addr && rsp_metrics_start(metrics_addr, xs, n_threads))
		goto out; /* logged */
	for (uint32_t k = 0; k < n_threads; k++) {
		err = pthread_create(&w[k].tid, NULL, worker_run, &w[k]);
		if (err) {
			mdr_log(MDR_LOG_ERR, "starting thread %u: %s", k, strerror(err));
			fatal = 1;
			stop = true;
			break;
		}
		w[k].started = true;
	}
	rsp_sd_ready(&ctx.m);

	while (!stop) {
		struct epoll_event ev[MAX_EVENTS];
		int n, wd = workers_stalled(w, n_threads, &stall_logged) ? -1 : mdr_sd_tick();
		int timeout_ms = (int)(TICK_NS / 1000000ull);

		if (wd >= 0 && timeout_ms > wd)
			timeout_ms = wd;
		n = epoll_wait(epfd, ev, MAX_EVENTS, timeout_ms);
		if (n < 0 && errno != EINTR) {
			mdr_log(atomic_exchange(&ctx.failed, true) ? MDR_LOG_DEBUG : MDR_LOG_ERR,
				"epoll_wait: %s", strerror(errno));
			fatal = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (RSP_EV_TAG(ev[i].data.u64)) {
			case EV_CHANGE: {
				uint32_t id, got = 0;
				while (mdr_chnotify_recv(chfd, &id) > 0) {
					queue_change(w, n_threads, id);
					got++;
				}
				for (uint32_t k = 0; got && k < n_threads; k++)
					wake(w[k].evfd);
				break;
			}
			case EV_WAKE: /* a thread failed */
				fatal = 1;
				stop = true;
				break;
			case EV_SIGNAL: {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					mdr_log(MDR_LOG_INFO, "signal %u: shutting down", si.ssi_signo);
					stop = true;
				}
				break;
			}
			}
		}
	}
	mdr_sd_stopping();
	atomic_store(&ctx.stop, true);
	for (uint32_t k = 0; k < n_threads; k++)
		if (w[k].started) {
			wake(w[k].evfd);
			pthread_join(w[k].tid, NULL);
			fatal |= w[k].fatal;
		}
	rc = fatal; /* a loop that ended on an error is a failure, as in mdrd */
	{
		struct rsp_xsk_stats st = { 0 }, one;
		for (uint32_t k = 0; k < n_threads; k++) {
			rsp_xsk_get_stats(w[k].x, &one);
			rsp_xsk_stats_add(&st, &one);
		}
		mdr_log(MDR_LOG_INFO, "frames: %llu received (%llu without a tag header), %llu sent, %llu dropped on send (%llu no free frame, %llu TX ring full), %llu kick errors; lost in the kernel: %llu without a fill frame, %llu RX ring full, %llu other; %llu frames reclaimed by reopening %llu idle sockets",
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_untagged,
			(unsigned long long)st.tx_frames, (unsigned long long)st.tx_dropped,
			(unsigned long long)st.tx_no_frame, (unsigned long long)st.tx_ring_full,
			(unsigned long long)st.kick_errors, (unsigned long long)st.rx_fill_empty,
			(unsigned long long)st.rx_ring_full, (unsigned long long)st.rx_dropped,
			(unsigned long long)st.reclaimed_frames, (unsigned long long)st.reopened);
	}
out:
	rsp_metrics_stop();
	for (uint32_t k = 0; k < n_init; k++)
		worker_free(&w[k]);
	free(w);
	rsp_umem_close(u);
	if (sfd >= 0)
		close(sfd);
	if (chfd >= 0)
		close(chfd);
	if (ctx.main_evfd >= 0)
		close(ctx.main_evfd);
	if (epfd >= 0)
		close(epfd);
	mdr_maps_close(&ctx.m);
	if (!rc)
		mdr_log(MDR_LOG_INFO, "stopped");
	return rc;
}

/* CPUs this process may run on (its affinity mask: systemd's
 * CPUAffinity=, taskset), at least 1. */
static uint32_t usable_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return (uint32_t)n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1u;
}

/* Threads and UMEM frames from the options (0: not given): an explicit
 * --threads must fit the given --umem-frames; by default threads are as
 * many as fit. 0 or -1 (logged). */
static int pick_threads(uint32_t *threads, uint32_t *frames)
{
	uint32_t t = *threads, f = *frames;

	if (!t) {
		t = usable_cpus();
		if (t > DEF_THREADS_MAX)
			t = DEF_THREADS_MAX;
		if (f && f / t < RSP_MIN_SHARD_FRAMES)
			t = f / RSP_MIN_SHARD_FRAMES; /* >= 1: f >= MIN_UMEM_FRAMES */
	}
	if (!f) {
		f = t * DEF_UMEM_FRAMES_PER_THREAD;
		if (f < DEF_UMEM_FRAMES)
			f = DEF_UMEM_FRAMES;
		if (f > MAX_UMEM_FRAMES)
			f = MAX_UMEM_FRAMES;
	}
	if (f / t < RSP_MIN_SHARD_FRAMES) {
		mdr_log(MDR_LOG_ERR, "--umem-frames %u leaves each of %u threads fewer than %u frames: "
			"raise it or lower --threads", f, t, RSP_MIN_SHARD_FRAMES);
		return -1;
	}
	*threads = t;
	*frames = f;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "umem-frames", required_argument, NULL, 'u' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "idle-timeout-ms", required_argument, NULL, 'i' },
		{ "busy-poll", no_argument, NULL, 'b' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "max-waiting", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct rsp_xsk_opts xo = { .umem_frames = 0, .ring_size = DEF_RING_SIZE };
	struct rsp_app_opts ao = { 0 };
	const char *pin_dir = MDR_DEFAULT_PIN_DIR;
	uint32_t v, spin_us = DEF_SPIN_US, threads = 0;
	int c;

	mdr_log_init(argv[0], MDR_LOG_INFO);
	mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'u':
			if (parse_u32("--umem-frames", optarg, MIN_UMEM_FRAMES, MAX_UMEM_FRAMES, &xo.umem_frames))
				return 2;
			break;
		case 'r':
			if (parse_u32("--ring-size", optarg, MIN_RING_SIZE, MAX_RING_SIZE, &xo.ring_size))
				return 2;
			if (xo.ring_size & (xo.ring_size - 1)) {
				mdr_log(MDR_LOG_ERR, "--ring-size: %u is not a power of 2", xo.ring_size);
				return 2;
			}
			break;
		case 'c':
			if (parse_u32("--max-conns", optarg, 1, MAX_CONNS_OPT, &ao.max_conns))
				return 2;
			break;
		case 'i':
			if (parse_u32("--idle-timeout-ms", optarg, 1, MAX_IDLE_TIMEOUT_MS, &v))
				return 2;
			ao.idle_timeout_ns = (uint64_t)v * 1000000ull;
			break;
		case 'b':
			xo.busy_poll = true;
			break;
		case 's':
			if (parse_u32("--spin-us", optarg, 0, MAX_SPIN_US, &spin_us))
				return 2;
			break;
		case 'v':
			mdr_log_set_level(MDR_LOG_DEBUG);
			break;
		case 'w':
			if (parse_u32("--max-waiting", optarg, 1, MAX_CONNS_OPT, &ao.max_waiting))
				return 2;
			break;
		case 'm':
			if (mdr_promhttp_check_addr(optarg)) {
				mdr_log(MDR_LOG_ERR, "--metrics: expected ADDR:PORT or [ADDR6]:PORT");
				return 2;
			}
			metrics_addr = optarg;
			break;
		case 't':
			if (parse_u32("--threads", optarg, 1, RSP_MAX_SHARDS, &threads))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (pick_threads(&threads, &xo.umem_frames))
		return 2;
	return run(pin_dir, &xo, &ao, (uint64_t)spin_us * 1000ull, threads);
}
