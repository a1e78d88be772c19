// SPDX-License-Identifier: MIT
/*
 * Broadcasts racing vCPU add and remove. vCPUs 0-7 stay for the whole test;
 * the others are removed and re-added while two threads broadcast to all and
 * to masks. Every broadcast must reach every stable vCPU, and (under ASan) no
 * broadcast may touch a removed vCPU's memory: removal frees only after an
 * RCU grace period.
 */
#include <errno.h>
#include <pthread.h>

#include "helpers.h"
#include "reqvisor/request.h"

#define NR_SLOTS  64
#define NR_STABLE 8

static struct rv_vm *vm;
static _Atomic int churning;
static _Atomic uint64_t missed, broadcasts, churns;

static void *churn_thread(void *arg)
{
	uint64_t x = 12345;
	unsigned long n = *(unsigned long *)arg;

	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t idx = NR_STABLE + (uint32_t)(x >> 33) % (NR_SLOTS - NR_STABLE);

		if (rv_vm_remove_vcpu(vm, idx) == 0)
			atomic_fetch_add(&churns, 1);
		else
			ck_assert_int_eq(rv_vm_add_vcpu(vm, idx), 0);
	}
	atomic_store(&churning, 0);
	return NULL;
}

/* One broadcaster owns one request bit on the stable vCPUs, so it alone
 * clears it: a missing bit is a missed live vCPU. */
static void check_stable(unsigned nr)
{
	for (uint32_t i = 0; i < NR_STABLE; i++)
		if (!rv_check_request(rv_vm_vcpu(vm, i), nr))
			atomic_fetch_add(&missed, 1);
}

static void *all_thread(void *arg)
{
	(void)arg;
	while (atomic_load(&churning)) {
		rv_make_all_vcpus_request(vm, RV_REQ_TLB_FLUSH);
		check_stable(RV_REQ_BIT_TLB_FLUSH);
		atomic_fetch_add(&broadcasts, 1);
	}
	return NULL;
}

static void *mask_thread(void *arg)
{
	struct rv_vcpu_mask m;

	(void)arg;
	rv_mask_zero(&m);
	for (uint32_t i = 0; i < NR_SLOTS; i += 1 + (i % 3 == 0))
		rv_mask_set(&m, i);
	for (uint32_t i = 0; i < NR_STABLE; i++)
		rv_mask_set(&m, i);
	while (atomic_load(&churning)) {
		rv_make_vcpus_request_mask(vm, RV_REQ_MMU_SYNC, &m);
		check_stable(RV_REQ_BIT_MMU_SYNC);
		atomic_fetch_add(&broadcasts, 1);
	}
	return NULL;
}

START_TEST(broadcasts_reach_every_live_vcpu_while_others_come_and_go)
{
	struct rv_vm_config cfg = test_config(NR_SLOTS, 2, RV_EXEC_THREADS, 1);
	struct test_vm t = test_vm_create(cfg, "halt", 1);
	unsigned long n = test_scale("RV_STRESS_CHURN", 20000);
	pthread_t c, a, m;

	vm = t.vm;
	atomic_store(&churning, 1);
	pthread_create(&a, NULL, all_thread, NULL);
	pthread_create(&m, NULL, mask_thread, NULL);
	pthread_create(&c, NULL, churn_thread, &n);
	pthread_join(c, NULL);
	pthread_join(a, NULL);
	pthread_join(m, NULL);
	ck_assert_uint_eq(atomic_load(&missed), 0);
	ck_assert_uint_gt(atomic_load(&churns), n / 4);
	ck_assert_uint_gt(atomic_load(&broadcasts), 100);
	/* The stats of removed vCPUs are kept: every post is accounted for. */
	ck_assert_uint_ge(rv_vm_requests_posted(vm, RV_REQ_BIT_TLB_FLUSH),
			  rv_vm_requests_serviced(vm, RV_REQ_BIT_TLB_FLUSH));
	test_vm_destroy(&t);
}
END_TEST

START_TEST(remove_and_add_report_their_errors)
{
	struct test_vm t = test_vm_create(test_config(4, 1, RV_EXEC_THREADS, 1), "halt", 1);

	ck_assert_int_eq(rv_vm_add_vcpu(t.vm, 2), -EEXIST);
	ck_assert_int_eq(rv_vm_add_vcpu(t.vm, 4), -EINVAL);
	ck_assert_int_eq(rv_vm_remove_vcpu(t.vm, 2), 0);
	ck_assert_ptr_null(rv_vm_vcpu(t.vm, 2));
	ck_assert_int_eq(rv_vm_remove_vcpu(t.vm, 2), -ENOENT);
	ck_assert_int_eq(rv_vm_add_vcpu(t.vm, 2), 0);
	ck_assert_ptr_nonnull(rv_vm_vcpu(t.vm, 2));
	test_vm_destroy(&t);
}
END_TEST

static Suite *set_suite(void)
{
	Suite *s = suite_create("vcpu_set");
	TCase *tc = tcase_create("rcu");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, broadcasts_reach_every_live_vcpu_while_others_come_and_go);
	tcase_add_test(tc, remove_and_add_report_their_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(set_suite());
}
