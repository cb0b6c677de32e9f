/* procmaps.c — /proc/PID/maps (procmaps.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmaps.h"

#define MAX_MAPS_FILE	(64u << 20)	/* bytes of /proc/PID/maps */

char *mw_maps_read(int pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 == cap) {
			char *nb = cap < MAX_MAPS_FILE ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)r;
	}
	int e = errno;
	close(fd);
	errno = e;
	return buf;
}

int mw_maps_parse(const char *l, const char *end, struct mw_maps_ent *m)
{
	static const char del[] = " (deleted)";
	char *p;
	uint64_t maj, min;
	int np = 0;

	memset(m, 0, sizeof(*m));
	errno = 0;
	m->start = strtoull(l, &p, 16);
	if (p == l || *p != '-' || p >= end)
		return -1;
	m->end = strtoull(p + 1, &p, 16);
	if (*p != ' ' || p >= end || m->end <= m->start)
		return -1;
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p != ' ') {	/* perms */
		if (np < 4)
			m->perms[np++] = *p;
		p++;
	}
	m->pgoff = strtoull(p, &p, 16);
	maj = strtoull(p, &p, 16);
	if (*p != ':' || p >= end)
		return -1;
	min = strtoull(p + 1, &p, 16);
	m->dev = maj << 32 | (min & 0xffffffffu);
	m->ino = strtoull(p, &p, 10);
	if (p > end || errno)
		return -1;
	while (p < end && *p == ' ')
		p++;

	size_t n = (size_t)(end - p);
	if (n >= sizeof(del) - 1 && !memcmp(end - (sizeof(del) - 1), del, sizeof(del) - 1)) {
		m->deleted = true;
		n -= sizeof(del) - 1;
	}
	m->path = p;
	m->pathlen = n;
	return 0;
}

int mw_maps_next(const char **cursor, struct mw_maps_ent *m)
{
	const char *l = *cursor;

	while (l && *l) {
		const char *e = strchr(l, '\n');

		if (!e)
			e = l + strlen(l);
		*cursor = *e ? e + 1 : e;
		if (mw_maps_parse(l, e, m) == 0)
			return 1;
		l = *cursor;
	}
	return 0;
}
