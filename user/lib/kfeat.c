/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kfeat: kernel feature probes (see kfeat.h). */
#include "kfeat.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <xdp/xsk.h>

#include "rtnl.h"

/* The throwaway namespace's probes must answer within this, or they are
 * reported unknown (a wedged child is killed). */
#define FEAT_CHILD_TIMEOUT_MS 5000
/* UMEM of the AF_XDP bind probe: the smallest the kernel takes for a ring
 * pair of the default size is irrelevant; a few frames suffice. */
#define FEAT_UMEM_FRAMES 16
/* Names of the probe links, inside the child's own namespace only. */
#define FEAT_VETH0 "mdrprobe0"
#define FEAT_VETH1 "mdrprobe1"
#define FEAT_TAP "mdrprobet"

struct feat_row {
	const char *name;
	const char *provides;
	bool required;
};

/* ---- probes asked of libbpf / the kernel directly ---- */

struct helper_probe {
	enum bpf_func_id id;
	const char *name;
	const char *provides;
};

static const struct helper_probe helpers[] = {
	{BPF_FUNC_map_lookup_elem, "helper bpf_map_lookup_elem", "Linux 4.8 in XDP"},
	{BPF_FUNC_map_update_elem, "helper bpf_map_update_elem", "Linux 4.8 in XDP"},
	{BPF_FUNC_ktime_get_ns, "helper bpf_ktime_get_ns", "Linux 4.8 in XDP"},
	{BPF_FUNC_xdp_adjust_head, "helper bpf_xdp_adjust_head", "Linux 4.10"},
	{BPF_FUNC_xdp_adjust_tail, "helper bpf_xdp_adjust_tail", "Linux 4.18"},
	{BPF_FUNC_redirect_map, "helper bpf_redirect_map", "Linux 4.14"},
	{BPF_FUNC_spin_lock, "helper bpf_spin_lock", "Linux 5.1"},
	{BPF_FUNC_spin_unlock, "helper bpf_spin_unlock", "Linux 5.1"},
};

/* Not used (the tag travels in a prepended header), shown because it is
 * what XDP metadata designs need and what some kernels refuse. */
#define KFEAT_ADJUST_META_ROW "helper bpf_xdp_adjust_meta"
#define KFEAT_ADJUST_META_NOTE "not needed: mdr tags frames with bpf_xdp_adjust_head"

struct map_probe {
	enum bpf_map_type type;
	const char *name;
	const char *provides;
};

static const struct map_probe maps[] = {
	{BPF_MAP_TYPE_ARRAY, "map type array", "Linux 3.19"},
	{BPF_MAP_TYPE_HASH, "map type hash", "Linux 3.19"},
	{BPF_MAP_TYPE_PERCPU_ARRAY, "map type percpu_array", "Linux 4.6"},
	{BPF_MAP_TYPE_PERCPU_HASH, "map type percpu_hash", "Linux 4.6"},
	{BPF_MAP_TYPE_XSKMAP, "map type xskmap", "Linux 4.18, CONFIG_XDP_SOCKETS=y"},
};

static void set(struct mdr_feature *f, const char *name, const char *provides, bool required,
		enum mdr_feat_status st, int err)
{
	f->name = name;
	f->provides = provides;
	f->required = required;
	f->status = st;
	f->detail[0] = '\0';
	if (st != MDR_FEAT_OK && err)
		snprintf(f->detail, sizeof(f->detail), "%s", strerror(err < 0 ? -err : err));
}

/* libbpf probes answer 1 (yes), 0 (no) or -errno (could not ask). */
static void set_probe(struct mdr_feature *f, const char *name, const char *provides, int r)
{
	set(f, name, provides, true, r == 1 ? MDR_FEAT_OK : r == 0 ? MDR_FEAT_MISSING : MDR_FEAT_UNKNOWN,
	    r < 0 ? r : 0);
}

/* Verifier log of a helper probe: big enough for the one error line. */
#define KFEAT_LOG_SIZE 4096

/*
 * Does the verifier let an XDP program call helper `id`? Load a program
 * that calls it (arguments need not be valid) and read the verifier's
 * verdict: only "unknown func", "invalid func" and "cannot use helper" mean
 * no; an argument error means the helper exists. libbpf 1.1's own probe
 * misses "program of this type cannot use helper", which is how kernel
 * 6.18.44 refuses bpf_xdp_adjust_meta.
 */
int mdr_kfeat_helper(int id)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0},
		{.code = BPF_JMP | BPF_CALL, .imm = id},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	static char log[KFEAT_LOG_SIZE];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	int fd;

	log[0] = '\0';
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mdr_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &o);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (errno == EPERM)
		return -EPERM;
	if (strstr(log, "unknown func ") || strstr(log, "invalid func ") ||
	    strstr(log, "cannot use helper "))
		return 0;
	return log[0] ? 1 : -errno;
}

static int fs_listed(const char *fs)
{
	char line[128], want[64];
	FILE *f = fopen("/proc/filesystems", "re");
	int found = 0;

	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "\t%s\n", fs);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static int af_xdp_socket(void)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == EAFNOSUPPORT ? 0 : -errno;
}

/* ---- probes run in a throwaway network namespace ---- */

enum child_probe { CP_GENERIC, CP_NATIVE_VETH, CP_NATIVE_TAP, CP_XSK_BIND, CP_COUNT };

static const struct feat_row child_rows[CP_COUNT] = {
	[CP_GENERIC] = {"XDP attach, generic mode", "Linux 4.12", true},
	[CP_NATIVE_VETH] = {"XDP attach, native mode on veth", "Linux 4.19 (else generic)", false},
	[CP_NATIVE_TAP] = {"XDP attach, native mode on tun/tap", "Linux 4.14 (else generic)", false},
	[CP_XSK_BIND] = {"AF_XDP bind, copy mode with need-wakeup", "Linux 5.4, CONFIG_XDP_SOCKETS=y", true},
};

/* What the child reports: per probe 1 yes, 0 no, or -errno. */
struct child_report {
	int r[CP_COUNT];
};

static int veth_create(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mdr_rtnl_open(0, 0);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *li, *data, *peer;
	int r = 0;

	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, FEAT_VETH0);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, FEAT_VETH1);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
	} else {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0 || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0)
			r = -errno;
	}
	mnl_socket_close(nl);
	return r;
}

static int tap_create(void)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", FEAT_TAP);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd; /* the tap lives while the fd is open */
}

/* The smallest XDP program: return XDP_PASS. */
static int pass_prog(void)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mdr_probe", "GPL", insns, 2, NULL);

	return fd < 0 ? -errno : fd;
}

static int try_attach(const char *ifname, int prog, __u32 mode)
{
	int ifindex = (int)if_nametoindex(ifname);
	int r;

	if (!ifindex)
		return -errno;
	r = bpf_xdp_attach(ifindex, prog, mode, NULL);
	if (r)
		return r == -EOPNOTSUPP ? 0 : r;
	bpf_xdp_detach(ifindex, mode, NULL);
	return 1;
}

static int try_xsk_bind(const char *ifname)
{
	const struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	size_t len = (size_t)FEAT_UMEM_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	struct xsk_umem *umem = NULL;
	struct xsk_socket *xsk = NULL;
	void *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (area == MAP_FAILED)
		return -errno;
	r = xsk_umem__create(&umem, area, len, &fq, &cq, NULL);
	if (!r)
		r = xsk_socket__create(&xsk, ifname, 0, umem, &rx, &tx, &cfg);
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	munmap(area, len);
	if (r == -EAFNOSUPPORT || r == -EOPNOTSUPP)
		return 0;
	return r ? r : 1;
}

static void child_probe(int wfd)
{
	struct child_report rep;
	int prog, tap = -1, r;

	for (int i = 0; i < CP_COUNT; i++)
		rep.r[i] = -ENOSYS;
	if (unshare(CLONE_NEWNET)) {
		r = -errno;
		for (int i = 0; i < CP_COUNT; i++)
			rep.r[i] = r;
		goto out;
	}
	prog = pass_prog();
	r = veth_create();
	if (prog < 0 || r) {
		for (int i = 0; i < CP_COUNT; i++)
			rep.r[i] = prog < 0 ? prog : r;
		goto out;
	}
	rep.r[CP_GENERIC] = try_attach(FEAT_VETH0, prog, XDP_FLAGS_SKB_MODE);
	rep.r[CP_NATIVE_VETH] = try_attach(FEAT_VETH0, prog, XDP_FLAGS_DRV_MODE);
	tap = tap_create();
	rep.r[CP_NATIVE_TAP] = tap < 0 ? tap : try_attach(FEAT_TAP, prog, XDP_FLAGS_DRV_MODE);
	rep.r[CP_XSK_BIND] = try_xsk_bind(FEAT_VETH0);
out:
	if (write(wfd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(1);
	_exit(0);
}

/* Run child_probe() in a child process; its namespace, links and program
 * vanish when it exits. */
static void netns_probes(struct child_report *rep)
{
	int p[2], st;
	pid_t pid;
	struct pollfd pfd;
	ssize_t n = -1;

	for (int i = 0; i < CP_COUNT; i++)
		rep->r[i] = -ETIMEDOUT;
	if (pipe2(p, O_CLOEXEC))
		return;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child_probe(p[1]);
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	if (poll(&pfd, 1, FEAT_CHILD_TIMEOUT_MS) == 1)
		n = read(p[0], rep, sizeof(*rep));
	if (n != (ssize_t)sizeof(*rep)) {
		for (int i = 0; i < CP_COUNT; i++)
			rep->r[i] = -ETIMEDOUT;
		kill(pid, SIGKILL);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* The test hook: every row whose name contains one of the comma-separated
 * words of `deny` is reported missing, as on a kernel without it. */
static void apply_deny(struct mdr_feature *f, size_t n, const char *deny)
{
	char buf[256], *save = NULL;

	if (!deny || !*deny || strlen(deny) >= sizeof(buf))
		return;
	memcpy(buf, deny, strlen(deny) + 1);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (size_t i = 0; i < n; i++) {
			if (!*w || !strstr(f[i].name, w))
				continue;
			f[i].status = MDR_FEAT_MISSING;
			snprintf(f[i].detail, sizeof(f[i].detail), "denied by %s", MDR_KFEAT_DENY_ENV);
		}
	}
}

size_t mdr_features_probe(struct mdr_feature *out, unsigned flags)
{
	size_t n = 0;
	int r;

	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL);
	set_probe(&out[n++], "bpf() and program type XDP", "Linux 4.8, CONFIG_BPF_SYSCALL=y", r);
	r = fs_listed("bpf");
	set_probe(&out[n++], "bpffs", "Linux 4.4, CONFIG_BPF_SYSCALL=y", r);
	r = access("/sys/kernel/btf/vmlinux", R_OK) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
	set_probe(&out[n], "kernel BTF (/sys/kernel/btf/vmlinux)",
		  "CONFIG_DEBUG_INFO_BTF=y (else libxdp attaches without its dispatcher)", r);
	out[n++].required = false;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		r = libbpf_probe_bpf_map_type(maps[i].type, NULL);
		set_probe(&out[n++], maps[i].name, maps[i].provides, r);
	}
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		r = mdr_kfeat_helper(helpers[i].id);
		set_probe(&out[n++], helpers[i].name, helpers[i].provides, r);
	}
	r = mdr_kfeat_helper(BPF_FUNC_xdp_adjust_meta);
	set_probe(&out[n], KFEAT_ADJUST_META_ROW, KFEAT_ADJUST_META_NOTE, r);
	out[n++].required = false;
	r = af_xdp_socket();
	set_probe(&out[n++], "AF_XDP sockets", "Linux 4.18, CONFIG_XDP_SOCKETS=y", r);
	if (!(flags & MDR_FEAT_SKIP_NETNS)) {
		struct child_report rep;

		netns_probes(&rep);
		for (int i = 0; i < CP_COUNT; i++) {
			set_probe(&out[n], child_rows[i].name, child_rows[i].provides, rep.r[i]);
			out[n++].required = child_rows[i].required;
		}
	}
	apply_deny(out, n, getenv(MDR_KFEAT_DENY_ENV));
	return n;
}

const struct mdr_feature *mdr_features_first_missing(const struct mdr_feature *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].required && f[i].status == MDR_FEAT_MISSING)
			return &f[i];
	return NULL;
}

const char *mdr_feat_status_name(enum mdr_feat_status s)
{
	return s == MDR_FEAT_OK ? "ok" : s == MDR_FEAT_MISSING ? "missing" : "unknown";
}

void mdr_features_print(FILE *out, const struct mdr_feature *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-8s %-44s %s%s%s%s\n", mdr_feat_status_name(f[i].status), f[i].name,
			f[i].provides, f[i].required ? "" : " [optional]",
			f[i].detail[0] ? ": " : "", f[i].detail);
}
