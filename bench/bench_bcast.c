// SPDX-License-Identifier: MIT
/*
 * Table 3: rv_broadcast() to every vCPU of a VM that never runs, with 0, 1
 * or 2 of them put "in guest mode" by hand (mode IN_GUEST, loaded on a pCPU),
 * the way tests/test_kick.c does. The broadcaster then flips those to EXITING
 * and stores their pCPU's IPI word, and only those: the kick count must equal
 * the number in guest mode exactly.
 *
 * A sample is timed between two TSC reads, the cost of an empty bracket
 * subtracted. Between samples, outside the timed region, every vCPU's pending
 * bits are cleared (rv_check_request, bit by bit, as a vCPU would) and the
 * chosen ones are put back in guest mode, so every post is a fresh one.
 * Caches are warm: the reset has just touched every vCPU.
 *
 * The TSC of some hosts ticks in steps of several ns, too coarse for a
 * broadcast to one vCPU. Small sizes are therefore timed in batches: one
 * sample broadcasts once to each of BATCH_VMS identical VMs, back to back,
 * and is divided by BATCH_VMS. Separate VMs mean nothing has to be reset
 * inside the timed region, so there is no reset cost to subtract.
 *
 * bench_bcast_measure() is the same measurement for any number in guest mode
 * (`reqvisor-bench scale` puts 0 to 100% of them there); table 3 is its
 * rows of 0, 1 and 2.
 */
#include <stdlib.h>

#include "bench.h"
#include "kick.h"
#include "sched/pcpu.h"

static const uint32_t sizes[BENCH_BCAST_SIZES] = { 1, 8, 64, 256, 1024 };

#define MAX_IN_GUEST	2 /* table 3 */
#define BATCH_VMS	64
#define BATCH_MAX_VCPUS 8 /* sizes up to this are timed in batches */

/* The VMs of one size: BATCH_VMS of them when batched, else one. */
struct bcast_group {
	struct bench_vm b[BATCH_VMS];
	uint32_t nr_vms;
	uint32_t nr; /* vCPUs per VM */
	struct rv_bcast_count count[BATCH_VMS];
};

struct bcast_setup {
	struct bcast_group *g;
	uint32_t in_guest;
	struct rv_vcpu **guest; /* in_guest per VM: VM m's are guest[m * in_guest ...] */
};

static void clear_requests(struct rv_vcpu *v)
{
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++)
		rv_check_request(v, nr);
}

/* Load @v on pCPU @p and enter guest mode, IPI word clear (try_enter()). */
static void enter_guest(struct rv_vcpu *v, struct rv_pcpu *p)
{
	atomic_store_explicit(&v->pcpu, p, memory_order_release);
	atomic_store_explicit(&p->ipi, 0, memory_order_relaxed);
	atomic_store_explicit(&v->mode, RV_IN_GUEST_MODE, memory_order_seq_cst);
}

static void reset_vm(struct rv_vm *vm, struct rv_vcpu *const *guest, uint32_t in_guest)
{
	for (uint32_t i = 0; i < rv_vm_nr_vcpus(vm); i++)
		clear_requests(rv_vm_vcpu(vm, i));
	for (uint32_t j = 0; j < in_guest; j++)
		enter_guest(guest[j], vm->pcpus[j % vm->nr_pcpus]);
}

static void reset(struct bcast_setup *s)
{
	for (uint32_t m = 0; m < s->g->nr_vms; m++)
		reset_vm(s->g->b[m].vm, s->guest + (size_t)m * s->in_guest, s->in_guest);
}

/* Spread the guests evenly over the set (one: the first vCPU; two: the first
 * and the middle one). */
static int pick_guests(struct bcast_setup *s)
{
	s->guest = calloc((size_t)s->g->nr_vms * s->in_guest + 1, sizeof(*s->guest));
	if (!s->guest)
		return -1;
	for (uint32_t m = 0; m < s->g->nr_vms; m++)
		for (uint32_t j = 0; j < s->in_guest; j++)
			s->guest[(size_t)m * s->in_guest + j] =
				rv_vm_vcpu(s->g->b[m].vm, j * s->g->nr / s->in_guest);
	return 0;
}

static void leave_all(struct bcast_setup *s)
{
	for (size_t j = 0; j < (size_t)s->g->nr_vms * s->in_guest; j++)
		atomic_store(&s->guest[j]->mode, RV_OUTSIDE_GUEST_MODE);
	s->in_guest = 0;
	reset(s);
	free(s->guest);
	s->guest = NULL;
}

/* Fewer samples when one touches more vCPUs: about the same time a row. */
static size_t nr_samples(bool quick, uint32_t vcpus)
{
	size_t n = (quick ? 200000 : 2000000) / vcpus;
	size_t lo = quick ? 100 : 1000, hi = quick ? 2000 : 20000;

	return n < lo ? lo : n > hi ? hi : n;
}

/* One sample: a broadcast to each VM of the group, in ns per broadcast. */
static double one_sample(struct bcast_setup *s)
{
	struct bcast_group *g = s->g;

	reset(s);
	for (uint32_t m = 0; m < g->nr_vms; m++)
		g->count[m] = (struct rv_bcast_count){ 0 };
	uint64_t t0 = bench_tsc_begin();

	for (uint32_t m = 0; m < g->nr_vms; m++)
		rv_broadcast(g->b[m].vm, RV_REQ_TLB_FLUSH, NULL, NULL, NULL, &g->count[m]);
	uint64_t t1 = bench_tsc_end();

	return bench_sample_ns(t0, t1) / g->nr_vms;
}

static void count_kicks(struct bcast_setup *s, struct bench_bcast_row *row, uint64_t *kicks)
{
	for (uint32_t m = 0; m < s->g->nr_vms; m++) {
		const struct rv_bcast_count *c = &s->g->count[m];

		*kicks += c->kicks;
		row->kicks_min = c->kicks < row->kicks_min ? c->kicks : row->kicks_min;
		row->kicks_max = c->kicks > row->kicks_max ? c->kicks : row->kicks_max;
		if (c->avoided != s->g->nr - s->in_guest)
			row->avoided_exact = false;
	}
}

static int measure_row(struct bcast_setup *s, bool quick, struct bench_bcast_row *row)
{
	size_t n = nr_samples(quick, s->g->nr * s->g->nr_vms);
	double *ns = malloc(n * sizeof(*ns));
	uint64_t kicks = 0;

	if (!ns)
		return -1;
	row->vcpus = s->g->nr;
	row->in_guest = s->in_guest;
	row->batch = s->g->nr_vms;
	row->samples = n;
	row->kicks_min = ~0u;
	row->avoided_exact = true;
	/* Warm-up: the first broadcast also registers this thread with RCU. */
	for (size_t i = 0; i < n / 10 + 1; i++)
		one_sample(s);
	for (size_t i = 0; i < n; i++) {
		ns[i] = one_sample(s);
		count_kicks(s, row, &kicks);
	}
	row->kicks_mean = (double)kicks / ((double)n * s->g->nr_vms);
	bench_stats(ns, n, &row->ns);
	free(ns);
	return 0;
}

static void group_destroy(struct bcast_group *g)
{
	for (uint32_t m = 0; m < g->nr_vms; m++)
		bench_vm_destroy(&g->b[m]);
	free(g);
}

static struct bcast_group *group_create(uint32_t nr)
{
	/* Two pCPUs, so that two guests have two IPI words. Never run. */
	struct rv_vm_config cfg = {
		.nr_vcpus = nr,
		.nr_pcpus = 2,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
		.pin = false,
	};
	struct bcast_group *g = calloc(1, sizeof(*g));
	uint32_t want = nr <= BATCH_MAX_VCPUS ? BATCH_VMS : 1;

	if (!g)
		return NULL;
	g->nr = nr;
	for (; g->nr_vms < want; g->nr_vms++) {
		if (bench_vm_create(&g->b[g->nr_vms], &cfg, "halt", 1, NULL)) {
			group_destroy(g);
			return NULL;
		}
	}
	return g;
}

int bench_bcast_measure(uint32_t vcpus, const uint32_t *in_guest, unsigned nr_rows, bool quick,
			struct bench_bcast_row *rows)
{
	struct bcast_group *g;
	int rc = 0;

	for (unsigned i = 0; i < nr_rows; i++)
		if (in_guest[i] > vcpus)
			return -1;
	g = group_create(vcpus);
	if (!g)
		return -1;
	for (unsigned i = 0; i < nr_rows && !rc; i++) {
		struct bcast_setup s = { .g = g, .in_guest = in_guest[i] };

		rc = pick_guests(&s);
		if (rc)
			break;
		rc = measure_row(&s, quick, &rows[i]);
		leave_all(&s);
	}
	group_destroy(g);
	return rc;
}

int bench_bcast_run(bool quick, struct bench_bcast_result *r)
{
	static const uint32_t in_guest[MAX_IN_GUEST + 1] = { 0, 1, 2 };

	r->nr_rows = 0;
	for (unsigned i = 0; i < BENCH_BCAST_SIZES; i++) {
		unsigned n = sizes[i] < MAX_IN_GUEST ? sizes[i] + 1 : MAX_IN_GUEST + 1;

		if (bench_bcast_measure(sizes[i], in_guest, n, quick, &r->row[r->nr_rows]))
			return -1;
		r->nr_rows += n;
	}
	return 0;
}
