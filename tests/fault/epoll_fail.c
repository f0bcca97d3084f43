/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * epoll_fail: an LD_PRELOAD fault injector. After MDR_FAULT_EPOLL_AFTER
 * calls of epoll_wait (default 0: the first one), every call fails with
 * EBADF, as if the epoll descriptor had been lost. Used by e2e_faults.sh
 * to show that a daemon whose event loop breaks ends with a failure status.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real)(int, struct epoll_event *, int, int);
	static long calls;
	const char *after = getenv("MDR_FAULT_EPOLL_AFTER");

	if (!real)
		real = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (calls++ >= (after ? atol(after) : 0)) {
		errno = EBADF;
		return -1;
	}
	return real(epfd, events, maxevents, timeout);
}
