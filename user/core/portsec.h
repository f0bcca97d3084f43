/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* portsec: the nftables text of mdrd's per-bridge-port source-MAC
 * anti-spoofing (issue 12 hole 3). Pure: builds text, no I/O.
 *
 * With XDP on a bridge device every frame's ingress is the bridge, so a MAC
 * binding cannot be pinned to the guest's port by XDP. For every bound MAC
 * whose binding names a bridge port, a rule in the bridge family's
 * prerouting hook (before FDB learning and before the bridge device's XDP)
 * drops frames with that source MAC entering on any other port:
 *
 *   ether saddr M iifname != "tapN" counter name "spoofed" drop
 *
 * One table per mdrd instance (named from its pin directory), replaced in
 * one nft batch (atomic): the chain is flushed and refilled, the counter
 * object survives the replacement. */
#ifndef MDR_PORTSEC_H
#define MDR_PORTSEC_H

#include <stddef.h>
#include <stdint.h>

#define MDR_PORTSEC_PORT_MAX 16    /* IFNAMSIZ: an interface name and its NUL */
#define MDR_PORTSEC_TABLE_MAX 24   /* "mdr_ps_" + 8 hex digits + NUL, rounded */
#define MDR_PORTSEC_TABLE_PREFIX "mdr_ps_"
#define MDR_PORTSEC_CHAIN "prerouting"
#define MDR_PORTSEC_COUNTER "spoofed"
/* Bridge filter priority (NF_BR_PRI_FILTER_BRIDGED): the rules run before
 * the bridge learns the source MAC (br_handle_frame_finish). */
#define MDR_PORTSEC_PRIORITY (-200)
/* Text per MAC: the rule (~80 bytes) plus up to this many ports named. */
#define MDR_PORTSEC_RULE_MAX 256
#define MDR_PORTSEC_PORTS_PER_MAC 8 /* a MAC bound on more ports (per VLAN)
                                       than this is refused: a set literal
                                       stays short */

struct mdr_portsec_entry {
	char port[MDR_PORTSEC_PORT_MAX]; /* the bridge port the MAC belongs to */
	uint8_t mac[6];
};

/* The table name of the mdrd using pin_dir: "mdr_ps_" + FNV-1a of the
 * path, so two mdrd on one host (tests, several pin dirs) never share it. */
void mdr_portsec_table_name(const char *pin_dir, char out[MDR_PORTSEC_TABLE_MAX]);

/* 1 if name can be a port in the rules: 1..15 bytes of letters, digits and
 * "_.-@+:" (the text goes inside nft quotes: no quote, backslash, space or
 * control character can reach it). */
int mdr_portsec_port_ok(const char *name);

/* The nft batch that makes table hold exactly these entries (grouped by
 * MAC; n = 0 leaves an empty chain). Returns its length, -EINVAL for a bad
 * table or port name (named in err when err is given), -E2BIG when the
 * text does not fit len. */
int mdr_portsec_ruleset(const char *table, const struct mdr_portsec_entry *e, size_t n,
			char *buf, size_t len, char *err, size_t errlen);

/* The batch that removes the table (absent or not). Length or -E2BIG. */
int mdr_portsec_remove(const char *table, char *buf, size_t len);

#endif
