/* caps.h — the capabilities the host-wide mode needs, checked at start
 * (capget): the first missing one named in a one-line message. */
#ifndef MW_CAPS_H
#define MW_CAPS_H

#include <stddef.h>
#include <stdint.h>

/* 0 when every capability --all needs is in the effective set; else -1 and
 * one line in why ("--all needs CAP_PERFMON (…)"). */
int mw_caps_check(char *why, size_t len);
/* Pure: the same decision on an effective set (bit n = capability n). */
int mw_caps_missing(uint64_t eff, char *why, size_t len);

#endif
