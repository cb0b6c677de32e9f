/* tui.h — the live ncurses view, as the live loop (user/main.c) drives it.
 *
 * The loop owns the BPF side and the correlator; it calls mw_tui_tick()
 * about every 10 ms with the current model, and the view decides when to
 * redraw (at most 10 times a second, at once when a new alert arrived).
 * The view never touches libbpf.
 */
#ifndef MW_TUI_H
#define MW_TUI_H

#include <stdint.h>
#include "correlator.h"
#include "format.h"

/* What the header shows about the target and the probe. */
struct mw_tui_target {
	int pid;
	char comm[64];		/* the target's command name */
	char probed[512];	/* executable or library the probes are attached to */
	int probes;		/* probes attached */
};

/* Live counters the loop keeps (not in the correlator: they are about the probe). */
struct mw_live_stats {
	uint64_t start_ns;	/* monotonic time the watch began */
	uint64_t events;	/* records consumed */
	double   events_per_s;
	uint64_t drops;		/* ring-buffer reserve failures + full maps/slots */
	uint64_t hits;		/* probe hits */
	int      target_exited;	/* the target is gone; the view keeps the final state */
	char     exit_how[128];	/* "exited with status 2", "killed by SIGKILL" */
	char     trace_error[96];	/* "" or why the recording (-o) stopped: shown in the header */
};

struct mw_tui_opts {
	int ascii;		/* no UTF-8 line drawing / blocks */
	int no_color;		/* monochrome (also when NO_COLOR is set) */
	long frames;		/* > 0: draw this many refreshes, then quit (scripted use) */
	/* Save the trace so far; the loop writes it and puts the file name in path. 0 on success. */
	int (*save_trace)(void *ctx, char *path, size_t len);
	/* Frame i (0 = innermost) of an alert's writer (iter_side 0) or iterator /
	 * write-in-flight (1) stack as one line of text; 0, or -1 past the end or
	 * when there is no stack. NULL: the detail shows stack ids only. */
	int (*stack_line)(void *ctx, const struct mw_alert *a, int iter_side, int i,
			  char *buf, size_t len);
	void *ctx;
};

/* The host view (mapwatch --all): one watched process. */
struct mw_tui_proc {
	int pid, nspid;			/* nspid: its pid in its own namespace (0: the same) */
	const char *comm, *binary, *cgroup, *probed;
	int probes;
	const struct mw_corr *corr;	/* its maps and alerts */
	const struct mw_live_stats *st;
	void *ctx;			/* stack_line's ctx for this process's alerts */
};

/* One finding of a binary, over every process of it, live ones and gone. */
struct mw_tui_finding {
	const char *binary;
	const struct mw_bin_finding *f;
};

/* Everything the host view shows; rebuilt by the loop before every tick
 * (the pointers are only read during mw_tui_tick_host). */
struct mw_tui_host {
	const struct mw_tui_proc *procs;
	size_t nprocs;
	const struct mw_tui_finding *finds;
	size_t nfinds;
	uint64_t start_ns;
	uint64_t watched_total;		/* processes watched so far, gone ones too */
	uint64_t failures;		/* processes that could not be watched */
	int binaries;			/* binaries with probes attached now */
	uint64_t hits, drops;
	char mode[64];			/* "sampled, budget 2%" or "exact" */
};

struct mw_tui;

enum { MW_TUI_CONTINUE = 0, MW_TUI_QUIT = 1 };

/* Takes over the terminal. stderr is redirected to a temporary file while
 * the screen is open; what was written there is printed after it closes. */
struct mw_tui *mw_tui_open(const struct mw_tui_opts *opts, const struct mw_tui_target *target);
/* Handle pending keys, redraw if due. now_ns is CLOCK_MONOTONIC. */
int mw_tui_tick(struct mw_tui *t, const struct mw_corr *c, const struct mw_live_stats *st, uint64_t now_ns);
/* The host view: every watched process and every binary's findings; Enter
 * on a process opens its own view (the one mw_tui_tick draws), Esc comes
 * back. A process that goes while open is left with a message. */
int mw_tui_tick_host(struct mw_tui *t, const struct mw_tui_host *h, uint64_t now_ns);
/* Every record the loop consumes, for the scrolling event log (cheap: a ring). */
void mw_tui_event(struct mw_tui *t, const struct mw_record *r);
/* Restores the terminal and replays captured stderr. Idempotent. */
void mw_tui_close(struct mw_tui *t);
/* Async-signal-safe terminal restore for crash handlers (SIGSEGV, SIGABRT). */
void mw_tui_emergency_restore(void);

#endif
