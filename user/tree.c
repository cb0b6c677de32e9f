/* tree.c — -- CMD's process tree, signals, and how processes end (tree.h).
 *
 * The command is traced with ptrace for its forks and execs (and its exit
 * stop, for symbolization): every process of its tree that execs a program
 * with a supported runtime is watched, held at its exec stop until its
 * probes are in. Threads too (CLONE): a fork or exec may come from any
 * thread (Go's os/exec runs on whatever thread the goroutine is on).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "target.h"
#include "tree.h"
#include "tui.h"

/* ---- signals ------------------------------------------------------------------ */

static volatile sig_atomic_t stop_req;
static volatile sig_atomic_t nsigs;
static pid_t child_pid;
static pid_t cmd_pid;		/* child_pid as it was started */
static int hup_handled;		/* SIGHUP has on_signal (it was not ignored) */

static void on_signal(int sig)
{
	if (++nsigs > 1) {
		/* A second Ctrl-C: out at once. */
		mw_tui_emergency_restore();
		if (child_pid > 0)
			kill(child_pid, SIGKILL);
		_exit(130);
	}
	stop_req = sig;
}

/* SIGHUP (the terminal went away) ends the run like SIGTERM: summary,
 * complete trace, terminal restored. Unless it is ignored (nohup). */
void mw_signals_install(void)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_hup;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!sigaction(SIGHUP, NULL, &old_hup) && old_hup.sa_handler != SIG_IGN) {
		sigaction(SIGHUP, &sa, NULL);
		hup_handled = 1;
	}
	signal(SIGPIPE, SIG_IGN);
}

int mw_stop_requested(void)
{
	return stop_req;
}

int mw_signals(void)
{
	return nsigs;
}

/* ---- how a process ended ---------------------------------------------------------- */

static const char *sig_name(int sig)
{
	static char buf[32];
	const char *s = sigabbrev_np(sig);

	snprintf(buf, sizeof(buf), "SIG%s", s ? s : "?");
	if (!s)
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

int mw_exit_status_of(int status, char *how, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(how, len, "exited with status %d", WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	if (WIFSIGNALED(status)) {
		snprintf(how, len, "killed by %s", sig_name(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	snprintf(how, len, "ended");
	return 1;
}

int mw_pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int mw_target_gone(int pidfd, int pid)
{
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		return poll(&p, 1, 0) > 0;
	}
	return kill(pid, 0) && errno == ESRCH;
}

/* ---- the command ------------------------------------------------------------------ */

/* With the live view open, the command's own output would scribble over the
 * screen: it goes to an unlinked temporary file instead, replayed on stderr
 * once the screen is closed. */
static int child_out_fd = -1;

void mw_tree_replay_output(void)
{
	char buf[65536];
	ssize_t n;

	if (child_out_fd < 0 || lseek(child_out_fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(child_out_fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
	close(child_out_fd);
	child_out_fd = -1;
}

/* Fork CMD stopped before exec: it waits on a pipe until it is traced. */
static pid_t spawn_stopped(char **cmd, int *release_fd)
{
	int p[2];
	pid_t pid, parent = getpid();

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		/* The command never outlives mapwatch, even a SIGKILLed one: the
		 * kernel kills it when its parent dies (kept across exec, except
		 * of a set-user-ID program). A parent already gone before the
		 * prctl would go unnoticed: check it after. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		close(p[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (hup_handled)
			signal(SIGHUP, SIG_DFL);	/* an ignored one stays ignored */
		if (read(p[0], &c, 1) != 1)
			_exit(127);	/* mapwatch gave up: never run unwatched */
		close(p[0]);
		if (child_out_fd >= 0) {
			dup2(child_out_fd, STDOUT_FILENO);
			dup2(child_out_fd, STDERR_FILENO);
			close(child_out_fd);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "mapwatch: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}

/* ---- the tree ---------------------------------------------------------------------- */

#define MAX_TRACEES 1024
static pid_t tracees[MAX_TRACEES];	/* known tracees */
static int ntracees;
static pid_t fresh[MAX_TRACEES];	/* forked, their first (attach) stop still to come */
static int nfresh;
static const long TREE_OPTS = PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |
			      PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;

static int tracee_known(pid_t p)
{
	for (int i = 0; i < ntracees; i++)
		if (tracees[i] == p)
			return 1;
	return 0;
}

static void tracee_add(pid_t p)
{
	if (!tracee_known(p) && ntracees < MAX_TRACEES)
		tracees[ntracees++] = p;
}

/* A new process of the tree: known, and its attach stop is still to come. */
static void tracee_fork(pid_t p)
{
	tracee_add(p);
	if (nfresh < MAX_TRACEES)
		fresh[nfresh++] = p;
}

/* Is this stop the attach stop of a new process (to be continued, not a group-stop)? */
static int first_stop(pid_t p)
{
	for (int i = 0; i < nfresh; i++)
		if (fresh[i] == p) {
			fresh[i] = fresh[--nfresh];
			return 1;
		}
	if (!tracee_known(p)) {
		tracee_add(p);
		return 1;
	}
	return 0;
}

static void tracee_del(pid_t p)
{
	for (int i = 0; i < ntracees; i++)
		if (tracees[i] == p) {
			tracees[i] = tracees[--ntracees];
			return;
		}
}

static void kill_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	/* Its ptrace stops (the exit stop) let go until it is gone. */
	while (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status))
		ptrace(PTRACE_CONT, pid, 0, 0);
}

void mw_tree_kill(void)
{
	if (child_pid > 0)
		kill_child(child_pid);
	child_pid = 0;
}

pid_t mw_tree_root(void)
{
	return child_pid;
}

pid_t mw_tree_cmd_pid(void)
{
	return cmd_pid;
}

int mw_tree_spawn(char **cmd, int quiet_output)
{
	int release_fd = -1, st;

	if (quiet_output) {
		char tmpl[] = "/tmp/mapwatch-cmd-XXXXXX";
		child_out_fd = mkostemp(tmpl, O_CLOEXEC);
		if (child_out_fd >= 0)
			unlink(tmpl);
	}
	child_pid = spawn_stopped(cmd, &release_fd);
	if (child_pid < 0) {
		child_pid = 0;
		fprintf(stderr, "mapwatch: cannot fork: %s\n", strerror(errno));
		return -1;
	}
	/* Traced for its forks, execs and exit; held at its exec until the
	 * probes are in. */
	if (ptrace(PTRACE_SEIZE, child_pid, 0, (void *)TREE_OPTS)) {
		fprintf(stderr, "mapwatch: cannot trace %s: ptrace: %s\n", cmd[0], strerror(errno));
		close(release_fd);
		mw_tree_kill();
		return -1;
	}
	tracee_add(child_pid);
	cmd_pid = child_pid;
	if (write(release_fd, "g", 1) != 1) {
		fprintf(stderr, "mapwatch: cannot start %s: %s\n", cmd[0], strerror(errno));
		close(release_fd);
		mw_tree_kill();
		return -1;
	}
	close(release_fd);
	for (;;) {
		if (waitpid(child_pid, &st, __WALL) < 0 && errno == EINTR)
			continue;
		if (!WIFSTOPPED(st))
			break;
		if ((unsigned)st >> 16 == PTRACE_EVENT_EXEC)
			return 0;
		ptrace(PTRACE_CONT, child_pid, 0, (void *)(long)((unsigned)st >> 16 ? 0 : WSTOPSIG(st)));
	}
	mw_tree_replay_output();
	fprintf(stderr, "mapwatch: cannot run %s\n", cmd[0]);
	return -1;
}

/* One process of the tree exec'd (it is held at its exec stop). */
static void tree_exec(struct mw_session *s, pid_t pid)
{
	struct mw_watched *p = mw_session_find(s, pid);
	static struct mw_target t;
	char comm[64], err[256];

	if (p) {
		mw_session_exec(s, p);
		return;
	}
	if (!mw_target_of_exec(mw_session_opts(s), pid, &t, comm, sizeof(comm)))
		mw_session_add(s, pid, &t, comm, err, sizeof(err));
}

/* Where a process held at its exec stop goes before anything is watched. */
struct tree_first {
	const struct mw_opts *o;
	pid_t pid;
	struct mw_target *t;
	char *comm;
	size_t commlen;
};

enum { TREE_PENDING = 0, TREE_ROOT_ENDED = 1, TREE_HELD = 2 };

/* Handle what the tree's processes report, until nothing is pending (or,
 * with block, until the root ends). With a session, execs go to
 * tree_exec; before (first set), the first process that execs a
 * supported runtime ends the wait, held at its exec stop. Returns
 * TREE_ROOT_ENDED with the root's *status, TREE_HELD, or TREE_PENDING. */
static int tree_wait(struct mw_session *s, int *status, int block, struct tree_first *first)
{
	struct mw_watched *primary = s ? mw_session_primary(s) : NULL;
	pid_t root = child_pid;

	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, __WALL | (block ? 0 : WNOHANG));
		if (r < 0 && errno == EINTR && block && !stop_req)
			continue;
		if (r <= 0)
			return r < 0 && errno == ECHILD ? (*status = 0, TREE_ROOT_ENDED) : TREE_PENDING;
		if (!WIFSTOPPED(st)) {
			struct mw_watched *p = s ? mw_session_find(s, r) : NULL;
			char how[128];
			tracee_del(r);
			if (p && p != primary) {
				mw_exit_status_of(st, how, sizeof(how));
				mw_session_end(s, p, how);
			}
			if (r == root) {
				*status = st;
				return TREE_ROOT_ENDED;
			}
			if (p && p == primary)
				mw_exit_status_of(st, primary->st.exit_how, sizeof(primary->st.exit_how));
			continue;
		}
		int ev = (unsigned)st >> 16, sig = 0;
		if (ev == PTRACE_EVENT_STOP && first_stop(r)) {
			ptrace(PTRACE_CONT, r, 0, 0);	/* a new process of the tree */
			continue;
		}
		if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;
			if (!ptrace(PTRACE_GETEVENTMSG, r, 0, &child) && !tracee_known((pid_t)child))
				tracee_fork((pid_t)child);
		} else if (ev == PTRACE_EVENT_EXEC && first) {
			if (!mw_target_of_exec(first->o, r, first->t, first->comm, first->commlen)) {
				first->pid = r;
				return TREE_HELD;
			}
		} else if (ev == PTRACE_EVENT_EXEC && s) {
			tree_exec(s, r);
		} else if (ev == PTRACE_EVENT_EXIT) {
			struct mw_watched *p = s ? mw_session_find(s, r) : NULL;
			if (p)
				mw_session_keep_maps(p);
		} else if (ev == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_LISTEN, r, 0, 0);
			continue;
		} else if (!ev) {
			sig = WSTOPSIG(st);
		}
		ptrace(PTRACE_CONT, r, 0, (void *)(long)sig);
	}
}

int mw_tree_reap(struct mw_session *s, int *status)
{
	if (child_pid <= 0)
		return 0;
	if (tree_wait(s, status, 0, NULL) != TREE_ROOT_ENDED)
		return 0;
	child_pid = 0;
	return 1;
}

pid_t mw_tree_first(const struct mw_opts *o, struct mw_target *t, char *comm, size_t commlen)
{
	struct tree_first f = { .o = o, .t = t, .comm = comm, .commlen = commlen };
	int status;

	ptrace(PTRACE_CONT, child_pid, 0, 0);
	for (;;) {
		int r = tree_wait(NULL, &status, 1, &f);
		if (r == TREE_HELD)
			return f.pid;
		if (r == TREE_ROOT_ENDED || stop_req)
			return 0;
	}
}

int mw_tree_stop(struct mw_session *s)
{
	int status = 0;

	kill(child_pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (tree_wait(s, &status, 0, NULL) == TREE_ROOT_ENDED)
			break;
		usleep(10000);
		if (i == 199) {
			kill(child_pid, SIGKILL);
			while (tree_wait(s, &status, 1, NULL) != TREE_ROOT_ENDED)
				;
		}
	}
	child_pid = 0;
	return status;
}
