/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of the Prometheus exposition (prom.c): names, types, labels,
 * escaping, one HELP/TYPE per family, samples of a family together. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "prom.h"

#define UUID_A "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5b"
#define UUID_B "8a6f3d2e-1b4c-4e5f-9a7b-0c1d2e3f4a5c"

static char *fmt(const struct mdr_prom_snap *s)
{
	struct mdr_buf b = { 0 };

	assert_int_equal(mdr_prom_format(s, &b), 0);
	mdr_buf_printf(&b, "%s", ""); /* NUL-terminated even when empty */
	assert_false(b.oom);
	return b.p;
}

/* The line that starts with want (whole line up to the value). */
static int has_line(const char *text, const char *want)
{
	size_t n = strlen(want);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, want, n) && (l[n] == '\n' || l[n] == '\0'))
			return 1;
	return 0;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_global_counters_only(void **state)
{
	(void)state;
	struct mdr_prom_snap s = { 0 };
	char *t;

	s.xdp.redirected = 42;
	s.xdp.passed = 7;
	t = fmt(&s);
	assert_true(has_line(t, "# TYPE mdr_xdp_redirected_total counter"));
	assert_true(has_line(t, "mdr_xdp_redirected_total 42"));
	assert_true(has_line(t, "mdr_xdp_passed_total 7"));
	assert_true(has_line(t, "mdr_xdp_spoofed_total 0"));
	assert_true(has_line(t, "mdr_instances 0"));
	/* no instance: no per-instance family, no header without samples */
	assert_null(strstr(t, "mdr_instance_xdp"));
	assert_null(strstr(t, "mdr_responder_"));
	assert_null(strstr(t, "mdr_port_"));
	free(t);
}

static void test_instances_and_ports(void **state)
{
	(void)state;
	struct mdr_prom_inst in[3];
	struct mdr_prom_port port[1];
	struct mdr_prom_snap s = { 0 };
	char *t;

	memset(in, 0, sizeof(in));
	memset(port, 0, sizeof(port));
	snprintf(in[0].uuid, sizeof(in[0].uuid), UUID_A);
	snprintf(in[0].port, sizeof(in[0].port), "tap1");
	in[0].gen = 3;
	in[0].has_xdp = in[0].has_resp = 1;
	in[0].xdp.redirected = 10;
	in[0].resp.requests = 9;
	in[0].resp.status_200 = 8;
	in[0].resp.status_404 = 1;
	in[0].resp.retransmits = 2;
	in[0].resp.bytes_sent = 1234;
	snprintf(in[1].uuid, sizeof(in[1].uuid), UUID_B);
	in[1].gen = 1;
	in[1].has_xdp = 1;
	in[1].xdp.spoofed = 5;
	in[2].has_resp = 1; /* the responder's counts without an instance */
	in[2].resp.resets_sent = 4;
	snprintf(port[0].name, sizeof(port[0].name), "tap1");
	port[0].mode = MDR_IFACE_GENERIC;
	port[0].rx_queues = 2;
	port[0].served[0] = 1;
	s.inst = in;
	s.n_inst = 3;
	s.port = port;
	s.n_port = 1;
	t = fmt(&s);
	assert_true(has_line(t, "mdr_instance_xdp_redirected_total{instance=\"" UUID_A "\",port=\"tap1\"} 10"));
	assert_true(has_line(t, "mdr_instance_xdp_spoofed_total{instance=\"" UUID_B "\",port=\"\"} 5"));
	/* the instance without responder counters has no responder line */
	assert_null(strstr(t, "mdr_responder_requests_total{instance=\"" UUID_B));
	assert_true(has_line(t, "mdr_responder_requests_total{instance=\"" UUID_A "\",port=\"tap1\"} 9"));
	assert_true(has_line(t, "mdr_responder_responses_total{instance=\"" UUID_A
			     "\",port=\"tap1\",code=\"200\",class=\"2xx\"} 8"));
	assert_true(has_line(t, "mdr_responder_responses_total{instance=\"" UUID_A
			     "\",port=\"tap1\",code=\"404\",class=\"4xx\"} 1"));
	assert_true(has_line(t, "mdr_responder_responses_total{instance=\"" UUID_A
			     "\",port=\"tap1\",code=\"5xx\",class=\"5xx\"} 0"));
	assert_true(has_line(t, "mdr_responder_retransmissions_total{instance=\"" UUID_A "\",port=\"tap1\"} 2"));
	assert_true(has_line(t, "mdr_responder_sent_bytes_total{instance=\"" UUID_A "\",port=\"tap1\"} 1234"));
	assert_true(has_line(t, "mdr_responder_resets_sent_total 4"));
	assert_true(has_line(t, "mdr_instances 2"));
	assert_true(has_line(t, "mdr_instance_generation{instance=\"" UUID_A "\",port=\"tap1\"} 3"));
	assert_true(has_line(t, "mdr_instance_generation{instance=\"" UUID_B "\",port=\"\"} 1"));
	assert_true(has_line(t, "mdr_responder_responses_total{code=\"200\",class=\"2xx\"} 0"));
	assert_int_equal(count(t, "mdr_instance_generation{"), 2);
	assert_true(has_line(t, "mdr_port_xdp_attached{port=\"tap1\",mode=\"generic\"} 1"));
	assert_true(has_line(t, "mdr_port_rx_queues{port=\"tap1\"} 2"));
	assert_true(has_line(t, "mdr_port_queue_socket{port=\"tap1\",queue=\"0\"} 1"));
	assert_true(has_line(t, "mdr_port_queue_socket{port=\"tap1\",queue=\"1\"} 0"));
	free(t);
}

/* Every sample's family has exactly one HELP and one TYPE line before it,
 * and the samples of one family are contiguous (a text-format rule). */
static void test_families_well_formed(void **state)
{
	(void)state;
	struct mdr_prom_inst in[2];
	struct mdr_prom_port port[2];
	struct mdr_prom_snap s = { 0 };
	char *t, *save = NULL, seen[256][96], cur[96] = "";
	size_t n_seen = 0, samples = 0;

	memset(in, 0, sizeof(in));
	memset(port, 0, sizeof(port));
	for (int i = 0; i < 2; i++) {
		snprintf(in[i].uuid, sizeof(in[i].uuid), i ? UUID_B : UUID_A);
		in[i].has_xdp = in[i].has_resp = 1;
		snprintf(port[i].name, sizeof(port[i].name), "tap%d", i);
		port[i].rx_queues = 1;
		port[i].mode = MDR_IFACE_NATIVE;
	}
	s.inst = in;
	s.n_inst = 2;
	s.port = port;
	s.n_port = 2;
	t = fmt(&s);
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[96];

		if (!strncmp(l, "# HELP ", 7)) {
			sscanf(l + 7, "%95s", name);
			for (size_t i = 0; i < n_seen; i++)
				assert_string_not_equal(seen[i], name); /* one family, one block */
			assert_true(n_seen < 256);
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			char type[16];

			sscanf(l + 7, "%95s %15s", name, type);
			assert_string_equal(name, cur);
			if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total"))
				assert_string_equal(type, "counter");
			else
				assert_string_equal(type, "gauge");
			continue;
		}
		/* a sample: its name is the family's */
		size_t k = strcspn(l, "{ ");
		assert_true(k < sizeof(name));
		memcpy(name, l, k);
		name[k] = '\0';
		assert_string_equal(name, cur);
		assert_true(!strncmp(name, "mdr_", 4));
		samples++;
	}
	assert_true(samples > 50);
	free(t);
}

static void test_label_escaping(void **state)
{
	(void)state;
	struct mdr_prom_port port = { .rx_queues = 0, .mode = 9 };
	struct mdr_prom_snap s = { .port = &port, .n_port = 1 };
	char *t;

	snprintf(port.name, sizeof(port.name), "a\"b\\c");
	t = fmt(&s);
	assert_true(has_line(t, "mdr_port_xdp_attached{port=\"a\\\"b\\\\c\",mode=\"unknown\"} 1"));
	assert_int_equal(count(t, "# TYPE mdr_port_queue_socket gauge"), 1);
	free(t);
}

static void test_responder_process(void **state)
{
	(void)state;
	struct mdr_prom_rsp r = { .rx_frames = 10, .rx_untagged = 1, .rx_fill_empty = 3,
				  .reopened = 2, .sockets = 4, .free_frames = 8000 };
	struct mdr_buf b = { 0 };

	assert_int_equal(mdr_prom_format_responder(&r, &b), 0);
	mdr_buf_printf(&b, "%s", "");
	assert_true(has_line(b.p, "# TYPE mdr_responder_frames_received_total counter"));
	assert_true(has_line(b.p, "mdr_responder_frames_received_total 10"));
	assert_true(has_line(b.p, "mdr_responder_frames_untagged_total 1"));
	assert_true(has_line(b.p, "mdr_responder_kernel_dropped_frames_total{reason=\"fill_empty\"} 3"));
	assert_true(has_line(b.p, "mdr_responder_reopened_sockets_total 2"));
	assert_true(has_line(b.p, "# TYPE mdr_responder_sockets gauge"));
	assert_true(has_line(b.p, "mdr_responder_sockets 4"));
	assert_true(has_line(b.p, "mdr_responder_umem_free_frames 8000"));
	assert_true(has_line(b.p, "# TYPE mdr_responder_service_seconds histogram"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"+Inf\"} 0"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_count 0"));
	free(b.p);
}

static void test_histogram(void **state)
{
	(void)state;
	struct mdr_prom_rsp r = { 0 };
	struct mdr_buf b = { 0 };

	mdr_prom_hist_observe(&r.service, 5000);      /* <= 10 us */
	mdr_prom_hist_observe(&r.service, 10000);     /* <= 10 us: bounds are inclusive */
	mdr_prom_hist_observe(&r.service, 10001);     /* <= 25 us */
	mdr_prom_hist_observe(&r.service, 3000000);   /* <= 5 ms */
	mdr_prom_hist_observe(&r.service, 200000000); /* over every bound: +Inf only */
	assert_int_equal(mdr_prom_format_responder(&r, &b), 0);
	mdr_buf_printf(&b, "%s", "");
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"1e-05\"} 2"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"2.5e-05\"} 3"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"0.0025\"} 3"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"0.005\"} 4"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"0.1\"} 4"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_bucket{le=\"+Inf\"} 5"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_count 5"));
	assert_true(has_line(b.p, "mdr_responder_service_seconds_sum 0.203025001"));
	free(b.p);
}

static void test_buffer_grows(void **state)
{
	(void)state;
	struct mdr_buf b = { 0 };
	char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mdr_buf_printf(&b, "%s", "head ");
	mdr_buf_printf(&b, "%s", big);
	mdr_buf_printf(&b, " tail");
	assert_false(b.oom);
	assert_int_equal(b.len, 5 + sizeof(big) - 1 + 5);
	assert_int_equal(strncmp(b.p, "head xx", 7), 0);
	assert_string_equal(b.p + b.len - 5, " tail");
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_counters_only),
		cmocka_unit_test(test_instances_and_ports),
		cmocka_unit_test(test_families_well_formed),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_responder_process),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_buffer_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
