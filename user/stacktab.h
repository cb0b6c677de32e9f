/* stacktab.h — symbolized stacks at output time: the table of the stacks
 * alerts name, their JSON, and findings (alerts grouped by code location).
 *
 * The correlator stays stack-agnostic: an alert carries the stack ids and
 * return addresses of its records. The outputs look them up here. A stack is
 * keyed by (stack id, caller): BPF's deduplicated frame-pointer stack plus
 * the return address read at [sp] at the probe (the frame the FP walk skips),
 * so equal stacks still share one entry. The live loop fills the table from
 * the BPF stack map and the symbolizer; `mapwatch analyze` from the trace's
 * {"type":"stack",…} lines, which hold the same frames as text, so offline
 * output equals live output without the binary.
 *
 * Pure: no libbpf, no libdw. Strings are copied and bounded.
 */
#ifndef MW_STACKTAB_H
#define MW_STACKTAB_H

#include <stddef.h>
#include <stdint.h>
#include "mapwatch.h"
#include "correlator.h"
#include "layout.h"

#define MW_STACK_FRAMES (MW_MAX_STACK + 1)	/* BPF's frames plus the caller at [sp] */
#define MW_STACK_STR    200			/* longest symbol, file or module kept */

/* One symbolized frame. NULL / 0 where unknown. */
struct mw_sframe {
	uint64_t addr;		/* as captured (outer frames: return addresses) */
	const char *sym;	/* "writer_loop+0x1f" */
	const char *file;	/* source file, basename */
	int line;
	const char *module;	/* mapped file, basename ("races", "libgomap.so") */
};

struct mw_rstack {
	int32_t id;
	uint64_t caller;
	int n;
	struct mw_sframe f[MW_STACK_FRAMES];
	char *json;		/* the frames as a JSON array: [{"addr":"0x…",…},…] */
	size_t jlen;
	int traced;		/* its stack line is in the trace file (live writer's flag) */
};

struct mw_stacktab;

struct mw_stacktab *mw_stacktab_new(void);
void mw_stacktab_free(struct mw_stacktab *t);	/* NULL-safe */

/* The stack stored for (id, caller), or NULL. */
struct mw_rstack *mw_stacktab_get(struct mw_stacktab *t, int32_t id, uint64_t caller);
/* Store frames for (id, caller) (strings copied, n capped at MW_STACK_FRAMES);
 * replaces what was there. NULL on OOM. */
struct mw_rstack *mw_stacktab_put(struct mw_stacktab *t, int32_t id, uint64_t caller,
				  const struct mw_sframe *f, int n);
/* Store from a trace's frames array (raw JSON text). 0, or -1 with err. */
int mw_stacktab_put_json(struct mw_stacktab *t, int32_t id, uint64_t caller,
			 const char *arr, size_t n, char *err, size_t errlen);

/* {"type":"stack","id":N,"caller":"0x…","frames":[…]} (snprintf semantics). */
int mw_stack_line(const struct mw_rstack *s, char *buf, size_t len);

/* One frame as text: "writer_loop+0x1f (races.c:120) [races]". */
int mw_sframe_format(const struct mw_sframe *f, char *buf, size_t len);

/* Is FUNC (a symbol, "+0x…" ignored) one of the runtime's own functions? */
int mw_runtime_frame(const struct mw_runtime *rt, const char *sym);
/* Index of the first frame outside the runtime, or -1 when none / no stack. */
int mw_stack_user_frame(const struct mw_rstack *s, const struct mw_runtime *rt);
/* The code location a finding is keyed by: "reader (races.c:88)",
 * "reader+0x2a [races]", "0x55d0… [races]", or "?" with no stack. */
void mw_stack_location(const struct mw_rstack *s, const struct mw_runtime *rt,
		       char *buf, size_t len);

/* ---- findings: alerts grouped by (kind, writer location, iterator location) */

struct mw_finding {
	uint8_t kind;
	uint64_t count;
	uint64_t first_seq;
	char writer[2 * MW_STACK_STR];
	char iter[2 * MW_STACK_STR];
};

struct mw_findings;
struct mw_findings *mw_findings_new(const struct mw_runtime *rt);
void mw_findings_free(struct mw_findings *f);	/* NULL-safe */
void mw_findings_add(struct mw_findings *f, const struct mw_alert *a,
		     const struct mw_rstack *ws, const struct mw_rstack *is);
size_t mw_findings_count(const struct mw_findings *f);
/* In order of first occurrence. */
const struct mw_finding *mw_findings_at(const struct mw_findings *f, size_t i);

#endif
