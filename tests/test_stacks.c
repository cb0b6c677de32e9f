/* test_stacks.c — the user-stack symbolizer against real binaries: this test
 * binary itself (symbols and DWARF), libc (only .dynsym), a stripped copy, a
 * deleted copy run as a child process, corrupt and truncated ELF files, and
 * a rate check on cached lookups.
 *
 * The functions resolved below are noinline and their lines are recorded
 * with __LINE__, so the expected answers come from the compiler, not from a
 * table that could drift.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stacks.h"

#define NOINLINE __attribute__((noinline, used))

static volatile int sink;

static const int target_line = __LINE__ + 1;
NOINLINE int stacks_target_fn(int x) {	/* brace here: the prologue's line */
	sink += x;
	return sink * 3;
}

NOINLINE static uint64_t return_address(void)
{
	return (uint64_t)__builtin_return_address(0);
}

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p;
}

static char *self_maps(void)
{
	static char buf[1 << 20];
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Copies this test binary to path; 0 ok. */
static int copy_self(const char *path)
{
	char exe[4096], cmd[8500];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", exe, path, path);
	return system(cmd);
}

/* A maps text that is this process's own, with the test binary's lines
 * naming path: an offline symbolizer over it reads that file instead. Those
 * lines say inode 0 (the copy is another file), or with real_ino the copy's
 * own device and inode, as if a process of the copy had written them. */
static char *maps_with_exe_as_ino(const char *path, int real_ino)
{
	struct stat st;
	char pdev[16] = "00:00";
	unsigned long pino = 0;
	if (real_ino) {
		if (stat(path, &st))
			return NULL;
		snprintf(pdev, sizeof(pdev), "%02x:%02x", major(st.st_dev), minor(st.st_dev));
		pino = (unsigned long)st.st_ino;
	}
	char exe[4096], line[8192];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *in = fopen("/proc/self/maps", "r");
	size_t cap = 1 << 20, o = 0;
	char *out = malloc(cap);
	if (n <= 0 || !in || !out) {
		if (in)
			fclose(in);
		free(out);
		return NULL;
	}
	exe[n] = '\0';
	out[0] = '\0';
	while (fgets(line, sizeof(line), in) && o < cap - 8192) {
		unsigned long long start, end, off;
		char perms[8], dev[16], name[4096] = "";
		unsigned long ino;
		if (sscanf(line, "%llx-%llx %7s %llx %15s %lu %4095s", &start, &end, perms,
			   &off, dev, &ino, name) < 6)
			continue;
		const char *nm = strcmp(name, exe) ? name : path;
		o += (size_t)snprintf(out + o, cap - o, "%llx-%llx %s %llx %s %lu %s\n", start, end,
				      perms, off, nm == path ? pdev : dev, nm == path ? pino : ino, nm);
	}
	fclose(in);
	return out;
}

static char *maps_with_exe_as(const char *path)
{
	return maps_with_exe_as_ino(path, 0);
}

TEST(own_function_symbol_and_line)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	CHECK(s);
	uint64_t a = (uint64_t)&stacks_target_fn + 3;
	CHECK(mw_sym_resolve(s, a, &f) == 0);
	CHECK_EQ_U64(f.addr, a);
	CHECK_EQ_STR(f.func, "stacks_target_fn");
	CHECK_EQ_U64(f.func_off, 3);
	CHECK_EQ_STR(base(f.file), "test_stacks.c");
	CHECK_EQ_U64(f.line, target_line);
	CHECK_EQ_STR(base(f.module), "test_stacks");
	CHECK(f.module_off != 0 && f.module_off < a);
	mw_sym_free(s);
}

TEST(return_address_is_the_call_line)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	CHECK(s);
	uint64_t ra = return_address(); int call_line = __LINE__;
	CHECK(mw_sym_resolve_ret(s, ra, &f) == 0);
	CHECK_EQ_U64(f.addr, ra);
	CHECK_EQ_STR(f.func, "test_return_address_is_the_call_line");
	CHECK(f.func_off > 0);
	CHECK_EQ_STR(base(f.file), "test_stacks.c");
	CHECK_EQ_U64(f.line, call_line);

	/* A stack as BPF stores it: innermost exact, then return addresses. */
	uint64_t ips[4] = { (uint64_t)&stacks_target_fn, ra, 0, 0x1234 };
	struct mw_frame fr[4];
	CHECK_EQ_U64(mw_sym_resolve_stack(s, ips, 4, fr), 2);
	CHECK_EQ_STR(fr[0].func, "stacks_target_fn");
	CHECK_EQ_U64(fr[0].func_off, 0);
	CHECK_EQ_U64(fr[1].line, call_line);
	CHECK_EQ_U64(fr[1].func_off, f.func_off);
	mw_sym_free(s);
}

/* A stack the way BPF captures one from a uprobe with frame pointers: the
 * probed instruction first (here: a function's entry), then the return
 * addresses found by walking the saved-rbp chain. */
static int recurse_line, leaf_line;

NOINLINE static int walk_stack(uint64_t *ips, int max)
{
	uint64_t *fp = __builtin_frame_address(0);
	int n = 0;
	ips[n++] = (uint64_t)&walk_stack;
	while (n < max) {
		uint64_t *next = (uint64_t *)fp[0];
		ips[n++] = fp[1];
		if (next <= fp || next - fp > 65536)
			break;
		fp = next;
	}
	return n;
}

NOINLINE static int recurse(int depth, uint64_t *ips, int max)
{
	int r;
	if (depth == 0) {
		r = walk_stack(ips, max); leaf_line = __LINE__;
	} else {
		r = recurse(depth - 1, ips, max); recurse_line = __LINE__;
	}
	sink += r;		/* no tail call: every level keeps its frame */
	return r;
}

TEST(frame_pointer_stack_deep_and_shallow)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	uint64_t ips[32];
	struct mw_frame fr[32];
	char line[256];
	CHECK(s);

	/* 40 levels deep, captured at MW_MAX_STACK = 32 frames */
	int n = recurse(40, ips, 32);
	CHECK_EQ_U64(n, 32);
	CHECK_EQ_U64(mw_sym_resolve_stack(s, ips, n, fr), 32);
	CHECK_EQ_STR(fr[0].func, "walk_stack");
	CHECK_EQ_U64(fr[0].func_off, 0);
	for (int i = 1; i < 32; i++) {
		CHECK_EQ_STR(fr[i].func, "recurse");
		CHECK_EQ_U64(fr[i].line, i == 1 ? leaf_line : recurse_line);
		CHECK_EQ_U64(fr[i].addr, ips[i]);
	}
	mw_frame_format(&fr[5], line, sizeof(line));
	printf("  deep[5]: %s\n", line);

	/* 3 levels: walk_stack, recurse x4, then this test function */
	n = recurse(3, ips, 6);
	CHECK_EQ_U64(mw_sym_resolve_stack(s, ips, n, fr), 6);
	for (int i = 1; i <= 4; i++)
		CHECK_EQ_STR(fr[i].func, "recurse");
	CHECK_EQ_STR(fr[5].func, "test_frame_pointer_stack_deep_and_shallow");
	for (int i = 0; i < 6; i++) {
		mw_frame_format(&fr[i], line, sizeof(line));
		printf("  #%d %s\n", i, line);
	}
	mw_sym_free(s);
}

/* The same garbage frame in many stacks re-reads the maps once, not each
 * time (a live symbolizer re-reads them on a miss). */
TEST(repeated_miss_is_cheap)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	struct timespec t0, t1;
	CHECK(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100000; i++)
		CHECK(mw_sym_resolve(s, 0x10 + (i & 7) * 0x1000, &f) == -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  100000 misses over 8 pages in %.3f s\n", sec);
	CHECK(sec < 0.5);
	mw_sym_free(s);
}

TEST(libc_function_via_dynsym)
{
	void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	CHECK(h);
	void *fn = dlsym(h, "getpid");
	CHECK(fn);
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	CHECK(s);
	CHECK(mw_sym_resolve(s, (uint64_t)fn + 2, &f) == 0);
	CHECK_EQ_STR(base(f.module), "libc.so.6");
	CHECK_EQ_STR(f.func, "getpid");
	CHECK_EQ_U64(f.func_off, 2);
	char buf[256];
	mw_frame_format(&f, buf, sizeof(buf));
	printf("  libc: %s\n", buf);
	CHECK(strstr(buf, "getpid+0x2") == buf);
	CHECK(strstr(buf, "[libc.so.6]"));
	dlclose(h);
	mw_sym_free(s);
}

/* A library loaded after the symbolizer read the maps is found by the lazy
 * refresh. */
TEST(library_loaded_later)
{
	static const char *const libs[] = { "libxxhash.so.0", "libncursesw.so.6", "libbpf.so.1", "libz.so.1" };
	static const char *const fns[] = { "XXH_versionNumber", "curses_version", "libbpf_major_version", "zlibVersion" };
	struct mw_symbolizer *s = mw_sym_new(getpid());
	CHECK(s);
	void *h = NULL, *fn = NULL;
	Dl_info di;
	int i;
	for (i = 0; i < 4 && !fn; i++) {
		if (dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD) || !(h = dlopen(libs[i], RTLD_LAZY)))
			continue;
		fn = dlsym(h, fns[i]);
		char real[4096];
		if (!fn || !dladdr(fn, &di) || !realpath(di.dli_fname, real) ||
		    strncmp(base(real), libs[i], strlen(libs[i]))) {
			fn = NULL;
			dlclose(h);
		}
	}
	if (!fn) {
		printf("  skipped: no candidate library that is not loaded already\n");
		mw_sym_free(s);
		return;
	}
	i--;
	struct mw_frame f;
	CHECK(mw_sym_resolve(s, (uint64_t)fn, &f) == 0);
	CHECK(!strncmp(base(f.module), libs[i], strlen(libs[i])));	/* libz.so.1.2.13 */
	CHECK_EQ_STR(f.func, fns[i]);
	CHECK_EQ_U64(f.func_off, 0);
	dlclose(h);
	mw_sym_free(s);
}

TEST(garbage_addresses)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	CHECK(s);
	CHECK(mw_sym_resolve(s, 0, &f) == -1);
	char buf[64];
	mw_frame_format(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "0x0");
	CHECK(mw_sym_resolve(s, 0x10, &f) == -1);
	CHECK(f.module == NULL && f.func == NULL && f.addr == 0x10);
	CHECK(mw_sym_resolve(s, 0xffff888000000000ull, &f) == -1);
	CHECK(mw_sym_resolve_ret(s, 0, &f) == -1);
	CHECK(mw_sym_resolve(NULL, 0x1000, &f) == -1);
	CHECK(mw_sym_new(-1) == NULL);
	CHECK(mw_sym_new(0x3fffffff) == NULL);	/* no such process */
	mw_sym_free(s);
}

TEST(anon_and_special_mappings)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	struct mw_frame f;
	int local = 0;
	CHECK(s);
	CHECK(mw_sym_resolve(s, (uint64_t)&local, &f) == 0);
	CHECK_EQ_STR(f.module, "[stack]");
	CHECK(f.func == NULL && f.file == NULL && f.line == 0);
	mw_sym_free(s);

	s = mw_sym_new_from_maps("7f0000000000-7f0000001000 r-xp 00000000 00:00 0 \n"
				 "7f0000002000-7f0000004000 r-xp 00000000 00:00 0    [vdso]\n");
	CHECK(s);
	CHECK(mw_sym_resolve(s, 0x7f0000000010, &f) == 0);
	CHECK_EQ_STR(f.module, "[anon]");
	CHECK_EQ_U64(f.module_off, 0x10);
	CHECK(mw_sym_resolve(s, 0x7f0000003000, &f) == 0);
	CHECK_EQ_STR(f.module, "[vdso]");
	CHECK_EQ_U64(f.module_off, 0x1000);
	char buf[128];
	mw_frame_format(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "0x7f0000003000 [vdso+0x1000]");
	CHECK(mw_sym_resolve(s, 0x7f0000001000, &f) == -1);	/* the hole */
	mw_sym_free(s);
}

TEST(offline_from_saved_maps)
{
	struct mw_symbolizer *s = mw_sym_new_from_maps(self_maps());
	struct mw_frame f;
	CHECK(s);
	CHECK(mw_sym_resolve(s, (uint64_t)&stacks_target_fn + 1, &f) == 0);
	CHECK_EQ_STR(f.func, "stacks_target_fn");
	CHECK_EQ_U64(f.line, target_line);
	mw_sym_free(s);
	/* malformed lines are skipped, not fatal */
	s = mw_sym_new_from_maps("garbage\n-\n1-0 r-xp 0 0:0 0 /x\nffffffffffffffffff-1 x\n"
				 "1000-2000 r-xp zz 00:00 0 /nonexistent/file\n");
	CHECK(s);
	CHECK(mw_sym_resolve(s, 0x1800, &f) == 0 || f.module == NULL);
	mw_sym_free(s);
	CHECK(mw_sym_new_from_maps(NULL) == NULL);
}

TEST(stripped_copy_gives_module_and_offset)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/mw_stacks_stripped_XXXXXX", check_tmpdir());
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	check_defer_unlink(path);
	CHECK(copy_self(path) == 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "strip --strip-all '%s' 2>/dev/null || llvm-strip --strip-all '%s'", path, path);
	CHECK(system(cmd) == 0);

	struct mw_symbolizer *live = mw_sym_new(getpid());
	char *maps = maps_with_exe_as(path);
	CHECK(live && maps);
	struct mw_symbolizer *s = mw_sym_new_from_maps(maps);
	CHECK(s);
	uint64_t a = (uint64_t)&stacks_target_fn + 5;
	struct mw_frame want, f;
	CHECK(mw_sym_resolve(live, a, &want) == 0);
	CHECK(mw_sym_resolve(s, a, &f) == 0);
	CHECK_EQ_STR(f.module, path);
	CHECK_EQ_U64(f.module_off, want.module_off);
	CHECK(f.func == NULL);		/* static: not in .dynsym */
	CHECK(f.file == NULL && f.line == 0);
	char buf[256], exp[256];
	mw_frame_format(&f, buf, sizeof(buf));
	snprintf(exp, sizeof(exp), "0x%llx [%s+0x%llx]", (unsigned long long)a, base(path),
		 (unsigned long long)want.module_off);
	CHECK_EQ_STR(buf, exp);
	printf("  stripped: %s\n", buf);
	mw_sym_free(s);
	mw_sym_free(live);
	free(maps);
	unlink(path);
}

/* Corrupt, truncated and random files mapped as modules: module+offset,
 * never a crash (ASan watches every byte read). */
TEST(corrupt_elf_files)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/mw_stacks_corrupt_XXXXXX", check_tmpdir());
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	check_defer_unlink(path);
	char maps[512];
	snprintf(maps, sizeof(maps), "100000-300000 r-xp 00000000 00:00 0 %s\n", path);

	/* The test binary itself, read whole once, then mangled copies of it. */
	FILE *in = fopen("/proc/self/exe", "rb");
	CHECK(in);
	size_t cap = 64 << 20, n;
	unsigned char *img = malloc(cap);
	CHECK(img);
	n = fread(img, 1, cap, in);
	fclose(in);
	CHECK(n > 4096);

	unsigned seed = 12345;
	int resolved = 0;
	for (int round = 0; round < 60; round++) {
		size_t len = n;
		unsigned char *buf = malloc(n);
		CHECK(buf);
		memcpy(buf, img, n);
		if (round < 20) {
			/* truncated at growing lengths, from the middle of the header on */
			len = (size_t)round * round * 997 % n + 20;
		} else if (round < 50) {
			/* random bytes in the ELF and program headers and the section table */
			for (int k = 0; k < 64; k++) {
				seed = seed * 1103515245 + 12345;
				size_t at = (k & 1) ? (seed >> 8) % 512 : (seed >> 8) % n;
				buf[at] = (unsigned char)(seed >> 16);
			}
		} else {
			/* an ELF magic followed by noise */
			for (size_t k = 4; k < 8192 && k < n; k++) {
				seed = seed * 1103515245 + 12345;
				buf[k] = (unsigned char)(seed >> 16);
			}
			len = 8192;
		}
		FILE *out = fopen(path, "wb");
		CHECK(out);
		fwrite(buf, 1, len, out);
		fclose(out);
		free(buf);

		struct mw_symbolizer *s = mw_sym_new_from_maps(maps);
		CHECK(s);
		for (uint64_t a = 0x100000; a < 0x300000; a += 0x7777) {
			struct mw_frame f;
			CHECK(mw_sym_resolve(s, a, &f) == 0);
			CHECK_EQ_STR(f.module, path);
			char line[512];
			mw_frame_format(&f, line, sizeof(line));
			resolved++;
		}
		mw_sym_free(s);
	}
	printf("  %d lookups over 60 mangled files\n", resolved);
	free(img);
	unlink(path);
}

/* A child running a copy of this binary that is deleted while it runs:
 * the maps say "(deleted)"; map_files (with privilege) still reads it. */
TEST(deleted_binary_of_a_live_process)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/mw_stacks_deleted_XXXXXX", check_tmpdir());
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	check_defer_unlink(path);
	CHECK(copy_self(path) == 0);
	int to_child[2], from_child[2];
	CHECK(pipe(to_child) == 0 && pipe(from_child) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid > 0)
		check_defer_kill(pid);
	if (pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(path, path, "--child", (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	uint64_t a = 0;
	ssize_t r = read(from_child[0], &a, sizeof(a));
	unlink(path);

	struct mw_symbolizer *s = r == sizeof(a) ? mw_sym_new(pid) : NULL;
	struct mw_frame f;
	int ok = s && mw_sym_resolve(s, a + 3, &f) == 0;
	char buf[256] = "";
	if (ok)
		mw_frame_format(&f, buf, sizeof(buf));
	close(to_child[1]);		/* the child exits on EOF */
	waitpid(pid, NULL, 0);
	close(from_child[0]);
	CHECK(r == sizeof(a));
	CHECK(ok);
	CHECK_EQ_STR(f.module, path);
	printf("  deleted: %s\n", buf);
	/* With access to map_files (root), the symbols are still there. */
	if (f.func) {
		CHECK_EQ_STR(f.func, "stacks_target_fn");
		CHECK_EQ_U64(f.line, target_line);
	}
	mw_sym_free(s);
}

TEST(format_and_truncation)
{
	struct mw_frame f = {
		.addr = 0x55550000121f, .module = "/opt/bin/mapsvc", .module_off = 0x121f,
		.func = "writer_loop", .func_off = 0x1f, .file = "/src/target/mapsvc.c", .line = 212,
	};
	char buf[128];
	int n = mw_frame_format(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "writer_loop+0x1f (mapsvc.c:212) [mapsvc]");
	CHECK_EQ_U64(n, strlen(buf));
	f.file = NULL;
	mw_frame_format(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "writer_loop+0x1f [mapsvc]");
	f.func = NULL;
	f.module = "/usr/lib/libfoo.so";
	f.module_off = 0x1234;
	mw_frame_format(&f, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "0x55550000121f [libfoo.so+0x1234]");
	char small[8];
	n = mw_frame_format(&f, small, sizeof(small));
	CHECK_EQ_U64(n, strlen("0x55550000121f [libfoo.so+0x1234]"));
	CHECK_EQ_STR(small, "0x55550");
	CHECK_EQ_U64(mw_frame_format(&f, NULL, 0), n);
}

TEST(cached_resolve_rate)
{
	struct mw_symbolizer *s = mw_sym_new(getpid());
	CHECK(s);
	uint64_t ra = return_address();
	void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	CHECK(h);
	uint64_t addrs[4] = {
		(uint64_t)&stacks_target_fn + 3, ra, (uint64_t)dlsym(h, "getpid"),
		(uint64_t)&check_main + 10,
	};
	struct mw_frame f;
	for (int i = 0; i < 4; i++)		/* warm: binaries and line tables loaded */
		CHECK(mw_sym_resolve(s, addrs[i], &f) == 0);
	const int N = 100000;
	struct timespec t0, t1;
	int lines = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		mw_sym_resolve_ret(s, addrs[i & 3], &f);
		lines += f.line > 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  %d resolves in %.3f s: %.0f/s (%d with file:line)\n", N, sec, N / sec, lines);
	CHECK(lines >= N / 2);
	CHECK(sec < 1.0);
	dlclose(h);
	mw_sym_free(s);
}

/* ---- the process-wide binary cache ---------------------------------------- */

/* A fresh copy of this test binary under the run's temp dir (removed at the
 * end); the name in buf. */
static int fresh_copy(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/mw_stacks_%s_XXXXXX", check_tmpdir(), tag);
	int fd = mkstemp(buf);
	if (fd < 0)
		return -1;
	close(fd);
	check_defer_unlink(buf);
	return copy_self(buf);
}

/* Resolves stacks_target_fn through a new offline symbolizer over maps and
 * frees it; the function name seen (copied), or "" with none. */
static const char *resolve_once(const char *maps, char *name, size_t len)
{
	struct mw_symbolizer *s = mw_sym_new_from_maps(maps);
	struct mw_frame f;
	name[0] = '\0';
	if (s && mw_sym_resolve(s, (uint64_t)&stacks_target_fn + 1, &f) == 0 && f.func)
		snprintf(name, len, "%s", f.func);
	mw_sym_free(s);
	return name;
}

TEST(cache_two_symbolizers_share_one_read)
{
	char path[4096];
	struct mw_sym_cache_stats a, b;
	mw_sym_cache_clear();
	CHECK(fresh_copy(path, sizeof(path), "shared") == 0);
	char *maps = maps_with_exe_as_ino(path, 1);
	CHECK(maps);
	uint64_t at = (uint64_t)&stacks_target_fn + 1;
	struct mw_frame f1, f2;

	mw_sym_cache_stats(&a);
	struct mw_symbolizer *s1 = mw_sym_new_from_maps(maps), *s2 = mw_sym_new_from_maps(maps);
	CHECK(s1 && s2);
	CHECK(mw_sym_resolve(s1, at, &f1) == 0);
	CHECK(mw_sym_resolve(s2, at, &f2) == 0);
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.loads - a.loads, 1);		/* the copy, read once */
	CHECK_EQ_U64(b.dwarf_loads - a.dwarf_loads, 1);
	CHECK(b.hits > a.hits);
	CHECK_EQ_STR(f1.func, "stacks_target_fn");
	CHECK(f1.func == f2.func && f1.file == f2.file);	/* the same strings */
	CHECK_EQ_U64(f2.line, target_line);

	/* Two live symbolizers of this process: this binary read once more. */
	struct mw_symbolizer *l1 = mw_sym_new(getpid()), *l2 = mw_sym_new(getpid());
	CHECK(l1 && l2);
	struct mw_frame g1, g2;
	CHECK(mw_sym_resolve(l1, at, &g1) == 0);
	CHECK(mw_sym_resolve(l2, at, &g2) == 0);
	mw_sym_cache_stats(&a);
	CHECK_EQ_U64(a.loads - b.loads, 1);
	CHECK(g1.func == g2.func);
	mw_sym_free(l1);
	mw_sym_free(l2);

	/* s2's frames outlive s1, a cache clear and other binaries coming and
	 * going (ASan would see a freed string). */
	mw_sym_free(s1);
	mw_sym_cache_clear();
	char name[128], other[4096];
	for (int i = 0; i < 5; i++) {
		CHECK(fresh_copy(other, sizeof(other), "churn") == 0);
		char *om = maps_with_exe_as_ino(other, 1);
		CHECK(om);
		CHECK_EQ_STR(resolve_once(om, name, sizeof(name)), "stacks_target_fn");
		free(om);
	}
	CHECK_EQ_STR(f2.func, "stacks_target_fn");
	CHECK_EQ_STR(base(f2.file), "test_stacks.c");
	CHECK_EQ_STR(f2.module, path);
	mw_sym_cache_stats(&a);
	CHECK(mw_sym_resolve(s2, at + 1, &f2) == 0);
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.loads, a.loads);			/* still s2's, still read */
	CHECK_EQ_STR(f2.func, "stacks_target_fn");
	mw_sym_free(s2);
	free(maps);
	mw_sym_cache_clear();
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.bins, 0);
	CHECK_EQ_U64(b.idle, 0);
}

/* Unused binaries stay cached up to 4, least recently released evicted. */
TEST(cache_keeps_a_few_unused_binaries)
{
	enum { N = 6 };
	char paths[N][4096], name[128];
	char *maps[N];
	struct mw_sym_cache_stats a, b;
	mw_sym_cache_clear();
	for (int i = 0; i < N; i++) {
		CHECK(fresh_copy(paths[i], sizeof(paths[i]), "lru") == 0);
		CHECK((maps[i] = maps_with_exe_as_ino(paths[i], 1)));
	}
	mw_sym_cache_stats(&a);
	for (int i = 0; i < N; i++) {
		CHECK_EQ_STR(resolve_once(maps[i], name, sizeof(name)), "stacks_target_fn");
		mw_sym_cache_stats(&b);
		CHECK_EQ_U64(b.idle, i + 1 < 4 ? i + 1 : 4);
		CHECK_EQ_U64(b.bins, b.idle);	/* the rest (never read) freed at once */
	}
	CHECK_EQ_U64(b.loads - a.loads, N);
	/* cached now: 2 3 4 5, released in that order */
	struct { int copy, reads; } steps[] = {
		{ 5, 0 },	/* cached: 2 3 4 5 */
		{ 0, 1 },	/* evicted: read again; 2 evicted → 3 4 5 0 */
		{ 3, 0 },	/* → 4 5 0 3 */
		{ 2, 1 },	/* → 5 0 3 2 */
		{ 4, 1 },	/* → 0 3 2 4 */
		{ 0, 0 },
	};
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		mw_sym_cache_stats(&a);
		CHECK_EQ_STR(resolve_once(maps[steps[k].copy], name, sizeof(name)), "stacks_target_fn");
		mw_sym_cache_stats(&b);
		CHECK_EQ_U64(b.loads - a.loads, steps[k].reads);
		CHECK_EQ_U64(b.idle, 4);
	}
	for (int i = 0; i < N; i++)
		free(maps[i]);
	mw_sym_cache_clear();
}

/* The same path and inode rewritten in place is read again, not served from
 * the cache. */
TEST(cache_rereads_a_rewritten_file)
{
	char path[4096], name[128];
	struct mw_sym_cache_stats a, b;
	struct stat st0, st1;
	mw_sym_cache_clear();
	CHECK(fresh_copy(path, sizeof(path), "rewrite") == 0);
	char *maps = maps_with_exe_as_ino(path, 1);
	CHECK(maps);
	CHECK_EQ_STR(resolve_once(maps, name, sizeof(name)), "stacks_target_fn");
	mw_sym_cache_stats(&a);
	CHECK_EQ_STR(resolve_once(maps, name, sizeof(name)), "stacks_target_fn");
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.loads, a.loads);			/* unchanged: cached */

	/* Same size, other symbol name, later mtime; same inode. */
	CHECK(stat(path, &st0) == 0);
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	size_t n = (size_t)st0.st_size;
	char *img = malloc(n);
	CHECK(img);
	CHECK(pread(fd, img, n, 0) == (ssize_t)n);
	int renamed = 0;
	for (char *p = img; (p = memmem(p, n - (size_t)(p - img), "stacks_target_fn", 16)); p += 16) {
		p[13] = 'X';
		renamed++;
	}
	CHECK(renamed > 0);
	CHECK(pwrite(fd, img, n, 0) == (ssize_t)n);
	struct timespec ts[2] = { st0.st_atim, st0.st_mtim };
	ts[1].tv_sec += 100;
	CHECK(futimens(fd, ts) == 0);
	close(fd);
	free(img);
	CHECK(stat(path, &st1) == 0);
	CHECK_EQ_U64(st1.st_ino, st0.st_ino);
	CHECK_EQ_U64(st1.st_size, st0.st_size);

	mw_sym_cache_stats(&a);
	CHECK_EQ_STR(resolve_once(maps, name, sizeof(name)), "stacks_targetXfn");
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.loads - a.loads, 1);
	CHECK_EQ_U64(b.stale - a.stale, 1);
	CHECK_EQ_U64(b.idle, 1);			/* the old one gone, the new one kept */
	free(maps);
	mw_sym_cache_clear();
}

/* A binary whose read failed is read again by the next symbolizer that
 * shares it, not handed on as a failure. */
TEST(cache_failed_read_retried_by_another)
{
	char path[4096], away[4200];
	struct mw_sym_cache_stats a, b;
	struct mw_frame f;
	uint64_t at = (uint64_t)&stacks_target_fn + 1;
	mw_sym_cache_clear();
	CHECK(fresh_copy(path, sizeof(path), "retry") == 0);
	char *maps = maps_with_exe_as_ino(path, 1);
	CHECK(maps);
	snprintf(away, sizeof(away), "%s.away", path);
	check_defer_unlink(away);
	CHECK(rename(path, away) == 0);

	mw_sym_cache_stats(&a);
	struct mw_symbolizer *s1 = mw_sym_new_from_maps(maps);
	CHECK(s1);
	CHECK(mw_sym_resolve(s1, at, &f) == 0);
	CHECK(f.func == NULL && f.module);		/* module and offset only */
	CHECK(mw_sym_resolve(s1, at, &f) == 0);		/* not retried by the same one */
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.loads - a.loads, 1);

	CHECK(rename(away, path) == 0);
	struct mw_symbolizer *s2 = mw_sym_new_from_maps(maps);
	CHECK(s2);
	CHECK(mw_sym_resolve(s2, at, &f) == 0);
	CHECK_EQ_STR(f.func, "stacks_target_fn");
	mw_sym_cache_stats(&a);
	CHECK_EQ_U64(a.loads - b.loads, 1);
	CHECK(mw_sym_resolve(s1, at, &f) == 0);		/* shared: s1 sees it now too */
	CHECK_EQ_STR(f.func, "stacks_target_fn");
	mw_sym_free(s1);
	mw_sym_free(s2);
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.idle, b.bins);
	CHECK(b.idle >= 1);

	/* A failed read is not kept once nobody uses it. */
	mw_sym_cache_clear();
	CHECK(rename(path, away) == 0);
	char name[128];
	CHECK_EQ_STR(resolve_once(maps, name, sizeof(name)), "");
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.bins, 0);
	free(maps);
}

/* Re-reading the maps takes no second reference: once the symbolizer is
 * freed and the cache cleared, no binary is left. */
TEST(cache_maps_reread_takes_no_second_reference)
{
	struct mw_sym_cache_stats a, b;
	struct mw_frame f;
	mw_sym_cache_clear();
	struct mw_symbolizer *s = mw_sym_new(getpid());
	CHECK(s);
	CHECK(mw_sym_resolve(s, (uint64_t)&stacks_target_fn, &f) == 0);
	mw_sym_cache_stats(&a);
	CHECK(a.bins > 0);
	for (int i = 0; i < 4; i++)			/* unmapped pages: each re-reads */
		CHECK(mw_sym_resolve(s, 0x10 + (uint64_t)i * 0x1000, &f) == -1);
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.bins, a.bins);
	CHECK_EQ_U64(b.hits, a.hits);
	mw_sym_free(s);
	mw_sym_cache_stats(&b);
	CHECK(b.idle <= 4);
	CHECK_EQ_U64(b.bins, b.idle);
	mw_sym_cache_clear();
	mw_sym_cache_stats(&b);
	CHECK_EQ_U64(b.bins, 0);
}

int main(int argc, char **argv)
{
	/* The deleted-binary test runs a copy of this binary in this mode. */
	if (argc > 1 && !strcmp(argv[1], "--child")) {
		uint64_t a = (uint64_t)&stacks_target_fn;
		char c;
		if (write(1, &a, sizeof(a)) != sizeof(a))
			return 1;
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	return check_main(argc, argv);
}
