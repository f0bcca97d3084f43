/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sd.[ch]: the systemd service protocol of mdrd and mdr-responder
 * (Type=notify), through libsystemd's sd_notify. Outside systemd
 * (no NOTIFY_SOCKET) nothing is sent.
 *   mdr_sd_ready    READY=1 with the STATUS= line status() writes, once the
 *                   daemon serves; status() is called again every
 *                   MDR_SD_STATUS_EVERY_MS from mdr_sd_tick (sent when it
 *                   changed)
 *   mdr_sd_tick     from the main loop: STATUS= refresh and WATCHDOG=1
 *                   every half WatchdogSec; returns the poll timeout (ms)
 *                   that keeps the watchdog on time, -1 = no watchdog
 *   mdr_sd_stopping STOPPING=1
 */
#ifndef MDR_SD_H
#define MDR_SD_H

#include <stddef.h>
#include <stdint.h>

/* STATUS= is refreshed at most this often (counting walks the maps). */
#define MDR_SD_STATUS_EVERY_MS 1000

typedef void (*mdr_sd_status_fn)(char *buf, size_t len);

void mdr_sd_ready(mdr_sd_status_fn status);
int mdr_sd_tick(void);
void mdr_sd_stopping(void);

/* Entries of a map (counts for STATUS= lines); -1 on error. */
long mdr_map_count(int fd, uint32_t key_size);

#endif /* MDR_SD_H */
