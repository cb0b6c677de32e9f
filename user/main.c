/* main.c — mapwatch: watch a process's maps for iterate/write/grow races.
 *
 *   mapwatch [options] -p PID          attach to a running process
 *   mapwatch [options] -- CMD [ARGS]   run CMD with probes attached before it starts
 *   mapwatch --all [filters]           every process of the host (agent.c)
 *   mapwatch analyze TRACE …           offline analysis (analyze.c)
 *
 * The outline: parse the command line (cli.c), resolve the target (target.c,
 * and tree.c for -- CMD), attach to it (session.c), open the outputs
 * (sink_*.c), run the live loop until the target ends, -d, Ctrl-C or the
 * live view quits, drain what the probes produced, and report.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>
#include "agent.h"
#include "analyze.h"
#include "caps.h"
#include "cli.h"
#include "session.h"
#include "stacks.h"
#include "target.h"
#include "tree.h"

/* What the target resolved to. */
struct target {
	struct mw_target t;
	char exe[PATH_MAX];
	char comm[64];
	int pid;		/* the process watched first */
};

/* How the run ended. */
struct outcome {
	int error;		/* 1: the ring buffer failed */
	int child_rc;		/* -- CMD's exit status, when have_child_status */
	int have_child_status;
};

/* -p PID, or -- CMD started, traced, and held at the exec of the first
 * process of its tree that runs a supported runtime. 0, or -1 (said). */
static int resolve_target(const struct mw_opts *o, struct target *tg)
{
	char why[1024];

	if (!o->cmd) {
		tg->pid = o->pid;
		return mw_target_of_pid(o, &tg->t, tg->exe, sizeof(tg->exe), tg->comm, sizeof(tg->comm));
	}
	if (mw_target_of_cmd(o, &tg->t, tg->exe, sizeof(tg->exe), tg->comm, sizeof(tg->comm),
			     why, sizeof(why)))
		return -1;
	if (mw_tree_spawn(o->cmd, o->mode == MW_OUT_TUI))
		return -1;
	tg->pid = mw_tree_root();
	if (why[0]) {
		if (o->verbose)
			fprintf(stderr, "mapwatch: %s: %s; watching its descendants\n", o->cmd[0], why);
		tg->pid = mw_tree_first(o, &tg->t, tg->comm, sizeof(tg->comm));
		if (!tg->pid) {
			mw_tree_replay_output();
			fprintf(stderr, "mapwatch: cannot trace %s: %s; and no process it started ran a "
				"supported runtime (supported: Go %s, libgomap)\n", o->cmd[0], why,
				mw_runtime_go_supported());
			return -1;
		}
	}
	snprintf(tg->exe, sizeof(tg->exe), "%s", tg->t.module);
	return 0;
}

/* The probes on the first process. NULL (said). t0: when mapwatch started. */
static struct mw_watched *attach(struct mw_session *s, const struct mw_opts *o, const struct target *tg,
				 uint64_t t0)
{
	const struct mw_target *t = &tg->t;
	struct mw_watched *p;
	char err[1024];

	if (o->verbose) {
		if (t->rt->go_min)
			fprintf(stderr, "mapwatch: %s: %s (%s%s), layout %s: %s; runtime.g from %s: goid at %u, "
				"atomicstatus at %u\n", t->module, t->version, t->symsrc, t->pie ? ", PIE" : "",
				t->rt->name, t->rt->desc, t->layout_src, t->layout.g_goid, t->layout.g_status);
		else
			fprintf(stderr, "mapwatch: %s: layout %s: %s\n", t->module, t->rt->name, t->rt->desc);
	}
	p = mw_session_add(s, tg->pid, t, tg->comm, err, sizeof(err));
	if (!p) {
		if (o->cmd)
			fprintf(stderr, "mapwatch: cannot trace %s: %s\n", o->cmd[0], err);
		else
			fprintf(stderr, "mapwatch: cannot attach to pid %d: %s\n", tg->pid, err);
		return NULL;
	}
	if (o->verbose)
		fprintf(stderr, "mapwatch: %d probes on %s (%s), pid %d; probes armed in %.0f ms\n",
			mw_loader_nprobes(p->ldr), t->module, t->is_exe ? "executable" : "shared library",
			tg->pid, (mw_mono_ns() - t0) / 1e6);
	return p;
}

/* The outputs: the live view or plain text or JSON lines on stdout, the
 * trace, the Perfetto timeline, the metrics endpoint (started before the
 * probes: *metrics). *tui: the live view, when it opened. 0, or -1 (said). */
static int open_sinks(struct mw_session *s, struct mw_opts *o, const struct target *tg,
		      struct mw_sink *metrics, struct mw_sink **tui)
{
	struct mw_watched *p = mw_session_primary(s);
	struct mw_sink *trace = NULL, *pft = NULL;
	char err[1024];

	if (o->out) {
		trace = mw_sink_trace(o->out, o->force, tg->pid, tg->comm, tg->exe, p->st.start_ns,
				      p->st.trace_error, sizeof(p->st.trace_error), err, sizeof(err));
		if (!trace) {
			fprintf(stderr, "mapwatch: %s\n", err);
			return -1;
		}
	}
	if (o->perfetto) {
		pft = mw_sink_perfetto(o->perfetto, o->force, tg->pid, tg->comm, p->st.start_ns,
				       err, sizeof(err));
		if (!pft) {
			fprintf(stderr, "mapwatch: %s\n", err);
			if (trace)
				trace->close(trace);
			return -1;
		}
	}
	*tui = o->mode == MW_OUT_TUI ? mw_sink_tui(o, p, trace) : NULL;
	if (o->mode == MW_OUT_TUI && !*tui)
		o->mode = MW_OUT_PLAIN;		/* no terminal for it */
	if (o->mode == MW_OUT_PLAIN && o->verbose)
		fprintf(stderr, "mapwatch: watching pid %d (%s); Ctrl-C to stop\n", tg->pid, tg->comm);
	mw_session_add_sink(s, *tui);
	/* Under the live view, the findings and the summary after it closes. */
	mw_session_add_sink(s, o->mode == MW_OUT_JSON ? mw_sink_json(o) : mw_sink_text(o, !*tui));
	mw_session_add_sink(s, trace);
	mw_session_add_sink(s, pft);
	mw_session_add_sink(s, metrics);
	return 0;
}

/* The live loop: until the target ends (the live view stays up on its final
 * state until q), -d, a signal, or the view quits. */
static void run(struct mw_session *s, const struct mw_opts *o, int have_tui, struct outcome *out)
{
	struct mw_watched *p = mw_session_primary(s);
	uint64_t start = p->st.start_ns, last_tick = 0;
	int pidfd = o->cmd ? -1 : mw_pidfd_open(p->pid);

	/* The probes are in: let the held process run its new image. */
	if (o->cmd)
		ptrace(PTRACE_CONT, p->pid, 0, 0);
	for (;;) {
		long n = mw_session_poll(s, mw_mono_ns());
		uint64_t now = mw_mono_ns();
		int status;

		if (n < 0) {
			fprintf(stderr, "mapwatch: ring buffer: %s\n", strerror((int)-n));
			out->error = 1;
			break;
		}
		if (have_tui && now - last_tick >= 10000000ull) {
			last_tick = now;
			if (mw_session_tick(s, now) == MW_SINK_QUIT)
				break;
		}
		if (p->exec_stop || mw_stop_requested())
			break;
		if (o->duration > 0 && now - start >= (uint64_t)(o->duration * 1e9))
			break;
		if (p->st.target_exited) {
			usleep(10000);
			continue;
		}
		if (mw_tree_root() > 0) {
			if (mw_tree_reap(s, &status)) {
				out->child_rc = mw_exit_status_of(status, p->st.exit_how, sizeof(p->st.exit_how));
				out->have_child_status = 1;
				mw_session_end(s, p, NULL);
				if (!have_tui)
					break;
			}
		} else if (!o->cmd && mw_target_gone(pidfd, p->pid)) {
			mw_session_end(s, p, "exited");
			if (!have_tui)
				break;
		}
		if (n == 0)
			usleep(1000);
	}
	/* Stop the command we started (Ctrl-C, -d, or the view quit). */
	if (mw_tree_root() > 0) {
		int status = mw_tree_stop(s);
		out->child_rc = mw_exit_status_of(status, p->st.exit_how, sizeof(p->st.exit_how));
		out->have_child_status = 1;
	}
	if (pidfd >= 0)
		close(pidfd);
}

/* Findings and summaries to every output; the exit status. */
static int report(struct mw_session *s, const struct mw_opts *o, const struct outcome *out)
{
	struct mw_watched *p = mw_session_primary(s);
	struct mw_live_end live = {
		.pid = p->pid, .root_pid = p->pid, .records = p->records,
		.bpf_records = p->ctr.records, .hits = p->ctr.hits, .rb_drops = p->ctr.rb_drops,
		.map_full = p->ctr.map_full, .slots_full = p->ctr.slots_full,
		.bad_reads = p->ctr.bad_reads, .stack_fails = p->ctr.stack_fails,
		.target = p->st.exit_how[0] ? p->st.exit_how : "running",
		.exit_status = out->have_child_status ? out->child_rc : -1,
	};
	struct mw_summary sum;
	int rc = out->have_child_status ? out->child_rc : 0;

	if (o->cmd)
		live.root_pid = mw_tree_cmd_pid();
	mw_session_report(s, &live, &sum);
	if (o->fail_on_race && sum.alerts)
		rc = 3;
	if (out->error)
		rc = 1;
	if (mw_session_close(s) < 0)
		rc = 1;	/* the recording is incomplete: an error, whatever else happened */
	return rc;
}

/* --all: the capabilities it needs, then the host-wide loop (agent.c). */
static int all(const struct mw_opts *o)
{
	char why[256];
	int rc;

	if (mw_caps_check(why, sizeof(why))) {
		fprintf(stderr, "mapwatch: %s\n", why);
		return 1;
	}
	mw_signals_install();
	rc = mw_agent_main(o);
	mw_sym_cache_clear();
	return rc == MW_AGENT_RACES ? (o->fail_on_race ? 3 : 0) : rc;
}

int main(int argc, char **argv)
{
	uint64_t t0 = mw_mono_ns();
	static char outbuf[1 << 20];
	static struct target tg;
	static struct mw_opts o;
	struct outcome out = { 0 };
	struct mw_session *s = NULL;
	struct mw_sink *metrics = NULL, *tui = NULL;
	char err[1024];
	int rc = 1;

	if (argc > 1 && !strcmp(argv[1], "analyze"))
		return mw_analyze_main(argc - 1, argv + 1);
	mw_opts_parse(&o, argc, argv);
	if (o.mode == MW_OUT_AUTO)
		o.mode = isatty(STDOUT_FILENO) ? MW_OUT_TUI : MW_OUT_PLAIN;
	/* Fully buffered and flushed after every consume round (about every
	 * millisecond): lines still appear as they happen, without a write(2)
	 * per line when alerts come by the hundred thousand. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (o.all)
		return all(&o);
	if (!mw_have_caps()) {
		fprintf(stderr, "mapwatch: permission denied: loading BPF programs and attaching uprobes "
			"needs root (or CAP_BPF and CAP_PERFMON); run it with sudo\n");
		return 1;
	}
	mw_signals_install();
	if (resolve_target(&o, &tg))
		goto out;
	if (o.metrics && !(metrics = mw_sink_metrics(&o, tg.exe, tg.comm, err, sizeof(err)))) {
		fprintf(stderr, "mapwatch: %s\n", err);
		goto out;
	}
	if (!(s = mw_session_new(&o))) {
		fprintf(stderr, "mapwatch: out of memory\n");
		goto out;
	}
	if (!attach(s, &o, &tg, t0))
		goto out;
	if (open_sinks(s, &o, &tg, metrics, &tui))
		goto out;
	metrics = NULL;		/* the session's now */
	run(s, &o, tui != NULL, &out);
	mw_session_drain(s);
	mw_tree_replay_output();
	rc = report(s, &o, &out);
out:
	mw_tree_kill();
	if (metrics)
		metrics->close(metrics);
	mw_session_free(s);
	mw_sym_cache_clear();
	mw_tree_replay_output();
	return rc;
}
