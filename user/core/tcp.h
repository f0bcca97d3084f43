/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tcp: the responder's minimal TCP engine (passive open only).
 *
 * Pure code: no I/O, the clock is passed in (now_ns, any monotonic origin),
 * segments come in through tcp_input() and go out through ops->emit().
 * Connections are keyed by (instance id, family, local/remote address,
 * local/remote port): guests behind different ports may share an IPv4
 * address, the instance id tells them apart.
 *
 * Behaviour (the minimal TCP of a responder, after Firecracker dumbo, smoltcp and lwIP):
 * - passive open only: a SYN without ACK and without payload; the peer's
 *   MSS option is honoured (default 536, clamped to [TCP_MSS_MIN, our MSS],
 *   0 ignored); the SYN-ACK carries the MSS option only (no window scale,
 *   SACK or timestamps);
 * - output is bounded whatever the peer advertises: at most
 *   TCP_INIT_WND_SEGS segments in flight at the start, then an ACK
 *   releases at most twice the bytes it newly acknowledges (a duplicate
 *   ACK nothing), and every instance has
 *   an output budget (frames/s and bytes/s, a token bucket on the engine's
 *   clock; ops->budget or cfg): a segment over budget is held back
 *   (counted, TCP_CNT_OUT_DEFERRED) and sent when the bucket refills;
 * - every instance may also have a request budget (requests/s, a token
 *   bucket on the same clock; ops->budget): the app asks for one
 *   request's credit with tcp_conn_take_request before it reads a request,
 *   and when the bucket is empty (counted, TCP_CNT_REQ_DEFERRED) it gets
 *   on_writable once there is credit again: pipelining cannot multiply
 *   what a guest's packets make the app do;
 * - ISNs are SipHash-2-4 SYN cookies keyed with cfg->key (user/core/cookie.h,
 *   the format the XDP program's SYN-ACKs use too): unpredictable, and
 *   when the table is full (after trying idle eviction) the SYN-ACK is sent
 *   without keeping any state; a returning ACK that carries a valid cookie
 *   then creates the connection if there is room, else it is refused (RST);
 * - a SYN beyond the instance's connection limit (ops->max_conns) first
 *   evicts one of that instance's half-open connections (stateless: its
 *   cookie still completes it if room appears) or an idle (>= 1 s) one; when
 *   nothing can go it is refused with a RST and counted. A cookie ACK that
 *   finds the instance full is answered with RST and counted as refused;
 * - never sends beyond the peer's window; zero-window probes, at most
 *   cfg->max_probes in a row without the window opening (the peer's
 *   answers do not count as progress), then RST; retransmission
 *   on RTO (exponential backoff, cfg->max_retries, then RST) and fast
 *   retransmit on 3 duplicate ACKs;
 * - in-order data only: out-of-order segments are dropped (re-ACKed),
 *   overlap with already received bytes is trimmed;
 * - RST for segments matching nothing (never for a RST): SEQ = their ACK if
 *   ACK was set, else SEQ = 0 and ACK = seq + len + SYN + FIN;
 * - RST accepted only when its SEQ is exactly the next expected byte
 *   (RFC 5961); in-window but inexact RSTs and SYNs on a synchronized
 *   connection get a challenge ACK; anything else out of window is ignored
 *   (ACKed when it carries data or FIN);
 * - a full table (connections or TIME_WAIT records) makes room at the cost
 *   of the instance holding more than its fair share (table size / active
 *   instances): an instance at or over its share only ever replaces its
 *   own entries, so one guest cannot push the others out;
 * - the send buffers of one instance's connections hold at most
 *   cfg->inst_sndbuf_max bytes together (tcp_conn_send says -ENOBUFS, and
 *   on_writable comes when the instance has room again);
 * - FIN both ways; after the server's FIN is acknowledged and the peer's FIN
 *   received, a short, bounded TIME_WAIT record remains (no app state); a
 *   new SYN on that 4-tuple replaces it;
 * - idle timeout on every connection.
 */
#ifndef MDR_TCP_H
#define MDR_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "hash.h"

#define TCP_ROUTE_MAX 96      /* opaque route blob copied per connection */
#define TCP_KEY_LEN MDR_SIPHASH_KEY_LEN /* the engine's secret: a SipHash-2-4 key */
#define TCP_MSS_DEFAULT 536   /* RFC 9293: assumed when the SYN has no MSS */
#define TCP_MSS_MIN 536       /* smaller peer MSS values are raised to this:
                                 every IPv4 host takes 576-byte datagrams
                                 (RFC 791), and a tiny MSS only multiplies
                                 the frames a guest's request costs us */
#define TCP_INIT_WND_SEGS 16  /* bytes in flight at the start (and after a
                                 timeout), in segments: a 16 KiB reply with
                                 its headers leaves in one flight at MSS
                                 1460 (RFC 6928's 10 would need a second
                                 round trip) */
/* Beyond the initial window an ACK releases at most twice the bytes it
 * newly acknowledges (slow start, RFC 5681, with no loss reaction but the
 * timeout's): a guest ACKing the same sequence again and again releases
 * nothing, an ACK of 1 byte at most one segment. */
#define TCP_CWND_MAX TCP_SNDBUF_MAX /* bytes in flight at most (the peer's
                                 window, at most 64 KiB, bounds it first) */
/* Send buffer per connection: a 64 KiB user-data reply with its headers
 * plus a few pipelined small replies. tcp_conn_send never queues beyond. */
#define TCP_SNDBUF_MAX (128u * 1024u)

/* Defaults used when a tcp_cfg field is 0. */
#define TCP_DEFAULT_MAX_CONNS 16384          /* all instances together */
#define TCP_DEFAULT_MAX_CONNS_PER_INST 64    /* when ops->max_conns says 0 */
#define TCP_DEFAULT_RTO_NS 250000000ull      /* 250 ms: a local link is fast */
#define TCP_DEFAULT_RTO_MAX_NS 8000000000ull /* backoff ceiling */
#define TCP_DEFAULT_MAX_RETRIES 6            /* then RST: ~16 s with backoff */
#define TCP_DEFAULT_IDLE_NS 60000000000ull   /* 60 s without any segment */
#define TCP_DEFAULT_TIME_WAIT_NS 2000000000ull /* short: 4-tuples are local */
#define TCP_DEFAULT_TIME_WAIT_MAX 4096       /* records; oldest replaced */
#define TCP_DEFAULT_MTU 1500                 /* IP MTU of a guest port */
#define TCP_DEFAULT_RCV_WND 65535            /* largest without window scale */
#define TCP_DEFAULT_TTL 64
#define TCP_DEFAULT_MAX_PROBES 8             /* zero-window probes without
                                                the window opening, then RST
                                                (~40 s with backoff at the
                                                default RTOs; Linux gives up
                                                after tcp_retries2 too) */
#define TCP_DEFAULT_OUT_FPS 8192u            /* frames/s per instance: 8 per
                                                packet of the default XDP
                                                allowance (1024 packets/s) */
#define TCP_DEFAULT_OUT_BPS (8ull << 20)     /* payload bytes/s per instance:
                                                ~120 64-KiB replies/s */
#define TCP_DEFAULT_INST_SNDBUF_MAX (4u << 20) /* queued bytes per instance:
                                                32 full send buffers */
/* Largest budget accepted (keeps the bucket arithmetic in 64 bits). */
#define TCP_OUT_FPS_MAX 100000000u           /* 100 M frames/s: unlimited */
#define TCP_OUT_BPS_MAX 10000000000ull       /* 10 GB/s: unlimited */
#define TCP_REQ_RPS_MAX 100000000u           /* 100 M requests/s: unlimited */

struct tcp_cfg {
	uint32_t max_conns;          /* total table size, 0 = default */
	uint32_t max_conns_per_inst; /* used when ops->max_conns is NULL or 0 */
	uint64_t rto_ns;             /* initial retransmission timeout */
	uint64_t rto_max_ns;         /* backoff ceiling */
	uint32_t max_retries;        /* RTO expiries in a row before RST */
	uint64_t idle_ns;            /* idle timeout (no segment from the peer) */
	uint64_t time_wait_ns;       /* lifetime of a TIME_WAIT record */
	uint32_t time_wait_max;      /* bound on TIME_WAIT records */
	uint16_t mtu;                /* our MSS = mtu - IP header - 20 */
	uint16_t mss_clamp;          /* optional lower cap on our MSS, 0 = none */
	uint16_t rcv_wnd;            /* window we advertise */
	uint8_t ttl;                 /* default IP TTL / hop limit */
	uint32_t max_probes;         /* zero-window probes before RST */
	uint32_t out_fps;            /* output budget per instance: frames/s */
	uint64_t out_bps;            /* and payload bytes/s (ops->budget
	                                overrides both per instance) */
	uint32_t inst_sndbuf_max;    /* send-buffer bytes per instance */
	uint8_t key[TCP_KEY_LEN];    /* secret: ISN cookies and table hashing.
	                                Fill from getrandom(); all-zero is
	                                accepted but predictable. */
};

/* Why a connection ended (ops->on_close). */
enum tcp_close_reason {
	TCP_CLOSE_NORMAL = 0, /* FIN exchanged both ways */
	TCP_CLOSE_RESET,      /* the peer sent a RST */
	TCP_CLOSE_TIMEOUT,    /* retransmissions exhausted (we sent RST) */
	TCP_CLOSE_IDLE,       /* idle timeout (we sent RST) */
	TCP_CLOSE_EVICTED,    /* evicted to make room for a new one (RST) */
	TCP_CLOSE_ABORT,      /* tcp_conn_abort (RST) */
	TCP_CLOSE_SHUTDOWN,   /* tcp_engine_free (nothing sent) */
};

/* Counted events (engine-wide in tcp_stats, and reported per instance
 * through ops->count when set). */
enum tcp_counter {
	TCP_CNT_OPENED = 0,   /* connections established */
	TCP_CNT_CLOSED,       /* established connections ended (any reason) */
	TCP_CNT_REFUSED,      /* SYN or cookie ACK refused: table/instance full */
	TCP_CNT_RESETS_SENT,  /* RST segments emitted */
	TCP_CNT_RETRANSMITS,  /* segments retransmitted (RTO, fast, SYN-ACK) */
	TCP_CNT_COOKIES_SENT, /* SYN-ACKs sent without keeping state */
	TCP_CNT_COOKIES_OK,   /* connections created from a valid cookie */
	TCP_CNT_EVICTED,      /* idle connections evicted to make room */
	TCP_CNT_TIMEOUTS,     /* closed by idle timeout or retry exhaustion */
	TCP_CNT_BAD_SEGMENTS, /* dropped: out of window, bad ACK, SYN+data ... */
	TCP_CNT_OUT_DEFERRED, /* segments held back by the instance's budget */
	TCP_CNT_COOKIES_BAD,  /* ACK for no connection without a valid cookie
	                         (answered with RST) */
	TCP_CNT_REQ_DEFERRED, /* tcp_conn_take_request refused: the request
	                         waits for the instance's request budget */
	TCP_CNT__MAX
};

struct tcp_stats {
	uint64_t cnt[TCP_CNT__MAX];  /* indexed by enum tcp_counter */
	uint64_t conns;              /* connections in the table now */
	uint64_t time_wait;          /* TIME_WAIT records now */
};

struct tcp_conn_stats {
	uint64_t bytes_in;     /* payload delivered to on_data */
	uint64_t bytes_out;    /* payload acknowledged by the peer */
	uint32_t retransmits;
	uint64_t opened_ns;
	uint32_t isn_local;    /* our initial sequence number */
	uint32_t isn_peer;     /* the peer's (its first data byte is +1) */
};

/* One segment as received (fields host order, addresses network bytes). */
struct tcp_seg_in {
	uint32_t instance_id;
	uint8_t family;              /* PKT_AF_INET or PKT_AF_INET6 */
	uint8_t local[16];           /* IPv4: bytes 0..3, rest zero */
	uint8_t remote[16];
	uint16_t lport, rport;
	uint32_t seq, ack;
	uint8_t flags;               /* PKT_TCP_* */
	uint16_t win;
	uint16_t mss;                /* MSS option, 0 = absent */
	const uint8_t *payload;
	size_t len;
	/* Opaque bytes handed back with every segment emitted for this
	 * connection or in reply to this segment (e.g. a struct pkt_route). */
	const void *route;
	size_t route_len;            /* <= TCP_ROUTE_MAX */
};

struct tcp_conn;

/* One segment to transmit. All pointers are valid only during emit(). */
struct tcp_seg_out {
	struct tcp_conn *conn;       /* NULL for stateless replies (RST, cookie) */
	uint32_t instance_id;
	const void *route;
	size_t route_len;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;                /* MSS option to include, 0 = none */
	uint8_t ttl;                 /* IP TTL / hop limit, never 0 */
	const uint8_t *payload;
	size_t len;
};

/* What one instance may make the engine do per second (ops->budget). */
struct tcp_budget {
	uint32_t frames_per_s;   /* output frames/s, 0 = cfg->out_fps */
	uint64_t bytes_per_s;    /* output payload bytes/s, 0 = cfg->out_bps */
	uint32_t requests_per_s; /* request credits/s, 0 = unlimited */
};

/* Callbacks run synchronously from tcp_input / tcp_timers / the app API.
 * Segments the app queues from inside a callback are sent when the
 * callback returns (a reply and a following close share segments; the
 * reply carries the ACK of the request). emit must not call back into the
 * engine; no callback may call tcp_input, tcp_timers or tcp_engine_free. */
struct tcp_ops {
	/* In-order payload for the application. It may call tcp_conn_send,
	 * tcp_conn_close or tcp_conn_abort from here or later. len == 0
	 * (data NULL) means the peer sent FIN: no more request bytes. When
	 * that callback returns without the app having closed, the engine
	 * closes (FIN after the queued data) unless a tcp_conn_send is
	 * waiting for space (-ENOBUFS): then the app must close. Required. */
	void (*on_data)(void *opaque, struct tcp_conn *c, const uint8_t *data,
			size_t len);
	/* The connection is gone: free app state. Called exactly once for
	 * every connection that was established (on_open), from whichever
	 * call ended it; c is freed when it returns; do not send from here.
	 * Optional. */
	void (*on_close)(void *opaque, struct tcp_conn *c,
			 enum tcp_close_reason why);
	/* Transmit one segment. Required. */
	void (*emit)(void *opaque, const struct tcp_seg_out *seg);
	/* Connection limit of an instance, 0 = cfg default. Optional. */
	uint32_t (*max_conns)(void *opaque, uint32_t instance_id);
	/* The handshake completed. Optional. */
	void (*on_open)(void *opaque, struct tcp_conn *c);
	/* Send space was freed after tcp_conn_send returned -ENOBUFS, or
	 * request credit came after tcp_conn_take_request refused. Optional. */
	void (*on_writable)(void *opaque, struct tcp_conn *c);
	/* An event for an instance (per-instance counters). Optional. */
	void (*count)(void *opaque, uint32_t instance_id, enum tcp_counter what);
	/* Budget of an instance (struct tcp_budget, zeroed before the call).
	 * Asked when the instance's first connection opens and then at most
	 * once a second on new connections. Optional (NULL: cfg's output
	 * budget, no request budget). */
	void (*budget)(void *opaque, uint32_t instance_id, struct tcp_budget *b);
};

struct tcp_engine;

/* Create an engine; cfg is copied, zero fields take defaults. NULL on
 * allocation failure or when a required op is missing. */
struct tcp_engine *tcp_engine_new(const struct tcp_cfg *cfg,
				  const struct tcp_ops *ops, void *opaque);
/* Free everything; on_close(TCP_CLOSE_SHUTDOWN) for open connections;
 * nothing is emitted. */
void tcp_engine_free(struct tcp_engine *e);

/* Process one received segment. */
void tcp_input(struct tcp_engine *e, const struct tcp_seg_in *in,
	       uint64_t now_ns);
/* Run every timer due at now_ns (retransmissions, probes, idle and
 * TIME_WAIT expiry). */
void tcp_timers(struct tcp_engine *e, uint64_t now_ns);
/* Earliest time tcp_timers has something to do, UINT64_MAX if none. */
uint64_t tcp_next_deadline(const struct tcp_engine *e);

/* Queue len bytes (all or nothing) and send what the peer's window allows.
 * ttl: IP TTL for the segments carrying these bytes, 0 = cfg default
 * (segments never mix bytes of different TTLs; retransmissions keep it).
 * Returns 0, -ENOBUFS (not enough send space, nothing queued: retry from
 * on_writable; more than TCP_SNDBUF_MAX at once never fits), -EPIPE
 * (already closing or closed) or -EINVAL. Timers armed here use the clock
 * of the latest tcp_input / tcp_timers call. */
int tcp_conn_send(struct tcp_conn *c, const void *data, size_t len,
		  uint8_t ttl);
/* Bytes tcp_conn_send would accept now (0 once closing; bounded by the
 * connection's and its instance's room). */
size_t tcp_conn_send_space(const struct tcp_conn *c);
/* Take one request's credit from c's instance's request budget (before
 * the app reads a request). false: the bucket is empty, the request must
 * wait; on_writable runs once the credit is there (counted
 * TCP_CNT_REQ_DEFERRED, once per refusal while not already waiting). */
bool tcp_conn_take_request(struct tcp_conn *c);
/* Send FIN after the queued data. Further received data is discarded. */
void tcp_conn_close(struct tcp_conn *c);
/* Send RST and end the connection now (on_close(TCP_CLOSE_ABORT) runs
 * before this returns, or after the current callback if called from one). */
void tcp_conn_abort(struct tcp_conn *c);

void tcp_conn_set_app(struct tcp_conn *c, void *app);
void *tcp_conn_app(const struct tcp_conn *c);
uint32_t tcp_conn_instance(const struct tcp_conn *c);
/* The route blob of the connection (copied from the segment that created
 * it). */
const void *tcp_conn_route(const struct tcp_conn *c, size_t *len);
/* The peer has sent FIN (no more request bytes will come). */
bool tcp_conn_peer_closed(const struct tcp_conn *c);
/* The app holds a request on c (a long-poll, bounded by the app): while
 * on, c has no idle timeout and is never evicted to make room; turning it
 * off restarts the idle clock. */
void tcp_conn_hold(struct tcp_conn *c, bool on);
const struct tcp_conn_stats *tcp_conn_stats(const struct tcp_conn *c);

const struct tcp_stats *tcp_engine_stats(const struct tcp_engine *e);
/* Connections of an instance in the table now. */
uint32_t tcp_instance_conns(const struct tcp_engine *e, uint32_t instance_id);

/* What the engine's SYN-ACKs carry: MSS option per family, window, TTL
 * (for a sender of SYN-ACKs on its behalf: the XDP program). */
void tcp_engine_synack_params(const struct tcp_engine *e, uint16_t *mss4, uint16_t *mss6,
			      uint16_t *win, uint8_t *ttl);

/* Fill a tcp_seg_in from a parsed frame and its route (route copied by
 * pointer: keep r alive during tcp_input). */
void tcp_seg_in_from_pkt(struct tcp_seg_in *in, uint32_t instance_id,
			 const struct pkt_view *v, const struct pkt_route *r);


#endif /* MDR_TCP_H */
