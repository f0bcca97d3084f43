/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * chnotify.[ch]: the change channel. A writer of the pinned maps (store.c:
 * every put, delete, instance load of mdrd and mdrctl) tells the responder
 * which instance changed with one datagram on an abstract AF_UNIX socket
 * named after the pin directory's device and inode (so every process
 * sharing the maps finds the same name, whatever path spelling it uses).
 * The responder holds long-polls (wait_for_change) and re-checks only the
 * named instance's waiters when the datagram arrives: no polling.
 *
 * A datagram is a hint, never trusted: the responder reads the record
 * from the map itself. A lost one (no responder, queue full, a writer
 * that does not send, such as `bpftool map update` on mdr_inst) is caught
 * by the responder's once-a-second check of the generation of the
 * instances that have waiters (docs/DESIGN.md, "Change notification").
 * `mdrctl notify UUID` sends one by hand after such an update.
 */
#ifndef MDR_CHNOTIFY_H
#define MDR_CHNOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* "MDRN": first word of a change datagram. */
#define MDR_CHNOTIFY_MAGIC 0x4d44524eu

struct mdr_chnotify_msg {
	uint32_t magic;       /* MDR_CHNOTIFY_MAGIC */
	uint32_t instance_id; /* 0 = any instance may have changed */
};

/* Bind the channel of pin_dir (non-blocking, close-on-exec). Returns the
 * fd or -errno (-EADDRINUSE: another responder has it). */
int mdr_chnotify_listen(const char *pin_dir);

/* Tell whoever listens that instance id changed. Best effort: errors
 * (nobody listening) are ignored. */
void mdr_chnotify_send(const char *pin_dir, uint32_t id);

/* Read one datagram: 1 with *id, 0 when none is left, -errno. Datagrams
 * that are not change messages are skipped. */
int mdr_chnotify_recv(int fd, uint32_t *id);

#endif /* MDR_CHNOTIFY_H */
