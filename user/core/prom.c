/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Prometheus text exposition of mdr's counters (see prom.h). Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* First allocation of the buffer; it doubles from there. */
#define MDR_BUF_INITIAL 4096

void mdr_buf_printf(struct mdr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : MDR_BUF_INITIAL;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

const char *mdr_prom_mode_name(uint32_t mode)
{
	return mode == MDR_IFACE_NATIVE ? "native" : mode == MDR_IFACE_GENERIC ? "generic" : "unknown";
}

struct field {
	const char *name; /* metric name without mdr_ prefix and _total */
	size_t off;
	const char *help;
};

#define XF(f, h) { "xdp_" #f, offsetof(struct mdr_xdp_counters, f), h }
static const struct field xdp_fields[] = {
	XF(passed, "Frames not for the metadata service, passed on untouched."),
	XF(matched, "TCP frames to a metadata endpoint."),
	XF(redirected, "Frames handed to a responder socket."),
	XF(fallback_pass, "Frames without an instance or a socket, passed on (policy pass)."),
	XF(fallback_drop, "Frames without an instance or a socket, dropped (policy drop)."),
	XF(no_xsk, "Frames for which no responder socket serves the queue."),
	XF(arp_replied, "ARP requests for a metadata address answered."),
	XF(nd_replied, "Neighbour solicitations for a metadata address answered."),
	XF(unknown, "Frames for which no instance is bound."),
	XF(spoofed, "Frames with the wrong source MAC or VLAN on a bound port."),
	XF(rate_limited, "Frames over the instance's rate limit."),
	XF(malformed, "Truncated or malformed frames to a metadata endpoint."),
	XF(fragment, "IP fragments to a metadata endpoint."),
	XF(synack_sent, "SYNs answered in XDP with a SYN cookie SYN-ACK."),
	XF(handshake_acks, "Handshake ACKs with a valid cookie dropped in XDP (the request opens the connection)."),
};
#define N_XDP (sizeof(xdp_fields) / sizeof(xdp_fields[0]))
_Static_assert(N_XDP * 8 == sizeof(struct mdr_xdp_counters), "every XDP counter exported");

#define RF(f, n, h) { "responder_" n, offsetof(struct mdr_resp_counters, f), h }
static const struct field resp_fields[] = {
	RF(requests, "requests", "HTTP requests parsed."),
	RF(conns_opened, "connections_opened", "TCP connections accepted."),
	RF(conns_closed, "connections_closed", "TCP connections closed."),
	RF(conns_refused, "connections_refused", "Connections refused: the instance's table was full."),
	RF(resets_sent, "resets_sent", "TCP resets sent."),
	RF(retransmits, "retransmissions", "TCP segments retransmitted."),
	RF(tokens_issued, "tokens_issued", "IMDSv2 tokens issued."),
	RF(bytes_sent, "sent_bytes", "Payload bytes sent."),
	RF(frames_sent, "segments_sent", "TCP segments sent (data, ACK, RST, SYN-ACK)."),
	RF(frames_deferred, "segments_deferred", "TCP segments held back by the output budget."),
	RF(cookies_ok, "cookies_accepted", "Connections created from a valid SYN cookie."),
	RF(cookies_bad, "cookies_refused", "ACKs matching no connection without a valid SYN cookie (RST)."),
	RF(requests_deferred, "requests_deferred", "Requests that waited for the instance's request budget."),
};
#define N_RESP (sizeof(resp_fields) / sizeof(resp_fields[0]))

/* Responses by status: code label, class label. */
struct status_field {
	const char *code;
	size_t off;
};
#define SF(c) { #c, offsetof(struct mdr_resp_counters, status_##c) }
static const struct status_field status_fields[] = {
	SF(200), SF(400), SF(401), SF(403), SF(404), SF(405), SF(409), SF(413), SF(414),
	SF(429), SF(431), { "5xx", offsetof(struct mdr_resp_counters, status_5xx) },
};
#define N_STATUS (sizeof(status_fields) / sizeof(status_fields[0]))
_Static_assert((N_RESP + N_STATUS) * 8 == sizeof(struct mdr_resp_counters),
	       "every responder counter exported");

static uint64_t at(const void *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void header(struct mdr_buf *b, const char *name, const char *type, const char *help)
{
	mdr_buf_printf(b, "# HELP mdr_%s %s\n# TYPE mdr_%s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void label_value(struct mdr_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			mdr_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			mdr_buf_printf(b, "\\n");
		else
			mdr_buf_printf(b, "%c", *v);
	}
}

/* {instance="UUID",port="P"}; the counts no instance owns carry neither
 * label, so that Prometheus gives them the scrape target's instance label
 * (one series per node even with honor_labels). */
static void inst_labels(struct mdr_buf *b, const struct mdr_prom_inst *i, const char *more)
{
	if (!i->uuid[0]) {
		if (more[0])
			mdr_buf_printf(b, "{%s}", more);
		return;
	}
	mdr_buf_printf(b, "{instance=\"");
	label_value(b, i->uuid);
	mdr_buf_printf(b, "\",port=\"");
	label_value(b, i->port);
	mdr_buf_printf(b, "\"%s%s}", more[0] ? "," : "", more);
}

static void port_label(struct mdr_buf *b, const struct mdr_prom_port *p)
{
	mdr_buf_printf(b, "port=\"");
	label_value(b, p->name);
	mdr_buf_printf(b, "\"");
}

static void xdp_families(struct mdr_buf *b, const struct mdr_prom_snap *s)
{
	char name[64];

	for (size_t f = 0; f < N_XDP; f++) {
		snprintf(name, sizeof(name), "%s_total", xdp_fields[f].name);
		header(b, name, "counter", xdp_fields[f].help);
		mdr_buf_printf(b, "mdr_%s %llu\n", name,
			       (unsigned long long)at(&s->xdp, xdp_fields[f].off));
	}
	for (size_t f = 0; f < N_XDP; f++) {
		int any = 0;

		snprintf(name, sizeof(name), "instance_%s_total", xdp_fields[f].name);
		for (size_t i = 0; i < s->n_inst; i++) {
			const struct mdr_prom_inst *in = &s->inst[i];

			if (!in->has_xdp)
				continue;
			if (!any++)
				header(b, name, "counter", xdp_fields[f].help);
			mdr_buf_printf(b, "mdr_%s", name);
			inst_labels(b, in, "");
			mdr_buf_printf(b, " %llu\n", (unsigned long long)at(&in->xdp, xdp_fields[f].off));
		}
	}
}

static void resp_families(struct mdr_buf *b, const struct mdr_prom_snap *s)
{
	char name[64];
	int any = 0;

	for (size_t f = 0; f < N_RESP; f++) {
		any = 0;
		snprintf(name, sizeof(name), "%s_total", resp_fields[f].name);
		for (size_t i = 0; i < s->n_inst; i++) {
			const struct mdr_prom_inst *in = &s->inst[i];

			if (!in->has_resp)
				continue;
			if (!any++)
				header(b, name, "counter", resp_fields[f].help);
			mdr_buf_printf(b, "mdr_%s", name);
			inst_labels(b, in, "");
			mdr_buf_printf(b, " %llu\n",
				       (unsigned long long)at(&in->resp, resp_fields[f].off));
		}
	}
	any = 0;
	for (size_t i = 0; i < s->n_inst; i++) {
		const struct mdr_prom_inst *in = &s->inst[i];

		if (!in->has_resp)
			continue;
		if (!any++)
			header(b, "responder_responses_total", "counter",
			       "HTTP responses sent, by status code and class.");
		for (size_t f = 0; f < N_STATUS; f++) {
			char more[48];

			snprintf(more, sizeof(more), "code=\"%s\",class=\"%cxx\"",
				 status_fields[f].code, status_fields[f].code[0]);
			mdr_buf_printf(b, "mdr_responder_responses_total");
			inst_labels(b, in, more);
			mdr_buf_printf(b, " %llu\n", (unsigned long long)at(&in->resp, status_fields[f].off));
		}
	}
}

static void state_families(struct mdr_buf *b, const struct mdr_prom_snap *s)
{
	size_t known = 0;

	for (size_t i = 0; i < s->n_inst; i++)
		known += s->inst[i].uuid[0] != '\0';
	header(b, "instances", "gauge", "Instances whose definition is loaded.");
	mdr_buf_printf(b, "mdr_instances %zu\n", known);
	if (known)
		header(b, "instance_generation", "gauge",
		       "Generation of the instance's definition being served.");
	for (size_t i = 0; i < s->n_inst; i++) {
		if (!s->inst[i].uuid[0])
			continue;
		mdr_buf_printf(b, "mdr_instance_generation");
		inst_labels(b, &s->inst[i], "");
		mdr_buf_printf(b, " %u\n", s->inst[i].gen);
	}
	if (!s->n_port)
		return;
	header(b, "port_xdp_attached", "gauge",
	       "The XDP program is attached to the port, in this mode (always 1).");
	for (size_t p = 0; p < s->n_port; p++) {
		mdr_buf_printf(b, "mdr_port_xdp_attached{");
		port_label(b, &s->port[p]);
		mdr_buf_printf(b, ",mode=\"%s\"} 1\n", mdr_prom_mode_name(s->port[p].mode));
	}
	header(b, "port_rx_queues", "gauge", "RX queues of the port.");
	for (size_t p = 0; p < s->n_port; p++) {
		mdr_buf_printf(b, "mdr_port_rx_queues{");
		port_label(b, &s->port[p]);
		mdr_buf_printf(b, "} %u\n", s->port[p].rx_queues);
	}
	header(b, "port_queue_socket", "gauge",
	       "A responder socket serves this RX queue of the port (1) or not (0).");
	for (size_t p = 0; p < s->n_port; p++) {
		uint32_t n = s->port[p].rx_queues;

		if (n > MDR_PROM_MAX_QUEUES)
			n = MDR_PROM_MAX_QUEUES;
		for (uint32_t q = 0; q < n; q++) {
			mdr_buf_printf(b, "mdr_port_queue_socket{");
			port_label(b, &s->port[p]);
			mdr_buf_printf(b, ",queue=\"%u\"} %u\n", q, s->port[p].served[q] ? 1u : 0u);
		}
	}
}

static int finish(struct mdr_buf *out)
{
	if (out->oom) {
		free(out->p);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	return 0;
}

int mdr_prom_format(const struct mdr_prom_snap *s, struct mdr_buf *out)
{
	xdp_families(out, s);
	resp_families(out, s);
	state_families(out, s);
	return finish(out);
}

static const uint64_t hist_bounds_ns[MDR_PROM_HIST_BUCKETS] = MDR_PROM_HIST_BOUNDS_NS;

void mdr_prom_hist_observe(struct mdr_prom_hist *h, uint64_t ns)
{
	for (unsigned i = 0; i < MDR_PROM_HIST_BUCKETS; i++)
		if (ns <= hist_bounds_ns[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum_ns += ns;
}

/* A histogram family in seconds (cumulative buckets, +Inf, sum, count). */
static void hist_family(struct mdr_buf *b, const char *name, const char *help,
			const struct mdr_prom_hist *h)
{
	uint64_t cum = 0;

	header(b, name, "histogram", help);
	for (unsigned i = 0; i < MDR_PROM_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		mdr_buf_printf(b, "mdr_%s_bucket{le=\"%g\"} %llu\n", name,
			       (double)hist_bounds_ns[i] / 1e9, (unsigned long long)cum);
	}
	mdr_buf_printf(b, "mdr_%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	mdr_buf_printf(b, "mdr_%s_sum %.9f\n", name, (double)h->sum_ns / 1e9);
	mdr_buf_printf(b, "mdr_%s_count %llu\n", name, (unsigned long long)h->count);
}

#define PF(f, n, h) { "responder_" n, offsetof(struct mdr_prom_rsp, f), h }
static const struct field rsp_fields[] = {
	PF(rx_frames, "frames_received", "Frames the responder's sockets received."),
	PF(rx_untagged, "frames_untagged", "Frames without a valid tag header, dropped."),
	PF(tx_frames, "frames_sent", "Frames the responder sent."),
	PF(tx_dropped, "frames_send_dropped", "Frames not sent: no free UMEM frame, ring full or stale port."),
	PF(kick_errors, "kick_errors", "Failed TX kicks (sendto) other than EAGAIN/EBUSY."),
	PF(reclaimed_frames, "reclaimed_frames", "UMEM frames taken back from idle sockets' fill rings."),
	PF(reopened, "reopened_sockets", "Idle sockets reopened to reclaim their fill frames."),
};
#define N_RSP (sizeof(rsp_fields) / sizeof(rsp_fields[0]))

int mdr_prom_format_responder(const struct mdr_prom_rsp *s, struct mdr_buf *out)
{
	static const struct {
		const char *reason;
		size_t off;
	} lost[] = {
		{ "fill_empty", offsetof(struct mdr_prom_rsp, rx_fill_empty) },
		{ "rx_ring_full", offsetof(struct mdr_prom_rsp, rx_ring_full) },
		{ "other", offsetof(struct mdr_prom_rsp, rx_dropped) },
	};

	for (size_t f = 0; f < N_RSP; f++) {
		char name[64];

		snprintf(name, sizeof(name), "%s_total", rsp_fields[f].name);
		header(out, name, "counter", rsp_fields[f].help);
		mdr_buf_printf(out, "mdr_%s %llu\n", name,
			       (unsigned long long)at(s, rsp_fields[f].off));
	}
	header(out, "responder_kernel_dropped_frames_total", "counter",
	       "Frames the kernel dropped before the responder saw them (sockets closed since "
	       "start), by reason: fill_empty is a UMEM fill shortage.");
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		mdr_buf_printf(out, "mdr_responder_kernel_dropped_frames_total{reason=\"%s\"} %llu\n",
			       lost[i].reason, (unsigned long long)at(s, lost[i].off));
	header(out, "responder_sockets", "gauge", "AF_XDP sockets up.");
	mdr_buf_printf(out, "mdr_responder_sockets %u\n", s->sockets);
	header(out, "responder_umem_free_frames", "gauge", "UMEM frames free.");
	mdr_buf_printf(out, "mdr_responder_umem_free_frames %u\n", s->free_frames);
	hist_family(out, "responder_service_seconds",
		    "Time from a complete request to its response queued, in the responder.",
		    &s->service);
	return finish(out);
}
