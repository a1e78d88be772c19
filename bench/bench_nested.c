// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench nested: one L2 on one vCPU calls its L1 once per round
 * (guests/nested_bench.c) after reading a set of pages, for each nested
 * configuration: nVMX with and without a vmcs12 VPID and EPT12, nSVM with
 * and without nested paging under the unconditional and the conditional
 * flush rule, each over L0's TDP and shadow paging. Every figure is the
 * difference between a run of 2R rounds and one of R, so the L1 set-up (the
 * identity maps) drops out: transitions per second, and per transition the
 * pCPU TLB flush operations, L2 page walks and TLB misses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "bench.h"
#include "bench_guest.h"
#include "bench_nested.h"

extern const unsigned char rv_nested_bench_guest[];
extern const size_t rv_nested_bench_guest_len;

struct nested_cfg {
	const char *name;
	bool svm, tdp, conditional;
	unsigned variant; /* the guest's: bit 0 vmcs12 VPID, bit 1 EPT12/NPT */
};

static const struct nested_cfg cfgs[] = {
	{ "vmx  L0 ept, vpid12 off, ept12 off", false, true, false, 0 },
	{ "vmx  L0 ept, vpid12 on,  ept12 off", false, true, false, 1 },
	{ "vmx  L0 ept, vpid12 off, ept12 on", false, true, false, 2 },
	{ "vmx  L0 ept, vpid12 on,  ept12 on", false, true, false, 3 },
	{ "vmx  L0 shadow, vpid12 off, ept12 off", false, false, false, 0 },
	{ "vmx  L0 shadow, vpid12 on,  ept12 off", false, false, false, 1 },
	{ "vmx  L0 shadow, vpid12 off, ept12 on", false, false, false, 2 },
	{ "vmx  L0 shadow, vpid12 on,  ept12 on", false, false, false, 3 },
	{ "svm  L0 npt, npt12 off, unconditional", true, true, false, 0 },
	{ "svm  L0 npt, npt12 off, conditional", true, true, true, 0 },
	{ "svm  L0 npt, npt12 on,  unconditional", true, true, false, 2 },
	{ "svm  L0 npt, npt12 on,  conditional", true, true, true, 2 },
	{ "svm  L0 shadow, npt12 off, unconditional", true, false, false, 0 },
	{ "svm  L0 shadow, npt12 off, conditional", true, false, true, 0 },
	{ "svm  L0 shadow, npt12 on,  unconditional", true, false, false, 2 },
	{ "svm  L0 shadow, npt12 on,  conditional", true, false, true, 2 },
};
#define NR_CFGS (sizeof(cfgs) / sizeof(cfgs[0]))

struct nested_row {
	double per_s;	/* transitions per second */
	double flushes; /* pCPU TLB flush operations per transition */
	double walks;	/* L2 page walks per transition */
	double misses;	/* TLB misses per transition */
	uint64_t transitions;
};

/* The host's time-stamp counter in ticks per second, over 50 ms. */
static double tsc_hz(void)
{
	double s0 = bench_mono_s();
	uint64_t t0 = __rdtsc();

	while (bench_mono_s() - s0 < 0.05)
		;
	return (double)(__rdtsc() - t0) / (bench_mono_s() - s0);
}

/* One run of @rounds: the guest's ticks in L2's loop (RDTSC is the host's
 * in the threads executor), and the machine's totals. */
static int run_once(const struct nested_cfg *c, uint32_t rounds, uint32_t pages,
		    struct bench_guest_result *g, double *ticks)
{
	struct rv_machine_config mc = {
		.mem_size = 32ull << 20,
		.nr_vcpus = 1,
		.vendor_amd = c->svm,
		.shadow = !c->tdp,
		.nested = true,
		.nsvm_conditional = c->conditional,
		.oracle = RV_ORACLE_OFF,
		.image = rv_nested_bench_guest,
		.image_len = rv_nested_bench_guest_len,
		.set_rounds = true,
		.set_pages = true,
		.set_seed = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = rounds,
			    .pages = pages,
			    .seed = c->variant },
	};
	struct rv_vm_config vc = {
		.nr_vcpus = 1, .nr_pcpus = 1, .executor = RV_EXEC_THREADS, .seed = 1
	};

	const char *line;
	unsigned long long t = 0;

	if (bench_run_guest("nested", mc, vc, NULL, NULL, g))
		return -1;
	line = g->console ? strstr(g->console, "in L2 took ") : NULL;
	if (line && sscanf(line, "in L2 took %llu ticks", &t) != 1)
		t = 0;
	free(g->console);
	*ticks = (double)t;
	if (g->status || !t) {
		fprintf(stderr, "reqvisor-bench: nested: %s: the guest failed (status %d)\n",
			c->name, g->status);
		return -1;
	}
	return 0;
}

static uint64_t flush_ops(const struct rv_machine_totals *t)
{
	uint64_t n = 0;

	for (int op = 0; op < 8; op++)
		n += t->flush_calls[op];
	return n;
}

/* The cheapest of @reps runs of R and of 2R rounds (the least disturbed by
 * the host), and their difference. */
static int measure_cfg(const struct nested_cfg *c, uint32_t rounds, unsigned reps, double hz,
		       struct nested_row *row)
{
	double best_a = 0, best_b = 0, ta, tb, secs;
	struct bench_guest_result a, b;

	for (unsigned r = 0; r < reps; r++) {
		if (run_once(c, rounds, 16, &a, &ta) || run_once(c, 2 * rounds, 16, &b, &tb))
			return -1;
		best_a = r && best_a < ta ? best_a : ta;
		best_b = r && best_b < tb ? best_b : tb;
	}
	secs = (best_b - best_a) / hz;
	row->transitions =
		(b.t.nested_entries + b.t.nested_exits) - (a.t.nested_entries + a.t.nested_exits);
	if (row->transitions != 2ull * rounds) {
		fprintf(stderr, "reqvisor-bench: nested: %s: %llu transitions, want %llu\n",
			c->name, (unsigned long long)row->transitions, 2ull * rounds);
		return -1;
	}
	double n = (double)row->transitions;

	row->per_s = secs > 0 ? n / secs : 0;
	row->flushes = (double)(flush_ops(&b.t) - flush_ops(&a.t)) / n;
	row->walks = (double)(b.t.guest_walks - a.t.guest_walks) / n;
	row->misses = (double)(b.t.translation_misses - a.t.translation_misses) / n;
	return 0;
}

static void print_rows(const struct nested_row *rows)
{
	printf("\n%-42s %14s %10s %10s %10s\n", "configuration", "transitions/s", "flushes/t",
	       "walks/t", "misses/t");
	for (unsigned i = 0; i < NR_CFGS; i++)
		printf("%-42s %14.0f %10.2f %10.2f %10.2f\n", cfgs[i].name, rows[i].per_s,
		       rows[i].flushes, rows[i].walks, rows[i].misses);
	printf("\nPer transition (a VM exit or a VM entry): pCPU TLB flush operations, L2 page "
	       "walks and TLB misses,\nfrom the difference of a 2R-round and an R-round run "
	       "(L2 reads 16 pages a round).\n");
	static const char *const pairs[] = { "L0 npt, npt12 off", "L0 npt, npt12 on",
					     "L0 shadow, npt12 off", "L0 shadow, npt12 on" };

	for (unsigned k = 0; k < 4; k++) {
		const struct nested_row *u = &rows[8 + 2 * k], *c = u + 1;

		printf("nSVM conditional vs unconditional (%s): %.2fx the transitions per second; "
		       "flushes %.2f vs %.2f, walks %.2f vs %.2f per transition\n",
		       pairs[k], u->per_s > 0 ? c->per_s / u->per_s : 0, c->flushes, u->flushes,
		       c->walks, u->walks);
	}
}

static int write_json(const char *path, const struct nested_row *rows, uint32_t rounds)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\"bench\": \"nested\", \"rounds\": %u, \"rows\": [", rounds);
	for (unsigned i = 0; i < NR_CFGS; i++)
		fprintf(f,
			"%s\n  {\"config\": \"%s\", \"transitions_per_s\": %.0f, "
			"\"flushes_per_transition\": %.4f, \"walks_per_transition\": %.4f, "
			"\"misses_per_transition\": %.4f}",
			i ? "," : "", cfgs[i].name, rows[i].per_s, rows[i].flushes, rows[i].walks,
			rows[i].misses);
	fprintf(f, "\n]}\n");
	return fclose(f) ? -1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench nested [--rounds N] [--json FILE] [--quick]\n"
		"\n"
		"Nested transitions per configuration, in one table: nVMX with and without a\n"
		"vmcs12 VPID and EPT12, nSVM with and without nested paging under the\n"
		"unconditional (Linux 6.16) and the conditional flush rule, over L0's TDP and\n"
		"shadow paging. One L2 calls its L1 once a round after reading 16 pages.\n"
		"\n"
		"  --rounds N    rounds R (the figures come from 2R minus R), 1 to 100000\n"
		"                (default 20000)\n"
		"  --json FILE   also write the figures as JSON to FILE\n"
		"  --quick       R = 200, one repetition (a smoke test)\n");
}

int bench_nested(int argc, char **argv)
{
	struct bench_guest_opts o = { .cmd = "nested" };
	struct nested_row rows[NR_CFGS];

	if (bench_asks_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = bench_guest_opt(argc, argv, &i, &o);

		if (rc == 1)
			continue;
		return rc ? rc
			  : bench_bad_usage("nested",
					    a[0] == '-' ? "unknown option" : "unexpected argument",
					    a);
	}
	if (!o.rounds_set)
		o.rounds = o.quick ? 200 : 20000;
	printf("reqvisor-bench nested: %u/%u rounds, 1 vCPU on 1 pCPU, threads executor, "
	       "oracle off%s\n",
	       o.rounds, 2 * o.rounds, o.quick ? " (quick)" : ", the cheapest of 5");
	fflush(stdout);
	double hz = tsc_hz();

	for (unsigned i = 0; i < NR_CFGS; i++)
		if (measure_cfg(&cfgs[i], o.rounds, o.quick ? 1 : 5, hz, &rows[i]))
			return 1;
	print_rows(rows);
	return o.json_path && write_json(o.json_path, rows, o.rounds) ? 1 : 0;
}
