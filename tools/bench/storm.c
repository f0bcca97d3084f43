/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * storm - HTTP clients for `make bench`, run from guest network namespaces.
 *
 *   storm crawl -s SEQFILE [-a ADDR] [-t MS] [-r RETRIES] [-d SECS] [-n ROUNDS] NS...
 *     Boot storm: one child process per namespace NS (/run/netns/NS) replays
 *     the request sequence in SEQFILE (lines "STATUS PATH", e.g. "200
 *     /openstack"), one new TCP connection per request, as cloud-init does
 *     (requests' headers; the client closes after the body), ROUNDS times
 *     back to back (default 1: each round is one guest's boot crawl). All
 *     children enter their namespace first and start together on a barrier.
 *     A failed attempt (connect error, timeout, unexpected status, short
 *     body) is retried after 1 s like cloud-init's url_helper. Prints one
 *     line (crawl_* over every guest's every round):
 *       guests=N sequence=N rounds=N requests=N failed_attempts=N gave_up=N
 *       time_s=F crawl_p50_s=F crawl_p99_s=F crawl_max_s=F
 *
 *   storm probe -p PATH -R RATE -D SECS [-a ADDR] [-t MS]
 *     Open-loop prober run inside one namespace (under nsenter/ip netns
 *     exec): starts RATE new-connection GETs per second for SECS seconds,
 *     each with a timeout, regardless of how slow earlier ones are. Prints:
 *       sent=N ok=N failed=N p50_ms=F p99_ms=F
 *     Failed requests count as the timeout in the percentiles.
 *
 * Never used as a test: it measures, it does not judge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* More guests than the storm needs (64), fewer than would exhaust fds. */
#define MAX_GUESTS 1024
/* Requests in one crawl sequence (cloud-init makes ~28). */
#define MAX_SEQ 512
/* Longest request path we replay. */
#define MAX_PATH_LEN 512
/* Response buffer: headers plus the largest body we check (user data 64 KiB). */
#define RESP_BUF (96 * 1024)
/* Probe requests in flight at once (rate x timeout stays far below). */
#define MAX_INFLIGHT 4096
/* Probe samples kept for percentiles (rate x duration must fit). */
#define MAX_SAMPLES (1 << 20)
/* Crawl rounds per guest (a result must fit one atomic pipe write). */
#define MAX_ROUNDS 64
/* cloud-init sleeps 1 s between retries. */
#define RETRY_SLEEP_MS 1000

static const char *addr_str = "169.254.169.254";
static int port = 80;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* ---- response parsing (status line, Content-Length, body) -------------- */

struct resp {
	char buf[RESP_BUF];
	size_t len;
	int status;     /* 0 until the status line is parsed */
	long body_off;  /* -1 until the header end is seen */
	long clen;      /* -1 when no Content-Length */
};

static void resp_init(struct resp *r)
{
	r->len = 0;
	r->status = 0;
	r->body_off = -1;
	r->clen = -1;
}

/* Returns 1 when the response is complete (by Content-Length). */
static int resp_parse(struct resp *r)
{
	if (r->body_off < 0) {
		char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
		if (!end)
			return 0;
		r->body_off = end + 4 - r->buf;
		if (r->len >= 12 && memcmp(r->buf, "HTTP/1.", 7) == 0)
			r->status = atoi(r->buf + 9);
		for (char *p = r->buf; p < end; p++) {
			if (*p == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
				r->clen = strtol(p + 16, NULL, 10);
				break;
			}
		}
	}
	return r->clen >= 0 && (long)r->len - r->body_off >= r->clen;
}

static int build_request(char *out, size_t cap, const char *path)
{
	/* The headers python-requests sends for cloud-init's url_helper. */
	return snprintf(out, cap,
			"GET %s HTTP/1.1\r\nHost: %s\r\n"
			"User-Agent: Cloud-Init/22.4.2\r\n"
			"Accept-Encoding: gzip, deflate\r\nAccept: */*\r\n"
			"Connection: keep-alive\r\n\r\n",
			path, addr_str);
}

static int open_conn(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr_str, &sa.sin_addr) != 1) {
		fprintf(stderr, "storm: bad address %s\n", addr_str);
		exit(2);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One blocking-style request with a deadline; returns the status or -1. */
static int fetch_once(const char *path, int timeout_ms, struct resp *r)
{
	char req[MAX_PATH_LEN + 256];
	int reqlen = build_request(req, sizeof(req), path);
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int fd = open_conn();
	if (fd < 0)
		return -1;
	resp_init(r);
	int sent = 0, rc = -1;
	for (;;) {
		int64_t left = (int64_t)(deadline - now_ns()) / 1000000;
		if ((int64_t)(deadline - now_ns()) <= 0)
			break;
		struct pollfd pfd = {.fd = fd, .events = sent ? POLLIN : POLLOUT};
		int n = poll(&pfd, 1, left > 0 ? (int)left : 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (!sent) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err || send(fd, req, reqlen, MSG_NOSIGNAL) != reqlen)
				break;
			sent = 1;
			continue;
		}
		if (r->len >= sizeof(r->buf))
			break;
		ssize_t got = recv(fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) { /* EOF: complete only if no length was promised */
			if (got == 0 && resp_parse(r) == 0 && r->body_off >= 0 && r->clen < 0)
				rc = r->status;
			break;
		}
		r->len += (size_t)got;
		if (resp_parse(r)) {
			rc = r->status;
			break;
		}
	}
	close(fd);
	return rc;
}

/* ---- crawl (boot storm) ------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The q-th percentile of n sorted values (0 when there are none). */
static uint64_t pctile(const uint64_t *v, size_t n, unsigned q)
{
	return n ? v[(n - 1) * q / 100] : 0;
}

struct seq_item {
	int status;
	char path[MAX_PATH_LEN];
};

static int load_seq(const char *file, struct seq_item *seq)
{
	FILE *f = fopen(file, "r");
	if (!f)
		die(file);
	int n = 0;
	char line[MAX_PATH_LEN + 16];
	while (n < MAX_SEQ && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %511s", &seq[n].status, seq[n].path) == 2)
			n++;
	}
	fclose(f);
	return n;
}

struct guest_result {
	uint32_t requests;
	uint32_t failed_attempts;
	uint32_t gave_up;
	uint32_t rounds; /* crawls completed or given up, each timed below */
	uint64_t end_ns;
	uint64_t crawl_ns[MAX_ROUNDS];
};
_Static_assert(sizeof(struct guest_result) <= 4096, "one atomic write to a pipe (PIPE_BUF)");

static void crawl_child(const char *ns, const struct seq_item *seq, int nseq, int rounds,
			int timeout_ms, int retries, uint64_t deadline_ns, int ready_w, int go_r,
			int res_w)
{
	char path[256];
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		die(path);
	close(nsfd);
	static struct resp r;
	struct guest_result res = {0};
	char c = 'R';
	if (write(ready_w, &c, 1) != 1)
		die("ready");
	if (read(go_r, &c, 1) < 0) /* returns 0 when the parent closes it */
		die("barrier");
	for (int k = 0; k < rounds && now_ns() < deadline_ns; k++) {
		uint64_t start = now_ns();
		for (int i = 0; i < nseq && now_ns() < deadline_ns; i++) {
			int ok = 0;
			for (int a = 0; a <= retries && now_ns() < deadline_ns; a++) {
				res.requests++;
				int st = fetch_once(seq[i].path, timeout_ms, &r);
				if (st == seq[i].status) {
					ok = 1;
					break;
				}
				res.failed_attempts++;
				if (a < retries)
					usleep(RETRY_SLEEP_MS * 1000);
			}
			if (!ok)
				res.gave_up++;
		}
		res.crawl_ns[res.rounds++] = now_ns() - start;
	}
	res.end_ns = now_ns();
	if (write(res_w, &res, sizeof(res)) != sizeof(res))
		die("result");
	_exit(0);
}

static int cmd_crawl(int argc, char **argv)
{
	const char *seqfile = NULL;
	int timeout_ms = 10000, retries = 5, deadline_s = 120, rounds = 1, opt;
	while ((opt = getopt(argc, argv, "s:a:t:r:d:n:")) != -1) {
		switch (opt) {
		case 's': seqfile = optarg; break;
		case 'a': addr_str = optarg; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'r': retries = atoi(optarg); break;
		case 'd': deadline_s = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		default: return 2;
		}
	}
	int nguests = argc - optind;
	if (!seqfile || nguests <= 0 || nguests > MAX_GUESTS || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: storm crawl -s SEQFILE [-a ADDR] [-t MS] [-r N] [-d S] "
				"[-n ROUNDS<=%d] NS...\n", MAX_ROUNDS);
		return 2;
	}
	static struct seq_item seq[MAX_SEQ];
	int nseq = load_seq(seqfile, seq);
	int ready[2], go[2], res[2];
	if (pipe(ready) || pipe(go) || pipe(res))
		die("pipe");
	uint64_t deadline_ns = now_ns() + (uint64_t)deadline_s * 1000000000ull;
	for (int g = 0; g < nguests; g++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			close(res[0]);
			crawl_child(argv[optind + g], seq, nseq, rounds, timeout_ms, retries,
				    deadline_ns, ready[1], go[0], res[1]);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(res[1]);
	for (int g = 0; g < nguests; g++) {
		char c;
		if (read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "storm: a guest failed to start\n");
			return 2;
		}
	}
	uint64_t t0 = now_ns();
	close(go[1]); /* release every child at once */
	uint64_t last = t0, requests = 0, failed = 0, gave_up = 0;
	int got = 0;
	static struct guest_result gr;
	static uint64_t crawls[MAX_GUESTS * MAX_ROUNDS], firsts[MAX_GUESTS];
	size_t ncrawls = 0, nfirsts = 0;
	while (got < nguests && read(res[0], &gr, sizeof(gr)) == sizeof(gr)) {
		got++;
		requests += gr.requests;
		failed += gr.failed_attempts;
		gave_up += gr.gave_up;
		if (gr.end_ns > last)
			last = gr.end_ns;
		for (uint32_t k = 0; k < gr.rounds && k < MAX_ROUNDS; k++)
			crawls[ncrawls++] = gr.crawl_ns[k];
		if (gr.rounds)
			firsts[nfirsts++] = gr.crawl_ns[0];
	}
	while (wait(NULL) > 0)
		;
	/* A child that died without reporting gave up on its whole sequence. */
	gave_up += (uint64_t)(nguests - got) * (uint64_t)nseq * (uint64_t)rounds;
	qsort(crawls, ncrawls, sizeof(crawls[0]), cmp_u64);
	double p50 = (double)pctile(crawls, ncrawls, 50) / 1e9;
	double p99 = (double)pctile(crawls, ncrawls, 99) / 1e9;
	double max = (double)pctile(crawls, ncrawls, 100) / 1e9;
	/* The first crawl of every guest apart: all guests start it together
	 * (their first connections, every instance's first request). */
	qsort(firsts, nfirsts, sizeof(firsts[0]), cmp_u64);
	printf("guests=%d sequence=%d rounds=%d requests=%llu failed_attempts=%llu gave_up=%llu "
	       "time_s=%.3f crawl_p50_s=%.4f crawl_p99_s=%.4f crawl_max_s=%.4f "
	       "first_p50_s=%.4f first_max_s=%.4f\n",
	       nguests, nseq, rounds, (unsigned long long)requests, (unsigned long long)failed,
	       (unsigned long long)gave_up, (double)(last - t0) / 1e9, p50, p99, max,
	       (double)pctile(firsts, nfirsts, 50) / 1e9, (double)pctile(firsts, nfirsts, 100) / 1e9);
	return 0;
}

/* ---- probe (victim during a flood) -------------------------------------- */

struct probe_conn {
	int fd;
	int sent;
	uint64_t start_ns;
	struct resp *r;
};

static int cmd_probe(int argc, char **argv)
{
	const char *path = "/latest/meta-data/instance-id";
	int rate = 100, secs = 5, timeout_ms = 1000, opt;
	while ((opt = getopt(argc, argv, "p:R:D:a:t:")) != -1) {
		switch (opt) {
		case 'p': path = optarg; break;
		case 'R': rate = atoi(optarg); break;
		case 'D': secs = atoi(optarg); break;
		case 'a': addr_str = optarg; break;
		case 't': timeout_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (rate <= 0 || secs <= 0 || (uint64_t)rate * (uint64_t)secs > MAX_SAMPLES ||
	    (uint64_t)rate * (uint64_t)timeout_ms / 1000 >= MAX_INFLIGHT) {
		fprintf(stderr, "storm probe: rate x duration or rate x timeout too large\n");
		return 2;
	}
	char req[MAX_PATH_LEN + 256];
	int reqlen = build_request(req, sizeof(req), path);
	static struct probe_conn conns[MAX_INFLIGHT];
	uint64_t *lat = calloc(MAX_SAMPLES, sizeof(*lat));
	struct resp *bufs = calloc(MAX_INFLIGHT, sizeof(*bufs));
	if (!lat || !bufs)
		die("calloc");
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		conns[i].fd = -1;
		conns[i].r = &bufs[i];
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll");
	uint64_t timeout_ns = (uint64_t)timeout_ms * 1000000ull;
	uint64_t interval = 1000000000ull / (uint64_t)rate;
	uint64_t t0 = now_ns(), next = t0, stop = t0 + (uint64_t)secs * 1000000000ull;
	uint64_t nsent = 0, nok = 0, nfail = 0, nlat = 0;
	int inflight = 0, hi = 0; /* slots [0, hi) may be in use */

	while (now_ns() < stop || inflight > 0) {
		uint64_t now = now_ns();
		while (now < stop && next <= now) { /* open-loop: start what is due */
			next += interval;
			nsent++;
			int slot = -1;
			for (int i = 0; i < MAX_INFLIGHT; i++)
				if (conns[i].fd < 0) { slot = i; break; }
			if (slot >= hi)
				hi = slot + 1;
			int fd = slot >= 0 ? open_conn() : -1;
			if (fd < 0) {
				nfail++;
				lat[nlat++] = timeout_ns;
				continue;
			}
			conns[slot].fd = fd;
			conns[slot].sent = 0;
			conns[slot].start_ns = now;
			resp_init(conns[slot].r);
			struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)slot};
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			inflight++;
		}
		/* expire */
		for (int i = 0; i < hi && inflight > 0; i++) {
			if (conns[i].fd >= 0 && now - conns[i].start_ns >= timeout_ns) {
				close(conns[i].fd);
				conns[i].fd = -1;
				inflight--;
				nfail++;
				lat[nlat++] = timeout_ns;
			}
		}
		int wait_ms = 1;
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, wait_ms);
		for (int k = 0; k < n; k++) {
			struct probe_conn *c = &conns[evs[k].data.u32];
			if (c->fd < 0)
				continue;
			int done = 0, ok = 0;
			if (!c->sent) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err || send(c->fd, req, reqlen, MSG_NOSIGNAL) != reqlen) {
					done = 1;
				} else {
					c->sent = 1;
					struct epoll_event ev = {.events = EPOLLIN, .data = evs[k].data};
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			} else {
				struct resp *r = c->r;
				ssize_t got = recv(c->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
				if (got < 0 && errno == EAGAIN)
					continue;
				if (got <= 0) {
					done = 1;
				} else {
					r->len += (size_t)got;
					if (resp_parse(r)) {
						done = 1;
						ok = r->status == 200;
					} else if (r->len >= sizeof(r->buf)) {
						done = 1;
					}
				}
			}
			if (done) {
				uint64_t l = now_ns() - c->start_ns;
				close(c->fd);
				c->fd = -1;
				inflight--;
				if (ok) {
					nok++;
					lat[nlat++] = l;
				} else {
					nfail++;
					lat[nlat++] = timeout_ns;
				}
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	double p50 = (double)pctile(lat, nlat, 50) / 1e6;
	double p99 = (double)pctile(lat, nlat, 99) / 1e6;
	printf("sent=%llu ok=%llu failed=%llu p50_ms=%.3f p99_ms=%.3f\n", (unsigned long long)nsent,
	       (unsigned long long)nok, (unsigned long long)nfail, p50, p99);
	free(lat);
	free(bufs);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "crawl") == 0)
		return cmd_crawl(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return cmd_probe(argc - 1, argv + 1);
	fprintf(stderr, "usage: storm crawl|probe ...\n");
	return 2;
}
