/* outfile.c — safe output-file creation; see outfile.h for the threat model.
 *
 * Order of the checks: try O_CREAT|O_EXCL|O_NOFOLLOW first (the common case,
 * nothing there). On EEXIST: a symlink is always refused; without --force the
 * file is kept; with --force the path is lstat'ed (never open a device or a
 * FIFO: opening alone can have effects), opened O_NOFOLLOW|O_NONBLOCK, checked
 * again with fstat (the path may have changed in between) and only then
 * truncated. Only a file we created is chowned to the sudo user: chowning a
 * pre-existing file would give it away.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

/* Parse a SUDO_UID-style decimal id; -1 when absent or malformed. */
static long sudo_id(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > (long)UINT_MAX - 1)
		return -1;
	return v;
}

/* Under sudo, hand a file we just created to the invoking user, so that they
 * can move or delete their own trace. Best effort: the file is usable anyway. */
static void give_to_sudo_user(int fd)
{
	long uid = sudo_id("SUDO_UID"), gid = sudo_id("SUDO_GID");

	if (geteuid() != 0 || uid < 0 || gid < 0)
		return;
	if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0) {
		/* not fatal: root still owns a readable 0644 file */
	}
}

static int fail(char *err, size_t errlen, const char *what, const char *path,
		const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "cannot create %s '%s': %s", what, path, why);
	return -1;
}

/* --force on an existing path: truncate it only if it is a plain regular file. */
static int reopen_forced(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd, fl;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? -2 : fail(err, errlen, what, path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return fail(err, errlen, what, path, "is a symbolic link (refusing to follow it)");
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, what, path, strerror(EISDIR));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, what, path, "not a regular file (refusing to overwrite it)");

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;	/* gone in between: create it afresh */
		if (errno == ELOOP)
			return fail(err, errlen, what, path, "is a symbolic link (refusing to follow it)");
		return fail(err, errlen, what, path, strerror(errno));
	}
	/* The path may have been swapped since lstat: trust only fstat. A file
	 * with other hard links may be someone else's file linked here. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, what, path, "not a regular file (refusing to overwrite it)");
	}
	if (st.st_nlink > 1) {
		close(fd);
		return fail(err, errlen, what, path, "has other hard links (refusing to overwrite it)");
	}
	if (ftruncate(fd, 0) < 0) {
		int e = errno;
		close(fd);
		return fail(err, errlen, what, path, strerror(e));
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int mw_create_output_as(const char *path, int force, const char *what,
			char *err, size_t errlen)
{
	struct stat st;

	if (!what)
		what = "output file";
	if (!path || !*path)
		return fail(err, errlen, what, path ? path : "", "empty path");

	/* Two rounds: the forced reopen may find the file gone and retry the create. */
	for (int round = 0; round < 3; round++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);

		if (fd >= 0) {
			give_to_sudo_user(fd);
			return fd;
		}
		if (errno != EEXIST)
			return fail(err, errlen, what, path, strerror(errno));
		if (!force) {
			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
				return fail(err, errlen, what, path,
					    "is a symbolic link (refusing to follow it)");
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return fail(err, errlen, what, path, strerror(EISDIR));
			return fail(err, errlen, what, path, "file exists (use --force to overwrite)");
		}
		fd = reopen_forced(path, what, err, errlen);
		if (fd != -2)
			return fd;
	}
	return fail(err, errlen, what, path, "the path keeps changing");
}

int mw_create_output(const char *path, int force, char *err, size_t errlen)
{
	return mw_create_output_as(path, force, "trace file", err, errlen);
}
