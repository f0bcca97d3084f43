/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The change channel (see chnotify.h). */
#include "chnotify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Abstract name of pin_dir's channel: "\0mdr-change:<dev>:<ino>". */
static int chan_addr(const char *pin_dir, struct sockaddr_un *a, socklen_t *len)
{
	struct stat st;
	int n;

	if (stat(pin_dir, &st))
		return -errno;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "mdr-change:%llx:%llx",
		     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

int mdr_chnotify_listen(const char *pin_dir)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd, r = chan_addr(pin_dir, &a, &len);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, len)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void mdr_chnotify_send(const char *pin_dir, uint32_t id)
{
	struct mdr_chnotify_msg msg = { .magic = MDR_CHNOTIFY_MAGIC, .instance_id = id };
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (chan_addr(pin_dir, &a, &len))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&a, len);
	close(fd);
}

int mdr_chnotify_recv(int fd, uint32_t *id)
{
	for (;;) {
		struct mdr_chnotify_msg msg;
		ssize_t n = recv(fd, &msg, sizeof(msg), 0);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (n == (ssize_t)sizeof(msg) && msg.magic == MDR_CHNOTIFY_MAGIC) {
			*id = msg.instance_id;
			return 1;
		}
	}
}
