/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* portsec: the nft text of mdrd's per-bridge-port source-MAC rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portsec.h"

#define BUF 4096 /* room for every case here */

static const struct mdr_portsec_entry two[] = {
	{ "tap1", { 0x52, 0x54, 0, 0, 1, 1 } },
	{ "tap2", { 0x52, 0x54, 0, 0, 1, 2 } },
};

static void test_table_name_from_pin_dir(void **state)
{
	char a[MDR_PORTSEC_TABLE_MAX], b[MDR_PORTSEC_TABLE_MAX], c[MDR_PORTSEC_TABLE_MAX];

	(void)state;
	mdr_portsec_table_name("/sys/fs/bpf/mdr", a);
	mdr_portsec_table_name("/sys/fs/bpf/mdr", b);
	mdr_portsec_table_name("/sys/fs/bpf/mdr-e2e-1", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strncmp(a, "mdr_ps_", 7), 0);
	assert_int_equal(strlen(a), 15);
}

static void test_ruleset_one_rule_per_mac(void **state)
{
	char buf[BUF];
	int n;

	(void)state;
	n = mdr_portsec_ruleset("mdr_ps_1", two, 2, buf, sizeof(buf), NULL, 0);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_string_equal(buf,
		"table bridge mdr_ps_1 {\n\tcounter spoofed {\n\t}\n\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority -200; policy accept;\n\t}\n}\n"
		"flush chain bridge mdr_ps_1 prerouting\n"
		"add rule bridge mdr_ps_1 prerouting ether saddr 52:54:00:00:01:01 "
		"iifname != \"tap1\" counter name \"spoofed\" drop\n"
		"add rule bridge mdr_ps_1 prerouting ether saddr 52:54:00:00:01:02 "
		"iifname != \"tap2\" counter name \"spoofed\" drop\n");
}

static void test_ruleset_empty_flushes(void **state)
{
	char buf[BUF];

	(void)state;
	assert_true(mdr_portsec_ruleset("mdr_ps_1", NULL, 0, buf, sizeof(buf), NULL, 0) > 0);
	assert_non_null(strstr(buf, "flush chain bridge mdr_ps_1 prerouting\n"));
	assert_null(strstr(buf, "add rule"));
}

/* The same MAC bound on two ports (two VLANs): one rule naming both, a
 * repeated (port, MAC) once. */
static void test_ruleset_mac_on_two_ports(void **state)
{
	struct mdr_portsec_entry e[] = { two[0], two[0], two[1], two[0] };
	char buf[BUF];

	(void)state;
	strcpy(e[1].port, "tap9");
	assert_true(mdr_portsec_ruleset("mdr_ps_1", e, 4, buf, sizeof(buf), NULL, 0) > 0);
	assert_non_null(strstr(buf, "ether saddr 52:54:00:00:01:01 iifname != "
				    "{ \"tap1\", \"tap9\" } counter"));
	assert_non_null(strstr(buf, "ether saddr 52:54:00:00:01:02 iifname != \"tap2\""));
	assert_null(strstr(strstr(buf, "01:02") , "01:01"));
}

/* A port name that could break out of the quotes, an empty or too long
 * one, or a bad table name: refused, nothing written. */
static void test_ruleset_refuses_bad_names(void **state)
{
	static const char *bad[] = { "", "ta\"p", "tap\\", "tap 1", "tap\n",
				     "a234567890123456", "tap;drop" };
	struct mdr_portsec_entry e = two[0];
	char buf[BUF], err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(e.port, 0, sizeof(e.port));
		memcpy(e.port, bad[i], strlen(bad[i]) < sizeof(e.port) ? strlen(bad[i]) :
			sizeof(e.port) - 1);
		if (strlen(bad[i]) >= sizeof(e.port))
			memcpy(e.port, bad[i], sizeof(e.port)); /* no NUL */
		err[0] = 0;
		assert_int_equal(mdr_portsec_ruleset("mdr_ps_1", &e, 1, buf, sizeof(buf), err,
						     sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "not usable"));
	}
	assert_true(mdr_portsec_port_ok("tap1"));
	assert_true(mdr_portsec_port_ok("vnet0.100"));
	assert_int_equal(mdr_portsec_ruleset("mdr ps", two, 1, buf, sizeof(buf), NULL, 0),
			 -EINVAL);
	assert_int_equal(mdr_portsec_ruleset("", two, 1, buf, sizeof(buf), NULL, 0), -EINVAL);
}

static void test_ruleset_too_small(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(mdr_portsec_ruleset("mdr_ps_1", two, 2, buf, sizeof(buf), NULL, 0),
			 -E2BIG);
	assert_int_equal(mdr_portsec_remove("mdr_ps_1", buf, 8), -E2BIG);
}

static void test_remove(void **state)
{
	char buf[BUF];

	(void)state;
	assert_true(mdr_portsec_remove("mdr_ps_1", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "add table bridge mdr_ps_1\ndelete table bridge mdr_ps_1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_name_from_pin_dir),
		cmocka_unit_test(test_ruleset_one_rule_per_mac),
		cmocka_unit_test(test_ruleset_empty_flushes),
		cmocka_unit_test(test_ruleset_mac_on_two_ports),
		cmocka_unit_test(test_ruleset_refuses_bad_names),
		cmocka_unit_test(test_ruleset_too_small),
		cmocka_unit_test(test_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
