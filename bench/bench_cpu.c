// SPDX-License-Identifier: MIT
/*
 * `reqvisor-bench cpu`: guest instructions per second of reqvisor's software
 * CPU on three workloads, each beside the same bytes on the host CPU (the
 * physical limit) and on real KVM, measured in the same run on one host CPU.
 *
 * Only the software CPU counts instructions; the workloads are deterministic,
 * so its count for a run is the count of the same run anywhere, provided the
 * run computes the same: every run's registers, flags and data page are
 * checked against the software CPU's. KVM, which may emulate every guest
 * instruction (it does under nested KVM, where all CPL 0 code is emulated),
 * runs fewer iterations; the software CPU runs those too, for their count.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench_cpu.h"
#include "kvm_ref.h"
#include "native_ref.h"

#define MS	       1e6
#define SOFT_TARGET_NS (1000 * MS) /* a software CPU run */
#define KVM_TARGET_NS  (300 * MS)  /* a KVM run: KVM_REF_TIMEOUT_MS is 2 s */
#define PROBE_NS       (50 * MS)   /* calibration runs grow until this long */
#define PROBE_GROWTH   8
/* KVM may emulate at ~1 M instructions/s: its first probe is smaller, well
 * inside KVM_REF_TIMEOUT_MS however slowly it goes. */
#define KVM_PROBE_DIV 64
/* Software and KVM runs per workload, each round followed by native runs:
 * this host's speed drifts by up to 2x for seconds at a time, so the sides
 * alternate and the median is over several rounds. */
#define ROUNDS		 5
#define NATIVE_PER_ROUND 3
#define OVERHEAD_RUNS	 21
#define MAX_SAMPLES	 (ROUNDS * NATIVE_PER_ROUND)

struct engines {
	struct bench_soft *soft;
	struct native_ref *native;
	struct kvm_ref *kvm;
	char native_err[192];
	char kvm_err[192];
	double *overhead_ns;
};

/* Big (a data page each): static, and the benchmark is single-threaded. */
static struct snippet snip;
static struct snippet_result res, ref, ref_kvm;

static const char *const gpr_names[NR_GPRS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

/* ---- the workloads ------------------------------------------------------ */

static void alu_init(struct snippet *s)
{
	s->code = bench_cpu_alu_code;
	s->len = (size_t)(bench_cpu_alu_end - bench_cpu_alu_code);
	s->in.gpr[RAX] = 0x0123456789abcdefull;
	s->in.gpr[RBX] = 0x3c6ef372fe94f82bull;
	s->in.gpr[RDX] = 0xa54ff53a5f1d36f1ull;
	s->in.gpr[RSI] = 0x510e527fade682d1ull;
}

static void mem_init(struct snippet *s)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	s->code = bench_cpu_mem_code;
	s->len = (size_t)(bench_cpu_mem_end - bench_cpu_mem_code);
	s->in.gpr[RDI] = SNIPPET_DATA;
	s->in.gpr[RDX] = 0xbb67ae8584caa73bull;
	for (size_t i = 0; i < SNIPPET_DATA_SIZE; i += sizeof(x)) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		memcpy(s->data + i, &x, sizeof(x));
	}
}

static void c_init(struct snippet *s)
{
	s->code = bench_cpu_c_code;
	s->len = bench_cpu_c_code_len;
	memcpy(s->data, bench_cpu_c_data, bench_cpu_c_data_len);
}

const struct bench_cpu_workload bench_cpu_workloads[BENCH_CPU_WORKLOADS] = {
	{
		.key = "alu",
		.name = "a. ALU loop",
		.what = "add, xor, lea, sub, mov, and, add, dec, jnz on registers",
		.count_reg = RCX,
		.probe = 100000,
		.init = alu_init,
		.has_target = true,
	},
	{
		.key = "load_store",
		.name = "b. load/store",
		.what = "load, add, store, xor from memory, add, and, dec, jnz in one page",
		.count_reg = RCX,
		.probe = 100000,
		.init = mem_init,
	},
	{
		.key = "c_sort_hash",
		.name = "c. C sort + hash",
		.what = "gcc -O2: quicksort of 256 LCG keys, FNV-1a over them (per round)",
		.count_reg = RDI,
		.probe = 1,
		.init = c_init,
	},
};

static void build(const struct bench_cpu_workload *w, uint64_t iterations, struct snippet *s)
{
	memset(s, 0, sizeof(*s));
	s->name = w->key;
	s->in.gpr[RSP] = SNIPPET_STACK;
	s->in.rflags = 2;
	w->init(s);
	s->in.gpr[w->count_reg] = iterations;
}

/* ---- running and checking ----------------------------------------------- */

/* One run of @s on @which: the ns it took, less the runner's own cost. */
static double run_once(struct engines *e, enum bench_cpu_engine which, const struct snippet *s,
		       struct snippet_result *r, struct bench_soft_run *soft)
{
	struct bench_soft_run unused;
	uint64_t t0, t1;

	if (which == ENGINE_SOFT) {
		soft = soft ? soft : &unused;
		bench_soft_run(e->soft, s, r, soft);
		return soft->ns;
	}
	t0 = bench_tsc_begin();
	if (which == ENGINE_NATIVE)
		native_ref_run(e->native, s, r);
	else
		kvm_ref_run(e->kvm, s, r);
	t1 = bench_tsc_end();

	double ns = bench_sample_ns(t0, t1) - e->overhead_ns[which];

	return ns > 0 ? ns : 0;
}

/* Whether @b, a run on another CPU, computed what @a did on the software
 * CPU; if not, the first difference goes to @why. */
static bool same(const struct snippet_result *a, const struct snippet_result *b, char *why,
		 size_t len)
{
	if (b->end != SNIPPET_END_DONE) {
		snprintf(why, len, "ended early: %s", b->message[0] ? b->message : "exception");
		return false;
	}
	for (int i = 0; i < NR_GPRS; i++) {
		if (a->out.gpr[i] != b->out.gpr[i]) {
			snprintf(why, len, "%s %#llx, not %#llx", gpr_names[i],
				 (unsigned long long)b->out.gpr[i],
				 (unsigned long long)a->out.gpr[i]);
			return false;
		}
	}
	if ((a->out.rflags ^ b->out.rflags) & SNIPPET_FLAGS_DEFINED) {
		snprintf(why, len, "rflags %#llx, not %#llx", (unsigned long long)b->out.rflags,
			 (unsigned long long)a->out.rflags);
		return false;
	}
	if (a->out.rip != b->out.rip) {
		snprintf(why, len, "ended at rip %#llx, not %#llx", (unsigned long long)b->out.rip,
			 (unsigned long long)a->out.rip);
		return false;
	}
	for (size_t i = 0; i < SNIPPET_DATA_SIZE; i++) {
		if (a->data[i] != b->data[i]) {
			snprintf(why, len, "data byte at %#llx %#x, not %#x",
				 (unsigned long long)(SNIPPET_DATA + i), b->data[i], a->data[i]);
			return false;
		}
	}
	return true;
}

/* Records a mismatch in @side, keeping the first one. */
static void check(struct bench_cpu_side *side, const struct snippet_result *want,
		  const struct snippet_result *got)
{
	char why[sizeof(side->mismatch)];

	if (same(want, got, why, sizeof(why)) || !side->match)
		return;
	side->match = false;
	memcpy(side->mismatch, why, sizeof(why));
}

/* The median of an empty snippet's runs on @which: its runner's own cost. */
static double empty_run_ns(struct engines *e, enum bench_cpu_engine which, unsigned runs)
{
	double v[OVERHEAD_RUNS];
	struct bench_stats st;

	e->overhead_ns[which] = 0; /* measure it whole, not less an earlier estimate */
	memset(&snip, 0, sizeof(snip));
	snip.name = "empty";
	snip.in.gpr[RSP] = SNIPPET_STACK;
	snip.in.rflags = 2;
	for (unsigned i = 0; i < runs; i++)
		v[i] = run_once(e, which, &snip, &res, NULL);
	bench_stats(v, runs, &st);
	return res.end == SNIPPET_END_DONE ? st.median : 0;
}

/* ---- calibration -------------------------------------------------------- */

/*
 * Iterations for a run of about @target_ns on @which (at most @max): a run
 * grows from the workload's probe until it takes PROBE_NS, then the count
 * is scaled in proportion. Returns 0, or -1 with the run's message in @why.
 */
static int calibrate(struct engines *e, enum bench_cpu_engine which,
		     const struct bench_cpu_workload *w, double target_ns, uint64_t max,
		     uint64_t *iterations, char *why, size_t len)
{
	uint64_t n = which == ENGINE_KVM ? w->probe / KVM_PROBE_DIV : w->probe;

	n = n < 1 ? 1 : n < max ? n : max;

	for (;;) {
		build(w, n, &snip);
		double ns = run_once(e, which, &snip, &res, NULL);

		if (res.end != SNIPPET_END_DONE) {
			snprintf(why, len, "%s", res.message[0] ? res.message : "exception");
			return -1;
		}
		if (ns >= PROBE_NS || n >= max) {
			double scaled = ns > 0 ? (double)n * target_ns / ns : (double)max;

			*iterations = scaled < (double)max ? (uint64_t)scaled : max;
			if (!*iterations)
				*iterations = 1;
			return 0;
		}
		n = n > max / PROBE_GROWTH ? max : n * PROBE_GROWTH;
	}
}

/* ---- one workload on the three CPUs ------------------------------------- */

struct samples {
	double v[NR_ENGINES][MAX_SAMPLES];
	unsigned n[NR_ENGINES];
};

static void finish_side(struct bench_cpu_side *side, double *v, unsigned n)
{
	side->runs = n;
	bench_stats(v, n, &side->ns);
	side->ips = side->ns.median > 0 ? (double)side->instructions * 1e9 / side->ns.median : 0;
}

static void unavailable(struct bench_cpu_side *side, const char *why)
{
	side->available = false;
	snprintf(side->reason, sizeof(side->reason), "%s", why);
}

/* The software CPU's reference run: its result, count and a first timing. */
static int soft_reference(struct engines *e, struct bench_cpu_row *row, struct samples *smp)
{
	struct bench_cpu_side *side = &row->side[ENGINE_SOFT];
	struct bench_soft_run sr;

	build(row->w, side->iterations, &snip);
	smp->v[ENGINE_SOFT][smp->n[ENGINE_SOFT]++] = run_once(e, ENGINE_SOFT, &snip, &ref, &sr);
	if (ref.end != SNIPPET_END_DONE) {
		fprintf(stderr, "reqvisor-bench: %s: %s\n", row->w->name, ref.message);
		return -1;
	}
	side->instructions = sr.instructions;
	row->icache_hits += sr.icache_hits;
	row->icache_misses += sr.icache_misses;
	return 0;
}

/* KVM's iteration count, and the software CPU's result and count for it. */
static void kvm_prepare(struct engines *e, struct bench_cpu_row *row, bool quick)
{
	struct bench_cpu_side *side = &row->side[ENGINE_KVM];
	struct bench_soft_run sr;
	char why[sizeof(side->reason)];

	if (!e->kvm) {
		unavailable(side, e->kvm_err);
		return;
	}
	if (calibrate(e, ENGINE_KVM, row->w, quick ? KVM_TARGET_NS / 10 : KVM_TARGET_NS,
		      row->side[ENGINE_SOFT].iterations, &side->iterations, why, sizeof(why))) {
		unavailable(side, why);
		return;
	}
	build(row->w, side->iterations, &snip);
	run_once(e, ENGINE_SOFT, &snip, &ref_kvm, &sr);
	side->instructions = sr.instructions;
	if (ref_kvm.end != SNIPPET_END_DONE)
		unavailable(side, ref_kvm.message);
}

static void one_round(struct engines *e, struct bench_cpu_row *row, struct samples *smp, bool first)
{
	struct bench_cpu_side *soft = &row->side[ENGINE_SOFT];
	struct bench_cpu_side *native = &row->side[ENGINE_NATIVE];
	struct bench_cpu_side *kvm = &row->side[ENGINE_KVM];
	struct bench_soft_run sr;

	build(row->w, soft->iterations, &snip);
	if (!first) {
		smp->v[ENGINE_SOFT][smp->n[ENGINE_SOFT]++] =
			run_once(e, ENGINE_SOFT, &snip, &res, &sr);
		check(soft, &ref, &res);
		row->icache_hits += sr.icache_hits;
		row->icache_misses += sr.icache_misses;
	}
	for (unsigned i = 0; native->available && i < NATIVE_PER_ROUND; i++) {
		smp->v[ENGINE_NATIVE][smp->n[ENGINE_NATIVE]++] =
			run_once(e, ENGINE_NATIVE, &snip, &res, NULL);
		check(native, &ref, &res);
	}
	if (!kvm->available)
		return;
	build(row->w, kvm->iterations, &snip);
	double ns = run_once(e, ENGINE_KVM, &snip, &res, NULL);

	/* A run KVM cannot finish (it cannot emulate an instruction, or it
	 * timed out) says nothing about the result: no figure, no mismatch. */
	if (res.end == SNIPPET_END_SKIPPED || res.end == SNIPPET_END_ERROR) {
		unavailable(kvm, res.message);
		return;
	}
	smp->v[ENGINE_KVM][smp->n[ENGINE_KVM]++] = ns;
	check(kvm, &ref_kvm, &res);
}

static int measure_row(struct engines *e, bool quick, struct bench_cpu_row *row)
{
	static struct samples smp;
	struct bench_cpu_side *soft = &row->side[ENGINE_SOFT];
	char why[sizeof(soft->reason)];

	memset(&smp, 0, sizeof(smp));
	for (int i = 0; i < NR_ENGINES; i++)
		row->side[i].available = row->side[i].match = true;
	if (calibrate(e, ENGINE_SOFT, row->w, quick ? SOFT_TARGET_NS / 10 : SOFT_TARGET_NS,
		      UINT64_MAX / 2, &soft->iterations, why, sizeof(why))) {
		fprintf(stderr, "reqvisor-bench: %s: %s\n", row->w->name, why);
		return -1;
	}
	if (soft_reference(e, row, &smp))
		return -1;
	row->side[ENGINE_NATIVE].iterations = soft->iterations;
	row->side[ENGINE_NATIVE].instructions = soft->instructions;
	if (!e->native)
		unavailable(&row->side[ENGINE_NATIVE], e->native_err);
	kvm_prepare(e, row, quick);
	for (unsigned i = 0; i < (quick ? 1 : ROUNDS); i++)
		one_round(e, row, &smp, i == 0);
	for (int i = 0; i < NR_ENGINES; i++)
		if (row->side[i].available)
			finish_side(&row->side[i], smp.v[i], smp.n[i]);
	return 0;
}

/* ---- the whole run ------------------------------------------------------ */

/* The references that cannot open are left out, each with its reason. */
static int open_engines(struct engines *e, bool quick)
{
	unsigned runs = quick ? OVERHEAD_RUNS / 4 : OVERHEAD_RUNS;

	/* First, before anything else may take its fixed addresses. */
	e->native = native_ref_open(e->native_err, sizeof(e->native_err));
	e->kvm = kvm_ref_open(e->kvm_err, sizeof(e->kvm_err));
	e->soft = bench_soft_open();
	if (!e->soft) {
		fprintf(stderr, "reqvisor-bench: out of memory\n");
		return -1;
	}
	/* Twice: the first pass warms up caches and, for KVM, its MMU. */
	for (int pass = 0; pass < 2; pass++) {
		if (e->native)
			e->overhead_ns[ENGINE_NATIVE] = empty_run_ns(e, ENGINE_NATIVE, runs);
		if (e->kvm)
			e->overhead_ns[ENGINE_KVM] = empty_run_ns(e, ENGINE_KVM, runs);
	}
	return 0;
}

static void close_engines(struct engines *e)
{
	bench_soft_close(e->soft);
	kvm_ref_close(e->kvm);
	native_ref_close(e->native);
}

/*
 * The busy and the total time of the host CPUs other than @self so far, from
 * /proc/stat (user, nice, system, idle, iowait, irq, softirq, steal).
 */
static int others_time(int self, uint64_t *busy, uint64_t *all)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	*busy = *all = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8];
		int cpu;

		/* Per-CPU lines only: "cpu " is the sum of them all. */
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu == self)
			continue;
		*busy += v[0] + v[1] + v[2] + v[5] + v[6];
		*all += v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	}
	fclose(f);
	return 0;
}

/* The host CPU to run on: CPU 1 as `sched` uses, or CPU 0 on a one-CPU host. */
static int pin(void)
{
	int cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? BENCH_HOST_CPU : 0;

	if (bench_pin_self(cpu)) {
		fprintf(stderr, "reqvisor-bench: cannot pin to host CPU %d\n", cpu);
		return -1;
	}
	return cpu;
}

int bench_cpu_measure(const struct bench_opts *o, struct bench_cpu_result *r)
{
	struct engines e = { .overhead_ns = r->overhead_ns };
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->quick = o->quick;
	/* Pinned first: the native reference's timer signals the thread that
	 * opens it, and KVM's vCPU runs on the thread that enters it. */
	r->host_cpu = pin();
	if (r->host_cpu < 0 || bench_clock_init(o->quick))
		return -1;
	if (open_engines(&e, o->quick)) {
		close_engines(&e);
		return -1;
	}
	uint64_t busy0, all0, busy1, all1;
	int stat = others_time(r->host_cpu, &busy0, &all0);

	for (int i = 0; i < BENCH_CPU_WORKLOADS && !rc; i++) {
		r->row[i].w = &bench_cpu_workloads[i];
		rc = measure_row(&e, o->quick, &r->row[i]);
	}
	stat |= others_time(r->host_cpu, &busy1, &all1);
	r->others_busy = !stat && all1 > all0 ? (double)(busy1 - busy0) / (all1 - all0) : -1;
	close_engines(&e);
	return rc;
}

static int write_json(FILE *f, const char *path, const struct bench_cpu_result *r)
{
	bench_cpu_report_json(f, r);
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "reqvisor-bench: cannot write '%s'\n", path);
		return -1;
	}
	return 0;
}

/* 0 once everything is measured and every CPU computed the same; 1 if some
 * did not (the figures are then not comparable); -1 if it could not run. */
int bench_cpu(const struct bench_opts *o)
{
	static struct bench_cpu_result r;
	FILE *json = NULL;

	/* Open it now: a bad path should not cost a whole run. */
	if (o->json_path && !(json = fopen(o->json_path, "w"))) {
		fprintf(stderr, "reqvisor-bench: cannot open '%s': %s\n", o->json_path,
			strerror(errno));
		return -1;
	}
	if (bench_cpu_measure(o, &r)) {
		/* No figures: leave no empty file that looks like a result. */
		if (json) {
			fclose(json);
			unlink(o->json_path);
		}
		return -1;
	}
	bool agree = bench_cpu_report(stdout, &r);

	fflush(stdout);
	if (json && write_json(json, o->json_path, &r))
		return -1;
	return agree ? 0 : 1;
}
