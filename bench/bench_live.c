// SPDX-License-Identifier: MIT
/*
 * The measurements that need a running VM: table 4 (kick latency) and the
 * WAIT row of table 3. A live VM has one pCPU, pinned to host CPU 0, whose
 * vCPU 0 runs the synthetic guest forever: the guest polls its pCPU's IPI
 * word between steps, as the software CPU will. The benchmark thread posts
 * from host CPU 1.
 *
 * The physical reference is a cache-line ping-pong between the same two host
 * CPUs, in blocks that alternate with blocks of kicks, each on a fresh VM:
 * the reference never shares CPU 0 with a spinning pCPU.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "kick.h"
#include "sched/pcpu.h"

/* Effectively forever: 4e9 steps a round, a million rounds. The slice is as
 * long, so no slice exit lands among the samples. */
#define FOREVER_SCRIPT "run 4000000000"
#define FOREVER_ROUNDS 1000000
#define FOREVER_SLICE  4000000000u

/* Waits that only a scheduler bug can make this long. */
#define SPIN_TIMEOUT_NS 2e9
#define STOP_TIMEOUT_NS 5000000000ull

#define WAIT_VCPUS 64

struct live_vm {
	struct bench_vm b;
	pthread_t runner;
	bool started;
	_Atomic bool done;
	int rc;
};

static void *run_vm(void *arg)
{
	struct live_vm *l = arg;

	l->rc = rv_vm_run(l->b.vm);
	atomic_store_explicit(&l->done, true, memory_order_release);
	return NULL;
}

/* Spin until @v is in guest mode; false after SPIN_TIMEOUT_NS. */
static bool wait_in_guest(struct rv_vcpu *v)
{
	uint64_t deadline = __rdtsc() + bench_ns_ticks(SPIN_TIMEOUT_NS);

	while (atomic_load_explicit(&v->mode, memory_order_acquire) != RV_IN_GUEST_MODE) {
		if (__rdtsc() > deadline) {
			fprintf(stderr, "reqvisor-bench: vCPU %u did not enter guest mode\n",
				v->index);
			return false;
		}
	}
	return true;
}

/*
 * vCPU 0 runs forever; the others (if any) would halt, but with vCPU 0
 * holding the only pCPU for a whole 4e9-step slice they are never loaded:
 * they stay queued, OUTSIDE_GUEST.
 */
static int live_start(struct live_vm *l, uint32_t nr_vcpus)
{
	struct rv_vm_config cfg = {
		.nr_vcpus = nr_vcpus,
		.nr_pcpus = 1,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
		.slice = FOREVER_SLICE,
		.pin = true,
	};

	l->started = false;
	atomic_init(&l->done, false);
	if (bench_vm_create(&l->b, &cfg, FOREVER_SCRIPT, FOREVER_ROUNDS, "halt"))
		return -1;
	if (pthread_create(&l->runner, NULL, run_vm, l)) {
		fprintf(stderr, "reqvisor-bench: cannot start the VM thread\n");
		bench_vm_destroy(&l->b);
		return -1;
	}
	l->started = true;
	return wait_in_guest(rv_vm_vcpu(l->b.vm, 0)) ? 0 : -1;
}

static bool wait_done(struct live_vm *l)
{
	struct timespec ms = { 0, 1000000 };

	for (uint64_t waited = 0; waited < STOP_TIMEOUT_NS; waited += 1000000) {
		if (atomic_load_explicit(&l->done, memory_order_acquire))
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* VM_DEAD: its handler makes each vCPU finish before its next entry. With
 * one vCPU, a kick does it; with more, a broadcast reaches the queued ones. */
static void post_vm_dead(struct live_vm *l, struct bench_kick_result *k)
{
	struct rv_vm *vm = l->b.vm;

	if (rv_vm_nr_vcpus(vm) == 1) {
		k->ipis += rv_make_request_and_kick(rv_vm_vcpu(vm, 0), RV_REQ_VM_DEAD);
		k->posts++;
	} else {
		rv_make_all_vcpus_request(vm, RV_REQ_VM_DEAD);
	}
}

/* Summed over the kick VMs of every block. */
static void add_exit_stats(struct rv_vm *vm, struct bench_kick_result *k)
{
	k->exits_kick += rv_vm_stat(vm, RV_STAT_exits_kick);
	k->backoffs += rv_vm_stat(vm, RV_STAT_backoffs);
	k->exits_slice += rv_vm_stat(vm, RV_STAT_exits_slice);
}

/*
 * End the run with VM_DEAD, the way the benchmark was asked to, and record
 * whether that worked; if it did not, rv_vm_kill() is the fallback. When
 * neither ends the run, the VM is leaked (its pCPU still spins) and the
 * caller gives up.
 */
static int live_stop(struct live_vm *l, struct bench_stop *stop, struct bench_kick_result *k)
{
	post_vm_dead(l, k);
	stop->vm_dead = wait_done(l);
	if (!stop->vm_dead) {
		fprintf(stderr,
			"reqvisor-bench: RV_REQ_VM_DEAD did not end the run in %llu s; "
			"trying rv_vm_kill()\n",
			STOP_TIMEOUT_NS / 1000000000ull);
		rv_vm_kill(l->b.vm);
		if (!wait_done(l)) {
			fprintf(stderr, "reqvisor-bench: rv_vm_kill() did not end it either\n");
			return -1;
		}
	}
	pthread_join(l->runner, NULL);
	stop->run_rc = l->rc;
	if (rv_vm_nr_vcpus(l->b.vm) == 1)
		add_exit_stats(l->b.vm, k);
	bench_vm_destroy(&l->b);
	return 0;
}

/* After a failure: stop a VM that is running, if it stops. */
static void live_abort(struct live_vm *l)
{
	struct bench_kick_result ignored = { 0 };
	struct bench_stop stop;

	if (l->b.vm && l->started)
		live_stop(l, &stop, &ignored);
}

/*
 * Spin until @v's exit count moves. A lost kick is a scheduler bug, not a
 * reason to hang: the clock is read only every few thousand polls, so the
 * timeout does not slow the poll that ends a sample.
 */
static inline bool wait_exit(struct rv_vcpu *v, uint32_t exits)
{
	uint64_t deadline = 0;

	for (uint32_t n = 1;; n++) {
		if (atomic_load_explicit(&v->exits, memory_order_acquire) != exits)
			return true;
		if (n % 4096)
			continue;
		if (!deadline)
			deadline = __rdtsc() + bench_ns_ticks(SPIN_TIMEOUT_NS);
		else if (__rdtsc() > deadline)
			return false;
	}
}

/* One kick: post EVENT to vCPU 0 in guest mode, until it has left it. */
static int kick_sample(struct rv_vcpu *v, double *ns, bool *valid)
{
	uint32_t exits = atomic_load_explicit(&v->exits, memory_order_acquire);

	if (!wait_in_guest(v))
		return -1;
	uint64_t t0 = bench_tsc_begin();

	*valid = rv_make_request_and_kick(v, RV_REQ_EVENT);
	bool left = wait_exit(v, exits);
	uint64_t t1 = bench_tsc_end();

	*ns = bench_sample_ns(t0, t1);
	if (!left)
		fprintf(stderr, "reqvisor-bench: a kick was lost: vCPU %u still in guest mode\n",
			v->index);
	return left ? 0 : -1;
}

/* Fill @ns with @n kick samples, after a tenth as many for warm-up. */
static int measure_kicks(struct live_vm *l, size_t n, struct bench_kick_result *k, double *ns)
{
	struct rv_vcpu *v = rv_vm_vcpu(l->b.vm, 0);
	size_t got = 0, warm = n / 10;
	bool valid;

	for (size_t i = 0; got < n; i++) {
		if (kick_sample(v, &ns[got], &valid))
			return -1;
		/* No IPI sent: the vCPU was caught between announcing
		 * IN_GUEST and its re-check, and backed off instead. */
		k->posts++;
		k->ipis += valid;
		if (!valid)
			k->discarded++;
		else if (i >= warm)
			got++;
	}
	return 0;
}

static void clear_others(struct rv_vm *vm)
{
	for (uint32_t i = 1; i < rv_vm_nr_vcpus(vm); i++)
		for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++)
			rv_check_request(rv_vm_vcpu(vm, i), nr);
}

/*
 * A WAIT broadcast through the public API, which returns only when vCPU 0
 * has left guest mode. The 63 queued vCPUs are reset outside the timed
 * region as in the rest of table 3, so each post to them is a fresh one.
 */
static int measure_wait(struct live_vm *l, size_t n, struct bench_wait_row *w, double *ns)
{
	struct rv_vm *vm = l->b.vm;
	struct rv_vcpu *v = rv_vm_vcpu(vm, 0);
	uint64_t kicks0 = 0, waits0 = 0;
	size_t warm = n / 10;

	for (size_t i = 0; i < n + warm; i++) {
		if (i == warm) {
			kicks0 = rv_vm_stat(vm, RV_STAT_kicks_sent);
			waits0 = rv_vm_stat(vm, RV_STAT_waits);
		}
		clear_others(vm);
		if (!wait_in_guest(v))
			return -1;
		uint64_t t0 = bench_tsc_begin();

		rv_make_all_vcpus_request(vm, RV_REQ_TLB_FLUSH);
		uint64_t t1 = bench_tsc_end();

		if (i >= warm)
			ns[i - warm] = bench_sample_ns(t0, t1);
	}
	w->vcpus = WAIT_VCPUS;
	w->in_guest = 1;
	w->samples = n;
	w->kicks_mean = (double)(rv_vm_stat(vm, RV_STAT_kicks_sent) - kicks0) / n;
	w->waits_mean = (double)(rv_vm_stat(vm, RV_STAT_waits) - waits0) / n;
	bench_stats(ns, n, &w->ns);
	return 0;
}

/* The reference: CPU 1 writes x, CPU 0 echoes it into y, CPU 1 sees y. */
struct pingpong {
	_Alignas(64) _Atomic uint64_t x;
	_Alignas(64) _Atomic uint64_t y;
	_Alignas(64) uint64_t rounds;
	bool pinned;
};

static void *pong(void *arg)
{
	struct pingpong *pp = arg;

	pp->pinned = !bench_pin_self(BENCH_GUEST_CPU);
	for (uint64_t i = 1; i <= pp->rounds; i++) {
		while (atomic_load_explicit(&pp->x, memory_order_acquire) != i)
			;
		atomic_store_explicit(&pp->y, i, memory_order_release);
	}
	return NULL;
}

static int pingpong(double *ns, size_t n)
{
	static struct pingpong pp;
	size_t warm = n / 10;
	pthread_t t;

	atomic_store(&pp.x, 0);
	atomic_store(&pp.y, 0);
	pp.rounds = n + warm;
	if (pthread_create(&t, NULL, pong, &pp))
		return -1;
	for (uint64_t i = 1; i <= pp.rounds; i++) {
		uint64_t t0 = bench_tsc_begin();

		atomic_store_explicit(&pp.x, i, memory_order_release);
		while (atomic_load_explicit(&pp.y, memory_order_acquire) != i)
			;
		uint64_t t1 = bench_tsc_end();

		if (i > warm)
			ns[i - warm - 1] = bench_sample_ns(t0, t1);
	}
	pthread_join(t, NULL);
	if (!pp.pinned)
		fprintf(stderr, "reqvisor-bench: cannot pin to host CPU %d\n", BENCH_GUEST_CPU);
	return pp.pinned ? 0 : -1;
}

/* One block of kick samples on a VM of its own: stopping it frees host
 * CPU 0 for the next block of the reference. */
static int run_kick_vm(size_t n, struct bench_kick_result *k, double *ns)
{
	struct bench_stop stop;
	struct live_vm l;

	if (live_start(&l, 1) || measure_kicks(&l, n, k, ns)) {
		live_abort(&l);
		return -1;
	}
	if (live_stop(&l, &stop, k))
		return -1;
	k->kick_stop.vm_dead = k->kick_stop.vm_dead && stop.vm_dead;
	if (stop.run_rc)
		k->kick_stop.run_rc = stop.run_rc;
	return 0;
}

static int run_wait_vm(size_t n, struct bench_kick_result *k, struct bench_wait_row *w, double *ns)
{
	struct live_vm l;

	if (live_start(&l, WAIT_VCPUS) || measure_wait(&l, n, w, ns)) {
		live_abort(&l);
		return -1;
	}
	return live_stop(&l, &k->wait_stop, k);
}

/*
 * The kick samples and the reference alternate in blocks: where the host puts
 * this machine's two CPUs can change during a run (on a VM host it does), and
 * the round trip with it, so both sides must sample the same moments.
 */
static int run_all(size_t n, unsigned blocks, struct bench_kick_result *k, struct bench_wait_row *w,
		   double *ns, double *pp)
{
	*k = (struct bench_kick_result){ .kick_stop.vm_dead = true, .blocks = blocks };
	for (unsigned b = 0; b < blocks; b++) {
		size_t lo = n * b / blocks, hi = n * (b + 1) / blocks;

		if (pingpong(pp + lo, hi - lo) || run_kick_vm(hi - lo, k, ns + lo))
			return -1;
	}
	bench_stats(ns, n, &k->kick);
	bench_stats(pp, n, &k->pingpong);
	k->ratio = k->pingpong.median > 0 ? k->kick.median / k->pingpong.median : 0;
	return run_wait_vm(n / 5, k, w, ns);
}

int bench_live_run(bool quick, struct bench_kick_result *k, struct bench_wait_row *w)
{
	size_t n = quick ? 10000 : 200000;
	double *ns = malloc(n * sizeof(*ns));
	double *pp = malloc(n * sizeof(*pp));
	int rc = -1;

	if (ns && pp)
		rc = run_all(n, quick ? 2 : 10, k, w, ns, pp);
	free(ns);
	free(pp);
	return rc;
}
