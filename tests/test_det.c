// SPDX-License-Identifier: MIT
/*
 * The deterministic executor: exact kick accounting, replay, and whole runs
 * of the synthetic guest checked against what their scripts imply.
 */
#include "helpers.h"
#include "reqvisor/request.h"
#include "sched/pcpu.h"

/*
 * A backend whose vCPUs run a few steps, then broadcast a random request to a
 * random mask. At the moment of each broadcast (one host thread: nothing can
 * move) it counts the targets in guest mode and checks the kicks sent equal
 * that count exactly.
 */
struct acct_vcpu {
	uint64_t rng;
	uint32_t left;
	uint32_t broadcasts;
};

static unsigned mismatches, broadcasts_checked, in_guest_seen;
static uint32_t acct_rounds = 300;

static uint64_t rnd(struct acct_vcpu *a)
{
	a->rng = a->rng * 6364136223846793005ull + 1442695040888963407ull;
	return a->rng >> 33;
}

static int acct_init(struct rv_vcpu *v)
{
	struct acct_vcpu *a = calloc(1, sizeof(*a));

	a->rng = v->index * 7919 + 1;
	v->backend_data = a;
	return a ? 0 : -1;
}

static void acct_free(struct rv_vcpu *v)
{
	free(v->backend_data);
}

static enum rv_exit acct_run(struct rv_vcpu *v, const _Atomic uint32_t *ipi, uint32_t budget,
			     uint32_t *used)
{
	struct acct_vcpu *a = v->backend_data;

	while (*used < budget) {
		if (atomic_load(ipi))
			return RV_EXIT_KICK;
		if (a->left == 0) {
			a->left = 1 + rnd(a) % 5;
			return a->broadcasts == acct_rounds ? RV_EXIT_DONE : RV_EXIT_BACKEND;
		}
		a->left--;
		(*used)++;
	}
	return RV_EXIT_NONE;
}

static enum rv_exit acct_handle_exit(struct rv_vcpu *v)
{
	static const uint32_t reqs[] = { RV_REQ_TLB_FLUSH, RV_REQ_TLB_FLUSH_CURRENT,
					 RV_REQ_TLB_FLUSH_GUEST, RV_REQ_MMU_SYNC };
	struct acct_vcpu *a = v->backend_data;
	uint32_t n = rv_vm_nr_vcpus(v->vm);
	struct rv_vcpu_mask m;
	unsigned in_guest = 0;

	rv_mask_zero(&m);
	for (uint32_t i = 0; i < n; i++) {
		if (i == v->index || rnd(a) % 3 == 0)
			continue;
		rv_mask_set(&m, i);
		in_guest += atomic_load(&rv_vm_vcpu(v->vm, i)->mode) == RV_IN_GUEST_MODE;
	}
	uint64_t before = v->stat[RV_STAT_kicks_sent];

	rv_vcpu_make_vcpus_request_mask(v, reqs[rnd(a) % 4], &m);
	mismatches += v->stat[RV_STAT_kicks_sent] - before != in_guest;
	in_guest_seen += in_guest;
	broadcasts_checked++;
	a->broadcasts++;
	return RV_EXIT_NONE;
}

static const struct rv_backend_ops acct_backend = {
	.name = "kick-accounting",
	.vcpu_init = acct_init,
	.vcpu_free = acct_free,
	.run = acct_run,
	.handle_exit = acct_handle_exit,
};

START_TEST(kicks_sent_equal_targets_in_guest_mode_exactly)
{
	struct rv_vm_config cfg = test_config(16, 4, RV_EXEC_DETERMINISTIC, 11);
	struct rv_vm *vm;
	char err[128];

	cfg.backend = &acct_backend;
	cfg.slice = 8;
	mismatches = broadcasts_checked = in_guest_seen = 0;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_vm_run(vm), 0);
	ck_assert_uint_eq(broadcasts_checked, 16 * acct_rounds);
	ck_assert_uint_eq(mismatches, 0);
	/* The check must have had kicks to count. */
	ck_assert_uint_gt(in_guest_seen, 1000);
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_kicks_sent), in_guest_seen);
	rv_vm_destroy(vm);
}
END_TEST

static uint64_t run_hash(uint64_t seed, const char *faults)
{
	struct rv_vm_config cfg = test_config(12, 3, RV_EXEC_DETERMINISTIC, seed);

	cfg.faults = faults;
	struct test_vm t = test_vm_create(cfg, rv_synthetic_default_script, 5);

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	uint64_t h = rv_vm_trace_hash(t.vm);

	ck_assert_uint_gt(rv_vm_trace_events(t.vm), 1000);
	test_vm_destroy(&t);
	return h;
}

START_TEST(same_seed_gives_the_same_trace)
{
	ck_assert_uint_eq(run_hash(42, NULL), run_hash(42, NULL));
	const char *f = "kick.drop=0.1,kick.delay=0.1,request.spurious=0.05,vcpu.preempt=0.01";

	ck_assert_uint_eq(run_hash(42, f), run_hash(42, f));
}
END_TEST

START_TEST(different_seeds_give_different_traces)
{
	uint64_t h[4];

	for (int i = 0; i < 4; i++) {
		h[i] = run_hash(100 + i, NULL);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(h[i], h[j]);
	}
}
END_TEST

START_TEST(every_halt_is_matched_by_a_wake_and_the_run_finishes)
{
	struct test_vm t = test_vm_create(test_config(8, 2, RV_EXEC_DETERMINISTIC, 3),
					  "run 20; wake next; halt", 40);

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	ck_assert_uint_eq(rv_vm_requests_posted(t.vm, RV_REQ_BIT_EVENT), 8 * 40);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_steps), 8 * 40 * 20);
	/* Each blocked halt was woken exactly once. */
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_halts), rv_vm_stat(t.vm, RV_STAT_wakeups));
	test_vm_destroy(&t);
}
END_TEST

START_TEST(halting_with_no_waker_is_reported_as_a_hang)
{
	struct test_vm t =
		test_vm_create(test_config(4, 2, RV_EXEC_DETERMINISTIC, 3), "run 10; halt", 1);

	ck_assert_int_eq(rv_vm_run(t.vm), -1);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_halts), 4);
	test_vm_destroy(&t);
}
END_TEST

START_TEST(flush_all_posts_reach_every_other_vcpu)
{
	struct test_vm t = test_vm_create(test_config(6, 2, RV_EXEC_DETERMINISTIC, 9),
					  "run 30; post TLB_FLUSH all", 10);

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	ck_assert_uint_eq(rv_vm_requests_posted(t.vm, RV_REQ_BIT_TLB_FLUSH), 6 * 5 * 10);
	/* WAIT|NO_WAKEUP: the senders waited for targets in guest mode. */
	ck_assert_uint_gt(rv_vm_stat(t.vm, RV_STAT_waits), 0);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_flush_all),
			  rv_vm_requests_serviced(t.vm, RV_REQ_BIT_TLB_FLUSH));
	test_vm_destroy(&t);
}
END_TEST

START_TEST(walkers_are_waited_for_but_never_kicked)
{
	/*
	 * vCPU 0 spends nearly all its time walking shadow page tables, and is
	 * in guest mode only for the step that exits to start each walk.
	 * Walkers are waited for but never kicked, so there must be more waits
	 * than kicks, and no more kicks than vCPU 0 had guest sessions.
	 */
	struct rv_vm_config cfg = test_config(4, 4, RV_EXEC_DETERMINISTIC, 5);
	struct test_vm t = { 0 };
	char err[128];

	t.syn = rv_synthetic_create("run 5; post TLB_FLUSH vcpu 0", 100, 5, err, sizeof(err));
	ck_assert_ptr_nonnull(t.syn);
	ck_assert_int_eq(rv_synthetic_set_script(t.syn, 0, "walk 400", err, sizeof(err)), 0);
	cfg.backend_ctx = t.syn;
	ck_assert_int_eq(rv_vm_create(&cfg, &t.vm, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	uint64_t kicks = rv_vm_stat(t.vm, RV_STAT_kicks_sent);

	ck_assert_uint_gt(rv_vm_stat(t.vm, RV_STAT_waits), kicks + 50);
	ck_assert_uint_le(kicks, rv_vm_vcpu(t.vm, 0)->stat[RV_STAT_entries]);
	test_vm_destroy(&t);
}
END_TEST

START_TEST(benign_faults_keep_the_run_finishing)
{
	struct rv_vm_config cfg = test_config(8, 3, RV_EXEC_DETERMINISTIC, 77);

	cfg.faults = "kick.drop=0.3,kick.delay=0.3,request.spurious=0.2,vcpu.preempt=0.05,"
		     "vcpu.migrate=0.5";
	struct test_vm t = test_vm_create(cfg, rv_synthetic_default_script, 10);
	/* The scheduler's benign points; the machine's (page moves, VPIDs,
	 * ASIDs) are the vendor suite's (tests/test_vendors.sh). */
	static const int sched_points[] = { RV_FAULT_KICK_DROP, RV_FAULT_KICK_DELAY,
					    RV_FAULT_REQUEST_SPURIOUS, RV_FAULT_VCPU_PREEMPT,
					    RV_FAULT_VCPU_MIGRATE };

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	/* Every point armed above must have fired. */
	for (unsigned k = 0; k < sizeof(sched_points) / sizeof(sched_points[0]); k++)
		ck_assert_msg(rv_vm_fault_fired(t.vm, sched_points[k]) > 0, "%s never fired",
			      rv_fault_name(sched_points[k]));
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_kicks_dropped),
			  rv_vm_fault_fired(t.vm, RV_FAULT_KICK_DROP));
	ck_assert_uint_gt(rv_vm_stat(t.vm, RV_STAT_preemptions), 0);
	ck_assert_uint_gt(rv_vm_stat(t.vm, RV_STAT_spurious), 0);
	test_vm_destroy(&t);
}
END_TEST

static Suite *det_suite(void)
{
	Suite *s = suite_create("deterministic");
	TCase *tc = tcase_create("executor");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, kicks_sent_equal_targets_in_guest_mode_exactly);
	tcase_add_test(tc, same_seed_gives_the_same_trace);
	tcase_add_test(tc, different_seeds_give_different_traces);
	tcase_add_test(tc, every_halt_is_matched_by_a_wake_and_the_run_finishes);
	tcase_add_test(tc, halting_with_no_waker_is_reported_as_a_hang);
	tcase_add_test(tc, flush_all_posts_reach_every_other_vcpu);
	tcase_add_test(tc, walkers_are_waited_for_but_never_kicked);
	tcase_add_test(tc, benign_faults_keep_the_run_finishing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(det_suite());
}
