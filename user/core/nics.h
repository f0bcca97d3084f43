/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nics.h - an instance's network interfaces, from its definition's
 * bindings (docs/instance-definition.md "binding" / "bindings"): the EC2
 * network/interfaces tree and network_data.json. Pure code: no I/O.
 * Parsing lives in nics.c too (declared in defn_int.h, called by defn.c).
 */
#ifndef MDR_NICS_H
#define MDR_NICS_H

#include <jansson.h>

/* Addresses of one binding (each family): AWS allows up to 50 per ENI on
 * its largest types, a guest configures a handful. */
#define MDR_NICS_MAX_ADDRS 32
/* DNS servers of one binding: resolv.conf uses 3; room for both families. */
#define MDR_NICS_MAX_DNS 8
/* Security group ids and public IPv4s of one binding (AWS: 5 groups per
 * ENI by default, 16 at most). */
#define MDR_NICS_MAX_IDS 16
/* Link MTU: 68 is IPv4's minimum (RFC 791), 65535 Linux's largest. */
#define MDR_NICS_MIN_MTU 68
#define MDR_NICS_MAX_MTU 65535
/* AWS's "version introduced": mac and network/interfaces/macs/ (and their
 * IPv4 leaves) 2011-01-01, the IPv6 leaves 2016-06-30. nova's versions end
 * at 2009-04-04, so they never show these. */
#define MDR_NICS_EC2_SINCE "2011-01-01"
#define MDR_NICS_EC2_SINCE_IPV6 "2016-06-30"

/* The bindings of a stored doc: "bindings" (array) or "binding" (one
 * object). Returns the count; at(i) gives entry i (NULL past the end). */
size_t mdr_nics_count(const json_t *doc);
const json_t *mdr_nics_at(const json_t *doc, size_t i);

/*
 * Add "mac" and "network": {"interfaces": {"macs": {<mac>: {...}}}} for
 * EC2 version ver (a dated version; nothing before MDR_NICS_EC2_SINCE) to
 * the meta-data object md, one entry per binding with a MAC. local_ipv4 is
 * what meta-data/local-ipv4 serves (the first NIC's local-ipv4s when its
 * binding has no IPv4 address; NULL or "" = none).
 */
void mdr_nics_ec2(const json_t *doc, const char *ver, const char *local_ipv4, json_t *md);

/*
 * network_data.json: the definition's "network_data" when it has one,
 * else generated from the bindings as nova's get_network_metadata() does
 * from neutron's ports (links, networks, services in nova's key order),
 * else {} (nova's answer for a server without network info). New
 * reference, NULL on allocation failure.
 */
json_t *mdr_nics_network_data(const json_t *doc);

#endif /* MDR_NICS_H */
