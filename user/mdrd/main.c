/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd - the mdr loader daemon. Loads and pins the XDP program and its
 * maps (reusing pinned maps: a restart loses nothing), attaches the
 * program to the interfaces matching --iface, follows rtnetlink and the
 * instances directory, and applies the runtime configuration.
 * SIGHUP re-reads everything; SIGTERM/SIGINT detach the program from every
 * interface mdrd attached (and remove the metadata MAC's FDB entry from the
 * bridges among them) and leave the maps pinned (--purge-on-exit
 * removes the pins too). SIGUSR2 exits leaving the program attached, for
 * an upgrade: the next mdrd replaces it atomically (upgrade.c).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "mdrd.h"
#include "identity.h"
#include "cdimage.h"
#include "loader.h"
#include "settings.h"
#include "log.h"
#include "kfeat.h"
#include "sd.h"
#include "mdr_xdp.skel.h"

struct mdr_maps mdrd_maps;
struct mdrd_opts mdrd_opts;

/* What the command line said; merged with the config file on every
 * (re)load, the command line winning for single-valued settings. */
static struct mdrd_opts cli;
static int cli_has_pin_dir, cli_has_instances, cli_has_purge, cli_has_xdp_mode;
static int cli_has_cd_dir, cli_has_cd_format;
static int probe_only;

static void usage(FILE *f)
{
	fputs("usage: mdrd [options]\n"
	      "  --pin-dir DIR          pin directory on a bpffs (default " MDR_DEFAULT_PIN_DIR ")\n"
	      "  --iface PATTERN        attach to interfaces matching this glob (repeatable)\n"
	      "  --instances DIR        load and follow *.json instance definitions there\n"
	      "  --config FILE          key=value settings (same names as these flags)\n"
	      "  --config-drive-dir DIR keep DIR/<uuid>.iso, each instance's config drive\n"
	      "  --config-drive-format iso|vfat  (vfat: DIR/<uuid>.img; default iso)\n"
	      "  --node-key-dir DIR     node-key.pem + node-cert.pem signing identity\n"
	      "                         documents (default " MDR_DEFAULT_NODE_KEY_DIR "; none: unsigned)\n"
	      "  --purge-on-exit        remove the pinned maps and program on exit\n"
	      "  --xdp-mode auto|native|generic\n"
	      "                         how the program is attached (default auto: native,\n"
	      "                         but generic on veth, where a native program strips\n"
	      "                         the guest end's GSO, and where native fails)\n"
	      "  --foreground           stay in the foreground (the default)\n"
	      "  --metrics ADDR:PORT    serve Prometheus metrics at http://ADDR:PORT/metrics\n"
	      "                         (off by default; use a loopback address)\n"
	      "  --policy-unknown pass|drop, --policy-no-xsk pass|drop, --meta-mac MAC,\n"
	      "  --rate N, --burst N, --arp on|off, --xdp-synack on|off, --endpoint ADDR[:PORT] (repeatable)\n"
	      "                         runtime configuration written to mdr_config\n"
	      "  --probe                print the kernel features mdr needs and exit\n"
	      "                         (status " MDRD_EXIT_FEATURE_STR " if a required one is missing)\n"
	      "  -v, --verbose          debug logs\n",
	      f);
}

static void free_patterns(struct mdrd_opts *o)
{
	for (int i = 0; i < o->n_patterns; i++)
		free(o->patterns[i]);
	o->n_patterns = 0;
}

static int add_pattern(struct mdrd_opts *o, const char *p)
{
	if (o->n_patterns == MDRD_MAX_PATTERNS) {
		mdr_log(MDR_LOG_ERR, "more than %d --iface patterns", MDRD_MAX_PATTERNS);
		return -1;
	}
	o->patterns[o->n_patterns] = strdup(p);
	return o->patterns[o->n_patterns++] ? 0 : -1;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* One setting from the command line or the config file. 0 or -1. */
static int apply_setting(struct mdrd_opts *o, const char *key, const char *val,
			 const char *where)
{
	char err[256];
	int r;

	if (!strcmp(key, "pin-dir")) {
		if (strlen(val) >= sizeof(o->pin_dir))
			goto toolong;
		snprintf(o->pin_dir, sizeof(o->pin_dir), "%s", val);
	} else if (!strcmp(key, "instances")) {
		if (strlen(val) >= sizeof(o->instances))
			goto toolong;
		snprintf(o->instances, sizeof(o->instances), "%s", val);
	} else if (!strcmp(key, "config-drive-dir")) {
		if (strlen(val) >= sizeof(o->config_drive_dir))
			goto toolong;
		snprintf(o->config_drive_dir, sizeof(o->config_drive_dir), "%s", val);
	} else if (!strcmp(key, "config-drive-format")) {
		enum mdr_cdrive_format f;

		if (mdr_cdrive_format_parse(val, &f)) {
			mdr_log(MDR_LOG_ERR, "%s: config-drive-format: expected iso or vfat", where);
			return -1;
		}
		o->config_drive_format = (int)f;
	} else if (!strcmp(key, "iface")) {
		return add_pattern(o, val);
	} else if (!strcmp(key, "purge-on-exit")) {
		if (parse_bool(val, &o->purge_on_exit)) {
			mdr_log(MDR_LOG_ERR, "%s: purge-on-exit: expected yes or no", where);
			return -1;
		}
	} else if (!strcmp(key, "xdp-mode")) {
		if (!strcmp(val, "auto"))
			o->xdp_mode = MDRD_XDP_AUTO;
		else if (!strcmp(val, "native"))
			o->xdp_mode = MDRD_XDP_NATIVE;
		else if (!strcmp(val, "generic"))
			o->xdp_mode = MDRD_XDP_GENERIC;
		else {
			mdr_log(MDR_LOG_ERR, "%s: xdp-mode: expected auto, native or generic",
				where);
			return -1;
		}
	} else if (!strcmp(key, "node-key-dir")) {
		if (strlen(val) >= sizeof(o->node_key_dir))
			goto toolong;
		snprintf(o->node_key_dir, sizeof(o->node_key_dir), "%s", val);
	} else if (!strcmp(key, "metrics")) {
		if (metrics_check_addr(val)) {
			mdr_log(MDR_LOG_ERR, "%s: metrics: expected ADDR:PORT or [ADDR6]:PORT", where);
			return -1;
		}
		snprintf(o->metrics, sizeof(o->metrics), "%s", val);
	} else if (!strcmp(key, "foreground")) {
		/* always in the foreground (run under systemd or a supervisor) */
	} else {
		r = mdr_config_edit_set(&o->cfg, key, val, err, sizeof(err));
		if (r == 1) {
			mdr_log(MDR_LOG_ERR, "%s: unknown setting \"%s\"", where, key);
			return -1;
		}
		if (r) {
			mdr_log(MDR_LOG_ERR, "%s: %s", where, err);
			return -1;
		}
	}
	return 0;
toolong:
	mdr_log(MDR_LOG_ERR, "%s: %s: path too long", where, key);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* key=value lines; '#' starts a comment; blank lines ignored. */
static int read_config_file(const char *path, struct mdrd_opts *o)
{
	char line[MDRD_CONFIG_LINE_MAX], where[PATH_MAX + 32];
	FILE *f = fopen(path, "r");
	int lineno = 0, bad = 0;

	if (!f) {
		mdr_log(MDR_LOG_ERR, "config %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *hash;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		eq = strchr(s, '=');
		if (!eq) {
			mdr_log(MDR_LOG_ERR, "%s: expected key=value", where);
			bad = 1;
			continue;
		}
		*eq = '\0';
		if (apply_setting(o, trim(s), trim(eq + 1), where))
			bad = 1;
	}
	fclose(f);
	return bad ? -1 : 0;
}

/* mdrd_opts = config file + command line. */
static int build_opts(void)
{
	struct mdrd_opts o;

	memset(&o, 0, sizeof(o));
	snprintf(o.pin_dir, sizeof(o.pin_dir), "%s", MDR_DEFAULT_PIN_DIR);
	if (cli.config_file[0] && read_config_file(cli.config_file, &o)) {
		free_patterns(&o);
		return -1;
	}
	if (cli_has_pin_dir)
		snprintf(o.pin_dir, sizeof(o.pin_dir), "%s", cli.pin_dir);
	if (cli_has_instances)
		snprintf(o.instances, sizeof(o.instances), "%s", cli.instances);
	if (cli_has_purge)
		o.purge_on_exit = cli.purge_on_exit;
	if (cli_has_xdp_mode)
		o.xdp_mode = cli.xdp_mode;
	if (cli.metrics[0])
		snprintf(o.metrics, sizeof(o.metrics), "%s", cli.metrics);
	if (cli.node_key_dir[0])
		snprintf(o.node_key_dir, sizeof(o.node_key_dir), "%s", cli.node_key_dir);
	else if (!o.node_key_dir[0])
		snprintf(o.node_key_dir, sizeof(o.node_key_dir), "%s", MDR_DEFAULT_NODE_KEY_DIR);
	if (cli_has_cd_dir)
		snprintf(o.config_drive_dir, sizeof(o.config_drive_dir), "%s", cli.config_drive_dir);
	if (cli_has_cd_format)
		o.config_drive_format = cli.config_drive_format;
	snprintf(o.config_file, sizeof(o.config_file), "%s", cli.config_file);
	for (int i = 0; i < cli.n_patterns; i++)
		if (add_pattern(&o, cli.patterns[i])) {
			free_patterns(&o);
			return -1;
		}
	/* Command-line settings override the file's. */
	{
		struct mdr_config_edit merged = o.cfg;
		struct mdr_config tmp;

		memset(&tmp, 0, sizeof(tmp));
		mdr_config_edit_apply(&o.cfg, &tmp);
		mdr_config_edit_apply(&cli.cfg, &tmp);
		merged.v = tmp;
		merged.set_unknown_policy |= cli.cfg.set_unknown_policy;
		merged.set_no_xsk_policy |= cli.cfg.set_no_xsk_policy;
		merged.set_meta_mac |= cli.cfg.set_meta_mac;
		merged.set_rate |= cli.cfg.set_rate;
		merged.set_burst |= cli.cfg.set_burst;
		merged.set_flags |= cli.cfg.set_flags;
		merged.set_endpoints |= cli.cfg.set_endpoints;
		o.cfg = merged;
	}
	free_patterns(&mdrd_opts);
	mdrd_opts = o;
	return 0;
}

static void apply_config(void)
{
	struct mdr_config c;
	int r;

	if (mdr_config_edit_empty(&mdrd_opts.cfg))
		return;
	if (mdr_maps_lock(&mdrd_maps))
		return;
	r = mdr_config_read(&mdrd_maps, &c);
	if (!r) {
		mdr_config_edit_apply(&mdrd_opts.cfg, &c);
		r = mdr_config_write(&mdrd_maps, &c);
	}
	mdr_maps_unlock(&mdrd_maps);
	if (r)
		mdr_log(MDR_LOG_ERR, "writing %s: %s", MDR_MAP_NAME(config), strerror(-r));
	else
		mdr_log(MDR_LOG_INFO, "configuration applied to %s", MDR_MAP_NAME(config));
}

static int parse_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "iface", required_argument, NULL, 'i' },
		{ "instances", required_argument, NULL, 'I' },
		{ "config", required_argument, NULL, 'c' },
		{ "purge-on-exit", no_argument, NULL, 'x' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "probe", no_argument, NULL, 'p' },
		MDR_SETTING_OPTIONS,
		{ "metrics", required_argument, NULL, 0 },
		{ "node-key-dir", required_argument, NULL, 0 },
		{ "config-drive-dir", required_argument, NULL, 'D' },
		{ "config-drive-format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	while ((c = getopt_long(argc, argv, "vh", opts, &idx)) != -1) {
		switch (c) {
		case 'P':
		case 'I':
			if (apply_setting(&cli, c == 'P' ? "pin-dir" : "instances", optarg,
					  "command line"))
				return -1;
			if (c == 'P')
				cli_has_pin_dir = 1;
			else
				cli_has_instances = 1;
			break;
		case 'D':
		case 'F':
			if (apply_setting(&cli, c == 'D' ? "config-drive-dir" : "config-drive-format",
					  optarg, "command line"))
				return -1;
			if (c == 'D')
				cli_has_cd_dir = 1;
			else
				cli_has_cd_format = 1;
			break;
		case 'i':
			if (add_pattern(&cli, optarg))
				return -1;
			break;
		case 'c':
			snprintf(cli.config_file, sizeof(cli.config_file), "%s", optarg);
			break;
		case 'x':
			cli.purge_on_exit = 1;
			cli_has_purge = 1;
			break;
		case 'f':
			break;
		case 'm':
			if (apply_setting(&cli, "xdp-mode", optarg, "command line"))
				return -1;
			cli_has_xdp_mode = 1;
			break;
		case 'v':
			mdr_log_set_level(MDR_LOG_DEBUG);
			break;
		case 'p':
			probe_only = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 0:
			if (apply_setting(&cli, opts[idx].name, optarg, "command line"))
				return -1;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		mdr_log(MDR_LOG_ERR, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	return 0;
}

static void purge_pins(void)
{
	struct mdr_map_ref refs[MDR_MAPS_COUNT];
	struct mdr_maps tmp;
	char path[PATH_MAX];
	size_t n = mdr_maps_refs(&tmp, refs);

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", mdrd_opts.pin_dir, refs[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", mdrd_opts.pin_dir, MDR_PROG_PIN_NAME);
	unlink(path);
	rmdir(mdrd_opts.pin_dir); /* fails harmlessly on a mount point */
	mdr_log(MDR_LOG_INFO, "pins under %s removed", mdrd_opts.pin_dir);
}

int mdrd_attaching;
int mdrd_keep_attached;
static int probing; /* feature probes fail on purpose: libbpf stays quiet */

/* Earliest of two poll timeouts (-1 = none). */
static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * Ask the kernel for every feature the data path needs before loading
 * anything. A missing one ends mdrd with one line naming it and what
 * provides it, and MDRD_EXIT_FEATURE. With --probe, print the table.
 */
static int check_features(void)
{
	struct mdr_feature f[MDR_FEATURES_MAX];
	const struct mdr_feature *miss;
	size_t n;

	probing = 1;
	n = mdr_features_probe(f, 0);
	probing = 0;
	if (probe_only)
		mdr_features_print(stdout, f, n);
	for (size_t i = 0; !probe_only && i < n; i++)
		if (f[i].status == MDR_FEAT_UNKNOWN)
			mdr_log(MDR_LOG_WARN, "kernel feature %s: could not be probed (%s)", f[i].name,
				f[i].detail);
	miss = mdr_features_first_missing(f, n);
	if (miss) {
		mdr_log(MDR_LOG_ERR, "kernel feature missing: %s (needs %s)", miss->name,
			miss->provides);
		return MDRD_EXIT_FEATURE;
	}
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	/* While attaching, libxdp probes its dispatcher through libbpf and
	 * may fail (then attaches the program alone): not our error. */
	if ((lvl == LIBBPF_DEBUG || mdrd_attaching || probing) && mdr_log_get_level() < MDR_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_quiet(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	/* libxdp warns about the dispatcher falling back: expected (see
	 * platform notes); attach failures are logged by mdrd itself. */
	(void)lvl;
	if (mdr_log_get_level() < MDR_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct mdr_xdp_bpf *skel = NULL;
	struct pollfd pfd[3];
	sigset_t mask;
	int r, nl_fd, ino_fd, sig_fd, running = 1, rc = 0;

	mdr_log_init("mdrd", MDR_LOG_INFO);
	/* Whatever we create (pin directory, pins) is root-only. */
	umask(077);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (parse_cli(argc, argv) || build_opts())
		return 2;
	libbpf_set_print(libbpf_quiet);
	libxdp_set_print(libxdp_quiet);
	r = check_features();
	if (r || probe_only)
		return r;
	if (mdrd_opts.n_patterns == 0)
		mdr_log(MDR_LOG_WARN, "no --iface pattern: the program is attached nowhere");

	r = mdr_bpffs_ensure(mdrd_opts.pin_dir);
	if (r) {
		mdr_log(MDR_LOG_ERR, "pin directory %s: %s%s", mdrd_opts.pin_dir, strerror(-r),
			r == -ENOTSUP ? " (not on a bpffs: mount -t bpf bpf DIR)" : "");
		return 1;
	}
	r = upgrade_load(mdrd_opts.pin_dir, &skel);
	if (r) {
		/* every feature it needs was there: the verifier or the pinned
		 * maps refused it, say which */
		mdr_log(MDR_LOG_ERR, "loading the XDP program into %s: %s (%s)", mdrd_opts.pin_dir,
			strerror(-r),
			r == -EINVAL ? "the verifier refused it or pinned maps of another layout are "
				       "in the way; run with -v for the verifier's log" :
			r == -EPERM ? "needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON" :
				      "see the line above");
		return 1;
	}
	{
		char err[MDR_PIN_DIR_MAX + 128];

		if (mdr_maps_open(&mdrd_maps, mdrd_opts.pin_dir, err, sizeof(err))) {
			mdr_log(MDR_LOG_ERR, "%s", err);
			mdr_loader_close(skel);
			return 1;
		}
	}
	mdr_log(MDR_LOG_INFO, "program and maps pinned under %s", mdrd_opts.pin_dir);
	apply_config();

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	nl_fd = links_init(bpf_program__fd(skel->progs.mdr_xdp));
	if (sig_fd < 0 || nl_fd < 0) {
		mdr_log(MDR_LOG_ERR, "setting up signals / rtnetlink: %s",
			strerror(nl_fd < 0 ? -nl_fd : errno));
		rc = 1;
		goto out;
	}
	ino_fd = instances_init();
	if (mdrd_opts.instances[0] && ino_fd < 0) {
		mdr_log(MDR_LOG_ERR, "instances directory %s: %s", mdrd_opts.instances,
			strerror(-ino_fd));
		rc = 1;
		goto out;
	}
	instances_load_all();
	if (configdrive_init()) {
		rc = 2;
		goto out;
	}
	if ((r = links_resync()))
		mdr_log(MDR_LOG_ERR, "reading links: %s", strerror(-r));
	portsec_init();
	portsec_sync(1);
	upgrade_finish();
	if (metrics_apply()) {
		rc = 1;
		goto out;
	}
	mdr_log(MDR_LOG_INFO, "ready");
	mdr_sd_ready(mdrd_sd_status);

	while (running) {
		int np = 0;

		pfd[np++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = nl_fd, .events = POLLIN };
		if (ino_fd >= 0)
			pfd[np++] = (struct pollfd){ .fd = ino_fd, .events = POLLIN };
		r = poll(pfd, (nfds_t)np,
			 min_timeout(min_timeout(min_timeout(instances_timeout_ms(), links_timeout_ms()),
				     min_timeout(configdrive_timeout_ms(), mdr_sd_tick())),
				     portsec_timeout_ms()));
		if (r < 0 && errno != EINTR) {
			mdr_log(MDR_LOG_ERR, "poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					mdr_log(MDR_LOG_INFO, "SIGHUP: re-reading everything");
					if (build_opts() == 0) {
						apply_config();
						metrics_apply();
					}
					instances_load_all();
					links_resync();
					links_meta_mac_resync();
					portsec_sync(1);
				} else {
					mdrd_keep_attached = si.ssi_signo == SIGUSR2;
					mdr_log(MDR_LOG_INFO, "%s: %s and exiting",
						strsignal((int)si.ssi_signo),
						mdrd_keep_attached ? "leaving the program attached (upgrade)" :
								     "detaching");
					running = 0;
				}
			}
		}
		if (pfd[1].revents)
			links_event();
		if (np > 2 && pfd[2].revents)
			instances_event();
		instances_tick();
		links_tick();
		configdrive_tick();
		if ((np > 2 && pfd[2].revents) || pfd[1].revents)
			portsec_sync(1);
		else
			portsec_tick();
	}
out:
	mdr_sd_stopping();
	metrics_stop();
	if (!mdrd_keep_attached)
		links_detach_all();
	portsec_close(mdrd_keep_attached);
	links_close();
	instances_close();
	mdr_maps_close(&mdrd_maps);
	mdr_loader_close(skel);
	if (mdrd_opts.purge_on_exit)
		purge_pins();
	free_patterns(&mdrd_opts);
	free_patterns(&cli);
	return rc;
}
