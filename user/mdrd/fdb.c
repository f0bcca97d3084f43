/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mdrd fdb: the metadata MAC as a permanent local FDB entry of a bridge
 * (the netlink form of `bridge fdb add MAC dev BR self local`).
 *
 * Why: a Linux bridge hands a unicast frame up to the bridge device itself
 * (where generic XDP runs) only when its destination is a local FDB entry
 * (or the bridge is promiscuous); any other unknown unicast is flooded to
 * the other ports. A guest that resolved a metadata address on-link (IPv6
 * fe80::a9fe:a9fe, or 169.254.169.254 without a gateway) sends to the
 * metadata MAC the program answered ARP/ND with: without this entry that
 * frame never reaches the program on the bridge, and is flooded to every
 * other guest instead.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "mdrd.h"
#include "rtnl.h"

/* One request: header + ndmsg + NDA_LLADDR, far below a page. */
#define FDB_REQ_BUF 256

/* Sends one RTM_NEWNEIGH / RTM_DELNEIGH for (ifindex, mac) on the bridge
 * device itself and waits for the kernel's acknowledgement. */
static int fdb_request(uint16_t type, uint16_t flags, uint32_t ifindex, const uint8_t mac[6])
{
	char req[FDB_REQ_BUF], buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *s = mdr_rtnl_open(0, 0);
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int r;

	if (!s)
		return -errno;
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = (int)ifindex;
	ndm->ndm_state = NUD_PERMANENT; /* permanent = local: delivered up */
	ndm->ndm_flags = NTF_SELF;      /* the bridge device's own table */
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(s, buf, sizeof(buf));
	if (n < 0) {
		r = -errno;
		goto out;
	}
	/* An error ack makes mnl_cb_run return -1 with errno set. */
	r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 ? -errno : 0;
out:
	mnl_socket_close(s);
	return r;
}

int fdb_local_add(uint32_t ifindex, const uint8_t mac[6])
{
	/* Create, or take over an entry left by an mdrd that was killed. */
	return fdb_request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, mac);
}

int fdb_local_del(uint32_t ifindex, const uint8_t mac[6])
{
	return fdb_request(RTM_DELNEIGH, 0, ifindex, mac);
}
