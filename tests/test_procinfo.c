/* test_procinfo.c — the host-wide mode's pure parts: /proc text parsers,
 * --include/--exclude/--cgroup, and the capability decision. */
#include <string.h>
#include "check.h"
#include "caps.h"
#include "procinfo.h"

TEST(status_nspid_is_the_innermost)
{
	const char *s = "Name:\tsvc\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\n"
			"Pid:\t4242\nPPid:\t4200\nTracerPid:\t0\nNSpid:\t4242\t17\t1\nNSpgid:\t4242\t17\t1\n";
	int ns, pp;

	CHECK_EQ_U64(mw_procinfo_parse_status(s, &ns, &pp), 0);
	CHECK_EQ_U64(ns, 1);
	CHECK_EQ_U64(pp, 4200);
}

TEST(status_without_nspid)
{
	int ns, pp;

	CHECK_EQ_U64(mw_procinfo_parse_status("Name:\tx\nPPid:\t1\n", &ns, &pp), 0);
	CHECK(ns == -1);
	CHECK_EQ_U64(pp, 1);
	CHECK(mw_procinfo_parse_status("Name:\tx\n", &ns, &pp) == -1);
}

TEST(stat_start_time_after_a_comm_with_spaces_and_parens)
{
	/* field 22 is the start time; the comm may hold ") (" */
	const char *s = "4242 (we ird) (x) S 4200 4242 4200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 "
			"987654 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

	CHECK_EQ_U64(mw_procinfo_parse_start(s), 987654);
	CHECK_EQ_U64(mw_procinfo_parse_start("garbage"), 0);
	CHECK_EQ_U64(mw_procinfo_parse_start("1 (x) S 1 2"), 0);
}

TEST(cgroup_v2_path)
{
	char out[128];

	mw_procinfo_parse_cgroup("0::/system.slice/svc.service\n", out, sizeof(out));
	CHECK_EQ_STR(out, "/system.slice/svc.service");
}

TEST(cgroup_hybrid_host_takes_systemds_v1_path_when_v2_is_the_root)
{
	char out[128];

	mw_procinfo_parse_cgroup("12:name=systemd:/docker/abc\n4:memory:/docker/abc\n0::/\n", out, sizeof(out));
	CHECK_EQ_STR(out, "/docker/abc");
	mw_procinfo_parse_cgroup("9:name=systemd:/\n4:memory:/x\n0::/\n", out, sizeof(out));
	CHECK_EQ_STR(out, "/");
	mw_procinfo_parse_cgroup("1:name=systemd:/user.slice\n0::/mine\n", out, sizeof(out));
	CHECK_EQ_STR(out, "/mine");
	mw_procinfo_parse_cgroup("", out, sizeof(out));
	CHECK_EQ_STR(out, "");
}

TEST(filters_include_exclude_by_path_or_name)
{
	struct mw_filters f;

	memset(&f, 0, sizeof(f));
	CHECK(mw_filters_reject(&f, "/usr/bin/svc", "/") == NULL);
	CHECK_EQ_U64(mw_filters_add(&f, MW_F_INCLUDE, "/srv/*"), 0);
	CHECK_EQ_U64(mw_filters_add(&f, MW_F_INCLUDE, "svc-*"), 0);
	CHECK_EQ_U64(mw_filters_add(&f, MW_F_EXCLUDE, "*-batch"), 0);
	CHECK(mw_filters_reject(&f, "/srv/api", "/") == NULL);
	CHECK(mw_filters_reject(&f, "/opt/x/svc-web", "/") == NULL);
	CHECK_EQ_STR(mw_filters_reject(&f, "/usr/bin/other", "/"), "--include");
	CHECK_EQ_STR(mw_filters_reject(&f, "/srv/nightly-batch", "/"), "--exclude");
	CHECK_EQ_STR(mw_filters_reject(&f, "/opt/svc-batch", "/"), "--exclude");
}

TEST(filters_cgroup_prefix_at_a_component_boundary)
{
	struct mw_filters f;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_U64(mw_filters_add(&f, MW_F_CGROUP, "/system.slice/svc"), 0);
	CHECK(mw_filters_reject(&f, "/a", "/system.slice/svc") == NULL);
	CHECK(mw_filters_reject(&f, "/a", "/system.slice/svc/child") == NULL);
	CHECK_EQ_STR(mw_filters_reject(&f, "/a", "/system.slice/svc2"), "--cgroup");
	CHECK_EQ_STR(mw_filters_reject(&f, "/a", "/"), "--cgroup");
	memset(&f, 0, sizeof(f));
	CHECK_EQ_U64(mw_filters_add(&f, MW_F_CGROUP, "/kubepods/"), 0);
	CHECK(mw_filters_reject(&f, "/a", "/kubepods/pod1") == NULL);
}

TEST(filters_are_bounded)
{
	struct mw_filters f;

	memset(&f, 0, sizeof(f));
	for (int i = 0; i < MW_FILTERS; i++)
		CHECK_EQ_U64(mw_filters_add(&f, MW_F_EXCLUDE, "x"), 0);
	CHECK(mw_filters_add(&f, MW_F_EXCLUDE, "x") == -1);
	CHECK(mw_filters_add(&f, MW_F_KINDS, "x") == -1);
}

#define BIT(n) (1ull << (n))
TEST(caps_names_the_first_missing_one)
{
	char why[256];
	uint64_t all = BIT(21) | BIT(39) | BIT(38) | BIT(19) | BIT(2);

	CHECK_EQ_U64(mw_caps_missing(all, why, sizeof(why)), 0);
	/* CAP_SYS_ADMIN covers CAP_BPF and CAP_PERFMON */
	CHECK_EQ_U64(mw_caps_missing(BIT(21) | BIT(19) | BIT(2), why, sizeof(why)), 0);
	CHECK(mw_caps_missing(all & ~BIT(21), why, sizeof(why)) == -1);
	CHECK(!strncmp(why, "--all needs CAP_SYS_ADMIN ", strlen("--all needs CAP_SYS_ADMIN ")));
	CHECK(mw_caps_missing(all & ~BIT(19), why, sizeof(why)) == -1);
	CHECK(!strncmp(why, "--all needs CAP_SYS_PTRACE ", strlen("--all needs CAP_SYS_PTRACE ")));
	CHECK(mw_caps_missing(all & ~BIT(2), why, sizeof(why)) == -1);
	CHECK(!strncmp(why, "--all needs CAP_DAC_READ_SEARCH ", strlen("--all needs CAP_DAC_READ_SEARCH ")));
	CHECK(strchr(why, '\n') == NULL);
}

CHECK_MAIN()
