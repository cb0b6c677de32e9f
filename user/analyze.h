/* analyze.h — `mapwatch analyze TRACE`: replay a recorded trace through the
 * correlator, so that offline alerts and summary equal the live run's.
 *
 *   mapwatch analyze FILE [--json] [--check] [--map ADDR] [--tid TID]
 *                         [--since T] [--until T] [--perfetto OUT] [--force]
 */
#ifndef MW_ANALYZE_H
#define MW_ANALYZE_H

#include <stdio.h>

/* argv[0] is "analyze". Returns the exit status: 0, 1 (bad trace, failed
 * check, unwritable output), 2 (usage). */
int mw_analyze_main(int argc, char **argv);

/* The same with the output streams given (tests). */
int mw_analyze_run(int argc, char **argv, FILE *out, FILE *err);

/* "1.5s", "200ms", "10us", "10µs", "42ns", "42" (ns), "2m" → ns; -1 if malformed. */
int mw_parse_duration(const char *s, unsigned long long *ns);

#endif
