/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP classifier through BPF_PROG_TEST_RUN.
 *
 * The program is loaded exactly as mdrd loads it (user/io/loader.c) into a
 * private bpffs, inside a private network namespace holding lo and three
 * veth ports, with a real AF_XDP socket in mdr_xsks so that redirects give
 * a true XDP_REDIRECT verdict. Each row of `cases` is one packet: a frame
 * spec, the port it arrives on, optional map changes, and the expected
 * verdict, output bytes (or metadata) and counters (global and, for the
 * instance the row names, per instance; every other instance must have none).
 *
 *   build/tests/bpf_xdp              run the suite (TAP with CMOCKA_MESSAGE_OUTPUT=TAP)
 *   build/tests/bpf_xdp --bench [N]  ns/packet table, not a test
 */
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "mdr_abi.h"
#include "loader.h"
#include "settings.h"
#include "pkt.h"
#include "pinned.h"
#include "kfeat.h"
#include "mdr_xdp.skel.h"
#include "empty.skel.h"
#include "frame.h"
#include "netns.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Frames in the test socket's UMEM: nothing is ever received, keep it tiny. */
#define XSK_FRAMES 64
/* Instance ids whose per-instance counters every case checks. */
#define MAX_TEST_INSTANCE 8
/* BPF_PROG_TEST_RUN repetitions per benchmark round, and rounds (min kept). */
#define BENCH_REPEAT 200000
#define BENCH_ROUNDS 15

/* ------------------------------------------------------------------ */
/* Environment: namespaces, bpffs, loader, ports, AF_XDP socket         */
/* ------------------------------------------------------------------ */

enum port { P_LO, P_A, P_B, P_D, P_COUNT };

static struct env {
	char dir[64];  /* mkdtemp'd mount point of our bpffs */
	char pin[128]; /* pin directory inside it */
	int mounted;
	struct mdr_xdp_bpf *skel;
	int prog;
	int config, ports, macs, limits, rl, xsks, slot, stats, istats;
	uint32_t ifindex[P_COUNT];
	int ncpus;
	void *umem_area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	int xsk_fd;
} E = {.xsk_fd = -1};

static int env_fail(const char *what, int err)
{
	fprintf(stderr, "# environment: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

static int xsk_open(void)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t size = (size_t)XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	E.umem_area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (E.umem_area == MAP_FAILED) {
		E.umem_area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&E.umem, E.umem_area, size, &E.fq, &E.cq, NULL);
	if (err)
		return err;
	err = xsk_socket__create(&E.xsk, "lo", 0, E.umem, &E.rx, &E.tx, &cfg);
	if (err)
		return err;
	E.xsk_fd = xsk_socket__fd(E.xsk);
	return 0;
}

static int env_setup(void **state)
{
	static const struct { const char *name, *peer; unsigned int rxq; } ports[] = {
		[P_A] = {"mdrA", "mdrA-g", 1}, [P_B] = {"mdrB", "mdrB-g", 2},
		[P_D] = {"mdrD", "mdrD-g", 1},
	};
	int err;

	(void)state;
	if (geteuid() != 0)
		return env_fail("must run as root (BPF, namespaces)", EPERM);
	err = netns_enter_private();
	if (err)
		return env_fail("unshare(net, mount)", err);
	snprintf(E.dir, sizeof(E.dir), "/tmp/mdr-bpf-XXXXXX");
	if (!mkdtemp(E.dir))
		return env_fail("mkdtemp", errno);
	if (mount("bpf", E.dir, "bpf", 0, "mode=0700"))
		return env_fail("mount bpffs", errno);
	E.mounted = 1;
	snprintf(E.pin, sizeof(E.pin), "%s/deploy/mdr", E.dir);
	err = mdr_bpffs_ensure(E.pin);
	if (err)
		return env_fail("mdr_bpffs_ensure", err);

	err = netns_link_up("lo");
	if (err)
		return env_fail("lo up", err);
	E.ifindex[P_LO] = 1;
	for (int p = P_A; p < P_COUNT; p++) {
		err = netns_add_veth(ports[p].name, ports[p].peer, ports[p].rxq);
		if (err < 0)
			return env_fail(ports[p].name, err);
		E.ifindex[p] = (uint32_t)err;
	}

	err = mdr_loader_open(E.pin, &E.skel);
	if (err)
		return env_fail("mdr_loader_open", err);
	E.prog = bpf_program__fd(E.skel->progs.mdr_xdp);
	E.config = bpf_map__fd(E.skel->maps.mdr_config);
	E.ports = bpf_map__fd(E.skel->maps.mdr_ports);
	E.macs = bpf_map__fd(E.skel->maps.mdr_macs);
	E.limits = bpf_map__fd(E.skel->maps.mdr_limits);
	E.rl = bpf_map__fd(E.skel->maps.mdr_rl);
	E.xsks = bpf_map__fd(E.skel->maps.mdr_xsks);
	E.slot = bpf_map__fd(E.skel->maps.mdr_xsk_slot);
	E.stats = bpf_map__fd(E.skel->maps.mdr_stats);
	E.istats = bpf_map__fd(E.skel->maps.mdr_istats);
	E.ncpus = libbpf_num_possible_cpus();
	if (E.ncpus <= 0)
		return env_fail("possible CPUs", E.ncpus);

	err = xsk_open();
	if (err)
		return env_fail("AF_XDP socket on lo", err);
	return 0;
}

static int env_teardown(void **state)
{
	(void)state;
	if (E.xsk)
		xsk_socket__delete(E.xsk);
	if (E.umem)
		xsk_umem__delete(E.umem);
	if (E.umem_area)
		munmap(E.umem_area, (size_t)XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE);
	mdr_loader_close(E.skel);
	E.skel = NULL;
	if (E.mounted && umount2(E.dir, MNT_DETACH) == 0)
		E.mounted = 0;
	if (E.dir[0])
		rmdir(E.dir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Map fixture                                                          */
/* ------------------------------------------------------------------ */

static void map_clear(int fd, size_t key_size)
{
	uint8_t key[64], next[64];

	assert_true(key_size <= sizeof(key));
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	}
}

static void put_port(enum port p, uint32_t inst, const uint8_t *mac, uint16_t vlan, uint32_t flags)
{
	struct mdr_port_binding b = {.instance_id = inst, .vlan = vlan, .flags = flags};

	if (mac)
		memcpy(b.mac, mac, 6);
	assert_int_equal(bpf_map_update_elem(E.ports, &E.ifindex[p], &b, BPF_ANY), 0);
}

static void put_mac(int m, uint16_t vlan, uint32_t inst, uint32_t ifindex)
{
	struct mdr_mac_key k = {.vlan = vlan};
	struct mdr_mac_binding b = {.instance_id = inst, .ifindex = ifindex};

	memcpy(k.mac, test_macs[m], 6);
	assert_int_equal(bpf_map_update_elem(E.macs, &k, &b, BPF_ANY), 0);
}

static void put_limits(uint32_t inst, uint32_t rate, uint32_t burst)
{
	struct mdr_limits l = {.rate_pps = rate, .burst = burst};

	assert_int_equal(bpf_map_update_elem(E.limits, &inst, &l, BPF_ANY), 0);
}

static void put_slot(enum port p, uint32_t queue, uint32_t slot, int with_socket)
{
	struct mdr_xsk_key k = {.ifindex = E.ifindex[p], .queue = queue};

	assert_int_equal(bpf_map_update_elem(E.slot, &k, &slot, BPF_ANY), 0);
	if (with_socket)
		assert_int_equal(bpf_map_update_elem(E.xsks, &slot, &E.xsk_fd, BPF_ANY), 0);
}

static void config_get(struct mdr_config *cfg)
{
	uint32_t k = 0;

	assert_int_equal(bpf_map_lookup_elem(E.config, &k, cfg), 0);
}

static void config_put(const struct mdr_config *cfg)
{
	uint32_t k = 0;

	assert_int_equal(bpf_map_update_elem(E.config, &k, cfg, BPF_ANY), 0);
}

/*
 * The deployment every case starts from:
 *   port A: instance 1, untagged, source MAC must be M_A      slot 0 (socket)
 *   port B: instance 3, VLAN 100, any MAC (2 RX queues)       slot 1 (socket), queue 1: slot 4 (none)
 *   port D: no port binding                                   slot 2 (socket)
 *   lo:     no port binding                                   slot 3 (socket)
 *   MAC bindings: M_B -> 2 (any port), M_D -> 4 (port D only),
 *                 M_Q on VLAN 300 -> 5, M_U -> 6 (no limits: unknown)
 *   limits: instances 1..5 with the default rate; default config.
 */
static void fixture_reset(void)
{
	struct mdr_config cfg;
	size_t sz = (size_t)E.ncpus * sizeof(struct mdr_xdp_counters);
	void *zero = calloc(1, sz);
	uint32_t k = 0;

	assert_non_null(zero);
	mdr_config_defaults(&cfg);
	config_put(&cfg);
	map_clear(E.ports, sizeof(uint32_t));
	map_clear(E.macs, sizeof(struct mdr_mac_key));
	map_clear(E.limits, sizeof(uint32_t));
	map_clear(E.rl, sizeof(uint32_t));
	map_clear(E.istats, sizeof(uint32_t));
	map_clear(E.slot, sizeof(struct mdr_xsk_key));
	for (uint32_t s = 0; s < 8; s++)
		bpf_map_delete_elem(E.xsks, &s);
	{ /* no cookie key: SYNs are redirected (tests/bpf/synack.h publishes one) */
		struct mdr_syncookie sc = {0};

		assert_int_equal(bpf_map_update_elem(bpf_map__fd(E.skel->maps.mdr_syncookie), &k,
						     &sc, BPF_ANY), 0);
	}
	assert_int_equal(bpf_map_update_elem(E.stats, &k, zero, BPF_ANY), 0);
	free(zero);

	put_port(P_A, 1, test_macs[M_A], 0, MDR_PORT_F_CHECK_MAC);
	put_port(P_B, 3, NULL, 100, 0);
	put_mac(M_B, 0, 2, 0);
	put_mac(M_D, 0, 4, E.ifindex[P_D]);
	put_mac(M_Q, 300, 5, 0);
	put_mac(M_U, 0, 6, 0);
	for (uint32_t i = 1; i <= 5; i++)
		put_limits(i, 0, 0);
	put_slot(P_A, 0, 0, 1);
	put_slot(P_B, 0, 1, 1);
	put_slot(P_D, 0, 2, 1);
	put_slot(P_LO, 0, 3, 1);
	put_slot(P_B, 1, 4, 0);
}

/* Setup hooks of individual rows. */
static void setup_unknown_drop(void)
{
	struct mdr_config c;

	config_get(&c);
	c.unknown_policy = MDR_POLICY_DROP;
	config_put(&c);
}

static void setup_no_xsk_drop(void)
{
	struct mdr_config c;

	config_get(&c);
	c.no_xsk_policy = MDR_POLICY_DROP;
	config_put(&c);
}

static void setup_no_slot_a(void)
{
	struct mdr_xsk_key k = {.ifindex = E.ifindex[P_A], .queue = 0};

	assert_int_equal(bpf_map_delete_elem(E.slot, &k), 0);
}

static void setup_no_slot_a_drop(void)
{
	setup_no_slot_a();
	setup_no_xsk_drop();
}

static void setup_no_arp(void)
{
	struct mdr_config c;

	config_get(&c);
	c.flags |= MDR_CFG_F_NO_ARP;
	config_put(&c);
}

static const uint8_t custom_meta_mac[6] = {0x06, 0x01, 0x23, 0x45, 0x67, 0x01};

static void setup_meta_mac(void)
{
	struct mdr_config c;

	config_get(&c);
	memcpy(c.meta_mac, custom_meta_mac, 6);
	config_put(&c);
}

/* One endpoint only: 10.1.2.3:8080. */
static void setup_custom_ep(void)
{
	struct mdr_config c;
	static const uint8_t a[4] = {10, 1, 2, 3};

	config_get(&c);
	memset(c.ep, 0, sizeof(c.ep));
	c.n_endpoints = 1;
	c.ep[0].family = 4;
	c.ep[0].port_be = htons(8080);
	memcpy(c.ep[0].addr, a, 4);
	config_put(&c);
}

/* A configuration nobody wrote: every built-in default must apply. */
static void setup_zero_config(void)
{
	struct mdr_config c = {0};

	config_put(&c);
}

static void setup_port_a_unknown_instance(void)
{
	put_port(P_A, 7, test_macs[M_A], 0, MDR_PORT_F_CHECK_MAC);
}

/* ------------------------------------------------------------------ */
/* Running the program                                                   */
/* ------------------------------------------------------------------ */

struct run_result {
	uint32_t verdict;
	uint8_t out[FRAME_MAX + 256];
	uint32_t out_len;
};

static int run_prog(int prog, const struct frame *f, enum port p, uint32_t queue, uint32_t repeat,
		    struct run_result *r, uint32_t *duration)
{
	struct xdp_md ctx = {
		.data_end = (uint32_t)f->len,
		.ingress_ifindex = E.ifindex[p],
		.rx_queue_index = queue,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog, &o);

	if (err)
		return -errno;
	r->verdict = o.retval;
	r->out_len = o.data_size_out;
	if (duration)
		*duration = o.duration;
	return 0;
}

static struct run_result *run_frame(const struct frame *f, enum port p, uint32_t queue)
{
	static struct run_result r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(run_prog(E.prog, f, p, queue, 1, &r, NULL), 0);
	return &r;
}

static uint32_t run_spec(const struct fspec *s, enum port p)
{
	struct frame f;

	fspec_build(s, &f);
	return run_frame(&f, p, 0)->verdict;
}

/* ------------------------------------------------------------------ */
/* Counters                                                              */
/* ------------------------------------------------------------------ */

#define COUNTER_FIELDS(X)                                                          \
	X(passed) X(matched) X(redirected) X(fallback_pass) X(fallback_drop) X(no_xsk) \
	X(arp_replied) X(nd_replied) X(unknown) X(spoofed) X(rate_limited) X(malformed) \
	X(fragment) X(synack_sent) X(handshake_acks)

static void sum_percpu(const struct mdr_xdp_counters *pc, struct mdr_xdp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < E.ncpus; c++) {
#define ADD(f) sum->f += pc[c].f;
		COUNTER_FIELDS(ADD)
#undef ADD
	}
}

static void read_global(struct mdr_xdp_counters *out)
{
	struct mdr_xdp_counters pc[E.ncpus];
	uint32_t k = 0;

	assert_int_equal(bpf_map_lookup_elem(E.stats, &k, pc), 0);
	sum_percpu(pc, out);
}

/* Returns 0 and zeroes *out when the instance has no counters yet. */
static int read_instance(uint32_t id, struct mdr_xdp_counters *out)
{
	struct mdr_xdp_counters pc[E.ncpus];

	if (bpf_map_lookup_elem(E.istats, &id, pc)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	sum_percpu(pc, out);
	return 1;
}

static void expect_counters(const char *what, const struct mdr_xdp_counters *got,
			    const struct mdr_xdp_counters *want)
{
	int bad = 0;

#define CMP(f)                                                                          \
	if (got->f != want->f) {                                                        \
		print_error("# %s counter %s: got %llu, want %llu\n", what, #f,            \
			    (unsigned long long)got->f, (unsigned long long)want->f);    \
		bad = 1;                                                                \
	}
	COUNTER_FIELDS(CMP)
#undef CMP
	assert_false(bad);
}

/* Global == want; instance iid == want too (0: none); every other empty. */
static void check_counters(const struct mdr_xdp_counters *want, uint32_t iid)
{
	static const struct mdr_xdp_counters zero;
	struct mdr_xdp_counters got;
	char what[32];

	read_global(&got);
	expect_counters("global", &got, want);
	for (uint32_t id = 1; id <= MAX_TEST_INSTANCE; id++) {
		int present = read_instance(id, &got);

		snprintf(what, sizeof(what), "instance %u", id);
		expect_counters(what, &got, id == iid ? want : &zero);
		if (id != iid && present)
			fail_msg("instance %u has counters but should have none", id);
	}
}

/* ------------------------------------------------------------------ */
/* The table                                                            */
/* ------------------------------------------------------------------ */

enum out_check {
	OUT_SAME = 0, /* the input frame, untouched */
	OUT_META,     /* struct mdr_tag_hdr, then the untouched frame */
	OUT_ARP,      /* expect_arp_reply() */
	OUT_NA,       /* expect_na() */
	OUT_GOLDEN,   /* .golden hex (produced independently with scapy) */
};

struct xcase {
	const char *name;
	struct fspec in;
	enum port port;
	uint32_t queue;
	void (*setup)(void);
	uint32_t verdict;
	enum out_check out;
	struct mdr_tag_hdr meta; /* OUT_META: ifindex, frame_len and magic are implied */
	const uint8_t *reply_mac; /* OUT_ARP / OUT_NA: NULL = default meta MAC */
	const char *golden;
	struct mdr_xdp_counters c; /* expected global counters after the case */
	uint32_t iid;              /* instance whose counters must equal c */
};

#define CNT(...) ((struct mdr_xdp_counters){__VA_ARGS__})
#define REDIRECTED CNT(.matched = 1, .redirected = 1)
#define PASSED CNT(.passed = 1)
#define SPOOFED CNT(.matched = 1, .spoofed = 1)
#define MALFORMED CNT(.malformed = 1)
#define FRAGMENT CNT(.fragment = 1)
#define META(id, by, l3, l4, ...) \
	{.instance_id = (id), .tagged_by = (by), .l3_off = (l3), .l4_off = (l4), __VA_ARGS__}

/* scapy: Ether(dst=M_A, src=meta)/ARP(op=2, hwsrc=meta, psrc=169.254.169.254,
 * hwdst=M_A, pdst=10.0.0.10), padded to 60 bytes. */
static const char golden_arp_reply[] =
	"52540000000a02a9fea9fefe0806000108000604000202a9fea9fefea9fea9fe52540000000a0a00000a"
	"000000000000000000000000000000000000";
/* scapy: Ether(dst=M_A, src=meta)/IPv6(src=fe80::a9fe:a9fe, dst=fe80::5054:ff:fe00:a,
 * hlim=255)/ICMPv6ND_NA(tgt=fe80::a9fe:a9fe, R=0, S=1, O=1)/ICMPv6NDOptDstLLAddr(meta). */
static const char golden_na[] =
	"52540000000a02a9fea9fefe86dd6000000000203afffe8000000000000000000000a9fea9fefe800000"
	"00000000505400fffe00000a8800227660000000fe8000000000000000000000a9fea9fe020102a9fea9"
	"fefe";

static const struct xcase cases[] = {
	/* ---- served: redirected to the responder behind a tag header ---- */
	{"ipv4 tcp to 169.254.169.254:80 on bound port A is redirected behind a tag header",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"ipv6 tcp to [fe80::a9fe:a9fe]:80 is redirected with the IPv6 flag",
	 .in = {.kind = K_TCP6, .mac = M_A}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 54, .flags = MDR_TAG_F_IPV6), .c = REDIRECTED, .iid = 1},
	{"ipv6 tcp to [fd00:ec2::254]:80 is redirected",
	 .in = {.kind = K_TCP6, .mac = M_A, .src = "fd00:ec2::a", .dst = META6_EC2}, .port = P_A,
	 .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 54, .flags = MDR_TAG_F_IPV6), .c = REDIRECTED, .iid = 1},
	{"ipv4 with 12 bytes of options: l4_off skips them",
	 .in = {.kind = K_TCP4, .mac = M_A, .ip_opts = 12}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 46), .c = REDIRECTED, .iid = 1},
	{"tcp with 12 bytes of options is redirected",
	 .in = {.kind = K_TCP4, .mac = M_A, .tcp_opts = 12}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"tcp segment with 300 bytes of payload is redirected",
	 .in = {.kind = K_TCP4, .mac = M_A, .payload = 300}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"don't-fragment flag alone is not a fragment",
	 .in = {.kind = K_TCP4, .mac = M_A, .frag = 0x4000}, .port = P_A, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"802.1Q tag 100 on VLAN port B: outer VID in the tag header",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .verdict = XDP_REDIRECT,
	 .out = OUT_META, .meta = META(3, MDR_TAG_PORT, 18, 38, .vlan_outer = 100), .c = REDIRECTED,
	 .iid = 3},
	{"ipv6 behind 802.1Q tag 100 on port B",
	 .in = {.kind = K_TCP6, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .verdict = XDP_REDIRECT,
	 .out = OUT_META,
	 .meta = META(3, MDR_TAG_PORT, 18, 58, .vlan_outer = 100, .flags = MDR_TAG_F_IPV6),
	 .c = REDIRECTED, .iid = 3},
	{"802.1Q tag 300 via MAC binding on VLAN 300: MAC+VLAN tag header",
	 .in = {.kind = K_TCP4, .mac = M_Q, .ntags = 1, .vid = {300}}, .port = P_LO, .verdict = XDP_REDIRECT,
	 .out = OUT_META, .meta = META(5, MDR_TAG_MAC, 18, 38, .vlan_outer = 300),
	 .c = REDIRECTED, .iid = 5},
	{"QinQ 802.1ad 300 + 802.1Q 10 via MAC binding on VLAN 300",
	 .in = {.kind = K_TCP4, .mac = M_Q, .ntags = 2, .vid = {300, 10}}, .port = P_LO, .verdict = XDP_REDIRECT,
	 .out = OUT_META, .meta = META(5, MDR_TAG_MAC, 22, 42, .vlan_outer = 300, .vlan_inner = 10),
	 .c = REDIRECTED, .iid = 5},
	{"two 802.1Q tags are parsed like QinQ",
	 .in = {.kind = K_TCP4, .mac = M_Q, .ntags = 2, .tpid = {0x8100, 0x8100}, .vid = {300, 20}},
	 .port = P_LO, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(5, MDR_TAG_MAC, 22, 42, .vlan_outer = 300, .vlan_inner = 20),
	 .c = REDIRECTED, .iid = 5},
	{"untagged MAC binding (any port) tags the frame by MAC",
	 .in = {.kind = K_TCP4, .mac = M_B}, .port = P_LO, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(2, MDR_TAG_MAC, 14, 34), .c = REDIRECTED, .iid = 2},
	{"MAC binding pinned to port D is accepted on port D",
	 .in = {.kind = K_TCP4, .mac = M_D}, .port = P_D, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(4, MDR_TAG_MAC, 14, 34), .c = REDIRECTED, .iid = 4},
	{"ipv6 destination options header before tcp: l4_off behind it",
	 .in = {.kind = K_TCP6, .mac = M_A, .v6_dstopts = 1}, .port = P_A, .verdict = XDP_REDIRECT,
	 .out = OUT_META, .meta = META(1, MDR_TAG_PORT, 14, 62, .flags = MDR_TAG_F_IPV6),
	 .c = REDIRECTED, .iid = 1},
	{"configured endpoint 10.1.2.3:8080 is redirected",
	 .in = {.kind = K_TCP4, .mac = M_A, .dst = "10.1.2.3", .dport = 8080}, .port = P_A,
	 .setup = setup_custom_ep, .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"configured endpoints replace the defaults",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .setup = setup_custom_ep, .verdict = XDP_PASS,
	 .c = PASSED},
	{"all-zero config uses the built-in endpoints (ipv4)",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .setup = setup_zero_config, .verdict = XDP_REDIRECT,
	 .out = OUT_META, .meta = META(1, MDR_TAG_PORT, 14, 34), .c = REDIRECTED, .iid = 1},
	{"all-zero config uses the built-in endpoints (fd00:ec2::254)",
	 .in = {.kind = K_TCP6, .mac = M_A, .dst = META6_EC2}, .port = P_A, .setup = setup_zero_config,
	 .verdict = XDP_REDIRECT, .out = OUT_META,
	 .meta = META(1, MDR_TAG_PORT, 14, 54, .flags = MDR_TAG_F_IPV6), .c = REDIRECTED, .iid = 1},

	/* ---- not for us: passed untouched ---- */
	{"tcp to another ipv4 address passes",
	 .in = {.kind = K_TCP4, .mac = M_A, .dst = "10.0.0.1"}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"tcp to 169.254.169.254:443 passes",
	 .in = {.kind = K_TCP4, .mac = M_A, .dport = 443}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"udp to 169.254.169.254:80 passes",
	 .in = {.kind = K_UDP4, .mac = M_A}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"icmp echo to 169.254.169.254 passes",
	 .in = {.kind = K_ICMP4, .mac = M_A}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"tcp to another ipv6 address passes",
	 .in = {.kind = K_TCP6, .mac = M_A, .dst = "2001:db8::1"}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"tcp to [fe80::a9fe:a9fe]:443 passes",
	 .in = {.kind = K_TCP6, .mac = M_A, .dport = 443}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"udp to [fd00:ec2::254]:80 passes",
	 .in = {.kind = K_UDP6, .mac = M_A, .dst = META6_EC2}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"icmpv6 echo to fe80::a9fe:a9fe passes",
	 .in = {.kind = K_ICMP6, .mac = M_A}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"udp behind an ipv6 destination options header passes",
	 .in = {.kind = K_UDP6, .mac = M_A, .v6_dstopts = 1}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"non-IP ethertype (LLDP) passes",
	 .in = {.kind = K_LLDP, .mac = M_A}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"three VLAN tags pass",
	 .in = {.kind = K_TCP4, .mac = M_Q, .ntags = 3, .vid = {300, 10, 20}}, .port = P_LO, .verdict = XDP_PASS,
	 .c = PASSED},

	/* ---- instance tagging ---- */
	{"wrong source MAC on MAC-checked port A is spoofed",
	 .in = {.kind = K_TCP4, .mac = M_X}, .port = P_A, .verdict = XDP_DROP, .c = SPOOFED, .iid = 1},
	{"untagged frame on VLAN-100 port B is spoofed",
	 .in = {.kind = K_TCP4, .mac = M_C}, .port = P_B, .verdict = XDP_DROP, .c = SPOOFED, .iid = 3},
	{"VLAN 101 on VLAN-100 port B is spoofed",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {101}}, .port = P_B, .verdict = XDP_DROP,
	 .c = SPOOFED, .iid = 3},
	{"tagged frame on untagged port A is spoofed",
	 .in = {.kind = K_TCP4, .mac = M_A, .ntags = 1, .vid = {100}}, .port = P_A, .verdict = XDP_DROP,
	 .c = SPOOFED, .iid = 1},
	{"MAC pinned to port D arriving on another port is spoofed",
	 .in = {.kind = K_TCP4, .mac = M_D}, .port = P_LO, .verdict = XDP_DROP, .c = SPOOFED, .iid = 4},
	{"MAC binding on another VLAN is unknown (policy pass)",
	 .in = {.kind = K_TCP4, .mac = M_B, .ntags = 1, .vid = {5}}, .port = P_LO, .verdict = XDP_PASS,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_pass = 1)},
	{"unbound MAC is unknown: policy pass",
	 .in = {.kind = K_TCP4, .mac = M_X}, .port = P_LO, .verdict = XDP_PASS,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_pass = 1)},
	{"unbound MAC is unknown: policy drop",
	 .in = {.kind = K_TCP4, .mac = M_X}, .port = P_LO, .setup = setup_unknown_drop, .verdict = XDP_DROP,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_drop = 1)},
	{"bound instance without limits is unknown: policy pass",
	 .in = {.kind = K_TCP4, .mac = M_U}, .port = P_LO, .verdict = XDP_PASS,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_pass = 1)},
	{"bound instance without limits is unknown: policy drop",
	 .in = {.kind = K_TCP4, .mac = M_U}, .port = P_LO, .setup = setup_unknown_drop, .verdict = XDP_DROP,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_drop = 1)},
	{"ipv6 from an unbound MAC under policy drop",
	 .in = {.kind = K_TCP6, .mac = M_X}, .port = P_LO, .setup = setup_unknown_drop, .verdict = XDP_DROP,
	 .c = CNT(.matched = 1, .unknown = 1, .fallback_drop = 1)},
	{"port bound to an instance without limits is unknown",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .setup = setup_port_a_unknown_instance,
	 .verdict = XDP_PASS, .c = CNT(.matched = 1, .unknown = 1, .fallback_pass = 1)},

	/* ---- responder socket missing ---- */
	{"no XSK slot for (port, queue): policy pass, frame untouched",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .setup = setup_no_slot_a, .verdict = XDP_PASS,
	 .c = CNT(.matched = 1, .no_xsk = 1, .fallback_pass = 1), .iid = 1},
	{"no XSK slot for (port, queue): policy drop",
	 .in = {.kind = K_TCP4, .mac = M_A}, .port = P_A, .setup = setup_no_slot_a_drop, .verdict = XDP_DROP,
	 .c = CNT(.matched = 1, .no_xsk = 1, .fallback_drop = 1), .iid = 1},
	{"slot registered but socket gone (queue 1): pass, tag header taken off again",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .queue = 1,
	 .verdict = XDP_PASS, .out = OUT_SAME,
	 .c = CNT(.matched = 1, .no_xsk = 1, .fallback_pass = 1), .iid = 3},
	{"slot registered but socket gone: policy drop",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .queue = 1,
	 .setup = setup_no_xsk_drop, .verdict = XDP_DROP, .out = OUT_SAME,
	 .c = CNT(.matched = 1, .no_xsk = 1, .fallback_drop = 1), .iid = 3},

	/* ---- fragments ---- */
	{"ipv4 more-fragments flag is a fragment",
	 .in = {.kind = K_TCP4, .mac = M_A, .frag = 0x2000}, .port = P_A, .verdict = XDP_DROP, .c = FRAGMENT},
	{"ipv4 non-zero fragment offset is a fragment",
	 .in = {.kind = K_TCP4, .mac = M_A, .frag = 0x0010}, .port = P_A, .verdict = XDP_DROP, .c = FRAGMENT},
	{"ipv4 fragment to another port of the metadata address is dropped too",
	 .in = {.kind = K_TCP4, .mac = M_A, .frag = 0x2000, .dport = 443}, .port = P_A, .verdict = XDP_DROP,
	 .c = FRAGMENT},
	{"ipv6 fragment header is a fragment",
	 .in = {.kind = K_TCP6, .mac = M_A, .v6_frag = 1}, .port = P_A, .verdict = XDP_DROP, .c = FRAGMENT},
	{"ipv6 fragment header behind destination options is a fragment",
	 .in = {.kind = K_TCP6, .mac = M_A, .v6_frag = 1, .v6_dstopts = 1}, .port = P_A, .verdict = XDP_DROP,
	 .c = FRAGMENT},

	/* ---- malformed headers ---- */
	{"ipv4 IHL 4 is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .ihl = 4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv4 IHL 15 beyond the total length is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .ihl = 15}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"version 6 under ethertype IPv4 is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .ver = 6}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv4 total length beyond the frame is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .len_delta = 100}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv4 total length shorter than IP + TCP headers is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .len_delta = -4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv4 total length cutting the TCP options is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .tcp_opts = 8, .len_delta = -4}, .port = P_A, .verdict = XDP_DROP,
	 .c = MALFORMED},
	{"tcp data offset 4 is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .doff = 4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"tcp data offset 15 beyond the segment is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .doff = 15}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv6 payload length beyond the frame is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .len_delta = 100}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv6 payload length too short for TCP is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .len_delta = -4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"version 4 under ethertype IPv6 is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .ver = 4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"ipv6 tcp data offset 4 is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .doff = 4}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},

	/* ---- truncated at each header boundary ---- */
	{"frame of just an Ethernet header (IPv4 ethertype) passes",
	 .in = {.kind = K_TCP4, .mac = M_A, .cut = 14}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"frame cut inside the 802.1Q tag passes",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100}, .cut = 16}, .port = P_B,
	 .verdict = XDP_PASS, .c = PASSED},
	{"frame cut after the outer QinQ tag passes",
	 .in = {.kind = K_TCP4, .mac = M_Q, .ntags = 2, .vid = {300, 10}, .cut = 18}, .port = P_LO,
	 .verdict = XDP_PASS, .c = PASSED},
	{"frame cut inside the IPv4 header (destination unknown) passes",
	 .in = {.kind = K_TCP4, .mac = M_A, .cut = 33}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"frame cut right after the IPv4 header is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .cut = 34}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"frame cut inside the IPv4 options is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .ip_opts = 12, .cut = 40}, .port = P_A, .verdict = XDP_DROP,
	 .c = MALFORMED},
	{"frame cut inside the TCP header is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .cut = 53}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"frame cut inside the TCP options is malformed",
	 .in = {.kind = K_TCP4, .mac = M_A, .tcp_opts = 12, .cut = 60}, .port = P_A, .verdict = XDP_DROP,
	 .c = MALFORMED},
	{"tagged frame cut right after the IPv4 header is malformed",
	 .in = {.kind = K_TCP4, .mac = M_C, .ntags = 1, .vid = {100}, .cut = 38}, .port = P_B,
	 .verdict = XDP_DROP, .c = MALFORMED},
	{"frame cut inside the IPv6 header passes",
	 .in = {.kind = K_TCP6, .mac = M_A, .cut = 53}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"frame cut right after the IPv6 header is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .cut = 54}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"frame cut inside the IPv6 extension header is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .v6_dstopts = 1, .cut = 57}, .port = P_A, .verdict = XDP_DROP,
	 .c = MALFORMED},
	{"frame cut inside the TCP header (IPv6) is malformed",
	 .in = {.kind = K_TCP6, .mac = M_A, .cut = 64}, .port = P_A, .verdict = XDP_DROP, .c = MALFORMED},
	{"frame cut inside the ARP body passes",
	 .in = {.kind = K_ARP, .mac = M_A, .cut = 41}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"frame cut inside the NS target passes",
	 .in = {.kind = K_NS, .mac = M_A, .cut = 74}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},

	/* ---- ARP responder ---- */
	{"ARP request for 169.254.169.254 is answered (bytes from scapy)",
	 .in = {.kind = K_ARP, .mac = M_A}, .port = P_A, .verdict = XDP_TX, .out = OUT_GOLDEN,
	 .golden = golden_arp_reply, .c = CNT(.arp_replied = 1), .iid = 1},
	{"ARP on VLAN-100 port B is answered with the tag kept",
	 .in = {.kind = K_ARP, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .verdict = XDP_TX,
	 .out = OUT_ARP, .c = CNT(.arp_replied = 1), .iid = 3},
	{"ARP in QinQ via MAC binding is answered with both tags kept",
	 .in = {.kind = K_ARP, .mac = M_Q, .ntags = 2, .vid = {300, 10}}, .port = P_LO, .verdict = XDP_TX,
	 .out = OUT_ARP, .c = CNT(.arp_replied = 1), .iid = 5},
	{"ARP answered from the configured metadata MAC",
	 .in = {.kind = K_ARP, .mac = M_A}, .port = P_A, .setup = setup_meta_mac, .verdict = XDP_TX,
	 .out = OUT_ARP, .reply_mac = custom_meta_mac, .c = CNT(.arp_replied = 1), .iid = 1},
	{"ARP with an all-zero config is answered from the default MAC",
	 .in = {.kind = K_ARP, .mac = M_A}, .port = P_A, .setup = setup_zero_config, .verdict = XDP_TX,
	 .out = OUT_ARP, .c = CNT(.arp_replied = 1), .iid = 1},
	{"ARP request for another address passes",
	 .in = {.kind = K_ARP, .mac = M_A, .dst = "10.0.0.1"}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"ARP reply for the metadata address passes",
	 .in = {.kind = K_ARP, .mac = M_A, .arp_op = 2}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"gratuitous ARP for the metadata address passes",
	 .in = {.kind = K_ARP, .mac = M_A, .src = META4}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"ARP from an unknown MAC passes untouched",
	 .in = {.kind = K_ARP, .mac = M_X}, .port = P_LO, .verdict = XDP_PASS,
	 .c = CNT(.unknown = 1, .passed = 1)},
	{"ARP with a spoofed MAC on port A is dropped",
	 .in = {.kind = K_ARP, .mac = M_X}, .port = P_A, .verdict = XDP_DROP, .c = CNT(.spoofed = 1), .iid = 1},
	{"ARP passes when the config disables ARP/ND answers",
	 .in = {.kind = K_ARP, .mac = M_A}, .port = P_A, .setup = setup_no_arp, .verdict = XDP_PASS, .c = PASSED},

	/* ---- Neighbour Discovery responder ---- */
	{"NS for fe80::a9fe:a9fe is answered with an NA (bytes from scapy)",
	 .in = {.kind = K_NS, .mac = M_A}, .port = P_A, .verdict = XDP_TX, .out = OUT_GOLDEN,
	 .golden = golden_na, .c = CNT(.nd_replied = 1), .iid = 1},
	{"NS for fd00:ec2::254 without SLLA is answered (frame grows)",
	 .in = {.kind = K_NS, .mac = M_A, .src = "fd00:ec2::a", .dst = META6_EC2, .nd_opts = -1}, .port = P_A,
	 .verdict = XDP_TX, .out = OUT_NA, .c = CNT(.nd_replied = 1), .iid = 1},
	{"NS with SLLA and nonce options is answered (frame trimmed)",
	 .in = {.kind = K_NS, .mac = M_A, .nd_opts = 1}, .port = P_A, .verdict = XDP_TX, .out = OUT_NA,
	 .c = CNT(.nd_replied = 1), .iid = 1},
	{"NS on VLAN-100 port B is answered with the tag kept",
	 .in = {.kind = K_NS, .mac = M_C, .ntags = 1, .vid = {100}}, .port = P_B, .verdict = XDP_TX,
	 .out = OUT_NA, .c = CNT(.nd_replied = 1), .iid = 3},
	{"NS in QinQ via MAC binding is answered with both tags kept",
	 .in = {.kind = K_NS, .mac = M_Q, .ntags = 2, .vid = {300, 10}}, .port = P_LO, .verdict = XDP_TX,
	 .out = OUT_NA, .c = CNT(.nd_replied = 1), .iid = 5},
	{"NS answered from the configured metadata MAC",
	 .in = {.kind = K_NS, .mac = M_A}, .port = P_A, .setup = setup_meta_mac, .verdict = XDP_TX,
	 .out = OUT_NA, .reply_mac = custom_meta_mac, .c = CNT(.nd_replied = 1), .iid = 1},
	{"NS with hop limit 64 passes",
	 .in = {.kind = K_NS, .mac = M_A, .hop = 64}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"NS for another target passes",
	 .in = {.kind = K_NS, .mac = M_A, .dst = "fe80::1"}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"NS from the unspecified address (DAD) passes",
	 .in = {.kind = K_NS, .mac = M_A, .src = "::", .nd_opts = -1}, .port = P_A, .verdict = XDP_PASS,
	 .c = PASSED},
	{"NA for a metadata address passes",
	 .in = {.kind = K_NA, .mac = M_A}, .port = P_A, .verdict = XDP_PASS, .c = PASSED},
	{"NS from an unknown MAC passes untouched",
	 .in = {.kind = K_NS, .mac = M_X}, .port = P_LO, .verdict = XDP_PASS, .c = CNT(.unknown = 1, .passed = 1)},
	{"NS with a spoofed MAC on port A is dropped",
	 .in = {.kind = K_NS, .mac = M_X}, .port = P_A, .verdict = XDP_DROP, .c = CNT(.spoofed = 1), .iid = 1},
	{"NS passes when the config disables ARP/ND answers",
	 .in = {.kind = K_NS, .mac = M_A}, .port = P_A, .setup = setup_no_arp, .verdict = XDP_PASS, .c = PASSED},
};

static void hexdump_diff(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
			 size_t want_len)
{
	size_t n = got_len > want_len ? got_len : want_len;

	print_error("# %s differs (got %zu bytes, want %zu):\n", what, got_len, want_len);
	for (size_t i = 0; i < n; i++) {
		if (i < got_len && i < want_len && got[i] == want[i])
			continue;
		print_error("#   byte %zu: got %s%02x want %s%02x\n", i, i < got_len ? "" : "-",
			    i < got_len ? got[i] : 0, i < want_len ? "" : "-",
			    i < want_len ? want[i] : 0);
	}
}

static void expect_bytes(const char *what, const uint8_t *got, size_t got_len,
			 const uint8_t *want, size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, want_len)) {
		hexdump_diff(what, got, got_len, want, want_len);
		fail();
	}
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned int v;

		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void check_output(const struct xcase *c, const struct frame *in,
			 const struct run_result *r)
{
	const uint8_t *mac = c->reply_mac ? c->reply_mac : meta_mac_default;
	struct frame want;

	switch (c->out) {
	case OUT_SAME:
		expect_bytes("output frame", r->out, r->out_len, in->b, in->len);
		break;
	case OUT_META: {
		struct mdr_tag_hdr m = c->meta, got;

		m.ifindex = E.ifindex[c->port];
		m.magic = MDR_TAG_MAGIC;
		m.frame_len = (uint16_t)in->len;
		assert_true(r->out_len >= sizeof(got));
		memcpy(&got, r->out, sizeof(got));
		assert_int_equal(got.magic, m.magic);
		assert_int_equal(got.instance_id, m.instance_id);
		assert_int_equal(got.ifindex, m.ifindex);
		assert_int_equal(got.vlan_outer, m.vlan_outer);
		assert_int_equal(got.vlan_inner, m.vlan_inner);
		assert_int_equal(got.tagged_by, m.tagged_by);
		assert_int_equal(got.l3_off, m.l3_off);
		assert_int_equal(got.l4_off, m.l4_off);
		assert_int_equal(got.flags, m.flags);
		assert_int_equal(got.frame_len, m.frame_len);
		assert_int_equal(got.pad, 0);
		/* what the responder accepts: the same check it runs */
		assert_int_equal(pkt_tag_take(r->out, r->out_len, m.ifindex, &got), PKT_TAG_OK);
		expect_bytes("frame after the tag header", r->out + sizeof(got), r->out_len - sizeof(got),
			     in->b, in->len);
		break;
	}
	case OUT_ARP:
		expect_arp_reply(&c->in, mac, &want);
		expect_bytes("ARP reply", r->out, r->out_len, want.b, want.len);
		break;
	case OUT_NA:
		expect_na(&c->in, mac, &want);
		expect_bytes("neighbour advertisement", r->out, r->out_len, want.b, want.len);
		break;
	case OUT_GOLDEN:
		want.len = unhex(c->golden, want.b, sizeof(want.b));
		expect_bytes("reply (scapy reference)", r->out, r->out_len, want.b, want.len);
		break;
	}
}

static void run_case(void **state)
{
	const struct xcase *c = *state;
	struct run_result *r;
	struct frame in;

	fixture_reset();
	if (c->setup)
		c->setup();
	fspec_build(&c->in, &in);
	r = run_frame(&in, c->port, c->queue);
	assert_int_equal(r->verdict, c->verdict);
	check_output(c, &in, r);
	check_counters(&c->c, c->iid);
}

/* ------------------------------------------------------------------ */
/* Sequences: rate limiting                                              */
/* ------------------------------------------------------------------ */

static const struct fspec tcp_a = {.kind = K_TCP4, .mac = M_A};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Move the bucket's last refill `ns` into the past: as if that much time
 * passed (no sleeping). */
static void rl_age(uint32_t inst, uint64_t ns)
{
	struct mdr_bucket b;
	uint64_t now = mono_ns();

	assert_int_equal(bpf_map_lookup_elem(E.rl, &inst, &b), 0);
	b.last_ns = now > ns ? now - ns : 0; /* a young VM's clock may be small */
	assert_int_equal(bpf_map_update_elem(E.rl, &inst, &b, BPF_EXIST), 0);
}

/* Stop the bucket's clock: a last refill in the future refills nothing
 * (the program ignores clocks that run backwards), so a slow or preempted
 * test run cannot earn tokens between two packets. */
static void rl_freeze(uint32_t inst)
{
	struct mdr_bucket b;

	assert_int_equal(bpf_map_lookup_elem(E.rl, &inst, &b), 0);
	b.last_ns = mono_ns() + 3600ull * 1000000000ull;
	assert_int_equal(bpf_map_update_elem(E.rl, &inst, &b, BPF_EXIST), 0);
}

static void test_rate_limit_exhaustion(void **state)
{
	(void)state;
	fixture_reset();
	put_limits(1, 1, 3); /* 1 packet/s, burst 3 */
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT); /* creates the bucket */
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	check_counters(&CNT(.matched = 5, .redirected = 3, .rate_limited = 2), 1);
}

static void test_rate_limit_refill(void **state)
{
	(void)state;
	fixture_reset();
	put_limits(1, 2, 3); /* 2 packets/s, burst 3 */
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	rl_age(1, 1000000000ull); /* 1 s at 2/s: two tokens */
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	rl_age(1, 100ull * 1000000000ull); /* 100 s refill only up to the burst */
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	check_counters(&CNT(.matched = 11, .redirected = 8, .rate_limited = 3), 1);
}

static void test_rate_limit_config_default(void **state)
{
	struct mdr_config c;

	(void)state;
	fixture_reset();
	config_get(&c);
	c.default_rate_pps = 1;
	c.default_burst = 2;
	config_put(&c);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	check_counters(&CNT(.matched = 3, .redirected = 2, .rate_limited = 1), 1);
}

static void test_rate_limit_builtin_default_burst(void **state)
{
	(void)state;
	fixture_reset();
	setup_zero_config(); /* no default in the config either: MDR_DEFAULT_BURST */
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	for (unsigned int i = 1; i < MDR_DEFAULT_BURST; i++)
		assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	check_counters(&CNT(.matched = MDR_DEFAULT_BURST + 1, .redirected = MDR_DEFAULT_BURST,
			    .rate_limited = 1), 1);
}

static void test_rate_limit_arp_nd_consume_tokens(void **state)
{
	static const struct fspec arp = {.kind = K_ARP, .mac = M_A}, ns = {.kind = K_NS, .mac = M_A};

	(void)state;
	fixture_reset();
	put_limits(1, 1, 2);
	assert_int_equal(run_spec(&arp, P_A), XDP_TX);
	rl_freeze(1);
	assert_int_equal(run_spec(&ns, P_A), XDP_TX);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	assert_int_equal(run_spec(&arp, P_A), XDP_DROP);
	assert_int_equal(run_spec(&ns, P_A), XDP_DROP);
	check_counters(&CNT(.arp_replied = 1, .nd_replied = 1, .matched = 1, .rate_limited = 3), 1);
}

static void test_rate_limit_is_per_instance(void **state)
{
	static const struct fspec tcp_b = {.kind = K_TCP4, .mac = M_B};
	struct mdr_xdp_counters got;

	(void)state;
	fixture_reset();
	put_limits(1, 1, 1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_REDIRECT);
	rl_freeze(1);
	assert_int_equal(run_spec(&tcp_a, P_A), XDP_DROP);
	assert_int_equal(run_spec(&tcp_b, P_LO), XDP_REDIRECT);
	assert_int_equal(run_spec(&tcp_b, P_LO), XDP_REDIRECT);
	read_global(&got);
	expect_counters("global", &got, &CNT(.matched = 4, .redirected = 3, .rate_limited = 1));
	read_instance(1, &got);
	expect_counters("instance 1", &got, &CNT(.matched = 2, .redirected = 1, .rate_limited = 1));
	read_instance(2, &got);
	expect_counters("instance 2", &got, &CNT(.matched = 2, .redirected = 2));
}

/* ------------------------------------------------------------------ */
/* Loader behaviour                                                      */
/* ------------------------------------------------------------------ */

static uint32_t prog_id_of_fd(int fd)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static uint32_t map_id_of_fd(int fd)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void test_loader_pins_program_and_maps(void **state)
{
	static const char *const names[] = {
		MDR_MAP_NAME(config), MDR_MAP_NAME(ports), MDR_MAP_NAME(macs), MDR_MAP_NAME(limits), MDR_MAP_NAME(rl),
		MDR_MAP_NAME(inst), MDR_MAP_NAME(uuids), MDR_MAP_NAME(xsks), MDR_MAP_NAME(xsk_slot), MDR_MAP_NAME(ifaces),
		MDR_MAP_NAME(passwords), MDR_MAP_NAME(tokkey), MDR_MAP_NAME(stats), MDR_MAP_NAME(istats), MDR_MAP_NAME(rstats),
		"mdr_chunk0", "mdr_chunk5",
	};
	char path[256];
	int fd;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", E.pin, names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			fail_msg("map %s is not pinned", names[i]);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s", E.pin, MDR_PROG_PIN_NAME);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(prog_id_of_fd(fd), prog_id_of_fd(E.prog));
	close(fd);
}

static void test_loader_reload_reuses_maps_and_replaces_program(void **state)
{
	struct mdr_xdp_bpf *again = NULL;
	struct mdr_port_binding b;
	struct mdr_config c;
	char path[256];
	uint32_t ifx = 4242, k = 0;
	int fd;

	(void)state;
	fixture_reset();
	put_port(P_A, 9, NULL, 0, 0);
	config_get(&c);
	c.unknown_policy = MDR_POLICY_DROP; /* not all zero: must survive */
	config_put(&c);
	assert_int_equal(bpf_map_update_elem(E.ports, &ifx, &(struct mdr_port_binding){.instance_id = 77},
					     BPF_ANY), 0);

	assert_int_equal(mdr_loader_open(E.pin, &again), 0);
	assert_int_equal(map_id_of_fd(bpf_map__fd(again->maps.mdr_ports)), map_id_of_fd(E.ports));
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(again->maps.mdr_ports), &ifx, &b), 0);
	assert_int_equal(b.instance_id, 77);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(again->maps.mdr_config), &k, &c), 0);
	assert_int_equal(c.unknown_policy, MDR_POLICY_DROP);
	snprintf(path, sizeof(path), "%s/%s", E.pin, MDR_PROG_PIN_NAME);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(prog_id_of_fd(fd), prog_id_of_fd(bpf_program__fd(again->progs.mdr_xdp)));
	assert_int_not_equal(prog_id_of_fd(fd), prog_id_of_fd(E.prog));
	close(fd);
	mdr_loader_close(again);
	bpf_map_delete_elem(E.ports, &ifx);
}

static void test_loader_writes_default_config_when_zero(void **state)
{
	struct mdr_xdp_bpf *again = NULL;
	struct mdr_config got, want;

	(void)state;
	setup_zero_config();
	assert_int_equal(mdr_loader_open(E.pin, &again), 0);
	mdr_loader_close(again);
	config_get(&got);
	mdr_config_defaults(&want);
	assert_memory_equal(&got, &want, sizeof(got));
	assert_int_equal(got.n_endpoints, 3);
	assert_int_equal(got.default_rate_pps, MDR_DEFAULT_RATE_PPS);
}

static void test_bpffs_ensure(void **state)
{
	char nested[256], plain[] = "/tmp/mdr-notbpf-XXXXXX", sub[64];
	struct stat st;

	(void)state;
	snprintf(nested, sizeof(nested), "%s/a/b/c", E.dir);
	assert_int_equal(mdr_bpffs_ensure(nested), 0);
	assert_int_equal(stat(nested, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mdr_bpffs_ensure(nested), 0); /* idempotent */
	assert_non_null(mkdtemp(plain));
	snprintf(sub, sizeof(sub), "%s/x", plain);
	assert_int_equal(mdr_bpffs_ensure(sub), -ENOTSUP);
	rmdir(sub);
	rmdir(plain);
}

/* ------------------------------------------------------------------ */
/* A real redirect into the AF_XDP socket: the tag cannot be forged       */
/* ------------------------------------------------------------------ */

/* Give every UMEM frame to the kernel (fill ring). */
static void xsk_fill_all(void)
{
	uint32_t idx = 0;

	assert_int_equal(xsk_ring_prod__reserve(&E.fq, XSK_FRAMES, &idx), XSK_FRAMES);
	for (uint32_t i = 0; i < XSK_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&E.fq, idx + i) = (uint64_t)i * XSK_UMEM__DEFAULT_FRAME_SIZE;
	xsk_ring_prod__submit(&E.fq, XSK_FRAMES);
}

/* How long a frame sent on lo may take to reach the socket. */
#define LIVE_WAIT_MS 2000

/* Send one frame through the program for real, on lo queue 0, and return
 * the one descriptor the socket bound there received: the program is
 * attached to lo (generic mode, in this test's own namespace) and a packet
 * socket sends the frame on lo, which receives it, so XDP_REDIRECT really
 * redirects. (BPF_F_TEST_XDP_LIVE_FRAMES would do it without a device, but
 * kernel 6.18.44 refuses it with EPERM.) */
static struct xdp_desc live_redirect(const struct frame *f)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = (int)E.ifindex[P_LO],
				 .sll_halen = 6};
	struct pollfd pfd = {.fd = E.xsk_fd, .events = POLLIN};
	struct xdp_desc d;
	uint32_t idx = 0;
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: sends only */

	assert_true(ps >= 0);
	memcpy(to.sll_addr, f->b, 6);
	assert_int_equal(sendto(ps, f->b, f->len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)f->len);
	close(ps);
	assert_int_equal(poll(&pfd, 1, LIVE_WAIT_MS), 1);
	assert_int_equal(xsk_ring_cons__peek(&E.rx, 1, &idx), 1);
	d = *xsk_ring_cons__rx_desc(&E.rx, idx);
	xsk_ring_cons__release(&E.rx, 1);
	return d;
}

/*
 * A guest controls bytes that end up in UMEM chunks (a reply body carrying
 * its own password is built in a chunk the next received frame may use).
 * Plant, in every chunk, right where a reader of "the bytes in front of the
 * frame" would look, a forged tag for instance 1 (port A's) in today's
 * layout and the old metadata layout. Then a frame of instance 2 (MAC M_B
 * on lo) is really redirected into the socket: the planted bytes are still
 * in front of it, and what the responder takes is instance 2's tag, which
 * XDP wrote inside the descriptor.
 */
static void test_planted_tag_bytes_are_refused(void **state)
{
	const struct fspec spec = {.kind = K_TCP4, .mac = M_B};
	uint8_t *area = E.umem_area;
	struct mdr_tag_hdr forged, got;
	struct frame f;
	struct xdp_desc d;
	uint64_t off;

	(void)state;
	fixture_reset();
	fspec_build(&spec, &f);
	memset(area, 0, (size_t)XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE);
	xsk_fill_all();
	assert_int_equal(bpf_xdp_attach((int)E.ifindex[P_LO], E.prog, XDP_FLAGS_SKB_MODE, NULL), 0);
	/* a first frame tells where in a chunk the kernel puts received data */
	d = live_redirect(&f);
	off = d.addr % XSK_UMEM__DEFAULT_FRAME_SIZE;
	assert_true(off >= sizeof(forged) + 20);

	forged = (struct mdr_tag_hdr){
		.magic = MDR_TAG_MAGIC, .instance_id = 1, .ifindex = E.ifindex[P_LO],
		.frame_len = (uint16_t)f.len, .tagged_by = MDR_TAG_PORT, .l3_off = 14, .l4_off = 34,
	};
	for (uint32_t i = 0; i < XSK_FRAMES; i++) {
		uint8_t *chunk = area + (size_t)i * XSK_UMEM__DEFAULT_FRAME_SIZE;
		uint32_t old_magic = 0x4d445231u; /* "MDR1", the metadata-area layout */
		uint32_t one = 1;

		memcpy(chunk + off - sizeof(forged), &forged, sizeof(forged));
		/* old layout: 20 bytes right in front, instance first, magic last */
		memcpy(chunk + off - 20, &one, 4);
		memcpy(chunk + off - 4, &old_magic, 4);
		/* and a whole forged header + frame where the descriptor starts, as
		 * a stale frame of instance 1 would leave it */
		memcpy(chunk + off, &forged, sizeof(forged));
		memcpy(chunk + off + sizeof(forged), f.b, f.len);
	}
	/* the kernel takes the next chunk of the fill ring: planted too */
	d = live_redirect(&f);
	assert_int_equal(d.addr % XSK_UMEM__DEFAULT_FRAME_SIZE, off);
	assert_int_equal(d.len, sizeof(struct mdr_tag_hdr) + f.len);
	/* the planted bytes are still in front of the frame ... */
	assert_memory_equal(area + d.addr - 4, &(uint32_t){0x4d445231u}, 4);
	/* ... and the tag the responder takes is the one XDP wrote for it */
	assert_int_equal(pkt_tag_take(area + d.addr, d.len, E.ifindex[P_LO], &got), PKT_TAG_OK);
	assert_int_equal(got.instance_id, 2);
	assert_int_equal(got.tagged_by, MDR_TAG_MAC);
	expect_bytes("frame after the tag header", area + d.addr + sizeof(got), got.frame_len, f.b,
		     f.len);
	/* a descriptor claimed to start one header earlier (where the forged
	 * tag sits) is not what the kernel delivered: its length disagrees */
	assert_int_not_equal(pkt_tag_take(area + d.addr - sizeof(forged), d.len, E.ifindex[P_LO], &got),
			     PKT_TAG_OK);
	assert_int_equal(bpf_xdp_detach((int)E.ifindex[P_LO], XDP_FLAGS_SKB_MODE, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Kernel feature probes (what mdrd checks before loading)               */
/* ------------------------------------------------------------------ */

/* The one list of maps (MDR_MAP_LIST in the ABI header) names exactly the
 * maps the program defines: a map added on one side only fails here. */
static void test_map_list_matches_the_program(void **state)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	struct mdr_maps m;
	struct bpf_map *map;
	size_t n = mdr_maps_refs(&m, refs), in_prog = 0;

	(void)state;
	assert_int_equal(n, MDR_MAPS_COUNT);
	bpf_object__for_each_map(map, E.skel->obj) {
		const char *name = bpf_map__name(map);
		size_t i;

		if (name[0] == '.')
			continue; /* .rodata, .bss: not pinned */
		in_prog++;
		for (i = 0; i < n && strcmp(refs[i].name, name); i++)
			;
		if (i == n)
			fail_msg("map %s is defined in bpf/ but not in MDR_MAP_LIST", name);
	}
	assert_int_equal(in_prog, n);
}

static void test_kfeat_helper_probe_tells_refusal(void **state)
{
	(void)state;
	assert_int_equal(mdr_kfeat_helper(BPF_FUNC_xdp_adjust_head), 1);
	assert_int_equal(mdr_kfeat_helper(BPF_FUNC_redirect_map), 1);
	/* an sk_buff-only helper: the verifier refuses it for XDP, whichever
	 * words this kernel uses ("unknown func" or "cannot use helper") */
	assert_int_equal(mdr_kfeat_helper(BPF_FUNC_skb_store_bytes), 0);
	assert_int_equal(mdr_kfeat_helper(BPF_FUNC_skb_load_bytes), 0);
}

static void test_kfeat_table_complete_on_this_kernel(void **state)
{
	struct mdr_feature f[MDR_FEATURES_MAX];
	size_t n;
	int helpers = 0, maps = 0;

	(void)state;
	unsetenv(MDR_KFEAT_DENY_ENV);
	n = mdr_features_probe(f, 0);
	assert_true(n > 0 && n <= MDR_FEATURES_MAX);
	for (size_t i = 0; i < n; i++) {
		if (f[i].required && f[i].status != MDR_FEAT_OK)
			fail_msg("required feature %s: %s %s", f[i].name,
				 mdr_feat_status_name(f[i].status), f[i].detail);
		helpers += !strncmp(f[i].name, "helper ", 7) && f[i].required;
		maps += !strncmp(f[i].name, "map type ", 9);
	}
	assert_null(mdr_features_first_missing(f, n));
	/* every helper and map type the program uses is asked about */
	assert_int_equal(helpers, 8);
	assert_int_equal(maps, 5);
}

static void test_kfeat_deny_reports_missing(void **state)
{
	struct mdr_feature f[MDR_FEATURES_MAX];
	const struct mdr_feature *m;
	size_t n;

	(void)state;
	setenv(MDR_KFEAT_DENY_ENV, "xskmap", 1);
	n = mdr_features_probe(f, MDR_FEAT_SKIP_NETNS);
	unsetenv(MDR_KFEAT_DENY_ENV);
	m = mdr_features_first_missing(f, n);
	assert_non_null(m);
	assert_string_equal(m->name, "map type xskmap");
	assert_non_null(strstr(m->provides, "CONFIG_XDP_SOCKETS"));
}

static void test_frame_builder_matches_scapy(void **state)
{
	/* scapy: Ether(dst=fa:16:3e:00:00:01, src=M_A)/IP(src=10.0.0.10,
	 * dst=169.254.169.254, id=1, ttl=64)/TCP(sport=40000, dport=80, seq=1000,
	 * flags=S, window=64240), padded to 60. */
	static const char tcp4[] =
		"fa163e00000152540000000a0800450000280001000040061cc90a00000aa9fea9fe9c40005000"
		"0003e8000000005002faf0b6720000000000000000";
	/* scapy: NS from fe80::5054:ff:fe00:a for fe80::a9fe:a9fe with SLLA. */
	static const char ns[] =
		"3333fffea9fe52540000000a86dd6000000000203afffe80000000000000505400fffe00000aff02"
		"00000000000000000001fffea9fe8700dbe600000000fe8000000000000000000000a9fea9fe0101"
		"52540000000a";
	struct frame f, want;

	(void)state;
	fspec_build(&tcp_a, &f);
	want.len = unhex(tcp4, want.b, sizeof(want.b));
	expect_bytes("tcp4 builder", f.b, f.len, want.b, want.len);
	fspec_build(&(struct fspec){.kind = K_NS, .mac = M_A}, &f);
	want.len = unhex(ns, want.b, sizeof(want.b));
	expect_bytes("NS builder", f.b, f.len, want.b, want.len);
}

/* ------------------------------------------------------------------ */
/* Benchmark (not a test)                                                */
/* ------------------------------------------------------------------ */

/* ns per packet from the wall time of `repeat` runs of one frame. */
/* Runs of a rewriting row, one BPF_PROG_TEST_RUN each: with repeat > 1
 * every run would see the frame the previous one rewrote (the redirect
 * path prepends its tag header each time until the headroom runs out). */
#define BENCH_ONE_SHOT_CALLS 2000

#include "synack.h"

/* ns per packet: from the wall time of `repeat` runs of one frame, or for
 * a rewriting row the kernel's own per-run duration over single runs
 * (the syscall around each run is not the program's cost). */
static double bench_round(int prog, const struct frame *f, enum port p, uint32_t repeat,
			  int one_shot, uint32_t *verdict)
{
	static struct run_result r;
	uint64_t t0 = mono_ns(), sum = 0;
	uint32_t d;

	if (one_shot) {
		for (int i = 0; i < BENCH_ONE_SHOT_CALLS; i++) {
			if (run_prog(prog, f, p, 0, 1, &r, &d)) {
				perror("BPF_PROG_TEST_RUN");
				return -1;
			}
			sum += d;
		}
		*verdict = r.verdict;
		return (double)sum / BENCH_ONE_SHOT_CALLS;
	}
	if (run_prog(prog, f, p, 0, repeat, &r, NULL)) {
		perror("BPF_PROG_TEST_RUN");
		return -1;
	}
	*verdict = r.verdict;
	return (double)(mono_ns() - t0) / repeat;
}

/* Alternate the two programs round by round (same machine load for both)
 * and keep the best round of each: the other engineers' jobs only add. */
static int bench_pair(int empty, int prog, const struct fspec *s, double *e, double *m,
		      uint32_t repeat, int one_shot, uint32_t *verdict)
{
	struct frame f;
	uint32_t ve;

	fspec_build(s, &f);
	for (int i = 0; i < BENCH_ROUNDS; i++) {
		double te = bench_round(empty, &f, P_A, repeat, one_shot, &ve);
		double tm = bench_round(prog, &f, P_A, repeat, one_shot, verdict);

		if (te < 0 || tm < 0)
			return -1;
		if (i == 0 || te < *e)
			*e = te;
		if (i == 0 || tm < *m)
			*m = tm;
	}
	return 0;
}

static const char *verdict_name(uint32_t v)
{
	static const char *const n[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};

	return v < ARRAY_SIZE(n) ? n[v] : "?";
}

static int bench(uint32_t repeat)
{
	/* The handshake rows run with a published cookie key (the responder's
	 * start-up); the handshake ACK's cookie is filled in below. */
	struct {
		const char *name;
		struct fspec in;
		int one_shot; /* rewrites the frame: single runs, kernel-timed */
		int cookie;   /* .ack set to a valid cookie + 1 before the run */
	} rows[] = {
		{"TCP/IPv4 pass-through", {.kind = K_TCP4, .mac = M_A, .dst = "10.0.0.1", .dport = 443}, 0, 0},
		{"UDP/IPv4 pass-through", {.kind = K_UDP4, .mac = M_A, .dst = "10.0.0.1", .dport = 53}, 0, 0},
		{"TCP/IPv6 pass-through", {.kind = K_TCP6, .mac = M_A, .dst = "2001:db8::1", .dport = 443}, 0, 0},
		{"metadata request (redirect)", {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x18, .ack = 77,
						 .payload = 100}, 1, 0},
		{"metadata SYN (SYN-ACK)", {.kind = K_TCP4, .mac = M_A, .mss_opt = 1460}, 1, 0},
		{"handshake ACK (cookie, drop)", {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10}, 0, 1},
		{"bare ACK (no cookie, redirect)", {.kind = K_TCP4, .mac = M_A, .tcp_flags = 0x10,
						    .ack = 77}, 1, 0},
	};
	struct empty_bpf *empty;
	int err;

	err = env_setup(NULL);
	if (err)
		return 1;
	empty = empty_bpf__open_and_load();
	if (!empty) {
		perror("empty.bpf.o");
		env_teardown(NULL);
		return 1;
	}
	{
		/* Inline: cmocka asserts need a test context, so set maps by hand. */
		struct mdr_config c;
		struct mdr_port_binding pb = {.instance_id = 1, .flags = MDR_PORT_F_CHECK_MAC};
		struct mdr_limits l = {.rate_pps = MDR_MAX_RATE_PPS, .burst = UINT32_MAX};
		struct mdr_xsk_key xk = {.ifindex = E.ifindex[P_A], .queue = 0};
		uint32_t one = 1, slot = 0, k = 0;

		mdr_config_defaults(&c);
		memcpy(pb.mac, test_macs[M_A], 6);
		if (bpf_map_update_elem(E.config, &k, &c, BPF_ANY) ||
		    bpf_map_update_elem(E.ports, &E.ifindex[P_A], &pb, BPF_ANY) ||
		    bpf_map_update_elem(E.limits, &one, &l, BPF_ANY) ||
		    bpf_map_update_elem(E.slot, &xk, &slot, BPF_ANY) ||
		    bpf_map_update_elem(E.xsks, &slot, &E.xsk_fd, BPF_ANY)) {
			perror("bench maps");
			empty_bpf__destroy(empty);
			env_teardown(NULL);
			return 1;
		}
	}

	{
		struct mdr_syncookie sc = {.key_set = 1, .mss4 = SA_MSS4, .mss6 = SA_MSS6,
					   .win = SA_WIN, .ttl = SA_TTL};
		struct frame f;
		uint32_t k = 0;

		memcpy(sc.key, sa_key, sizeof(sc.key));
		if (bpf_map_update_elem(bpf_map__fd(E.skel->maps.mdr_syncookie), &k, &sc, BPF_ANY)) {
			perror("bench cookie key");
			empty_bpf__destroy(empty);
			env_teardown(NULL);
			return 1;
		}
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
			if (rows[i].cookie) {
				fspec_build(&rows[i].in, &f);
				rows[i].in.ack = sa_ack_cookie(&f, 1, mdr_cookie_slot(mono_ns()), 7) + 1;
			}
	}
	printf("BPF_PROG_TEST_RUN, %u runs per round, best of %d rounds (ns/packet)\n", repeat,
	       BENCH_ROUNDS);
	printf("%-28s %10s %10s %10s  %s\n", "packet", "empty", "mdr_xdp", "delta", "verdict");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		double e = 0, m = 0;
		uint32_t vm = 0;

		if (bench_pair(bpf_program__fd(empty->progs.xdp_empty), E.prog, &rows[i].in, &e, &m,
			       repeat, rows[i].one_shot, &vm))
			break;
		printf("%-28s %10.1f %10.1f %+10.1f  %s\n", rows[i].name, e, m, m - e,
		       verdict_name(vm));
	}
	empty_bpf__destroy(empty);
	env_teardown(NULL);
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct CMUnitTest extra_tests[] = {
	SYNACK_TESTS,
	cmocka_unit_test(test_frame_builder_matches_scapy),
	cmocka_unit_test(test_planted_tag_bytes_are_refused),
	cmocka_unit_test(test_map_list_matches_the_program),
	cmocka_unit_test(test_kfeat_helper_probe_tells_refusal),
	cmocka_unit_test(test_kfeat_table_complete_on_this_kernel),
	cmocka_unit_test(test_kfeat_deny_reports_missing),
	cmocka_unit_test(test_rate_limit_exhaustion),
	cmocka_unit_test(test_rate_limit_refill),
	cmocka_unit_test(test_rate_limit_config_default),
	cmocka_unit_test(test_rate_limit_builtin_default_burst),
	cmocka_unit_test(test_rate_limit_arp_nd_consume_tokens),
	cmocka_unit_test(test_rate_limit_is_per_instance),
	cmocka_unit_test(test_loader_pins_program_and_maps),
	cmocka_unit_test(test_loader_reload_reuses_maps_and_replaces_program),
	cmocka_unit_test(test_loader_writes_default_config_when_zero),
	cmocka_unit_test(test_bpffs_ensure),
};

int main(int argc, char **argv)
{
	static struct CMUnitTest tests[ARRAY_SIZE(cases) + ARRAY_SIZE(extra_tests)];
	size_t n = 0;

	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		long repeat = argc > 2 ? strtol(argv[2], NULL, 10) : BENCH_REPEAT;

		return bench(repeat > 0 ? (uint32_t)repeat : BENCH_REPEAT);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)&cases[i],
		};
	for (size_t i = 0; i < ARRAY_SIZE(extra_tests); i++)
		tests[n++] = extra_tests[i];
	return cmocka_run_group_tests_name("bpf_xdp", tests, env_setup, env_teardown);
}
