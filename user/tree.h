/* tree.h — the target's processes: signals, -- CMD started and held before
 * its exec, its process tree followed with ptrace (forks, execs, exits),
 * and how a process ended.
 *
 * Every process of -- CMD's tree that execs a program with a supported
 * runtime is watched, held at its exec stop until its probes are in: the
 * first one found is the session's primary, the others are added to the
 * session as they come.
 */
#ifndef MW_TREE_H
#define MW_TREE_H

#include <stddef.h>
#include <sys/types.h>
#include "session.h"

/* SIGINT, SIGTERM and SIGHUP (unless ignored) end the run; a second one
 * ends mapwatch at once. */
void mw_signals_install(void);
int mw_stop_requested(void);
int mw_signals(void);		/* how many arrived */

/* Fork CMD, traced for its tree, stopped before its exec; wait until it
 * execs (held there). quiet_output: its output goes to a temporary file,
 * replayed on stderr by mw_tree_replay_output() (the live view owns the
 * screen). 0, or -1 with one line said on stderr. */
int mw_tree_spawn(char **cmd, int quiet_output);
pid_t mw_tree_root(void);	/* the command's pid while it runs, else 0 */
pid_t mw_tree_cmd_pid(void);	/* the command's pid, also after it ended */
void mw_tree_replay_output(void);

/* Let the tree run until one of its processes execs a supported runtime;
 * it is returned held at its exec stop, with *t and comm filled. 0 when
 * the root ended first or mapwatch was asked to stop. */
pid_t mw_tree_first(const struct mw_opts *o, struct mw_target *t, char *comm, size_t commlen);
/* Handle what the tree reports without blocking: forks, execs (new
 * processes to the session), exits. 1 when the root ended: *status. */
int mw_tree_reap(struct mw_session *s, int *status);
/* Stop the tree: SIGTERM, then SIGKILL after 2 s; the root's status. */
int mw_tree_stop(struct mw_session *s);
/* SIGKILL the command, if it still runs. */
void mw_tree_kill(void);

/* "exited with status 2", "killed by SIGKILL"; returns the exit status a
 * shell would give (128+N for a signal). */
int mw_exit_status_of(int status, char *how, size_t len);

/* -p: has the process ended? pidfd from mw_pidfd_open (or -1). */
int mw_pidfd_open(int pid);
int mw_target_gone(int pidfd, int pid);

#endif
