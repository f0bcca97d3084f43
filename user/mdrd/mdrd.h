/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mdrd internals shared by its source files. */
#ifndef MDRD_H
#define MDRD_H

#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include "pinned.h"
#include "settings.h"

/* Exit statuses: 1 runtime failure, 2 bad usage or configuration, 3 a
 * kernel feature the data path needs is missing (named in the log). */
#define MDRD_EXIT_FEATURE 3
#define MDRD_EXIT_FEATURE_STR "3"

/* --iface patterns given (flags + config file). */
#define MDRD_MAX_PATTERNS 64
/* --metrics ADDR:PORT: an IPv6 address in brackets and a port fit
 * (MDR_PROMHTTP_ADDR_MAX, promhttp.h). */
#define MDRD_METRICS_ADDR_MAX 64
/* A config file line (key=value). */
#define MDRD_CONFIG_LINE_MAX 1024

/* --xdp-mode: how the program is attached. Generic keeps a veth peer's
 * GSO (a native program on a veth strips NETIF_F_GSO_SOFTWARE from its
 * peer, so the guest sends MTU-sized frames). */
enum mdrd_xdp_mode {
	MDRD_XDP_AUTO = 0, /* native, generic where native fails (the default) */
	MDRD_XDP_NATIVE,   /* native only */
	MDRD_XDP_GENERIC,  /* generic (skb) only */
};

struct mdrd_opts {
	char pin_dir[MDR_PIN_DIR_MAX];
	char instances[PATH_MAX];          /* "" = none */
	char config_file[PATH_MAX];        /* "" = none */
	char *patterns[MDRD_MAX_PATTERNS]; /* owned */
	int n_patterns;
	int purge_on_exit;
	enum mdrd_xdp_mode xdp_mode;       /* applies to attachments made from now on */
	char config_drive_dir[PATH_MAX];   /* "" = no config drive images */
	int config_drive_format;           /* enum mdr_cdrive_format (cdimage.h) */
	struct mdr_config_edit cfg;        /* settings for mdr_config */
	char metrics[MDRD_METRICS_ADDR_MAX]; /* --metrics ADDR:PORT, "" = off */
	char node_key_dir[PATH_MAX];       /* identity.h: the node key's directory */
};

extern struct mdr_maps mdrd_maps;
extern struct mdrd_opts mdrd_opts;
extern int mdrd_attaching; /* silences libbpf while libxdp probes */

/* links.c: interfaces, XDP attachment, rtnetlink */
int links_init(int prog_fd);           /* returns the event socket fd or -errno */
int links_resync(void);                /* dump every link, attach/detach */
void links_event(void);                /* read pending rtnetlink events */
void links_detach_all(void);
void links_close(void);
void links_meta_mac_sync(void);   /* FDB entries of bridges <- mdr_config meta_mac */
void links_meta_mac_resync(void); /* the same, retrying failed installs (SIGHUP) */
int links_timeout_ms(void);            /* poll timeout, -1 = none */
void links_tick(void);

/* fdb.c: the metadata MAC as a permanent local FDB entry of a bridge
 * device (RTM_NEWNEIGH / RTM_DELNEIGH, AF_BRIDGE, NTF_SELF). 0 or -errno. */
int fdb_local_add(uint32_t ifindex, const uint8_t mac[6]);
/* queues.c: RX queues in use (ethtool channels), else the allocated count */
uint32_t mdrd_rx_queues_in_use(const char *ifname, uint32_t allocated);
int fdb_local_del(uint32_t ifindex, const uint8_t mac[6]);

/* instances.c: instances directory and deferred port bindings */
int instances_init(void);              /* returns the inotify fd (-1 without dir) */
void instances_load_all(void);
void instances_event(void);
int instances_timeout_ms(void);       /* poll timeout, -1 = none */
void instances_tick(void);
void instances_link_added(uint32_t ifindex, const char *name);
void instances_close(void);

/* portsec.c: per-bridge-port source-MAC rules (nftables) for MACs bound
 * on ports of an attached bridge (issue 12 hole 3) */
void portsec_init(void);             /* probe nftables (a warning if absent) */
void portsec_sync(int force);        /* rules <- stored bindings (force: even unchanged) */
int portsec_timeout_ms(void);        /* poll timeout */
void portsec_tick(void);
void portsec_close(int keep);        /* remove the table unless keep (upgrade) */

/* configdrive.c: --config-drive-dir, an image per stored instance */
int configdrive_init(void);            /* 0, or -1 (directory unusable, logged) */
void configdrive_sync(void);           /* write changed images, remove deleted ones */
int configdrive_timeout_ms(void);      /* poll timeout, -1 = none */
void configdrive_tick(void);

/* upgrade.c: load over the pins of an older release (see there) */
struct mdr_xdp_bpf;
int upgrade_load(const char *pin_dir, struct mdr_xdp_bpf **skel); /* 0 or -errno */
/* Atomically replace an older mdr program attached to ifindex (mode flags
 * XDP_FLAGS_SKB_MODE / _DRV_MODE) by new_fd. 0, -ENOENT (none), -EEXIST
 * (another program), -errno. */
int upgrade_replace(uint32_t ifindex, int new_fd, uint32_t mode_flags);
void upgrade_finish(void); /* after the first attach pass: drop old pins */
extern int mdrd_keep_attached; /* SIGUSR2: exit leaving the program attached */

/* notify.c: the STATUS= line under systemd (mdr_sd_ready(mdrd_sd_status)) */
void mdrd_sd_status(char *buf, size_t len);

/* metrics.c: Prometheus exposition on --metrics (libmicrohttpd thread) */
int metrics_check_addr(const char *spec); /* 0 or -EINVAL */
int metrics_apply(void);  /* (re)start on mdrd_opts.metrics; 0 or -errno */
void metrics_stop(void);

#endif
