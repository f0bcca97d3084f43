/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd links: attach the XDP program (through libxdp, native mode with a
 * generic-mode fallback, or one mode as --xdp-mode says) to every interface matching an --iface glob,
 * record attachments in mdr_ifaces, follow rtnetlink (RTM_NEWLINK /
 * RTM_DELLINK) so that new interfaces are attached at once and removed
 * ones are forgotten (mdr_ifaces, port bindings). On a bridge device the
 * metadata MAC is also kept as a local FDB entry (see fdb.c), following
 * mdr_config's meta_mac.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "mdrd.h"
#include "clock.h"
#include "mac.h"
#include "log.h"
#include "rtnl.h"
#include "store.h"

struct link {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	int attached;             /* the program is attached by us */
	struct xdp_program *prog; /* libxdp's handle; NULL when attached directly */
	enum xdp_attach_mode mode;
	uint32_t rx_queues;
	int seen; /* present in the current dump (resync) */
	int is_bridge;              /* IFLA_INFO_KIND "bridge" */
	int is_veth;                /* IFLA_INFO_KIND "veth" */
	uint8_t addr[ETH_ALEN];     /* the link's own MAC (IFLA_ADDRESS) */
	int fdb_done;               /* fdb_mac handled: installed, not needed, or failed */
	int fdb_set;                /* fdb_mac installed as a local FDB entry by us */
	int fdb_failed;             /* installing fdb_mac failed: not retried by the timer */
	uint8_t fdb_mac[ETH_ALEN];
};

/* How often the metadata MAC in mdr_config is re-read while a bridge is
 * attached: mdrctl changes it in the map without telling mdrd, and a guest
 * keeps the old MAC only until its neighbour entry is re-validated. */
#define LINKS_META_MAC_POLL_MS 500

static struct link links[MDR_MAX_IFACES];
static size_t n_links;
static struct mnl_socket *ev_sock;
static int xdp_prog_fd = -1;
/* Whether libxdp's dispatcher is usable was checked on the first attach;
 * without it, attach with bpf_xdp_attach() (see probe_dispatcher). */
static int dispatcher_probed, attach_direct;
static int64_t next_mac_check_ms;

/* The MAC the program answers ARP/ND with: mdr_config's, or the built-in
 * default when the field is all zero (as the program does). 0 or -errno. */
static int meta_mac(uint8_t mac[ETH_ALEN])
{
	static const uint8_t def[ETH_ALEN] = MDR_DEFAULT_META_MAC;
	static const uint8_t zero[ETH_ALEN];
	struct mdr_config c;
	int r = mdr_config_read(&mdrd_maps, &c);

	if (r)
		return r;
	memcpy(mac, memcmp(c.meta_mac, zero, ETH_ALEN) ? c.meta_mac : def, ETH_ALEN);
	return 0;
}


static void fdb_remove(struct link *l)
{
	char b[18];
	int r;

	l->fdb_done = 0;
	if (!l->fdb_set)
		return;
	r = fdb_local_del(l->ifindex, l->fdb_mac);
	if (r && r != -ENOENT) /* ENOENT: someone flushed it already */
		mdr_log(MDR_LOG_WARN, "port %s: removing FDB entry %s: %s", l->name,
			mdr_mac_fmt(l->fdb_mac, b), strerror(-r));
	else
		mdr_log(MDR_LOG_INFO, "port %s: FDB entry %s removed", l->name, mdr_mac_fmt(l->fdb_mac, b));
	l->fdb_set = 0;
}

/* Keeps the local FDB entry of a bridge we attached to equal to mac.
 * retry: try again even if installing this MAC failed before. Callers use
 * fdb_sync() or fdb_sync_retry(). */
static void fdb_sync_mode(struct link *l, const uint8_t mac[ETH_ALEN], bool retry)
{
	char b[18];
	int r;

	if (!l->attached || !l->is_bridge) {
		fdb_remove(l);
		return;
	}
	if (l->fdb_done && !memcmp(l->fdb_mac, mac, ETH_ALEN) && !(retry && l->fdb_failed))
		return;
	fdb_remove(l);
	memcpy(l->fdb_mac, mac, ETH_ALEN);
	l->fdb_done = 1;
	l->fdb_failed = 0;
	if (!memcmp(l->addr, mac, ETH_ALEN)) {
		/* The bridge's own address is local already; an entry of ours
		 * would be the kernel's, and deleting it would cut the bridge. */
		mdr_log(MDR_LOG_INFO, "port %s: metadata MAC %s is the bridge's own address",
			l->name, mdr_mac_fmt(mac, b));
		return;
	}
	r = fdb_local_add(l->ifindex, mac);
	if (r) {
		l->fdb_failed = 1;
		mdr_log(MDR_LOG_ERR,
			"port %s: adding metadata MAC %s as a local FDB entry: %s (on-link "
			"metadata, e.g. IPv6 link-local, will not reach the program)",
			l->name, mdr_mac_fmt(mac, b), strerror(-r));
		return;
	}
	l->fdb_set = 1;
	mdr_log(MDR_LOG_INFO, "port %s: metadata MAC %s added as a local FDB entry", l->name,
		mdr_mac_fmt(mac, b));
}

/* The entry follows mac; a MAC whose install failed is not retried. */
static void fdb_sync(struct link *l, const uint8_t mac[ETH_ALEN])
{
	fdb_sync_mode(l, mac, false);
}

/* The same, trying a failed install again (attach, SIGHUP). */
static void fdb_sync_retry(struct link *l, const uint8_t mac[ETH_ALEN])
{
	fdb_sync_mode(l, mac, true);
}

static struct link *find_link(uint32_t ifindex)
{
	for (size_t i = 0; i < n_links; i++)
		if (links[i].ifindex == ifindex)
			return &links[i];
	return NULL;
}

static int matches(const char *name)
{
	for (int i = 0; i < mdrd_opts.n_patterns; i++)
		if (fnmatch(mdrd_opts.patterns[i], name, 0) == 0)
			return 1;
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record_iface(const struct link *l)
{
	struct mdr_iface v = { .num_rx_queues = l->rx_queues, .attached_ns = realtime_ns() };

	snprintf(v.name, sizeof(v.name), "%s", l->name);
	v.mode = l->mode == XDP_MODE_NATIVE ? MDR_IFACE_NATIVE : MDR_IFACE_GENERIC;
	if (bpf_map_update_elem(mdrd_maps.ifaces, &l->ifindex, &v, BPF_ANY))
		mdr_log(MDR_LOG_ERR, "port %s: writing %s: %s", l->name, MDR_MAP_NAME(ifaces),
			strerror(errno));
}

/* A program left attached by a previous mdrd that did not exit cleanly is
 * ours to replace; anything else belongs to someone else. */
static int remove_stale_mdr_prog(const struct link *l)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex((int)l->ifindex);
	struct xdp_program *main_prog;
	int r = -EEXIST;

	if (!mp || libxdp_get_error(mp))
		return -ENOENT;
	main_prog = xdp_multiprog__main_prog(mp);
	if (xdp_multiprog__is_legacy(mp) && main_prog &&
	    !strcmp(xdp_program__name(main_prog), "mdr_xdp")) {
		r = xdp_multiprog__detach(mp);
		if (!r)
			mdr_log(MDR_LOG_INFO, "port %s: removed a stale mdr program", l->name);
	}
	xdp_multiprog__close(mp);
	return r;
}

static uint32_t mode_flags(enum xdp_attach_mode mode)
{
	return mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/* After libxdp's first attachment: did it attach our program itself (no
 * multi-program dispatcher, as on kernels where the dispatcher cannot
 * load)? Then attach directly from now on: each libxdp attach re-probes
 * the dispatcher (loading it twice) and dumps every link of the namespace,
 * so with hundreds of interfaces each attach cost tens of milliseconds. */
static void probe_dispatcher(const struct link *l)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), id = 0;

	dispatcher_probed = 1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(xdp_prog_fd, &info, &len) ||
	    bpf_xdp_query_id((int)l->ifindex, (int)mode_flags(l->mode), &id))
		return; /* unknown: keep using libxdp */
	attach_direct = id == info.id;
	if (attach_direct)
		mdr_log(MDR_LOG_INFO, "no libxdp dispatcher here: attaching the program directly");
}

static int try_attach(struct link *l, enum xdp_attach_mode mode)
{
	int fd, r;
	struct xdp_program *p;

	if (attach_direct) {
		/* NOEXIST: never replace someone else's program (as libxdp). */
		r = bpf_xdp_attach((int)l->ifindex, xdp_prog_fd,
				   XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flags(mode), NULL);
		if (r)
			return r;
		l->prog = NULL;
		goto attached;
	}
	fd = dup(xdp_prog_fd);
	if (fd < 0)
		return -errno;
	p = xdp_program__from_fd(fd); /* owns fd from here */
	if (!p || libxdp_get_error(p)) {
		r = p ? (int)libxdp_get_error(p) : -ENOMEM;
		close(fd);
		return r;
	}
	mdrd_attaching = 1;
	r = xdp_program__attach(p, (int)l->ifindex, mode, 0);
	mdrd_attaching = 0;
	if (r) {
		xdp_program__close(p);
		return r;
	}
	l->prog = p;
attached:
	l->attached = 1;
	l->mode = mode;
	if (!dispatcher_probed)
		probe_dispatcher(l);
	return 0;
}

/* One mode, replacing a stale program of ours in the way. 0 or -errno. */
static int attach_mode(struct link *l, enum xdp_attach_mode mode)
{
	int r = try_attach(l, mode);

	/* An older mdr program (an upgrade): swapped atomically. */
	if ((r == -EEXIST || r == -EBUSY) &&
	    upgrade_replace(l->ifindex, xdp_prog_fd, mode_flags(mode)) == 0) {
		mdr_log(MDR_LOG_INFO, "port %s: older mdr program replaced atomically", l->name);
		l->prog = NULL;
		l->attached = 1;
		l->mode = mode;
		return 0;
	}
	if ((r == -EEXIST || r == -EBUSY) && remove_stale_mdr_prog(l) == 0)
		r = try_attach(l, mode);
	return r;
}

static void attach(struct link *l)
{
	int r, r2;

	switch (mdrd_opts.xdp_mode) {
	case MDRD_XDP_NATIVE:
	case MDRD_XDP_GENERIC: {
		int native = mdrd_opts.xdp_mode == MDRD_XDP_NATIVE;

		r = attach_mode(l, native ? XDP_MODE_NATIVE : XDP_MODE_SKB);
		if (r) {
			mdr_log(MDR_LOG_ERR, "port %s: cannot attach XDP (--xdp-mode %s): %s",
				l->name, native ? "native" : "generic", strerror(-r));
			return;
		}
		break;
	}
	default:
		/* A native program on a veth strips GSO from its peer (the
		 * guest's end): every guest packet would pay for it, and AF_XDP
		 * copies on veth in either mode. Generic leaves GSO alone. */
		r = attach_mode(l, l->is_veth ? XDP_MODE_SKB : XDP_MODE_NATIVE);
		if (r) {
			/* Bridges and some drivers have no native XDP: generic mode. */
			r2 = try_attach(l, l->is_veth ? XDP_MODE_NATIVE : XDP_MODE_SKB);
			if (r2) {
				mdr_log(MDR_LOG_ERR,
					"port %s: cannot attach XDP (native: %s, generic: %s)",
					l->name, strerror(-r), strerror(-r2));
				return;
			}
		}
	}
	record_iface(l);
	mdr_log(MDR_LOG_INFO, "port %s: attached (ifindex %u, %s mode%s, %u rx queues)", l->name,
		l->ifindex, l->mode == XDP_MODE_NATIVE ? "native" : "generic",
		l->mode == XDP_MODE_SKB && l->is_veth && mdrd_opts.xdp_mode == MDRD_XDP_AUTO ?
			" (veth: native XDP would strip the peer's GSO)" : "",
		l->rx_queues);
	if (l->is_bridge) {
		uint8_t mac[ETH_ALEN];
		int rm = meta_mac(mac);

		if (rm)
			mdr_log(MDR_LOG_ERR, "port %s: reading %s: %s", l->name, MDR_MAP_NAME(config),
				strerror(-rm));
		else
			fdb_sync_retry(l, mac);
	}
}

static void detach(struct link *l, int gone)
{
	if (!l->attached)
		return;
	if (gone) {
		l->fdb_set = l->fdb_done = 0; /* the FDB went with the bridge */
	} else {
		int r;

		fdb_remove(l);
		if (l->prog) {
			r = xdp_program__detach(l->prog, (int)l->ifindex, l->mode, 0);
		} else {
			/* REPLACE with our fd expected: never removes another program. */
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_prog_fd);

			r = bpf_xdp_detach((int)l->ifindex, mode_flags(l->mode), &o);
		}
		if (r)
			mdr_log(MDR_LOG_WARN, "port %s: detaching XDP: %s", l->name, strerror(-r));
		else
			mdr_log(MDR_LOG_INFO, "port %s: detached", l->name);
	}
	if (l->prog)
		xdp_program__close(l->prog);
	l->prog = NULL;
	l->attached = 0;
	bpf_map_delete_elem(mdrd_maps.ifaces, &l->ifindex);
}

/* IFLA_INFO_KIND of a link message, as far as attaching cares. */
enum link_kind { KIND_ABSENT = -1, KIND_OTHER, KIND_BRIDGE, KIND_VETH };

static void link_new(uint32_t ifindex, const char *name, uint32_t rxq, enum link_kind kind,
		     const uint8_t *addr)
{
	struct link *l = find_link(ifindex);
	int fresh = !l;

	if (!l) {
		if (n_links == MDR_MAX_IFACES) {
			mdr_log(MDR_LOG_ERR, "port %s: more than %d interfaces, ignored", name,
				MDR_MAX_IFACES);
			return;
		}
		l = &links[n_links++];
		memset(l, 0, sizeof(*l));
		l->ifindex = ifindex;
	}
	if (strcmp(l->name, name)) {
		if (l->attached && !matches(name))
			detach(l, 0); /* renamed out of our patterns */
		snprintf(l->name, sizeof(l->name), "%s", name);
		fresh = 1;
	}
	l->seen = 1;
	if (rxq)
		l->rx_queues = mdrd_rx_queues_in_use(name, rxq);
	if (kind != KIND_ABSENT) { /* absent from a message: unchanged */
		l->is_bridge = kind == KIND_BRIDGE;
		l->is_veth = kind == KIND_VETH;
	}
	if (addr)
		memcpy(l->addr, addr, ETH_ALEN);
	if (!l->attached && matches(name))
		attach(l);
	else if (l->attached && fresh)
		record_iface(l);
	if (fresh)
		instances_link_added(ifindex, name);
}

static void link_del(uint32_t ifindex)
{
	struct link *l = find_link(ifindex);
	int n;

	if (l && l->attached) {
		mdr_log(MDR_LOG_INFO, "port %s: removed (ifindex %u)", l->name, ifindex);
		detach(l, 1);
	}
	bpf_map_delete_elem(mdrd_maps.ifaces, &ifindex);
	n = mdr_store_forget_ifindex(&mdrd_maps, ifindex);
	if (n > 0)
		mdr_log(MDR_LOG_INFO, "port %s: %d binding(s) removed with the interface",
			l ? l->name : "?", n);
	if (l)
		*l = links[--n_links];
}

struct link_msg {
	uint32_t ifindex;
	const char *name;
	uint32_t rxq;
	enum link_kind kind;
	const uint8_t *addr;
};

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct link_msg *m = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		m->kind = !strcmp(mnl_attr_get_str(a), "bridge") ? KIND_BRIDGE :
			  !strcmp(mnl_attr_get_str(a), "veth")   ? KIND_VETH : KIND_OTHER;
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct link_msg *m = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			m->name = mnl_attr_get_str(a);
		break;
	case IFLA_NUM_RX_QUEUES:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			m->rxq = mnl_attr_get_u32(a);
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(a) == ETH_ALEN)
			m->addr = mnl_attr_get_payload(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0) {
			m->kind = KIND_OTHER; /* a kind-less linkinfo: not a bridge */
			mnl_attr_parse_nested(a, linkinfo_cb, m);
		}
		break;
	}
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_msg m = { .ifindex = (uint32_t)ifi->ifi_index, .kind = KIND_ABSENT };

	(void)data;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &m);
	if (nlh->nlmsg_type == RTM_DELLINK)
		link_del(m.ifindex);
	else if (m.name)
		link_new(m.ifindex, m.name, m.rxq, m.kind, m.addr);
	return MNL_CB_OK;
}

/* Forget mdr_ifaces entries no live attachment of ours backs (left by a
 * previous run that did not exit cleanly). */
static void prune_ifaces(void)
{
	uint32_t k, next, stale[MDR_MAX_IFACES];
	void *prev = NULL;
	size_t n = 0;

	while (n < MDR_MAX_IFACES && bpf_map_get_next_key(mdrd_maps.ifaces, prev, &next) == 0) {
		struct link *l = find_link(next);

		if (!l || !l->attached)
			stale[n++] = next;
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(mdrd_maps.ifaces, &stale[i]);
}

/* One link of a dump, copied out so that attaching (slow, and itself a
 * source of link notifications) happens after the dump is read. */
struct dump_rec {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	uint32_t rxq;
	enum link_kind kind;
	int has_addr;
	uint8_t addr[ETH_ALEN];
};

struct dump {
	struct dump_rec *recs;
	size_t n, cap;
	int intr;     /* NLM_F_DUMP_INTR: links changed while dumping */
	int complete; /* NLMSG_DONE reached */
};

static int dump_add(struct dump *d, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_msg m = { .ifindex = (uint32_t)ifi->ifi_index, .kind = KIND_ABSENT };
	struct dump_rec *r;

	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &m);
	if (!m.name)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dump_rec *nr = realloc(d->recs, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		d->recs = nr;
		d->cap = cap;
	}
	r = &d->recs[d->n++];
	memset(r, 0, sizeof(*r));
	r->ifindex = m.ifindex;
	snprintf(r->name, sizeof(r->name), "%s", m.name);
	r->rxq = m.rxq;
	r->kind = m.kind;
	if (m.addr) {
		r->has_addr = 1;
		memcpy(r->addr, m.addr, ETH_ALEN);
	}
	return 0;
}

/* Room for one dump read: the kernel fills up to the buffer size we
 * offer (as libmnl's MNL_SOCKET_DUMP_SIZE): fewer syscalls per dump. */
#define LINKS_DUMP_BUF 32768
static char nl_buf[LINKS_DUMP_BUF];

/* RTM_GETLINK dump into d. 0 or -errno (d holds what was read). */
static int dump_links(struct dump *d)
{
	struct mnl_socket *s = mdr_rtnl_open(0, 0);
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	unsigned seq = (unsigned)time(NULL), portid;
	int r = 0;
	ssize_t n;

	d->n = 0;
	d->intr = d->complete = 0;
	if (!s)
		return -errno;
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(nl_buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_PACKET;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	/* Walked by hand, not with mnl_cb_run: that stops at the first message
	 * flagged NLM_F_DUMP_INTR and drops the rest of the dump. A flagged
	 * dump is still a good list of links to attach; only "absent from the
	 * dump" is not trustworthy then. */
	while (!d->complete && !r) {
		int len;

		n = mnl_socket_recvfrom(s, nl_buf, sizeof(nl_buf));
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		len = (int)n;
		for (nlh = (struct nlmsghdr *)nl_buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (!mnl_nlmsg_portid_ok(nlh, portid) || !mnl_nlmsg_seq_ok(nlh, seq))
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				d->intr = 1;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				d->complete = 1;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				r = e->error ? e->error : -EIO;
				break;
			}
			if (nlh->nlmsg_type == RTM_NEWLINK && (r = dump_add(d, nlh)))
				break;
		}
	}
out:
	mnl_socket_close(s);
	return r;
}

/* Dumps again when links changed during a dump (a burst of new
 * interfaces): a few tries; each applies what it saw. */
#define LINKS_DUMP_TRIES 8

int links_resync(void)
{
	struct dump d = { 0 };
	int r = 0;

	for (int t = 0; t < LINKS_DUMP_TRIES; t++) {
		r = dump_links(&d);
		for (size_t i = 0; i < n_links; i++)
			links[i].seen = 0;
		for (size_t i = 0; i < d.n; i++) {
			struct dump_rec *e = &d.recs[i];

			link_new(e->ifindex, e->name, e->rxq, e->kind,
				 e->has_addr ? e->addr : NULL);
		}
		if (r || !d.complete || d.intr) {
			mdr_log(MDR_LOG_DEBUG, "link dump %s, reading again",
				r ? strerror(-r) : "inconsistent");
			continue;
		}
		/* Links that vanished while we were not listening: forget them too. */
		for (size_t i = 0; i < n_links;) {
			if (!links[i].seen)
				link_del(links[i].ifindex); /* swaps the last one in: same i again */
			else
				i++;
		}
		break;
	}
	free(d.recs);
	if (!r && (!d.complete || d.intr))
		r = -EAGAIN;
	if (r)
		mdr_log(MDR_LOG_WARN, "reading all links: %s (rtnetlink events still followed)",
			strerror(-r));
	for (size_t i = 0; i < n_links; i++) {
		/* --iface patterns may have changed (SIGHUP). */
		if (links[i].attached && !matches(links[i].name))
			detach(&links[i], 0);
	}
	prune_ifaces();
	return r;
}

/* rtnetlink event socket receive buffer: a burst of hundreds of new
 * interfaces (plus our own attach notifications, ~1.5 KiB each, ~4 KiB of
 * buffer accounting) must not overrun it. */
#define LINKS_EV_RCVBUF (8 << 20)

int links_init(int prog_fd)
{
	int rcvbuf = LINKS_EV_RCVBUF;

	xdp_prog_fd = prog_fd;
	ev_sock = mdr_rtnl_open(RTMGRP_LINK, SOCK_NONBLOCK);
	if (!ev_sock)
		return -errno;
	/* FORCE passes rmem_max (we have CAP_NET_ADMIN); plain as a fallback. */
	if (setsockopt(mnl_socket_get_fd(ev_sock), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) &&
	    setsockopt(mnl_socket_get_fd(ev_sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		       sizeof(rcvbuf)))
		mdr_log(MDR_LOG_WARN, "rtnetlink receive buffer: %s", strerror(errno));
	return mnl_socket_get_fd(ev_sock);
}

void links_event(void)
{
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(ev_sock, nl_buf, sizeof(nl_buf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Events were lost: re-read every link. */
				mdr_log(MDR_LOG_WARN, "rtnetlink overrun, re-reading all links");
				links_resync();
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				mdr_log(MDR_LOG_ERR, "rtnetlink: %s", strerror(errno));
			return;
		}
		mnl_cb_run(nl_buf, (size_t)n, 0, 0, msg_cb, NULL);
	}
}

void links_detach_all(void)
{
	for (size_t i = 0; i < n_links; i++)
		detach(&links[i], 0);
}

void links_close(void)
{
	if (ev_sock)
		mnl_socket_close(ev_sock);
	ev_sock = NULL;
}

static void meta_mac_sync(bool retry)
{
	uint8_t mac[ETH_ALEN];
	int any = 0, r;

	next_mac_check_ms = mdr_mono_ms() + LINKS_META_MAC_POLL_MS;
	for (size_t i = 0; i < n_links && !any; i++)
		any = links[i].attached && links[i].is_bridge;
	if (!any)
		return;
	r = meta_mac(mac);
	if (r) {
		mdr_log(MDR_LOG_ERR, "reading %s: %s", MDR_MAP_NAME(config), strerror(-r));
		return;
	}
	for (size_t i = 0; i < n_links; i++)
		if (links[i].attached && links[i].is_bridge)
			(retry ? fdb_sync_retry : fdb_sync)(&links[i], mac);
}

void links_meta_mac_sync(void)
{
	meta_mac_sync(false);
}

void links_meta_mac_resync(void)
{
	meta_mac_sync(true);
}

int links_timeout_ms(void)
{
	int64_t now = mdr_mono_ms();

	for (size_t i = 0; i < n_links; i++)
		if (links[i].attached && links[i].is_bridge)
			return next_mac_check_ms <= now ? 0 : (int)(next_mac_check_ms - now);
	return -1;
}

void links_tick(void)
{
	if (links_timeout_ms() == 0)
		links_meta_mac_sync();
}
