/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd instances: every *.json of --instances DIR is an instance
 * definition. Loaded at start and on SIGHUP, followed with inotify: a
 * created or changed file creates or replaces its instance, a removed file
 * deletes it. A file that fails validation is reported in one log line and
 * changes nothing (the previous version keeps being served).
 * Port bindings naming an interface that does not exist yet are resolved
 * when it appears (instances_link_added).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "mdrd.h"
#include "identity.h"
#include "clock.h"
#include "defn.h"
#include "log.h"
#include "store.h"

/* Largest definition file read (as mdrctl: contents in base64 + doc). */
#define INST_FILE_MAX (16u << 20)
/* A removed file deletes its instance only if it is still gone after this:
 * editors that save by rename-away-then-write must not blink the instance
 * out of existence. Well inside the one second the contract promises. */
#define INST_REMOVE_GRACE_MS 200
/* Room for a burst of inotify events in one read. */
#define INOTIFY_BUF (64 * 1024)

struct inst_file {
	char name[NAME_MAX + 1];
	char uuid[MDR_UUID_SIZE];
	int64_t remove_at_ms; /* 0 = present; else removal pending */
};

/* Port bindings of every stored instance (one entry per binding with a
 * port), cached by (id, gen): the name -> instance table that binds a
 * port when its interface appears. */
struct port_ref {
	uint32_t id;
	uint32_t gen;
	char uuid[MDR_UUID_SIZE];
	struct mdr_defn_binding b;
};

static struct inst_file files[MDR_MAX_INSTANCES];
static size_t n_files;
static struct port_ref *ports_tab;
static size_t n_ports_tab;
static int ino_fd = -1;

static int is_defn_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && l > 5 && !strcmp(n + l - 5, ".json");
}

static struct inst_file *find_file(const char *name)
{
	for (size_t i = 0; i < n_files; i++)
		if (!strcmp(files[i].name, name))
			return &files[i];
	return NULL;
}

static struct inst_file *other_file_with(const char *uuid, const struct inst_file *not)
{
	for (size_t i = 0; i < n_files; i++)
		if (&files[i] != not && !files[i].remove_at_ms && !strcmp(files[i].uuid, uuid))
			return &files[i];
	return NULL;
}

static int read_file(const char *path, char **out, size_t *len)
{
	/* O_NONBLOCK: a FIFO named x.json must not block the daemon (it is
	 * then refused as not a regular file); O_NOFOLLOW: a link is not
	 * followed out of the directory. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > INST_FILE_MAX) {
		int e = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL; /* a FIFO, device, directory */

		close(fd);
		return e;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Same blobs as what is stored: a restart or SIGHUP re-reading an
 * unchanged file writes nothing. */
static int same_as_stored(const struct mdr_defn *d)
{
	struct mdr_blob a[MDR_BLOB_FILE0 + MDR_MAX_FILES], b[MDR_BLOB_FILE0 + MDR_MAX_FILES];
	struct mdr_instance rec;
	struct mdr_limits lim;
	struct mdr_defn *s = NULL;
	size_t na, nb;
	uint32_t id;
	int same = 0;

	if (mdr_store_get(&mdrd_maps, d->uuid, 0, MDR_STORE_GET_CONTENTS, &id, &rec, &s, NULL, 0))
		return 0;
	if (!mdr_defn_blobs(d, a, MDR_BLOB_FILE0 + MDR_MAX_FILES, &na) &&
	    !mdr_defn_blobs(s, b, MDR_BLOB_FILE0 + MDR_MAX_FILES, &nb) && na == nb &&
	    !bpf_map_lookup_elem(mdrd_maps.limits, &id, &lim) && lim.rate_pps == d->imds.rate_pps &&
	    lim.burst == d->imds.burst) {
		same = 1;
		for (size_t i = 0; i < na && same; i++)
			same = a[i].len == b[i].len &&
			       (!a[i].len || !memcmp(a[i].data, b[i].data, a[i].len));
	}
	mdr_defn_free(s);
	return same;
}

static void delete_instance(const char *uuid, const char *why)
{
	char err[256];

	if (mdr_store_delete(&mdrd_maps, uuid, err, sizeof(err)))
		mdr_log(MDR_LOG_WARN, "instance %s: delete (%s): %s", uuid, why, err);
	else
		mdr_log(MDR_LOG_INFO, "instance %s deleted (%s)", uuid, why);
	configdrive_sync();
}

static void load_file(const char *name)
{
	char path[2 * PATH_MAX], err[MDR_DEFN_ERR_SIZE + 64], *text = NULL;
	struct mdr_store_result res;
	struct mdr_defn *d = NULL;
	struct inst_file *f;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", mdrd_opts.instances, name);
	r = read_file(path, &text, &len);
	if (r) {
		if (r != -ENOENT)
			mdr_log(MDR_LOG_ERR, "%s: cannot read: %s (maps unchanged)", path,
				r == -EFBIG ? "file too large" :
				r == -EINVAL ? "not a regular file" :
				r == -ELOOP ? "a symbolic link (not followed)" : strerror(-r));
		return;
	}
	r = mdr_defn_parse(text, len, &d, err, sizeof(err));
	free(text);
	if (r) {
		mdr_log(MDR_LOG_ERR, "%s: invalid definition: %s (maps unchanged)", path, err);
		return;
	}
	/* signed once here, before the unchanged check (signing is deterministic) */
	if (mdr_identity_sign(d, mdrd_opts.node_key_dir, err, sizeof(err)) < 0) {
		mdr_log(MDR_LOG_ERR, "%s: identity document: %s (maps unchanged)", path, err);
		mdr_defn_free(d);
		return;
	}
	f = find_file(name);
	if (!f) {
		if (n_files == MDR_MAX_INSTANCES) {
			mdr_log(MDR_LOG_ERR, "%s: more than %d instance files, ignored", path,
				MDR_MAX_INSTANCES);
			mdr_defn_free(d);
			return;
		}
		f = &files[n_files++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	f->remove_at_ms = 0;
	if (same_as_stored(d)) {
		uint32_t id;
		int pending = 0;

		/* Unchanged content; a port that appeared since still gets bound. */
		if (!mdr_store_lookup(&mdrd_maps, d->uuid, &id) && !mdr_maps_lock(&mdrd_maps)) {
			if (mdr_store_apply_bindings(&mdrd_maps, id, d, &pending, err, sizeof(err)))
				mdr_log(MDR_LOG_ERR, "instance %s: %s", d->uuid, err);
			mdr_maps_unlock(&mdrd_maps);
		}
		mdr_log(MDR_LOG_DEBUG, "instance %s unchanged (%s)", d->uuid, name);
	} else {
		r = mdr_store_put(&mdrd_maps, d, MDR_STORE_F_DEFER_PORT, &res, err, sizeof(err));
		if (r) {
			mdr_log(MDR_LOG_ERR, "%s: %s (maps unchanged)", path, err);
			mdr_defn_free(d);
			if (!f->uuid[0])
				*f = files[--n_files];
			return;
		}
		size_t ports = 0;

		for (size_t i = 0; i < d->n_bindings; i++)
			if (d->bindings[i].has_port && ++ports)
				mdr_log(MDR_LOG_INFO, "instance %s port %s: %s from %s (id %u, "
					"generation %u)%s", d->uuid, d->bindings[i].port,
					res.created ? "created" : "replaced", name, res.id, res.gen,
					if_nametoindex(d->bindings[i].port) ? "" :
					", port not present yet");
		if (!ports)
			mdr_log(MDR_LOG_INFO, "instance %s: %s from %s (id %u, generation %u)",
				d->uuid, res.created ? "created" : "replaced", name, res.id, res.gen);
		configdrive_sync();
	}
	if (f->uuid[0] && strcmp(f->uuid, d->uuid)) {
		char old[MDR_UUID_SIZE];

		/* The file now defines another instance: the old one goes. */
		snprintf(old, sizeof(old), "%s", f->uuid);
		snprintf(f->uuid, sizeof(f->uuid), "%s", d->uuid);
		if (!other_file_with(old, f))
			delete_instance(old, name);
	}
	snprintf(f->uuid, sizeof(f->uuid), "%s", d->uuid);
	mdr_defn_free(d);
}

static void forget_file(struct inst_file *f)
{
	char uuid[MDR_UUID_SIZE], name[NAME_MAX + 1];
	struct inst_file *other;

	snprintf(uuid, sizeof(uuid), "%s", f->uuid);
	snprintf(name, sizeof(name), "%s removed", f->name);
	*f = files[--n_files];
	if (!uuid[0])
		return;
	other = other_file_with(uuid, NULL);
	if (other)
		load_file(other->name); /* another file still defines it */
	else
		delete_instance(uuid, name);
}

static void file_removed(const char *name)
{
	struct inst_file *f = find_file(name);

	if (f)
		f->remove_at_ms = mdr_mono_ms() + INST_REMOVE_GRACE_MS;
}

int instances_timeout_ms(void)
{
	int64_t first = 0, now = mdr_mono_ms();

	for (size_t i = 0; i < n_files; i++)
		if (files[i].remove_at_ms && (!first || files[i].remove_at_ms < first))
			first = files[i].remove_at_ms;
	if (!first)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

void instances_tick(void)
{
	int64_t now = mdr_mono_ms();
	char path[2 * PATH_MAX];

	for (size_t i = 0; i < n_files;) {
		struct inst_file *f = &files[i];

		if (!f->remove_at_ms || f->remove_at_ms > now) {
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", mdrd_opts.instances, f->name);
		if (access(path, F_OK) == 0) {
			char name[NAME_MAX + 1];

			snprintf(name, sizeof(name), "%s", f->name);
			f->remove_at_ms = 0;
			load_file(name); /* back already (editor save) */
			i++;
		} else {
			forget_file(f); /* swaps the last entry in: same i again */
		}
	}
}

/* ---- port bindings resolved when their interface appears ---- */

/* Append *pr to t (n entries, cap slots), growing it; NULL (t freed) on
 * allocation failure: the table stays as it was. */
static struct port_ref *port_ref_add(struct port_ref *t, size_t *n, size_t *cap,
				     const struct port_ref *pr)
{
	if (*n == *cap) {
		struct port_ref *g = realloc(t, 2 * *cap * sizeof(*t));

		if (!g) {
			free(t);
			return NULL;
		}
		t = g;
		*cap *= 2;
	}
	t[(*n)++] = *pr;
	return t;
}

static void port_table_refresh(void)
{
	static uint32_t ids[MDR_MAX_INSTANCES];
	struct port_ref *nt;
	size_t n = 0, cap;
	int cnt = mdr_store_ids(&mdrd_maps, ids, MDR_MAX_INSTANCES);

	if (cnt < 0)
		return;
	if (cnt > MDR_MAX_INSTANCES)
		cnt = MDR_MAX_INSTANCES;
	cap = (size_t)cnt + 1;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return;
	for (int i = 0; i < cnt; i++) {
		struct mdr_instance rec;
		struct mdr_defn *d = NULL;
		size_t j;

		if (mdr_store_record(&mdrd_maps, ids[i], &rec))
			continue;
		for (j = 0; j < n_ports_tab; j++)
			if (ports_tab[j].id == ids[i] && ports_tab[j].gen == rec.gen)
				break;
		if (j < n_ports_tab) {
			/* unchanged instance: its entries (consecutive) carry over */
			for (; j < n_ports_tab && ports_tab[j].id == ids[i]; j++)
				if (!(nt = port_ref_add(nt, &n, &cap, &ports_tab[j])))
					return;
			continue;
		}
		if (mdr_store_get(&mdrd_maps, NULL, ids[i], 0, NULL, &rec, &d, NULL, 0))
			continue;
		/* one entry per binding with a port, at least one per instance
		 * (the (id, gen) cache key) */
		for (j = 0; j < d->n_bindings || j == 0; j++) {
			struct port_ref pr = { .id = ids[i], .gen = rec.gen };

			if (j < d->n_bindings)
				pr.b = d->bindings[j];
			if (j && !pr.b.has_port)
				continue;
			snprintf(pr.uuid, sizeof(pr.uuid), "%s", rec.uuid);
			if (!(nt = port_ref_add(nt, &n, &cap, &pr))) {
				mdr_defn_free(d);
				return;
			}
		}
		mdr_defn_free(d);
	}
	free(ports_tab);
	ports_tab = nt;
	n_ports_tab = n;
}

void instances_link_added(uint32_t ifindex, const char *name)
{
	char err[256];

	port_table_refresh();
	for (size_t i = 0; i < n_ports_tab; i++) {
		struct port_ref *p = &ports_tab[i];
		struct mdr_port_binding cur;
		struct mdr_defn tmp;
		int pending = 0, r;

		if (!p->b.has_port || strcmp(p->b.port, name))
			continue;
		if (bpf_map_lookup_elem(mdrd_maps.ports, &ifindex, &cur) == 0 && cur.instance_id == p->id)
			continue; /* already bound (mdrd or mdrctl did it) */
		memset(&tmp, 0, sizeof(tmp));
		tmp.n_bindings = 1;
		tmp.bindings[0] = p->b;
		if (mdr_maps_lock(&mdrd_maps))
			continue;
		r = mdr_store_apply_bindings(&mdrd_maps, p->id, &tmp, &pending, err, sizeof(err));
		mdr_maps_unlock(&mdrd_maps);
		if (r)
			mdr_log(MDR_LOG_ERR, "instance %s port %s: %s", p->uuid, name, err);
		else if (!pending)
			mdr_log(MDR_LOG_INFO, "instance %s port %s: bound (ifindex %u)", p->uuid,
				name, ifindex);
	}
}

/* ---- directory ---- */

void instances_load_all(void)
{
	struct dirent **ents;
	int n;

	if (!mdr_maps_lock(&mdrd_maps)) {
		int swept = mdr_store_sweep_buckets(&mdrd_maps);
		int chunks = mdr_store_sweep_chunks(&mdrd_maps);

		mdr_maps_unlock(&mdrd_maps);
		if (swept > 0)
			mdr_log(MDR_LOG_INFO, "%s: %d rate-limit bucket(s) of deleted instances removed",
				MDR_MAP_NAME(rl), swept);
		if (chunks > 0)
			mdr_log(MDR_LOG_INFO, "mdr_chunk*: %d chunk(s) of replaced or deleted "
				"instances removed", chunks);
	}
	if (!mdrd_opts.instances[0])
		return;
	n = scandir(mdrd_opts.instances, &ents, NULL, alphasort);
	if (n < 0) {
		mdr_log(MDR_LOG_ERR, "instances directory %s: %s", mdrd_opts.instances,
			strerror(errno));
		return;
	}
	/* Files that disappeared while we were not looking (SIGHUP). */
	for (size_t i = 0; i < n_files; i++) {
		int present = 0;

		for (int j = 0; j < n && !present; j++)
			present = !strcmp(ents[j]->d_name, files[i].name);
		if (!present && !files[i].remove_at_ms)
			files[i].remove_at_ms = mdr_mono_ms();
	}
	for (int j = 0; j < n; j++) {
		if (is_defn_name(ents[j]->d_name))
			load_file(ents[j]->d_name);
		free(ents[j]);
	}
	free(ents);
	instances_tick();
}

int instances_init(void)
{
	if (!mdrd_opts.instances[0])
		return -1;
	ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino_fd < 0)
		return -errno;
	if (inotify_add_watch(ino_fd, mdrd_opts.instances,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
				      IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		int r = -errno;

		close(ino_fd);
		ino_fd = -1;
		return r;
	}
	return ino_fd;
}

void instances_event(void)
{
	char buf[INOTIFY_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				mdr_log(MDR_LOG_WARN, "inotify overflow, re-reading %s",
					mdrd_opts.instances);
				instances_load_all();
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				mdr_log(MDR_LOG_ERR, "instances directory %s was removed or moved",
					mdrd_opts.instances);
				continue;
			}
			if (!ev->len || !is_defn_name(ev->name))
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
				load_file(ev->name);
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				file_removed(ev->name);
		}
	}
}

void instances_close(void)
{
	if (ino_fd >= 0)
		close(ino_fd);
	ino_fd = -1;
	free(ports_tab);
	ports_tab = NULL;
	n_ports_tab = 0;
}
