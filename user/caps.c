/* caps.c — --all's capability check (caps.h).
 *
 * What each one is for:
 *   CAP_SYS_ADMIN        attach uprobes: with CAP_BPF and CAP_PERFMON alone,
 *                        perf_event_open of the uprobe PMU is refused (EPERM,
 *                        measured on Linux 6.18); it also covers the two below
 *   CAP_BPF              load the BPF programs and create their maps
 *   CAP_PERFMON          the exec raw tracepoint, reading user memory from BPF
 *   CAP_SYS_PTRACE       /proc/PID/exe, /root, /maps and process_vm_readv of
 *                        processes of other users
 *   CAP_DAC_READ_SEARCH  read binaries and /proc entries whatever their modes
 * CAP_BPF and CAP_PERFMON are still granted by the unit (kernels where the
 * uprobe PMU accepts CAP_PERFMON need no more). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "caps.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct { int cap; const char *name, *what; } needed[] = {
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "to attach uprobes (this kernel's uprobe PMU asks for it)" },
	{ CAP_BPF, "CAP_BPF", "to load BPF programs" },
	{ CAP_PERFMON, "CAP_PERFMON", "to attach uprobes and the exec tracepoint" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "to read other users' processes (/proc/PID/exe, maps, memory)" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "to read every binary" },
};

int mw_caps_missing(uint64_t eff, char *why, size_t len)
{
	int admin = (eff >> CAP_SYS_ADMIN) & 1;

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		int c = needed[i].cap;
		if ((eff >> c) & 1)
			continue;
		if (admin && (c == CAP_BPF || c == CAP_PERFMON))
			continue;
		snprintf(why, len, "--all needs %s %s: it is not in mapwatch's effective capabilities "
			 "(run as root, or grant it: see dist/mapwatch.service)", needed[i].name, needed[i].what);
		return -1;
	}
	return 0;
}

int mw_caps_check(char *why, size_t len)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d)) {
		snprintf(why, len, "--all: cannot read mapwatch's capabilities: %s", strerror(errno));
		return -1;
	}
	return mw_caps_missing((uint64_t)d[0].effective | (uint64_t)d[1].effective << 32, why, len);
}
