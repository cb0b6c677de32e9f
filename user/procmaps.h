/* procmaps.h — /proc/PID/maps: read it, and parse its lines, in one place
 * (the symbolizer, the probe's library search and the live loop use it). */
#ifndef MW_PROCMAPS_H
#define MW_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line: "start-end perms pgoff maj:min inode   path". */
struct mw_maps_ent {
	uint64_t start, end, pgoff;
	uint64_t dev;		/* maj << 32 | min */
	uint64_t ino;
	char perms[5];
	const char *path;	/* into the text: the name, without " (deleted)"; */
	size_t pathlen;		/* 0 for an anonymous mapping */
	bool deleted;		/* the maps said "(deleted)" */
};

/* A fresh copy of /proc/PID/maps (NUL-terminated, "" for a zombie), or
 * NULL with errno (EFBIG past 64 MiB). The caller frees it. */
char *mw_maps_read(int pid);
/* Parses the line [l, end). 0, or -1 when malformed. */
int mw_maps_parse(const char *l, const char *end, struct mw_maps_ent *m);
/* The next well-formed line at *cursor (which moves past it) into m:
 * 1, or 0 at the end of the text. Malformed lines are skipped. */
int mw_maps_next(const char **cursor, struct mw_maps_ent *m);

#endif
