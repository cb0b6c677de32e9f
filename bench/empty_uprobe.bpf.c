/* empty_uprobe.bpf.c — the cheapest possible uprobe: a BPF program that
 * returns at once. Its cost is the floor any uprobe-based tool pays per
 * probed call (breakpoint or trampoline, context switch into BPF, return);
 * bench/tools.sh compares mapwatch's per-call cost with it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
