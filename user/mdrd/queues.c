// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * RX queues an interface really uses. IFLA_NUM_RX_QUEUES is the number the
 * device was allocated with (a veth gets one per possible CPU, a
 * multi-queue tap 256), but an AF_XDP socket can only bind to a queue in use,
 * and a failing shared-UMEM bind costs the responder a whole buffer-pool
 * setup. ETHTOOL_GCHANNELS reports the queues in use where the driver knows
 * (veth does); asked through an ioctl on a socket of our own network
 * namespace, since /sys may belong to another one (`ip netns exec` remounts it).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "mdrd.h"

uint32_t mdrd_rx_queues_in_use(const char *ifname, uint32_t allocated)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	uint32_t n;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return allocated;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	n = ioctl(fd, SIOCETHTOOL, &ifr) == 0 ? ch.rx_count + ch.combined_count : 0;
	close(fd);
	if (n == 0 || (allocated && n > allocated))
		return allocated; /* driver does not say (tap, bridge): trust netlink */
	return n;
}
