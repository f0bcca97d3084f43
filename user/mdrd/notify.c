/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdrd's STATUS= line under systemd (sent by user/lib/sd.c): what is
 * attached, loaded and bound. */
#include <stdio.h>

#include "mdrd.h"
#include "sd.h"

void mdrd_sd_status(char *buf, size_t len)
{
	snprintf(buf, len, "attached to %ld interface(s); %ld instance(s); %ld port and %ld MAC "
			   "binding(s)",
		 mdr_map_count(mdrd_maps.ifaces, sizeof(__u32)),
		 mdr_map_count(mdrd_maps.inst, sizeof(__u32)),
		 mdr_map_count(mdrd_maps.ports, sizeof(__u32)),
		 mdr_map_count(mdrd_maps.macs, sizeof(struct mdr_mac_key)));
}
