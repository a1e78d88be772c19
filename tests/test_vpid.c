// SPDX-License-Identifier: MIT
/*
 * VPID allocation (SDM vol. 3C §28.1, KVM's allocator): VPID 0 is never
 * handed out as a tag of its own, exhaustion answers 0, freed VPIDs come back,
 * and concurrent allocators never share a VPID.
 */
#include <pthread.h>
#include <stdlib.h>

#include "helpers.h"
#include "vmx/vpid.h"

static struct rv_vpid_allocator alloc;

static void setup(void)
{
	rv_vpid_allocator_init(&alloc, 0);
}

static void teardown(void)
{
	rv_vpid_allocator_destroy(&alloc);
}

START_TEST(all_65535_vpids_are_distinct_and_nonzero_then_0)
{
	uint8_t *seen = calloc(RV_VPID_COUNT, 1);

	ck_assert_ptr_nonnull(seen);
	for (uint32_t i = 1; i < RV_VPID_COUNT; i++) {
		uint16_t v = rv_vpid_alloc(&alloc);

		ck_assert_uint_ne(v, 0);
		ck_assert_uint_eq(seen[v], 0);
		seen[v] = 1;
	}
	ck_assert_uint_eq(alloc.in_use, RV_VPID_COUNT - 1);
	/* Exhausted: silently VPID 0, as often as asked. */
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	ck_assert_uint_eq(alloc.in_use, RV_VPID_COUNT - 1);
	free(seen);
}
END_TEST

START_TEST(a_freed_vpid_is_reused_and_freeing_0_is_harmless)
{
	rv_vpid_allocator_destroy(&alloc);
	rv_vpid_allocator_init(&alloc, 4); /* VPIDs 1, 2, 3 */
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 1);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 2);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 3);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	rv_vpid_free(&alloc, 0);
	ck_assert_uint_eq(alloc.in_use, 3);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	rv_vpid_free(&alloc, 2);
	rv_vpid_free(&alloc, 2); /* a double free must not free another */
	ck_assert_uint_eq(alloc.in_use, 2);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 2);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	/* VPIDs past the limit do not exist, so freeing one changes nothing. */
	rv_vpid_free(&alloc, 9);
	ck_assert_uint_eq(alloc.in_use, 3);
}
END_TEST

START_TEST(a_limit_of_1_leaves_only_vpid_0)
{
	rv_vpid_allocator_destroy(&alloc);
	rv_vpid_allocator_init(&alloc, 1);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	ck_assert_uint_eq(rv_vpid_alloc(&alloc), 0);
	ck_assert_uint_eq(alloc.in_use, 0);
}
END_TEST

#define THREADS	   2
#define PER_THREAD 20000

static uint16_t got[THREADS][PER_THREAD];

static void *churn(void *arg)
{
	uint16_t *mine = arg;

	/* Allocate all, free every other one, allocate those again. */
	for (int i = 0; i < PER_THREAD; i++)
		mine[i] = rv_vpid_alloc(&alloc);
	for (int i = 0; i < PER_THREAD; i += 2)
		rv_vpid_free(&alloc, mine[i]);
	for (int i = 0; i < PER_THREAD; i += 2)
		mine[i] = rv_vpid_alloc(&alloc);
	return NULL;
}

START_TEST(concurrent_allocations_never_share_a_vpid)
{
	pthread_t t[THREADS];
	uint8_t *seen = calloc(RV_VPID_COUNT, 1);

	ck_assert_ptr_nonnull(seen);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, got[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		for (int j = 0; j < PER_THREAD; j++) {
			ck_assert_uint_ne(got[i][j], 0);
			ck_assert_msg(!seen[got[i][j]], "VPID %u handed out twice", got[i][j]);
			seen[got[i][j]] = 1;
		}
	}
	ck_assert_uint_eq(alloc.in_use, THREADS * PER_THREAD);
	free(seen);
}
END_TEST

static Suite *vpid_suite(void)
{
	Suite *s = suite_create("vpid");
	TCase *tc = tcase_create("allocator");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, all_65535_vpids_are_distinct_and_nonzero_then_0);
	tcase_add_test(tc, a_freed_vpid_is_reused_and_freeing_0_is_harmless);
	tcase_add_test(tc, a_limit_of_1_leaves_only_vpid_0);
	tcase_add_test(tc, concurrent_allocations_never_share_a_vpid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(vpid_suite());
}
