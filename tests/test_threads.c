// SPDX-License-Identifier: MIT
/* The threads executor: whole runs, kills, hangs, halts and wakes. */
#include <pthread.h>
#include <unistd.h>

#include "helpers.h"
#include "reqvisor/request.h"

START_TEST(halts_and_wakes_balance_and_no_idle_wakeup_is_lost)
{
	struct test_vm t = test_vm_create(test_config(16, 2, RV_EXEC_THREADS, 1),
					  "run 50; wake next; halt", 300);

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_steps), 16 * 300 * 50);
	ck_assert_uint_eq(rv_vm_requests_posted(t.vm, RV_REQ_BIT_EVENT), 16 * 300);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_halts), rv_vm_stat(t.vm, RV_STAT_wakeups));
	ck_assert_uint_eq(rv_vm_lost_wakeups(t.vm), 0);
	test_vm_destroy(&t);
}
END_TEST

START_TEST(default_workload_finishes_with_kicks_and_waits)
{
	struct test_vm t = test_vm_create(test_config(8, 2, RV_EXEC_THREADS, 1),
					  rv_synthetic_default_script, 300);

	ck_assert_int_eq(rv_vm_run(t.vm), 0);
	ck_assert_uint_gt(rv_vm_stat(t.vm, RV_STAT_kicks_sent), 0);
	ck_assert_uint_eq(
		rv_vm_stat(t.vm, RV_STAT_exits_kick) <= rv_vm_stat(t.vm, RV_STAT_kicks_sent), 1);
	ck_assert_uint_eq(rv_vm_stat(t.vm, RV_STAT_flush_all),
			  rv_vm_requests_serviced(t.vm, RV_REQ_BIT_TLB_FLUSH));
	test_vm_destroy(&t);
}
END_TEST

START_TEST(all_vcpus_halted_is_a_hang)
{
	struct test_vm t = test_vm_create(test_config(4, 2, RV_EXEC_THREADS, 1), "run 5; halt", 1);

	ck_assert_int_eq(rv_vm_run(t.vm), -1);
	test_vm_destroy(&t);
}
END_TEST

static void *run_thread(void *arg)
{
	return (void *)(intptr_t)rv_vm_run(arg);
}

/* A VM whose vCPUs run forever, except those given their own script. */
static struct test_vm forever_vm(struct rv_vm_config cfg, uint32_t index, const char *script)
{
	struct test_vm t = { 0 };
	char err[128];

	t.syn = rv_synthetic_create("run 4000000000", 1, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(t.syn);
	ck_assert_int_eq(rv_synthetic_set_script(t.syn, index, script, err, sizeof(err)), 0);
	cfg.backend_ctx = t.syn;
	ck_assert_int_eq(rv_vm_create(&cfg, &t.vm, err, sizeof(err)), 0);
	return t;
}

START_TEST(kill_stops_vcpus_in_guest_and_halted)
{
	struct test_vm t = forever_vm(test_config(4, 2, RV_EXEC_THREADS, 1), 3, "halt");
	pthread_t th;
	void *rc;

	pthread_create(&th, NULL, run_thread, t.vm);
	while (rv_vm_stat(t.vm, RV_STAT_steps) < 10000)
		usleep(1000);
	rv_vm_kill(t.vm);
	pthread_join(th, &rc);
	ck_assert_int_eq((int)(intptr_t)rc, -2);
	test_vm_destroy(&t);
}
END_TEST

START_TEST(vcpu_added_during_a_run_gets_scheduled)
{
	struct rv_vm_config cfg = test_config(2, 2, RV_EXEC_THREADS, 1);

	cfg.max_vcpus = 3;
	struct test_vm t = forever_vm(cfg, 2, "run 1000; exit");
	pthread_t th;
	void *rc;

	pthread_create(&th, NULL, run_thread, t.vm);
	while (rv_vm_stat(t.vm, RV_STAT_steps) < 1000)
		usleep(1000);
	ck_assert_int_eq(rv_vm_add_vcpu(t.vm, 2), 0);
	struct rv_vcpu *added = rv_vm_vcpu(t.vm, 2);

	while (atomic_load(&added->run_state) != RV_VCPU_DONE)
		usleep(1000);
	ck_assert_uint_eq(rv_counter(&added->stat[RV_STAT_steps]), 1000);
	rv_vm_kill(t.vm);
	pthread_join(th, &rc);
	ck_assert_int_eq((int)(intptr_t)rc, -2);
	test_vm_destroy(&t);
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("executor");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, halts_and_wakes_balance_and_no_idle_wakeup_is_lost);
	tcase_add_test(tc, default_workload_finishes_with_kicks_and_waits);
	tcase_add_test(tc, all_vcpus_halted_is_a_hang);
	tcase_add_test(tc, kill_stops_vcpus_in_guest_and_halted);
	tcase_add_test(tc, vcpu_added_during_a_run_gets_scheduled);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(threads_suite());
}
