/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* loader.c - see loader.h. */
#include "loader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "mdr_xdp.skel.h"

/* Where bpffs lives on a standard system; only there may we mount it. */
#define MDR_BPFFS_ROOT "/sys/fs/bpf"

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int under_bpffs_root(const char *path)
{
	size_t n = strlen(MDR_BPFFS_ROOT);

	return strncmp(path, MDR_BPFFS_ROOT, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int mdr_bpffs_ensure(const char *pin_dir)
{
	int err;

	if (!pin_dir || !*pin_dir)
		return -EINVAL;
	if (under_bpffs_root(pin_dir) && !is_bpffs(MDR_BPFFS_ROOT)) {
		err = mkdir_p(MDR_BPFFS_ROOT);
		if (err)
			return err;
		if (mount("bpf", MDR_BPFFS_ROOT, "bpf", 0, "mode=0700") && errno != EBUSY)
			return -errno;
	}
	err = mkdir_p(pin_dir);
	if (err)
		return err;
	return is_bpffs(pin_dir) ? 0 : -ENOTSUP;
}

void mdr_config_defaults(struct mdr_config *cfg)
{
	static const __u8 mac[6] = MDR_DEFAULT_META_MAC;
	static const __u8 ll6[16] = {0xfe, 0x80, [12] = 0xa9, 0xfe, 0xa9, 0xfe};
	static const __u8 ec2_6[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, 0x54};
	static const __u8 v4[4] = {169, 254, 169, 254};

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->meta_mac, mac, sizeof(mac));
	cfg->unknown_policy = MDR_POLICY_PASS;
	cfg->no_xsk_policy = MDR_POLICY_PASS;
	cfg->default_rate_pps = MDR_DEFAULT_RATE_PPS;
	cfg->default_burst = MDR_DEFAULT_BURST;
	cfg->n_endpoints = 3;
	cfg->ep[0].family = 4;
	memcpy(cfg->ep[0].addr, v4, sizeof(v4));
	cfg->ep[1].family = 6;
	memcpy(cfg->ep[1].addr, ll6, sizeof(ll6));
	cfg->ep[2].family = 6;
	memcpy(cfg->ep[2].addr, ec2_6, sizeof(ec2_6));
	for (int i = 0; i < 3; i++)
		cfg->ep[i].port_be = htons(80);
}

/* Write the default configuration unless someone configured it already. */
static int config_init(struct mdr_xdp_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.mdr_config);
	static const struct mdr_config zero;
	struct mdr_config cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg))
		return -errno;
	if (memcmp(&cfg, &zero, sizeof(cfg)))
		return 0;
	mdr_config_defaults(&cfg);
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* Pin under a temporary name (bpffs refuses names with a dot), then rename
 * over the old pin: the program path never disappears. Falls back to
 * unlink + pin. */
static int pin_prog(struct mdr_xdp_bpf *skel, const char *pin_dir)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, MDR_PROG_PIN_NAME) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/%s_tmp_%d", pin_dir, MDR_PROG_PIN_NAME, (int)getpid()) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	err = bpf_program__pin(skel->progs.mdr_xdp, tmp);
	if (err)
		return err;
	if (rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_program__pin(skel->progs.mdr_xdp, path);
}

int mdr_loader_open(const char *pin_dir, struct mdr_xdp_bpf **skel_out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct mdr_xdp_bpf *skel;
	int err;

	*skel_out = NULL;
	if (!pin_dir || !*pin_dir)
		return -EINVAL;
	skel = mdr_xdp_bpf__open_opts(&opts);
	if (!skel)
		return errno ? -errno : -EINVAL;
	err = mdr_xdp_bpf__load(skel);
	if (!err)
		err = pin_prog(skel, pin_dir);
	if (!err)
		err = config_init(skel);
	if (err) {
		mdr_xdp_bpf__destroy(skel);
		return err < 0 ? err : -err;
	}
	*skel_out = skel;
	return 0;
}

void mdr_loader_close(struct mdr_xdp_bpf *skel)
{
	if (skel)
		mdr_xdp_bpf__destroy(skel);
}
