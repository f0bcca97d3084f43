/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdrctl notify UUID: wake the long-polls of an instance after a change
 * made without mdrctl or mdrd (e.g. bpftool on mdr_inst; chnotify.h). */
#include <stdio.h>
#include <string.h>

#include "chnotify.h"
#include "ctl.h"
#include "store.h"

int cmd_notify(int argc, char **argv)
{
	uint32_t id;
	int r;

	if (argc != 2)
		return ctl_usage("usage: notify UUID");
	if (ctl_open())
		return CTL_FAIL;
	r = mdr_store_lookup(&ctl_maps, argv[1], &id);
	if (r)
		return ctl_fail("unknown instance %s: %s", argv[1], strerror(-r));
	mdr_chnotify_send(ctl_pin_dir, id);
	return CTL_OK;
}
