/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "rtnl.h"

#include <errno.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

struct mnl_socket *mdr_rtnl_open(unsigned groups, int flags)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | flags);
	int err;

	if (!s)
		return NULL;
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(s);
		errno = err;
		return NULL;
	}
	return s;
}

static int master_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_MASTER &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int master_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), master_attr, data);
}

int64_t mdr_rtnl_master(uint32_t ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *s = mdr_rtnl_open(0, 0);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	uint32_t master = 0, seq = (uint32_t)time(NULL), portid;
	ssize_t n;
	int r = MNL_CB_OK;

	if (!s)
		return -errno;
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	/* One answer: the link (RTM_NEWLINK) or an error. */
	n = mnl_socket_recvfrom(s, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, portid, master_msg, &master) < 0)
		r = errno ? -errno : -EIO;
out:
	mnl_socket_close(s);
	return r < 0 ? r : (int64_t)master;
}
