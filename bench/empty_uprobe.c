/* empty_uprobe — attach bench/empty_uprobe.bpf.c to functions of one
 * binary and hold them until SIGINT/SIGTERM.
 *
 *   empty_uprobe BINARY SYMBOL[+OFF][,SYMBOL[+OFF]...] [PID]   (PID: -1 or absent = every process)
 *
 * SYMBOL+OFF probes OFF bytes into the function (mapassign+5: the push %rbp
 * after libgomap's 5-byte nop).
 * Prints "empty_uprobe: attached N" once every probe is in place.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	int pid = -1, err = 1, n = 0;
	char *syms, *sym, *save = NULL;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: empty_uprobe BINARY SYMBOL[+OFF][,SYMBOL[+OFF]...] [PID]\n");
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
cleanup:
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	empty_uprobe_bpf__destroy(skel);
	return err;
}
