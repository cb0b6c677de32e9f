/* trace.c — the JSON Lines trace: writer and hostile-input reader (the
 * flat-object scanner they share with the rest is json.c).
 *
 * Writer: records are formatted by hand (no printf) straight into a 1 MiB
 * user buffer, which goes out with write(2) when full or on mw_trace_flush().
 * The buffer only ever holds whole lines. When a write fails (the disk is
 * full) the file is cut back to its last complete line and nothing more is
 * written to it: it stays a valid trace, only shorter, and the writer's
 * error callback says so at once.
 *
 * Reader: a fixed buffer refilled with read(2) in big chunks; lines are cut
 * with memchr and must fit MW_TRACE_LINE_MAX, so memory stays bounded on any
 * input. Each line is scanned once into at most MW_MEMBERS_MAX members
 * (no allocation), then decoded through the field table below — the one
 * place that names the record fields, shared with the writer so that the two
 * can never disagree.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"
#include "format.h"
#include "outfile.h"
#include "stacktab.h"

#ifndef MW_VERSION
#define MW_VERSION "unknown"
#endif

#define WBUF_SIZE      (1u << 20)	/* writer buffer */
#define RBUF_SIZE      (1u << 20)	/* reader buffer: > MW_TRACE_LINE_MAX */
#define MEM_CHUNK      7919		/* mem reader: odd-sized reads exercise the refill path */

/* ---- the record fields, in the order the writer emits them (the reader's table) */

enum fkind { F_EV, F_OP, F_KIND, F_U8, F_U16, F_U32, F_U64, F_S32, F_ADDR, F_PAD };

struct field {
	uint8_t kind;		/* enum fkind */
	uint16_t off;		/* offset in struct mw_record */
	const char *name;
	uint8_t len;
};

#define FLD(nm, k, member) { k, offsetof(struct mw_record, member), #nm, sizeof(#nm) - 1 }

static const struct field fields[] = {
	FLD(ev, F_EV, type),
	FLD(ts, F_U64, ts),
	FLD(tid, F_U32, tid),
	FLD(pid, F_U32, pid),
	FLD(map, F_ADDR, map),
	FLD(op, F_OP, op),
	FLD(kind, F_KIND, kind),
	FLD(other_tid, F_U32, other_tid),
	FLD(other_ts, F_U64, other_ts),
	FLD(hiter, F_ADDR, hiter),
	FLD(count, F_U64, count),
	FLD(B, F_U8, B),
	FLD(hflags, F_U8, hflags),
	FLD(buckets, F_ADDR, buckets),
	FLD(oldbuckets, F_ADDR, oldbuckets),
	FLD(nevacuate, F_U64, nevacuate),
	FLD(bucket, F_U64, bucket),
	FLD(bucket_addr, F_ADDR, bucket_addr),
	FLD(iter_bptr, F_ADDR, iter_bptr),
	FLD(iter_buckets, F_ADDR, iter_buckets),
	FLD(iter_bucket, F_U64, iter_bucket),
	FLD(iter_B, F_U8, iter_B),
	FLD(iter_i, F_U8, iter_i),
	FLD(bucket_hit, F_U8, bucket_hit),
	FLD(repeat, F_U8, repeat),
	FLD(stack_id, F_S32, stack_id),
	FLD(other_stack_id, F_S32, other_stack_id),
	FLD(aux, F_U64, aux),
	FLD(aux2, F_U64, aux2),
	/* Optional from here on: version 1 traces have none of them. */
	FLD(caller, F_ADDR, caller),
	FLD(other_caller, F_ADDR, other_caller),
	/* Go (written only when non-zero, so libgomap traces read as before). */
	FLD(gid, F_U64, gid),
	FLD(other_gid, F_U64, other_gid),
	FLD(iter_seq, F_U64, iter_seq),
	FLD(flags, F_U8, flags),
	/* Written only when non-zero. */
	FLD(bsize, F_U16, bsize),
	FLD(n, F_U32, n),
	FLD(pad, F_PAD, pad),		/* written only when non-zero */
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define FIELD_PAD (NFIELDS - 1)
#define N_REQUIRED (NFIELDS - 9)
_Static_assert(NFIELDS <= 63, "field mask is a uint64_t");
_Static_assert(sizeof(struct mw_record) == 200, "struct mw_record: 200 bytes (bpf/mapwatch.h)");
#define REQUIRED_MASK ((1ull << N_REQUIRED) - 1)

/* ---- formatting --------------------------------------------------------------- */

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal, two digits per step (the writer's hot path). */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int i = 20;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);

		v /= 100;
		i -= 2;
		memcpy(tmp + i, digit_pairs + d * 2, 2);
	}
	if (v >= 10) {
		i -= 2;
		memcpy(tmp + i, digit_pairs + v * 2, 2);
	} else {
		tmp[--i] = (char)('0' + v);
	}
	memcpy(p, tmp + i, (size_t)(20 - i));
	return p + 20 - i;
}

static char *put_s64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

static char *put_hex(char *p, uint64_t v)
{
	static const char hx[] = "0123456789abcdef";
	int nd = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;

	p[0] = '"', p[1] = '0', p[2] = 'x';
	p += 3;
	for (int i = nd - 1; i >= 0; i--, v >>= 4)
		p[i] = hx[v & 15];
	p[nd] = '"';
	return p + nd + 1;
}

static char *put_name(char *p, const char *name)
{
	*p++ = '"';
	while (*name)
		*p++ = *name++;
	*p++ = '"';
	return p;
}

/* Straight-line code per field, in the order of fields[] (the reader looks
 * for the next key in that order first; any order is read correctly).
 * Constant-size key copies compile to a few stores: ~3 M records/s. */
#define KEY(lit) (memcpy(p, lit, sizeof(lit) - 1), p += sizeof(lit) - 1)

size_t mw_trace_format_record(const struct mw_record *r, char *buf)
{
	char *p = buf;
	const char *nm;

	KEY("{\"type\":\"event\",\"ev\":");
	nm = mw_rec_type_name(r->type);
	p = nm ? put_name(p, nm) : put_u64(p, r->type);
	KEY(",\"ts\":");		p = put_u64(p, r->ts);
	KEY(",\"tid\":");		p = put_u64(p, r->tid);
	KEY(",\"pid\":");		p = put_u64(p, r->pid);
	KEY(",\"map\":");		p = put_hex(p, r->map);
	KEY(",\"op\":");		p = r->op < MW_OP_MAX ? put_name(p, mw_op_names[r->op]) : put_u64(p, r->op);
	KEY(",\"kind\":");
	p = r->kind < MW_KIND_MAX ? put_name(p, mw_kind_names[r->kind]) : put_u64(p, r->kind);
	KEY(",\"other_tid\":");	p = put_u64(p, r->other_tid);
	KEY(",\"other_ts\":");	p = put_u64(p, r->other_ts);
	KEY(",\"hiter\":");		p = put_hex(p, r->hiter);
	KEY(",\"count\":");		p = put_u64(p, r->count);
	KEY(",\"B\":");		p = put_u64(p, r->B);
	KEY(",\"hflags\":");		p = put_u64(p, r->hflags);
	KEY(",\"buckets\":");		p = put_hex(p, r->buckets);
	KEY(",\"oldbuckets\":");	p = put_hex(p, r->oldbuckets);
	KEY(",\"nevacuate\":");	p = put_u64(p, r->nevacuate);
	KEY(",\"bucket\":");		p = put_u64(p, r->bucket);
	KEY(",\"bucket_addr\":");	p = put_hex(p, r->bucket_addr);
	KEY(",\"iter_bptr\":");	p = put_hex(p, r->iter_bptr);
	KEY(",\"iter_buckets\":");	p = put_hex(p, r->iter_buckets);
	KEY(",\"iter_bucket\":");	p = put_u64(p, r->iter_bucket);
	KEY(",\"iter_B\":");		p = put_u64(p, r->iter_B);
	KEY(",\"iter_i\":");		p = put_u64(p, r->iter_i);
	KEY(",\"bucket_hit\":");	p = put_u64(p, r->bucket_hit);
	KEY(",\"repeat\":");		p = put_u64(p, r->repeat);
	KEY(",\"stack_id\":");	p = put_s64(p, r->stack_id);
	KEY(",\"other_stack_id\":");	p = put_s64(p, r->other_stack_id);
	KEY(",\"aux\":");		p = put_u64(p, r->aux);
	KEY(",\"aux2\":");		p = put_u64(p, r->aux2);
	KEY(",\"caller\":");		p = put_hex(p, r->caller);
	KEY(",\"other_caller\":");	p = put_hex(p, r->other_caller);
	if (r->gid || r->other_gid || r->iter_seq || r->flags) {
		KEY(",\"gid\":");		p = put_u64(p, r->gid);
		KEY(",\"other_gid\":");	p = put_u64(p, r->other_gid);
		KEY(",\"iter_seq\":");	p = put_u64(p, r->iter_seq);
		KEY(",\"flags\":");		p = put_u64(p, r->flags);
	}
	if (r->bsize) {
		KEY(",\"bsize\":");		p = put_u64(p, r->bsize);
	}
	if (r->n) {
		KEY(",\"n\":");		p = put_u64(p, r->n);
	}
	if (r->pad[0] || r->pad[1]) {
		uint16_t u16;

		memcpy(&u16, r->pad, 2);
		KEY(",\"pad\":");
		p = put_u64(p, u16);
	}
	*p++ = '}';
	return (size_t)(p - buf);
}
#undef KEY

int mw_trace_format_header(const struct mw_trace_meta *m, char *buf, size_t len)
{
	char comm[64 * 6 + 8], exe[512 * 6 + 8], when[64];
	char cm[65], ex[513];
	time_t secs = (time_t)(m->start_realtime_ns / 1000000000ull);
	struct tm tm;

	/* The meta strings may lack their terminator: bound them. */
	memcpy(cm, m->comm, 64), cm[64] = 0;
	memcpy(ex, m->exe, 512), ex[512] = 0;
	mw_json_escape(cm, comm, sizeof(comm));
	mw_json_escape(ex, exe, sizeof(exe));
	if (gmtime_r(&secs, &tm))
		snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (unsigned)(m->start_realtime_ns % 1000000000ull));
	else
		snprintf(when, sizeof(when), "1970-01-01T00:00:00Z");
	return snprintf(buf, len,
			"{\"type\":\"header\",\"format\":\"" MW_TRACE_FORMAT "\",\"version\":%d,"
			"\"mapwatch\":\"%s\",\"pid\":%d,\"comm\":\"%s\",\"exe\":\"%s\","
			"\"clock\":\"CLOCK_MONOTONIC\",\"start_ns\":%" PRIu64 ",\"start_time\":\"%s\"}",
			MW_TRACE_VERSION, MW_VERSION, m->pid, comm, exe, m->start_mono_ns, when);
}

/* ---- writer ------------------------------------------------------------------- */

struct mw_trace_writer {
	int fd;
	int err;		/* errno of the first failed write */
	int dead;		/* a write failed: the file takes nothing more */
	size_t len;
	char *buf;		/* WBUF_SIZE bytes, whole lines only */
	uint64_t off;		/* bytes in the file, whole lines */
	uint64_t lines;		/* lines in the file */
	uint64_t pending;	/* lines in buf */
	char path[256];		/* for messages; "" for mw_trace_create_fd */
	void (*on_error)(void *ctx, const char *msg);
	void *ctx;
};

void mw_trace_on_error(struct mw_trace_writer *w, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	if (!w)
		return;
	w->on_error = cb;
	w->ctx = ctx;
}

/* A write failed after `written` bytes of the buffer reached the file: cut
 * the file back to its last complete line, take nothing more, and say so. */
static void write_failed(struct mw_trace_writer *w, size_t written, int e)
{
	size_t keep = written;
	char msg[512];

	while (keep && w->buf[keep - 1] != '\n')
		keep--;
	for (size_t i = 0; i < keep; i++)
		w->lines += w->buf[i] == '\n';
	if (keep < written && ftruncate(w->fd, (off_t)(w->off + keep)) < 0) {
		/* not a regular file: the reader takes a cut last line as such */
	}
	w->off += keep;
	w->err = e;
	w->dead = 1;
	w->len = 0;
	w->pending = 0;
	if (w->on_error) {
		snprintf(msg, sizeof(msg), "cannot write trace file%s%s%s: %s; recording stopped, "
			 "the file keeps its first %" PRIu64 " lines", w->path[0] ? " '" : "", w->path,
			 w->path[0] ? "'" : "", strerror(e), w->lines);
		w->on_error(w->ctx, msg);
	}
}

int mw_trace_flush(struct mw_trace_writer *w)
{
	size_t off = 0;

	if (!w)
		return -1;
	if (w->dead) {
		w->len = 0;
		return -1;
	}
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			write_failed(w, off, n < 0 ? errno : EIO);
			return -1;
		}
		off += (size_t)n;
	}
	w->off += w->len;
	w->lines += w->pending;
	w->pending = 0;
	w->len = 0;
	return 0;
}

/* Room for N bytes at the end of the buffer (N ≤ WBUF_SIZE). */
static char *wreserve(struct mw_trace_writer *w, size_t n)
{
	if (w->len + n > WBUF_SIZE)
		mw_trace_flush(w);
	return w->buf + w->len;
}

/* Write a line made by an snprintf-style function, whatever its length. */
static int wline(struct mw_trace_writer *w,
		 int (*fmt)(const void *, char *, size_t), const void *obj)
{
	if (w->dead)
		return -1;
	char *p = wreserve(w, 4096);
	size_t room = WBUF_SIZE - w->len;
	int n = fmt(obj, p, room);

	if (n < 0 || w->dead)
		return -1;
	if ((size_t)n + 1 >= room) {
		/* Longer than the room left: format into the emptied buffer. */
		mw_trace_flush(w);
		if ((size_t)n + 1 >= WBUF_SIZE || w->dead)
			return -1;
		p = w->buf;
		n = fmt(obj, p, WBUF_SIZE);
	}
	p[n] = '\n';
	w->len += (size_t)n + 1;
	w->pending++;
	return 0;
}

static int fmt_header(const void *o, char *b, size_t n) { return mw_trace_format_header(o, b, n); }
/* With empty stacks: the live loop writes alerts with theirs (mw_trace_line). */
static int fmt_alert(const void *o, char *b, size_t n) { return mw_fmt_alert_json(b, n, o, NULL, NULL, NULL); }
static int fmt_summary(const void *o, char *b, size_t n) { return mw_fmt_summary_json(b, n, o, NULL); }

struct mw_trace_writer *mw_trace_create_fd(int fd, const struct mw_trace_meta *meta)
{
	struct mw_trace_writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->buf = malloc(WBUF_SIZE))) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	if (meta)
		wline(w, fmt_header, meta);
	return w;
}

struct mw_trace_writer *mw_trace_create(const char *path, int force,
					const struct mw_trace_meta *meta,
					char *err, size_t errlen)
{
	struct mw_trace_writer *w;
	int fd = mw_create_output(path, force, err, errlen);

	if (fd < 0)
		return NULL;
	w = mw_trace_create_fd(fd, meta);
	if (!w) {
		close(fd);
		snprintf(err, errlen, "cannot create trace file '%s': out of memory", path);
		return NULL;
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	/* The header goes out at once: a trace killed in its first second is
	 * still recognisable as one. */
	if (mw_trace_flush(w) < 0) {
		snprintf(err, errlen, "cannot write trace file '%s': %s", path, strerror(w->err));
		mw_trace_close(w);
		return NULL;
	}
	return w;
}

int mw_trace_record(struct mw_trace_writer *w, const struct mw_record *r)
{
	if (w->dead)
		return -1;
	char *p = wreserve(w, MW_TRACE_REC_MAX);
	if (w->dead)
		return -1;
	size_t n = mw_trace_format_record(r, p);

	p[n] = '\n';
	w->len += n + 1;
	w->pending++;
	return 0;
}

int mw_trace_alert(struct mw_trace_writer *w, const struct mw_alert *a)
{
	return wline(w, fmt_alert, a);
}

int mw_trace_summary(struct mw_trace_writer *w, const struct mw_summary *s)
{
	return wline(w, fmt_summary, s);
}

int mw_trace_line(struct mw_trace_writer *w, const char *line, size_t len)
{
	char *p;

	if (!w || len + 1 >= WBUF_SIZE || w->dead)
		return -1;
	p = wreserve(w, len + 1);
	if (w->dead)
		return -1;
	memcpy(p, line, len);
	p[len] = '\n';
	w->len += len + 1;
	w->pending++;
	return 0;
}

int mw_trace_error(const struct mw_trace_writer *w)
{
	return w ? w->err : EINVAL;
}

int mw_trace_close(struct mw_trace_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = mw_trace_flush(w);
	if (close(w->fd) < 0 && !w->err) {
		w->err = errno;
		rc = -1;
	}
	free(w->buf);
	free(w);
	return rc;
}

/* ---- reader ------------------------------------------------------------------- */

struct mw_trace_reader {
	int fd;
	int own_fd;
	const unsigned char *mem;	/* mem mode: the whole input */
	size_t memlen, mempos;
	char *buf;
	size_t cap, pos, fill;		/* cap: RBUF_SIZE, less for small inputs in memory */
	int eof;
	int state;			/* 0: header next, 1: body, 2: finished or failed */
	uint64_t lineno, consumed, size;
	const char *line;
	size_t linelen;
	struct mw_trace_header hdr;
	char name[256];
	char err[640];
	char warn[640];
	struct mw_jmember m[MW_MEMBERS_MAX];
	/* the last stack line */
	int32_t stack_id;
	uint64_t stack_caller;
	const char *frames;
	size_t frames_len;
};

static struct mw_trace_reader *reader_new(const char *name, size_t cap)
{
	struct mw_trace_reader *r = calloc(1, sizeof(*r));

	if (!r || !(r->buf = malloc(cap))) {
		free(r);
		return NULL;
	}
	r->cap = cap;
	r->fd = -1;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "trace");
	return r;
}

struct mw_trace_reader *mw_reader_open_fd(int fd, const char *name)
{
	struct mw_trace_reader *r = reader_new(name, RBUF_SIZE);
	struct stat st;

	if (!r)
		return NULL;
	r->fd = fd;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		r->size = (uint64_t)st.st_size;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return r;
}

struct mw_trace_reader *mw_reader_open(const char *path, char *err, size_t errlen)
{
	struct mw_trace_reader *r;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open trace '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read trace '%s': %s", path, strerror(EISDIR));
		close(fd);
		return NULL;
	}
	r = mw_reader_open_fd(fd, path);
	if (!r) {
		snprintf(err, errlen, "cannot read trace '%s': out of memory", path);
		close(fd);
		return NULL;
	}
	r->own_fd = 1;
	return r;
}

struct mw_trace_reader *mw_reader_open_mem(const void *data, size_t len, const char *name)
{
	/* An input smaller than the buffer fits whole (and can hold no line
	 * over the limit): no need for the full buffer (the fuzzer's case). */
	struct mw_trace_reader *r = reader_new(name, len < RBUF_SIZE ? len + 1 : RBUF_SIZE);

	if (!r)
		return NULL;
	r->mem = data;
	r->memlen = len;
	r->size = len;
	return r;
}

void mw_reader_close(struct mw_trace_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

const struct mw_trace_header *mw_reader_header(const struct mw_trace_reader *r) { return &r->hdr; }
uint64_t mw_reader_lineno(const struct mw_trace_reader *r) { return r->lineno; }
const char *mw_reader_error(const struct mw_trace_reader *r) { return r->err; }
const char *mw_reader_warning(const struct mw_trace_reader *r) { return r->warn[0] ? r->warn : NULL; }
uint64_t mw_reader_offset(const struct mw_trace_reader *r) { return r->consumed; }
uint64_t mw_reader_size(const struct mw_trace_reader *r) { return r->size; }

const char *mw_reader_line(const struct mw_trace_reader *r, size_t *len)
{
	if (len)
		*len = r->linelen;
	return r->line;
}

static int rfail(struct mw_trace_reader *r, const char *fmt, ...)
{
	char msg[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "%s:%" PRIu64 ": %s", r->name, r->lineno, msg);
	r->state = 2;
	return MW_ITEM_ERROR;
}

static ssize_t rread(struct mw_trace_reader *r, char *dst, size_t room)
{
	if (r->mem) {
		size_t n = r->memlen - r->mempos;

		if (n > room)
			n = room;
		if (n > MEM_CHUNK)
			n = MEM_CHUNK;
		memcpy(dst, r->mem + r->mempos, n);
		r->mempos += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = read(r->fd, dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* The next line into r->line. 1: a complete line, 2: a last line without a
 * newline, 0: end of input, -1: error (set). */
static int next_line(struct mw_trace_reader *r)
{
	for (;;) {
		size_t avail = r->fill - r->pos;

		if (avail) {
			char *s = r->buf + r->pos;
			char *nl = memchr(s, '\n', avail);

			if (nl) {
				r->line = s;
				r->linelen = (size_t)(nl - s);
				r->pos += r->linelen + 1;
				r->consumed += r->linelen + 1;
				r->lineno++;
				if (r->linelen > MW_TRACE_LINE_MAX)
					return rfail(r, "line longer than %d bytes", MW_TRACE_LINE_MAX), -1;
				return 1;
			}
		}
		if (avail > MW_TRACE_LINE_MAX) {
			r->lineno++;
			return rfail(r, "line longer than %d bytes", MW_TRACE_LINE_MAX), -1;
		}
		if (r->eof) {
			if (!avail)
				return 0;
			r->line = r->buf + r->pos;
			r->linelen = avail;
			r->pos = r->fill;
			r->consumed += avail;
			r->lineno++;
			return 2;
		}
		if (r->pos) {
			memmove(r->buf, r->buf + r->pos, avail);
			r->fill = avail;
			r->pos = 0;
		}
		ssize_t n = rread(r, r->buf + r->fill, r->cap - r->fill);
		if (n < 0)
			return rfail(r, "read error: %s", strerror(errno)), -1;
		if (n == 0)
			r->eof = 1;
		r->fill += (size_t)n;
	}
}

/* A record cut short by a failed write, with a later write appended right
 * after it (what a writer that kept going after a failed write left): the
 * line starts as a record, and at some column a complete one begins. That
 * column, or 0. */
static size_t cut_then_appended(const char *line, size_t len)
{
	static const char start[] = "{\"type\":\"";
	const size_t sl = sizeof(start) - 1;
	struct mw_jmember m[MW_MEMBERS_MAX];
	char err[8];

	if (len < sl || memcmp(line, start, sl))
		return 0;
	/* No line mapwatch writes holds this twice: only the first one counts
	 * (one scan of the line, whatever a hostile one holds). */
	for (size_t k = 1; k + sl <= len; k++) {
		if (line[k] != '{' || memcmp(line + k, start, sl))
			continue;
		if (mw_json_object(line, k, m, MW_MEMBERS_MAX, err, sizeof(err)) < 0 &&
		    mw_json_object(line + k, len - k, m, MW_MEMBERS_MAX, err, sizeof(err)) >= 0)
			return k;
		return 0;
	}
	return 0;
}

static int key_is(const struct mw_jmember *m, const char *k, size_t kl)
{
	return m->klen == kl && !memcmp(m->key, k, kl);
}
#define KEY_IS(m, lit) key_is(m, lit, sizeof(lit) - 1)

static int str_is(const struct mw_jval *v, const char *lit)
{
	size_t n = strlen(lit);
	return v->type == MW_J_STR && v->n == n && !memcmp(v->s, lit, n);
}

/* An unsigned integer member no larger than MAX. */
static int get_uint(struct mw_trace_reader *r, const struct mw_jmember *m,
		    uint64_t max, uint64_t *out)
{
	const struct mw_jval *v = &m->v;

	if (v->type == MW_J_NUM)
		return rfail(r, "expected an integer for \"%.*s\"", (int)m->klen, m->key);
	if (v->type != MW_J_INT)
		return rfail(r, "expected a number for \"%.*s\"", (int)m->klen, m->key);
	if (v->neg && v->u)
		return rfail(r, "negative value for \"%.*s\"", (int)m->klen, m->key);
	if (v->ovf || v->u > max)
		return rfail(r, "number out of range for \"%.*s\" (max %" PRIu64 ")",
			     (int)m->klen, m->key, max);
	*out = v->u;
	return 0;
}

static int get_s32(struct mw_trace_reader *r, const struct mw_jmember *m, int32_t *out)
{
	const struct mw_jval *v = &m->v;

	if (v->type == MW_J_NUM)
		return rfail(r, "expected an integer for \"%.*s\"", (int)m->klen, m->key);
	if (v->type != MW_J_INT)
		return rfail(r, "expected a number for \"%.*s\"", (int)m->klen, m->key);
	if (v->ovf || v->u > (v->neg ? 2147483648ull : 2147483647ull))
		return rfail(r, "number out of range for \"%.*s\"", (int)m->klen, m->key);
	*out = v->neg ? (int32_t)(0 - (int64_t)v->u) : (int32_t)v->u;
	return 0;
}

/* "0x…" (1 to 16 hex digits), or a plain unsigned integer. */
static int get_addr(struct mw_trace_reader *r, const struct mw_jmember *m, uint64_t *out)
{
	const struct mw_jval *v = &m->v;
	uint64_t u = 0;

	if (v->type == MW_J_INT)
		return get_uint(r, m, UINT64_MAX, out);
	if (v->type != MW_J_STR || v->n < 3 || v->n > 18 || v->s[0] != '0' ||
	    (v->s[1] != 'x' && v->s[1] != 'X'))
		return rfail(r, "expected a hex address \"0x…\" for \"%.*s\"", (int)m->klen, m->key);
	for (size_t i = 2; i < v->n; i++) {
		int h = mw_hexval((unsigned char)v->s[i]);

		if (h < 0)
			return rfail(r, "expected a hex address \"0x…\" for \"%.*s\"", (int)m->klen, m->key);
		u = u << 4 | (unsigned)h;
	}
	*out = u;
	return 0;
}

/* A name from NAMES (N entries), or an integer up to MAX. */
static int get_enum(struct mw_trace_reader *r, const struct mw_jmember *m,
		    const char *const *names, unsigned n, uint64_t max, uint64_t *out)
{
	const struct mw_jval *v = &m->v;

	if (v->type == MW_J_STR) {
		for (unsigned i = 0; i < n; i++)
			if (names[i] && str_is(v, names[i])) {
				*out = i;
				return 0;
			}
		return rfail(r, "unknown %.*s \"%.*s\"", (int)m->klen, m->key,
			     (int)(v->n > 40 ? 40 : v->n), v->s);
	}
	return get_uint(r, m, max, out);
}

static int find_field(const struct mw_jmember *m, size_t hint)
{
	if (hint < NFIELDS && key_is(m, fields[hint].name, fields[hint].len))
		return (int)hint;
	for (size_t i = 0; i < NFIELDS; i++)
		if (key_is(m, fields[i].name, fields[i].len))
			return (int)i;
	return -1;
}

static int decode_event(struct mw_trace_reader *r, int nm, struct mw_record *rec)
{
	unsigned char *base = (unsigned char *)rec;
	uint64_t seen = 0;
	size_t hint = 0;

	memset(rec, 0, sizeof(*rec));
	for (int i = 0; i < nm; i++) {
		const struct mw_jmember *m = &r->m[i];
		int fi = find_field(m, hint);
		const struct field *f;
		void *at;
		uint64_t u = 0;
		int32_t s32;
		uint16_t u16;
		uint32_t u32;

		if (fi < 0)
			continue;	/* "type", or a field from a later mapwatch */
		if (seen & (1ull << fi))
			return rfail(r, "duplicate field \"%s\"", fields[fi].name);
		seen |= 1ull << fi;
		hint = (size_t)fi + 1;
		f = &fields[fi];
		at = base + f->off;
		switch (f->kind) {
		case F_EV:
			if (get_enum(r, m, mw_rec_type_names, MW_REC_TYPE_MAX, UINT16_MAX, &u) < 0)
				return -1;
			u16 = (uint16_t)u;
			memcpy(at, &u16, 2);
			break;
		case F_OP:
			if (get_enum(r, m, mw_op_names, MW_OP_MAX, UINT8_MAX, &u) < 0)
				return -1;
			*(uint8_t *)at = (uint8_t)u;
			break;
		case F_KIND:
			if (get_enum(r, m, mw_kind_names, MW_KIND_MAX, UINT8_MAX, &u) < 0)
				return -1;
			*(uint8_t *)at = (uint8_t)u;
			break;
		case F_U8:
			if (get_uint(r, m, UINT8_MAX, &u) < 0)
				return -1;
			*(uint8_t *)at = (uint8_t)u;
			break;
		case F_U16:
		case F_PAD:
			if (get_uint(r, m, UINT16_MAX, &u) < 0)
				return -1;
			u16 = (uint16_t)u;
			memcpy(at, &u16, 2);
			break;
		case F_U32:
			if (get_uint(r, m, UINT32_MAX, &u) < 0)
				return -1;
			u32 = (uint32_t)u;
			memcpy(at, &u32, 4);
			break;
		case F_U64:
			if (get_uint(r, m, UINT64_MAX, &u) < 0)
				return -1;
			memcpy(at, &u, 8);
			break;
		case F_S32:
			if (get_s32(r, m, &s32) < 0)
				return -1;
			memcpy(at, &s32, 4);
			break;
		case F_ADDR:
			if (get_addr(r, m, &u) < 0)
				return -1;
			memcpy(at, &u, 8);
			break;
		}
	}
	if ((seen & REQUIRED_MASK) != REQUIRED_MASK) {
		for (size_t i = 0; i < N_REQUIRED; i++)
			if (!(seen & (1ull << i)))
				return rfail(r, "missing field \"%s\"", fields[i].name);
	}
	return 0;
}

static int get_str(struct mw_trace_reader *r, const struct mw_jmember *m, char *buf, size_t len)
{
	if (m->v.type != MW_J_STR)
		return rfail(r, "expected a string for \"%.*s\"", (int)m->klen, m->key);
	if (mw_json_string(&m->v, buf, len) < 0)
		return rfail(r, "bad escape in \"%.*s\"", (int)m->klen, m->key);
	return 0;
}

static int decode_header(struct mw_trace_reader *r, int nm)
{
	struct mw_trace_header *h = &r->hdr;
	int have_format = 0, have_version = 0, have_start = 0;
	uint64_t u;

	memset(h, 0, sizeof(*h));
	/* The format first: anything else is not a mapwatch trace at all. */
	for (int i = 0; i < nm; i++) {
		const struct mw_jmember *m = &r->m[i];

		if (KEY_IS(m, "format")) {
			if (!str_is(&m->v, MW_TRACE_FORMAT))
				return rfail(r, "not a mapwatch trace (\"format\" is not \"" MW_TRACE_FORMAT "\")");
			have_format = 1;
		}
	}
	if (!have_format)
		return rfail(r, "not a mapwatch trace (no \"format\" in the header)");
	for (int i = 0; i < nm; i++) {
		const struct mw_jmember *m = &r->m[i];
		int rc = 0;

		if (KEY_IS(m, "version")) {
			if (m->v.type != MW_J_INT || m->v.neg || m->v.ovf || m->v.u < 1 ||
			    m->v.u > MW_TRACE_VERSION) {
				char shown[100];

				mw_json_show(&m->v, shown, sizeof(shown));
				return rfail(r, "unsupported trace version %s (this mapwatch reads versions 1 to %d)",
					     shown, MW_TRACE_VERSION);
			}
			h->version = (int)m->v.u;
			have_version = 1;
		} else if (KEY_IS(m, "pid")) {
			if ((rc = get_uint(r, m, INT32_MAX, &u)) == 0)
				h->pid = (int)u;
		} else if (KEY_IS(m, "start_ns")) {
			if ((rc = get_uint(r, m, UINT64_MAX, &h->start_ns)) == 0)
				have_start = 1;
		} else if (KEY_IS(m, "mapwatch")) {
			rc = get_str(r, m, h->mapwatch, sizeof(h->mapwatch));
		} else if (KEY_IS(m, "comm")) {
			rc = get_str(r, m, h->comm, sizeof(h->comm));
		} else if (KEY_IS(m, "exe")) {
			rc = get_str(r, m, h->exe, sizeof(h->exe));
		} else if (KEY_IS(m, "clock")) {
			rc = get_str(r, m, h->clock, sizeof(h->clock));
		} else if (KEY_IS(m, "start_time")) {
			rc = get_str(r, m, h->start_time, sizeof(h->start_time));
		}
		if (rc < 0)
			return -1;
	}
	if (!have_version)
		return rfail(r, "missing field \"version\" in the header");
	if (!have_start)
		return rfail(r, "missing field \"start_ns\" in the header");
	return 0;
}

/* The members of an alert or summary line that later checks rely on. */
static int check_counts(struct mw_trace_reader *r, int nm, const char *const *need)
{
	/* --check compares these lines key by key: a key twice would be ambiguous.
	 * (Event lines catch duplicates through their field mask.) */
	for (int i = 1; i < nm; i++)
		for (int j = 0; j < i; j++)
			if (r->m[i].klen == r->m[j].klen && !memcmp(r->m[i].key, r->m[j].key, r->m[i].klen))
				return rfail(r, "duplicate field \"%.*s\"", (int)r->m[i].klen, r->m[i].key);
	for (; *need; need++) {
		int i;
		uint64_t u;

		for (i = 0; i < nm; i++)
			if (key_is(&r->m[i], *need, strlen(*need)))
				break;
		if (i == nm)
			return rfail(r, "missing field \"%s\"", *need);
		if (get_uint(r, &r->m[i], UINT64_MAX, &u) < 0)
			return -1;
	}
	return 0;
}

/* {"type":"stack","id":N,"caller":"0x…","frames":[…]}: frames are checked by
 * whoever stores them (mw_stacktab_put_json); here only their shape. */
static int decode_stack(struct mw_trace_reader *r, int nm)
{
	int have_id = 0, have_caller = 0;

	r->frames = NULL;
	for (int i = 0; i < nm; i++) {
		const struct mw_jmember *m = &r->m[i];

		if (KEY_IS(m, "id")) {
			if (get_s32(r, m, &r->stack_id) < 0)
				return -1;
			if (r->stack_id < 0)
				return rfail(r, "negative stack \"id\"");
			have_id = 1;
		} else if (KEY_IS(m, "caller")) {
			if (get_addr(r, m, &r->stack_caller) < 0)
				return -1;
			have_caller = 1;
		} else if (KEY_IS(m, "frames")) {
			if (m->v.type != MW_J_ARR)
				return rfail(r, "expected an array for \"frames\"");
			r->frames = m->v.s;
			r->frames_len = m->v.n;
		}
	}
	if (!have_id)
		return rfail(r, "missing field \"id\"");
	if (!have_caller)
		return rfail(r, "missing field \"caller\"");
	if (!r->frames)
		return rfail(r, "missing field \"frames\"");
	return 0;
}

void mw_reader_stack(const struct mw_trace_reader *r, int32_t *id, uint64_t *caller,
		     const char **frames, size_t *len)
{
	*id = r->stack_id;
	*caller = r->stack_caller;
	*frames = r->frames;
	*len = r->frames_len;
}

int mw_reader_next(struct mw_trace_reader *r, struct mw_record *rec)
{
	static const char *const alert_need[] = { "seq", "ts", NULL };
	static const char *const summary_need[] = { "events", "alerts", NULL };
	static const char *const finding_need[] = { "count", "first_seq", NULL };
	char msg[240];

	for (;;) {
		const struct mw_jmember *type = NULL;
		int kind, nm;

		if (r->state == 2)
			return r->err[0] ? MW_ITEM_ERROR : MW_ITEM_EOF;
		kind = next_line(r);
		if (kind < 0)
			return MW_ITEM_ERROR;
		if (kind == 0) {
			if (r->state == 0)
				return rfail(r, "empty file: not a mapwatch trace (no header line)");
			r->state = 2;
			return MW_ITEM_EOF;
		}
		/* CRLF line ends, and lines of only blanks, are harmless. */
		while (r->linelen && (r->line[r->linelen - 1] == '\r' ||
				      r->line[r->linelen - 1] == ' ' || r->line[r->linelen - 1] == '\t'))
			r->linelen--;
		if (!r->linelen)
			continue;

		nm = mw_json_object(r->line, r->linelen, r->m, MW_MEMBERS_MAX, msg, sizeof(msg));
		if (nm < 0 && kind == 2 && r->state == 1) {
			/* A kill -9 in the middle of a write: keep what came before. */
			snprintf(r->warn, sizeof(r->warn),
				 "%s:%" PRIu64 ": warning: truncated last line ignored (the trace was cut short)",
				 r->name, r->lineno);
			r->state = 2;
			return MW_ITEM_EOF;
		}
		size_t cut;
		if (nm < 0 && r->state == 1 && (cut = cut_then_appended(r->line, r->linelen))) {
			/* A write failed mid-record and a later one went on after it
			 * (earlier writers did, on a full disk): the trace is read up
			 * to the cut, like a truncated one. */
			snprintf(r->warn, sizeof(r->warn),
				 "%s:%" PRIu64 ": warning: record cut short at column %zu (a failed write), "
				 "the trace is read up to the line before", r->name, r->lineno, cut + 1);
			r->state = 2;
			return MW_ITEM_EOF;
		}
		if (nm < 0)
			return rfail(r, "%s", msg);
		for (int i = 0; i < nm; i++)
			if (KEY_IS(&r->m[i], "type")) {
				type = &r->m[i];
				break;
			}
		if (!type)
			return rfail(r, "missing field \"type\"");
		if (type->v.type != MW_J_STR)
			return rfail(r, "expected a string for \"type\"");

		if (r->state == 0) {
			if (!str_is(&type->v, "header"))
				return rfail(r, "missing header: not a mapwatch trace "
					     "(the first line must be {\"type\":\"header\",…})");
			if (decode_header(r, nm) < 0)
				return MW_ITEM_ERROR;
			r->state = 1;
			return MW_ITEM_HEADER;
		}
		if (str_is(&type->v, "event"))
			return decode_event(r, nm, rec) < 0 ? MW_ITEM_ERROR : MW_ITEM_RECORD;
		if (str_is(&type->v, "alert"))
			return check_counts(r, nm, alert_need) < 0 ? MW_ITEM_ERROR : MW_ITEM_ALERT;
		if (str_is(&type->v, "summary"))
			return check_counts(r, nm, summary_need) < 0 ? MW_ITEM_ERROR : MW_ITEM_SUMMARY;
		if (r->hdr.version >= 2 && str_is(&type->v, "stack"))
			return decode_stack(r, nm) < 0 ? MW_ITEM_ERROR : MW_ITEM_STACK;
		if (r->hdr.version >= 2 && str_is(&type->v, "finding"))
			return check_counts(r, nm, finding_need) < 0 ? MW_ITEM_ERROR : MW_ITEM_FINDING;
		if (str_is(&type->v, "header"))
			return rfail(r, "a second header (two traces concatenated?)");
		return rfail(r, "unknown line type \"%.*s\"",
			     (int)(type->v.n > 40 ? 40 : type->v.n), type->v.s);
	}
}
