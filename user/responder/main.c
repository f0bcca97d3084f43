/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr-responder: serves instance metadata to guests over AF_XDP.
 *
 *   mdr-responder --pin-dir DIR [--umem-frames N] [--ring-size N]
 *                 [--max-conns N] [--idle-timeout-ms N] [--busy-poll]
 *                 [--spin-us N] [-v]
 *
 * One event loop (epoll) over every AF_XDP socket, an rtnetlink socket
 * (link events) and a signalfd; its timeout is the next TCP deadline, the
 * next interface rescan or the next housekeeping tick. SIGTERM/SIGINT
 * unregister every socket (XDP falls back to its policy) and flush the
 * counters; the responder can be restarted at any time.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

enum { EV_SIGNAL = 2, EV_NETLINK = 3, EV_CHANGE = 4 }; /* RSP_EV_XSK is 1 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mdr-responder --pin-dir DIR [options]\n"
		"  --pin-dir DIR          pinned maps of mdrd (default %s)\n"
		"  --umem-frames N        UMEM size in 4 KiB frames (default %u, %u..%u)\n"
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
		MDR_DEFAULT_PIN_DIR, DEF_UMEM_FRAMES, MIN_UMEM_FRAMES, MAX_UMEM_FRAMES,
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

static int run(const char *pin_dir, const struct rsp_xsk_opts *xo,
	       const struct rsp_app_opts *ao, uint64_t spin_ns)
{
	struct mdr_maps m;
	struct rsp_xsk_maps xm;
	struct rsp_app *app = NULL;
	struct rsp_xsk *x = NULL;
	struct mnl_socket *nl = NULL;
	int epfd = -1, sfd = -1, chfd = -1, rc = 1, err, fatal = 0;
	uint64_t now, next_rescan, next_tick, fast_until = 0, deadline, next_check;
	uint64_t spin_until = 0, no_xsk = 0;
	bool stop = false, link_event = false;

	mdr_maps_init(&m);
	{
		char msg[MDR_PIN_DIR_MAX + 128];

		err = mdr_maps_open(&m, pin_dir, msg, sizeof(msg));
		if (err) {
			mdr_log(MDR_LOG_ERR, "%s", msg);
			return 1;
		}
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = open_signals();
	if (epfd < 0 || sfd < 0 || add_fd(epfd, sfd, EV_SIGNAL)) {
		mdr_log(MDR_LOG_ERR, "event loop setup: %s", strerror(errno));
		goto out;
	}
	nl = mdr_rtnl_open(RTMGRP_LINK, SOCK_NONBLOCK);
	if (!nl || add_fd(epfd, mnl_socket_get_fd(nl), EV_NETLINK)) {
		mdr_log(MDR_LOG_WARN, "no rtnetlink link events (%s): rescanning every %llu ms only",
			strerror(errno), RESCAN_NS / 1000000ull);
		if (nl)
			mnl_socket_close(nl);
		nl = NULL;
	}

	app = rsp_app_new(ao, &m);
	if (!app)
		goto out;
	chfd = mdr_chnotify_listen(pin_dir);
	if (chfd < 0 || add_fd(epfd, chfd, EV_CHANGE)) {
		mdr_log(MDR_LOG_WARN, "no change channel (%s): held long-polls see changes within %llu ms",
			strerror(chfd < 0 ? -chfd : errno), TICK_NS / 1000000ull);
		if (chfd >= 0)
			close(chfd);
		chfd = -1;
	}
	xm.xsks_fd = m.xsks;
	xm.slot_fd = m.xsk_slot;
	xm.ifaces_fd = m.ifaces;
	if (rsp_xsk_open(&x, xo, &xm, epfd, rsp_app_port_down, app))
		goto out;
	rsp_app_set_xsk(app, x);

	now = mdr_mono_ns();
	rsp_app_set_now(app, now);
	rsp_xsk_sync(x, now, true);
	next_check = now + DEVICE_CHECK_NS;
	next_rescan = next_sync_at(x, now, fast_until);
	next_tick = now + TICK_NS;
	deadline = UINT64_MAX;
	mdr_log(MDR_LOG_INFO, "serving (pin dir %s, %u UMEM frames, rings of %u)",
		pin_dir, xo->umem_frames, xo->ring_size);
	if (metrics_addr && rsp_metrics_start(metrics_addr, x))
		goto out; /* logged */
	rsp_sd_ready(&m);

	while (!stop) {
		struct epoll_event ev[MAX_EVENTS];
		uint64_t wake = next_rescan < next_tick ? next_rescan : next_tick;
		int timeout_ms = 0, n, wd = mdr_sd_tick();
		unsigned rx = 0;

		if (deadline < wake)
			wake = deadline;
		now = mdr_mono_ns();
		if (!xo->busy_poll && wake > now && now >= spin_until)
			timeout_ms = (int)((wake - now + 999999ull) / 1000000ull);
		if (wd >= 0 && timeout_ms > wd)
			timeout_ms = wd;
		n = epoll_wait(epfd, ev, MAX_EVENTS, timeout_ms);
		if (n < 0 && errno != EINTR) {
			mdr_log(MDR_LOG_ERR, "epoll_wait: %s", strerror(errno));
			fatal = 1;
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
				drain_netlink(nl, x);
				link_event = true;
				next_rescan = now;
				fast_until = now + RESCAN_FAST_WINDOW_NS;
				break;
			case EV_CHANGE: {
				uint32_t id;
				while (mdr_chnotify_recv(chfd, &id) > 0)
					rsp_app_changed(app, id);
				break;
			}
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
		if (rx)
			spin_until = now + spin_ns;
		deadline = rsp_app_timers(app);
		rsp_xsk_flush(x);
		if (now >= next_rescan) {
			bool check = link_event || !nl || now >= next_check;

			watch_no_xsk(&m, x, &no_xsk);
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
			rsp_metrics_update(x);
		}
	}
	rc = fatal; /* a loop that ended on an error is a failure, as in mdrd */
	mdr_sd_stopping();
	{
		struct rsp_xsk_stats st;
		rsp_xsk_get_stats(x, &st);
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
	rsp_xsk_close(x); /* unregister first: XDP falls back at once */
	rsp_app_free(app);
	if (nl)
		mnl_socket_close(nl);
	if (sfd >= 0)
		close(sfd);
	if (chfd >= 0)
		close(chfd);
	if (epfd >= 0)
		close(epfd);
	mdr_maps_close(&m);
	if (!rc)
		mdr_log(MDR_LOG_INFO, "stopped");
	return rc;
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
		{ NULL, 0, NULL, 0 },
	};
	struct rsp_xsk_opts xo = { .umem_frames = DEF_UMEM_FRAMES, .ring_size = DEF_RING_SIZE };
	struct rsp_app_opts ao = { 0 };
	const char *pin_dir = MDR_DEFAULT_PIN_DIR;
	uint32_t v, spin_us = DEF_SPIN_US;
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
	return run(pin_dir, &xo, &ao, (uint64_t)spin_us * 1000ull);
}
