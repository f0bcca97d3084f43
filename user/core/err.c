/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* err: the one error convention (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int mdr_verrf(char *err, size_t errlen, int code, const char *fmt, va_list ap)
{
	if (err && errlen) {
		vsnprintf(err, errlen, fmt, ap);
		/* a message quotes input (a field name): keep it one line */
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return code;
}

int mdr_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = mdr_verrf(err, errlen, code, fmt, ap);
	va_end(ap);
	return code;
}
