/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store.[ch]: the greedy chunk cut (exhaustively, every blob length up to
 * the largest document), instance id probing, and the map I/O (put,
 * replace, read, delete, invalid input) on private, unpinned maps created
 * for the test (needs CAP_BPF; skipped otherwise).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "store.h"
#include "defn.h"

/* ---- chunk cut ---------------------------------------------------- */

static void test_chunk_sizes_decrease(void **state)
{
	(void)state;
	assert_int_equal(mdr_chunk_size[0], MDR_CHUNK0_SIZE);
	assert_int_equal(mdr_chunk_size[MDR_CHUNK_CLASSES - 1], MDR_CHUNK5_SIZE);
	for (int c = 1; c < MDR_CHUNK_CLASSES; c++)
		assert_true(mdr_chunk_size[c] < mdr_chunk_size[c - 1]);
}

static void test_chunk_class_table(void **state)
{
	static const struct { uint32_t rem; unsigned cls; } cases[] = {
		{ 1, 5 }, { 55, 5 }, { 56, 5 }, { 57, 5 }, { 183, 5 },
		{ 184, 4 }, { 439, 4 }, { 440, 3 }, { 951, 3 }, { 952, 2 },
		{ 1975, 2 }, { 1976, 1 }, { 4023, 1 }, { 4024, 0 }, { 4025, 0 },
		{ MDR_DOC_MAX, 0 }, { UINT32_MAX, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (mdr_chunk_class(cases[i].rem) != cases[i].cls)
			fail_msg("remaining %u: class %u, want %u", cases[i].rem,
				 mdr_chunk_class(cases[i].rem), cases[i].cls);
	}
}

static void test_chunk_cut_empty_blob_has_no_chunk(void **state)
{
	struct mdr_chunk_piece p[1];
	(void)state;
	assert_int_equal(mdr_chunk_count(0), 0);
	assert_int_equal(mdr_chunk_cut(0, p, 1), 0);
}

static void test_chunk_cut_examples(void **state)
{
	static const struct {
		uint32_t len;
		uint32_t n;
		unsigned cls[6];
		uint32_t plen[6];
	} cases[] = {
		{ 1, 1, { 5 }, { 1 } },
		{ 56, 1, { 5 }, { 56 } },
		{ 57, 2, { 5, 5 }, { 56, 1 } },
		{ 200, 2, { 4, 5 }, { 184, 16 } },
		{ 4024, 1, { 0 }, { 4024 } },
		{ 4025, 2, { 0, 5 }, { 4024, 1 } },
		{ 4000, 3, { 1, 1, 5 }, { 1976, 1976, 48 } },
		{ 8048 + 1000, 4, { 0, 0, 2, 5 }, { 4024, 4024, 952, 48 } },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mdr_chunk_piece p[8];
		uint32_t n = mdr_chunk_cut(cases[i].len, p, 8);

		assert_int_equal(n, cases[i].n);
		for (uint32_t j = 0; j < n; j++) {
			assert_int_equal(p[j].cls, cases[i].cls[j]);
			assert_int_equal(p[j].len, cases[i].plen[j]);
		}
	}
}

/* Largest chunk count of any blob (the doc is the largest blob). */
#define MAX_PIECES (MDR_DOC_MAX / MDR_CHUNK0_SIZE + 16)

/* Every length: pieces are contiguous, cover the blob exactly, fit their
 * class, all but the last are full, and the class is the greedy choice. */
static void test_chunk_cut_exhaustive_is_greedy_and_exact(void **state)
{
	static struct mdr_chunk_piece p[MAX_PIECES];
	(void)state;
	for (uint32_t len = 1; len <= MDR_DOC_MAX; len++) {
		uint32_t n = mdr_chunk_cut(len, p, MAX_PIECES), off = 0;

		if (n == 0 || n > MAX_PIECES)
			fail_msg("len %u: %u pieces", len, n);
		for (uint32_t j = 0; j < n; j++) {
			uint32_t rem = len - off, sz = mdr_chunk_size[p[j].cls];

			if (p[j].off != off || p[j].len == 0 || p[j].len > sz)
				fail_msg("len %u piece %u: off %u len %u class %u", len, j,
					 p[j].off, p[j].len, p[j].cls);
			/* greedy: largest class <= remaining, else the smallest */
			for (unsigned c = 0; c < p[j].cls; c++)
				if (mdr_chunk_size[c] <= rem)
					fail_msg("len %u piece %u: class %u but %u fits", len, j,
						 p[j].cls, c);
			if (sz > rem && p[j].cls != MDR_CHUNK_CLASSES - 1)
				fail_msg("len %u piece %u: class %u larger than rest %u", len, j,
					 p[j].cls, rem);
			if (j + 1 < n && p[j].len != sz)
				fail_msg("len %u piece %u not full", len, j);
			off += p[j].len;
		}
		if (off != len)
			fail_msg("len %u: pieces cover %u bytes", len, off);
	}
}

/* Memory stays proportional to content: at most one partly filled chunk
 * (the last, smallest class), so waste < MDR_CHUNK5_SIZE for any length. */
static void test_chunk_cut_exhaustive_waste_below_smallest_class(void **state)
{
	static struct mdr_chunk_piece p[MAX_PIECES];
	(void)state;
	for (uint32_t len = 1; len <= MDR_DOC_MAX; len++) {
		uint32_t n = mdr_chunk_cut(len, p, MAX_PIECES);
		uint64_t stored = 0;

		for (uint32_t j = 0; j < n; j++)
			stored += mdr_chunk_size[p[j].cls];
		if (stored - len >= MDR_CHUNK5_SIZE)
			fail_msg("len %u wastes %llu bytes", len,
				 (unsigned long long)(stored - len));
	}
}

static void test_chunk_count_matches_cut_and_fits_u16(void **state)
{
	static struct mdr_chunk_piece p[MAX_PIECES];
	(void)state;
	for (uint32_t len = 0; len <= MDR_DOC_MAX; len++) {
		uint32_t n = mdr_chunk_count(len);

		if (n != mdr_chunk_cut(len, p, MAX_PIECES))
			fail_msg("len %u: count %u differs from cut", len, n);
		if (n > UINT16_MAX + 1u)
			fail_msg("len %u: %u chunks overflow the chunk index", len, n);
	}
}

static void test_chunk_cut_truncated_output_returns_full_count(void **state)
{
	struct mdr_chunk_piece p[3], sentinel = { 99, 99, 99 };
	struct mdr_chunk_piece all[8];
	(void)state;
	p[2] = sentinel;
	/* 10000 -> 4024, 4024, 952, 952, 48 */
	assert_int_equal(mdr_chunk_cut(10000, p, 2), 5);
	assert_int_equal(mdr_chunk_cut(10000, all, 8), 5);
	assert_memory_equal(p, all, 2 * sizeof(p[0]));
	assert_int_equal(p[2].cls, 99); /* nothing written past max */
}

/* ---- instance ids ------------------------------------------------- */

static void make_uuid(unsigned i, char out[MDR_UUID_SIZE])
{
	snprintf(out, MDR_UUID_SIZE, "%08x-%04x-4%03x-8%03x-%012x", i * 2654435761u,
		 i & 0xffff, i % 0xfff, (i * 7) % 0xfff, i);
}

static void test_id_probe_deterministic_and_never_zero(void **state)
{
	char u[MDR_UUID_SIZE];
	(void)state;
	for (unsigned i = 0; i < 4096; i++) {
		make_uuid(i, u);
		for (unsigned a = 0; a < MDR_ID_PROBES; a++) {
			uint32_t id = mdr_instance_id_probe(u, a);

			assert_int_not_equal(id, 0);
			assert_int_equal(id, mdr_instance_id_probe(u, a));
		}
	}
}

static void test_id_probe_attempts_are_distinct(void **state)
{
	char u[MDR_UUID_SIZE];
	(void)state;
	for (unsigned i = 0; i < 4096; i++) {
		make_uuid(i, u);
		for (unsigned a = 0; a < MDR_ID_PROBES; a++)
			for (unsigned b = a + 1; b < MDR_ID_PROBES; b++)
				assert_int_not_equal(mdr_instance_id_probe(u, a),
						     mdr_instance_id_probe(u, b));
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A full node (MDR_MAX_INSTANCES uuids) gets distinct ids within the
 * probe budget, as the store's claim loop would assign them. */
static void test_id_probe_full_node_gets_distinct_ids(void **state)
{
	static uint32_t ids[MDR_MAX_INSTANCES];
	char u[MDR_UUID_SIZE];
	(void)state;
	for (unsigned i = 0; i < MDR_MAX_INSTANCES; i++) {
		unsigned a;

		make_uuid(i, u);
		for (a = 0; a < MDR_ID_PROBES; a++) {
			uint32_t id = mdr_instance_id_probe(u, a);
			unsigned j;

			for (j = 0; j < i && ids[j] != id; j++)
				;
			if (j == i) {
				ids[i] = id;
				break;
			}
		}
		assert_true(a < MDR_ID_PROBES);
	}
	qsort(ids, MDR_MAX_INSTANCES, sizeof(ids[0]), cmp_u32);
	for (unsigned i = 1; i < MDR_MAX_INSTANCES; i++)
		assert_int_not_equal(ids[i], ids[i - 1]);
}

/* ---- map I/O on private maps ---------------------------------------- */

static struct mdr_maps M;
static int have_bpf;

static int mk(enum bpf_map_type t, const char *name, size_t ksz, size_t vsz, unsigned max,
	      unsigned flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);

	return bpf_map_create(t, name, (__u32)ksz, (__u32)vsz, max, &o);
}

static int setup_maps(void **state)
{
	(void)state;
	mdr_maps_init(&M);
	M.inst = mk(BPF_MAP_TYPE_HASH, "t_inst", 4, sizeof(struct mdr_instance), 1024, 0);
	if (M.inst < 0)
		return 0; /* no CAP_BPF: the I/O tests skip */
	M.uuids = mk(BPF_MAP_TYPE_HASH, "t_uuids", MDR_UUID_SIZE, 4, 1024, 0);
	M.limits = mk(BPF_MAP_TYPE_HASH, "t_limits", 4, sizeof(struct mdr_limits), 1024, 0);
	M.rl = mk(BPF_MAP_TYPE_HASH, "t_rl", 4, 8, 1024, 0);
	M.ports = mk(BPF_MAP_TYPE_HASH, "t_ports", 4, sizeof(struct mdr_port_binding), 1024, 0);
	M.macs = mk(BPF_MAP_TYPE_HASH, "t_macs", sizeof(struct mdr_mac_key),
		    sizeof(struct mdr_mac_binding), 1024, 0);
	M.passwords = mk(BPF_MAP_TYPE_HASH, "t_pw", 4, sizeof(struct mdr_password), 1024, 0);
	M.istats = mk(BPF_MAP_TYPE_PERCPU_HASH, "t_istats", 4, sizeof(struct mdr_xdp_counters),
		      1024, 0);
	M.rstats = mk(BPF_MAP_TYPE_HASH, "t_rstats", 4, sizeof(struct mdr_resp_counters), 1024, 0);
	for (int c = 0; c < MDR_CHUNK_CLASSES; c++)
		M.chunk[c] = mk(BPF_MAP_TYPE_HASH, "t_chunk", sizeof(struct mdr_chunk_key),
				mdr_chunk_size[c], 4096, BPF_F_NO_PREALLOC);
	have_bpf = 1;
	return 0;
}

static int teardown_maps(void **state)
{
	(void)state;
	mdr_maps_close(&M);
	return 0;
}

static size_t count(int fd)
{
	uint8_t k[64], nk[64];
	void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, nk) == 0) {
		memcpy(k, nk, sizeof(k));
		prev = k;
		n++;
	}
	return n;
}

static size_t count_chunks(void)
{
	size_t n = 0;

	for (int c = 0; c < MDR_CHUNK_CLASSES; c++)
		n += count(M.chunk[c]);
	return n;
}

/* Entries in every map: the fingerprint "nothing changed" compares. */
struct census {
	size_t inst, uuids, limits, ports, macs, chunks;
};

static struct census take_census(void)
{
	return (struct census){ count(M.inst), count(M.uuids), count(M.limits),
				count(M.ports), count(M.macs), count_chunks() };
}

static void assert_census(struct census a, struct census b)
{
	assert_int_equal(a.inst, b.inst);
	assert_int_equal(a.uuids, b.uuids);
	assert_int_equal(a.limits, b.limits);
	assert_int_equal(a.ports, b.ports);
	assert_int_equal(a.macs, b.macs);
	assert_int_equal(a.chunks, b.chunks);
}

static void clear_all(void)
{
	uint32_t ids[64];
	int n = mdr_store_ids(&M, ids, 64);

	for (int i = 0; i < n; i++) {
		struct mdr_instance rec;

		if (!mdr_store_record(&M, ids[i], &rec))
			mdr_store_delete(&M, rec.uuid, NULL, 0);
	}
	assert_int_equal(count(M.inst) + count(M.uuids) + count_chunks() + count(M.ports) +
				 count(M.macs) + count(M.limits),
			 0);
}

#define UUID_A "d8e02d56-2648-415b-b62a-3a1b9ce1d0f8"
#define UUID_B "0f7a2c1e-5d4b-4a3c-9e8f-7d6c5b4a3921"

static struct mdr_defn *defn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct mdr_defn *defn(const char *fmt, ...)
{
	char json[200000], err[MDR_DEFN_ERR_SIZE];
	struct mdr_defn *d = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	if (mdr_defn_parse(json, strlen(json), &d, err, sizeof(err)))
		fail_msg("definition rejected: %s", err);
	return d;
}

/* base64 of n bytes 'x' (n multiple of 3 -> "eHh4" repeated). */
static char *b64_x(size_t n)
{
	char *s = malloc(n / 3 * 4 + 1);

	for (size_t i = 0; i < n / 3; i++)
		memcpy(s + 4 * i, "eHh4", 4);
	s[n / 3 * 4] = '\0';
	return s;
}

#define SKIP_WITHOUT_BPF() do { if (!have_bpf) skip(); } while (0)

static void test_put_creates_record_limits_uuid_and_chunks(void **state)
{
	struct mdr_store_result res;
	struct mdr_instance rec;
	struct mdr_limits lim;
	struct mdr_defn *d, *got;
	char err[256];
	uint32_t id;
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"name\":\"a\",\"user_data\":\"aGVsbG8=\","
		 "\"imds\":{\"rate_pps\":50,\"burst\":7,\"tokens\":\"required\",\"hop_limit\":2}}",
		 UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_true(res.created);
	assert_int_equal(res.id, mdr_instance_id_probe(UUID_A, 0));
	assert_int_equal(mdr_store_lookup(&M, UUID_A, &id), 0);
	assert_int_equal(id, res.id);
	assert_int_equal(mdr_store_record(&M, id, &rec), 0);
	assert_string_equal(rec.uuid, UUID_A);
	assert_int_equal(rec.gen, res.gen);
	assert_int_equal(rec.doc_len, d->doc_len);
	assert_int_equal(rec.tokens, MDR_TOKENS_REQUIRED);
	assert_int_equal(rec.hop_limit, 2);
	assert_int_equal(bpf_map_lookup_elem(M.limits, &id, &lim), 0);
	assert_int_equal(lim.rate_pps, 50);
	assert_int_equal(lim.burst, 7);
	assert_int_equal(count_chunks(), mdr_chunk_count((uint32_t)d->doc_len) + 1);
	assert_int_equal(mdr_store_get(&M, UUID_A, 0, MDR_STORE_GET_CONTENTS, NULL, NULL, &got,
				       err, sizeof(err)),
			 0);
	assert_string_equal(got->doc_text, d->doc_text);
	assert_int_equal(got->user_data_len, 5);
	assert_memory_equal(got->user_data, "hello", 5);
	mdr_defn_free(got);
	mdr_defn_free(d);
	clear_all();
}

static void test_replace_bumps_generation_and_frees_old_chunks(void **state)
{
	struct mdr_store_result r1, r2;
	struct mdr_defn *d1, *d2, *got;
	char err[256], *big = b64_x(60000);
	uint8_t probe[16];
	(void)state;
	SKIP_WITHOUT_BPF();
	d1 = defn("{\"uuid\":\"%s\",\"name\":\"one\",\"user_data\":\"%s\"}", UUID_A, big);
	d2 = defn("{\"uuid\":\"%s\",\"name\":\"two\",\"user_data\":\"aGk=\"}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d1, 0, &r1, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_put(&M, d2, 0, &r2, err, sizeof(err)), 0);
	assert_false(r2.created);
	assert_int_equal(r2.id, r1.id);
	assert_int_equal(r2.gen, r1.gen + 1);
	/* only the new generation's chunks remain */
	assert_int_equal(count_chunks(), mdr_chunk_count((uint32_t)d2->doc_len) + 1);
	/* a reader still holding the old generation learns it vanished */
	assert_int_equal(mdr_store_read_blob(&M, r1.id, r1.gen, MDR_BLOB_USER_DATA, probe, 16),
			 -ENOENT);
	assert_int_equal(mdr_store_get(&M, UUID_A, 0, MDR_STORE_GET_CONTENTS, NULL, NULL, &got,
				       err, sizeof(err)),
			 0);
	assert_string_equal(got->doc_text, d2->doc_text);
	assert_memory_equal(got->user_data, "hi", 2);
	mdr_defn_free(got);
	mdr_defn_free(d1);
	mdr_defn_free(d2);
	free(big);
	clear_all();
}

static void test_largest_user_data_round_trips(void **state)
{
	struct mdr_defn *d, *got;
	char err[256], *big = b64_x(MDR_USER_DATA_MAX); /* 65535 = 3 * 21845 */
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"user_data\":\"%s\"}", UUID_A, big);
	assert_int_equal(mdr_store_put(&M, d, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_get(&M, UUID_A, 0, MDR_STORE_GET_CONTENTS, NULL, NULL, &got,
				       err, sizeof(err)),
			 0);
	assert_int_equal(got->user_data_len, MDR_USER_DATA_MAX);
	for (size_t i = 0; i < MDR_USER_DATA_MAX; i++)
		if (got->user_data[i] != 'x')
			fail_msg("byte %zu differs", i);
	mdr_defn_free(got);
	mdr_defn_free(d);
	free(big);
	clear_all();
}

static void test_unknown_port_changes_nothing(void **state)
{
	struct mdr_defn *d;
	struct census before;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"nosuchif9\"}}", UUID_A);
	before = take_census();
	assert_int_equal(mdr_store_put(&M, d, 0, NULL, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "nosuchif9"));
	assert_census(take_census(), before);
	mdr_defn_free(d);
}

static void test_deferred_port_stores_without_binding(void **state)
{
	struct mdr_store_result res;
	struct mdr_defn *d;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"nosuchif9\"}}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_true(res.port_pending);
	assert_int_equal(count(M.inst), 1);
	assert_int_equal(count(M.ports), 0);
	mdr_defn_free(d);
	clear_all();
}

static void test_port_and_mac_binding_written(void **state)
{
	struct mdr_store_result res;
	struct mdr_port_binding pb;
	struct mdr_mac_key mk = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, .vlan = 7 };
	struct mdr_mac_binding mb;
	struct mdr_defn *d;
	uint32_t lo = 1;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\",\"mac\":\"52:54:00:12:34:56\","
		 "\"vlan\":7}}",
		 UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(res.ifindex, lo);
	assert_int_equal(bpf_map_lookup_elem(M.ports, &lo, &pb), 0);
	assert_int_equal(pb.instance_id, res.id);
	assert_int_equal(pb.flags, MDR_PORT_F_CHECK_MAC);
	assert_memory_equal(pb.mac, mk.mac, 6);
	assert_int_equal(pb.vlan, 7);
	assert_int_equal(bpf_map_lookup_elem(M.macs, &mk, &mb), 0);
	assert_int_equal(mb.instance_id, res.id);
	assert_int_equal(mb.ifindex, lo);
	mdr_defn_free(d);
	clear_all();
}

static void test_port_taken_by_other_instance_changes_nothing(void **state)
{
	struct mdr_defn *a, *b;
	struct census before;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	a = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\"}}", UUID_A);
	b = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\"}}", UUID_B);
	assert_int_equal(mdr_store_put(&M, a, 0, NULL, err, sizeof(err)), 0);
	before = take_census();
	assert_int_equal(mdr_store_put(&M, b, 0, NULL, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, UUID_A));
	assert_census(take_census(), before);
	mdr_defn_free(a);
	mdr_defn_free(b);
	clear_all();
}

static void test_replace_drops_bindings_the_new_version_lacks(void **state)
{
	struct mdr_defn *a1, *a2;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	a1 = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\"}}", UUID_A);
	a2 = defn("{\"uuid\":\"%s\",\"binding\":{\"mac\":\"52:54:00:12:34:56\"}}", UUID_A);
	assert_int_equal(mdr_store_put(&M, a1, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(count(M.ports), 1);
	assert_int_equal(mdr_store_put(&M, a2, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(count(M.ports), 0);
	assert_int_equal(count(M.macs), 1);
	mdr_defn_free(a1);
	mdr_defn_free(a2);
	clear_all();
}

static void test_delete_removes_everything(void **state)
{
	struct mdr_password pw = { .len = 3, .data = "pwd" };
	struct mdr_store_result res;
	struct mdr_defn *d;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"user_data\":\"aGVsbG8=\",\"binding\":{\"port\":\"lo\","
		 "\"mac\":\"52:54:00:12:34:56\"}}",
		 UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(bpf_map_update_elem(M.passwords, &res.id, &pw, BPF_ANY), 0);
	/* a binding made by hand goes too */
	assert_int_equal(mdr_store_bind_mac(&M, res.id, (const uint8_t *)"\x02\0\0\0\0\x09", 0, 0,
					    0, err, sizeof(err)),
			 0);
	assert_int_equal(mdr_store_delete(&M, UUID_A, err, sizeof(err)), 0);
	assert_int_equal(count(M.inst) + count(M.uuids) + count(M.limits) + count(M.ports) +
				 count(M.macs) + count(M.passwords) + count_chunks(),
			 0);
	mdr_defn_free(d);
}

static void test_delete_unknown_uuid_is_enoent(void **state)
{
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	assert_int_equal(mdr_store_delete(&M, UUID_B, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, UUID_B));
	assert_int_equal(mdr_store_delete(&M, "not-a-uuid", err, sizeof(err)), -EINVAL);
}

static void test_get_by_id_and_unknown(void **state)
{
	struct mdr_store_result res;
	struct mdr_instance rec;
	struct mdr_defn *d, *got;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\"}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_get(&M, NULL, res.id, 0, NULL, &rec, &got, err, sizeof(err)), 0);
	assert_string_equal(got->uuid, UUID_A);
	mdr_defn_free(got);
	assert_int_equal(mdr_store_get(&M, UUID_B, 0, 0, NULL, NULL, &got, err, sizeof(err)),
			 -ENOENT);
	assert_null(got);
	mdr_defn_free(d);
	clear_all();
}

/* An id taken by another uuid (hash collision) makes the next probe win. */
static void test_id_collision_probes_next(void **state)
{
	struct mdr_instance squat = { .uuid = "squatter", .gen = 1 };
	struct mdr_store_result res;
	struct mdr_defn *d;
	uint32_t id0 = mdr_instance_id_probe(UUID_A, 0);
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	assert_int_equal(bpf_map_update_elem(M.inst, &id0, &squat, BPF_ANY), 0);
	d = defn("{\"uuid\":\"%s\"}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(res.id, mdr_instance_id_probe(UUID_A, 1));
	bpf_map_delete_elem(M.inst, &id0);
	mdr_defn_free(d);
	clear_all();
}

static void test_forget_ifindex_drops_port_and_pinned_macs(void **state)
{
	struct mdr_defn *d;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\",\"mac\":\"52:54:00:12:34:56\"}}",
		 UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_forget_ifindex(&M, 1), 2);
	assert_int_equal(count(M.ports) + count(M.macs), 0);
	assert_int_equal(count(M.inst), 1);
	mdr_defn_free(d);
	clear_all();
}

/* Hole 2 (issue 12): a MAC pinned to a port that is absent is never written
 * as "any port" (ifindex 0): it stays pending, and a binding of that MAC
 * left from before goes. */
static void test_deferred_port_with_mac_writes_no_mac_binding(void **state)
{
	struct mdr_mac_key mk = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	struct mdr_store_result res;
	struct mdr_mac_binding mb;
	struct mdr_defn *d;
	int pending = 0;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"nosuchif9\","
		 "\"mac\":\"52:54:00:12:34:56\"}}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_true(res.port_pending);
	if (bpf_map_lookup_elem(M.macs, &mk, &mb) == 0)
		fail_msg("MAC binding written with ifindex %u while its port is absent", mb.ifindex);
	assert_int_equal(count(M.ports) + count(M.macs), 0);
	/* an unpinned binding of that MAC (made before) goes on the next put */
	assert_int_equal(mdr_store_bind_mac(&M, res.id, mk.mac, 0, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_int_equal(count(M.macs), 0);
	/* and when mdrd re-applies the bindings while the port is still absent */
	assert_int_equal(mdr_store_bind_mac(&M, res.id, mk.mac, 0, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_apply_bindings(&M, res.id, d, &pending, err, sizeof(err)), 0);
	assert_true(pending);
	assert_int_equal(count(M.macs), 0);
	mdr_defn_free(d);
	clear_all();
}

/* Hole 8 (issue 12): a uuid claim whose put died (no record, or the record
 * of another uuid) names no instance. */
static void test_lookup_ignores_a_claim_without_its_record(void **state)
{
	struct mdr_instance other = { .uuid = UUID_B, .gen = 1 };
	struct mdr_uuid_key k = { .uuid = UUID_A };
	uint32_t id = 4242, got = 0;
	(void)state;
	SKIP_WITHOUT_BPF();
	assert_int_equal(bpf_map_update_elem(M.uuids, &k, &id, BPF_ANY), 0);
	assert_int_equal(mdr_store_lookup(&M, UUID_A, &got), -ENOENT);
	assert_int_equal(bpf_map_update_elem(M.inst, &id, &other, BPF_ANY), 0);
	assert_int_equal(mdr_store_lookup(&M, UUID_A, &got), -ENOENT);
	bpf_map_delete_elem(M.inst, &id);
	bpf_map_delete_elem(M.uuids, &k);
}

/* Hole 8 (issue 12): the port a MAC bound by hand is pinned to. */
static void test_mac_port_of_an_instance(void **state)
{
	struct mdr_store_result res;
	struct mdr_defn *d;
	uint32_t ifindex = 99;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"lo\"}}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_mac_port(&M, res.id, &ifindex, err, sizeof(err)), 0);
	assert_int_equal(ifindex, 1); /* lo */
	mdr_defn_free(d);
	d = defn("{\"uuid\":\"%s\",\"binding\":{\"port\":\"nosuchif9\"}}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_mac_port(&M, res.id, &ifindex, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "nosuchif9"));
	mdr_defn_free(d);
	d = defn("{\"uuid\":\"%s\"}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_mac_port(&M, res.id, &ifindex, err, sizeof(err)), 0);
	assert_int_equal(ifindex, 0); /* no port: bridge-device mode */
	assert_int_equal(mdr_store_bind_port(&M, res.id, 1, NULL, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_mac_port(&M, res.id, &ifindex, err, sizeof(err)), 0);
	assert_int_equal(ifindex, 1); /* the port bound by hand */
	mdr_defn_free(d);
	clear_all();
}

/* Hole 6 (issue 12): buckets of instances without limits are swept. */
static void test_sweep_removes_buckets_without_limits(void **state)
{
	struct mdr_store_result res;
	uint64_t bucket = 7;
	uint32_t stale = 4243;
	struct mdr_defn *d;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\"}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(bpf_map_update_elem(M.rl, &res.id, &bucket, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(M.rl, &stale, &bucket, BPF_ANY), 0);
	assert_int_equal(mdr_store_sweep_buckets(&M), 1);
	assert_int_equal(count(M.rl), 1);
	assert_int_equal(bpf_map_lookup_elem(M.rl, &res.id, &bucket), 0);
	assert_int_equal(mdr_store_delete(&M, UUID_A, err, sizeof(err)), 0);
	assert_int_equal(count(M.rl), 0);
	mdr_defn_free(d);
}

/* ---- fault injection into mdr_store_put, step by step ---------------- */

/* The exact content of one map, entries (key || value) sorted. */
struct snap_map {
	size_t n, esz;
	uint8_t *e;
};

/* Every map a put writes: "nothing changed" compares these byte for byte. */
#define SNAP_MAPS (5 + MDR_CHUNK_CLASSES)
struct snap {
	struct snap_map map[SNAP_MAPS];
};

static size_t sort_esz;

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, sort_esz);
}

static struct snap_map snap_map(int fd, size_t ksz, size_t vsz)
{
	struct snap_map s = { 0, ksz + vsz, NULL };
	uint8_t k[64], nk[64];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, nk) == 0) {
		uint8_t *e;

		s.e = realloc(s.e, (s.n + 1) * s.esz);
		e = s.e + s.n++ * s.esz;
		memcpy(e, nk, ksz);
		assert_int_equal(bpf_map_lookup_elem(fd, nk, e + ksz), 0);
		memcpy(k, nk, ksz);
		prev = k;
	}
	sort_esz = s.esz;
	if (s.n)
		qsort(s.e, s.n, s.esz, cmp_entry);
	return s;
}

static const char *const snap_name[SNAP_MAPS] = {
	"mdr_inst", "mdr_uuids", "mdr_limits", "mdr_ports", "mdr_macs", "mdr_chunk0",
	"mdr_chunk1", "mdr_chunk2", "mdr_chunk3", "mdr_chunk4", "mdr_chunk5",
};

static struct snap take_snap(void)
{
	struct snap s;

	s.map[0] = snap_map(M.inst, 4, sizeof(struct mdr_instance));
	s.map[1] = snap_map(M.uuids, MDR_UUID_SIZE, 4);
	s.map[2] = snap_map(M.limits, 4, sizeof(struct mdr_limits));
	s.map[3] = snap_map(M.ports, 4, sizeof(struct mdr_port_binding));
	s.map[4] = snap_map(M.macs, sizeof(struct mdr_mac_key), sizeof(struct mdr_mac_binding));
	for (int c = 0; c < MDR_CHUNK_CLASSES; c++)
		s.map[5 + c] = snap_map(M.chunk[c], sizeof(struct mdr_chunk_key), mdr_chunk_size[c]);
	return s;
}

/* Frees both. */
static void assert_snap_equal(const char *what, struct snap *now, struct snap *before)
{
	for (int i = 0; i < SNAP_MAPS; i++) {
		struct snap_map *a = &now->map[i], *b = &before->map[i];

		if (a->n != b->n || (a->n && memcmp(a->e, b->e, a->n * a->esz)))
			fail_msg("%s: %s changed (%zu entries, were %zu)", what, snap_name[i], a->n,
				 b->n);
		free(a->e);
		free(b->e);
	}
}

/* Every chunk belongs to the current generation of a live record. */
static void assert_no_orphan_chunks(void)
{
	for (int c = 0; c < MDR_CHUNK_CLASSES; c++) {
		struct mdr_chunk_key k, nk;
		void *prev = NULL;

		while (bpf_map_get_next_key(M.chunk[c], prev, &nk) == 0) {
			struct mdr_instance rec;

			if (mdr_store_record(&M, nk.instance_id, &rec) || rec.gen != nk.gen)
				fail_msg("orphaned chunk in mdr_chunk%d: id %u gen %u blob %u chunk %u",
					 c, nk.instance_id, nk.gen, nk.blob, nk.chunk);
			k = nk;
			prev = &k;
		}
	}
}

/* The access to fail: map (CHUNK: any chunk map), op, after skip
 * matching accesses, times accesses (EVERY: all), with err. */
#define CHUNK (-2)
#define EVERY (-1)
static struct fault {
	int fd;
	enum mdr_store_seam_op op;
	int skip, times, err;
	int hits; /* accesses failed */
} F;

static int fault_hook(int fd, enum mdr_store_seam_op op, void *ctx)
{
	int match = fd == F.fd;

	(void)ctx;
	for (int c = 0; c < MDR_CHUNK_CLASSES && F.fd == CHUNK; c++)
		match |= fd == M.chunk[c];
	if (!match || op != F.op)
		return 0;
	if (F.skip > 0) {
		F.skip--;
		return 0;
	}
	if (F.times != EVERY && F.hits >= F.times)
		return 0;
	F.hits++;
	return F.err;
}

static void inject(struct fault f)
{
	F = f;
	F.hits = 0;
	mdr_store_test_seam.fail = fault_hook;
}

static int uninject(void)
{
	mdr_store_test_seam.fail = NULL;
	return F.hits;
}

/* Names a map of M before the maps exist (the cases are static). */
enum fmap { F_UUIDS, F_INST, F_LIMITS, F_PORTS, F_MACS, F_CHUNK };

static int fmap_fd(enum fmap f)
{
	switch (f) {
	case F_UUIDS: return M.uuids;
	case F_INST: return M.inst;
	case F_LIMITS: return M.limits;
	case F_PORTS: return M.ports;
	case F_MACS: return M.macs;
	default: return CHUNK;
	}
}

struct fault_case {
	const char *what;
	enum fmap map;
	enum mdr_store_seam_op op;
	int skip;
	int err;
};

/* The old version: user data over several chunks, port lo pinned to a MAC,
 * limits. The new one changes all three. */
#define MAC_OLD "52:54:00:12:34:56"
#define MAC_NEW "52:54:00:ab:cd:ef"

static struct mdr_defn *defn_old(void)
{
	char *big = b64_x(9000);
	struct mdr_defn *d = defn("{\"uuid\":\"%s\",\"name\":\"old\",\"user_data\":\"%s\","
				  "\"binding\":{\"port\":\"lo\",\"mac\":\"" MAC_OLD "\"},"
				  "\"imds\":{\"rate_pps\":50,\"burst\":7}}", UUID_A, big);

	free(big);
	return d;
}

static struct mdr_defn *defn_new(const char *uuid, const char *name)
{
	return defn("{\"uuid\":\"%s\",\"name\":\"%s\",\"user_data\":\"aGk=\","
		    "\"binding\":{\"port\":\"lo\",\"mac\":\"" MAC_NEW "\",\"vlan\":3},"
		    "\"imds\":{\"rate_pps\":60,\"burst\":9}}", uuid, name);
}

/* Chunks of the instance put as d (its doc and user data). */
static size_t chunks_of(const struct mdr_defn *d)
{
	return mdr_chunk_count((uint32_t)d->doc_len) + mdr_chunk_count((uint32_t)d->user_data_len);
}

/* Store the old version, fail one access of a put of nd, and check: the
 * put fails with that error, the maps hold exactly the old version, and
 * the same put then succeeds and leaves no orphaned chunk. */
static void check_put_fault(const struct fault_case *c, struct mdr_defn *nd)
{
	struct mdr_defn *od = defn_old();
	struct mdr_store_result r1, r2;
	struct snap before, after;
	char err[256] = "", what[128];
	int r;

	snprintf(what, sizeof(what), "%s (%s)", c->what, nd->uuid);
	assert_int_equal(mdr_store_put(&M, od, 0, &r1, err, sizeof(err)), 0);
	before = take_snap();
	inject((struct fault){ .fd = fmap_fd(c->map), .op = c->op, .skip = c->skip,
			       .times = 1, .err = c->err });
	r = mdr_store_put(&M, nd, 0, &r2, err, sizeof(err));
	if (!uninject())
		fail_msg("%s: the fault was never hit", what);
	if (r != c->err)
		fail_msg("%s: put returned %d (%s), want %d", what, r, err, c->err);
	if (!err[0])
		fail_msg("%s: no message", what);
	after = take_snap();
	assert_snap_equal(what, &after, &before);
	/* the following put succeeds */
	if ((r = mdr_store_put(&M, nd, 0, &r2, err, sizeof(err))))
		fail_msg("%s: put after the fault: %d %s", what, r, err);
	if (!strcmp(nd->uuid, UUID_A))
		assert_int_equal(r2.gen, r1.gen + 1);
	assert_no_orphan_chunks();
	assert_int_equal(count_chunks(), chunks_of(nd) + (strcmp(nd->uuid, UUID_A) ? chunks_of(od) : 0));
	mdr_defn_free(od);
	clear_all();
}

/* A new instance next to the old one: its own MAC, no port (lo is taken). */
static struct mdr_defn *defn_other(void)
{
	return defn("{\"uuid\":\"%s\",\"user_data\":\"aGk=\","
		    "\"binding\":{\"mac\":\"" MAC_NEW "\"}}", UUID_B);
}

/* Each case on a replace of the old version (new) or a create (other). */
static void run_fault_cases(const struct fault_case *cases, size_t n, int create)
{
	struct mdr_defn *nd = create ? defn_other() : defn_new(UUID_A, "new");

	for (size_t i = 0; i < n; i++)
		check_put_fault(&cases[i], nd);
	mdr_defn_free(nd);
}

#define RUN_CASES(cases, create) \
	run_fault_cases(cases, sizeof(cases) / sizeof(cases[0]), create)

static void test_put_fault_resolve_id(void **state)
{
	static const struct fault_case cases[] = {
		{ "reading the uuid's id", F_UUIDS, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
		{ "reading the old record", F_INST, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
	};
	static const struct fault_case create[] = {
		{ "probing for a free id", F_INST, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
	};
	(void)state;
	SKIP_WITHOUT_BPF();
	RUN_CASES(cases, 0);
	RUN_CASES(create, 1);
}

/* No free id: every probe is taken by another uuid's record. */
static void test_put_no_free_id_changes_nothing(void **state)
{
	struct mdr_instance squat = { .uuid = "squatter", .gen = 1 };
	struct mdr_defn *od, *nd;
	struct snap before, after;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	od = defn_old();
	nd = defn("{\"uuid\":\"%s\"}", UUID_B);
	assert_int_equal(mdr_store_put(&M, od, 0, NULL, err, sizeof(err)), 0);
	for (unsigned a = 0; a < MDR_ID_PROBES; a++) {
		uint32_t id = mdr_instance_id_probe(UUID_B, a);

		assert_int_equal(bpf_map_update_elem(M.inst, &id, &squat, BPF_NOEXIST), 0);
	}
	before = take_snap();
	assert_int_equal(mdr_store_put(&M, nd, 0, NULL, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "no free instance id"));
	after = take_snap();
	assert_snap_equal("no free id", &after, &before);
	for (unsigned a = 0; a < MDR_ID_PROBES; a++) {
		uint32_t id = mdr_instance_id_probe(UUID_B, a);

		bpf_map_delete_elem(M.inst, &id);
	}
	assert_int_equal(mdr_store_put(&M, nd, 0, NULL, err, sizeof(err)), 0);
	mdr_defn_free(od);
	mdr_defn_free(nd);
	clear_all();
}

static void test_put_fault_check_conflicts(void **state)
{
	static const struct fault_case cases[] = {
		{ "reading the port binding", F_PORTS, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
		{ "reading the MAC binding", F_MACS, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
	};
	(void)state;
	SKIP_WITHOUT_BPF();
	RUN_CASES(cases, 0);
}

static void test_put_fault_write_generation(void **state)
{
	static const struct fault_case cases[] = {
		{ "writing the first chunk", F_CHUNK, MDR_STORE_SEAM_UPDATE, 0, -ENOMEM },
		{ "writing the last chunk", F_CHUNK, MDR_STORE_SEAM_UPDATE, 1, -E2BIG },
	};
	static const struct fault_case create[] = {
		{ "claiming the id", F_UUIDS, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
		{ "writing a chunk", F_CHUNK, MDR_STORE_SEAM_UPDATE, 1, -E2BIG },
	};
	(void)state;
	SKIP_WITHOUT_BPF();
	RUN_CASES(cases, 0);
	RUN_CASES(create, 1);
}

/* The new bindings and limits are written before the record flips; a
 * failure puts back what they replaced (the old version stays bound). */
static void test_put_fault_publish(void **state)
{
	static const struct fault_case cases[] = {
		{ "reading the old limits", F_LIMITS, MDR_STORE_SEAM_LOOKUP, 0, -EIO },
		{ "writing the limits", F_LIMITS, MDR_STORE_SEAM_UPDATE, 0, -ENOMEM },
		{ "writing the port binding", F_PORTS, MDR_STORE_SEAM_UPDATE, 0, -ENOMEM },
		{ "writing the MAC binding", F_MACS, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
		{ "flipping the record", F_INST, MDR_STORE_SEAM_UPDATE, 0, -ENOMEM },
	};
	static const struct fault_case create[] = {
		{ "writing the limits", F_LIMITS, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
		{ "writing the MAC binding", F_MACS, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
		{ "writing the record", F_INST, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
	};
	(void)state;
	SKIP_WITHOUT_BPF();
	RUN_CASES(cases, 0);
	RUN_CASES(create, 1);
}

/* Published, the put succeeds even when no old chunk can be deleted; the
 * chunks left are swept by the next put (or delete) of the instance. */
static void test_put_fault_retire_old(void **state)
{
	struct mdr_defn *od, *nd, *nd2;
	struct mdr_store_result r1, r2;
	struct mdr_mac_key mk_new = { .mac = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef }, .vlan = 3 };
	struct mdr_mac_binding mb;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	od = defn_old();
	nd = defn_new(UUID_A, "new");
	nd2 = defn_new(UUID_A, "newer");
	for (int then_delete = 0; then_delete < 2; then_delete++) {
		assert_int_equal(mdr_store_put(&M, od, 0, &r1, err, sizeof(err)), 0);
		inject((struct fault){ .fd = CHUNK, .op = MDR_STORE_SEAM_DELETE, .times = EVERY,
				       .err = -EIO });
		assert_int_equal(mdr_store_put(&M, nd, 0, &r2, err, sizeof(err)), 0);
		assert_true(uninject() > 0);
		/* the new version is live and bound */
		assert_int_equal(r2.gen, r1.gen + 1);
		assert_int_equal(bpf_map_lookup_elem(M.macs, &mk_new, &mb), 0);
		assert_int_equal(mb.instance_id, r2.id);
		assert_int_equal(count(M.macs), 1); /* the old MAC binding went */
		assert_int_equal(count_chunks(), chunks_of(od) + chunks_of(nd));
		if (then_delete) {
			assert_int_equal(mdr_store_delete(&M, UUID_A, err, sizeof(err)), 0);
			assert_int_equal(count_chunks(), 0);
			continue;
		}
		assert_int_equal(mdr_store_put(&M, nd2, 0, &r2, err, sizeof(err)), 0);
		assert_no_orphan_chunks();
		assert_int_equal(count_chunks(), chunks_of(nd2));
		clear_all();
	}
	mdr_defn_free(od);
	mdr_defn_free(nd);
	mdr_defn_free(nd2);
}

/* ---- SIGKILL at each step of a put ----------------------------------
 * A writer (mdrctl, mdrd) killed half-way runs no cleanup at all. A forked
 * child runs the put and kills itself (SIGKILL) just before its k-th map
 * write or delete, for every k of the put: the maps keep what the first
 * k - 1 writes did, as after a kill at any moment (each write is one
 * atomic bpf() call). Then a reader must see either the whole old version
 * or the whole new one (record, document, user data and limits of the
 * same version, the record's generation complete), and the next put of
 * the new version succeeds and leaves no orphaned chunk.
 * Known window (docs/robustness.md): the limits and new bindings are
 * written just before the record flips, so a kill between them leaves the
 * old content with the new limits until the next put of the instance. The
 * test bounds it: those kill points are consecutive, at most the three
 * publish writes (limits, port, MAC) before the flip. */

static int kill_at;    /* kill before this write (1-based); 0 = only count */
static int limits_mixed; /* version_held: the limits are the other version's */
static int writes_seen;

static int kill_hook(int fd, enum mdr_store_seam_op op, void *ctx)
{
	(void)fd;
	(void)ctx;
	if (op == MDR_STORE_SEAM_LOOKUP)
		return 0;
	if (++writes_seen == kill_at)
		raise(SIGKILL);
	return 0;
}

/* Map writes and deletes of one put of nd over the maps as they are (run
 * in a child, so nothing changes here). */
static int count_put_writes(const struct mdr_defn *nd)
{
	int pfd[2], n = -1;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		kill_at = 0;
		writes_seen = 0;
		mdr_store_test_seam.fail = kill_hook;
		if (mdr_store_put(&M, nd, 0, NULL, err, sizeof(err)))
			writes_seen = -1;
		if (write(pfd[1], &writes_seen, sizeof(writes_seen)) != sizeof(writes_seen))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &n, sizeof(n)), sizeof(n));
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return n;
}

/* The version the maps hold for uuid: 0 none, 1 = a, 2 = b; fails on a
 * mix (a record of one version with content or limits of the other, or
 * a generation with a chunk missing). */
static int version_held(const char *what, const char *uuid, const struct mdr_defn *a,
			const struct mdr_defn *b)
{
	struct mdr_defn *got = NULL;
	struct mdr_instance rec;
	struct mdr_limits lim;
	char err[256];
	uint32_t id;
	int r, v = 0;

	r = mdr_store_get(&M, uuid, 0, MDR_STORE_GET_CONTENTS, &id, &rec, &got, err, sizeof(err));
	if (r == -ENOENT) {
		if (a || mdr_store_lookup(&M, uuid, &id) != -ENOENT)
			fail_msg("%s: instance %s unreadable: %s", what, uuid, err);
		return 0;
	}
	if (r)
		fail_msg("%s: reading the instance: %d %s (a generation with a chunk missing?)", what,
			 r, err);
	if (a && got->doc_len == a->doc_len && !memcmp(got->doc_text, a->doc_text, a->doc_len))
		v = 1;
	else if (got->doc_len == b->doc_len && !memcmp(got->doc_text, b->doc_text, b->doc_len))
		v = 2;
	else
		fail_msg("%s: the stored document is neither version", what);
	{
		const struct mdr_defn *want = v == 1 ? a : b;

		if (got->user_data_len != want->user_data_len ||
		    memcmp(got->user_data, want->user_data, want->user_data_len))
			fail_msg("%s: document of version %d with other user data (%zu bytes)", what,
				 v, got->user_data_len);
		if (bpf_map_lookup_elem(M.limits, &id, &lim))
			fail_msg("%s: version %d live without limits", what, v);
		if (lim.rate_pps != want->imds.rate_pps || lim.burst != want->imds.burst)
			limits_mixed = 1;
	}
	mdr_defn_free(got);
	return v;
}

/* od (may be NULL: a create) stored, nd put by a child killed at each of
 * its writes in turn. Returns how many kills left the new version. */
static int kill_each_step(const char *label, struct mdr_defn *od, struct mdr_defn *nd)
{
	int n, n_new = 0, n_mixed = 0, last_mixed = 0;
	char err[256], what[160];

	if (od)
		assert_int_equal(mdr_store_put(&M, od, 0, NULL, err, sizeof(err)), 0);
	n = count_put_writes(nd);
	assert_true(n > 3);
	for (int k = 1; k <= n; k++) {
		int status, v;
		pid_t pid;

		if (od)
			assert_int_equal(mdr_store_put(&M, od, 0, NULL, err, sizeof(err)), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			kill_at = k;
			writes_seen = 0;
			mdr_store_test_seam.fail = kill_hook;
			mdr_store_put(&M, nd, 0, NULL, err, sizeof(err));
			_exit(0); /* not reached for k <= n */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		snprintf(what, sizeof(what), "%s, killed before write %d of %d", label, k, n);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("%s: the child was not killed (status %#x)", what, status);
		limits_mixed = 0;
		v = version_held(what, nd->uuid, od, nd);
		if (v == 2)
			n_new++;
		if (limits_mixed) {
			if (n_mixed && last_mixed != k - 1)
				fail_msg("%s: limits of the other version at kill points %d and %d", what,
					 last_mixed, k);
			n_mixed++;
			last_mixed = k;
		}
		/* the next put of the new version works and leaves nothing behind */
		if (mdr_store_put(&M, nd, 0, NULL, err, sizeof(err)))
			fail_msg("%s: the next put fails: %s", what, err);
		limits_mixed = 0;
		if (version_held(what, nd->uuid, od, nd) != 2 || limits_mixed)
			fail_msg("%s: the next put did not make the new version live", what);
		if (count_chunks() != chunks_of(nd))
			print_message("# %s: %zu chunks after the next put\n", what, count_chunks());
		assert_no_orphan_chunks();
		assert_int_equal(count_chunks(), chunks_of(nd));
		clear_all();
	}
	print_message("# %s: %d kill points, %d left the old version, %d the new one; "
		      "%d the old content with the new limits (kill points %d..%d)\n", label, n,
		      n - n_new, n_new, n_mixed, last_mixed - n_mixed + 1, last_mixed);
	if (n_mixed > 3)
		fail_msg("%s: %d kill points leave limits of the other version (at most the 3 "
			 "publish writes before the flip)", label, n_mixed);
	return n_new;
}

static void test_put_sigkill_at_each_step_old_or_new(void **state)
{
	struct mdr_defn *od, *nd, *cd;
	char *big = b64_x(30000);
	(void)state;
	SKIP_WITHOUT_BPF();
	od = defn_old();
	/* the new version: other user data over several chunks, other limits */
	nd = defn("{\"uuid\":\"%s\",\"name\":\"new\",\"user_data\":\"%s\","
		  "\"binding\":{\"port\":\"lo\",\"mac\":\"" MAC_NEW "\",\"vlan\":3},"
		  "\"imds\":{\"rate_pps\":60,\"burst\":9}}", UUID_A, big);
	cd = defn_other();
	/* a replace: at least the last kill points (after the flip) leave it new */
	assert_true(kill_each_step("replace", od, nd) > 0);
	/* a create: absent or whole */
	kill_each_step("create", NULL, cd);
	mdr_defn_free(od);
	mdr_defn_free(nd);
	mdr_defn_free(cd);
	free(big);
}

/* mdrd's start-up sweep: chunks of no record, or of another generation
 * than the record's, go; the live instance's stay. */
static void test_sweep_chunks_removes_only_stale_generations(void **state)
{
	struct mdr_store_result res;
	struct mdr_defn *d = defn_old();
	struct snap before, after;
	uint8_t val[MDR_CHUNK5_SIZE] = "stale";
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), 0);
	before = take_snap();
	{
		/* a put that died before its flip; a retire that never ran
		 * (blob 1 only: no marker); an instance whose record is gone */
		struct mdr_chunk_key k[] = {
			{ .instance_id = res.id, .gen = res.gen + 1 },
			{ .instance_id = res.id, .gen = res.gen - 7, .blob = 1, .chunk = 3 },
			{ .instance_id = 4244, .gen = 1 },
		};

		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
			assert_int_equal(bpf_map_update_elem(M.chunk[MDR_CHUNK_CLASSES - 1], &k[i],
							     val, BPF_NOEXIST),
					 0);
	}
	assert_int_equal(mdr_store_sweep_chunks(&M), 3);
	after = take_snap();
	assert_snap_equal("sweep", &after, &before);
	assert_int_equal(mdr_store_sweep_chunks(&M), 0);
	mdr_defn_free(d);
	clear_all();
}

/* ---- several bindings (NICs) per instance ------------------------------- */

#define MAC_C "52:54:00:00:0c:0c"

/* Every binding is written with the record, a pending one (absent port)
 * writes neither its port nor its pinned MAC, a replace drops exactly the
 * bindings the new list lacks, a delete leaves none. */
static void test_several_bindings_put_replace_delete(void **state)
{
	struct mdr_mac_key ka = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	struct mdr_mac_key kb = { .mac = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef }, .vlan = 5 };
	struct mdr_mac_key kc = { .mac = { 0x52, 0x54, 0, 0, 0x0c, 0x0c } };
	struct mdr_store_result res;
	struct mdr_port_binding pb;
	struct mdr_mac_binding mb;
	struct mdr_defn *d, *d2;
	uint32_t lo = 1;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"bindings\":[{\"port\":\"lo\",\"mac\":\"" MAC_OLD "\"},"
		 "{\"mac\":\"" MAC_NEW "\",\"vlan\":5},{\"port\":\"nosuchif9\",\"mac\":\"" MAC_C
		 "\"}]}", UUID_A);
	/* without DEFER_PORT an absent port is an error naming the binding */
	assert_int_equal(mdr_store_put(&M, d, 0, &res, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "bindings[2].port: no interface named \"nosuchif9\""));
	assert_int_equal(count(M.inst) + count(M.ports) + count(M.macs), 0);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_int_equal(res.port_pending, 1);
	assert_int_equal(res.ifindex, lo);
	assert_int_equal(count(M.ports), 1);
	assert_int_equal(bpf_map_lookup_elem(M.ports, &lo, &pb), 0);
	assert_int_equal(pb.instance_id, res.id);
	assert_memory_equal(pb.mac, ka.mac, 6);
	assert_int_equal(count(M.macs), 2);
	assert_int_equal(bpf_map_lookup_elem(M.macs, &ka, &mb), 0);
	assert_int_equal(mb.ifindex, lo);
	assert_int_equal(bpf_map_lookup_elem(M.macs, &kb, &mb), 0);
	assert_int_equal(mb.instance_id, res.id);
	assert_int_equal(mb.ifindex, 0);
	/* pending and pinned: never written as "any port" */
	assert_int_not_equal(bpf_map_lookup_elem(M.macs, &kc, &mb), 0);
	/* applying again (mdrd on a port event) keeps it pending */
	assert_int_equal(mdr_store_apply_bindings(&M, res.id, d, &res.port_pending, err,
						  sizeof(err)), 0);
	assert_int_equal(res.port_pending, 1);
	assert_int_not_equal(bpf_map_lookup_elem(M.macs, &kc, &mb), 0);
	/* replaced by a list without the first NIC */
	d2 = defn("{\"uuid\":\"%s\",\"bindings\":[{\"mac\":\"" MAC_NEW "\",\"vlan\":5}]}",
		  UUID_A);
	assert_int_equal(mdr_store_put(&M, d2, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(count(M.ports), 0);
	assert_int_equal(count(M.macs), 1);
	assert_int_equal(bpf_map_lookup_elem(M.macs, &kb, &mb), 0);
	assert_int_equal(mdr_store_delete(&M, UUID_A, err, sizeof(err)), 0);
	assert_int_equal(count(M.ports) + count(M.macs) + count(M.inst), 0);
	mdr_defn_free(d);
	mdr_defn_free(d2);
	clear_all();
}

/* A second NIC taken by another instance: the put changes nothing. */
static void test_several_bindings_conflict_changes_nothing(void **state)
{
	struct mdr_defn *a, *b;
	struct census before;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	a = defn("{\"uuid\":\"%s\",\"binding\":{\"mac\":\"" MAC_C "\"}}", UUID_A);
	b = defn("{\"uuid\":\"%s\",\"bindings\":[{\"port\":\"lo\",\"mac\":\"" MAC_NEW "\"},"
		 "{\"mac\":\"" MAC_C "\"}]}", UUID_B);
	assert_int_equal(mdr_store_put(&M, a, 0, NULL, err, sizeof(err)), 0);
	before = take_census();
	assert_int_equal(mdr_store_put(&M, b, 0, NULL, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, UUID_A));
	assert_census(take_census(), before);
	mdr_defn_free(a);
	mdr_defn_free(b);
	clear_all();
}

/* mdrctl bind --mac on an instance with several NICs: the NIC that names
 * the MAC gives the port; without one, several ports are ambiguous. */
static void test_mac_port_of_several_nics(void **state)
{
	static const uint8_t ma[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	static const uint8_t mb[6] = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef };
	static const uint8_t mc[6] = { 0x52, 0x54, 0, 0, 0x0c, 0x0c };
	struct mdr_store_result res;
	struct mdr_defn *d;
	uint32_t ifx = 99;
	char err[256];
	(void)state;
	SKIP_WITHOUT_BPF();
	d = defn("{\"uuid\":\"%s\",\"bindings\":[{\"port\":\"lo\",\"mac\":\"" MAC_OLD "\"},"
		 "{\"port\":\"nosuchif9\",\"mac\":\"" MAC_NEW "\"}]}", UUID_A);
	assert_int_equal(mdr_store_put(&M, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)), 0);
	assert_int_equal(mdr_store_mac_port_for(&M, res.id, ma, 0, &ifx, err, sizeof(err)), 0);
	assert_int_equal(ifx, 1);
	assert_int_equal(mdr_store_mac_port_for(&M, res.id, mb, 0, &ifx, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "nosuchif9"));
	assert_int_equal(mdr_store_mac_port_for(&M, res.id, mc, 0, &ifx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "binds several ports"));
	assert_int_equal(mdr_store_mac_port(&M, res.id, &ifx, err, sizeof(err)), -EINVAL);
	mdr_defn_free(d);
	clear_all();
}

/* A fault on any binding of a list puts every map back as it was. */
static void test_put_fault_several_bindings(void **state)
{
	static const struct fault_case cases[] = {
		{ "writing the second NIC's MAC", F_MACS, MDR_STORE_SEAM_UPDATE, 1, -E2BIG },
		{ "writing the second NIC's port", F_PORTS, MDR_STORE_SEAM_UPDATE, 0, -E2BIG },
		{ "flipping the record after both NICs", F_INST, MDR_STORE_SEAM_UPDATE, 0, -ENOMEM },
	};
	struct mdr_defn *nd;
	(void)state;
	SKIP_WITHOUT_BPF();
	/* the old version binds lo + MAC_OLD; the new one MAC_C on any port
	 * first, then lo + MAC_NEW */
	nd = defn("{\"uuid\":\"%s\",\"user_data\":\"aGk=\",\"bindings\":[{\"mac\":\"" MAC_C
		  "\"},{\"port\":\"lo\",\"mac\":\"" MAC_NEW "\",\"vlan\":3}]}", UUID_A);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_put_fault(&cases[i], nd);
	mdr_defn_free(nd);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_chunk_sizes_decrease),
		cmocka_unit_test(test_chunk_class_table),
		cmocka_unit_test(test_chunk_cut_empty_blob_has_no_chunk),
		cmocka_unit_test(test_chunk_cut_examples),
		cmocka_unit_test(test_chunk_cut_exhaustive_is_greedy_and_exact),
		cmocka_unit_test(test_chunk_cut_exhaustive_waste_below_smallest_class),
		cmocka_unit_test(test_chunk_count_matches_cut_and_fits_u16),
		cmocka_unit_test(test_chunk_cut_truncated_output_returns_full_count),
		cmocka_unit_test(test_id_probe_deterministic_and_never_zero),
		cmocka_unit_test(test_id_probe_attempts_are_distinct),
		cmocka_unit_test(test_id_probe_full_node_gets_distinct_ids),
	};
	const struct CMUnitTest io[] = {
		cmocka_unit_test(test_put_creates_record_limits_uuid_and_chunks),
		cmocka_unit_test(test_replace_bumps_generation_and_frees_old_chunks),
		cmocka_unit_test(test_largest_user_data_round_trips),
		cmocka_unit_test(test_unknown_port_changes_nothing),
		cmocka_unit_test(test_deferred_port_stores_without_binding),
		cmocka_unit_test(test_port_and_mac_binding_written),
		cmocka_unit_test(test_port_taken_by_other_instance_changes_nothing),
		cmocka_unit_test(test_replace_drops_bindings_the_new_version_lacks),
		cmocka_unit_test(test_delete_removes_everything),
		cmocka_unit_test(test_delete_unknown_uuid_is_enoent),
		cmocka_unit_test(test_get_by_id_and_unknown),
		cmocka_unit_test(test_id_collision_probes_next),
		cmocka_unit_test(test_forget_ifindex_drops_port_and_pinned_macs),
		cmocka_unit_test(test_deferred_port_with_mac_writes_no_mac_binding),
		cmocka_unit_test(test_lookup_ignores_a_claim_without_its_record),
		cmocka_unit_test(test_mac_port_of_an_instance),
		cmocka_unit_test(test_sweep_removes_buckets_without_limits),
		cmocka_unit_test(test_put_fault_resolve_id),
		cmocka_unit_test(test_put_no_free_id_changes_nothing),
		cmocka_unit_test(test_put_fault_check_conflicts),
		cmocka_unit_test(test_put_fault_write_generation),
		cmocka_unit_test(test_put_fault_publish),
		cmocka_unit_test(test_several_bindings_put_replace_delete),
		cmocka_unit_test(test_several_bindings_conflict_changes_nothing),
		cmocka_unit_test(test_mac_port_of_several_nics),
		cmocka_unit_test(test_put_fault_several_bindings),
		cmocka_unit_test(test_put_fault_retire_old),
		cmocka_unit_test(test_put_sigkill_at_each_step_old_or_new),
		cmocka_unit_test(test_sweep_chunks_removes_only_stale_generations),
	};
	int fails = cmocka_run_group_tests_name("store_pure", pure, NULL, NULL);

	return fails + cmocka_run_group_tests_name("store_maps", io, setup_maps, teardown_maps);
}
