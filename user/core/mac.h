/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mac: Ethernet MAC addresses as text, one formatter and one parser. */
#ifndef MDR_MAC_H
#define MDR_MAC_H

#include <stdint.h>

/* "aa:bb:cc:dd:ee:ff" and its terminating NUL. */
#define MDR_MAC_STRLEN 18

/* Write mac as lower-case "aa:bb:cc:dd:ee:ff" into buf; returns buf. */
char *mdr_mac_fmt(const uint8_t mac[6], char buf[MDR_MAC_STRLEN]);

/* Parse "aa:bb:cc:dd:ee:ff" (':' or '-' separators, either case, exactly
 * 17 characters) into mac. 0, or -EINVAL (mac unchanged). */
int mdr_mac_parse(const char *s, uint8_t mac[6]);

#endif /* MDR_MAC_H */
