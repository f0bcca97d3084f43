/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* systemd notifications (see sd.h). */
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <bpf/bpf.h>

#include "sd.h"
#include "clock.h"

/* A STATUS= line. */
#define SD_STATUS_MAX 256
/* Largest map key counted (mdr_uuid_key is the largest: 40 bytes). */
#define SD_KEY_MAX 64

static mdr_sd_status_fn status_fn;
static char last_status[SD_STATUS_MAX];
static uint64_t next_status_ms;
static int wd_checked;
static uint64_t wd_interval_ms; /* half of WatchdogSec, 0 = no watchdog */
static uint64_t wd_next_ms;

static void send_status(int ready)
{
	char s[SD_STATUS_MAX] = "";

	status_fn(s, sizeof(s));
	next_status_ms = mdr_mono_ms() + MDR_SD_STATUS_EVERY_MS;
	if (!ready && !strcmp(s, last_status))
		return;
	memcpy(last_status, s, sizeof(s));
	sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "", s);
}

void mdr_sd_ready(mdr_sd_status_fn status)
{
	status_fn = status;
	send_status(1);
}

void mdr_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

int mdr_sd_tick(void)
{
	uint64_t now = mdr_mono_ms();

	if (status_fn && now >= next_status_ms)
		send_status(0);
	if (!wd_checked) {
		uint64_t usec = 0;

		wd_checked = 1;
		if (sd_watchdog_enabled(0, &usec) > 0 && usec)
			wd_interval_ms = usec / 2000 ? usec / 2000 : 1;
		wd_next_ms = now;
	}
	if (!wd_interval_ms)
		return -1;
	if (now >= wd_next_ms) {
		sd_notify(0, "WATCHDOG=1");
		wd_next_ms = now + wd_interval_ms;
	}
	return (int)(wd_next_ms - now);
}

long mdr_map_count(int fd, uint32_t key_size)
{
	unsigned char k[SD_KEY_MAX], nk[SD_KEY_MAX];
	const void *prev = NULL;
	long n = 0;

	if (key_size > SD_KEY_MAX)
		return -1;
	while (bpf_map_get_next_key(fd, prev, nk) == 0) {
		memcpy(k, nk, key_size);
		prev = k;
		n++;
	}
	return n;
}
