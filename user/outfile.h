/* outfile.h — safe creation of the files mapwatch writes (trace, Perfetto).
 *
 * mapwatch runs as root, often in a directory other users can write to, so an
 * output path is never trusted: the file is created with O_EXCL|O_NOFOLLOW (a
 * planted symlink is refused, an existing file is kept), and --force only ever
 * truncates an existing regular file, still without following a symlink. A
 * file created under sudo is handed to the invoking user (SUDO_UID/SUDO_GID).
 */
#ifndef MW_OUTFILE_H
#define MW_OUTFILE_H

#include <stddef.h>

/* Create PATH for writing, mode 0644. Returns an fd (O_CLOEXEC), or -1 with
 * a message like "cannot create trace file 'x': Permission denied" in err. */
int mw_create_output(const char *path, int force, char *err, size_t errlen);

/* The same, naming the file WHAT in messages ("trace file", "Perfetto file"). */
int mw_create_output_as(const char *path, int force, const char *what,
			char *err, size_t errlen);

#endif
