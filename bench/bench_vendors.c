// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench vendors: the built-in shootdown guest on each vendor
 * backend and paging mode, side by side in one run (docs/vendors.md). For
 * each: guest throughput, TLB misses and walks per thousand TLB lookups, the
 * vendor flush operations the requests became, and the hardware flushes
 * they executed with the entries each kind removed.
 *
 * The runs use the threads executor (throughput is a wall-clock figure) with
 * the oracle off (it would dominate the time); the guest suite runs the same
 * matrix with the oracle full. Counts vary a little from run to run because
 * the interleaving does; the table shows the run of median throughput.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_guest.h"
#include "bench_vendors.h"
#include "machine/machine.h"
#include "mmu/tlb.h"
#include "reqvisor/request.h"

#define EXIT_USAGE 2
#define MAX_VCPUS  64
#define REPS	   3

extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;

struct vendor_row {
	const char *name;
	bool amd, shadow, new_asid;
	uint32_t vpids; /* 0: all 65,536 */
};

static const struct vendor_row rows[] = {
	{ "vmx ept", false, false, false, 0 },
	{ "vmx ept, no VPID", false, false, false, 1 },
	{ "vmx shadow", false, true, false, 0 },
	{ "svm npt", true, false, false, 0 },
	{ "svm npt, new ASID", true, false, true, 0 },
	{ "svm shadow", true, true, false, 0 },
};

#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

/* The vendor operations a request can become (the stats of reqvisor run). */
static const enum rv_stat_id vendor_ops[] = { RV_STAT_flush_all, RV_STAT_flush_current,
					      RV_STAT_flush_guest, RV_STAT_flush_gva };
static const char *const vendor_op_names[] = { "all", "current", "guest", "gva" };
#define NR_VENDOR_OPS 4

/* The hardware flushes worth a column (IF is the oracle's, never a guest's). */
static const enum rv_tlb_flush_op hw_ops[] = { RV_TLB_FLUSH_ALL, RV_TLB_FLUSH_TAG,
					       RV_TLB_FLUSH_NONGLOBAL, RV_TLB_FLUSH_ADDR,
					       RV_TLB_FLUSH_EPTRTA };
static const char *const hw_op_names[] = { "all", "tag", "nonglobal", "addr", "eptrta" };
#define NR_HW_OPS 5

struct vendor_result {
	double seconds;
	struct rv_machine_totals t;
	uint64_t vendor_calls[NR_VENDOR_OPS];
	uint64_t serviced_flush; /* TLB_FLUSH + CURRENT + GUEST requests serviced */
	int status;		 /* the guest's exit status, -1: did not finish */
};

struct vendor_opts {
	struct bench_guest_opts g;
	uint32_t vcpus;
};

/* The vendor calls and serviced flush requests, read before the VM goes. */
static void read_vm(struct rv_vm *vm, void *ctx)
{
	struct vendor_result *out = ctx;

	for (int k = 0; k < NR_VENDOR_OPS; k++)
		out->vendor_calls[k] = rv_vm_stat(vm, vendor_ops[k]);
	out->serviced_flush = rv_vm_requests_serviced(vm, RV_REQ_BIT_TLB_FLUSH) +
			      rv_vm_requests_serviced(vm, RV_REQ_BIT_TLB_FLUSH_CURRENT) +
			      rv_vm_requests_serviced(vm, RV_REQ_BIT_TLB_FLUSH_GUEST);
}

static int run_one(const struct vendor_opts *o, const struct vendor_row *r,
		   struct vendor_result *out)
{
	struct rv_machine_config mc = {
		.image = rv_default_guest,
		.image_len = rv_default_guest_len,
		.mem_size = 64ull << 20,
		.nr_vcpus = o->vcpus,
		.vendor_amd = r->amd,
		.shadow = r->shadow,
		.svm_new_asid = r->new_asid,
		.vpids = r->vpids,
		.oracle = RV_ORACLE_OFF,
		.set_rounds = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = o->g.rounds },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct rv_vm_config vc = {
		.nr_vcpus = o->vcpus,
		.nr_pcpus = cpus > 1 ? (cpus < o->vcpus ? (uint32_t)cpus : o->vcpus) : 1,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
	};
	struct bench_guest_result g;

	if (bench_run_guest("vendors", mc, vc, read_vm, out, &g))
		return -1;
	free(g.console);
	out->seconds = g.seconds;
	out->status = g.status;
	out->t = g.t;
	return 0;
}

static double ips(const struct vendor_result *r)
{
	return r->seconds > 0 ? (double)r->t.instructions / r->seconds : 0;
}

/* The run of median throughput among @n. */
static const struct vendor_result *median_run(const struct vendor_result *runs, unsigned n)
{
	unsigned best = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned below = 0;

		for (unsigned j = 0; j < n; j++)
			below += ips(&runs[j]) < ips(&runs[i]);
		if (below == n / 2)
			best = i;
	}
	return &runs[best];
}

static double per_mille(uint64_t n, uint64_t of)
{
	return of ? 1000.0 * (double)n / (double)of : 0;
}

static void print_walks(const struct vendor_result *res)
{
	printf("\n1. Throughput and walks (per 1000 TLB lookups; the CPU's last-page cache\n"
	       "   serves the accesses that never reach the TLB)\n\n");
	printf("%-20s %8s %10s %9s %8s %8s %8s %8s %8s\n", "backend", "Minsn/s", "lookups",
	       "lookups/", "misses", "guest", "2nd-stg", "shadow", "shadow");
	printf("%-20s %8s %10s %9s %8s %8s %8s %8s %8s\n", "", "", "", "1000 insn", "", "walks",
	       "walks", "hits", "faults");
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct vendor_result *r = &res[i];
		const struct rv_machine_totals *t = &r->t;

		printf("%-20s %8.1f %10" PRIu64 " %9.1f %8.2f %8.2f %8.3f %8.2f %8.2f\n",
		       rows[i].name, ips(r) / 1e6, t->translations,
		       per_mille(t->translations, t->instructions),
		       per_mille(t->translation_misses, t->translations),
		       per_mille(t->guest_walks, t->translations),
		       per_mille(t->tdp_walks, t->translations),
		       per_mille(t->shadow_hits, t->translations),
		       per_mille(t->shadow_faults, t->translations));
	}
}

static void print_flushes(const struct vendor_result *res)
{
	printf("\n2. Flushes: the vendor operations the requests became (calls), and the\n"
	       "   hardware flushes executed: calls / entries killed per call\n\n");
	printf("%-20s %7s |", "backend", "flush rq");
	for (int k = 0; k < NR_VENDOR_OPS; k++)
		printf(" %7s", vendor_op_names[k]);
	printf(" |");
	for (int k = 0; k < NR_HW_OPS; k++)
		printf(" %14s", hw_op_names[k]);
	printf("\n");
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct vendor_result *r = &res[i];

		printf("%-20s %7" PRIu64 " |", rows[i].name, r->serviced_flush);
		for (int k = 0; k < NR_VENDOR_OPS; k++)
			printf(" %7" PRIu64, r->vendor_calls[k]);
		printf(" |");
		for (int k = 0; k < NR_HW_OPS; k++) {
			uint64_t calls = r->t.flush_calls[hw_ops[k]];
			char cell[32];

			snprintf(cell, sizeof(cell), "%" PRIu64 "/%.1f", calls,
				 calls ? (double)r->t.flush_killed[hw_ops[k]] / (double)calls
				       : 0.0);
			printf(" %14s", cell);
		}
		printf("\n");
	}
}

static int write_json(const struct vendor_opts *o, const struct vendor_result *res)
{
	FILE *f = fopen(o->g.json_path, "w");

	if (!f) {
		fprintf(stderr, "reqvisor-bench: vendors: cannot write '%s': %s\n", o->g.json_path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\"bench\": \"vendors\", \"vcpus\": %u, \"rounds\": %u, \"rows\": [", o->vcpus,
		o->g.rounds);
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct vendor_result *r = &res[i];
		const struct rv_machine_totals *t = &r->t;

		fprintf(f,
			"%s\n {\"backend\": \"%s\", \"seconds\": %.6f, \"instructions\": %" PRIu64
			", \"lookups\": %" PRIu64 ", \"misses\": %" PRIu64
			", \"guest_walks\": %" PRIu64 ", \"tdp_walks\": %" PRIu64
			", \"shadow_hits\": %" PRIu64 ", \"shadow_faults\": %" PRIu64
			", \"flush_requests\": %" PRIu64,
			i ? "," : "", rows[i].name, r->seconds, t->instructions, t->translations,
			t->translation_misses, t->guest_walks, t->tdp_walks, t->shadow_hits,
			t->shadow_faults, r->serviced_flush);
		for (int k = 0; k < NR_VENDOR_OPS; k++)
			fprintf(f, ", \"vendor_%s\": %" PRIu64, vendor_op_names[k],
				r->vendor_calls[k]);
		for (int k = 0; k < NR_HW_OPS; k++)
			fprintf(f, ", \"hw_%s\": [%" PRIu64 ", %" PRIu64 "]", hw_op_names[k],
				t->flush_calls[hw_ops[k]], t->flush_killed[hw_ops[k]]);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
	return fclose(f) ? -1 : 0;
}

static int measure(const struct vendor_opts *o)
{
	unsigned reps = o->g.quick ? 1 : REPS;
	struct vendor_result runs[REPS], res[NR_ROWS];
	int rc = 0;

	printf("reqvisor-bench vendors: the shootdown guest, %u vCPUs, %u rounds, threads "
	       "executor, oracle off; median of %u runs\n",
	       o->vcpus, o->g.rounds, reps);
	for (unsigned i = 0; i < NR_ROWS && !rc; i++) {
		for (unsigned k = 0; k < reps && !rc; k++) {
			rc = run_one(o, &rows[i], &runs[k]);
			if (!rc && runs[k].status) {
				fprintf(stderr,
					"reqvisor-bench: vendors: %s: the guest failed (status "
					"%d)\n",
					rows[i].name, runs[k].status);
				rc = -1;
			}
		}
		if (!rc)
			res[i] = *median_run(runs, reps);
	}
	if (rc)
		return rc;
	print_walks(res);
	print_flushes(res);
	return o->g.json_path ? write_json(o, res) : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench vendors [--vcpus N] [--rounds N] [--json FILE] [--quick]\n"
		"\n"
		"The built-in shootdown guest on each vendor backend and paging mode (VMX\n"
		"with EPT, with EPT and no VPID, with shadow paging; SVM with NPT, with NPT\n"
		"flushing by a fresh ASID, with shadow paging), in one run: guest\n"
		"throughput, TLB misses and walks per 1000 TLB lookups, the vendor flush\n"
		"operations the requests became, and the hardware flushes with the\n"
		"entries each kind killed.\n"
		"\n"
		"  --vcpus N     vCPUs of the guest, 2 to %u (default 4)\n"
		"  --rounds N    shootdown rounds, 1 to 100000 (default 1000)\n"
		"  --json FILE   also write the figures as JSON to FILE\n"
		"  --quick       64 rounds and one run per backend (a smoke test)\n",
		MAX_VCPUS);
}

static int bad(const char *msg, const char *arg)
{
	return bench_bad_usage("vendors", msg, arg);
}

static int parse(int argc, char **argv, struct vendor_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = bench_guest_opt(argc, argv, &i, &o->g);

		if (rc == 1)
			continue;
		if (rc)
			return rc;
		if (strcmp(a, "--vcpus"))
			return bad(a[0] == '-' ? "unknown option" : "unexpected argument", a);
		if (!next || bench_parse_u32(next, 2, MAX_VCPUS, &o->vcpus))
			return bad("--vcpus needs a number from 2 to 64, not",
				   next ? next : "nothing");
		i++;
	}
	if (!o->g.rounds_set)
		o->g.rounds = o->g.quick ? 64 : 1000;
	return 0;
}

int bench_vendors(int argc, char **argv)
{
	struct vendor_opts o = { .g.cmd = "vendors", .vcpus = 4 };
	int rc;

	if (bench_asks_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	return measure(&o) ? 1 : 0;
}
