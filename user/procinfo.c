/* procinfo.c — /proc facts about a process, and --all's filters (procinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procinfo.h"

int mw_procinfo_parse_status(const char *text, int *nspid, int *ppid)
{
	const char *l;

	*nspid = *ppid = -1;
	if ((l = strstr(text, "\nPPid:")))
		*ppid = atoi(l + 6);
	if ((l = strstr(text, "\nNSpid:"))) {
		const char *e = strchr(l + 1, '\n');
		const char *p = l + 7;
		/* the last number on the line: the innermost namespace */
		while (*p && (!e || p < e)) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				break;
			*nspid = atoi(p);
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	return *ppid >= 0 ? 0 : -1;
}

unsigned long long mw_procinfo_parse_start(const char *text)
{
	const char *p = strrchr(text, ')');

	if (!p)
		return 0;
	p++;
	/* fields 3.. follow the comm: the start time is field 22 */
	for (int f = 3; f < 22 && p; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* The path after "PREFIX" on its own line of text, or NULL. */
static const char *cg_line(const char *text, const char *prefix)
{
	size_t k = strlen(prefix);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, k))
			return l + k;
	return NULL;
}

void mw_procinfo_parse_cgroup(const char *text, char *out, size_t len)
{
	const char *v2 = cg_line(text, "0::"), *sd = cg_line(text, "1:name=systemd:");
	const char *p = v2;

	/* A hybrid host (v1 controllers, an empty v2 tree): systemd's v1 tree
	 * names the unit or container. */
	if (!sd)
		for (int i = 2; i < 16 && !sd; i++) {
			char pre[32];
			snprintf(pre, sizeof(pre), "%d:name=systemd:", i);
			sd = cg_line(text, pre);
		}
	if ((!v2 || !strncmp(v2, "/\n", 2) || !strcmp(v2, "/")) && sd)
		p = sd;
	if (!len)
		return;
	if (!p)
		p = "";
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while (got < (ssize_t)len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

unsigned long long mw_procinfo_start(int pid)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return read_text(path, buf, sizeof(buf)) > 0 ? mw_procinfo_parse_start(buf) : 0;
}

int mw_procinfo_read(int pid, struct mw_procinfo *p)
{
	char path[64], buf[4096];
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((n = read_text(path, buf, sizeof(buf))) < 0)
		return (int)n;
	mw_procinfo_parse_status(buf, &p->nspid, &p->ppid);
	if (!strncmp(buf, "Name:\t", 6))
		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)strcspn(buf + 6, "\n"), buf + 6);
	if (!(p->start = mw_procinfo_start(pid)))
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_text(path, buf, sizeof(buf)) > 0)
		mw_procinfo_parse_cgroup(buf, p->cgroup, sizeof(p->cgroup));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n < 0)
		return -errno;	/* a kernel thread (ENOENT), or not ours to see (EACCES) */
	p->exe[n] = 0;
	return 0;
}

int mw_filters_add(struct mw_filters *fl, int kind, const char *value)
{
	if (kind < 0 || kind >= MW_F_KINDS || fl->n[kind] >= MW_FILTERS)
		return -1;
	fl->f[kind][fl->n[kind]++] = value;
	return 0;
}

static int glob_hit(const char *pat, const char *path)
{
	const char *base = strrchr(path, '/');

	return !fnmatch(pat, path, 0) || (base && !fnmatch(pat, base + 1, 0));
}

const char *mw_filters_reject(const struct mw_filters *fl, const char *exe, const char *cgroup)
{
	int hit = !fl->n[MW_F_INCLUDE];

	for (int i = 0; i < fl->n[MW_F_EXCLUDE]; i++)
		if (glob_hit(fl->f[MW_F_EXCLUDE][i], exe))
			return "--exclude";
	for (int i = 0; i < fl->n[MW_F_INCLUDE] && !hit; i++)
		hit = glob_hit(fl->f[MW_F_INCLUDE][i], exe);
	if (!hit)
		return "--include";
	if (!fl->n[MW_F_CGROUP])
		return NULL;
	for (int i = 0; i < fl->n[MW_F_CGROUP]; i++) {
		const char *pre = fl->f[MW_F_CGROUP][i];
		size_t k = strlen(pre);
		while (k > 1 && pre[k - 1] == '/')
			k--;
		if (!strncmp(cgroup, pre, k) && (cgroup[k] == 0 || cgroup[k] == '/' || pre[k - 1] == '/'))
			return NULL;
	}
	return "--cgroup";
}
