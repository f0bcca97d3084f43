/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vmm-tap - the smallest possible "VMM" for tests: it holds a real tap
 * device in the hypervisor namespace (what QEMU/Firecracker hold) and a tap
 * device standing in for the guest's NIC in the guest namespace, and copies
 * frames between their file descriptors. Frames the guest's kernel sends
 * are written into the hypervisor tap's fd, so they arrive on that tap
 * exactly as a VM's frames do (XDP runs on them in native mode), and
 * frames sent to the hypervisor tap (XDP_TX, AF_XDP TX, the host stack)
 * come out of its fd and are delivered to the guest.
 *
 * Usage: vmm-tap --hv-ns /run/netns/HV --hv-tap tapN
 *                --guest-ns /run/netns/G --guest-tap eth0 [--guest-mac MAC]
 * The hypervisor tap must exist (ip tuntap add tapN mode tap); the guest
 * tap is created here and vanishes when this process exits. Prints "ready"
 * on stdout once both are set up; runs until SIGTERM/SIGINT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest frame a tap without GSO/vnet headers hands us (64 KiB IP + L2). */
#define FRAME_MAX 65550
/* Frames moved per direction per wakeup: bounds latency of the other one. */
#define BATCH_MAX 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int enter_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vmm-tap: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "vmm-tap: setns %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Opens (or creates) tap `name` in the current network namespace. */
static int open_tap(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "vmm-tap: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "vmm-tap: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int set_mac(const char *name, const char *mac)
{
	struct ifreq ifr;
	unsigned int b[6];
	int s, rc = 0;

	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
		fprintf(stderr, "vmm-tap: bad MAC %s\n", mac);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	for (int i = 0; i < 6; i++)
		ifr.ifr_hwaddr.sa_data[i] = (char)b[i];
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "vmm-tap: set MAC of %s: %s\n", name, strerror(errno));
		rc = -1;
	}
	if (s >= 0)
		close(s);
	return rc;
}

/* Moves up to BATCH_MAX frames from `from` to `to`. Returns -1 on a fatal
 * error. A full `to` (guest not reading) drops the frame, as a NIC would. */
static int relay(int from, int to, unsigned char *buf)
{
	for (int i = 0; i < BATCH_MAX; i++) {
		ssize_t n = read(from, buf, FRAME_MAX);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			fprintf(stderr, "vmm-tap: read: %s\n", strerror(errno));
			return -1;
		}
		if (write(to, buf, (size_t)n) < 0 && errno != EAGAIN && errno != EIO &&
		    errno != EINTR) {
			fprintf(stderr, "vmm-tap: write: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: vmm-tap --hv-ns PATH --hv-tap NAME --guest-ns PATH "
	      "--guest-tap NAME [--guest-mac MAC]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"hv-ns", required_argument, NULL, 'H'},
		{"hv-tap", required_argument, NULL, 'h'},
		{"guest-ns", required_argument, NULL, 'G'},
		{"guest-tap", required_argument, NULL, 'g'},
		{"guest-mac", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	const char *hv_ns = NULL, *hv_tap = NULL, *g_ns = NULL, *g_tap = NULL, *g_mac = NULL;
	static unsigned char buf[FRAME_MAX];
	struct sigaction sa;
	int c, hv_fd, g_fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hv_ns = optarg; break;
		case 'h': hv_tap = optarg; break;
		case 'G': g_ns = optarg; break;
		case 'g': g_tap = optarg; break;
		case 'm': g_mac = optarg; break;
		default: usage();
		}
	}
	if (!hv_ns || !hv_tap || !g_ns || !g_tap)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (enter_ns(hv_ns) < 0 || (hv_fd = open_tap(hv_tap)) < 0)
		return 1;
	if (enter_ns(g_ns) < 0 || (g_fd = open_tap(g_tap)) < 0)
		return 1;
	if (g_mac && set_mac(g_tap, g_mac) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct pollfd p[2] = {{.fd = g_fd, .events = POLLIN},
				      {.fd = hv_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmm-tap: poll: %s\n", strerror(errno));
			return 1;
		}
		if ((p[0].revents & POLLIN) && relay(g_fd, hv_fd, buf) < 0)
			return 1;
		if ((p[1].revents & POLLIN) && relay(hv_fd, g_fd, buf) < 0)
			return 1;
	}
	close(g_fd);
	close(hv_fd);
	return 0;
}
