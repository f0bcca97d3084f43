/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flood - a hostile guest for `make bench` (run inside a guest namespace,
 * bounded in time and rate, aimed only at the metadata address inside the
 * bench's own namespaces).
 *
 *   flood syn  [-a ADDR] [-p PORT] -R PPS -D SECS
 *     Raw SYNs from the guest's own address, random source ports and ISNs,
 *     never completing the handshake.
 *   flood conn [-a ADDR] [-p PORT] -R NEWCONN_PER_S -n MAXOPEN -D SECS
 *     Opens connections (full handshakes) and holds them idle, up to MAXOPEN
 *     at once; a connection the server closes or resets is replaced.
 *
 * Prints what it did: "sent=N" (syn) or "opened=N refused=N peak_open=N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Upper bound on any flood rate: keeps a mistake from eating both cores. */
#define MAX_RATE 1000000
/* Upper bound on the duration: the bench is bounded in time. */
#define MAX_SECS 120
/* Held connections (fd limit raised to fit). */
#define MAX_OPEN 60000
/* Pacing tick: packets are sent in bursts every tick. */
#define TICK_NS 1000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t rng_state = 2463534242u;
static uint32_t rnd(void) /* xorshift32: flood randomness, not security */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

/* Source address the kernel would use towards dst. */
static struct in_addr source_for(struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	if (fd < 0 || connect(fd, (struct sockaddr *)dst, sizeof(*dst)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0) {
		perror("flood: source address");
		exit(2);
	}
	close(fd);
	return me.sin_addr;
}

static int syn_flood(struct sockaddr_in *dst, long rate, int secs)
{
	struct in_addr src = source_for(dst);
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("flood: raw socket");
		return 2;
	}
	rng_state ^= (uint32_t)now_ns();
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
		uint8_t opt[4]; /* MSS 1460, as a real SYN carries */
	} __attribute__((packed)) pkt;
	uint64_t sent = 0, t0 = now_ns(), stop = t0 + (uint64_t)secs * 1000000000ull;
	for (uint64_t t = now_ns(); t < stop; t = now_ns()) {
		uint64_t due = (uint64_t)((double)(t - t0) * (double)rate / 1e9);
		for (; sent < due; sent++) {
			memset(&pkt, 0, sizeof(pkt));
			pkt.ip.version = 4;
			pkt.ip.ihl = 5;
			pkt.ip.ttl = 64;
			pkt.ip.protocol = IPPROTO_TCP;
			pkt.ip.tot_len = htons(sizeof(pkt));
			pkt.ip.id = htons((uint16_t)rnd());
			pkt.ip.saddr = src.s_addr;
			pkt.ip.daddr = dst->sin_addr.s_addr;
			pkt.tcp.source = htons((uint16_t)(1024 + rnd() % 60000));
			pkt.tcp.dest = dst->sin_port;
			pkt.tcp.seq = rnd();
			pkt.tcp.doff = (sizeof(pkt.tcp) + sizeof(pkt.opt)) / 4;
			pkt.tcp.syn = 1;
			pkt.tcp.window = htons(64240);
			pkt.opt[0] = 2;
			pkt.opt[1] = 4;
			pkt.opt[2] = 1460 >> 8;
			pkt.opt[3] = 1460 & 0xff;
			uint8_t pseudo[12];
			memcpy(pseudo, &pkt.ip.saddr, 4);
			memcpy(pseudo + 4, &pkt.ip.daddr, 4);
			pseudo[8] = 0;
			pseudo[9] = IPPROTO_TCP;
			pseudo[10] = 0;
			pseudo[11] = sizeof(pkt.tcp) + sizeof(pkt.opt);
			uint32_t s = csum_add(0, pseudo, sizeof(pseudo));
			s = csum_add(s, &pkt.tcp, sizeof(pkt.tcp) + sizeof(pkt.opt));
			pkt.tcp.check = htons(csum_fold(s));
			/* The kernel fills the IP checksum for IPPROTO_RAW. */
			if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)dst, sizeof(*dst)) < 0 &&
			    errno != ENOBUFS && errno != EAGAIN)
				break;
		}
		struct timespec ts = {0, (long)TICK_NS};
		nanosleep(&ts, NULL);
	}
	close(fd);
	printf("sent=%llu\n", (unsigned long long)sent);
	return 0;
}

static int conn_flood(struct sockaddr_in *dst, long rate, int maxopen, int secs)
{
	struct rlimit rl = {(rlim_t)maxopen + 64, (rlim_t)maxopen + 64};
	setrlimit(RLIMIT_NOFILE, &rl);
	int ep = epoll_create1(0);
	if (ep < 0) {
		perror("flood: epoll");
		return 2;
	}
	uint64_t opened = 0, refused = 0, attempts = 0;
	int open_now = 0, peak = 0;
	uint64_t t0 = now_ns(), stop = t0 + (uint64_t)secs * 1000000000ull;
	for (uint64_t t = now_ns(); t < stop; t = now_ns()) {
		uint64_t due = (uint64_t)((double)(t - t0) * (double)rate / 1e9);
		for (; attempts < due && open_now < maxopen; attempts++) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (fd < 0)
				break;
			if (connect(fd, (struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
				close(fd);
				refused++;
				continue;
			}
			struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.fd = fd};
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			open_now++;
		}
		if (attempts < due) /* at the cap: do not build a backlog of attempts */
			attempts = due;
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (evs[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLIN)) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err)
					refused++;
				close(fd); /* closed, reset or refused: replace it */
				open_now--;
			} else if (evs[i].events & EPOLLOUT) {
				opened++;
				struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			}
		}
		if (open_now > peak)
			peak = open_now;
	}
	printf("opened=%llu refused=%llu peak_open=%d\n", (unsigned long long)opened,
	       (unsigned long long)refused, peak);
	return 0; /* exit closes every held connection */
}

int main(int argc, char **argv)
{
	const char *addr = "169.254.169.254";
	int port = 80, secs = 5, maxopen = 10000, opt;
	long rate = 20000;
	if (argc < 2) {
		fprintf(stderr, "usage: flood syn|conn [-a ADDR] [-p PORT] [-R RATE] [-n MAXOPEN] -D SECS\n");
		return 2;
	}
	const char *mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "a:p:R:n:D:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'R': rate = atol(optarg); break;
		case 'n': maxopen = atoi(optarg); break;
		case 'D': secs = atoi(optarg); break;
		default: return 2;
		}
	}
	if (rate <= 0 || rate > MAX_RATE || secs <= 0 || secs > MAX_SECS || maxopen <= 0 ||
	    maxopen > MAX_OPEN) {
		fprintf(stderr, "flood: rate 1..%d, duration 1..%d s, maxopen 1..%d\n", MAX_RATE,
			MAX_SECS, MAX_OPEN);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1) {
		fprintf(stderr, "flood: bad address %s\n", addr);
		return 2;
	}
	if (strcmp(mode, "syn") == 0)
		return syn_flood(&dst, rate, secs);
	if (strcmp(mode, "conn") == 0)
		return conn_flood(&dst, rate, maxopen, secs);
	fprintf(stderr, "flood: unknown mode %s\n", mode);
	return 2;
}
