/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One log line, longer messages are cut (never split over lines). */
#define MDR_LOG_LINE_MAX 1024

static const char *log_prog = "mdr";
static enum mdr_log_level log_max = MDR_LOG_INFO;

void mdr_log_init(const char *prog, enum mdr_log_level max_level)
{
	if (prog && *prog) {
		const char *slash = strrchr(prog, '/');
		log_prog = slash ? slash + 1 : prog;
	}
	log_max = max_level;
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
	fprintf(stderr, "%s: %s: %s\n", log_prog, level_name(lvl), msg);
}
