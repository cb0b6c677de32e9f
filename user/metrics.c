/* metrics.c — the Prometheus endpoint: snapshot → text exposition, and a
 * one-thread HTTP server for `GET /metrics`.
 *
 * The text format is version 0.0.4 (what every Prometheus scrapes): each
 * family opens with `# HELP` and `# TYPE`, samples are `name{labels} value`.
 * Race series are bounded: per (kind, binary) the first MW_METRICS_SITE_CAP
 * writer sites have their own series, everything else is summed under
 * site="other", computed as the process total minus the listed sites so the
 * series always add up to the summary's alerts.
 *
 * The server is deliberately small: one thread, one connection at a time,
 * `Connection: close` after each response. A client gets
 * MW_METRICS_TIMEOUT_MS to send at most MW_METRICS_MAX_REQUEST bytes of
 * request head and as long to take the response, so a slow or silent client
 * delays a scrape by at most that, never hangs the server. A scrape formats
 * the latest snapshot under the mutex the live loop takes once a second to
 * swap in a new copy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "metrics.h"
#include "correlator.h"
#include "stacktab.h"

#ifndef MW_VERSION
#define MW_VERSION "0.0.0"
#endif

/* ---- site labels ----------------------------------------------------------------- */

int mw_metrics_site_of(const char *loc, char *buf, size_t len)
{
	const char *p, *e;
	size_t n;

	if (!loc || !*loc || !strcmp(loc, "?") || !strncmp(loc, "0x", 2))
		return snprintf(buf, len, "?");
	n = strlen(loc);
	/* "func (file.c:58)": the file and line */
	if (loc[n - 1] == ')') {
		for (p = loc + n - 1; p > loc && !(p[0] == '(' && p[-1] == ' '); p--)
			;
		if (p > loc && p + 1 < loc + n - 1)
			return snprintf(buf, len, "%.*s", (int)(loc + n - 2 - p), p + 1);
	}
	/* "func+0x2a [module]": the function */
	e = strstr(loc, " [");
	n = e ? (size_t)(e - loc) : n;
	for (p = loc + n; p > loc; p--)
		if (p[-1] == '+' && !strncmp(p, "0x", 2)) {
			n = (size_t)(p - 1 - loc);
			break;
		}
	if (!n)
		return snprintf(buf, len, "?");
	return snprintf(buf, len, "%.*s", (int)n, loc);
}

void mw_metrics_proc_free(struct mw_metrics_proc *p)
{
	if (!p)
		return;
	free(p->sites);
	p->sites = NULL;
	p->nsites = 0;
}

int mw_metrics_proc_sites(struct mw_metrics_proc *p, const struct mw_findings *f, size_t cap)
{
	size_t per_kind[MW_KIND_MAX] = { 0 }, n = mw_findings_count(f), room = 0;
	struct mw_metrics_site *v = NULL;
	char site[MW_METRICS_SITE];

	mw_metrics_proc_free(p);
	for (size_t i = 0; i < n; i++) {
		const struct mw_finding *fi = mw_findings_at(f, i);
		size_t j;

		if (!fi || fi->kind >= MW_KIND_MAX)
			continue;
		mw_metrics_site_of(fi->writer, site, sizeof(site));
		for (j = 0; j < p->nsites; j++)
			if (v[j].kind == fi->kind && !strcmp(v[j].site, site))
				break;
		if (j < p->nsites) {
			v[j].count += fi->count;
			continue;
		}
		if (per_kind[fi->kind] >= cap)
			continue;	/* left to site="other" */
		if (p->nsites == room) {
			size_t r = room ? room * 2 : 8;
			struct mw_metrics_site *nv = realloc(v, r * sizeof(*nv));
			if (!nv) {
				free(v);
				p->nsites = 0;
				return -ENOMEM;
			}
			v = nv;
			room = r;
		}
		v[p->nsites].kind = fi->kind;
		memcpy(v[p->nsites].site, site, sizeof(site));
		v[p->nsites].count = fi->count;
		p->nsites++;
		per_kind[fi->kind]++;
	}
	p->sites = v;
	return 0;
}

/* ---- the text format -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if ((need == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (need == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return need;
}

int mw_metrics_escape(const char *in, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t n = strlen((const char *)s), o = 0;

#define PUT(ch) do { if (o + 1 < len) out[o] = (char)(ch); o++; } while (0)
	for (size_t i = 0; i < n;) {
		size_t l;

		if (s[i] == '\\' || s[i] == '"') {
			PUT('\\');
			PUT(s[i]);
			i++;
		} else if (s[i] == '\n') {
			PUT('\\');
			PUT('n');
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			PUT('?');
			i++;
		} else if ((l = utf8_len(s + i, n - i))) {
			for (size_t k = 0; k < l; k++)
				PUT(s[i + k]);
			i += l;
		} else {
			PUT('?');
			i++;
		}
	}
#undef PUT
	if (len)
		out[o < len ? o : len - 1] = 0;
	return (int)o;
}

/* An escaped label value, for one fprintf. Room for the worst case of a
 * site label (every byte doubled). */
struct escbuf { char s[2 * MW_METRICS_SITE + 8]; };

static const char *esc(struct escbuf *b, const char *in)
{
	mw_metrics_escape(in, b->s, sizeof(b->s));
	return b->s;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

const char *mw_metrics_reason_name(int r)
{
	static const char *const n[MW_ATTACH_REASONS] = {
		[MW_ATTACH_NO_RUNTIME] = "no_runtime",	[MW_ATTACH_UNSUPPORTED] = "unsupported",
		[MW_ATTACH_SYMBOLS] = "symbols_missing",
		[MW_ATTACH_PERMISSION] = "permission",	[MW_ATTACH_GONE] = "process_gone",
		[MW_ATTACH_PROBE] = "probe_failed",	[MW_ATTACH_OTHER] = "other",
	};
	return r >= 0 && r < MW_ATTACH_REASONS ? n[r] : "other";
}

uint64_t mw_metrics_failures_total(const uint64_t failures[MW_ATTACH_REASONS])
{
	uint64_t n = 0;

	for (int r = MW_ATTACH_NO_RUNTIME + 1; r < MW_ATTACH_REASONS; r++)
		n += failures[r];
	return n;
}

/* Is procs[i] the first process with its binary name? */
static int first_of_binary(const struct mw_metrics_snapshot *s, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(s->procs[j].binary, s->procs[i].binary))
			return 0;
	return 1;
}

struct merged { const char *site; uint64_t count; };

/* mapwatch_races_total for one binary: its processes' sites merged, the first
 * cap of each kind listed, the rest of the total under "other". */
static void races_of_binary(FILE *f, const struct mw_metrics_snapshot *s, size_t first,
			    size_t cap, struct merged *m)
{
	const char *bin = s->procs[first].binary;
	struct escbuf eb, es;

	esc(&eb, bin);
	for (unsigned k = 1; k < MW_KIND_MAX; k++) {
		uint64_t total = 0, listed = 0;
		size_t nm = 0;
		int any = 0;

		for (size_t i = first; i < s->nprocs; i++) {
			const struct mw_metrics_proc *p = &s->procs[i];
			if (strcmp(p->binary, bin))
				continue;
			total += p->races[k];
			for (size_t j = 0; j < p->nsites; j++) {
				size_t x;
				if (p->sites[j].kind != k)
					continue;
				any = 1;
				for (x = 0; x < nm; x++)
					if (!strcmp(m[x].site, p->sites[j].site))
						break;
				if (x < nm)
					m[x].count += p->sites[j].count;
				else if (nm < cap)
					m[nm++] = (struct merged){ p->sites[j].site, p->sites[j].count };
			}
		}
		/* The classic kinds always (counters start at 0), others once seen. */
		if (k > MW_KIND_WRITE_WRITE && !total && !any)
			continue;
		for (size_t x = 0; x < nm; x++) {
			fprintf(f, "mapwatch_races_total{kind=\"%s\",binary=\"%s\",site=\"%s\"} %llu\n",
				mw_kind_name(k), eb.s, esc(&es, m[x].site), (unsigned long long)m[x].count);
			listed += m[x].count;
		}
		fprintf(f, "mapwatch_races_total{kind=\"%s\",binary=\"%s\",site=\"other\"} %llu\n",
			mw_kind_name(k), eb.s, (unsigned long long)(total > listed ? total - listed : 0));
	}
}

char *mw_metrics_format(const struct mw_metrics_snapshot *s, const struct mw_metrics_self *self,
			size_t cap, size_t *len)
{
	static const struct mw_metrics_snapshot empty;
	struct merged *m = NULL;
	char *buf = NULL;
	size_t blen = 0, watched = 0;
	struct escbuf e1, e2;
	FILE *f;

	if (!s)
		s = &empty;
	if (cap && !(m = calloc(cap, sizeof(*m))))
		return NULL;
	if (!(f = open_memstream(&buf, &blen))) {
		free(m);
		return NULL;
	}

	family(f, "mapwatch_races_total", "counter",
	       "Races flagged (alert occurrences), by kind, watched binary and the writer's code "
	       "location (file:line, else function; the first sites per kind and binary, the rest "
	       "summed under site=\"other\").");
	for (size_t i = 0; i < s->nprocs; i++)
		if (first_of_binary(s, i))
			races_of_binary(f, s, i, cap, m);

	family(f, "mapwatch_runtime_caught_total", "counter",
	       "Races the watched runtime's own check caught (Go's fatal error: concurrent map ...), "
	       "by kind and binary.");
	for (size_t i = 0; i < s->nprocs; i++) {
		if (!first_of_binary(s, i))
			continue;
		for (unsigned k = 1; k < MW_KIND_MAX; k++) {
			uint64_t n = 0;
			for (size_t j = i; j < s->nprocs; j++)
				if (!strcmp(s->procs[j].binary, s->procs[i].binary))
					n += s->procs[j].runtime_caught[k];
			if (n)
				fprintf(f, "mapwatch_runtime_caught_total{kind=\"%s\",binary=\"%s\"} %llu\n",
					mw_kind_name(k), esc(&e1, s->procs[i].binary), (unsigned long long)n);
		}
	}

	family(f, "mapwatch_probe_hits_total", "counter",
	       "Uprobe hits in watched processes, by binary.");
	for (size_t i = 0; i < s->nprocs; i++) {
		uint64_t n = 0;
		if (!first_of_binary(s, i))
			continue;
		for (size_t j = i; j < s->nprocs; j++)
			if (!strcmp(s->procs[j].binary, s->procs[i].binary))
				n += s->procs[j].probe_hits;
		fprintf(f, "mapwatch_probe_hits_total{binary=\"%s\"} %llu\n",
			esc(&e1, s->procs[i].binary), (unsigned long long)n);
	}

	family(f, "mapwatch_records_total", "counter", "Records consumed from the BPF ring buffer.");
	fprintf(f, "mapwatch_records_total %llu\n", (unsigned long long)s->records);

	family(f, "mapwatch_drops_total", "counter",
	       "Records lost in BPF, by cause: ring buffer full, per-map state table full, "
	       "iteration slots full. A drop can lose a race, never invent one.");
	fprintf(f, "mapwatch_drops_total{cause=\"ring_buffer\"} %llu\n"
		   "mapwatch_drops_total{cause=\"map_full\"} %llu\n"
		   "mapwatch_drops_total{cause=\"slots_full\"} %llu\n",
		(unsigned long long)s->drops_ring_buffer, (unsigned long long)s->drops_map_full,
		(unsigned long long)s->drops_slots_full);

	family(f, "mapwatch_bad_reads_total", "counter", "Reads of a watched process's memory that failed.");
	fprintf(f, "mapwatch_bad_reads_total %llu\n", (unsigned long long)s->bad_reads);

	family(f, "mapwatch_stacks_missed_total", "counter", "User stacks that could not be captured.");
	fprintf(f, "mapwatch_stacks_missed_total %llu\n", (unsigned long long)s->stacks_missed);

	for (size_t i = 0; i < s->nprocs; i++)
		watched += s->procs[i].watched != 0;
	family(f, "mapwatch_processes_watched", "gauge", "Processes with probes attached.");
	fprintf(f, "mapwatch_processes_watched %zu\n", watched);

	family(f, "mapwatch_process_info", "gauge",
	       "One series per process with probes attached: its pid, binary and map runtime.");
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].watched)
			fprintf(f, "mapwatch_process_info{pid=\"%d\",binary=\"%s\",runtime=\"%s\"} 1\n",
				s->procs[i].pid, esc(&e1, s->procs[i].binary),
				esc(&e2, s->procs[i].runtime));

	if (s->attachments) {
		family(f, "mapwatch_attachments_total", "counter",
		       "BPF attachments made: one per binary file, shared by its processes.");
		fprintf(f, "mapwatch_attachments_total %llu\n", (unsigned long long)s->attachments);
	}
	family(f, "mapwatch_attach_failures_total", "counter",
	       "Processes that could not be watched, by reason.");
	for (int r = 0; r < MW_ATTACH_REASONS; r++)
		fprintf(f, "mapwatch_attach_failures_total{reason=\"%s\"} %llu\n", mw_metrics_reason_name(r),
			(unsigned long long)s->attach_failures[r]);

	if (self) {
		family(f, "mapwatch_process_cpu_seconds_total", "counter",
		       "CPU time mapwatch itself used, user and system, in seconds.");
		/* not %f: the live view sets LC_ALL, and a decimal comma would break the format */
		unsigned long long ms = (unsigned long long)(self->cpu_seconds * 1000 + 0.5);
		fprintf(f, "mapwatch_process_cpu_seconds_total %llu.%03llu\n", ms / 1000, ms % 1000);
		family(f, "mapwatch_resident_memory_bytes", "gauge", "mapwatch's own resident memory.");
		fprintf(f, "mapwatch_resident_memory_bytes %llu\n", (unsigned long long)self->rss_bytes);
		family(f, "mapwatch_heap_inuse_bytes", "gauge",
		       "Bytes mapwatch has allocated and not freed (what a leak grows; RSS also holds the allocator's free pages).");
		fprintf(f, "mapwatch_heap_inuse_bytes %llu\n", (unsigned long long)self->heap_bytes);
		/* the same under the names every Prometheus client library exports */
		family(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
		fprintf(f, "process_cpu_seconds_total %llu.%03llu\n", ms / 1000, ms % 1000);
		family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		fprintf(f, "process_resident_memory_bytes %llu\n", (unsigned long long)self->rss_bytes);
	}

	family(f, "mapwatch_build_info", "gauge", "Always 1: the running mapwatch's version.");
	fprintf(f, "mapwatch_build_info{version=\"%s\"} 1\n", esc(&e1, MW_VERSION));

	free(m);
	if (fclose(f) || !buf) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = blen;
	return buf;
}

int mw_metrics_read_self(struct mw_metrics_self *self)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0, size = 0, res = 0;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	FILE *f;
	int ok = 0;

	memset(self, 0, sizeof(*self));
	if ((f = fopen("/proc/self/stat", "re"))) {
		/* after "pid (comm) ": state is field 3, utime and stime 14 and 15 */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2 &&
		    tck > 0) {
			self->cpu_seconds = (double)(ut + st) / (double)tck;
			ok++;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/self/statm", "re"))) {
		if (fscanf(f, "%llu %llu", &size, &res) == 2 && page > 0) {
			self->rss_bytes = res * (unsigned long long)page;
			ok++;
		}
		fclose(f);
	}
	struct mallinfo2 mi = mallinfo2();
	self->heap_bytes = mi.uordblks + mi.hblkhd;
	return ok == 2 ? 0 : -1;
}

/* ---- addresses and requests -------------------------------------------------------- */

int mw_metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *sl,
			  char *err, size_t errlen)
{
	char host[64];
	const char *port, *h = spec;
	size_t hl;
	char *end;
	long pn;

	memset(ss, 0, sizeof(*ss));
	if (!spec || !(port = strrchr(spec, ':')))
		goto bad;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || rb + 1 != port)
			goto bad;
		h = spec + 1;
		hl = (size_t)(rb - h);
	} else {
		hl = (size_t)(port - spec);
		if (memchr(spec, ':', hl))	/* a bare IPv6 address wants brackets */
			goto bad;
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = 0;
	errno = 0;
	pn = strtol(port + 1, &end, 10);
	if (!port[1] || *end || errno || !isdigit((unsigned char)port[1])) {
		goto bad;
	}
	if (pn < 1 || pn > 65535) {
		snprintf(err, errlen, "invalid --metrics address %s: port must be 1-65535", spec);
		return -1;
	}
	if (!hl && spec[0] != '[') {
		/* ":PORT": every interface, IPv6 and IPv4 (see listen_on) */
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)pn);
		*sl = sizeof(*a);
		return 0;
	}
	if (spec[0] != '[') {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		if (!strcmp(host, "localhost"))
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)pn);
		*sl = sizeof(*a);
		return 0;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)pn);
		*sl = sizeof(*a);
		return 0;
	}
bad:
	snprintf(err, errlen, "invalid --metrics address %s: want IPV4:PORT, [IPV6]:PORT or :PORT",
		 spec ? spec : "(none)");
	return -1;
}

int mw_metrics_route(const char *req, size_t n, int *head_only)
{
	const char *sp1, *sp2, *eol = memchr(req, '\n', n);
	size_t ml, pl;

	*head_only = 0;
	if (!eol)
		return 400;
	n = (size_t)(eol - req);
	if (n && req[n - 1] == '\r')
		n--;
	/* METHOD SP PATH SP HTTP/1.x */
	if (!(sp1 = memchr(req, ' ', n)) || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - req))))
		return 400;
	ml = (size_t)(sp1 - req);
	pl = (size_t)(sp2 - sp1 - 1);
	if ((size_t)(req + n - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) ||
	    !isdigit((unsigned char)sp2[8]) || !pl || sp1[1] != '/')
		return 400;
	if (!(ml == 3 && !memcmp(req, "GET", 3)) && !(ml == 4 && !memcmp(req, "HEAD", 4)))
		return 405;
	*head_only = ml == 4;
	if (pl >= 8 && !memcmp(sp1 + 1, "/metrics", 8) && (pl == 8 || sp1[9] == '?'))
		return 200;
	return 404;
}

/* ---- the server ------------------------------------------------------------------- */

struct mw_metrics {
	int lfd;			/* listening socket */
	int wake[2];			/* a byte on wake[1] stops the thread */
	pthread_t thread;
	pthread_mutex_t mu;		/* guards snap */
	struct mw_metrics_snapshot snap;	/* owned deep copy */
	uint64_t requests;		/* guarded by mu */
};

static void snap_free(struct mw_metrics_snapshot *s)
{
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].sites);
	free(s->procs);
	memset(s, 0, sizeof(*s));
}

static int snap_copy(struct mw_metrics_snapshot *d, const struct mw_metrics_snapshot *s)
{
	*d = *s;
	d->procs = NULL;
	d->nprocs = 0;
	if (!s->nprocs)
		return 0;
	if (!(d->procs = calloc(s->nprocs, sizeof(*d->procs))))
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs; i++, d->nprocs++) {
		d->procs[i] = s->procs[i];
		d->procs[i].sites = NULL;
		d->procs[i].nsites = 0;
		if (!s->procs[i].nsites)
			continue;
		d->procs[i].sites = malloc(s->procs[i].nsites * sizeof(*s->procs[i].sites));
		if (!d->procs[i].sites) {
			d->nprocs++;
			snap_free(d);
			return -ENOMEM;
		}
		memcpy(d->procs[i].sites, s->procs[i].sites, s->procs[i].nsites * sizeof(*s->procs[i].sites));
		d->procs[i].nsites = s->procs[i].nsites;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for ev or the deadline passes; 0 when stopping or late. */
static int wait_fd(struct mw_metrics *m, int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p[2] = { { .fd = fd, .events = ev }, { .fd = m->wake[0], .events = POLLIN } };
		int r;

		if (now >= deadline)
			return 0;
		r = poll(p, 2, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || p[1].revents)
			return 0;
		return 1;
	}
}

static int send_all(struct mw_metrics *m, int fd, const char *b, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(m, fd, POLLOUT, deadline))
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *status_text(int st)
{
	switch (st) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default:  return "Bad Request";
	}
}

static void serve(struct mw_metrics *m, int fd)
{
	char req[MW_METRICS_MAX_REQUEST + 1], head[256];
	size_t n = 0, blen = 0;
	uint64_t deadline = now_ms() + MW_METRICS_TIMEOUT_MS;
	int st = 400, head_only = 0, hl;
	char *body = NULL;
	const char *msg;

	/* The request head, up to its blank line, within the size and time bounds. */
	for (;;) {
		ssize_t r;

		req[n] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
		if (n == MW_METRICS_MAX_REQUEST) {
			st = 431;
			goto respond;
		}
		if (!wait_fd(m, fd, POLLIN, deadline))
			return;		/* silent, slow, or we are stopping: just close */
		r = recv(fd, req + n, MW_METRICS_MAX_REQUEST - n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return;
		n += (size_t)r;
	}
	st = mw_metrics_route(req, n, &head_only);
	if (st == 200) {
		struct mw_metrics_self self;
		int have_self = !mw_metrics_read_self(&self);

		pthread_mutex_lock(&m->mu);
		body = mw_metrics_format(&m->snap, have_self ? &self : NULL, MW_METRICS_SITE_CAP, &blen);
		pthread_mutex_unlock(&m->mu);
		if (!body)
			st = 503;
	}
respond:
	pthread_mutex_lock(&m->mu);
	m->requests++;
	pthread_mutex_unlock(&m->mu);
	if (st != 200) {
		msg = status_text(st);
		free(body);
		body = NULL;
		blen = 0;
	} else {
		msg = "OK";
	}
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		      st, msg, st == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
		      st == 200 ? blen : strlen(msg) + 1, st == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (send_all(m, fd, head, (size_t)hl, deadline) == 0 && !head_only) {
		if (st == 200)
			send_all(m, fd, body, blen, deadline);
		else if (send_all(m, fd, msg, strlen(msg), deadline) == 0)
			send_all(m, fd, "\n", 1, deadline);
	}
	free(body);
	/* Close gracefully: unread request bytes at close() would reset the
	 * connection and could cost the client the response. */
	shutdown(fd, SHUT_WR);
	deadline = now_ms() + 100;
	while (wait_fd(m, fd, POLLIN, deadline) && recv(fd, req, sizeof(req) - 1, MSG_DONTWAIT) > 0)
		;
}

static void *server_main(void *arg)
{
	struct mw_metrics *m = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = m->lfd, .events = POLLIN }, { .fd = m->wake[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				usleep(100000);	/* do not spin while out of descriptors */
			continue;
		}
		serve(m, fd);
		close(fd);
	}
	return NULL;
}

static void lower_first(char *s)
{
	s[0] = (char)tolower((unsigned char)s[0]);
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, zero = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]: take IPv4 too, whatever net.ipv6.bindv6only says */
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, sl) || listen(fd, 16)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

struct mw_metrics *mw_metrics_start(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct mw_metrics *m;
	socklen_t sl = 0;
	sigset_t all, old;
	char why[128];
	int fd;

	if (mw_metrics_parse_addr(spec, &ss, &sl, err, errlen))
		return NULL;
	fd = listen_on(&ss, sl);
	/* ":PORT" on a host without IPv6: every IPv4 interface then */
	if (fd == -EAFNOSUPPORT && spec[0] == ':') {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;
		memset(&ss, 0, sizeof(ss));
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		a->sin_port = port;
		fd = listen_on(&ss, sizeof(*a));
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(-fd));
		lower_first(why);
		snprintf(err, errlen, "cannot listen on %s: %s", spec, why);
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m)))) {
		close(fd);
		snprintf(err, errlen, "cannot start the metrics server: out of memory");
		return NULL;
	}
	m->lfd = fd;
	pthread_mutex_init(&m->mu, NULL);
	if (pipe2(m->wake, O_CLOEXEC)) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	/* Signals stay with the main thread (its loop watches their flags). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = pthread_create(&m->thread, NULL, server_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (errno) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		close(m->wake[0]);
		close(m->wake[1]);
		goto fail;
	}
	return m;
fail:
	lower_first(why);
	snprintf(err, errlen, "cannot start the metrics server: %s", why);
	close(fd);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return NULL;
}

int mw_metrics_update(struct mw_metrics *m, const struct mw_metrics_snapshot *snap)
{
	struct mw_metrics_snapshot n, old;

	if (!m || !snap)
		return 0;
	if (snap_copy(&n, snap))
		return -ENOMEM;
	pthread_mutex_lock(&m->mu);
	old = m->snap;
	m->snap = n;
	pthread_mutex_unlock(&m->mu);
	snap_free(&old);
	return 0;
}

uint64_t mw_metrics_requests(struct mw_metrics *m)
{
	uint64_t n;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	n = m->requests;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void mw_metrics_stop(struct mw_metrics *m)
{
	if (!m)
		return;
	ssize_t w = write(m->wake[1], "x", 1);	/* an empty pipe: cannot fail */
	(void)w;
	pthread_join(m->thread, NULL);
	close(m->wake[0]);
	close(m->wake[1]);
	close(m->lfd);
	pthread_mutex_destroy(&m->mu);
	snap_free(&m->snap);
	free(m);
}
