/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * err: the one error convention of mdr's libraries (user/core, user/io).
 *
 * A library function returns 0 (or a count) on success and -errno on
 * failure. Where a caller needs to tell a person what was wrong, the
 * function takes an optional message buffer (char *err, size_t errlen;
 * NULL/0 for none) and fills it through mdr_errf(), which returns the
 * code it was given so that a failure is one statement:
 *
 *	return mdr_errf(err, errlen, -EINVAL, "meta: key \"%s\" too long", k);
 *
 * Library code never logs: the programs (mdrd, mdr-responder, mdrctl)
 * decide what becomes a log line or a message on stderr.
 */
#ifndef MDR_ERR_H
#define MDR_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Fill err[0..errlen) with the formatted message (when err is not NULL
 * and errlen > 0) and return code (a negative errno). Control characters
 * (from quoted input, e.g. a field name holding a newline) become '?':
 * a message is always one line. */
int mdr_errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The same with a va_list (for a module's own wrapper that adds context). */
int mdr_verrf(char *err, size_t errlen, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif /* MDR_ERR_H */
