/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdr_abi.h - THE kernel/user ABI of mdr (metadata responder).
 *
 * This is the only definition of every pinned map's key and value, of the
 * metadata the XDP program hands to the responder, and of the counters. It
 * is included by the BPF program (bpf/) and by all user code (user/,
 * tests/). Never copy a struct from here by hand: include this header.
 *
 * Layout rules: fixed-width types only, explicit padding, every struct's
 * size pinned by a _Static_assert, multi-byte fields in HOST byte order
 * unless the name ends in _be (network order). maps/README.md documents
 * each map byte by byte with bpftool recipes.
 */
#ifndef MDR_ABI_H
#define MDR_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

/* ------------------------------------------------------------------ */
/* Limits (each one a named constant with its reason)                  */
/* ------------------------------------------------------------------ */

/* Instances one compute node can host: far above any real node's VMs. */
#define MDR_MAX_INSTANCES 16384
/* Port (ifindex) bindings: one per tap, a node has at most a few hundred. */
#define MDR_MAX_PORTS 4096
/* MAC(+VLAN) bindings: several NICs per instance in bridge mode. */
#define MDR_MAX_MACS 16384
/* XSK slots: one per (interface, RX queue) the responder serves. */
#define MDR_MAX_XSKS 4096
/* Interfaces mdrd records as attached. */
#define MDR_MAX_IFACES 4096
/* Metadata endpoints (address, port) matched by XDP: 3 defaults + spares. */
#define MDR_MAX_ENDPOINTS 8
/* Canonical UUID text is 36 chars; 40 keeps NUL and 4-byte alignment. */
#define MDR_UUID_SIZE 40
/* Interface name incl. NUL (IFNAMSIZ). */
#define MDR_IFNAME_SIZE 16
/* nova's password limit: more than 1020 bytes -> 400. */
#define MDR_PASSWORD_MAX 1020
/* Largest rate accepted, keeps token-bucket arithmetic inside u64. */
#define MDR_MAX_RATE_PPS 10000000u
/* Refill is computed over at most this much idle time (u64 overflow guard). */
#define MDR_RL_MAX_ELAPSED_NS (64ull * 1000000000ull)
/* Defaults when neither the instance nor the config sets a rate. */
#define MDR_DEFAULT_RATE_PPS 1024u /* AWS' link-local allowance per ENI */
#define MDR_DEFAULT_BURST 256u
/* Default metadata MAC (locally administered unicast) answering ARP/ND. */
#define MDR_DEFAULT_META_MAC {0x02, 0xa9, 0xfe, 0xa9, 0xfe, 0xfe}
/* First word of struct mdr_tag_hdr: says the descriptor starts with a tag
 * header of this layout ("MDR2"; "MDR1" was the metadata-area layout). */
#define MDR_TAG_MAGIC 0x4d445232u

/*
 * Version of the pinned-map layout and of the XDP -> responder tag, kept
 * in the mdr_abi map. Bump it whenever a pinned map's type, key, value or
 * size changes, or the tag header does; mdrd migrates older pins (DESIGN,
 * "Upgrades"). 1 = pins without a version record (releases before it;
 * their XDP program may use the metadata-area tag "MDR1").
 */
#define MDR_ABI_VERSION 5 /* 3: mdr_syncookie, XDP/responder cookie counters;
                             4: requests_deferred; 5: handshake_acks */
#define MDR_ABI_MAGIC 0x4d445241u /* "MDRA" */

/* ------------------------------------------------------------------ */
/* Content blob store (user space only; see maps/README.md)            */
/* ------------------------------------------------------------------ */
/*
 * Instance content lives in immutable, generation-keyed chunks spread over
 * MDR_CHUNK_CLASSES hash maps of decreasing value size, so that memory is
 * proportional to content (no 64 KiB value per key). A blob of length L is
 * cut greedily: take the largest class size <= remaining bytes (or the
 * smallest class for the last few bytes), repeat. The cut is a pure
 * function of L, so the reader needs only L to find every chunk.
 *
 * Value sizes are kmalloc class sizes minus the kernel's per-element
 * overhead (htab_elem header + 16-byte key + bpf_mem_alloc's llist node,
 * ~72 bytes), so each element fills its allocation instead of spilling into
 * the next power of two.
 */
#define MDR_CHUNK_CLASSES 6
#define MDR_CHUNK0_SIZE 4024 /* kmalloc-4096 */
#define MDR_CHUNK1_SIZE 1976 /* kmalloc-2048 */
#define MDR_CHUNK2_SIZE 952  /* kmalloc-1024 */
#define MDR_CHUNK3_SIZE 440  /* kmalloc-512 */
#define MDR_CHUNK4_SIZE 184  /* kmalloc-256 */
#define MDR_CHUNK5_SIZE 56   /* kmalloc-128 */
/* Chunks of all instances together, per class map (map max_entries). */
#define MDR_MAX_CHUNKS 262144
/* Blob ids inside one instance generation. */
#define MDR_BLOB_DOC 0       /* normalised definition document (JSON) */
#define MDR_BLOB_USER_DATA 1 /* user data, raw bytes */
#define MDR_BLOB_FILE0 2     /* injected file i is blob MDR_BLOB_FILE0 + i */
/* Injected files per instance (nova's default quota is 5). */
#define MDR_MAX_FILES 64
/* nova's user-data limit: 65535 bytes decoded. */
#define MDR_USER_DATA_MAX 65535
/* The stored definition document (meta, keys, network data...). */
#define MDR_DOC_MAX (256 * 1024)
/* One injected file. */
#define MDR_FILE_MAX 65535

struct mdr_chunk_key {
	__u32 instance_id;
	__u32 gen;   /* generation this chunk belongs to (immutable) */
	__u16 blob;  /* MDR_BLOB_* */
	__u16 chunk; /* index in the blob's greedy cut */
	__u32 pad;   /* must be zero */
};

/* ------------------------------------------------------------------ */
/* Enumerations                                                         */
/* ------------------------------------------------------------------ */

enum mdr_policy {
	MDR_POLICY_PASS = 0, /* hand the frame to the host stack (a proxy may be there) */
	MDR_POLICY_DROP = 1,
};

enum mdr_tagged_by {
	MDR_TAG_NONE = 0,
	MDR_TAG_PORT = 1, /* ingress ifindex binding */
	MDR_TAG_MAC = 2,  /* source MAC (+VLAN) binding */
};

enum mdr_tokens_mode {
	MDR_TOKENS_OPTIONAL = 0, /* IMDSv1 GETs allowed; a presented token must be valid */
	MDR_TOKENS_REQUIRED = 1, /* IMDSv2 only: no valid token -> 401 */
};

enum mdr_iface_mode {
	MDR_IFACE_NATIVE = 1, /* driver-mode XDP */
	MDR_IFACE_GENERIC = 2, /* skb-mode XDP (bridges) */
};

/* mdr_port_binding.flags */
#define MDR_PORT_F_CHECK_MAC (1u << 0) /* frames must come from .mac */

/* mdr_config.flags */
#define MDR_CFG_F_NO_ARP (1u << 0) /* do not answer ARP/ND in XDP */
#define MDR_CFG_F_NO_XDP_SYNACK (1u << 1) /* SYNs go to the responder, which
                                             answers the handshake itself */

/* mdr_tag_hdr.flags */
#define MDR_TAG_F_IPV6 (1u << 0)

/* ------------------------------------------------------------------ */
/* Map values                                                          */
/* ------------------------------------------------------------------ */

/* One metadata endpoint: TCP to (addr, port). IPv4 uses addr[0..3]. */
struct mdr_endpoint {
	__u8 family;    /* 0 = unused slot, 4 or 6 */
	__u8 pad;
	__u16 port_be;  /* network byte order */
	__u8 addr[16];  /* network byte order */
};

/* mdr_config: ARRAY, 1 entry (key 0). Runtime configuration. */
struct mdr_config {
	__u8 meta_mac[6];      /* source MAC of ARP/NA replies */
	__u8 unknown_policy;   /* enum mdr_policy: no instance for the frame */
	__u8 no_xsk_policy;    /* enum mdr_policy: no responder socket */
	__u32 default_rate_pps; /* used when mdr_limits.rate_pps == 0 */
	__u32 default_burst;    /* used when mdr_limits.burst == 0 */
	__u32 flags;            /* MDR_CFG_F_* */
	__u32 n_endpoints;      /* <= MDR_MAX_ENDPOINTS */
	struct mdr_endpoint ep[MDR_MAX_ENDPOINTS];
};

/* mdr_ports: HASH, key __u32 ifindex -> binding of that port. */
struct mdr_port_binding {
	__u32 instance_id;
	__u8 mac[6];   /* expected source MAC when MDR_PORT_F_CHECK_MAC */
	__u16 vlan;    /* VLAN id frames must carry (outermost tag), 0 = untagged */
	__u32 flags;   /* MDR_PORT_F_* */
};

/* mdr_macs: HASH, key -> struct mdr_mac_binding. */
struct mdr_mac_key {
	__u8 mac[6];
	__u16 vlan;    /* outermost VLAN id, 0 = untagged */
};
struct mdr_mac_binding {
	__u32 instance_id;
	__u32 ifindex; /* only trusted on this port (a MAC that moves is not), 0 = any */
};

/* mdr_limits: HASH, key __u32 instance_id. Presence = instance known to XDP. */
struct mdr_limits {
	__u32 rate_pps; /* 0 = config default */
	__u32 burst;    /* 0 = config default */
};

/* mdr_rl: HASH, key __u32 instance_id. Token bucket state (XDP-owned). */
struct mdr_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens_ns; /* tokens scaled by 1e9 (one packet costs 1e9) */
	__u64 last_ns;   /* bpf_ktime_get_ns() of the last refill */
};

/* mdr_inst: HASH, key __u32 instance_id -> instance record (user space). */
struct mdr_instance {
	char uuid[MDR_UUID_SIZE]; /* canonical lower-case, NUL-terminated */
	__u32 gen;                /* generation currently served (chunk keys) */
	__u32 doc_len;            /* length of blob MDR_BLOB_DOC of gen */
	__u32 max_conns;          /* concurrent TCP connections, 0 = default */
	__u32 max_req;            /* largest request (bytes), 0 = default */
	__u8 tokens;              /* enum mdr_tokens_mode */
	__u8 hop_limit;           /* TTL of the token PUT reply, 1..64 */
	__u16 pad;
	__u32 pad2;
	__u64 updated_ns;         /* CLOCK_REALTIME of the last update */
};

/* mdr_uuids: HASH, key char[MDR_UUID_SIZE] (zero-padded uuid) -> __u32 id. */
struct mdr_uuid_key {
	char uuid[MDR_UUID_SIZE];
};

/* mdr_xsk_slot: HASH, (ifindex, queue) -> __u32 slot in mdr_xsks. */
struct mdr_xsk_key {
	__u32 ifindex;
	__u32 queue;
};

/* mdr_ifaces: HASH, key __u32 ifindex -> what mdrd attached. */
struct mdr_iface {
	char name[MDR_IFNAME_SIZE];
	__u32 num_rx_queues;
	__u32 mode;        /* enum mdr_iface_mode */
	__u64 attached_ns; /* CLOCK_REALTIME */
};

/* mdr_passwords: HASH, key __u32 instance_id (guest-written, POST password). */
struct mdr_password {
	__u32 len;
	char data[MDR_PASSWORD_MAX];
};

/* mdr_tokkey: ARRAY, 1 entry. IMDSv2 token keys (current and previous). */
#define MDR_TOKEN_KEY_SIZE 32
struct mdr_token_keys {
	__u32 cur_id;   /* key id embedded in tokens, 0 = no key yet */
	__u32 prev_id;  /* still accepted until its tokens expire */
	__u8 cur[MDR_TOKEN_KEY_SIZE];
	__u8 prev[MDR_TOKEN_KEY_SIZE];
};

/* mdr_abi: ARRAY, 1 entry. Written by mdrd after loading its program. */
struct mdr_abi_record {
	__u32 magic;         /* MDR_ABI_MAGIC */
	__u32 version;       /* MDR_ABI_VERSION of the program that is loaded */
	__u32 prev_version;  /* version found in the pins at load, 0 = fresh pins */
	__u32 tag_magic;     /* MDR_TAG_MAGIC: the tag the program writes */
	__u64 loaded_ns;     /* CLOCK_REALTIME of the load */
};

/* The tag header XDP prepends (bpf_xdp_adjust_head) to a frame it
 * redirects to the responder; the responder finds it at the start of the
 * AF_XDP descriptor, the guest's frame right after it. Host byte order. */
struct mdr_tag_hdr {
	__u32 magic;       /* MDR_TAG_MAGIC */
	__u32 instance_id;
	__u32 ifindex;     /* ingress ifindex */
	__u16 vlan_outer;  /* VID of the outer tag, 0 = none */
	__u16 vlan_inner;  /* VID of the inner tag (QinQ), 0 = none */
	__u16 frame_len;   /* length of the guest's frame that follows */
	__u8 tagged_by;    /* enum mdr_tagged_by */
	__u8 l3_off;       /* offset of the IP header in the frame */
	__u8 l4_off;       /* offset of the TCP header in the frame */
	__u8 flags;        /* MDR_TAG_F_* */
	__u16 pad;         /* zero */
};

/*
 * SYN cookies. XDP answers a SYN for a metadata endpoint with a SYN-ACK
 * whose ISN is a cookie (docs/DESIGN.md "Handshake in XDP"); the responder
 * creates the connection when an ACK that matches no connection carries a
 * valid one (user/core/cookie.c, the same computation). The cookie is
 *   ISN = (fold32(SipHash-2-4(key, struct mdr_cookie_in)) & ~7) | mss_idx
 * where fold32(h) = low 32 bits of h ^ (h >> 32) and mss_idx indexes
 * MDR_COOKIE_MSS (the largest entry <= the peer's MSS option; no option or
 * less than 536: 536).
 */
#define MDR_COOKIE_SLOT_NS (64ull * 1000000000ull) /* the time counter's step
                                  (CLOCK_MONOTONIC, bpf_ktime_get_ns): a
                                  cookie lives 64 to 128 s */
#define MDR_COOKIE_MSS_N 8 /* three low ISN bits */
#define MDR_COOKIE_MSS {536, 768, 1024, 1220, 1300, 1360, 1440, 1460}
#define MDR_COOKIE_KEY_LEN 16 /* SipHash-2-4 key */

/* What the cookie's hash covers: everything that makes a connection (the
 * responder's connection key), the peer's ISN, the time slot and the MSS
 * index (so a guest cannot pick another MSS by changing the low bits).
 * Addresses network order (IPv4 in addr[0..3], rest zero), ports host order. */
struct mdr_cookie_in {
	__u32 instance_id;
	__u8 family;   /* 4 or 6 */
	__u8 mss_idx;  /* index in MDR_COOKIE_MSS */
	__u16 pad;     /* zero */
	__u8 local[16];  /* the metadata address */
	__u8 remote[16]; /* the guest's */
	__u16 lport;
	__u16 rport;
	__u32 cisn;    /* the guest's ISN (the SYN's sequence number) */
	__u32 slot;    /* now / MDR_COOKIE_SLOT_NS */
	__u32 pad2;    /* zero: 7 SipHash blocks */
};

/* mdr_syncookie: ARRAY, 1 entry (key 0). Written by the responder at
 * start-up: the cookie key (created by the first responder, kept by later
 * ones so cookies survive a restart) and what its own SYN-ACKs carry. XDP
 * answers SYNs only when key_set is 1 (and the config flag allows it). */
struct mdr_syncookie {
	__u8 key[MDR_COOKIE_KEY_LEN];
	__u32 key_set;  /* 1: key holds a secret, the fields below are set */
	__u16 mss4;     /* MSS option of an IPv4 SYN-ACK */
	__u16 mss6;     /* ... of an IPv6 one */
	__u16 win;      /* window advertised in the SYN-ACK */
	__u8 ttl;       /* IPv4 TTL / IPv6 hop limit */
	__u8 pad;
	__u32 pad2;
};

/* ------------------------------------------------------------------ */
/* Counters                                                            */
/* ------------------------------------------------------------------ */

/* XDP outcomes. mdr_stats: PERCPU_ARRAY, 1 entry (global);
 * mdr_istats: PERCPU_HASH, key __u32 instance_id. Sum over CPUs. */
struct mdr_xdp_counters {
	__u64 passed;        /* not for us: XDP_PASS untouched */
	__u64 matched;       /* TCP to a metadata endpoint */
	__u64 redirected;    /* handed to the responder's XSK */
	__u64 fallback_pass; /* no XSK / unknown instance, policy PASS */
	__u64 fallback_drop; /* no XSK / unknown instance, policy DROP */
	__u64 no_xsk;        /* no responder socket registered */
	__u64 arp_replied;
	__u64 nd_replied;
	__u64 unknown;       /* no instance for the frame */
	__u64 spoofed;       /* wrong source MAC / VLAN on a bound port */
	__u64 rate_limited;
	__u64 malformed;     /* truncated / bad header for a metadata endpoint */
	__u64 fragment;      /* IP fragment for a metadata endpoint */
	__u64 synack_sent;   /* SYN answered by XDP with a cookie SYN-ACK (XDP_TX) */
	__u64 handshake_acks; /* the guest's bare ACK of that SYN-ACK, valid cookie:
			       * dropped, its request opens the connection */
};

/* Responder outcomes. mdr_rstats: HASH, key __u32 instance_id (0 = none). */
struct mdr_resp_counters {
	__u64 requests;
	__u64 status_200;
	__u64 status_400;
	__u64 status_401;
	__u64 status_403;
	__u64 status_404;
	__u64 status_405;
	__u64 status_409;
	__u64 status_413;
	__u64 status_414;
	__u64 status_429;
	__u64 status_431;
	__u64 status_5xx;
	__u64 conns_opened;
	__u64 conns_closed;
	__u64 conns_refused; /* table full: SYN dropped or RST */
	__u64 resets_sent;
	__u64 retransmits;
	__u64 tokens_issued;
	__u64 bytes_sent;
	__u64 frames_sent;     /* TCP segments sent (data, ACK, RST, SYN-ACK) */
	__u64 frames_deferred; /* segments held back by the output budget */
	__u64 cookies_ok;      /* connections created from a valid SYN cookie */
	__u64 cookies_bad;     /* ACKs matching no connection, no valid cookie (RST) */
	__u64 requests_deferred; /* requests that waited for the request budget */
};

/* ------------------------------------------------------------------ */
/* Pinned map names (files under the pin directory)                    */
/* ------------------------------------------------------------------ */
#define MDR_DEFAULT_PIN_DIR "/sys/fs/bpf/mdr"
#define MDR_PROG_PIN_NAME "mdr_prog" /* the XDP program */
/*
 * Every pinned map of mdr, listed once. X(field) stands for the map named
 * "mdr_<field>" (MDR_MAP_NAME(field)) and the field of struct mdr_maps
 * (user/io/pinned.h) holding its fd; the content maps mdr_chunk0..N are
 * the array MDR_MAP_CHUNK_FMT below. Adding a map: define it in
 * bpf/mdr_map_defs.h and add it here; tests/bpf checks that the two agree.
 */
#define MDR_MAP_LIST(X)                                                     \
	X(config) X(ports) X(macs) X(limits) X(rl) X(inst) X(uuids) X(xsks) \
	X(xsk_slot) X(ifaces) X(passwords) X(tokkey) X(stats) X(istats) X(rstats) X(abi) \
	X(syncookie)
#define MDR_MAP_NAME(field) "mdr_" #field
#define MDR_MAP_CHUNK_FMT "mdr_chunk%d" /* mdr_chunk0 .. mdr_chunk5 */

_Static_assert(sizeof(struct mdr_chunk_key) == 16, "mdr_chunk_key ABI");
_Static_assert(sizeof(struct mdr_endpoint) == 20, "mdr_endpoint ABI");
_Static_assert(sizeof(struct mdr_config) == 24 + 20 * MDR_MAX_ENDPOINTS, "mdr_config ABI");
_Static_assert(sizeof(struct mdr_port_binding) == 16, "mdr_port_binding ABI");
_Static_assert(sizeof(struct mdr_mac_key) == 8, "mdr_mac_key ABI");
_Static_assert(sizeof(struct mdr_mac_binding) == 8, "mdr_mac_binding ABI");
_Static_assert(sizeof(struct mdr_limits) == 8, "mdr_limits ABI");
_Static_assert(sizeof(struct mdr_bucket) == 24, "mdr_bucket ABI");
_Static_assert(sizeof(struct mdr_instance) == 72, "mdr_instance ABI");
_Static_assert(sizeof(struct mdr_uuid_key) == MDR_UUID_SIZE, "mdr_uuid_key ABI");
_Static_assert(sizeof(struct mdr_xsk_key) == 8, "mdr_xsk_key ABI");
_Static_assert(sizeof(struct mdr_iface) == 32, "mdr_iface ABI");
_Static_assert(sizeof(struct mdr_password) == 4 + MDR_PASSWORD_MAX, "mdr_password ABI");
_Static_assert(sizeof(struct mdr_token_keys) == 8 + 2 * MDR_TOKEN_KEY_SIZE, "mdr_token_keys ABI");
_Static_assert(sizeof(struct mdr_abi_record) == 24, "mdr_abi_record ABI");
_Static_assert(sizeof(struct mdr_tag_hdr) == 24, "mdr_tag_hdr ABI");
/* Small beside XDP_PACKET_HEADROOM (256), which every driver keeps. */
_Static_assert(sizeof(struct mdr_tag_hdr) <= 64, "tag header fits the headroom");
_Static_assert(sizeof(struct mdr_xdp_counters) == 15 * 8, "mdr_xdp_counters ABI");
_Static_assert(sizeof(struct mdr_resp_counters) == 25 * 8, "mdr_resp_counters ABI");
_Static_assert(sizeof(struct mdr_cookie_in) == 7 * 8, "mdr_cookie_in: whole SipHash blocks");
_Static_assert(sizeof(struct mdr_syncookie) == 32, "mdr_syncookie ABI");

#endif /* MDR_ABI_H */
