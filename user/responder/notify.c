/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdr-responder's STATUS= line under systemd (sent by user/lib/sd.c):
 * sockets registered, interfaces attached. */
#include <stdio.h>

#include "notify.h"
#include "sd.h"

static const struct mdr_maps *maps;

static void status(char *buf, size_t len)
{
	snprintf(buf, len, "%ld socket(s) registered on %ld attached interface(s)",
		 mdr_map_count(maps->xsk_slot, sizeof(struct mdr_xsk_key)),
		 mdr_map_count(maps->ifaces, sizeof(__u32)));
}

void rsp_sd_ready(const struct mdr_maps *m)
{
	maps = m;
	mdr_sd_ready(status);
}
