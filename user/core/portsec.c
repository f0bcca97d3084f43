/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* portsec: nftables text of the per-bridge-port source-MAC rules (see
 * portsec.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mac.h"
#include "portsec.h"

void mdr_portsec_table_name(const char *pin_dir, char out[MDR_PORTSEC_TABLE_MAX])
{
	uint32_t h = 2166136261u; /* FNV-1a, 32 bits */

	for (const unsigned char *p = (const unsigned char *)pin_dir; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(out, MDR_PORTSEC_TABLE_MAX, MDR_PORTSEC_TABLE_PREFIX "%08x", h);
}

int mdr_portsec_port_ok(const char *name)
{
	size_t n = strnlen(name, MDR_PORTSEC_PORT_MAX);

	if (n == 0 || n >= MDR_PORTSEC_PORT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("_.-@+:", c)))
			return 0;
	}
	return 1;
}

static int table_ok(const char *t)
{
	size_t n = strnlen(t, MDR_PORTSEC_TABLE_MAX);

	if (n == 0 || n >= MDR_PORTSEC_TABLE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
		      t[i] == '_'))
			return 0;
	return 1;
}

struct out {
	char *buf;
	size_t len, pos;
	int full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->full = 1;
	else
		o->pos += (size_t)n;
}

int mdr_portsec_ruleset(const char *table, const struct mdr_portsec_entry *e, size_t n,
			char *buf, size_t len, char *err, size_t errlen)
{
	struct out o = { buf, len, 0, 0 };

	if (!len)
		return -E2BIG;
	if (!table_ok(table))
		return mdr_errf(err, errlen, -EINVAL, "portsec: bad table name");
	for (size_t i = 0; i < n; i++)
		if (!mdr_portsec_port_ok(e[i].port))
			return mdr_errf(err, errlen, -EINVAL,
					"portsec: port name \"%.*s\" not usable in a rule",
					MDR_PORTSEC_PORT_MAX - 1, e[i].port);
	/* Declared in add mode (kept when present, the counter with it),
	 * then the chain flushed and refilled: one batch, one transaction. */
	put(&o, "table bridge %s {\n\tcounter %s {\n\t}\n\tchain %s {\n"
		"\t\ttype filter hook prerouting priority %d; policy accept;\n\t}\n}\n"
		"flush chain bridge %s %s\n", table, MDR_PORTSEC_COUNTER,
	    MDR_PORTSEC_CHAIN, MDR_PORTSEC_PRIORITY, table, MDR_PORTSEC_CHAIN);
	for (size_t i = 0; i < n; i++) {
		const char *ports[MDR_PORTSEC_PORTS_PER_MAC];
		size_t np = 0, dup = 0;
		char m[MDR_MAC_STRLEN];

		/* One rule per MAC, at its first entry, naming every port
		 * it is bound on (the same MAC on several VLANs). */
		for (size_t j = 0; j < i && !dup; j++)
			dup = !memcmp(e[j].mac, e[i].mac, 6);
		if (dup)
			continue;
		for (size_t j = i; j < n; j++) {
			int seen = 0;

			if (memcmp(e[j].mac, e[i].mac, 6))
				continue;
			for (size_t k = 0; k < np && !seen; k++)
				seen = !strcmp(ports[k], e[j].port);
			if (seen)
				continue;
			if (np == MDR_PORTSEC_PORTS_PER_MAC)
				return mdr_errf(err, errlen, -EINVAL,
						"portsec: MAC %s bound on more than %d ports",
						mdr_mac_fmt(e[i].mac, m), MDR_PORTSEC_PORTS_PER_MAC);
			ports[np++] = e[j].port;
		}
		put(&o, "add rule bridge %s %s ether saddr %s iifname != ", table,
		    MDR_PORTSEC_CHAIN, mdr_mac_fmt(e[i].mac, m));
		if (np == 1) {
			put(&o, "\"%s\"", ports[0]);
		} else {
			put(&o, "{ ");
			for (size_t k = 0; k < np; k++)
				put(&o, "%s\"%s\"", k ? ", " : "", ports[k]);
			put(&o, " }");
		}
		put(&o, " counter name \"%s\" drop\n", MDR_PORTSEC_COUNTER);
	}
	return o.full ? -E2BIG : (int)o.pos;
}

int mdr_portsec_remove(const char *table, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };

	if (!len)
		return -E2BIG;
	/* "add" first: deleting an absent table would fail the batch. */
	put(&o, "add table bridge %s\ndelete table bridge %s\n", table, table);
	return o.full ? -E2BIG : (int)o.pos;
}
