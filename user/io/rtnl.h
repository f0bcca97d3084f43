/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* rtnetlink sockets (libmnl), the way mdrd and the responder open them. */
#ifndef MDR_RTNL_H
#define MDR_RTNL_H

#include <stdint.h>
#include <libmnl/libmnl.h>

/* A NETLINK_ROUTE socket, close-on-exec plus flags (e.g. SOCK_NONBLOCK),
 * bound to the multicast groups (0: requests only). NULL with errno set
 * when it cannot be opened or bound. */
struct mnl_socket *mdr_rtnl_open(unsigned groups, int flags);

/* The ifindex of the master of ifindex (a bridge port's bridge), 0 when it
 * has none, -errno when the link cannot be read (RTM_GETLINK). */
int64_t mdr_rtnl_master(uint32_t ifindex);

#endif
