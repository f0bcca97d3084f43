/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vmhttp - the HTTP client of the test VMs' initramfs (busybox wget cannot
 * PUT or POST a body). Built static with the host's gcc by
 * tools/vm/build-image.sh; runs in the guest only.
 *
 *   vmhttp [-X METHOD] [-H 'Name: value']... [-d BODY] [-o FILE] [-c CPU]
 *          [-t SECONDS] URL
 *
 * URL is http://HOST[:PORT]/PATH, HOST an IPv4 address or [IPv6%IFNAME].
 * One request, "Connection: close"; the body goes to FILE (default stdout),
 * then the status code and the milliseconds the exchange took are printed
 * on stdout ("200 12"). -c pins the process (and so the guest's TX queue,
 * virtio-net's XPS follows the CPU) to CPU. Exit 0 when a complete response
 * arrived (any status), 1 on a network or protocol error (reason on
 * stderr), 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Largest response kept: a 64 KiB user data plus headers, with room. */
#define RESP_MAX (1u << 20)
/* Request headers given with -H. */
#define HDR_MAX 8
/* Default seconds for the whole exchange: a TCG guest is slow, but a
 * request that takes longer than this is a failure to report. */
#define DEF_TIMEOUT_S 20

static void on_alarm(int sig)
{
	static const char msg[] = "vmhttp: timeout\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to do */
	}
	_exit(1);
}

static int fail(const char *what)
{
	fprintf(stderr, "vmhttp: %s: %s\n", what, errno ? strerror(errno) : "failed");
	return 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Parses http://HOST[:PORT]/PATH into addr and path. */
static int parse_url(const char *url, struct sockaddr_storage *ss, socklen_t *sl,
		     char *host, size_t hostlen, const char **path)
{
	char h[128];
	const char *p, *end;
	unsigned port = 80;

	if (strncmp(url, "http://", 7))
		return -1;
	p = url + 7;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end || (size_t)(end - p) >= sizeof(h))
			return -1;
		memcpy(h, p + 1, (size_t)(end - p - 1));
		h[end - p - 1] = '\0';
		snprintf(host, hostlen, "[%.*s]", (int)strcspn(h, "%"), h);
		p = end + 1;
	} else {
		size_t n = strcspn(p, ":/");
		if (n >= sizeof(h))
			return -1;
		memcpy(h, p, n);
		h[n] = '\0';
		snprintf(host, hostlen, "%s", h);
		p += n;
	}
	if (*p == ':') {
		port = (unsigned)strtoul(p + 1, (char **)&p, 10);
		if (!port || port > 65535)
			return -1;
	}
	*path = *p == '/' ? p : "/";
	memset(ss, 0, sizeof(*ss));
	if (strchr(h, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		char *pct = strchr(h, '%');

		if (pct) {
			*pct = '\0';
			a6->sin6_scope_id = if_nametoindex(pct + 1);
			if (!a6->sin6_scope_id)
				return -1;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, h, &a6->sin6_addr) != 1)
			return -1;
		*sl = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, h, &a4->sin_addr) != 1)
			return -1;
		*sl = sizeof(*a4);
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *method = "GET", *body = NULL, *out = NULL, *path;
	const char *hdrs[HDR_MAX];
	unsigned nhdrs = 0, timeout = DEF_TIMEOUT_S;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[160], *req, *resp, *hend, *cl;
	size_t reqlen, got = 0, blen;
	int c, fd, ofd = 1, status;
	uint64_t t0;

	while ((c = getopt(argc, argv, "X:H:d:o:c:t:")) != -1) {
		switch (c) {
		case 'X': method = optarg; break;
		case 'H':
			if (nhdrs == HDR_MAX)
				return 2;
			hdrs[nhdrs++] = optarg;
			break;
		case 'd': body = optarg; break;
		case 'o': out = optarg; break;
		case 'c': {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(atoi(optarg), &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				return fail("sched_setaffinity");
			break;
		}
		case 't': timeout = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: vmhttp [-X M] [-H HDR]... [-d BODY] [-o FILE] [-c CPU] [-t S] URL\n");
			return 2;
		}
	}
	if (optind != argc - 1 || parse_url(argv[optind], &ss, &sl, host, sizeof(host), &path)) {
		fprintf(stderr, "vmhttp: bad or missing URL\n");
		return 2;
	}
	signal(SIGALRM, on_alarm);
	alarm(timeout);

	reqlen = strlen(method) + strlen(path) + strlen(host) + 128 + (body ? strlen(body) : 0);
	for (unsigned i = 0; i < nhdrs; i++)
		reqlen += strlen(hdrs[i]) + 2;
	req = malloc(reqlen);
	resp = malloc(RESP_MAX + 1);
	if (!req || !resp)
		return fail("malloc");
	{
		size_t n = (size_t)snprintf(req, reqlen, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vmhttp\r\nConnection: close\r\n",
					    method, path, host);
		for (unsigned i = 0; i < nhdrs; i++)
			n += (size_t)snprintf(req + n, reqlen - n, "%s\r\n", hdrs[i]);
		if (body)
			n += (size_t)snprintf(req + n, reqlen - n, "Content-Length: %zu\r\n", strlen(body));
		n += (size_t)snprintf(req + n, reqlen - n, "\r\n%s", body ? body : "");
		reqlen = n;
	}

	t0 = now_ms();
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *)&ss, sl))
		return fail("connect");
	if (write_all(fd, req, reqlen))
		return fail("send");
	for (;;) {
		ssize_t r = read(fd, resp + got, RESP_MAX - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("recv");
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == RESP_MAX) {
			errno = EFBIG;
			return fail("response");
		}
	}
	close(fd);
	resp[got] = '\0';
	hend = strstr(resp, "\r\n\r\n");
	errno = 0;
	if (!hend || sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return fail("malformed response");
	*hend = '\0';
	blen = got - (size_t)(hend + 4 - resp);
	cl = strcasestr(resp, "\r\nContent-Length:");
	if (cl && strtoul(cl + 17, NULL, 10) != blen) {
		fprintf(stderr, "vmhttp: body of %zu bytes, Content-Length %lu\n", blen,
			strtoul(cl + 17, NULL, 10));
		return 1;
	}
	if (out && strcmp(out, "-")) {
		FILE *f = fopen(out, "w");
		if (!f || fwrite(hend + 4, 1, blen, f) != blen || fclose(f))
			return fail(out);
	} else if (write_all(ofd, hend + 4, blen)) {
		return fail("stdout");
	}
	printf("%d %llu\n", status, (unsigned long long)(now_ms() - t0));
	return 0;
}
