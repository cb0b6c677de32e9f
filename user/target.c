/* target.c — resolving what to watch (target.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"
#include "target.h"

int mw_have_caps(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if (eff & (1ull << 21))		/* CAP_SYS_ADMIN */
		return 1;
	return (eff & (1ull << 39)) && (eff & (1ull << 38));	/* CAP_BPF, CAP_PERFMON */
}

static void read_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* execvp's search, so the ELF we read is the one the child will run. */
static int find_cmd(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];
	char *save = NULL;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(cmd, X_OK) ? -errno : 0;
	}
	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *d ? d : ".", cmd);
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

int mw_target_of_pid(const struct mw_opts *o, struct mw_target *t, char *exe, size_t exelen,
		     char *comm, size_t commlen)
{
	char path[64];
	int e;

	snprintf(path, sizeof(path), "/proc/%d/exe", o->pid);
	if (kill(o->pid, 0) && errno == ESRCH) {
		fprintf(stderr, "mapwatch: cannot attach to pid %d: no such process\n", o->pid);
		return -1;
	}
	ssize_t n = readlink(path, exe, exelen - 1);
	if (n < 0) {
		fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", o->pid,
			errno == ENOENT ? "no such process" : strerror(errno));
		return -1;
	}
	exe[n] = 0;
	/* A replaced or deleted binary, or another mount namespace: the magic link still works. */
	if (access(exe, R_OK) || strstr(exe, " (deleted)"))
		snprintf(exe, exelen, "%s", path);
	e = mw_find_target(exe, o->pid, 1, o->reads, t);
	if (e == -ENOTSUP) {
		fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", o->pid, t->why);
		return -1;
	}
	if (e) {
		fprintf(stderr, "mapwatch: cannot attach to pid %d: not a Go program, and libgomap "
			"symbols not found: %s (looked in %s)\n", o->pid, t->missing, t->looked);
		return -1;
	}
	read_comm(o->pid, comm, commlen);
	return 0;
}

int mw_target_of_cmd(const struct mw_opts *o, struct mw_target *t, char *exe, size_t exelen,
		     char *comm, size_t commlen, char *why, size_t whylen)
{
	int e = find_cmd(o->cmd[0], exe, exelen);

	if (e) {
		fprintf(stderr, "mapwatch: cannot run %s: %s\n", o->cmd[0], strerror(-e));
		return -1;
	}
	/* The command itself may run no supported runtime (a wrapper script,
	 * `go run`, `go test`): then its descendants are. */
	why[0] = 0;
	e = mw_find_target(exe, 0, 0, o->reads, t);
	if (!e && !o->toolchain && mw_go_toolchain_main(t->gomain))
		snprintf(why, whylen, "%s is the Go toolchain (%s), not watched without --toolchain",
			 exe, t->gomain);
	else if (e == -ENOTSUP)
		snprintf(why, whylen, "%s", t->why);
	else if (e)
		snprintf(why, whylen, "not a Go program, and libgomap symbols not found: %s (looked in %s)",
			 t->missing, t->looked);
	const char *b = strrchr(exe, '/');
	snprintf(comm, commlen, "%.15s", b ? b + 1 : exe);
	return 0;
}

int mw_target_of_exec(const struct mw_opts *o, int pid, struct mw_target *t, char *comm, size_t commlen)
{
	char exe[64], path[PATH_MAX];

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (mw_find_target(exe, pid, 0, o->reads, t))
		return -1;
	/* The Go toolchain's own programs (go, compile, link, …) are not what a
	 * user of `mapwatch -- go run/test` wants watched. */
	if (!o->toolchain && mw_go_toolchain_main(t->gomain))
		return -1;
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	if (t->is_exe && path[0])
		snprintf(t->module, sizeof(t->module), "%s", path);
	const char *b = strrchr(path, '/');
	snprintf(comm, commlen, "%.15s", b ? b + 1 : path);
	return 0;
}
