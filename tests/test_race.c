// SPDX-License-Identifier: MIT
/*
 * The lost-request race. Poster threads post EVENT requests, each carrying a
 * sequence number, to vCPUs that the threads executor keeps entering and
 * leaving guest mode. A poster publishes "kicked = n" only after its post and
 * kick of request n returned. At every guest step the vCPU reads the kicked
 * numbers, then its IPI word and mode: if no kick is on its way, every request
 * a poster finished posting must already have been serviced. A request posted
 * before an entry that the entry did not see, and whose poster saw no guest
 * mode to kick, shows up here as a violation.
 *
 * With entry.no_recheck (a breaking fault) the same test must find
 * violations, which is what proves it can fail.
 */
#include <pthread.h>

#include "helpers.h"
#include "reqvisor/request.h"

#define NR_VCPUS   4
#define NR_POSTERS 2

static _Atomic uint64_t posted_seq[NR_VCPUS][NR_POSTERS];
static _Atomic uint64_t kicked_seq[NR_VCPUS][NR_POSTERS];
static _Atomic uint64_t violations;
static _Atomic int stop;

struct race_vcpu {
	uint64_t serviced[NR_POSTERS];
};

static int race_init(struct rv_vcpu *v)
{
	v->backend_data = calloc(1, sizeof(struct race_vcpu));
	return v->backend_data ? 0 : -1;
}

static void race_free(struct rv_vcpu *v)
{
	free(v->backend_data);
}

static bool kick_on_its_way(struct rv_vcpu *v, const _Atomic uint32_t *ipi)
{
	return atomic_load_explicit(ipi, memory_order_seq_cst) ||
	       atomic_load_explicit(&v->mode, memory_order_seq_cst) != RV_IN_GUEST_MODE;
}

static enum rv_exit race_run(struct rv_vcpu *v, const _Atomic uint32_t *ipi, uint32_t budget,
			     uint32_t *used)
{
	struct race_vcpu *r = v->backend_data;
	uint64_t kicked[NR_POSTERS];

	for (;;) {
		for (int p = 0; p < NR_POSTERS; p++)
			kicked[p] = atomic_load_explicit(&kicked_seq[v->index][p],
							 memory_order_seq_cst);
		if (kick_on_its_way(v, ipi))
			return RV_EXIT_KICK;
		for (int p = 0; p < NR_POSTERS; p++)
			if (kicked[p] > r->serviced[p])
				atomic_fetch_add(&violations, 1);
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			return RV_EXIT_DONE;
		if (++*used == budget)
			return RV_EXIT_NONE;
	}
}

static void race_on_event(struct rv_vcpu *v)
{
	struct race_vcpu *r = v->backend_data;

	for (int p = 0; p < NR_POSTERS; p++)
		r->serviced[p] =
			atomic_load_explicit(&posted_seq[v->index][p], memory_order_acquire);
}

static const struct rv_backend_ops race_backend = {
	.name = "lost-request-race",
	.vcpu_init = race_init,
	.vcpu_free = race_free,
	.run = race_run,
	.on_event = race_on_event,
};

struct poster {
	struct rv_vm *vm;
	int id;
	unsigned long iters;
};

static void *poster_thread(void *arg)
{
	struct poster *ps = arg;

	for (unsigned long n = 1; n <= ps->iters; n++) {
		unsigned i = (unsigned)(n * 2654435761u >> 7) % NR_VCPUS;
		uint64_t seq = n;

		atomic_store_explicit(&posted_seq[i][ps->id], seq, memory_order_release);
		rv_make_request_and_kick(rv_vm_vcpu(ps->vm, i), RV_REQ_EVENT);
		atomic_store_explicit(&kicked_seq[i][ps->id], seq, memory_order_seq_cst);
	}
	return NULL;
}

static void *run_thread(void *arg)
{
	rv_vm_run(arg);
	return NULL;
}

struct race_result {
	uint64_t violations;
	uint64_t backoffs;
	uint64_t kicks;
	uint64_t entries;
};

static struct race_result race(const char *faults, unsigned long iters)
{
	struct rv_vm_config cfg = test_config(NR_VCPUS, 2, RV_EXEC_THREADS, 1);
	struct poster ps[NR_POSTERS];
	pthread_t runner, posters[NR_POSTERS];
	struct race_result res;
	struct rv_vm *vm;
	char err[128];

	memset(posted_seq, 0, sizeof(posted_seq));
	memset(kicked_seq, 0, sizeof(kicked_seq));
	atomic_store(&violations, 0);
	atomic_store(&stop, 0);
	cfg.backend = &race_backend;
	cfg.faults = faults;
	cfg.slice = 64;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), 0);
	pthread_create(&runner, NULL, run_thread, vm);
	for (int p = 0; p < NR_POSTERS; p++) {
		ps[p] = (struct poster){ vm, p, iters };
		pthread_create(&posters[p], NULL, poster_thread, &ps[p]);
	}
	for (int p = 0; p < NR_POSTERS; p++)
		pthread_join(posters[p], NULL);
	atomic_store(&stop, 1);
	pthread_join(runner, NULL);
	res.violations = atomic_load(&violations);
	res.backoffs = rv_vm_stat(vm, RV_STAT_backoffs);
	res.kicks = rv_vm_stat(vm, RV_STAT_kicks_sent);
	res.entries = rv_vm_stat(vm, RV_STAT_entries);
	rv_vm_destroy(vm);
	return res;
}

START_TEST(no_request_is_lost_across_entry)
{
	unsigned long iters = test_scale("RV_STRESS_POSTS", 4000000);
	struct race_result r = race(NULL, iters);

	ck_assert_msg(r.violations == 0, "%lu lost requests", (unsigned long)r.violations);
	/* The race was really run: kicks landed in guest mode, and entries
	 * backed off because a request arrived after servicing. */
	ck_assert_uint_gt(r.kicks, 0);
	ck_assert_uint_gt(r.entries, 100);
	fprintf(stderr, "race: %lu posts x %d posters: %lu entries, %lu kicks, %lu backoffs\n",
		iters, NR_POSTERS, (unsigned long)r.entries, (unsigned long)r.kicks,
		(unsigned long)r.backoffs);
}
END_TEST

START_TEST(skipping_the_entry_recheck_loses_requests)
{
	unsigned long iters = test_scale("RV_STRESS_POSTS", 4000000);
	struct race_result r = { 0 };

	/* Repeat until the race window is hit; a correct entry never gets here. */
	for (int round = 0; round < 10 && !r.violations; round++)
		r = race("entry.no_recheck", iters);
	ck_assert_msg(r.violations > 0, "entry.no_recheck went unnoticed");
	fprintf(stderr, "race with entry.no_recheck: %lu violations found\n",
		(unsigned long)r.violations);
}
END_TEST

static Suite *race_suite(void)
{
	Suite *s = suite_create("race");
	TCase *tc = tcase_create("lost-request");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, no_request_is_lost_across_entry);
	tcase_add_test(tc, skipping_the_entry_recheck_loses_requests);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(race_suite());
}
