/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ctl: the helpers every mdrctl command shares (see ctl.h). */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Largest definition file read: 64 files of 64 KiB and 64 KiB of user data
 * in base64, plus the largest document. */
#define CTL_DEFN_FILE_MAX (16u << 20)

struct mdr_maps ctl_maps;
const char *ctl_pin_dir = MDR_DEFAULT_PIN_DIR;
static int ctl_opened;

/* "mdrctl: <message><tail>" on stderr. */
static void vreport(const char *tail, const char *fmt, va_list ap)
{
	fputs("mdrctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("\n", fmt, ap);
	va_end(ap);
	return CTL_FAIL;
}

int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(" (mdrctl --help for usage)\n", fmt, ap);
	va_end(ap);
	return CTL_USAGE;
}

int ctl_open(void)
{
	char err[MDR_PIN_DIR_MAX + 128];

	if (ctl_opened)
		return CTL_OK;
	/* the message names the missing pin */
	if (mdr_maps_open(&ctl_maps, ctl_pin_dir, err, sizeof(err)))
		return ctl_fail("%s", err);
	ctl_opened = 1;
	return CTL_OK;
}

int ctl_print_json(json_t *v)
{
	int r;

	if (!v)
		return ctl_fail("out of memory");
	/* the document's own key order: meta, vendor_data and network_data are
	 * served in it, so `instance load` of this output serves the same bytes */
	r = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(v);
	return r ? CTL_FAIL : CTL_OK;
}

int ctl_take_flag(int *argc, char **argv, const char *flag)
{
	int found = 0, j = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], flag))
			found = 1;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;
	return found;
}

int ctl_read_input(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 65536, n = 0;
	char *b;

	if (!f)
		return ctl_fail("%s: %s", path, strerror(errno));
	b = malloc(cap + 1);
	while (b) {
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (n < cap)
			break;
		if (cap >= CTL_DEFN_FILE_MAX) {
			free(b);
			if (f != stdin)
				fclose(f);
			return ctl_fail("%s: larger than %u bytes", path, CTL_DEFN_FILE_MAX);
		}
		cap *= 2;
		char *nb = realloc(b, cap + 1);
		if (!nb)
			free(b);
		b = nb;
	}
	if (ferror(f) || !b) {
		int e = errno;

		free(b);
		if (f != stdin)
			fclose(f);
		return ctl_fail("%s: %s", path, b ? strerror(e) : "out of memory");
	}
	if (f != stdin)
		fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return CTL_OK;
}

void ctl_close(void)
{
	if (ctl_opened)
		mdr_maps_close(&ctl_maps);
	ctl_opened = 0;
}

void ctl_random_bytes(void *buf, size_t len, void *opaque)
{
	uint8_t *p = buf;

	(void)opaque;
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
}
