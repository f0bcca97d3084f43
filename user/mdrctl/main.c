/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrctl - the mdr CLI. Works on the pinned maps directly (mdrd need not
 * run). Every change is validated before the first map write: on invalid
 * input mdrctl prints one line naming the problem, exits non-zero and the
 * maps are unchanged. Commands are declared once, in the table below,
 * which also writes --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "log.h"

struct ctl_command {
	const char *name;
	const char *args; /* usage after the name; "\n" starts another line */
	const char *help;
	int (*fn)(int argc, char **argv); /* argv[0] is the command's name */
};

static int cmd_help(int argc, char **argv);

static const struct ctl_command commands[] = {
	{"instance", "load [--allow-missing-port] FILE.json|-", "create or atomically replace", cmd_instance},
	{"instance", "del UUID", "delete (bindings, content, counters)", cmd_instance},
	{"instance", "list [-j]", "instances with generation and bindings", cmd_instance},
	{"instance", "show UUID [-j]", "the stored definition", cmd_instance},
	{"bind", "UUID --port IFNAME [--mac MAC [--vlan N]] [--force]", "bind a port", cmd_bind},
	{"bind", "UUID --mac MAC [--vlan N] [--force]", "bind a MAC (pinned to the instance's port)", cmd_bind},
	{"unbind", "UUID --port IFNAME | --mac MAC [--vlan N]", "remove a binding", cmd_unbind},
	{"get", "UUID PATH", "what the guest receives (status, headers, body)", cmd_get},
	{"put", "UUID PATH FILE|-", "add or override one value", cmd_put},
	{"rm", "UUID PATH", "make PATH (and below) 404", cmd_rm},
	{"configdrive", "UUID|FILE.json OUT [--format iso|vfat]", "write the instance's config drive (config-2) image", cmd_configdrive},
	{"stats", "[-j] [UUID]", "XDP and responder counters", cmd_stats},
	{"status", "[-j]", "data path, attached interfaces, responder sockets, config", cmd_status},
	{"why", "PORT|MAC|UUID [-j] [-w MS]", "walk one guest's chain (interface, program, binding, definition, sockets, counters) and name the first broken link", cmd_why},
	{"features", "[-j]", "kernel features mdr needs, probed now (exit 1: one is missing)", cmd_features},
	{"config", "[--policy-unknown pass|drop] [--policy-no-xsk pass|drop] [--meta-mac MAC]\n"
		   "[--rate N] [--burst N] [--arp on|off] [--xdp-synack on|off] [--endpoint ADDR:PORT ...] [-j]",
	 "change and print mdr_config (no option: print)", cmd_config},
	{"set", "UUID FIELD JSON|@FILE|-", "set (null: remove) tags, instance_metadata_tags, events, spot, instance_life_cycle or iam", cmd_set},
	{"credentials", "set UUID ROLE --file FILE|- [--profile-arn ARN]", "store or refresh a role's IAM credentials (EC2 JSON)", cmd_credentials},
	{"credentials", "rm UUID ROLE", "remove a role's credentials", cmd_credentials},
	{"password", "clear UUID", "empty the guest's password (nova's os-server-password DELETE)", cmd_password},
	{"node-key", "install KEY.pem CERT.pem", "install the node key that signs identity documents", cmd_node_key},
	{"notify", "UUID", "wake the instance's long-polls after a change made by hand (bpftool)", cmd_notify},
	{"token-key", "rotate", "new IMDSv2 key; the current one stays valid as previous", cmd_token_key},
	{"help", "", "this text", cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("usage: mdrctl [--pin-dir DIR] [--node-key-dir DIR] COMMAND ...\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *c = &commands[i];
		const char *a = c->args, *nl;

		fprintf(f, "  %s", c->name);
		while ((nl = strchr(a, '\n'))) {
			fprintf(f, " %.*s\n%*s", (int)(nl - a), a, (int)strlen(c->name) + 2, "");
			a = nl + 1;
		}
		fprintf(f, "%s%s\n      %s\n", *a ? " " : "", a, c->help);
	}
	fputs("--pin-dir defaults to " MDR_DEFAULT_PIN_DIR ", --node-key-dir to /etc/mdr.\n", f);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return CTL_OK;
}

static const struct ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "node-key-dir", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_command *cmd;
	int c, r;

	mdr_log_init("mdrctl", MDR_LOG_WARN);
	/* Whatever we create (pin directory, pins) is root-only. */
	umask(077);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'P': ctl_pin_dir = optarg; break;
		case 'K': ctl_node_key_dir = optarg; break;
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	argc -= optind;
	argv += optind;
	cmd = find_command(argv[0]);
	if (!cmd)
		return ctl_usage("unknown command \"%s\"", argv[0]);
	r = cmd->fn(argc, argv);
	ctl_close();
	return r;
}
