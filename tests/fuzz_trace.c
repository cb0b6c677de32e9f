/* fuzz_trace.c — libFuzzer: bytes as a trace file through the reader, the
 * correlator and the Perfetto writer, as `mapwatch analyze` does. The reader
 * must never crash nor grow without bound; every record it accepts must
 * survive record → line → record unchanged.
 *   make build/fuzz/fuzz_trace && build/fuzz/fuzz_trace -max_total_time=20 CORPUS
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlator.h"
#include "format.h"
#include "perfetto.h"
#include "trace.h"

#define KEEP 512	/* records re-checked through a second reader */

static int devnull = -1;

static void on_alert(void *ctx, const struct mw_alert *a, const struct mw_alert_row *row)
{
	char buf[4096], why[256];
	int n = mw_fmt_alert_json(buf, sizeof(buf), a, NULL, NULL, NULL);

	(void)row;
	mw_perfetto_alert(ctx, a);
	/* The --check comparison must find an alert equal to itself. */
	if (n > 0 && (size_t)n < sizeof(buf) &&
	    mw_json_object_diff(buf, (size_t)n, buf, (size_t)n, why, sizeof(why)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mw_record kept[KEEP], back[KEEP];
	static char text[KEEP * (MW_TRACE_REC_MAX + 1) + 4096];
	struct mw_trace_reader *r = mw_reader_open_mem(data, size, "fuzz.jsonl");
	struct mw_perfetto *p;
	struct mw_corr *c;
	struct mw_record rec;
	struct mw_summary s;
	size_t nkept = 0, len = 0, n = 0;
	int it;

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!r)
		return 0;
	p = mw_perfetto_create_fd(dup(devnull), 1, 0);
	c = mw_corr_new(&(struct mw_corr_opts){ .keep_alerts = 0, .on_alert = on_alert, .ctx = p });
	while ((it = mw_reader_next(r, &rec)) > 0) {
		if (it == MW_ITEM_HEADER) {
			const struct mw_trace_header *h = mw_reader_header(r);
			if (!memchr(h->comm, 0, sizeof(h->comm)) || !memchr(h->exe, 0, sizeof(h->exe)))
				abort();
			mw_perfetto_process_name(p, h->comm);
		} else if (it == MW_ITEM_RECORD) {
			mw_perfetto_record(p, &rec);
			mw_corr_feed(c, &rec);
			if (nkept < KEEP)
				kept[nkept++] = rec;
		} else if (it == MW_ITEM_ALERT || it == MW_ITEM_SUMMARY) {
			size_t l;
			const char *line = mw_reader_line(r, &l);
			char why[256];
			if (mw_json_object_diff(line, l, line, l, why, sizeof(why)))
				abort();
		}
	}
	if (it == MW_ITEM_ERROR && !strstr(mw_reader_error(r), "fuzz.jsonl:"))
		abort();	/* every error names the file and line */
	mw_corr_summary(c, &s);
	mw_corr_free(c);
	mw_perfetto_close(p);
	mw_reader_close(r);

	/* Round trip of what was accepted. */
	struct mw_trace_meta m = { .pid = 1 };
	len = (size_t)mw_trace_format_header(&m, text, 4096);
	text[len++] = '\n';
	for (size_t i = 0; i < nkept; i++) {
		len += mw_trace_format_record(&kept[i], text + len);
		text[len++] = '\n';
	}
	r = mw_reader_open_mem(text, len, "rt");
	if (!r)
		return 0;
	while ((it = mw_reader_next(r, &rec)) > 0)
		if (it == MW_ITEM_RECORD)
			back[n++] = rec;
	if (it != MW_ITEM_EOF || n != nkept)
		abort();
	for (size_t i = 0; i < n; i++)
		if (memcmp(&kept[i], &back[i], sizeof(rec)))
			abort();
	mw_reader_close(r);
	return 0;
}
