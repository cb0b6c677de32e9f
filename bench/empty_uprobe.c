/* empty_uprobe — attach bench/empty_uprobe.bpf.c to functions of one
 * binary and hold them until SIGINT/SIGTERM.
 *
 *   empty_uprobe [-c] BINARY SYMBOL[+OFF][,SYMBOL[+OFF]...] [PID]   (PID: -1 or absent = every process)
 *
 * SYMBOL+OFF probes OFF bytes into the function (mapassign+5: the push %rbp
 * after libgomap's 5-byte nop).
 * Prints "empty_uprobe: attached N" once every probe is in place.
 * -c counts the program's runs (the kernel's BPF run statistics, switched on
 * for as long as empty_uprobe runs; the program itself stays empty) and
 * prints "empty_uprobe: hits N" on exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty_uprobe.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct empty_uprobe_bpf *skel = NULL;
	struct bpf_link *links[32] = { 0 };
	int pid = -1, err = 1, n = 0, count = 0, stats_fd = -1;
	char *syms, *sym, *save = NULL;

	if (argc > 1 && !strcmp(argv[1], "-c")) {
		count = 1;
		argv++;
		argc--;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: empty_uprobe [-c] BINARY SYMBOL[+OFF][,SYMBOL[+OFF]...] [PID]\n");
		return 2;
	}
	if (argc == 4)
		pid = atoi(argv[3]);
	libbpf_set_print(quiet);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = empty_uprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty_uprobe: cannot load the BPF program: %s\n", strerror(errno));
		goto cleanup;
	}
	if (count && (stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		fprintf(stderr, "empty_uprobe: cannot enable BPF run statistics: %s\n", strerror(-stats_fd));
		goto cleanup;
	}
	syms = strdup(argv[2]);
	for (sym = strtok_r(syms, ",", &save); sym && n < 32; sym = strtok_r(NULL, ",", &save)) {
		char *plus = strchr(sym, '+');
		size_t off = plus ? strtoul(plus + 1, NULL, 0) : 0;

		if (plus)
			*plus = 0;
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = sym);
		links[n] = bpf_program__attach_uprobe_opts(skel->progs.empty, pid, argv[1], off, &opts);
		if (!links[n]) {
			fprintf(stderr, "empty_uprobe: cannot attach to %s:%s: %s\n", argv[1], sym,
				strerror(errno));
			goto cleanup;
		}
		n++;
	}
	printf("empty_uprobe: attached %d\n", n);
	fflush(stdout);
	while (!stop)
		pause();
	err = 0;
	if (count) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.empty), &info, &len)) {
			fprintf(stderr, "empty_uprobe: cannot read the run count: %s\n", strerror(errno));
			err = 1;
		} else {
			printf("empty_uprobe: hits %llu\n", (unsigned long long)info.run_cnt);
		}
	}
cleanup:
	if (stats_fd >= 0)
		close(stats_fd);
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	empty_uprobe_bpf__destroy(skel);
	return err;
}
