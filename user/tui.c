/* tui.c — the live ncurses view (see tui.h for how the loop drives it).
 *
 * Model → draw, htop style: every redraw reads the correlator's model
 * (alert rows, maps, summary) and the loop's live counters, and paints the
 * whole screen from them; ncurses sends only what changed. The view keeps
 * only what belongs to the viewer: focus, selection (by map address and
 * alert row, never by screen line), sort key, filter, the paused log and
 * when each alert row was first seen (for the "new" highlight).
 *
 * The terminal is always given back: mw_tui_close() (idempotent, the view
 * is a singleton), and for crashes an async-signal-safe restore that the
 * SIGSEGV/SIGABRT/SIGBUS handlers call before dying with the default action.
 * stderr goes to an unlinked temporary file while the screen is open and is
 * replayed when it closes, so nothing scribbles over the screen.
 *
 * Layout maths, formatting, sorting, filter matching and bars live in
 * view.c, which is pure and unit tested.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"
#include "view.h"

#define REDRAW_NS	100000000ull	/* at most 10 periodic redraws a second */
#define NEW_ROW_NS	3000000000ull	/* how long a new alert row stays highlighted */
#define MSG_NS		30000000000ull	/* how long a status message stays */
#define LOG_CAP		512		/* records kept for the event log */
#define BSIZE_SLOTS	32		/* maps whose bucket size was learned */

/* Semantic colour roles; each has a colour pair and a monochrome attribute. */
enum role {
	RL_NORMAL = 0,
	RL_HEADER,	/* header values, focused panel title */
	RL_ALERT,	/* races, errors */
	RL_WARN,		/* drops, grows, the exit banner */
	RL_OK,		/* all quiet, saved */
	RL_DIM,		/* labels, empty cells, unfocused titles */
	RL_SEL,		/* the selected row */
	RL_NEW,		/* an alert row that just appeared */
	RL_KEY,		/* key names in the footer */
	RL_ITER,		/* an iterator in the bucket picture */
	RL_MAX
};

enum mode { M_MAIN, M_MAP, M_ALERT, M_HOST, M_FIND };
enum focus { F_MAPS, F_ALERTS, F_LOG, F_MAX };

struct mw_tui {
	struct mw_tui_opts opts;
	struct mw_tui_target target;
	int open;
	int ascii, color;
	SCREEN *scr;

	int mode, focus, help;
	int sort;
	/* filter: typed text while editing, applied text and its parse */
	int editing;
	char edit[48];
	char ftext[48];
	struct mw_filter filter;
	int filter_bad;

	/* selection: by map address and by alert row index (rows never reorder) */
	uint64_t sel_map;
	size_t sel_row;		/* index into mw_corr_row, SIZE_MAX = none */
	int follow;		/* the alert selection follows the newest row */
	size_t maps_top, alerts_top;
	size_t log_back;	/* lines scrolled back from the newest */

	/* the visible maps (sorted, filtered) and alert rows (filtered) */
	size_t *vmaps, nvmaps, cap_vmaps;
	size_t *vrows, nvrows, cap_vrows;

	/* first time each alert row was seen, for the highlight */
	uint64_t *row_seen;
	size_t nrow_seen, cap_row_seen;

	/* event log: a ring of records; paused = new records are counted, not kept */
	struct mw_record *log;
	size_t log_n, log_head;
	uint64_t log_total, log_held;
	int paused;

	/* bucket size per map, learned from evacuate records */
	struct { uint64_t map, size; } bsize[BSIZE_SLOTS];
	unsigned bsize_next;

	/* timing */
	uint64_t last_draw, frames;
	int64_t wall_off;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int dirty, last_exited;

	char msg[640];
	int msg_role;
	uint64_t msg_ns;

	/* the host view (mapwatch --all): its model of this tick, its selection
	 * (a process by pid, a finding by index: findings are only appended) */
	const struct mw_tui_host *host;
	int cur_pid;		/* 0: the host screen; else the process whose own view is open */
	void *cur_ctx;		/* stack_line's ctx for it */
	const struct mw_corr *row_corr;	/* the correlator row_seen belongs to */
	int sel_pid;
	size_t sel_find, procs_top, finds_top;
	size_t *vprocs, nvprocs, cap_vprocs;	/* the listed processes, by pid */

	/* the model of the current tick */
	const struct mw_corr *c;
	const struct mw_live_stats *st;
	uint64_t now;
	struct mw_summary sum;
};

/* ---- terminal restore: state shared with signal handlers ------------------ */

static struct mw_tui the_tui;
static volatile sig_atomic_t g_active;	/* curses owns the terminal */
static struct termios g_termios;
static int g_have_termios;
static int g_err_saved = -1;		/* the original stderr */
static int g_err_file = -1;		/* the temporary file stderr goes to */
static struct sigaction g_old_act[3];
static const int g_crash_sigs[3] = { SIGSEGV, SIGABRT, SIGBUS };

/* Writes all of buf to fd; async-signal-safe. */
static void write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* Puts stderr back and prints what was captured; async-signal-safe. */
static void replay_stderr(void)
{
	char buf[4096];
	ssize_t n;

	if (g_err_saved < 0)
		return;
	dup2(g_err_saved, STDERR_FILENO);
	close(g_err_saved);
	g_err_saved = -1;
	if (g_err_file >= 0) {
		lseek(g_err_file, 0, SEEK_SET);
		while ((n = read(g_err_file, buf, sizeof(buf))) > 0)
			write_all(STDERR_FILENO, buf, (size_t)n);
		close(g_err_file);
		g_err_file = -1;
	}
}

void mw_tui_emergency_restore(void)
{
	/* Reset attributes, leave the alternate screen, show the cursor, keypad off. */
	static const char seq[] = "\033[0m\033[?1049l\033[?25h\033[?1l\033>\r\n";

	if (!g_active)
		return;
	g_active = 0;
	write_all(STDOUT_FILENO, seq, sizeof(seq) - 1);
	if (g_have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &g_termios);
	replay_stderr();
}

static void crash_handler(int sig)
{
	int saved = errno;

	mw_tui_emergency_restore();
	/* SA_RESETHAND put the default action back; SA_NODEFER lets it hit now. */
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

static void crash_handlers_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (int i = 0; i < 3; i++)
		sigaction(g_crash_sigs[i], &sa, &g_old_act[i]);
}

static void crash_handlers_remove(void)
{
	for (int i = 0; i < 3; i++)
		sigaction(g_crash_sigs[i], &g_old_act[i], NULL);
}

/* ---- small helpers ---------------------------------------------------------- */

static int role_attr(const struct mw_tui *t, int role)
{
	if (t->color) {
		switch (role) {
		case RL_NORMAL:	return A_NORMAL;
		case RL_HEADER:	return COLOR_PAIR(RL_HEADER) | A_BOLD;
		case RL_ALERT:	return COLOR_PAIR(RL_ALERT) | A_BOLD;
		case RL_DIM:	return COLOR_PAIR(RL_DIM);
		case RL_NEW:	return COLOR_PAIR(RL_NEW) | A_BOLD;
		default:	return COLOR_PAIR(role);
		}
	}
	switch (role) {
	case RL_HEADER:	return A_BOLD;
	case RL_ALERT:	return A_BOLD;
	case RL_WARN:	return A_BOLD;
	case RL_DIM:	return A_DIM;
	case RL_SEL:	return A_REVERSE;
	case RL_NEW:	return A_BOLD | A_UNDERLINE;
	case RL_KEY:	return A_REVERSE;
	case RL_ITER:	return A_BOLD;
	default:	return A_NORMAL;
	}
}

static void colors_init(struct mw_tui *t)
{
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(RL_HEADER, COLOR_CYAN, -1);
	init_pair(RL_ALERT, COLOR_RED, -1);
	init_pair(RL_WARN, COLOR_YELLOW, -1);
	init_pair(RL_OK, COLOR_GREEN, -1);
	/* Bright black where there are 16 colours, else blue: dim, yet readable. */
	init_pair(RL_DIM, COLORS >= 16 ? 8 : COLOR_BLUE, -1);
	init_pair(RL_SEL, COLOR_BLACK, COLOR_CYAN);
	init_pair(RL_NEW, COLOR_BLACK, COLOR_YELLOW);
	init_pair(RL_KEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(RL_ITER, COLOR_GREEN, -1);
}

/* Draws printf text at y,x clipped to w columns; returns the columns drawn. */
static int put(struct mw_tui *t, int y, int x, int w, int role, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int put(struct mw_tui *t, int y, int x, int w, int role, const char *fmt, ...)
{
	char raw[1024], fit[1100];
	va_list ap;
	int n;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + w > COLS)
		w = COLS - x;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n = mw_fit(raw, w, t->ascii, fit, sizeof(fit));
	attrset(role_attr(t, role));
	mvaddstr(y, x, fit);
	attrset(A_NORMAL);
	return n;
}

/* A cell of a table: text padded (or right-aligned) to exactly w columns. */
static void cell(struct mw_tui *t, int y, int x, int w, int right, int attr, const char *text)
{
	char fit[512], line[600];
	int n = mw_fit(text, w, t->ascii, fit, sizeof(fit));

	if (right)
		snprintf(line, sizeof(line), "%*s%s", w - n, "", fit);
	else
		snprintf(line, sizeof(line), "%s%*s", fit, w - n, "");
	attrset(attr);
	mvaddstr(y, x, line);
	attrset(A_NORMAL);
}

/* A table's column names, dim, in the columns that fit; name(i) may give
 * another name than cols[i].name (NULL: that one). */
static void table_head(struct mw_tui *t, int y, const struct mw_col *cols, const int *right, int n,
		       const int *shown, const char *(*name)(const struct mw_tui *, int))
{
	for (int i = 0, x = 0; i < n; i++) {
		const char *nm = name ? name(t, i) : NULL;

		if (!shown[i])
			continue;
		cell(t, y, x, cols[i].width, right[i], role_attr(t, RL_DIM), nm ? nm : cols[i].name);
		x += cols[i].width + 1;
	}
}

static void fill_line(struct mw_tui *t, int y, int attr)
{
	attrset(attr);
	mvhline(y, 0, ' ', COLS);
	attrset(A_NORMAL);
}

static const char *sym(const struct mw_tui *t, const char *utf8, const char *ascii)
{
	return t->ascii ? ascii : utf8;
}

/* A horizontal rule with a title, "── Title ─────". */
static void rule(struct mw_tui *t, int y, int focused, const char *title, const char *right)
{
	const char *h = sym(t, "\xe2\x94\x80", "-");
	int x = 0;

	attrset(role_attr(t, RL_DIM));
	move(y, 0);
	for (int i = 0; i < COLS; i++)
		addstr(h);
	attrset(A_NORMAL);
	x = 2;
	x += put(t, y, x, COLS - x - 1, focused ? RL_HEADER : RL_NORMAL, " %s ", title);
	if (right && *right) {
		int w = mw_strwidth(right) + 2;

		if (COLS - w - 2 > x + 2)
			put(t, y, COLS - w - 2, w, RL_DIM, " %s ", right);
	}
}

static void fmt_clock(const struct mw_tui *t, uint64_t mono_ns, int ms, char *buf, size_t len)
{
	int64_t wall = (int64_t)mono_ns + t->wall_off;
	time_t s = (time_t)(wall / 1000000000);
	struct tm tm;

	if (!mono_ns || wall < 0 || !localtime_r(&s, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	if (ms)
		snprintf(buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(wall / 1000000 % 1000));
	else
		snprintf(buf, len, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void set_msg(struct mw_tui *t, int role, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_msg(struct mw_tui *t, int role, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_role = role;
	t->msg_ns = t->now ? t->now : 1;
	t->dirty = 1;
}

static int grow_array(size_t **a, size_t *cap, size_t n)
{
	size_t *p;

	if (n <= *cap)
		return 0;
	p = realloc(*a, (n + 64) * sizeof(**a));
	if (!p)
		return -1;
	*a = p;
	*cap = n + 64;
	return 0;
}

static uint64_t bucket_size(const struct mw_tui *t, uint64_t map)
{
	for (int i = 0; i < BSIZE_SLOTS; i++)
		if (t->bsize[i].map == map)
			return t->bsize[i].size;
	return 0;	/* not known yet: addresses are not placed in the array */
}

static uint64_t nbuckets(uint8_t B)
{
	return B < 63 ? 1ull << B : 0;
}

/* Old buckets of the grow in progress. */
static uint64_t old_nbuckets(const struct mw_map_model *m)
{
	if (m->grow_old_nbuckets)
		return m->grow_old_nbuckets;
	if (m->samesize || !m->B)
		return nbuckets(m->B);
	return nbuckets(m->B - 1);
}

/* ---- the visible lists --------------------------------------------------------- */

static void lists_update(struct mw_tui *t)
{
	const struct mw_corr *c = t->c;
	size_t nm = mw_corr_nmaps(c), nr = mw_corr_nrows(c);

	/* Remember when each row was first seen: appended rows are new. */
	if (nr > t->nrow_seen && !grow_array(&t->row_seen, &t->cap_row_seen, nr)) {
		for (size_t i = t->nrow_seen; i < nr; i++)
			t->row_seen[i] = t->now;
		t->nrow_seen = nr;
	}

	t->nvmaps = 0;
	if (!grow_array(&t->vmaps, &t->cap_vmaps, nm)) {
		const struct mw_map_model *maps[nm ? nm : 1];

		for (size_t i = 0; i < nm; i++) {
			maps[i] = mw_corr_map(c, i);
			if (mw_filter_map(&t->filter, maps[i]))
				t->vmaps[t->nvmaps++] = i;
		}
		mw_map_sort(maps, t->vmaps, t->nvmaps, t->sort);
	}
	t->nvrows = 0;
	if (!grow_array(&t->vrows, &t->cap_vrows, nr)) {
		for (size_t i = 0; i < nr; i++)
			if (mw_filter_row(&t->filter, mw_corr_row(c, i)))
				t->vrows[t->nvrows++] = i;
	}

	/* The map selection is an address: keep it if it is still listed. */
	if (t->nvmaps) {
		int found = 0;

		for (size_t i = 0; i < t->nvmaps; i++)
			found |= mw_corr_map(c, t->vmaps[i])->map == t->sel_map;
		if (!found)
			t->sel_map = mw_corr_map(c, t->vmaps[0])->map;
	}
	if (t->nvrows) {
		int found = 0;

		for (size_t i = 0; i < t->nvrows; i++)
			found |= t->vrows[i] == t->sel_row;
		if (t->follow || !found)
			t->sel_row = t->vrows[t->nvrows - 1];
	}
}

static size_t map_pos(const struct mw_tui *t)
{
	for (size_t i = 0; i < t->nvmaps; i++)
		if (mw_corr_map(t->c, t->vmaps[i])->map == t->sel_map)
			return i;
	return 0;
}

static size_t row_pos(const struct mw_tui *t)
{
	for (size_t i = 0; i < t->nvrows; i++)
		if (t->vrows[i] == t->sel_row)
			return i;
	return t->nvrows ? t->nvrows - 1 : 0;
}

/* ---- header, banner, footer ------------------------------------------------- */

/* "  alerts 12 (iter-write 9, iter-grow 3, write-write 0)" from column x of
 * a w-wide line, the kinds when they fit; returns the columns drawn. */
static int put_races(struct mw_tui *t, int y, int x, int w, const char *label, uint64_t n,
		     const uint64_t by_kind[MW_KIND_MAX])
{
	char c[16], k1[16], k2[16], k3[16];
	int x0 = x;

	x += put(t, y, x, w - x, RL_DIM, "%s", label);
	x += put(t, y, x, w - x, n ? RL_ALERT : RL_OK, "%s", mw_fmt_count(n, c, sizeof(c)));
	if (n && w - x > 52)
		x += put(t, y, x, w - x, RL_DIM, " (iter-write %s, iter-grow %s, write-write %s)",
			 mw_fmt_count(by_kind[MW_KIND_ITER_WRITE], k1, sizeof(k1)),
			 mw_fmt_count(by_kind[MW_KIND_ITER_GROW], k2, sizeof(k2)),
			 mw_fmt_count(by_kind[MW_KIND_WRITE_WRITE], k3, sizeof(k3)));
	return x - x0;
}

static void draw_header(struct mw_tui *t, const struct mw_view_layout *l)
{
	const struct mw_live_stats *st = t->st;
	char up[32], ev[16], tot[16], dr[16], hits[16];
	const char *probed = t->target.probed, *slash = strrchr(probed, '/');
	uint64_t drops = st->drops > t->sum.drops ? st->drops : t->sum.drops;
	int x, y = l->header_y, w = COLS;

	mw_fmt_uptime(t->now > st->start_ns ? (t->now - st->start_ns) / 1000000000u : 0, up, sizeof(up));
	mw_fmt_rate(st->events_per_s, ev, sizeof(ev));
	mw_fmt_count(st->events, tot, sizeof(tot));
	mw_fmt_count(drops, dr, sizeof(dr));
	mw_fmt_count(st->hits > t->sum.bpf_hits ? st->hits : t->sum.bpf_hits, hits, sizeof(hits));
	/* A long path gives way to its file name. */
	if ((int)strlen(probed) > w / 2 && slash)
		probed = slash + 1;

	if (l->header_h == 1) {
		x = put(t, y, 0, w, RL_HEADER, "pid %d %s", t->target.pid, t->target.comm);
		x += put(t, y, x, w - x, RL_NORMAL, "  ev %s/s  drops ", ev);
		x += put(t, y, x, w - x, drops ? RL_WARN : RL_NORMAL, "%s", dr);
		x += put(t, y, x, w - x, RL_NORMAL, "  alerts ");
		x += put(t, y, x, w - x, t->sum.alerts ? RL_ALERT : RL_OK, "%s",
			 mw_fmt_count(t->sum.alerts, tot, sizeof(tot)));
		if (st->trace_error[0])
			x += put(t, y, x, w - x, RL_ALERT, "  trace stopped");
		put(t, y, x, w - x, RL_DIM, "  up %s", up);
		return;
	}
	x = put(t, y, 0, w, RL_HEADER, "mapwatch");
	x += put(t, y, x, w - x, RL_DIM, "  pid ");
	x += put(t, y, x, w - x, RL_HEADER, "%d %s", t->target.pid, t->target.comm);
	if (st->trace_error[0]) {
		/* The recording failed (-o on a full disk): that, not the probes. */
		x += put(t, y, x, w - x - 13, RL_ALERT, "  %s", st->trace_error);
	} else {
		x += put(t, y, x, w - x, RL_DIM, "  %d probes on ", t->target.probes);
		x += put(t, y, x, w - x - 13, RL_NORMAL, "%s", probed);
	}
	if (w - x >= 13)
		put(t, y, w - 12, 12, RL_DIM, "up %s", up);

	y++;
	x = put(t, y, 0, w, RL_DIM, "events ");
	x += put(t, y, x, w - x, RL_NORMAL, "%s/s", ev);
	x += put(t, y, x, w - x, RL_DIM, " (%s)  hits %s  drops ", tot, hits);
	x += put(t, y, x, w - x, drops ? RL_WARN : RL_NORMAL, "%s", dr);
	x += put_races(t, y, x, w, "  alerts ", t->sum.alerts, t->sum.alerts_by_kind);
	put(t, y, x, w - x, RL_DIM, "  maps %zu", mw_corr_nmaps(t->c));
}

static int banner_wanted(const struct mw_tui *t)
{
	return (t->st && t->st->target_exited) || (t->msg[0] && t->now - t->msg_ns < MSG_NS);
}

static void draw_banner(struct mw_tui *t, const struct mw_view_layout *l)
{
	int x = 0, y = l->banner_y;

	if (!l->banner_h)
		return;
	if (t->st && t->st->target_exited) {
		const char *how = t->st->exit_how[0] ? t->st->exit_how : "exited";
		int attr = role_attr(t, RL_WARN) | A_REVERSE | A_BOLD;
		char text[256], fit[300];

		snprintf(text, sizeof(text), " target %s %s press q ", how, sym(t, "\xe2\x80\x94", "-"));
		mw_fit(text, COLS, t->ascii, fit, sizeof(fit));
		attrset(attr);
		mvaddstr(y, 0, fit);
		attrset(A_NORMAL);
		x = mw_strwidth(fit) + 1;
	}
	if (t->msg[0] && t->now - t->msg_ns < MSG_NS)
		put(t, y, x, COLS - x, t->msg_role, "%s", t->msg);
}

struct key_help { const char *key, *what; };

static void draw_keys(struct mw_tui *t, int y, const struct key_help *k, int n)
{
	int x = 0;

	fill_line(t, y, A_NORMAL);
	for (int i = 0; i < n && x < COLS - 2; i++) {
		x += put(t, y, x, COLS - x, RL_KEY, "%s", k[i].key);
		x += put(t, y, x, COLS - x, RL_NORMAL, " %s  ", k[i].what);
	}
}

static void draw_footer(struct mw_tui *t, int y)
{
	const char *ud = sym(t, "\xe2\x86\x91\xe2\x86\x93", "j/k");

	if (t->editing) {
		int x;

		fill_line(t, y, A_NORMAL);
		x = put(t, y, 0, COLS, RL_KEY, "Filter");
		x += put(t, y, x, COLS - x, RL_NORMAL, " %s", t->edit);
		x += put(t, y, x, COLS - x, RL_SEL, " ");
		put(t, y, x, COLS - x, RL_DIM, t->host && !t->cur_pid
		    ? "  binary, pid, cgroup or code location; Enter applies, Esc cancels"
		    : "  map address (0x...) or thread id; Enter applies, Esc cancels");
		return;
	}
	if (t->help) {
		static const struct key_help k[] = { { "any key", "close help" } };
		draw_keys(t, y, k, 1);
		return;
	}
	if (t->mode == M_MAP || t->mode == M_ALERT) {
		struct key_help k[] = { { "Esc", "Back" }, { ud, "Prev/next" },
			{ "m", t->mode == M_ALERT ? "Its map" : "" }, { "p", t->paused ? "Resume" : "Pause" },
			{ "e", "Save" }, { "?", "Help" } };
		struct key_help k2[6];
		int n = 0;

		for (int i = 0; i < 6; i++)
			if (k[i].what[0])
				k2[n++] = k[i];
		draw_keys(t, y, k2, n);
		return;
	}
	if (t->mode == M_FIND) {
		struct key_help k[] = { { "Esc", "Back" }, { "p", t->paused ? "Resume" : "Pause" }, { "?", "Help" } };
		draw_keys(t, y, k, 3);
		return;
	}
	if (t->mode == M_HOST) {
		struct key_help k[] = { { "q", "Quit" }, { "p", t->paused ? "Resume" : "Pause" },
			{ "Tab", "Focus" }, { ud, "Select" }, { "Enter", "Open" }, { "/", "Filter" },
			{ "?", "Help" } };
		draw_keys(t, y, k, 7);
		return;
	}
	struct key_help k[] = { { t->host ? "Esc" : "q", t->host ? "All processes" : "Quit" },
		{ "p", t->paused ? "Resume" : "Pause" },
		{ "Tab", "Focus" }, { ud, "Select" }, { "Enter", "Detail" }, { "s", "Sort" },
		{ "/", "Filter" }, { "e", "Save" }, { "?", "Help" } };
	draw_keys(t, y, k, 9);
}

/* ---- maps table ---------------------------------------------------------------- */

enum { MC_MAP, MC_LEN, MC_B, MC_NB, MC_GROW, MC_ITERS, MC_WR, MC_IT, MC_AL, MC_N };
static const struct mw_col map_cols[MC_N] = {
	[MC_MAP] = { "MAP", 14, 0 },	[MC_LEN] = { "LEN", 7, 0 },
	[MC_B] = { "B", 3, 1 },		[MC_NB] = { "BUCKETS", 8, 2 },
	[MC_GROW] = { "GROW", 20, 1 },	[MC_ITERS] = { "ITERS", 5, 1 },
	[MC_WR] = { "WRITES/s", 9, 0 },	[MC_IT] = { "ITER/s", 8, 1 },
	[MC_AL] = { "ALERTS", 7, 0 },
};
static const int map_col_right[MC_N] = { 0, 1, 1, 1, 0, 1, 1, 1, 1 };
static const int sort_col[MW_SORT_MAX] = {
	[MW_SORT_ADDR] = MC_MAP, [MW_SORT_LEN] = MC_LEN, [MW_SORT_B] = MC_B,
	[MW_SORT_GROW] = MC_GROW, [MW_SORT_ITERS] = MC_ITERS, [MW_SORT_WRITES] = MC_WR,
	[MW_SORT_ITERATIONS] = MC_IT, [MW_SORT_ALERTS] = MC_AL,
};

static void grow_text(const struct mw_tui *t, const struct mw_map_model *m, int w, char *buf, size_t len)
{
	char bar[128], num[40];
	uint64_t old = old_nbuckets(m), done = m->nevacuate < old ? m->nevacuate : old;
	int bw;

	if (!m->growing) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(num, sizeof(num), "%" PRIu64 "/%" PRIu64, done, old);
	bw = w - 3 - 1 - (int)strlen(num);
	if (bw > 10)
		bw = 10;
	if (bw < 3) {
		snprintf(buf, len, "%s %s", m->samesize ? "same" : "2x", num);
		return;
	}
	mw_bar(done, old, bw, t->ascii, bar, sizeof(bar));
	snprintf(buf, len, "%-2s %s %s", m->samesize ? "=" : "2x", bar, num);
}

static void draw_maps(struct mw_tui *t, const struct mw_view_layout *l)
{
	int shown[MC_N], y = l->maps_y, rows = l->maps_h - 2, focused = t->focus == F_MAPS;
	char title[96], right[128], txt[MC_N][128];
	size_t sel = map_pos(t);

	if (!l->maps_h)
		return;
	snprintf(title, sizeof(title), "Maps %zu", t->nvmaps);
	snprintf(right, sizeof(right), "%s%ssort: %s %s", t->filter.active ? "filter: " : "",
		 t->filter.active ? t->ftext : "", mw_sort_name(t->sort), sym(t, "\xe2\x96\xbc", "v"));
	if (t->filter.active)
		snprintf(right, sizeof(right), "filter %s  sort: %s %s", t->ftext, mw_sort_name(t->sort),
			 sym(t, "\xe2\x96\xbc", "v"));
	rule(t, y, focused, title, right);
	y++;
	mw_cols_fit(map_cols, MC_N, COLS, shown);
	/* Column header; the sort column carries the indicator. */
	for (int i = 0, x = 0; i < MC_N; i++) {
		char h[32];

		if (!shown[i])
			continue;
		if (i == sort_col[t->sort])
			snprintf(h, sizeof(h), map_col_right[i] ? "%s%s" : "%2$s%1$s",
				 sym(t, "\xe2\x96\xbc", "v"), map_cols[i].name);
		else
			snprintf(h, sizeof(h), "%s", map_cols[i].name);
		cell(t, y, x, map_cols[i].width, map_col_right[i],
		     role_attr(t, i == sort_col[t->sort] ? RL_HEADER : RL_DIM), h);
		x += map_cols[i].width + 1;
	}
	y++;
	if (!t->nvmaps) {
		put(t, y, 1, COLS - 2, RL_DIM, "%s", t->filter.active ? "no map matches the filter"
			: "no map seen yet: maps appear with their first probed operation");
		return;
	}
	t->maps_top = mw_scroll(sel, t->maps_top, t->nvmaps, rows);
	for (int r = 0; r < rows && t->maps_top + r < t->nvmaps; r++) {
		size_t vi = t->maps_top + r;
		const struct mw_map_model *m = mw_corr_map(t->c, t->vmaps[vi]);
		int is_sel = vi == sel && focused, base = is_sel ? role_attr(t, RL_SEL) :
			     vi == sel ? A_BOLD : A_NORMAL;

		mw_fmt_addr(m->map, txt[MC_MAP], sizeof(txt[0]));
		mw_fmt_count(m->count, txt[MC_LEN], sizeof(txt[0]));
		snprintf(txt[MC_B], sizeof(txt[0]), "%u", m->B);
		mw_fmt_count(nbuckets(m->B), txt[MC_NB], sizeof(txt[0]));
		grow_text(t, m, map_cols[MC_GROW].width, txt[MC_GROW], sizeof(txt[0]));
		snprintf(txt[MC_ITERS], sizeof(txt[0]), "%u", m->n_iters);
		mw_fmt_rate(m->write_rate, txt[MC_WR], sizeof(txt[0]));
		mw_fmt_rate(m->iter_rate, txt[MC_IT], sizeof(txt[0]));
		mw_fmt_count(m->alerts, txt[MC_AL], sizeof(txt[0]));
		if (is_sel)
			fill_line(t, y, base);
		for (int i = 0, x = 0; i < MC_N; i++) {
			int a = base;

			if (!shown[i])
				continue;
			if (!is_sel && i == MC_AL && m->alerts)
				a = role_attr(t, RL_ALERT);
			else if (!is_sel && i == MC_GROW)
				a = role_attr(t, m->growing ? RL_WARN : RL_DIM);
			else if (!is_sel && i == MC_ITERS && m->n_iters)
				a = role_attr(t, RL_ITER);
			cell(t, y, x, map_cols[i].width, map_col_right[i], a, txt[i]);
			x += map_cols[i].width + 1;
		}
		y++;
	}
}

/* ---- alerts list ---------------------------------------------------------------- */

enum { AC_TIME, AC_KIND, AC_MAP, AC_BUCKET, AC_TIDS, AC_OVL, AC_COUNT, AC_CONF, AC_N };
static const struct mw_col alert_cols[AC_N] = {
	[AC_TIME] = { "LAST", 8, 1 },		[AC_KIND] = { "KIND", 11, 0 },
	[AC_MAP] = { "MAP", 14, 0 },		[AC_BUCKET] = { "BUCKET", 14, 3 },
	[AC_TIDS] = { "WRITER>ITER", 15, 0 },	[AC_OVL] = { "OVERLAP", 8, 1 },
	[AC_COUNT] = { "COUNT", 7, 0 },		[AC_CONF] = { "CONF", 6, 2 },
};
static const int alert_col_right[AC_N] = { 0, 0, 0, 0, 0, 1, 1, 0 };

static int kind_role(unsigned kind)
{
	return kind == MW_KIND_ITER_GROW ? RL_WARN : RL_ALERT;
}

static const char *alert_col_name(const struct mw_tui *t, int i)
{
	return i == AC_TIDS ? sym(t, "WRITER\xe2\x86\x92ITER", "WRITER>ITER") : NULL;
}

static void draw_alerts(struct mw_tui *t, const struct mw_view_layout *l)
{
	int shown[AC_N], y = l->alerts_y, rows = l->alerts_h - 2, focused = t->focus == F_ALERTS;
	char title[96], right[128], txt[AC_N][128];
	size_t sel = row_pos(t), nr = mw_corr_nrows(t->c);

	if (!l->alerts_h)
		return;
	if (t->nvrows == nr)
		snprintf(title, sizeof(title), "Alerts %zu", nr);
	else
		snprintf(title, sizeof(title), "Alerts %zu of %zu", t->nvrows, nr);
	snprintf(right, sizeof(right), "%s%s%s", t->filter.active ? "filter " : "",
		 t->filter.active ? t->ftext : "", t->follow ? "" : (t->filter.active ? "  held" : "held"));
	rule(t, y, focused, title, right);
	y++;
	mw_cols_fit(alert_cols, AC_N, COLS, shown);
	table_head(t, y++, alert_cols, alert_col_right, AC_N, shown, alert_col_name);
	if (!t->nvrows) {
		if (t->filter.active && nr)
			put(t, y, 1, COLS - 2, RL_DIM, "no alert matches the filter");
		else
			put(t, y, 1, COLS - 2, RL_OK, "no race seen%s", t->sum.events ? " so far" : " yet");
		return;
	}
	/* Rows keep their place: appended at the bottom, followed only while the
	 * selection is on the newest row. */
	t->alerts_top = mw_scroll(sel, t->alerts_top, t->nvrows, rows);
	for (int r = 0; r < rows && t->alerts_top + r < t->nvrows; r++) {
		size_t vi = t->alerts_top + r, ri = t->vrows[vi];
		const struct mw_alert_row *a = mw_corr_row(t->c, ri);
		int is_sel = vi == sel && focused;
		int is_new = ri < t->nrow_seen && t->now - t->row_seen[ri] < NEW_ROW_NS;
		int base = is_sel ? role_attr(t, RL_SEL) : is_new ? role_attr(t, RL_NEW) :
			   vi == sel && !t->follow ? A_BOLD : A_NORMAL;

		fmt_clock(t, a->last_ts, 0, txt[AC_TIME], sizeof(txt[0]));
		snprintf(txt[AC_KIND], sizeof(txt[0]), "%s", mw_kind_name(a->kind));
		mw_fmt_addr(a->map, txt[AC_MAP], sizeof(txt[0]));
		mw_fmt_addr(a->last.bucket ? a->last.bucket : a->last.bucket2, txt[AC_BUCKET], sizeof(txt[0]));
		/* Go: goroutines ("g19"), else threads. */
		if (a->writer_gid || a->iter_gid)
			snprintf(txt[AC_TIDS], sizeof(txt[0]), "g%" PRIu64 "%sg%" PRIu64, a->writer_gid,
				 sym(t, " \xe2\x86\x92 ", ">"), a->iter_gid);
		else
			snprintf(txt[AC_TIDS], sizeof(txt[0]), "%u%s%u", a->writer_tid,
				 sym(t, " \xe2\x86\x92 ", ">"), a->iter_tid);
		if (mw_strwidth(txt[AC_TIDS]) > alert_cols[AC_TIDS].width && !(a->writer_gid || a->iter_gid))
			snprintf(txt[AC_TIDS], sizeof(txt[0]), "%u%s%u", a->writer_tid,
				 sym(t, "\xe2\x86\x92", ">"), a->iter_tid);
		else if (mw_strwidth(txt[AC_TIDS]) > alert_cols[AC_TIDS].width)
			snprintf(txt[AC_TIDS], sizeof(txt[0]), "g%" PRIu64 "%sg%" PRIu64, a->writer_gid,
				 sym(t, "\xe2\x86\x92", ">"), a->iter_gid);
		mw_fmt_dur(a->last.overlap_ns, t->ascii, txt[AC_OVL], sizeof(txt[0]));
		mw_fmt_count(a->count, txt[AC_COUNT], sizeof(txt[0]));
		snprintf(txt[AC_CONF], sizeof(txt[0]), "%s", mw_conf_name(a->confidence));
		if (is_sel || is_new)
			fill_line(t, y, base);
		for (int i = 0, x = 0; i < AC_N; i++) {
			int at = base;

			if (!shown[i])
				continue;
			if (!is_sel && !is_new) {
				if (i == AC_KIND)
					at = role_attr(t, kind_role(a->kind));
				else if (i == AC_CONF)
					at = a->confidence == MW_CONF_BUCKET ? A_BOLD : role_attr(t, RL_DIM);
				else if (i == AC_TIME)
					at = role_attr(t, RL_DIM);
			}
			cell(t, y, x, alert_cols[i].width, alert_col_right[i], at, txt[i]);
			x += alert_cols[i].width + 1;
		}
		y++;
	}
}

/* ---- event log ------------------------------------------------------------------ */

static void fmt_record(const struct mw_tui *t, const struct mw_record *r, char *buf, size_t len)
{
	char clk[32], map[24], a1[24];
	const char *ty;
	int n;

	fmt_clock(t, r->ts, 1, clk, sizeof(clk));
	mw_fmt_addr(r->map, map, sizeof(map));
	ty = r->type == MW_REC_WRITE ? mw_op_name(r->op) : mw_rec_type_name(r->type);
	if (!ty)
		ty = "?";
	if (r->type == MW_REC_STATS) {
		snprintf(buf, len, "%s %-10s hits %" PRIu64 " ring-buffer drops %" PRIu64 " map drops %" PRIu64,
			 clk, ty, (uint64_t)r->count, (uint64_t)r->aux, (uint64_t)r->aux2);
		return;
	}
	if (r->gid)
		n = snprintf(buf, len, "%s %-10s g %-7" PRIu64 " map %s len %" PRIu64 " B %u", clk, ty,
			     (uint64_t)r->gid, map, (uint64_t)r->count, r->B);
	else
		n = snprintf(buf, len, "%s %-10s tid %-7u map %s len %" PRIu64 " B %u", clk, ty, r->tid, map,
			     (uint64_t)r->count, r->B);
	if (n < 0 || (size_t)n >= len)
		return;
	if (r->type == MW_REC_ITER_START || r->type == MW_REC_ITER_END)
		n += snprintf(buf + n, len - n, " hiter %s", mw_fmt_addr(r->hiter, a1, sizeof(a1)));
	else if (r->type == MW_REC_EVACUATE && (size_t)n < len)
		n += snprintf(buf + n, len - n, " old bucket %" PRIu64, (uint64_t)r->bucket);
	if ((size_t)n < len && r->kind != MW_KIND_NONE)
		snprintf(buf + n, len - n, "  %s %s with tid %u%s", sym(t, "\xe2\x96\xb2", "!!"),
			 mw_kind_name(r->kind), r->other_tid, r->bucket_hit ? " (same bucket)" : "");
}

/* The log's records as this screen shows them, newest first: all of them,
 * or in one process's own view of the host, that process's. */
static size_t log_pick(const struct mw_tui *t, size_t *idx)
{
	size_t n = 0;

	for (size_t age = 0; age < t->log_n; age++) {
		size_t i = (t->log_head + LOG_CAP - 1 - age) % LOG_CAP;

		if (!t->cur_pid || t->log[i].pid == (uint32_t)t->cur_pid)
			idx[n++] = i;
	}
	return n;
}

static void draw_log(struct mw_tui *t, const struct mw_view_layout *l)
{
	int y = l->log_y, rows = l->log_h - 1;
	char title[64], right[96], line[512];
	size_t idx[LOG_CAP], n;

	if (!l->log_h)
		return;
	snprintf(title, sizeof(title), "Log%s", t->paused ? " (paused)" : "");
	if (t->paused)
		snprintf(right, sizeof(right), "%" PRIu64 " new events held back, p resumes", t->log_held);
	else
		snprintf(right, sizeof(right), "%" PRIu64 " events", t->log_total);
	rule(t, y, t->focus == F_LOG, title, right);
	y++;
	n = log_pick(t, idx);
	if (!n) {
		put(t, y, 1, COLS - 2, RL_DIM, "no event yet");
		return;
	}
	if (t->log_back > n - 1)
		t->log_back = n - 1;
	/* Newest at the bottom; log_back lines scrolled back. */
	size_t shown = (size_t)rows < n ? (size_t)rows : n;
	size_t back = t->log_back;

	if (back + shown > n)
		back = n - shown;
	for (size_t i = 0; i < shown; i++) {
		const struct mw_record *r = &t->log[idx[back + shown - 1 - i]];
		int x = 0;

		if (t->host && !t->cur_pid)	/* every process's: say whose */
			x = put(t, y + (int)i, 0, 8, RL_DIM, "%-7u ", r->pid);
		fmt_record(t, r, line, sizeof(line));
		put(t, y + (int)i, x, COLS - x, r->kind != MW_KIND_NONE ? kind_role(r->kind) :
		    r->type == MW_REC_STATS ? RL_DIM : RL_NORMAL, "%s", line);
	}
}

/* ---- map detail: the bucket picture ------------------------------------------------ */

enum mark { K_EMPTY, K_EVAC, K_WRITE, K_ITER, K_MEET, K_MAX };

static const struct mw_map_model *selected_map(const struct mw_tui *t)
{
	return t->sel_map ? mw_corr_find_map(t->c, t->sel_map) : NULL;
}

static void mark(unsigned char *cells, int n, int i, int k)
{
	if (i >= 0 && i < n && cells[i] < k)
		cells[i] = (unsigned char)k;
}

/* The array an iterator walks: current buckets, the old ones, or unknown. */
static uint64_t iter_array_n(const struct mw_map_model *m, const struct mw_iter_model *it, int *old)
{
	*old = 0;
	if (it->buckets && it->buckets == m->oldbuckets && m->growing) {
		*old = 1;
		return old_nbuckets(m);
	}
	return nbuckets(m->B);
}

static void draw_cells(struct mw_tui *t, int y, int x, const unsigned char *cells, int n)
{
	static const char *const u8[K_MAX] = { "\xc2\xb7", "\xe2\x96\x91", "\xe2\x97\x8f",
		"\xe2\x96\xb2", "\xe2\x9c\x96" };
	static const char *const as[K_MAX] = { ".", ":", "*", "I", "X" };
	static const int roles[K_MAX] = { RL_DIM, RL_DIM, RL_WARN, RL_ITER, RL_ALERT };

	for (int i = 0; i < n; i++) {
		attrset(role_attr(t, roles[cells[i]]) | (cells[i] >= K_ITER ? A_BOLD : 0));
		mvaddstr(y, x + i, t->ascii ? as[cells[i]] : u8[cells[i]]);
	}
	attrset(A_NORMAL);
}

/* Where a bucket address lies: the current array, the old one during a grow,
 * or the array an open iterator still walks (an earlier generation). */
enum where { W_NONE, W_CUR, W_OLD, W_SNAP };

static int locate(const struct mw_tui *t, const struct mw_map_model *m, uint64_t addr, int64_t *idx)
{
	uint64_t bs = bucket_size(t, m->map), n = nbuckets(m->B);

	if ((*idx = mw_bucket_index(addr, m->buckets, n, bs)) >= 0)
		return W_CUR;
	if (m->oldbuckets && (*idx = mw_bucket_index(addr, m->oldbuckets, old_nbuckets(m), bs)) >= 0)
		return W_OLD;
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		const struct mw_iter_model *it = &m->iters[i];

		if (it->hiter && it->buckets && it->buckets != m->buckets && it->buckets != m->oldbuckets &&
		    (*idx = mw_bucket_index(addr, it->buckets, n, bs)) >= 0)
			return W_SNAP;
	}
	*idx = -1;
	return W_NONE;
}

static void draw_map_detail(struct mw_tui *t, int top, int bottom)
{
	const struct mw_map_model *m = selected_map(t);
	char a1[24], a2[24], r1[16], r2[16], bar[128], d1[24];
	int y = top, w = COLS - 2;

	if (!m) {
		rule(t, y, 1, "Map", "");
		put(t, y + 2, 1, w, RL_DIM, "no map selected");
		return;
	}
	uint64_t n = nbuckets(m->B), bs = bucket_size(t, m->map), oldn = old_nbuckets(m);
	uint64_t done = m->nevacuate < oldn ? m->nevacuate : oldn;
	snprintf(bar, sizeof(bar), "Map %s", mw_fmt_addr(m->map, a1, sizeof(a1)));
	rule(t, y++, 1, bar, "Esc back");

	put(t, y++, 1, w, RL_NORMAL, "len %" PRIu64 "   B %u = %" PRIu64 " buckets   writes %s/s   "
	    "iterations %s/s   open iterations %u   alerts %" PRIu64, m->count, m->B, n,
	    mw_fmt_rate(m->write_rate, r1, sizeof(r1)), mw_fmt_rate(m->iter_rate, r2, sizeof(r2)),
	    m->n_iters, m->alerts);
	put(t, y++, 1, w, RL_DIM, "buckets %s  oldbuckets %s  flags 0x%x  seen %" PRIu64 " writes, %"
	    PRIu64 " grows, %" PRIu64 " evacuations", mw_fmt_addr(m->buckets, a1, sizeof(a1)),
	    mw_fmt_addr(m->oldbuckets, a2, sizeof(a2)), m->flags, m->writes, m->grows, m->evacuations);
	if (m->growing) {
		mw_bar(done, oldn, 20, t->ascii, bar, sizeof(bar));
		put(t, y++, 1, w, RL_WARN, "growing: %s from %" PRIu64 " old buckets, evacuated %" PRIu64
		    "/%" PRIu64 " %s  for %s", m->samesize ? "same size" : "doubling", oldn, done, oldn,
		    bar, mw_fmt_dur(t->now > m->grow_start_ts ? t->now - m->grow_start_ts : 0, t->ascii,
				    d1, sizeof(d1)));
	} else {
		put(t, y++, 1, w, RL_DIM, "not growing");
	}

	/* Cells: a power of two per row so a row is an aligned range of
	 * buckets; one cell per bucket while they fit, else a range each. */
	unsigned char oldc[256], cur[8192];
	int label = 6, avail = w - label, gridw = 1, oldw = 0, gridrows, ncur;

	while (gridw * 2 <= avail && gridw * 2 <= 128)
		gridw *= 2;
	memset(oldc, 0, sizeof(oldc));
	memset(cur, 0, sizeof(cur));
	if (m->growing && oldn)
		oldw = oldn < (uint64_t)gridw ? (int)oldn : gridw;

	/* Room for the grid: leave lines for the legend, iterators and writes. */
	int iters_lines = m->n_iters < 4 ? (int)m->n_iters : 4;
	int room = bottom - y - 1 - (oldw ? 2 : 0) - 1 - 1 - 1 - iters_lines - 1;
	if (room < 1)
		room = 1;
	gridrows = (int)((n + (uint64_t)gridw - 1) / (uint64_t)gridw);
	if (gridrows > room)
		gridrows = room;
	if (gridrows < 1)
		gridrows = 1;
	ncur = n < (uint64_t)gridw * gridrows ? (int)n : gridw * gridrows;
	if (ncur > (int)sizeof(cur))
		ncur = sizeof(cur);
	if (ncur < 1)
		ncur = 1;
	uint64_t per = (n + (uint64_t)ncur - 1) / (uint64_t)ncur;

	/* Evacuated: old buckets below nevacuate, and the new buckets they went to
	 * (old bucket i goes to new i, and i + oldn when doubling). A cell is
	 * evacuated when all its buckets are. */
	for (int i = 0; oldw && i < oldw; i++)
		if (((uint64_t)i + 1) * oldn / (uint64_t)oldw <= done)
			mark(oldc, oldw, i, K_EVAC);
	for (int i = 0; m->growing && oldn && i < ncur; i++) {
		uint64_t b0 = (uint64_t)i * n / (uint64_t)ncur, b1 = ((uint64_t)i + 1) * n / (uint64_t)ncur;
		int all = b1 > b0;

		for (uint64_t b = b0; b < b1 && all; b++)
			all = b % oldn < done;
		if (all)
			mark(cur, ncur, i, K_EVAC);
	}
	/* Recent writes and evacuations, and where they met an iterator. */
	for (uint32_t k = 0; k < m->n_recent; k++) {
		uint32_t ri = (m->recent_head + MW_RECENT_WRITES - 1 - k) % MW_RECENT_WRITES;
		int kind = m->recent_kind[ri] != MW_KIND_NONE ? K_MEET : K_WRITE;
		int64_t bi;
		int wh = locate(t, m, m->recent[ri], &bi);

		if (wh == W_OLD && oldw)
			mark(oldc, oldw, mw_bucket_cell((uint64_t)bi, oldn, oldw), kind);
		else if (wh == W_CUR || wh == W_SNAP)
			mark(cur, ncur, mw_bucket_cell((uint64_t)bi, n, ncur), kind);
	}
	/* Open iterators, where they stand now. */
	for (int i = 0; i < MW_MAX_ITERS; i++) {
		const struct mw_iter_model *it = &m->iters[i];
		int old, c;
		uint64_t an;
		int64_t bi;

		if (!it->hiter)
			continue;
		an = iter_array_n(m, it, &old);
		bi = mw_iter_bucket(it, an, bs);
		if (bi < 0)
			continue;
		if (old && oldw) {
			c = mw_bucket_cell((uint64_t)bi, an, oldw);
			mark(oldc, oldw, c, oldc[c] >= K_WRITE ? K_MEET : K_ITER);
		} else if (!old) {
			c = mw_bucket_cell((uint64_t)bi, an, ncur);
			mark(cur, ncur, c, cur[c] >= K_WRITE ? K_MEET : K_ITER);
		}
	}

	y++;
	if (oldw && y < bottom - 2) {
		put(t, y++, 1, w, RL_DIM, "old buckets (%" PRIu64 ")%s", oldn,
		    oldn > (uint64_t)oldw ? ", one cell = a range of buckets" : ", one cell each");
		put(t, y, 1, label, RL_DIM, "%5d", 0);
		draw_cells(t, y++, 1 + label, oldc, oldw);
	}
	if (y < bottom - 1) {
		if (per > 1)
			put(t, y++, 1, w, RL_DIM, "buckets (%" PRIu64 "), one cell = %" PRIu64 " buckets", n, per);
		else
			put(t, y++, 1, w, RL_DIM, "buckets (%" PRIu64 "), one cell each", n);
		for (int r = 0; r < gridrows && y < bottom; r++) {
			int off = r * gridw, cnt = ncur - off < gridw ? ncur - off : gridw;

			if (cnt <= 0)
				break;
			put(t, y, 1, label, RL_DIM, "%5" PRIu64, (uint64_t)off * per);
			draw_cells(t, y++, 1 + label, cur + off, cnt);
		}
	}
	if (y < bottom) {
		static const char *const names[K_MAX] = { "bucket", "evacuated", "recent write",
			"iterator", "write met an iterator" };
		int x = 1;

		for (unsigned char k = 0; k < K_MAX && x < COLS - 4; k++) {
			draw_cells(t, y, x, &k, 1);
			x += 2;
			x += put(t, y, x, COLS - x, RL_DIM, "%s  ", names[k]);
		}
		y++;
	}
	/* The open iterations, one line each. */
	if (y < bottom)
		put(t, y++, 1, w, RL_HEADER, "open iterations %u", m->n_iters);
	for (int i = 0; i < MW_MAX_ITERS && y < bottom - 1; i++) {
		const struct mw_iter_model *it = &m->iters[i];
		int old;
		uint64_t an;
		int64_t bi;

		if (!it->hiter)
			continue;
		an = iter_array_n(m, it, &old);
		bi = mw_iter_bucket(it, an, bs);
		mw_fmt_dur(t->now > it->start_ts ? t->now - it->start_ts : 0, t->ascii, d1, sizeof(d1));
		if (bi >= 0)
			put(t, y++, 3, w - 2, RL_ITER, "%s %-7" PRIu64 " hiter %s  at bucket %" PRId64 " of %" PRIu64
			    " %s (%s)  open %s", it->gid ? "g  " : "tid", it->gid ? it->gid : it->tid, mw_fmt_addr(it->hiter, a1, sizeof(a1)), bi, an,
			    old ? "old" : it->buckets == m->buckets ? "current" : "in an earlier array",
			    mw_fmt_addr(it->bptr, a2, sizeof(a2)), d1);
		else
			put(t, y++, 3, w - 2, RL_ITER, "%s %-7" PRIu64 " hiter %s  position not read yet  open %s",
			    it->gid ? "g  " : "tid", it->gid ? it->gid : it->tid, mw_fmt_addr(it->hiter, a1, sizeof(a1)), d1);
	}
	/* Recent writes as bucket numbers, newest first: "old:" in the old
	 * array, "~" in an array an iterator still walks, "?" elsewhere. */
	if (y < bottom && m->n_recent) {
		char line[1024];
		size_t o = 0;

		o += (size_t)snprintf(line, sizeof(line), "recent writes, newest first:");
		for (uint32_t k = 0, run; k < m->n_recent && o < sizeof(line) - 32; k += run) {
			uint32_t ri = (m->recent_head + MW_RECENT_WRITES - 1 - k) % MW_RECENT_WRITES;
			int64_t bi;
			int wh = locate(t, m, m->recent[ri], &bi);

			/* The same bucket again and again is one entry with a count. */
			for (run = 1; k + run < m->n_recent; run++) {
				uint32_t rj = (m->recent_head + MW_RECENT_WRITES - 1 - k - run) % MW_RECENT_WRITES;
				if (m->recent[rj] != m->recent[ri] || m->recent_kind[rj] != m->recent_kind[ri])
					break;
			}
			const char *meet = m->recent_kind[ri] != MW_KIND_NONE ? sym(t, "\xe2\x9c\x96", "X") : "";
			static const char *const pre[] = { "?", "", "old:", "~" };

			if (wh == W_NONE)
				o += (size_t)snprintf(line + o, sizeof(line) - o, " ?%s", meet);
			else
				o += (size_t)snprintf(line + o, sizeof(line) - o, " %s%" PRId64 "%s", pre[wh], bi, meet);
			if (run > 1 && o < sizeof(line) - 16)
				o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%u", sym(t, "\xc3\x97", "x"), run);
		}
		put(t, y++, 1, w, RL_NORMAL, "%s", line);
	}
}

/* ---- alert detail ----------------------------------------------------------------- */

static void draw_alert_detail(struct mw_tui *t, int top, int bottom)
{
	const struct mw_alert_row *r;
	const struct mw_alert *a;
	const struct mw_map_model *m;
	char title[96], c1[32], c2[32], a1[24], d1[24], extra[96];
	int y = top, w = COLS - 4;
	static const char *const rec_names[MW_REC_TYPE_MAX] = { "?", "iteration start", "iteration end",
		"write", "grow", "evacuate", "stats" };
	static const char *const meaning[MW_KIND_MAX] = { "",
		"Go: concurrent map iteration and map write",
		"the iterator's bucket array is being retired under it",
		"Go: concurrent map writes" };

	if (t->sel_row == SIZE_MAX || t->sel_row >= mw_corr_nrows(t->c)) {
		rule(t, y, 1, "Alert", "");
		put(t, y + 2, 1, w, RL_DIM, "no alert selected");
		return;
	}
	r = mw_corr_row(t->c, t->sel_row);
	a = &r->last;
	m = mw_corr_find_map(t->c, r->map);
	snprintf(title, sizeof(title), "Alert %" PRIu64 ": %s on map %s", r->id, mw_kind_name(r->kind),
		 mw_fmt_addr(r->map, a1, sizeof(a1)));
	rule(t, y++, 1, title, "Esc back");
	y++;
#define LINE(role, label, ...) do { if (y < bottom) { \
		int _x = 2 + put(t, y, 2, 14, RL_DIM, "%s", label); \
		(void)_x; put(t, y++, 16, w - 14, role, __VA_ARGS__); } } while (0)
	LINE(kind_role(r->kind), "kind", "%s  (%s)", mw_kind_name(r->kind),
	     r->kind < MW_KIND_MAX ? meaning[r->kind] : "");
	LINE(RL_NORMAL, "confidence", "%s  (%s)", mw_conf_name(r->confidence),
	     r->confidence == MW_CONF_BUCKET ? "both threads touched the same bucket"
					      : "only the time windows overlap");
	LINE(RL_NORMAL, "map", "%s", mw_fmt_addr(r->map, a1, sizeof(a1)));
	if (r->writer_gid || r->iter_gid) {
		LINE(RL_NORMAL, r->kind == MW_KIND_WRITE_WRITE ? "later writer" : "writer",
		     "goroutine %" PRIu64 " (tid %u)", r->writer_gid, r->writer_tid);
		LINE(RL_NORMAL, r->kind == MW_KIND_WRITE_WRITE ? "earlier writer" : "iterator",
		     "goroutine %" PRIu64 " (tid %u)", r->iter_gid, r->iter_tid);
	} else {
		LINE(RL_NORMAL, r->kind == MW_KIND_WRITE_WRITE ? "later writer" : "writer", "tid %u", r->writer_tid);
		LINE(RL_NORMAL, r->kind == MW_KIND_WRITE_WRITE ? "earlier writer" : "iterator", "tid %u", r->iter_tid);
	}
	fmt_clock(t, r->first_ts, 1, c1, sizeof(c1));
	fmt_clock(t, r->last_ts, 1, c2, sizeof(c2));
	LINE(RL_NORMAL, "occurrences", "%" PRIu64 "   first %s   last %s", r->count, c1, c2);
	LINE(RL_NORMAL, "max overlap", "%s", mw_fmt_dur(r->max_overlap_ns, t->ascii, d1, sizeof(d1)));
	y++;
	if (y < bottom)
		put(t, y++, 1, w, RL_HEADER, "last occurrence");
	fmt_clock(t, a->ts, 1, c1, sizeof(c1));
	LINE(RL_NORMAL, "seq", "%" PRIu64, a->seq);
	LINE(RL_NORMAL, "time", "%s   (ts %" PRIu64 ")", c1, a->ts);
	LINE(RL_NORMAL, "overlap", "%s   (%" PRIu64 " ns)", mw_fmt_dur(a->overlap_ns, t->ascii, d1, sizeof(d1)),
	     a->overlap_ns);
	LINE(RL_NORMAL, "raised by", "%s%s%s", a->rec_type < MW_REC_TYPE_MAX ? rec_names[a->rec_type] : "?",
	     a->op ? " " : "", a->op ? mw_op_name(a->op) : "");
	extra[0] = 0;
	if (m && a->bucket) {
		uint64_t bs = bucket_size(t, m->map);
		int64_t bi = mw_bucket_index(a->bucket, m->buckets, nbuckets(m->B), bs);
		int64_t bo = mw_bucket_index(a->bucket, m->oldbuckets, old_nbuckets(m), bs);

		if (bi >= 0)
			snprintf(extra, sizeof(extra), "  (bucket %" PRId64 " of the current array)", bi);
		else if (bo >= 0)
			snprintf(extra, sizeof(extra), "  (bucket %" PRId64 " of the old array)", bo);
	}
	LINE(RL_NORMAL, "bucket", "%s%s", mw_fmt_addr(a->bucket, a1, sizeof(a1)), extra);
	LINE(RL_NORMAL, "bucket2", "%s%s", mw_fmt_addr(a->bucket2, a1, sizeof(a1)),
	     a->bucket2 ? "  (the old bucket the grower evacuated)" : "");
	LINE(RL_NORMAL, "hiter", "%s", mw_fmt_addr(a->hiter, a1, sizeof(a1)));
	LINE(RL_NORMAL, "confidence", "%s", mw_conf_name(a->confidence));
	/* Both sides' stacks, innermost first, as far as the screen goes. */
	for (int side = 0; side < 2; side++) {
		const char *label = side ? (a->kind == MW_KIND_WRITE_WRITE ? "in flight" : "iterator")
					 : "writer";
		unsigned tid = side ? a->iter_tid : a->writer_tid;
		int sid = side ? a->iter_stack : a->writer_stack;
		char fr[256];
		int i = 0;

		if (y < bottom)
			y++;
		if (t->opts.stack_line)
			for (; i < MW_MAX_STACK + 1 && y < bottom - (side ? 0 : 2); i++) {
				if (t->opts.stack_line(t->cur_ctx ? t->cur_ctx : t->opts.ctx, a, side, i, fr, sizeof(fr)))
					break;
				if (i == 0)
					LINE(RL_NORMAL, label, "tid %u  %s", tid, fr);
				else
					LINE(RL_NORMAL, "", "         %s", fr);
			}
		if (i == 0)
			LINE(RL_DIM, label, "tid %u  %s", tid,
			     sid < 0 ? "(no stack captured)" : "(stack not available)");
	}
#undef LINE
}

/* ---- help -------------------------------------------------------------------- */

static void draw_help(struct mw_tui *t)
{
	static const char *const host_lines[] = {
		"mapwatch --all: every watched process",
		"",
		"q          quit (in a race's detail: back)",
		"p          pause / resume the event log",
		"Tab        move focus: processes, races, log",
		"Up/Down    select (also j/k, PgUp/PgDn, Home/End)",
		"Enter      a process: its own view (maps, alerts,",
		"           stacks); a race: its processes and counts",
		"Esc        back to all processes; clear the filter",
		"/          filter: binary, pid, cgroup or code location",
		"?          this help",
		"",
		"Races are a binary's findings: one row per code",
		"location, counted over all its processes, gone",
		"ones too. The log shows every process's events.",
	};
	static const char *const lines[] = {
		"mapwatch live view",
		"",
		"q          quit (in a detail view: back)",
		"p          pause / resume the event log",
		"Tab        move focus: maps, alerts, log",
		"Up/Down    select (also j/k, PgUp/PgDn, Home/End)",
		"Enter      details of the selected map or alert",
		"Esc        back; in the main view: clear the filter",
		"s / S      next / previous sort column of the maps",
		"/          filter maps and alerts: map address",
		"           (0x55d0..., any part) or thread id",
		"e          save the trace so far",
		"m          (alert detail) the alert's map",
		"?          this help",
		"",
		"Alerts keep their order; new ones are highlighted",
		"for a few seconds. The selection follows the",
		"newest alert until you move it.",
	};
	const char *const *l = t->host && !t->cur_pid ? host_lines : lines;
	int n = t->host && !t->cur_pid ? (int)(sizeof(host_lines) / sizeof(host_lines[0]))
				       : (int)(sizeof(lines) / sizeof(lines[0]));
	int w = 56, h = n + 2;
	int y0, x0;

	if (w > COLS - 2)
		w = COLS - 2;
	if (h > LINES - 2)
		h = LINES - 2;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (int i = 0; i < h; i++) {
		attrset(role_attr(t, RL_SEL));
		mvhline(y0 + i, x0, ' ', w);
	}
	for (int i = 0; i < n && i < h - 2; i++)
		put(t, y0 + 1 + i, x0 + 2, w - 4, RL_SEL, "%s", l[i]);
	attrset(A_NORMAL);
}

static void filter_apply(struct mw_tui *t, const char *text);

/* ---- the host view (mapwatch --all) ------------------------------------------------ */

static const struct mw_tui_proc *host_proc(const struct mw_tui *t, int pid)
{
	for (size_t i = 0; t->host && i < t->host->nprocs; i++)
		if (t->host->procs[i].pid == pid)
			return &t->host->procs[i];
	return NULL;
}

/* The filter, in the host screen: text found in a process's binary, command,
 * cgroup or pid. */
static int host_match(const struct mw_tui *t, const struct mw_tui_proc *p)
{
	char pid[16];

	if (!t->ftext[0])
		return 1;
	snprintf(pid, sizeof(pid), "%d", p->pid);
	return strstr(pid, t->ftext) || (p->binary && strstr(p->binary, t->ftext)) ||
	       (p->comm && strstr(p->comm, t->ftext)) || (p->cgroup && strstr(p->cgroup, t->ftext));
}

static int finding_match(const struct mw_tui *t, const struct mw_tui_finding *f)
{
	return !t->ftext[0] || strstr(f->binary, t->ftext) || strstr(f->f->writer, t->ftext) ||
	       strstr(f->f->iter, t->ftext);
}

static int pid_cmp(const void *a, const void *b, void *ctx)
{
	const struct mw_tui_proc *p = ctx;
	int x = p[*(const size_t *)a].pid, y = p[*(const size_t *)b].pid;

	return (x > y) - (x < y);
}

/* Where the selected process is listed, or SIZE_MAX. */
static size_t proc_find(const struct mw_tui *t)
{
	for (size_t i = 0; i < t->nvprocs; i++)
		if (t->host->procs[t->vprocs[i]].pid == t->sel_pid)
			return i;
	return SIZE_MAX;
}

static size_t proc_pos(const struct mw_tui *t)
{
	size_t i = proc_find(t);

	return i == SIZE_MAX ? 0 : i;
}

/* The listed processes (by pid) and the selections kept on what is listed. */
static void host_lists(struct mw_tui *t)
{
	const struct mw_tui_host *h = t->host;

	t->nvprocs = 0;
	if (!grow_array(&t->vprocs, &t->cap_vprocs, h->nprocs)) {
		for (size_t i = 0; i < h->nprocs; i++)
			if (host_match(t, &h->procs[i]))
				t->vprocs[t->nvprocs++] = i;
		if (t->nvprocs > 1)
			qsort_r(t->vprocs, t->nvprocs, sizeof(*t->vprocs), pid_cmp, (void *)h->procs);
	}
	if (proc_find(t) == SIZE_MAX)
		t->sel_pid = t->nvprocs ? h->procs[t->vprocs[0]].pid : 0;
	if (t->sel_find >= h->nfinds)
		t->sel_find = h->nfinds ? h->nfinds - 1 : 0;
}

/* Races over every binary, by kind, from the findings. */
static uint64_t host_races(const struct mw_tui *t, uint64_t by_kind[MW_KIND_MAX])
{
	uint64_t n = 0;

	memset(by_kind, 0, MW_KIND_MAX * sizeof(*by_kind));
	for (size_t i = 0; i < t->host->nfinds; i++) {
		const struct mw_bin_finding *f = t->host->finds[i].f;

		n += f->count;
		if (f->kind < MW_KIND_MAX)
			by_kind[f->kind] += f->count;
	}
	return n;
}

static void draw_host_header(struct mw_tui *t, const struct mw_view_layout *l)
{
	const struct mw_tui_host *h = t->host;
	uint64_t by_kind[MW_KIND_MAX], races = host_races(t, by_kind);
	char up[32], n1[16], n2[16], ev[16];
	double evs = 0;
	int x, y = l->header_y, w = COLS;

	for (size_t i = 0; i < h->nprocs; i++)
		evs += h->procs[i].st ? h->procs[i].st->events_per_s : 0;
	mw_fmt_uptime(t->now > h->start_ns ? (t->now - h->start_ns) / 1000000000u : 0, up, sizeof(up));
	x = put(t, y, 0, w, RL_HEADER, "mapwatch --all");
	x += put(t, y, x, w - x, RL_DIM, "  watching ");
	x += put(t, y, x, w - x, RL_HEADER, "%zu process%s", h->nprocs, h->nprocs == 1 ? "" : "es");
	x += put(t, y, x, w - x, RL_DIM, " of %d binar%s (%" PRIu64 " so far, %" PRIu64 " could not be)  %s",
		 h->binaries, h->binaries == 1 ? "y" : "ies", h->watched_total, h->failures, h->mode);
	if (w - x >= 13)
		put(t, y, w - 12, 12, RL_DIM, "up %s", up);
	if (l->header_h < 2)
		return;
	y++;
	mw_fmt_rate(evs, ev, sizeof(ev));
	x = put(t, y, 0, w, RL_DIM, "events ");
	x += put(t, y, x, w - x, RL_NORMAL, "%s/s", ev);
	x += put(t, y, x, w - x, RL_DIM, "  hits %s  drops ", mw_fmt_count(h->hits, n1, sizeof(n1)));
	x += put(t, y, x, w - x, h->drops ? RL_WARN : RL_NORMAL, "%s", mw_fmt_count(h->drops, n2, sizeof(n2)));
	put_races(t, y, x, w, "  races ", races, by_kind);
}

enum { PC_PID, PC_NSPID, PC_BIN, PC_MAPS, PC_ITERS, PC_EV, PC_RACES, PC_CGROUP, PC_N };
static const struct mw_col proc_cols[PC_N] = {
	[PC_PID] = { "PID", 8, 0 },		[PC_NSPID] = { "NSPID", 7, 2 },
	[PC_BIN] = { "BINARY", 16, 0 },		[PC_MAPS] = { "MAPS", 6, 1 },
	[PC_ITERS] = { "ITERS", 5, 2 },		[PC_EV] = { "EVENTS/s", 9, 1 },
	[PC_RACES] = { "RACES", 7, 0 },		[PC_CGROUP] = { "CGROUP", 24, 3 },
};
static const int proc_col_right[PC_N] = { 1, 1, 0, 1, 1, 1, 1, 0 };

static void draw_procs(struct mw_tui *t, const struct mw_view_layout *l)
{
	int shown[PC_N], y = l->maps_y, rows = l->maps_h - 2, focused = t->focus == F_MAPS;
	char title[64], right[96], txt[PC_N][160];
	size_t sel = proc_pos(t);

	if (!l->maps_h)
		return;
	snprintf(title, sizeof(title), "Processes %zu", t->nvprocs);
	snprintf(right, sizeof(right), "%s%s", t->ftext[0] ? "filter " : "", t->ftext);
	rule(t, y++, focused, title, right);
	mw_cols_fit(proc_cols, PC_N, COLS, shown);
	table_head(t, y++, proc_cols, proc_col_right, PC_N, shown, NULL);
	if (!t->nvprocs) {
		put(t, y, 1, COLS - 2, RL_DIM, "%s", t->ftext[0] ? "no process matches the filter"
			: t->host->watched_total ? "none running now: new ones are picked up at exec"
			: "no process runs a supported runtime yet: new ones are picked up at exec");
		return;
	}
	t->procs_top = mw_scroll(sel, t->procs_top, t->nvprocs, rows);
	for (int r = 0; r < rows && t->procs_top + r < t->nvprocs; r++) {
		size_t vi = t->procs_top + r;
		const struct mw_tui_proc *p = &t->host->procs[t->vprocs[vi]];
		struct mw_summary sum;
		unsigned iters = 0;
		size_t nm = mw_corr_nmaps(p->corr);
		int is_sel = vi == sel && focused, base = is_sel ? role_attr(t, RL_SEL) :
			     vi == sel ? A_BOLD : A_NORMAL;

		mw_corr_summary(p->corr, &sum);
		for (size_t i = 0; i < nm; i++)
			iters += mw_corr_map(p->corr, i)->n_iters;
		snprintf(txt[PC_PID], sizeof(txt[0]), "%d", p->pid);
		if (p->nspid > 0 && p->nspid != p->pid)
			snprintf(txt[PC_NSPID], sizeof(txt[0]), "%d", p->nspid);
		else
			snprintf(txt[PC_NSPID], sizeof(txt[0]), "-");
		snprintf(txt[PC_BIN], sizeof(txt[0]), "%s", p->binary ? p->binary : "?");
		mw_fmt_count(nm, txt[PC_MAPS], sizeof(txt[0]));
		snprintf(txt[PC_ITERS], sizeof(txt[0]), "%u", iters);
		mw_fmt_rate(p->st ? p->st->events_per_s : 0, txt[PC_EV], sizeof(txt[0]));
		mw_fmt_count(sum.alerts, txt[PC_RACES], sizeof(txt[0]));
		snprintf(txt[PC_CGROUP], sizeof(txt[0]), "%s", p->cgroup && p->cgroup[0] ? p->cgroup : "-");
		if (is_sel)
			fill_line(t, y, base);
		for (int i = 0, x = 0; i < PC_N; i++) {
			int a = base;

			if (!shown[i])
				continue;
			if (!is_sel && i == PC_RACES && sum.alerts)
				a = role_attr(t, RL_ALERT);
			else if (!is_sel && (i == PC_NSPID || i == PC_CGROUP))
				a = role_attr(t, RL_DIM);
			else if (!is_sel && i == PC_ITERS && iters)
				a = role_attr(t, RL_ITER);
			/* the cgroup takes what is left of the line */
			cell(t, y, x, i == PC_CGROUP ? COLS - x : proc_cols[i].width, proc_col_right[i], a, txt[i]);
			x += proc_cols[i].width + 1;
		}
		y++;
	}
}

/* "2261×3 2262×3 +5": the processes of a finding with their counts. */
static void fmt_finding_pids(const struct mw_tui *t, const struct mw_bin_finding *f, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < f->npids && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%d%s%" PRIu64, i ? " " : "", f->p[i].pid,
				      sym(t, "\xc3\x97", "x"), f->p[i].count);
	if (f->nothers && o < len)
		snprintf(buf + o, len - o, " +%d", f->nothers);
}

enum { FC_BIN, FC_KIND, FC_COUNT, FC_PIDS, FC_SITES, FC_N };
static const struct mw_col find_cols[FC_N] = {
	[FC_BIN] = { "BINARY", 14, 0 },	[FC_KIND] = { "KIND", 11, 0 },
	[FC_COUNT] = { "COUNT", 7, 0 },	[FC_PIDS] = { "PROCESSES", 20, 1 },
	[FC_SITES] = { "WRITER > ITERATOR", 30, 0 },
};
static const int find_col_right[FC_N] = { 0, 0, 1, 0, 0 };

static const char *find_col_name(const struct mw_tui *t, int i)
{
	return i == FC_SITES ? sym(t, "WRITER \xe2\x86\x92 ITERATOR", "WRITER > ITERATOR") : NULL;
}

static void draw_finds(struct mw_tui *t, const struct mw_view_layout *l)
{
	const struct mw_tui_host *h = t->host;
	int shown[FC_N], y = l->alerts_y, rows = l->alerts_h - 2, focused = t->focus == F_ALERTS;
	char title[64], txt[FC_N][2 * MW_STACK_STR + 16];
	size_t nv = 0, vis[h->nfinds ? h->nfinds : 1], sel = 0;

	if (!l->alerts_h)
		return;
	for (size_t i = 0; i < h->nfinds; i++)
		if (finding_match(t, &h->finds[i])) {
			if (i == t->sel_find)
				sel = nv;
			vis[nv++] = i;
		}
	snprintf(title, sizeof(title), "Races %zu", nv);
	rule(t, y++, focused, title, "by binary and code location, over its processes");
	mw_cols_fit(find_cols, FC_N, COLS, shown);
	table_head(t, y++, find_cols, find_col_right, FC_N, shown, find_col_name);
	if (!nv) {
		put(t, y, 1, COLS - 2, RL_OK, "no race seen%s", h->nprocs ? " so far" : " yet");
		return;
	}
	t->finds_top = mw_scroll(sel, t->finds_top, nv, rows);
	for (int r = 0; r < rows && t->finds_top + r < nv; r++) {
		size_t vi = t->finds_top + r;
		const struct mw_tui_finding *tf = &h->finds[vis[vi]];
		const struct mw_bin_finding *f = tf->f;
		int is_sel = vi == sel && focused, base = is_sel ? role_attr(t, RL_SEL) :
			     vi == sel ? A_BOLD : A_NORMAL;

		snprintf(txt[FC_BIN], sizeof(txt[0]), "%s", tf->binary);
		snprintf(txt[FC_KIND], sizeof(txt[0]), "%s", mw_kind_name(f->kind));
		mw_fmt_count(f->count, txt[FC_COUNT], sizeof(txt[0]));
		fmt_finding_pids(t, f, txt[FC_PIDS], sizeof(txt[0]));
		snprintf(txt[FC_SITES], sizeof(txt[0]), "%s%s%s", f->writer, sym(t, " \xe2\x86\x92 ", " > "), f->iter);
		if (is_sel)
			fill_line(t, y, base);
		for (int i = 0, x = 0; i < FC_N; i++) {
			int a = base;

			if (!shown[i])
				continue;
			if (!is_sel && i == FC_KIND)
				a = role_attr(t, kind_role(f->kind));
			cell(t, y, x, i == FC_SITES ? COLS - x : find_cols[i].width, find_col_right[i], a, txt[i]);
			x += find_cols[i].width + 1;
		}
		y++;
	}
}

/* One finding in full: its code locations and every process's count. */
static void draw_find_detail(struct mw_tui *t, int top, int bottom)
{
	const struct mw_tui_host *h = t->host;
	const struct mw_tui_finding *tf;
	const struct mw_bin_finding *f;
	char title[160];
	int y = top, w = COLS - 4;

	if (t->sel_find >= h->nfinds) {
		rule(t, y, 1, "Race", "Esc back");
		put(t, y + 2, 1, w, RL_DIM, "no race selected");
		return;
	}
	tf = &h->finds[t->sel_find];
	f = tf->f;
	snprintf(title, sizeof(title), "Race in %s: %s", tf->binary, mw_kind_name(f->kind));
	rule(t, y++, 1, title, "Esc back");
	y++;
#define LINE(role, label, ...) do { if (y < bottom) { \
		put(t, y, 2, 14, RL_DIM, "%s", label); put(t, y++, 16, w - 14, role, __VA_ARGS__); } } while (0)
	LINE(kind_role(f->kind), "kind", "%s", mw_kind_name(f->kind));
	LINE(RL_NORMAL, "occurrences", "%" PRIu64 " in %d process%s", f->count, f->npids + f->nothers,
	     f->npids + f->nothers == 1 ? "" : "es");
	LINE(RL_NORMAL, f->kind == MW_KIND_WRITE_WRITE ? "later writer" : "writer", "%s", f->writer);
	LINE(RL_NORMAL, f->kind == MW_KIND_WRITE_WRITE ? "earlier writer" : "iterator", "%s", f->iter);
	y++;
	if (y < bottom)
		put(t, y++, 1, w, RL_HEADER, "by process");
	for (int i = 0; i < f->npids && y < bottom; i++) {
		const struct mw_tui_proc *p = host_proc(t, f->p[i].pid);

		if (f->p[i].nspid > 0 && f->p[i].nspid != f->p[i].pid)
			LINE(RL_NORMAL, "", "pid %d (ns pid %d): %" PRIu64 "%s", f->p[i].pid, f->p[i].nspid,
			     f->p[i].count, p ? "" : "  (gone)");
		else
			LINE(RL_NORMAL, "", "pid %d: %" PRIu64 "%s", f->p[i].pid, f->p[i].count, p ? "" : "  (gone)");
	}
	if (f->nothers)
		LINE(RL_DIM, "", "%d other process%s: %" PRIu64, f->nothers, f->nothers == 1 ? "" : "es",
		     f->others);
#undef LINE
}

/* Into a process's own view, or back. Its view starts as a fresh one. */
static void host_open(struct mw_tui *t, int pid)
{
	t->cur_pid = pid;
	t->mode = pid ? M_MAIN : M_HOST;
	t->focus = pid ? F_ALERTS : F_MAPS;
	t->sel_map = 0;
	t->sel_row = SIZE_MAX;
	t->follow = 1;
	t->maps_top = t->alerts_top = t->log_back = 0;
	t->row_corr = NULL;
	t->cur_ctx = NULL;
	filter_apply(t, "");
	t->msg[0] = 0;
}

static void host_move(struct mw_tui *t, long d)
{
	const struct mw_tui_host *h = t->host;

	if (t->focus == F_MAPS) {
		long p = (long)proc_pos(t) + d;

		if (!t->nvprocs)
			return;
		p = p < 0 ? 0 : p >= (long)t->nvprocs ? (long)t->nvprocs - 1 : p;
		t->sel_pid = h->procs[t->vprocs[p]].pid;
	} else if (t->focus == F_ALERTS) {
		long p = (long)t->sel_find;

		/* among the findings the filter lets through */
		for (long step = d < 0 ? -1 : 1, left = d < 0 ? -d : d; left > 0; left--) {
			long q = p + step;

			while (q >= 0 && q < (long)h->nfinds && !finding_match(t, &h->finds[q]))
				q += step;
			if (q < 0 || q >= (long)h->nfinds)
				break;
			p = q;
		}
		t->sel_find = (size_t)p;
	} else {
		long b = (long)t->log_back - d;

		t->log_back = b < 0 ? 0 : (size_t)b;
	}
}

/* Keys of the host screen and of a finding's detail, and the way back from
 * a process's own view; 1 when the key was taken (rc set). */
static int host_key(struct mw_tui *t, int ch, int *rc)
{
	*rc = MW_TUI_CONTINUE;
	if (t->editing || t->help)
		return 0;
	if (t->cur_pid) {
		/* a process's own view: its main screen goes back to the host */
		if (t->mode == M_MAIN && (ch == 'q' || ch == 'Q' || ch == KEY_LEFT || (ch == 27 && !t->filter.active))) {
			int pid = t->cur_pid;

			host_open(t, 0);
			t->sel_pid = pid;
			return 1;
		}
		return 0;
	}
	switch (ch) {
	case 'q': case 'Q':
		if (t->mode == M_FIND)
			t->mode = M_HOST;
		else
			*rc = MW_TUI_QUIT;
		return 1;
	case 27: case KEY_LEFT:
		if (t->mode == M_FIND)
			t->mode = M_HOST;
		else if (ch == 27 && t->ftext[0])
			filter_apply(t, "");
		return 1;
	case '\t': case KEY_BTAB:
		if (t->mode == M_HOST)
			t->focus = (t->focus + F_MAX + (ch == '\t' ? 1 : -1)) % F_MAX;
		return 1;
	case KEY_UP: case 'k':		host_move(t, -1); return 1;
	case KEY_DOWN: case 'j':	host_move(t, 1); return 1;
	case KEY_PPAGE:			host_move(t, -(LINES / 2)); return 1;
	case KEY_NPAGE:			host_move(t, LINES / 2); return 1;
	case KEY_HOME: case 'g':	host_move(t, -1000000000L); return 1;
	case KEY_END: case 'G':		host_move(t, 1000000000L); return 1;
	case '\n': case '\r': case KEY_ENTER: case KEY_RIGHT:
		if (t->mode == M_HOST && t->focus == F_MAPS && t->sel_pid && host_proc(t, t->sel_pid))
			host_open(t, t->sel_pid);
		else if (t->mode == M_HOST && t->focus == F_ALERTS && t->host->nfinds)
			t->mode = M_FIND;
		return 1;
	case 's': case 'S': case 'm':
		return 1;
	case 'e':
		set_msg(t, RL_WARN, "--all keeps no trace to save: -o FILE records one");
		return 1;
	default:
		return 0;	/* pause, filter, help: as in a process's view */
	}
}

/* ---- the whole screen ----------------------------------------------------------- */

/* The screen that is up: a process's (the maps, alerts and log of one
 * correlator), or with --all the host's (processes, races, log). */
static void draw(struct mw_tui *t)
{
	struct mw_view_layout l;
	int host = t->host && !t->cur_pid;

	if (host) {
		host_lists(t);
	} else {
		mw_corr_summary(t->c, &t->sum);
		lists_update(t);
	}
	erase();
	mw_view_layout(COLS, LINES, host ? t->nvprocs : t->nvmaps, banner_wanted(t), &l);
	if (l.too_small) {
		char s[64];

		snprintf(s, sizeof(s), "terminal too small (%dx%d, needs %dx%d)", COLS, LINES,
			 MW_MIN_COLS, MW_MIN_ROWS);
		put(t, LINES / 2, 0, COLS, RL_WARN, "%s", s);
		if (LINES / 2 + 1 < LINES)
			put(t, LINES / 2 + 1, 0, COLS, RL_DIM, "q quits");
		refresh();
		return;
	}
	/* The focused panel may have been dropped by a small screen. */
	if ((t->focus == F_MAPS && !l.maps_h) || (t->focus == F_LOG && !l.log_h))
		t->focus = F_ALERTS;

	if (host)
		draw_host_header(t, &l);
	else
		draw_header(t, &l);
	draw_banner(t, &l);
	if (t->mode == M_MAP) {
		draw_map_detail(t, l.maps_y, l.footer_y);
	} else if (t->mode == M_ALERT) {
		draw_alert_detail(t, l.maps_y, l.footer_y);
	} else if (t->mode == M_FIND) {
		draw_find_detail(t, l.maps_y, l.footer_y);
	} else if (host) {
		draw_procs(t, &l);
		draw_finds(t, &l);
		draw_log(t, &l);
	} else {
		draw_maps(t, &l);
		draw_alerts(t, &l);
		draw_log(t, &l);
	}
	draw_footer(t, l.footer_y);
	if (t->help)
		draw_help(t);
	refresh();
}

/* ---- keys ----------------------------------------------------------------------- */

static void focus_next(struct mw_tui *t, int dir)
{
	struct mw_view_layout l;

	mw_view_layout(COLS, LINES, t->nvmaps, banner_wanted(t), &l);
	for (int i = 0; i < F_MAX; i++) {
		t->focus = (t->focus + F_MAX + dir) % F_MAX;
		if ((t->focus == F_MAPS && l.maps_h) || t->focus == F_ALERTS || (t->focus == F_LOG && l.log_h))
			return;
	}
}

/* Moves the selection of the focused list by d rows (clamped). */
static void move_sel(struct mw_tui *t, long d)
{
	if (t->focus == F_MAPS || t->mode == M_MAP) {
		long p = (long)map_pos(t) + d;

		if (!t->nvmaps)
			return;
		p = p < 0 ? 0 : p >= (long)t->nvmaps ? (long)t->nvmaps - 1 : p;
		t->sel_map = mw_corr_map(t->c, t->vmaps[p])->map;
	} else if (t->focus == F_ALERTS || t->mode == M_ALERT) {
		long p = (long)row_pos(t) + d;

		if (!t->nvrows)
			return;
		p = p < 0 ? 0 : p >= (long)t->nvrows ? (long)t->nvrows - 1 : p;
		t->sel_row = t->vrows[p];
		/* Back on the newest row: follow new ones again. */
		t->follow = (size_t)p == t->nvrows - 1;
	} else if (t->focus == F_LOG) {
		long b = (long)t->log_back - d;

		t->log_back = b < 0 ? 0 : (size_t)b;
	}
}

static void save_trace(struct mw_tui *t)
{
	char path[512] = "";
	int rc;

	if (!t->opts.save_trace) {
		set_msg(t, RL_WARN, "saving a trace is not available here");
		return;
	}
	rc = t->opts.save_trace(t->opts.ctx, path, sizeof(path));
	if (!rc)
		set_msg(t, RL_OK, "trace saved to %s", path[0] ? path : "(unnamed file)");
	else if (path[0])
		set_msg(t, RL_ALERT, "cannot save the trace: %s%s%s", path, rc < 0 ? ": " : "",
			rc < 0 ? strerror(-rc) : "");
	else
		set_msg(t, RL_ALERT, "cannot save the trace: %s", strerror(rc < 0 ? -rc : rc));
}

static void filter_apply(struct mw_tui *t, const char *text)
{
	snprintf(t->ftext, sizeof(t->ftext), "%s", text);
	if (t->host && !t->cur_pid) {	/* the host screen matches text (host_match) */
		memset(&t->filter, 0, sizeof(t->filter));
		t->filter_bad = 0;
		t->procs_top = 0;
		return;
	}
	t->filter_bad = mw_filter_parse(t->ftext, &t->filter) != 0;
	if (t->filter_bad)
		set_msg(t, RL_WARN, "filter '%s' is neither a map address nor a thread id: nothing matches",
			t->ftext);
	t->maps_top = t->alerts_top = 0;
	t->follow = 1;
}

static int handle_key(struct mw_tui *t, int ch)
{
	if (ch == KEY_RESIZE) {
		clearok(stdscr, TRUE);
		return MW_TUI_CONTINUE;
	}
	if (t->editing) {
		size_t n = strlen(t->edit);

		if (ch == 27) {
			t->editing = 0;
		} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			t->editing = 0;
			filter_apply(t, t->edit);
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n)
				t->edit[n - 1] = 0;
		} else if (ch == 21) {	/* Ctrl-U */
			t->edit[0] = 0;
		} else if (ch >= 32 && ch < 127 && n + 1 < sizeof(t->edit)) {
			t->edit[n] = (char)ch;
			t->edit[n + 1] = 0;
		}
		return MW_TUI_CONTINUE;
	}
	if (t->help) {
		t->help = 0;
		return MW_TUI_CONTINUE;
	}
	if (t->host) {
		int rc;

		if (host_key(t, ch, &rc))
			return rc;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		if (t->mode != M_MAIN) {
			t->mode = M_MAIN;
			break;
		}
		return MW_TUI_QUIT;
	case 27:
	case KEY_LEFT:
		if (t->mode != M_MAIN)
			t->mode = M_MAIN;
		else if (ch == 27 && t->filter.active)
			filter_apply(t, "");
		break;
	case 'p':
	case ' ':
		t->paused = !t->paused;
		t->log_held = 0;
		break;
	case '\t':
		if (t->mode == M_MAIN)
			focus_next(t, 1);
		break;
	case KEY_BTAB:
		if (t->mode == M_MAIN)
			focus_next(t, -1);
		break;
	case KEY_UP: case 'k':		move_sel(t, -1); break;
	case KEY_DOWN: case 'j':	move_sel(t, 1); break;
	case KEY_PPAGE:			move_sel(t, -(LINES / 2)); break;
	case KEY_NPAGE:			move_sel(t, LINES / 2); break;
	case KEY_HOME: case 'g':	move_sel(t, -1000000000L); break;
	case KEY_END: case 'G':		move_sel(t, 1000000000L); break;
	case '\n': case '\r': case KEY_ENTER: case KEY_RIGHT:
		if (t->mode == M_ALERT && ch != KEY_RIGHT)
			break;
		if (t->mode == M_MAIN && t->focus == F_MAPS && t->nvmaps)
			t->mode = M_MAP;
		else if (t->mode == M_MAIN && t->focus == F_ALERTS && t->nvrows)
			t->mode = M_ALERT;
		break;
	case 'm':
		if (t->mode == M_ALERT && t->sel_row < mw_corr_nrows(t->c)) {
			t->sel_map = mw_corr_row(t->c, t->sel_row)->map;
			t->mode = M_MAP;
		}
		break;
	case 's':
		t->sort = (t->sort + 1) % MW_SORT_MAX;
		break;
	case 'S':
		t->sort = (t->sort + MW_SORT_MAX - 1) % MW_SORT_MAX;
		break;
	case '/':
		t->editing = 1;
		snprintf(t->edit, sizeof(t->edit), "%s", t->ftext);
		break;
	case 'e':
		save_trace(t);
		break;
	case '?':
	case 'h':
		t->help = 1;
		break;
	default:
		break;
	}
	return MW_TUI_CONTINUE;
}

/* ---- the interface ---------------------------------------------------------------- */

struct mw_tui *mw_tui_open(const struct mw_tui_opts *opts, const struct mw_tui_target *target)
{
	struct mw_tui *t = &the_tui;
	struct timespec rt, mono;
	const char *nc = getenv("NO_COLOR");
	char tmpl[] = "/tmp/mapwatch-stderr.XXXXXX";

	if (t->open)
		return NULL;	/* one view at a time */
	memset(t, 0, sizeof(*t));
	if (opts)
		t->opts = *opts;
	if (target)
		t->target = *target;
	t->sel_row = SIZE_MAX;
	t->follow = 1;
	t->focus = F_MAPS;
	t->sort = MW_SORT_ALERTS;
	t->log = calloc(LOG_CAP, sizeof(*t->log));
	if (!t->log)
		return NULL;

	/* UTF-8 drawing only where the locale can show it. */
	setlocale(LC_ALL, "");
	t->ascii = t->opts.ascii || strcmp(nl_langinfo(CODESET), "UTF-8") != 0;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	t->wall_off = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);

	g_have_termios = tcgetattr(STDIN_FILENO, &g_termios) == 0;

	/* Nothing may write over the screen: stderr goes to a file until close. */
	g_err_file = mkstemp(tmpl);
	if (g_err_file >= 0) {
		unlink(tmpl);
		g_err_saved = dup(STDERR_FILENO);
		if (g_err_saved < 0 || dup2(g_err_file, STDERR_FILENO) < 0) {
			if (g_err_saved >= 0)
				close(g_err_saved);
			close(g_err_file);
			g_err_saved = g_err_file = -1;
		}
	}

	crash_handlers_install();
	t->scr = newterm(NULL, stdout, stdin);
	if (!t->scr) {
		crash_handlers_remove();
		replay_stderr();
		fprintf(stderr, "mapwatch: cannot open the live view: terminal '%s' unknown; try --plain\n",
			getenv("TERM") ? getenv("TERM") : "(unset)");
		free(t->log);
		t->log = NULL;
		return NULL;
	}
	set_term(t->scr);
	g_active = 1;
	t->open = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	t->color = has_colors() && !t->opts.no_color && !(nc && *nc);
	colors_init(t);
	t->dirty = 1;
	return t;
}

void mw_tui_event(struct mw_tui *t, const struct mw_record *r)
{
	if (!t || !t->open || !r)
		return;
	/* A map's bucket size, as BPF read it from its type (iteration starts,
	 * evacuations). */
	if (r->bsize && r->map) {
		uint64_t size = r->bsize;
		int i;

		for (i = 0; i < BSIZE_SLOTS && t->bsize[i].map != r->map; i++)
			;
		if (i == BSIZE_SLOTS) {
			i = (int)(t->bsize_next++ % BSIZE_SLOTS);
			t->bsize[i].map = r->map;
		}
		t->bsize[i].size = size;
	}
	t->log_total++;
	if (t->paused) {
		t->log_held++;
		return;
	}
	t->log[t->log_head] = *r;
	t->log_head = (t->log_head + 1) % LOG_CAP;
	if (t->log_n < LOG_CAP)
		t->log_n++;
	else if (t->log_back)
		t->log_back = t->log_back + 1 < LOG_CAP ? t->log_back + 1 : LOG_CAP - 1;
}

/* Keys, then a redraw when due, of whichever screen is up. */
static int tick(struct mw_tui *t, uint64_t now_ns)
{
	int ch;

	t->now = now_ns;
	while ((ch = getch()) != ERR) {
		if (ch == KEY_RESIZE)
			t->dirty = 1;
		/* Keys act on the lists as they are on screen now. */
		if (t->c)
			lists_update(t);
		if (t->host && !t->cur_pid)
			host_lists(t);
		if (handle_key(t, ch) == MW_TUI_QUIT)
			return MW_TUI_QUIT;
		t->dirty = 1;
		if (t->host && (!t->cur_pid) != !t->c)
			return MW_TUI_CONTINUE;	/* into or out of a process: its model comes with the next tick */
	}
	if (!t->dirty && now_ns - t->last_draw < REDRAW_NS)
		return MW_TUI_CONTINUE;
	draw(t);
	t->dirty = 0;
	t->last_draw = now_ns;
	t->frames++;
	if (t->opts.frames > 0 && t->frames >= (uint64_t)t->opts.frames)
		return MW_TUI_QUIT;
	return MW_TUI_CONTINUE;
}

/* A new alert row, or the target's end, is shown at once. */
static void watch_model(struct mw_tui *t, const struct mw_corr *c, const struct mw_live_stats *st)
{
	/* Rows already there when a process's view opens are not new. */
	if (t->row_corr != c) {
		size_t nr = mw_corr_nrows(c);

		t->row_corr = c;
		t->nrow_seen = 0;
		if (nr && !grow_array(&t->row_seen, &t->cap_row_seen, nr)) {
			memset(t->row_seen, 0, nr * sizeof(*t->row_seen));
			t->nrow_seen = nr;
		}
		t->last_exited = st->target_exited;
		t->dirty = 1;
	}
	if (mw_corr_nrows(c) != t->nrow_seen)
		t->dirty = 1;
	if (st->target_exited != t->last_exited) {
		t->last_exited = st->target_exited;
		t->dirty = 1;
	}
}

int mw_tui_tick(struct mw_tui *t, const struct mw_corr *c, const struct mw_live_stats *st, uint64_t now_ns)
{
	if (!t || !t->open || !c || !st)
		return MW_TUI_QUIT;
	t->c = c;
	t->st = st;
	watch_model(t, c, st);
	return tick(t, now_ns);
}

int mw_tui_tick_host(struct mw_tui *t, const struct mw_tui_host *h, uint64_t now_ns)
{
	const struct mw_tui_proc *p;
	size_t nfinds = t && t->host ? t->host->nfinds : 0;

	if (!t || !t->open || !h)
		return MW_TUI_QUIT;
	t->host = h;
	if (!t->cur_pid && t->mode != M_FIND)
		t->mode = M_HOST;
	p = t->cur_pid ? host_proc(t, t->cur_pid) : NULL;
	if (t->cur_pid && !p) {
		int pid = t->cur_pid;

		host_open(t, 0);
		set_msg(t, RL_WARN, "pid %d is gone: its races are in the list, under its binary", pid);
		t->dirty = 1;
	}
	if (p) {
		/* its own view, as mw_tui_tick draws one process */
		t->c = p->corr;
		t->st = p->st;
		t->cur_ctx = p->ctx;
		t->target.pid = p->pid;
		t->target.probes = p->probes;
		snprintf(t->target.comm, sizeof(t->target.comm), "%s", p->comm ? p->comm : "");
		snprintf(t->target.probed, sizeof(t->target.probed), "%s", p->probed ? p->probed : "");
		watch_model(t, p->corr, p->st);
	} else {
		t->c = NULL;
		t->st = NULL;
		if (h->nfinds != nfinds)
			t->dirty = 1;	/* a new race is shown at once */
	}
	return tick(t, now_ns);
}

void mw_tui_close(struct mw_tui *t)
{
	if (!t || t != &the_tui || !t->open)
		return;
	t->open = 0;
	endwin();
	g_active = 0;
	delscreen(t->scr);
	t->scr = NULL;
	if (g_have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &g_termios);
	crash_handlers_remove();
	replay_stderr();
	free(t->log);
	free(t->vmaps);
	free(t->vrows);
	free(t->row_seen);
	free(t->vprocs);
	t->vprocs = NULL;
	t->log = NULL;
	t->vmaps = t->vrows = NULL;
	t->row_seen = NULL;
}
