/* cli.h — mapwatch's command line: what the user asked for.
 *
 * mw_opts_parse() reads argv into struct mw_opts; --help and --version print
 * and exit 0, usage errors print one line and exit 2. Everything after it
 * reads the options from the struct, never from argv.
 */
#ifndef MW_CLI_H
#define MW_CLI_H

#include "procinfo.h"

enum mw_out_mode { MW_OUT_AUTO, MW_OUT_PLAIN, MW_OUT_JSON, MW_OUT_TUI };

struct mw_opts {
	int pid;			/* -p, or -1 */
	double duration;		/* seconds; 0 = until the target exits or Ctrl-C */
	int mode;			/* enum mw_out_mode */
	int verbose;
	int fail_on_race;
	int ascii;
	long frames;
	const char *out;		/* -o trace file */
	int force;
	const char *perfetto;
	int reads;			/* --reads: watch lookups too (read-write races) */
	int toolchain;			/* --toolchain: watch the Go toolchain's programs too */
	int every;			/* --every: a plain line per alert occurrence */
	int no_stacks;
	const char *metrics;		/* --metrics ADDR:PORT */
	double metrics_linger;		/* --metrics-linger SEC: serve this long after the run */
	int sampled;			/* --sampled / --budget (--all: unless --exact): writes watched in
					 * windows (sampler.h) */
	double budget;			/* fraction of the target's CPU (--all: of each process's) */
	int all;			/* --all: every process of the host (agent.c) */
	struct mw_filters filters;	/* --all's --include, --exclude, --cgroup */
	char **cmd;			/* -- CMD ARGS */
};

#define MW_BUDGET_DEFAULT 0.02	/* --budget 2: the sampled mode's share of the target's CPU */

#define MW_EXIT_USAGE 2		/* a usage error: one line on stderr (see the help text) */

void mw_opts_parse(struct mw_opts *o, int argc, char **argv);

#endif
