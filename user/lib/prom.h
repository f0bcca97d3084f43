/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * prom.[ch]: the Prometheus text exposition (format 0.0.4) of a snapshot of
 * mdr's counters and state. Pure: the caller (mdrd's metrics.c) reads the
 * maps into a struct mdr_prom_snap; mdr_prom_format turns it into text.
 *
 * Families (counters end in _total, gauges are plain):
 *   mdr_xdp_<counter>_total                       global XDP outcomes
 *   mdr_instance_xdp_<counter>_total{instance,port}
 *   mdr_responder_requests_total{instance,port}
 *   mdr_responder_responses_total{instance,port,code,class}
 *   mdr_responder_<counter>_total{instance,port}  connections, resets, ...
 *   mdr_instances, mdr_instance_generation{instance,port}
 *   mdr_port_xdp_attached{port,mode}, mdr_port_rx_queues{port},
 *   mdr_port_queue_socket{port,queue}
 * The responder's counts no instance owns have no instance/port label.
 * Prometheus renames a target's "instance" label to "exported_instance"
 * unless the scrape config says honor_labels: true (README).
 */
#ifndef MDR_PROM_H
#define MDR_PROM_H

#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"

/* A port label: interface names of the instance's bindings joined by ','
 * (a handful at most: 4 names of IFNAMSIZ fit). */
#define MDR_PROM_PORT_LABEL_MAX 64
/* RX queues reported per port: above any NIC's channel count. */
#define MDR_PROM_MAX_QUEUES 256

struct mdr_prom_inst {
	char uuid[MDR_UUID_SIZE];            /* "" = no instance (rstats key 0) */
	char port[MDR_PROM_PORT_LABEL_MAX];  /* "" = not bound to a port */
	uint32_t gen;                        /* generation served */
	int has_xdp, has_resp;               /* counters present in the maps */
	struct mdr_xdp_counters xdp;
	struct mdr_resp_counters resp;
};

struct mdr_prom_port {
	char name[MDR_IFNAME_SIZE];
	uint32_t mode;                           /* enum mdr_iface_mode */
	uint32_t rx_queues;                      /* queues mdrd recorded */
	uint8_t served[MDR_PROM_MAX_QUEUES];     /* 1 = a responder socket is registered */
};

struct mdr_prom_snap {
	struct mdr_xdp_counters xdp;
	const struct mdr_prom_inst *inst;
	size_t n_inst;
	const struct mdr_prom_port *port;
	size_t n_port;
};

/* A histogram of durations (Prometheus "histogram"): bucket i counts the
 * observations in (bound[i-1], bound[i]]; over the last bound only count
 * and sum see them (+Inf). Bounds: MDR_PROM_HIST_BOUNDS_NS. */
#define MDR_PROM_HIST_BUCKETS 12
#define MDR_PROM_HIST_BOUNDS_NS                                                        \
	{ 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,      \
	  10000000, 25000000, 100000000 }
struct mdr_prom_hist {
	uint64_t bucket[MDR_PROM_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum_ns;
};
void mdr_prom_hist_observe(struct mdr_prom_hist *h, uint64_t ns);

/* mdr-responder's own counters (its process, not a map), exported by
 * mdr-responder --metrics: mdr_responder_frames_*_total and friends. */
struct mdr_prom_rsp {
	uint64_t rx_frames, rx_untagged, tx_frames, tx_dropped, kick_errors;
	uint64_t rx_fill_empty, rx_ring_full, rx_dropped; /* kernel drops, closed sockets */
	uint64_t reclaimed_frames, reopened;
	uint32_t sockets, free_frames;
	struct mdr_prom_hist service; /* complete request -> response queued */
};

/* A growing text buffer (malloc'd; free .p). .oom set on allocation failure. */
struct mdr_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void mdr_buf_printf(struct mdr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the exposition of s to out. 0, or -ENOMEM (out is then freed). */
int mdr_prom_format(const struct mdr_prom_snap *s, struct mdr_buf *out);

/* Appends the responder process's exposition. 0 or -ENOMEM (out freed). */
int mdr_prom_format_responder(const struct mdr_prom_rsp *s, struct mdr_buf *out);

/* The label value of an attach mode: "native", "generic" or "unknown". */
const char *mdr_prom_mode_name(uint32_t mode);

#endif /* MDR_PROM_H */
