/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* pkt: parse a guest's TCP frame into a view and build reply frames.
 *
 * Pure code: no I/O, no allocation. Parsing accepts Ethernet, up to two
 * VLAN tags (802.1Q / 802.1ad, QinQ), IPv4 with options or IPv6 (hop-by-hop,
 * routing and destination-options extension headers skipped), and TCP with
 * options (only MSS is read). Building copies the received L2 header with the
 * MACs swapped (VLAN tags kept) and writes IP and TCP headers with full,
 * correct checksums.
 *
 * Checksums on input: the IPv4 header checksum is verified (the guest's
 * stack always fills it in; a bad one means a corrupted header whose
 * addresses cannot be trusted). The TCP checksum is NEVER verified: guests
 * with checksum offload hand virtio/tap frames with a partial checksum, and
 * the link is local. All multi-byte fields in the view are host order except
 * addresses, which are kept as network-order bytes.
 */
#ifndef MDR_PKT_H
#define MDR_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mdr_abi.h"

#define PKT_ETH_HLEN 14       /* dst MAC, src MAC, ethertype */
#define PKT_VLAN_HLEN 4       /* TPID is the previous ethertype; TCI + type */
#define PKT_MAX_VLANS 2       /* QinQ at most, as the XDP program */
#define PKT_L2_MAX (PKT_ETH_HLEN + PKT_MAX_VLANS * PKT_VLAN_HLEN) /* 22 */
#define PKT_IPV4_HLEN 20      /* header without options */
#define PKT_IPV4_HLEN_MAX 60  /* IHL is 4 bits of 32-bit words */
#define PKT_IPV6_HLEN 40      /* fixed header */
#define PKT_IPV6_EXT_MAX 4    /* extension headers skipped before giving up */
#define PKT_TCP_HLEN 20       /* header without options */
#define PKT_TCP_HLEN_MAX 60   /* data offset is 4 bits of 32-bit words */
#define PKT_TCP_OPT_MSS_LEN 4 /* kind 2, length 4, value: the only option we send */
/* Largest header pkt_build_tcp writes before the payload. */
#define PKT_HDR_MAX (PKT_L2_MAX + PKT_IPV6_HLEN + PKT_TCP_HLEN + PKT_TCP_OPT_MSS_LEN)
#define PKT_DEFAULT_TTL 64    /* used by pkt_build_tcp when ttl == 0 */

/* Address families (the IP version number). */
#define PKT_AF_INET 4
#define PKT_AF_INET6 6

/* TCP flags (wire values of byte 13 of the TCP header). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20
#define PKT_TCP_ECE 0x40
#define PKT_TCP_CWR 0x80

/* pkt_parse results: 0 or one of these negative codes. */
enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_TRUNC = -1,     /* frame shorter than a header says */
	PKT_ERR_L2 = -2,        /* not IPv4/IPv6 (or more than 2 VLAN tags) */
	PKT_ERR_IP_HDR = -3,    /* bad version, IHL, total/payload length */
	PKT_ERR_IP_CSUM = -4,   /* IPv4 header checksum wrong */
	PKT_ERR_FRAGMENT = -5,  /* IPv4 fragment or IPv6 fragment header */
	PKT_ERR_NOT_TCP = -6,   /* transport is not TCP */
	PKT_ERR_TCP_HDR = -7,   /* bad data offset or malformed options */
	PKT_ERR_ADDR = -8,      /* multicast/broadcast/unspecified source or
	                           destination: never answer those */
};

/* What a received frame says. Pointers point into the frame. */
struct pkt_view {
	const uint8_t *l2;        /* start of frame (Ethernet header) */
	uint8_t l2_len;           /* 14, 18 or 22: Ethernet + VLAN tags */
	uint8_t n_vlans;          /* 0..2 */
	uint16_t vlan_tci[PKT_MAX_VLANS]; /* outer first, host order */
	uint8_t family;           /* PKT_AF_INET or PKT_AF_INET6 */
	uint8_t ttl;              /* IPv4 TTL or IPv6 hop limit */
	uint16_t l3_off;          /* offset of the IP header */
	uint16_t l4_off;          /* offset of the TCP header */
	uint8_t src[16];          /* network order; IPv4 uses bytes 0..3, rest 0 */
	uint8_t dst[16];
	uint16_t sport, dport;    /* host order */
	uint32_t seq, ack;        /* host order */
	uint8_t flags;            /* PKT_TCP_* */
	uint8_t tcp_hlen;         /* TCP header length with options */
	uint16_t win;             /* raw window field (no scaling is negotiated) */
	uint16_t mss;             /* MSS option value, 0 = option absent */
	const uint8_t *payload;   /* TCP payload (IP length bounds it, not the
	                             frame: Ethernet padding is excluded) */
	size_t payload_len;
};

/* What is needed to answer a frame: the L2 header template (MACs swapped,
 * VLAN tags kept), the family and the endpoints seen from our side. Small
 * and flat so it can be copied into a TCP connection as an opaque blob. */
struct pkt_route {
	uint8_t l2[PKT_L2_MAX];   /* dst = guest MAC, src = MAC the guest used */
	uint8_t l2_len;
	uint8_t family;           /* PKT_AF_INET or PKT_AF_INET6 */
	uint8_t local[16];        /* our address (the frame's destination) */
	uint8_t remote[16];       /* the guest's address */
	uint16_t lport, rport;    /* host order */
};

/* Parse frame[0..len) into *v. Returns PKT_OK or a negative enum pkt_err;
 * *v is only meaningful on PKT_OK. Never reads outside frame[0..len). */
int pkt_parse(const uint8_t *frame, size_t len, struct pkt_view *v);

/* pkt_tag_take results: 0 or one of these negative codes. */
enum pkt_tag_err {
	PKT_TAG_OK = 0,
	PKT_TAG_SHORT = -1,   /* descriptor shorter than header + Ethernet */
	PKT_TAG_MAGIC = -2,   /* no MDR_TAG_MAGIC at the descriptor's start */
	PKT_TAG_LEN = -3,     /* header's frame_len is not what follows it */
	PKT_TAG_IFINDEX = -4, /* tagged on another interface than the socket's */
	PKT_TAG_RESERVED = -5 /* non-zero padding or unknown flags */
};

/* Take the tag header XDP prepended off an AF_XDP descriptor
 * desc[0..len), received on a socket bound to `ifindex`. Only bytes
 * inside the descriptor are read, never the chunk around it: the kernel
 * wrote all of them for this frame, so leftovers of an earlier frame in
 * the chunk cannot pass for a tag. On PKT_TAG_OK, *tag holds the header and
 * the guest's frame is desc + sizeof(*tag), tag->frame_len bytes. */
int pkt_tag_take(const uint8_t *desc, size_t len, uint32_t ifindex, struct mdr_tag_hdr *tag);

/* Human-readable name of a pkt_tag_take result. */
const char *pkt_tag_strerror(int err);

/* Human-readable name of a pkt_parse result. */
const char *pkt_strerror(int err);

/* Derive the reply route of a parsed frame. */
void pkt_route_from_view(const struct pkt_view *v, struct pkt_route *r);

/* Write a complete frame (L2 from r, IPv4 with DF and no options or IPv6
 * without extension headers, TCP with the MSS option when mss_opt != 0,
 * then payload) into out[0..cap). ttl 0 means PKT_DEFAULT_TTL. IPv4 header
 * and TCP checksums are full and correct. Returns the frame length, or 0
 * when cap is too small or the result would not fit an IP length field. */
size_t pkt_build_tcp(uint8_t *out, size_t cap, const struct pkt_route *r,
		     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     uint16_t mss_opt, uint8_t ttl,
		     const uint8_t *payload, size_t len);

/* Length of the frame pkt_build_tcp would write (headers + len). */
size_t pkt_tcp_frame_len(const struct pkt_route *r, bool mss_opt, size_t len);

/* ---- Internet checksum helpers (RFC 1071) ---- */

/* Add data to a running one's-complement sum (sum starts at 0). Every
 * chunk except the last must have an even length. */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
/* Fold a running sum to 16 bits and complement it: the checksum field value
 * (sums are over big-endian words, so store it big-endian). */
uint16_t pkt_csum_fold(uint32_t sum);
/* Checksum of an IPv4 header (checksum field treated as it is: zero it
 * first to compute, or leave it to verify: a correct header yields 0). */
uint16_t pkt_ipv4_csum(const uint8_t *iph, size_t hlen);
/* TCP checksum over the pseudo header (family, src, dst, protocol 6,
 * length) and tcp[0..len) (header + payload, checksum field as it is).
 * Same convention: zero the field to compute; a correct segment yields 0. */
uint16_t pkt_tcp_csum(uint8_t family, const uint8_t src[16],
		      const uint8_t dst[16], const uint8_t *tcp, size_t len);

#endif /* MDR_PKT_H */
