/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One-line logs on stderr: "<prog>: <level>: <message>". Messages name what
 * they are about ("instance <uuid> port <ifname> ...") so that one line is
 * enough to act on. Thread-safe (one fprintf per line). Under systemd
 * (stderr is the journal stream of JOURNAL_STREAM) each line starts with
 * its syslog priority, "<3>" .. "<7>", which journald takes as the level.
 */
#ifndef MDR_LOG_H
#define MDR_LOG_H

enum mdr_log_level {
	MDR_LOG_ERR = 0,
	MDR_LOG_WARN = 1,
	MDR_LOG_INFO = 2,
	MDR_LOG_DEBUG = 3,
};

/* Program name printed in front of every line (default "mdr") and the most
 * verbose level printed (default MDR_LOG_INFO). */
void mdr_log_init(const char *prog, enum mdr_log_level max_level);
void mdr_log_set_level(enum mdr_log_level max_level);
enum mdr_log_level mdr_log_get_level(void);

/* Print one line; a trailing newline in fmt is not needed (nor doubled). */
void mdr_log(enum mdr_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* MDR_LOG_H */
