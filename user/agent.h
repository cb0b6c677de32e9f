/* agent.h — the host-wide mode (`mapwatch --all`, agent.c): every process
 * running a supported map runtime, found at start (/proc), at exec (a BPF
 * raw tracepoint reporting every exec) and by a slow rescan; dropped at
 * exit; one BPF attachment per binary (device, inode) shared by its
 * processes, which BPF tells apart by pid. */
#ifndef MW_AGENT_H
#define MW_AGENT_H

#include "cli.h"

/* mw_agent_main's status when the run went well and races were flagged. */
#define MW_AGENT_RACES 100

/* Run until a signal (tree.h: mw_stop_requested) or the duration. The findings
 * of every binary and the summary are printed at the end. 0, MW_AGENT_RACES,
 * or 1 after one error line on stderr. */
int mw_agent_main(const struct mw_opts *o);

#endif
