// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench: microbenchmarks. Exit status: 0 measured (whatever the
 * verdicts), 1 the benchmark could not run, 2 bad usage, 3 the CPUs of `cpu`
 * computed different results.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_coalesce.h"
#include "bench_hyperv.h"
#include "bench_nested.h"
#include "bench_numa.h"
#include "bench_scale.h"
#include "bench_tlb.h"
#include "bench_vendors.h"

#define EXIT_FAILED   1
#define EXIT_USAGE    2
#define EXIT_MISMATCH 3

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench sched [--json FILE] [--quick]\n"
		"       reqvisor-bench cpu [--json FILE] [--quick]\n"
		"       reqvisor-bench tlb [--sets N] [--ways N] [--json FILE] [--quick]\n"
		"       reqvisor-bench vendors [--vcpus N] [--rounds N] [--json FILE] [--quick]\n"
		"       reqvisor-bench hyperv [--rounds N] [--json FILE] [--quick]\n"
		"       reqvisor-bench nested [--rounds N] [--json FILE] [--quick]\n"
		"       reqvisor-bench coalesce [--json FILE] [--quick]   (see coalesce --help)\n"
		"       reqvisor-bench scale [--json FILE] [--quick]      (see scale --help)\n"
		"       reqvisor-bench numa [--json FILE] [--quick]       (see numa --help)\n"
		"       reqvisor-bench soak [--seconds S] [--vcpus N] [--rounds N] [--seed S]\n"
		"                           [--json FILE]\n"
		"       reqvisor-bench --help\n"
		"\n"
		"sched: the scheduler's hot paths, each beside its physical reference,\n"
		"measured in the same run:\n"
		"  1. request post vs a bare atomic OR                  (target <= 1.3x)\n"
		"  2. idle fast path vs a relaxed load and a branch     (target <= 1.5x)\n"
		"  3. broadcast to 1-1024 vCPUs, 0-2 in guest mode      (kicks exact,\n"
		"     1024 vCPUs none in guest <= 30 us, linear), and a WAIT broadcast\n"
		"  4. kick latency vs a cross-core cache-line ping-pong (target <= 3x)\n"
		"Needs host CPUs 0 and 1: tables 3 (WAIT) and 4 pin threads to them.\n"
		"\n"
		"cpu: guest instructions per second of the software CPU on one host core,\n"
		"beside the same code run natively by the host CPU and in a real KVM guest\n"
		"(kvm: n/a without a usable /dev/kvm), measured in the same run:\n"
		"  a. a register-only ALU loop                      (target >= 150 M/s)\n"
		"  b. a load/store loop within one page\n"
		"  c. gcc-compiled C: quicksort and FNV-1a hash\n"
		"\n"
		"  --json FILE   also write the figures and verdicts as JSON to FILE\n"
		"  --quick       about a tenth of the iterations (a smoke test)\n"
		"\n"
		"Exit status: 0 measured (targets PASS or MISS), 1 could not run, 2 bad usage,\n"
		"3 (cpu) the CPUs computed different results, so the figures do not compare.\n"
		"tlb, vendors, hyperv and nested have their own --help.\n"
		"\n"
		"soak: VMs of 1024 vCPUs (--vcpus) one after another for 600 s (--seconds),\n"
		"each running shootdown or hv-shootdown for 2 rounds under 1-3 random benign\n"
		"faults with the oracle sampling; exits 1 unless every guest passes with no\n"
		"violation and the RSS after each teardown stays flat (a stuck vCPU: the\n"
		"watchdog prints every vCPU and exits 1).\n");
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "reqvisor-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see reqvisor-bench --help)\n");
	va_end(ap);
	return EXIT_USAGE;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static int parse(const char *cmd, int argc, char **argv, struct bench_opts *o)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			o->quick = true;
		} else if (!strcmp(argv[i], "--json")) {
			if (i + 1 == argc || !argv[i + 1][0])
				return bad("--json needs a file name");
			o->json_path = argv[++i];
		} else if (!strncmp(argv[i], "--json=", 7) && argv[i][7]) {
			o->json_path = argv[i] + 7;
		} else if (argv[i][0] == '-') {
			return bad("%s: unknown option '%s'", cmd, argv[i]);
		} else {
			return bad("%s: unexpected argument '%s'", cmd, argv[i]);
		}
	}
	return 0;
}

/*
 * Runs @bench with the options in @argv, or answers --help. @bench returns
 * 0, -1 if it could not run, or 1 if (cpu) the CPUs computed different results.
 */
static int command(const char *cmd, int argc, char **argv, int (*bench)(const struct bench_opts *o))
{
	struct bench_opts o = { 0 };

	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			usage(stdout);
			return 0;
		}
	}
	int rc = parse(cmd, argc, argv, &o);

	if (rc)
		return rc;
	rc = bench(&o);
	return rc < 0 ? EXIT_FAILED : rc ? EXIT_MISMATCH : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "sched"))
		return command("sched", argc - 2, argv + 2, bench_sched);
	if (!strcmp(argv[1], "tlb"))
		return bench_tlb(argc - 1, argv + 1);
	if (!strcmp(argv[1], "vendors"))
		return bench_vendors(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hyperv"))
		return bench_hyperv(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nested"))
		return bench_nested(argc - 1, argv + 1);
	if (!strcmp(argv[1], "coalesce"))
		return bench_coalesce(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scale"))
		return bench_scale(argc - 1, argv + 1);
	if (!strcmp(argv[1], "numa"))
		return bench_numa(argc - 1, argv + 1);
	if (!strcmp(argv[1], "soak"))
		return bench_soak(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cpu"))
		return command("cpu", argc - 2, argv + 2, bench_cpu);
	return bad("unknown command '%s'", argv[1]);
}
