/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libFuzzer: pkt_parse on arbitrary bytes. Whatever parses must describe
 * bytes inside the frame, and a reply built from its route must parse back
 * with correct checksums and mirrored endpoints. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[PKT_HDR_MAX + 65536];
	struct pkt_view v, w;
	struct pkt_route r;
	uint8_t *copy;
	size_t n;
	int rc;

	/* an exact-size heap copy so ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	/* the same bytes as an AF_XDP descriptor: the tag check reads only
	 * inside it and accepts only what it promises */
	{
		struct mdr_tag_hdr t;

		rc = pkt_tag_take(copy, size, size >= 12 ? (uint32_t)copy[8] | (uint32_t)copy[9] << 8 |
						  (uint32_t)copy[10] << 16 | (uint32_t)copy[11] << 24 : 0, &t);
		CHECK(rc <= 0 && rc >= PKT_TAG_RESERVED);
		if (rc == PKT_TAG_OK)
			CHECK(t.magic == MDR_TAG_MAGIC && t.frame_len + sizeof(t) == size && !t.pad);
	}
	rc = pkt_parse(copy, size, &v);
	CHECK(rc <= 0 && rc >= PKT_ERR_ADDR);
	if (rc != PKT_OK) {
		free(copy);
		return 0;
	}
	CHECK(v.family == PKT_AF_INET || v.family == PKT_AF_INET6);
	CHECK(v.l2_len >= PKT_ETH_HLEN && v.l2_len <= PKT_L2_MAX);
	CHECK(v.l3_off == v.l2_len);
	CHECK(v.l4_off > v.l3_off);
	CHECK(v.tcp_hlen >= PKT_TCP_HLEN && v.tcp_hlen <= PKT_TCP_HLEN_MAX);
	CHECK((size_t)v.l4_off + v.tcp_hlen <= size);
	CHECK(v.payload == copy + v.l4_off + v.tcp_hlen);
	CHECK(v.payload + v.payload_len <= copy + size);
	CHECK(v.sport && v.dport);

	pkt_route_from_view(&v, &r);
	n = pkt_build_tcp(out, sizeof(out), &r, v.ack, v.seq + 1, v.flags,
			  v.win, v.mss, v.ttl, v.payload, v.payload_len);
	CHECK(n == pkt_tcp_frame_len(&r, v.mss != 0, v.payload_len));
	CHECK(pkt_parse(out, n, &w) == PKT_OK);
	CHECK(w.family == v.family);
	CHECK(!memcmp(w.src, v.dst, 16) && !memcmp(w.dst, v.src, 16));
	CHECK(w.sport == v.dport && w.dport == v.sport);
	CHECK(w.seq == v.ack && w.ack == v.seq + 1);
	CHECK(w.flags == v.flags && w.win == v.win && w.mss == v.mss);
	CHECK(w.ttl == (v.ttl ? v.ttl : PKT_DEFAULT_TTL));
	CHECK(w.n_vlans == v.n_vlans);
	CHECK(!memcmp(w.l2, v.l2 + 6, 6) && !memcmp(w.l2 + 6, v.l2, 6));
	CHECK(w.payload_len == v.payload_len);
	CHECK(!v.payload_len || !memcmp(w.payload, v.payload, v.payload_len));
	CHECK(pkt_tcp_csum(w.family, w.src, w.dst, out + w.l4_off,
			   n - w.l4_off) == 0);
	if (w.family == PKT_AF_INET)
		CHECK(pkt_ipv4_csum(out + w.l3_off, PKT_IPV4_HLEN) == 0);
	free(copy);
	return 0;
}
