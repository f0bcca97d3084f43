/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The metrics endpoint (see promhttp.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "log.h"
#include "promhttp.h"

/* Scrapers served at once: Prometheus uses one; a few for people with curl. */
#define METRICS_CONN_LIMIT 8
/* Seconds an idle scrape connection is kept. */
#define METRICS_CONN_TIMEOUT_S 10

struct mdr_promhttp {
	struct MHD_Daemon *mhd;
	mdr_promhttp_render render;
	char addr[MDR_PROMHTTP_ADDR_MAX];
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mem)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mem);
	enum MHD_Result r;

	if (!resp) {
		if (mem == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

#define TEXT "text/plain; charset=utf-8"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **req_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "method not allowed\n";
	static char failed[] = "collecting the metrics failed (see the log)\n";
	struct mdr_buf b = { 0 };
	int r;

	struct mdr_promhttp *h = cls;

	(void)version, (void)upload, (void)upload_size, (void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, not_allowed,
			     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, TEXT, not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT);
	r = h->render(&b);
	if (r) {
		mdr_log(MDR_LOG_ERR, "metrics: collecting: %s", strerror(-r));
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, failed,
			     sizeof(failed) - 1, MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len,
		     MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	mdr_log(MDR_LOG_WARN, "metrics: %s", line);
}

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only. 0 or -EINVAL. */
static int parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	char host[MDR_PROMHTTP_ADDR_MAX];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM },
			*ai;
	size_t hl;

	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');

		if (!e || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - spec - 1);
		memcpy(host, spec + 1, hl);
		port = e + 2;
	} else {
		const char *e = strrchr(spec, ':');

		if (!e || strchr(spec, ':') != e)
			return -EINVAL;
		hl = (size_t)(e - spec);
		memcpy(host, spec, hl);
		port = e + 1;
	}
	host[hl] = '\0';
	if (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
	    atoi(port) > 65535)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

int mdr_promhttp_check_addr(const char *spec)
{
	struct sockaddr_storage ss;

	return strlen(spec) < MDR_PROMHTTP_ADDR_MAX ? parse_addr(spec, &ss) : -EINVAL;
}

void mdr_promhttp_stop(struct mdr_promhttp *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	mdr_log(MDR_LOG_INFO, "metrics: no longer serving %s", h->addr);
	free(h);
}

int mdr_promhttp_start(struct mdr_promhttp **out, const char *addr, mdr_promhttp_render render)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct mdr_promhttp *h;

	*out = NULL;
	if (strlen(addr) >= MDR_PROMHTTP_ADDR_MAX || parse_addr(addr, &ss)) {
		mdr_log(MDR_LOG_ERR, "metrics: \"%s\" is not ADDR:PORT or [ADDR6]:PORT", addr);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->render = render;
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT_S,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!h->mhd) {
		mdr_log(MDR_LOG_ERR, "metrics: cannot listen on %s (address in use or not local?)",
			addr);
		free(h);
		return -EADDRNOTAVAIL;
	}
	mdr_log(MDR_LOG_INFO, "metrics: serving http://%s/metrics", addr);
	*out = h;
	return 0;
}
