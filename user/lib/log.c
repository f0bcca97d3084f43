/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One log line, longer messages are cut (never split over lines). */
#define MDR_LOG_LINE_MAX 1024

static const char *log_prog = "mdr";
static enum mdr_log_level log_max = MDR_LOG_INFO;
static int log_journal; /* stderr is journald's stream: "<N>" priority prefixes */

/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected stderr
 * to; only then does a "<N>" prefix set the line's priority (sd-daemon(3)). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mdr_log_init(const char *prog, enum mdr_log_level max_level)
{
	if (prog && *prog) {
		const char *slash = strrchr(prog, '/');
		log_prog = slash ? slash + 1 : prog;
	}
	log_max = max_level;
	log_journal = stderr_is_journal();
}

void mdr_log_set_level(enum mdr_log_level max_level) { log_max = max_level; }

enum mdr_log_level mdr_log_get_level(void) { return log_max; }

static const char *level_name(enum mdr_log_level lvl)
{
	switch (lvl) {
	case MDR_LOG_ERR: return "error";
	case MDR_LOG_WARN: return "warning";
	case MDR_LOG_INFO: return "info";
	case MDR_LOG_DEBUG: return "debug";
	}
	return "?";
}

void mdr_log(enum mdr_log_level lvl, const char *fmt, ...)
{
	char msg[MDR_LOG_LINE_MAX];
	va_list ap;
	size_t n;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* Embedded newlines would break "one event, one line". */
	for (size_t i = 0; i < n; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	if (log_journal) /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
		fprintf(stderr, "<%d>%s: %s: %s\n", lvl == MDR_LOG_ERR ? 3 : lvl == MDR_LOG_WARN ? 4 :
			lvl == MDR_LOG_INFO ? 6 : 7, log_prog, level_name(lvl), msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_name(lvl), msg);
}
