// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mdrctl set, credentials, password, node-key: what orchestration changes
 * at run time on EC2's categories (docs/instance-definition.md "AWS
 * categories") and nova's password reset. Each edit reads the stored
 * instance, changes one member, validates the whole document again and
 * stores a new generation (atomic like any replace); invalid input changes
 * nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "aws.h"
#include "clock.h"
#include "ctl.h"
#include "identity.h"
#include "store.h"

const char *ctl_node_key_dir = MDR_DEFAULT_NODE_KEY_DIR;

/* Read UUID with contents, set member key to value (NULL: remove), store. */
static int store_member(const char *uuid, const char *key, const json_t *value,
			const char *what)
{
	char err[MDR_DEFN_ERR_SIZE + 64];
	struct mdr_store_result res;
	struct mdr_defn *d;
	int r;

	if (ctl_open())
		return CTL_FAIL;
	if (mdr_store_get(&ctl_maps, uuid, 0, MDR_STORE_GET_CONTENTS, NULL, NULL, &d, err,
			  sizeof(err)))
		return ctl_fail("%s", err);
	if ((r = mdr_defn_set_member(d, key, value, err, sizeof(err)))) {
		mdr_defn_free(d);
		return ctl_fail("%s: %s", what, err);
	}
	/* The binding is unchanged: an absent port stays deferred, not an error. */
	if ((r = mdr_store_put(&ctl_maps, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err)))) {
		mdr_defn_free(d);
		return ctl_fail("%s", err);
	}
	printf("instance %s %s (generation %u)\n", d->uuid, what, res.gen);
	mdr_defn_free(d);
	return CTL_OK;
}

/* A JSON value from text, "@FILE" or "-" (stdin). NULL after a message. */
static json_t *read_value(const char *arg)
{
	json_error_t je;
	char *text;
	size_t len;
	json_t *v;

	if (arg[0] == '@' || !strcmp(arg, "-")) {
		if (ctl_read_input(arg[0] == '@' ? arg + 1 : arg, &text, &len))
			return NULL;
	} else {
		text = strdup(arg);
		len = text ? strlen(text) : 0;
	}
	v = text ? json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je) : NULL;
	free(text);
	if (!v)
		ctl_fail("not JSON: %s", text ? je.text : "out of memory");
	return v;
}

int cmd_set(int argc, char **argv)
{
	char what[128];
	json_t *v;
	int r;

	if (argc != 4)
		return ctl_usage("usage: set UUID FIELD JSON|@FILE|-");
	if (!strcmp(argv[2], "identity"))
		return ctl_fail("set: identity is written when a definition is loaded, signed "
				"with the node key (mdrctl node-key install)");
	if (!(v = read_value(argv[3])))
		return CTL_FAIL;
	snprintf(what, sizeof(what), "%s %s", json_is_null(v) ? "removed" : "set", argv[2]);
	r = store_member(argv[1], argv[2], json_is_null(v) ? NULL : v, what);
	json_decref(v);
	return r;
}

/* credentials set UUID ROLE --file F [--profile-arn ARN], credentials rm UUID ROLE */
int cmd_credentials(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "profile-arn", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *arn = NULL;
	char err[MDR_DEFN_ERR_SIZE + 64], what[128], stamp[MDR_AWS_TIME_SIZE];
	struct mdr_defn *d;
	json_t *iam, *creds, *one = NULL;
	int rm = argc > 1 && !strcmp(argv[1], "rm"), c, r;
	const char *uuid, *role;
	int64_t exp;

	optind = 0; /* options may follow UUID ROLE (GNU permutation) */
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (c == 'f')
			file = optarg;
		else if (c == 'a')
			arn = optarg;
		else
			return ctl_usage("credentials: unknown option");
	}
	if (argc - 1 - optind != 2 || (!rm && strcmp(argv[1], "set")) || (rm && (file || arn)) ||
	    (!rm && !file))
		return ctl_usage("usage: credentials set UUID ROLE --file FILE|- [--profile-arn ARN]"
				 " | credentials rm UUID ROLE");
	uuid = argv[1 + optind];
	role = argv[1 + optind + 1];

	if (!rm) {
		char *text;
		size_t len;
		json_error_t je;

		if (ctl_read_input(file, &text, &len))
			return CTL_FAIL;
		one = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (!json_is_object(one)) {
			json_decref(one);
			return ctl_fail("credentials set: %s: not a JSON object", file);
		}
		/* EC2 dates every refresh: LastUpdated is now unless the file says */
		if (!json_object_get(one, "LastUpdated")) {
			mdr_aws_time_fmt(mdr_wall_s(NULL), stamp);
			json_object_set_new(one, "LastUpdated", json_string(stamp));
		}
		if (!mdr_aws_time_parse(json_string_value(json_object_get(one, "Expiration")), &exp) &&
		    exp <= mdr_wall_s(NULL)) {
			ctl_fail("credentials set: %s: Expiration %s has passed", file,
				 json_string_value(json_object_get(one, "Expiration")));
			json_decref(one);
			return CTL_FAIL;
		}
	}
	if (ctl_open()) {
		json_decref(one);
		return CTL_FAIL;
	}
	if (mdr_store_get(&ctl_maps, uuid, 0, 0, NULL, NULL, &d, err, sizeof(err))) {
		json_decref(one);
		return ctl_fail("%s", err);
	}
	iam = json_deep_copy(json_object_get(d->doc, "iam"));
	mdr_defn_free(d);
	if (!iam && (rm || !arn)) {
		json_decref(one);
		return ctl_fail("credentials: instance %s has no iam (give --profile-arn ARN)", uuid);
	}
	if (!iam)
		iam = json_pack("{s:s, s:{}}", "instance_profile_arn", arn, "credentials");
	else if (arn)
		json_object_set_new(iam, "instance_profile_arn", json_string(arn));
	creds = json_object_get(iam, "credentials");
	if (rm && json_object_del(creds, role)) {
		json_decref(iam);
		return ctl_fail("credentials rm: instance %s has no role \"%s\"", uuid, role);
	}
	if (!rm)
		json_object_set_new(creds, role, one);
	snprintf(what, sizeof(what), "credentials of role %s %s", role, rm ? "removed" : "set");
	r = store_member(uuid, "iam", iam, what);
	json_decref(iam);
	return r;
}


/* nova's DELETE /servers/{id}/os-server-password: the password becomes
 * empty (nova stores ""), so GET answers an empty body and the guest may
 * POST a new one (nova's 409 is only for a non-empty password). */
int cmd_password(int argc, char **argv)
{
	uint32_t id;
	int r;

	if (argc != 3 || strcmp(argv[1], "clear"))
		return ctl_usage("usage: password clear UUID");
	if (ctl_open())
		return CTL_FAIL;
	if ((r = mdr_store_lookup(&ctl_maps, argv[2], &id)))
		return ctl_fail("password: %s \"%s\"",
				r == -EINVAL ? "not a uuid:" : "unknown instance", argv[2]);
	if (bpf_map_delete_elem(ctl_maps.passwords, &id) && errno != ENOENT)
		return ctl_fail("password clear: %s", strerror(errno));
	printf("instance %s password cleared\n", argv[2]);
	return CTL_OK;
}

int cmd_node_key(int argc, char **argv)
{
	char err[512];

	if (argc != 4 || strcmp(argv[1], "install"))
		return ctl_usage("usage: node-key install KEY.pem CERT.pem");
	if (mdr_identity_install(ctl_node_key_dir, argv[2], argv[3], err, sizeof(err)))
		return ctl_fail("node-key install: %s", err);
	printf("node key installed in %s (instances loaded from now on are signed)\n",
	       ctl_node_key_dir);
	return CTL_OK;
}

int ctl_sign(struct mdr_defn *d, const char *what)
{
	char err[512];

	if (mdr_identity_sign(d, ctl_node_key_dir, err, sizeof(err)) < 0)
		return ctl_fail("%s: identity document: %s", what, err);
	return CTL_OK;
}
