/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpf_fail: an LD_PRELOAD fault injector for the bpf() syscall, which
 * libbpf makes through libc's syscall(). Environment:
 *   MDR_FAULT_BPF_CMD    the bpf command to fail (enum bpf_cmd number)
 *   MDR_FAULT_BPF_AFTER  calls of that command let through first (0)
 *   MDR_FAULT_BPF_TIMES  how many calls then fail (1)
 *   MDR_FAULT_BPF_ERRNO  the errno they fail with (ENOMEM)
 * Every failure injected is written to stderr as one line, so a test can
 * tell that the fault really happened.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

/* The raw system call, bypassing this interposer. */
static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

long syscall(long nr, ...)
{
	static long seen, failed;
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_bpf && a[0] == env_long("MDR_FAULT_BPF_CMD", -1) &&
	    seen++ >= env_long("MDR_FAULT_BPF_AFTER", 0) &&
	    failed < env_long("MDR_FAULT_BPF_TIMES", 1)) {
		failed++;
		fprintf(stderr, "fault: bpf command %ld failed with errno %ld (injected)\n", a[0],
			env_long("MDR_FAULT_BPF_ERRNO", ENOMEM));
		errno = (int)env_long("MDR_FAULT_BPF_ERRNO", ENOMEM);
		return -1;
	}
	return raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
