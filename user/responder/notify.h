/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* notify.c: mdr-responder's systemd READY=1 and STATUS= line; the loop
 * calls mdr_sd_tick (sd.h) for the watchdog. */
#ifndef RSP_NOTIFY_H
#define RSP_NOTIFY_H

#include "maps.h"

void rsp_sd_ready(const struct mdr_maps *m);

#endif
