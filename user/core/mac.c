/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mac: MAC address text (see mac.h). */
#include "mac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

char *mdr_mac_fmt(const uint8_t mac[6], char buf[MDR_MAC_STRLEN])
{
	snprintf(buf, MDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	return buf;
}

int mdr_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char ch = *s++;

			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v |= (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v |= (unsigned)(ch - 'A' + 10);
			else
				return -EINVAL;
		}
		m[i] = (uint8_t)v;
		if (i < 5 && *s != ':' && *s != '-')
			return -EINVAL;
		if (i < 5)
			s++;
	}
	if (*s)
		return -EINVAL;
	memcpy(mac, m, sizeof(m));
	return 0;
}
