/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "rtnl.h"

#include <errno.h>
#include <sys/socket.h>
#include <linux/netlink.h>

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
