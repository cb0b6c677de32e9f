/* procinfo.h — what /proc says about a process that the host-wide mode
 * needs: its pid in its own pid namespace, its parent, its cgroup, when it
 * started (a reused pid is another process), its executable as its own mount
 * namespace names it; and the filters of --all (--include, --exclude,
 * --cgroup) applied to them. Parsers are pure (tests/test_procinfo.c). */
#ifndef MW_PROCINFO_H
#define MW_PROCINFO_H

#include <limits.h>
#include <stddef.h>

struct mw_procinfo {
	int pid;			/* host pid */
	int nspid;			/* its pid in its own (innermost) pid namespace */
	int ppid;
	unsigned long long start;	/* start time, clock ticks after boot (/proc/PID/stat field 22) */
	char comm[17];
	char exe[PATH_MAX];		/* readlink /proc/PID/exe: the path in its mount namespace */
	char cgroup[512];		/* cgroup v2 path ("0::" line), else the first hierarchy's */
};

/* Fill p from /proc/PID/{status,stat,cgroup,exe}. 0, or -errno (-ENOENT: gone). */
int mw_procinfo_read(int pid, struct mw_procinfo *p);
/* Start time of pid, 0 when it is gone. */
unsigned long long mw_procinfo_start(int pid);

/* Pure parsers. status: NSpid (last field) and PPid, 0 or -1 when absent. */
int mw_procinfo_parse_status(const char *text, int *nspid, int *ppid);
/* stat: start time (field 22, after the parenthesised comm). 0 on error. */
unsigned long long mw_procinfo_parse_start(const char *text);
/* cgroup: the "0::" (v2) path; when it is the root, systemd's v1 tree's. */
void mw_procinfo_parse_cgroup(const char *text, char *out, size_t len);

/* --all's filters. */
#define MW_FILTERS 16
enum { MW_F_INCLUDE, MW_F_EXCLUDE, MW_F_CGROUP, MW_F_KINDS };
struct mw_filters {
	const char *f[MW_F_KINDS][MW_FILTERS];
	int n[MW_F_KINDS];
};
/* Add one; -1 when that kind is full. */
int mw_filters_add(struct mw_filters *fl, int kind, const char *value);
/* NULL when a process with executable exe (its path) and cgroup passes, else
 * why not ("--exclude", "--include", "--cgroup"). A glob matches the whole
 * path or the file name; a cgroup prefix matches whole path components. */
const char *mw_filters_reject(const struct mw_filters *fl, const char *exe, const char *cgroup);

#endif
