// SPDX-License-Identifier: MIT
/*
 * Tables 1 and 2: posting a request, and the dispatch loop's idle check, each
 * beside the bare atomic it is built on.
 *
 * Each side is a noinline loop of the same shape, timed as a whole; the two
 * sides alternate round by round so that frequency drift and interrupts hit
 * both alike, and a side's figure is its median round. Atomics are never
 * merged, hoisted or deleted by the compiler, and the idle loops return what
 * they counted into a volatile sink, so neither loop can be optimised away.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"
#include "reqvisor/request.h"
#include "service.h"

/* Any request will do: they differ only in their bit number. */
#define POST_REQ RV_REQ_TLB_FLUSH
#define POST_BIT (1ull << RV_REQ_BIT_TLB_FLUSH)

/* The reference word, alone on its cache line like vcpu->requests. */
static struct {
	_Alignas(64) _Atomic uint64_t w;
} ref_word;

static volatile uint64_t sink;

typedef uint64_t (*bench_loop)(void *arg, uint64_t n);

/* The timed loops start on a cache line of their own so that code placement
 * (a branch straddling a fetch block) cannot favour one side. */
#define TIMED_LOOP BENCH_NOINLINE __attribute__((aligned(64)))

static TIMED_LOOP uint64_t post_fresh(void *arg, uint64_t n)
{
	struct rv_vcpu *v = arg;

	for (uint64_t i = 0; i < n; i++) {
		rv_make_request(v, POST_REQ);
		rv_clear_request(v, rv_request_nr(POST_REQ));
	}
	return 0;
}

/* The same two RMWs, with the same orderings, on a plain word. */
static TIMED_LOOP uint64_t or_and(void *arg, uint64_t n)
{
	_Atomic uint64_t *w = arg;

	for (uint64_t i = 0; i < n; i++) {
		atomic_fetch_or_explicit(w, POST_BIT, memory_order_seq_cst);
		atomic_fetch_and_explicit(w, ~POST_BIT, memory_order_relaxed);
	}
	return 0;
}

/* The bit stays set: every post is coalesced and bumps the statistic. */
static TIMED_LOOP uint64_t post_coalesced(void *arg, uint64_t n)
{
	struct rv_vcpu *v = arg;

	for (uint64_t i = 0; i < n; i++)
		rv_make_request(v, POST_REQ);
	return 0;
}

static TIMED_LOOP uint64_t or_only(void *arg, uint64_t n)
{
	_Atomic uint64_t *w = arg;

	for (uint64_t i = 0; i < n; i++)
		atomic_fetch_or_explicit(w, POST_BIT, memory_order_seq_cst);
	return 0;
}

/* What the dispatch loop does on each pass (dispatch.c, step_host()). */
static TIMED_LOOP uint64_t idle_check(void *arg, uint64_t n)
{
	struct rv_vcpu *v = arg;
	uint64_t stops = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (rv_request_pending(v) && !rv_service_requests(v))
			stops++;
	}
	return stops;
}

/* Out of line and opaque (noipa) like rv_service_requests_mask() in the
 * library, so both loops compile to the same shape: a load, a branch, and a
 * call that is never made but whose clobbers the caller must plan for. */
static __attribute__((noipa)) bool ref_slow_path(_Atomic uint64_t *w)
{
	return atomic_exchange_explicit(w, 0, memory_order_seq_cst) == 0;
}

static TIMED_LOOP uint64_t load_branch(void *arg, uint64_t n)
{
	_Atomic uint64_t *w = arg;
	uint64_t stops = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (atomic_load_explicit(w, memory_order_relaxed) && !ref_slow_path(w))
			stops++;
	}
	return stops;
}

static double time_loop(bench_loop fn, void *arg, uint64_t n)
{
	uint64_t t0 = bench_tsc_begin();

	sink += fn(arg, n);
	uint64_t t1 = bench_tsc_end();

	return bench_ticks_ns(t1 - t0) / (double)n;
}

static int measure_pair(bench_loop fn, void *arg, bench_loop ref, void *ref_arg, uint64_t n,
			unsigned rounds, struct bench_pair *out)
{
	double *a = calloc(rounds, sizeof(*a));
	double *b = calloc(rounds, sizeof(*b));
	struct bench_stats sa, sb;

	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	/* One untimed round each: page in, warm the caches and predictors. */
	time_loop(fn, arg, n);
	time_loop(ref, ref_arg, n);
	for (unsigned i = 0; i < rounds; i++) {
		a[i] = time_loop(fn, arg, n);
		b[i] = time_loop(ref, ref_arg, n);
	}
	bench_stats(a, rounds, &sa);
	bench_stats(b, rounds, &sb);
	out->ns = sa.median;
	out->ref_ns = sb.median;
	out->ratio = sb.median > 0 ? sa.median / sb.median : 0;
	free(a);
	free(b);
	return 0;
}

static int measure_posts(struct rv_vcpu *v, struct bench_post_result *r)
{
	_Atomic uint64_t *w = &ref_word.w;

	atomic_store(w, 0);
	if (measure_pair(post_fresh, v, or_and, w, r->post_iters, r->rounds, &r->fresh))
		return -1;
	/* Both words start with the bit set and keep it. */
	rv_make_request(v, POST_REQ);
	atomic_store(w, POST_BIT);
	if (measure_pair(post_coalesced, v, or_only, w, r->post_iters, r->rounds, &r->coalesced))
		return -1;
	rv_check_request(v, rv_request_nr(POST_REQ));
	atomic_store(w, 0);
	return 0;
}

int bench_post_run(bool quick, struct bench_post_result *r)
{
	struct rv_vm_config cfg = {
		.nr_vcpus = 1,
		.nr_pcpus = 1,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
	};
	struct bench_vm b;

	r->rounds = quick ? 5 : 21;
	r->post_iters = quick ? 1u << 16 : 1u << 20;
	r->idle_iters = quick ? 1u << 22 : 1u << 26;
	/* A real vCPU from a VM that never runs: the benchmark thread is the
	 * only one touching it. */
	if (bench_vm_create(&b, &cfg, "halt", 1, NULL))
		return -1;
	struct rv_vcpu *v = rv_vm_vcpu(b.vm, 0);
	int rc = measure_posts(v, r);

	if (!rc) {
		atomic_store(&ref_word.w, 0);
		rc = measure_pair(idle_check, v, load_branch, &ref_word.w, r->idle_iters, r->rounds,
				  &r->idle);
	}
	bench_vm_destroy(&b);
	return rc;
}
