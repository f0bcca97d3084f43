/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * settings: the runtime configuration (struct mdr_config, the value of
 * the mdr_config map) as named settings, shared by mdrd (flags, config
 * file) and mdrctl (config command). Pure: reading and writing the map is
 * pinned.h's mdr_config_read/write.
 */
#ifndef MDR_SETTINGS_H
#define MDR_SETTINGS_H

#include <stddef.h>
#include "mdr_abi.h"

/* ---- runtime configuration (mdr_config), shared by mdrctl and mdrd ---- */

/* The configuration a fresh deployment starts with: the three default
 * endpoints, MDR_DEFAULT_META_MAC, default rate/burst, both policies PASS. */
void mdr_config_defaults(struct mdr_config *cfg);

/* An edit of the configuration built from settings, applied to the map's
 * current value with mdr_config_edit_apply. */
struct mdr_config_edit {
	int set_unknown_policy, set_no_xsk_policy, set_meta_mac, set_rate, set_burst;
	int set_endpoints;
	__u32 set_flags; /* the MDR_CFG_F_* bits set (arp, xdp-synack) */
	struct mdr_config v; /* the values of the fields marked set_* */
};

/*
 * One setting, as a flag (--policy-unknown drop) or a config file line
 * (policy-unknown=drop). Keys: policy-unknown, policy-no-xsk (pass|drop),
 * meta-mac (MAC), rate (1..MDR_MAX_RATE_PPS), burst (1..), arp (on|off),
 * xdp-synack (on|off: XDP answers the TCP handshake with SYN cookies),
 * endpoint (ADDR[:PORT], IPv6 as [ADDR]:PORT, repeatable: the first
 * replaces the set, later ones add to it; port defaults to 80).
 * Returns 0, 1 when key is not a config key, or -EINVAL with err naming
 * the problem.
 */
/* The settings as getopt_long options (name = key, flag 0, val 0), for
 * mdrd's and mdrctl's option tables. */
#define MDR_SETTING_OPTIONS                                   \
	{ "policy-unknown", required_argument, NULL, 0 },     \
	{ "policy-no-xsk", required_argument, NULL, 0 },      \
	{ "meta-mac", required_argument, NULL, 0 },           \
	{ "rate", required_argument, NULL, 0 },               \
	{ "burst", required_argument, NULL, 0 },              \
	{ "arp", required_argument, NULL, 0 },                \
	{ "xdp-synack", required_argument, NULL, 0 },         \
	{ "endpoint", required_argument, NULL, 0 }

int mdr_config_edit_set(struct mdr_config_edit *e, const char *key, const char *value,
			char *err, size_t errlen);
void mdr_config_edit_apply(const struct mdr_config_edit *e, struct mdr_config *c);
int mdr_config_edit_empty(const struct mdr_config_edit *e);

/* "169.254.169.254:80" / "[fe80::a9fe:a9fe]:80". */
void mdr_endpoint_format(const struct mdr_endpoint *ep, char *buf, size_t len);
const char *mdr_policy_name(unsigned policy);

#endif /* MDR_SETTINGS_H */
