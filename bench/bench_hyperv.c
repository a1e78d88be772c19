// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench hyperv (docs/hyperv.md, "Benchmark"): what the Hyper-V
 * flush hypercalls buy a guest.
 *
 * 1. Overcommit: the shootdown guest with IPIs and acknowledgements beside
 *    hv-shootdown, the same work with the hypercalls, at 16, 64 and 128
 *    vCPUs on 2 and 8 pCPUs: completion time and the guest's time in its
 *    flush paths (the guest measures the latter with RDTSC). Once in virtual
 *    time, with the deterministic executor simulating the pCPUs (a step is
 *    one guest instruction or one host action of one pCPU; RDTSC reads the
 *    step count), which models 8 pCPUs faithfully on a 2-core host; once in
 *    real time, with the threads executor on this host's cores; and once
 *    more in virtual time with vCPU 0 leading every round (the *_serial
 *    guests), a chain of flushes.
 * 2. List vs Space: hv-breakeven on each vendor and paging mode, the cost of
 *    a flush of N listed pages against a flush of the address space,
 *    including the misses each leaves behind, and the N where Space becomes
 *    the cheaper.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_guest.h"
#include "bench_hyperv.h"

#define REPS 3 /* threads runs per point: the median */

extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;
extern const unsigned char rv_hv_shootdown_guest[];
extern const size_t rv_hv_shootdown_guest_len;
extern const unsigned char rv_shootdown_serial_guest[];
extern const size_t rv_shootdown_serial_guest_len;
extern const unsigned char rv_hv_shootdown_serial_guest[];
extern const size_t rv_hv_shootdown_serial_guest_len;
extern const unsigned char rv_hv_breakeven_guest[];
extern const size_t rv_hv_breakeven_guest_len;

/* ---- 1. Overcommit ---- */

static const uint32_t oc_vcpus[] = { 16, 64, 128 };
static const uint32_t oc_pcpus[] = { 2, 8 };
#define NR_OC_VCPUS (sizeof(oc_vcpus) / sizeof(oc_vcpus[0]))
#define NR_OC_PCPUS (sizeof(oc_pcpus) / sizeof(oc_pcpus[0]))
#define NR_OC	    (NR_OC_VCPUS * NR_OC_PCPUS)

enum { IPI, HCALL, NR_WAYS };
static const char *const way_names[NR_WAYS] = { "ipi", "hypercall" };

struct oc_point {
	double completion; /* virtual: steps per pCPU; real: seconds */
	double flush;	   /* virtual: steps per pCPU; real: TSC cycles */
	uint64_t kicks;
};

struct oc_row {
	uint32_t vcpus, pcpus;
	struct oc_point virt[NR_WAYS], real[NR_WAYS];
	struct oc_point serial[NR_WAYS]; /* vCPU 0 leads every round; virtual time */
};

/* The guest images: [serial][way]. */
static const unsigned char *image_of(bool serial, int way, size_t *len)
{
	if (serial) {
		*len = way == HCALL ? rv_hv_shootdown_serial_guest_len
				    : rv_shootdown_serial_guest_len;
		return way == HCALL ? rv_hv_shootdown_serial_guest : rv_shootdown_serial_guest;
	}
	*len = way == HCALL ? rv_hv_shootdown_guest_len : rv_default_guest_len;
	return way == HCALL ? rv_hv_shootdown_guest : rv_default_guest;
}

/* The guest's "flush paths: L ticks leading flushes, H ticks in flush
 * handlers" line: L + H, or -1 without it. */
static double flush_ticks(const char *console)
{
	const char *line = console ? strstr(console, "flush paths: ") : NULL;
	unsigned long long lead, handler;

	if (!line || sscanf(line, "flush paths: %llu ticks leading flushes, %llu ticks", &lead,
			    &handler) != 2)
		return -1;
	return (double)lead + (double)handler;
}

static void read_kicks(struct rv_vm *vm, void *ctx)
{
	*(uint64_t *)ctx = rv_vm_stat(vm, RV_STAT_kicks_sent);
}

static int run_shootdown(const struct bench_guest_opts *o, bool serial, int way, uint32_t vcpus,
			 uint32_t pcpus, enum rv_executor exec, struct oc_point *out)
{
	struct rv_machine_config mc = {
		.mem_size = 64ull << 20,
		.nr_vcpus = vcpus,
		.hyperv = way == HCALL,
		.oracle = RV_ORACLE_OFF,
		.set_rounds = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = o->rounds },
	};
	struct rv_vm_config vc = {
		.nr_vcpus = vcpus, .nr_pcpus = pcpus, .executor = exec, .seed = 1
	};
	struct bench_guest_result g;
	double ticks;

	mc.image = image_of(serial, way, &mc.image_len);
	if (bench_run_guest("hyperv", mc, vc, read_kicks, &out->kicks, &g))
		return -1;
	ticks = flush_ticks(g.console);
	free(g.console);
	if (g.status || ticks < 0) {
		fprintf(stderr,
			"reqvisor-bench: hyperv: %s on %u vCPUs: the guest failed (status %d)\n",
			way_names[way], vcpus, g.status);
		return -1;
	}
	if (exec == RV_EXEC_DETERMINISTIC) {
		out->completion = (double)g.det_steps / pcpus;
		out->flush = ticks / pcpus;
	} else {
		out->completion = g.seconds;
		out->flush = ticks;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Threads runs are noisy: the median completion, and the median flush time. */
static int run_real(const struct bench_guest_opts *o, int way, uint32_t vcpus, uint32_t pcpus,
		    struct oc_point *out)
{
	unsigned reps = o->quick ? 1 : REPS;
	double c[REPS], f[REPS];
	struct oc_point p;

	for (unsigned k = 0; k < reps; k++) {
		if (run_shootdown(o, false, way, vcpus, pcpus, RV_EXEC_THREADS, &p))
			return -1;
		c[k] = p.completion;
		f[k] = p.flush;
	}
	qsort(c, reps, sizeof(c[0]), cmp_double);
	qsort(f, reps, sizeof(f[0]), cmp_double);
	out->completion = c[reps / 2];
	out->flush = f[reps / 2];
	out->kicks = p.kicks;
	return 0;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

enum oc_kind { OC_VIRTUAL, OC_REAL, OC_SERIAL };

static const struct oc_point *points(const struct oc_row *r, enum oc_kind k)
{
	return k == OC_REAL ? r->real : k == OC_SERIAL ? r->serial : r->virt;
}

/* Virtual time in millions of steps; real time in seconds, and flush paths
 * in millions of cycles. */
static void print_rows(const struct oc_row *rows, unsigned n, enum oc_kind k)
{
	double done_unit = k == OC_REAL ? 1 : 1e6;

	printf("%6s %6s %6s | %10s %10s %6s | %12s %12s %6s\n", "vCPUs", "pCPUs", "ratio",
	       "done: IPI", "hypercall", "gain", "flush: IPI", "hypercall", "gain");
	for (unsigned i = 0; i < n; i++) {
		const struct oc_point *p = points(&rows[i], k);

		printf("%6u %6u %5.0fx | %10.3f %10.3f %5.2fx | %12.3f %12.3f %5.1fx\n",
		       rows[i].vcpus, rows[i].pcpus, (double)rows[i].vcpus / rows[i].pcpus,
		       p[IPI].completion / done_unit, p[HCALL].completion / done_unit,
		       ratio(p[IPI].completion, p[HCALL].completion), p[IPI].flush / 1e6,
		       p[HCALL].flush / 1e6, ratio(p[IPI].flush, p[HCALL].flush));
	}
}

static void print_overcommit(const struct oc_row *rows, unsigned n, bool quick)
{
	printf("\n1a. Overcommit in virtual time (deterministic executor; a step is one guest\n"
	       "    instruction or host action of one pCPU; millions of steps per pCPU)\n\n");
	print_rows(rows, n, OC_VIRTUAL);
	printf("\n1b. Overcommit in real time (threads executor: the pCPUs are threads on\n"
	       "    this host's %ld cores; completion in seconds, flush paths in millions of\n"
	       "    TSC cycles summed over the vCPUs; median of %d runs)\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN), quick ? 1 : REPS);
	print_rows(rows, n, OC_REAL);
	printf("\n1c. One leader: vCPU 0 leads every round, so the run is a chain of\n"
	       "    flushes (virtual time, millions of steps per pCPU)\n\n");
	print_rows(rows, n, OC_SERIAL);
}

static int overcommit(const struct bench_guest_opts *o, struct oc_row *rows, unsigned *n)
{
	*n = 0;
	for (unsigned v = 0; v < NR_OC_VCPUS; v++) {
		for (unsigned p = 0; p < NR_OC_PCPUS; p++) {
			struct oc_row *r = &rows[(*n)++];

			r->vcpus = oc_vcpus[v];
			r->pcpus = oc_pcpus[p];
			for (int w = 0; w < NR_WAYS; w++) {
				if (run_shootdown(o, false, w, r->vcpus, r->pcpus,
						  RV_EXEC_DETERMINISTIC, &r->virt[w]) ||
				    run_real(o, w, r->vcpus, r->pcpus, &r->real[w]) ||
				    run_shootdown(o, true, w, r->vcpus, r->pcpus,
						  RV_EXEC_DETERMINISTIC, &r->serial[w]))
					return -1;
			}
			if (o->quick)
				return 0; /* one point: 16 vCPUs on 2 pCPUs */
		}
	}
	return 0;
}

/* ---- 2. List vs Space ---- */

struct be_backend {
	const char *name;
	bool amd, shadow;
};

static const struct be_backend backends[] = {
	{ "vmx ept", false, false },
	{ "vmx shadow", false, true },
	{ "svm npt", true, false },
	{ "svm shadow", true, true },
};
#define NR_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* hv-breakeven's columns: no flush, lists of these lengths, Space. */
static const unsigned be_lists[] = { 1, 2, 4, 8, 12, 15 };
#define NR_LISTS (sizeof(be_lists) / sizeof(be_lists[0]))
#define NR_SETS	 3

struct be_set {
	unsigned pages;
	double none, list[NR_LISTS], space; /* ticks per round */
};

struct be_row {
	struct be_set set[NR_SETS];
};

static int parse_breakeven(const char *console, struct be_row *out)
{
	const char *at = console;

	for (unsigned s = 0; s < NR_SETS; s++) {
		struct be_set *b = &out->set[s];
		double *v = b->list;
		int used = 0;

		at = at ? strstr(at, "hv-breakeven: ") : NULL;
		if (!at ||
		    sscanf(at, "hv-breakeven: %u pages: %lf%n", &b->pages, &b->none, &used) != 2)
			return -1;
		at += used;
		for (unsigned k = 0; k <= NR_LISTS; k++) {
			double *dst = k < NR_LISTS ? &v[k] : &b->space;

			if (sscanf(at, " %lf%n", dst, &used) != 1)
				return -1;
			at += used;
		}
	}
	return 0;
}

static int run_breakeven_once(const struct bench_guest_opts *o, const struct be_backend *b,
			      struct be_row *out)
{
	struct rv_machine_config mc = {
		.image = rv_hv_breakeven_guest,
		.image_len = rv_hv_breakeven_guest_len,
		.mem_size = 32ull << 20,
		.nr_vcpus = 1,
		.vendor_amd = b->amd,
		.shadow = b->shadow,
		.hyperv = true,
		.oracle = RV_ORACLE_OFF,
		.set_rounds = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = o->quick ? 10 : 500 },
	};
	struct rv_vm_config vc = {
		.nr_vcpus = 1, .nr_pcpus = 1, .executor = RV_EXEC_THREADS, .seed = 1
	};
	struct bench_guest_result g;
	int rc;

	if (bench_run_guest("hyperv", mc, vc, NULL, NULL, &g))
		return -1;
	rc = g.status ? -1 : parse_breakeven(g.console, out);
	free(g.console);
	if (rc)
		fprintf(stderr, "reqvisor-bench: hyperv: hv-breakeven on %s failed (status %d)\n",
			b->name, g.status);
	return rc;
}

static double median3(double a, double b, double c)
{
	double v[3] = { a, b, c };

	qsort(v, 3, sizeof(v[0]), cmp_double);
	return v[1];
}

/* Each cost the median of three runs (one with --quick), each run's cost
 * taken over that run's own no-flush round: the host's cache placement of
 * reqvisor's arrays changes from run to run, and shifts all of a run's
 * figures together. */
static int run_breakeven(const struct bench_guest_opts *o, const struct be_backend *b,
			 struct be_row *out)
{
	struct be_row r[REPS];
	unsigned reps = o->quick ? 1 : REPS;

	_Static_assert(REPS == 3, "median3");
	for (unsigned k = 0; k < reps; k++) {
		if (run_breakeven_once(o, b, &r[k]))
			return -1;
	}
	*out = r[0];
	for (unsigned s = 0; reps == 3 && s < NR_SETS; s++) {
		struct be_set *d = &out->set[s];
		const struct be_set *x = &r[0].set[s], *y = &r[1].set[s], *z = &r[2].set[s];

		d->none = median3(x->none, y->none, z->none);
		d->space = d->none +
			   median3(x->space - x->none, y->space - y->none, z->space - z->none);
		for (unsigned k = 0; k < NR_LISTS; k++)
			d->list[k] = d->none + median3(x->list[k] - x->none, y->list[k] - y->none,
						       z->list[k] - z->none);
	}
	return 0;
}

/*
 * The list length from which Space is no dearer, as text: the first
 * measured length, or beyond 15 (where the FIFO takes no list) the crossing
 * of the line through the 1- and 15-page costs, marked as extrapolated.
 */
static void breakeven_text(const struct be_set *b, char *text, size_t len)
{
	double space = b->space - b->none, first = b->list[0] - b->none;
	double last = b->list[NR_LISTS - 1] - b->none;

	for (unsigned k = 0; k < NR_LISTS; k++) {
		if (b->list[k] - b->none >= space) {
			snprintf(text, len, "%u", be_lists[k]);
			return;
		}
	}
	if (last <= first) {
		snprintf(text, len, "none");
		return;
	}
	snprintf(text, len, "~%.0f (extrap.)", 1 + (space - first) * 14 / (last - first));
}

static void print_breakeven(const struct be_row *rows)
{
	printf("\n2. List vs Space: a flush of its own TLB by one vCPU, with what it costs\n"
	       "   afterwards (the flushed pages of the working set miss): ticks per round\n"
	       "   over a round without a flush (threads executor, host TSC cycles)\n\n");
	printf("%-11s %5s |", "backend", "pages");
	for (unsigned k = 0; k < NR_LISTS; k++)
		printf(" %7s%-2u", "list ", be_lists[k]);
	printf(" %8s | %s\n", "space", "space cheaper from");
	for (unsigned i = 0; i < NR_BACKENDS; i++) {
		for (unsigned s = 0; s < NR_SETS; s++) {
			const struct be_set *b = &rows[i].set[s];
			char text[32];

			printf("%-11s %5u |", s ? "" : backends[i].name, b->pages);
			for (unsigned k = 0; k < NR_LISTS; k++)
				printf(" %9.0f", b->list[k] - b->none);
			breakeven_text(b, text, sizeof(text));
			printf(" %8.0f | %s\n", b->space - b->none, text);
		}
	}
}

/* ---- Output ---- */

static const char *const kind_names[] = { "virtual", "real", "serial" };

static void json_point(FILE *f, const struct oc_point *p)
{
	fprintf(f, "{\"completion\": %.6g, \"flush\": %.6g, \"kicks\": %" PRIu64 "}", p->completion,
		p->flush, p->kicks);
}

static int write_json(const struct bench_guest_opts *o, const struct oc_row *oc, unsigned n,
		      const struct be_row *be)
{
	FILE *f = fopen(o->json_path, "w");

	if (!f) {
		fprintf(stderr, "reqvisor-bench: hyperv: cannot write '%s': %s\n", o->json_path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\"bench\": \"hyperv\", \"rounds\": %u, \"overcommit\": [", o->rounds);
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s\n {\"vcpus\": %u, \"pcpus\": %u, ", i ? "," : "", oc[i].vcpus,
			oc[i].pcpus);
		for (int k = OC_VIRTUAL; k <= OC_SERIAL; k++) {
			for (int w = 0; w < NR_WAYS; w++) {
				fprintf(f, "%s\"%s_%s\": ", k || w ? ", " : "", kind_names[k],
					way_names[w]);
				json_point(f, &points(&oc[i], k)[w]);
			}
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n], \"list_vs_space\": [");
	for (unsigned i = 0; i < NR_BACKENDS; i++) {
		for (unsigned s = 0; s < NR_SETS; s++) {
			const struct be_set *b = &be[i].set[s];

			fprintf(f,
				"%s\n {\"backend\": \"%s\", \"pages\": %u, \"none\": %.0f, "
				"\"list\": [",
				i || s ? "," : "", backends[i].name, b->pages, b->none);
			for (unsigned k = 0; k < NR_LISTS; k++)
				fprintf(f, "%s[%u, %.0f]", k ? ", " : "", be_lists[k], b->list[k]);
			fprintf(f, "], \"space\": %.0f}", b->space);
		}
	}
	fprintf(f, "\n]}\n");
	return fclose(f) ? -1 : 0;
}

static int measure(const struct bench_guest_opts *o)
{
	struct oc_row oc[NR_OC];
	struct be_row be[NR_BACKENDS];
	unsigned n;

	printf("reqvisor-bench hyperv: shootdown with IPIs vs with the Hyper-V flush hypercalls, "
	       "%u rounds, oracle off%s\n",
	       o->rounds, o->quick ? " (quick: one point)" : "");
	fflush(stdout);
	if (overcommit(o, oc, &n))
		return -1;
	print_overcommit(oc, n, o->quick);
	fflush(stdout);
	for (unsigned i = 0; i < NR_BACKENDS; i++) {
		if (run_breakeven(o, &backends[i], &be[i]))
			return -1;
	}
	print_breakeven(be);
	return o->json_path ? write_json(o, oc, n, be) : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench hyperv [--rounds N] [--json FILE] [--quick]\n"
		"\n"
		"What the Hyper-V flush hypercalls buy a guest, in one run:\n"
		"1. shootdown with IPIs beside hv-shootdown at 16, 64 and 128 vCPUs on 2 and\n"
		"   8 pCPUs, completion time and the guest's time in its flush paths, in\n"
		"   virtual time (deterministic executor) and in real time (threads), and\n"
		"   with one vCPU leading every round;\n"
		"2. List vs Space on each vendor and paging mode: the cost of a flush of N\n"
		"   listed pages and of the address space, misses afterwards included.\n"
		"\n"
		"  --rounds N    shootdown rounds, 1 to 100000 (default 64)\n"
		"  --json FILE   also write the figures as JSON to FILE\n"
		"  --quick       16 vCPUs on 2 pCPUs only, 8 rounds, short runs (a smoke test)\n");
}

static int parse(int argc, char **argv, struct bench_guest_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = bench_guest_opt(argc, argv, &i, o);

		if (rc == 1)
			continue;
		return rc ? rc
			  : bench_bad_usage("hyperv",
					    a[0] == '-' ? "unknown option" : "unexpected argument",
					    a);
	}
	if (!o->rounds_set)
		o->rounds = o->quick ? 8 : 64;
	return 0;
}

int bench_hyperv(int argc, char **argv)
{
	struct bench_guest_opts o = { .cmd = "hyperv" };
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
