/* target.h — what mapwatch is asked to watch, resolved: the process or
 * command, its executable, and the runtime and layout its probes need
 * (mw_find_target in probe_elf.h), with one-line errors for the user.
 */
#ifndef MW_TARGET_H
#define MW_TARGET_H

#include <stddef.h>
#include "cli.h"
#include "probe_elf.h"

/* CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN: 1 when mapwatch has them. */
int mw_have_caps(void);

/* -p PID: *t, the executable's path and the process's comm. 0, or -1
 * after one line on stderr. */
int mw_target_of_pid(const struct mw_opts *o, struct mw_target *t, char *exe, size_t exelen,
		     char *comm, size_t commlen);
/* -- CMD: the command's executable as execvp will find it, its name, and
 * *t when it runs a supported runtime itself; else why it does not (in
 * why: then its descendants are watched). 0, or -1 after one line on
 * stderr (no such command). */
int mw_target_of_cmd(const struct mw_opts *o, struct mw_target *t, char *exe, size_t exelen,
		     char *comm, size_t commlen, char *why, size_t whylen);
/* What pid runs now (held at its exec stop): 0 and *t filled when it is a
 * supported runtime mapwatch should watch (not the Go toolchain's own
 * programs without --toolchain). */
int mw_target_of_exec(const struct mw_opts *o, int pid, struct mw_target *t, char *comm, size_t commlen);

#endif
