/* runstat — run a command, stamp its output, report its peak memory.
 *
 * The benchmark driver (bench/tools.sh) runs every configuration through
 * this: the child's stdout and stderr go through one pipe (so their order is
 * kept) and each line is written out prefixed with the CLOCK_MONOTONIC time
 * it arrived, in seconds — the same clock as bpf_ktime_get_ns(), so a tool's
 * own event timestamps and the arrival of its reports compare directly. On
 * exit it adds one line with the child's wall time, peak RSS (wait4's
 * ru_maxrss: the child and any children it reaped), CPU time (wait4's
 * ru_utime and ru_stime, the same scope) and exit status.
 * SIGINT/SIGTERM sent to runstat are passed on to the child.
 *
 *   runstat [-o OUT] [-S] -- CMD [ARGS...]
 *
 * -S starts CMD stopped: the child is held at its exec (ptrace) and left in
 * a plain SIGSTOP stop before the new image runs a single instruction, so a
 * tool can attach with -p before the program's first operation; SIGCONT
 * starts it. Its CPU time then covers the whole run, under the tool.
 *
 * Lines written:
 *   runstat: pid P start T0 [stopped]
 *   T LINE                          (every line of the child's output)
 *   runstat: pid P start T0 end T1 wall W maxrss_kb M status S cpu_user_s U cpu_sys_s Y
 * S is the exit code, or 128+signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	const char *outpath = NULL;
	FILE *out = stdout;
	int argi = 1, fds[2], start_stopped = 0, reaped = 0, status = 0;

	while (argi < argc && strcmp(argv[argi], "--")) {
		if (!strcmp(argv[argi], "-o") && argi + 1 < argc) {
			outpath = argv[argi + 1];
			argi += 2;
		} else if (!strcmp(argv[argi], "-S")) {
			start_stopped = 1;
			argi++;
		} else {
			fprintf(stderr, "usage: runstat [-o OUT] [-S] -- CMD [ARGS...]\n");
			return 2;
		}
	}
	if (argi + 1 >= argc) {
		fprintf(stderr, "usage: runstat [-o OUT] [-S] -- CMD [ARGS...]\n");
		return 2;
	}
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "runstat: cannot open %s: %s\n", outpath, strerror(errno));
		return 2;
	}
	if (pipe(fds)) {
		fprintf(stderr, "runstat: pipe: %s\n", strerror(errno));
		return 2;
	}

	double t0 = mono();
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		/* never outlive runstat: a driver that had to SIGKILL it must not
		 * leave a tool attached behind it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (start_stopped && ptrace(PTRACE_TRACEME, 0, 0, 0)) {
			fprintf(stderr, "runstat: PTRACE_TRACEME: %s\n", strerror(errno));
			_exit(127);
		}
		execvp(argv[argi + 1], argv + argi + 1);
		fprintf(stderr, "runstat: cannot run %s: %s\n", argv[argi + 1], strerror(errno));
		_exit(127);
	}
	child = pid;
	close(fds[1]);
	if (start_stopped) {
		/* the exec's SIGTRAP stop (or the child's death if exec failed);
		 * then detach into a SIGSTOP stop: the image has run nothing yet */
		int st;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFSTOPPED(st)) {
			ptrace(PTRACE_DETACH, pid, 0, (void *)(long)SIGSTOP);
		} else {
			/* exec failed: the child is gone, reaped here */
			start_stopped = 0;
			reaped = 1;
			status = st;
		}
	}

	struct sigaction sa = { .sa_handler = forward };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fprintf(out, "runstat: pid %d start %.6f%s\n", (int)pid, t0, start_stopped ? " stopped" : "");
	fflush(out);

	/* Stamp each complete line on arrival; a last partial line at EOF too. */
	char buf[65536], line[65536];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		double t = mono();
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || len == sizeof(line) - 1) {
				line[len] = 0;
				fprintf(out, "%.6f %s\n", t, line);
				len = 0;
			} else {
				line[len++] = buf[i];
			}
		}
		fflush(out);
	}
	if (len) {
		line[len] = 0;
		fprintf(out, "%.6f %s\n", mono(), line);
	}

	struct rusage ru;

	memset(&ru, 0, sizeof(ru));
	if (reaped)
		getrusage(RUSAGE_CHILDREN, &ru);
	else
		while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
			;
	double t1 = mono();
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	fprintf(out, "runstat: pid %d start %.6f end %.6f wall %.6f maxrss_kb %ld status %d cpu_user_s %.6f cpu_sys_s %.6f\n",
		(int)pid, t0, t1, t1 - t0, ru.ru_maxrss, code,
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	if (out != stdout)
		fclose(out);
	return code;
}
