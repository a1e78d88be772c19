// SPDX-License-Identifier: MIT
/* The request primitives and the request list. */
#include <string.h>

#include "helpers.h"
#include "reqvisor/request.h"

static struct test_vm t;
static struct rv_vcpu *v;

static void setup(void)
{
	t = test_vm_create(test_config(2, 1, RV_EXEC_DETERMINISTIC, 1), "exit", 1);
	v = rv_vm_vcpu(t.vm, 0);
}

static void teardown(void)
{
	test_vm_destroy(&t);
}

START_TEST(request_value_encodes_bit_and_flags)
{
	ck_assert_uint_eq(rv_request_nr(RV_REQ_TLB_FLUSH), RV_REQ_BIT_TLB_FLUSH);
	ck_assert_uint_eq(RV_REQ_TLB_FLUSH & (RV_REQ_WAIT | RV_REQ_NO_WAKEUP),
			  RV_REQ_WAIT | RV_REQ_NO_WAKEUP);
	ck_assert_uint_eq(RV_REQ_TLB_FLUSH_CURRENT & ~RV_REQ_NR_MASK, 0);
	ck_assert_uint_eq(RV_REQ_OUTSIDE_GUEST_MODE & RV_REQ_NO_ACTION, RV_REQ_NO_ACTION);
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++) {
		ck_assert_ptr_nonnull(rv_request_name(nr));
		ck_assert_str_ne(rv_request_name(nr), "?");
	}
	ck_assert_str_eq(rv_request_name(RV_REQ_BIT_HV_TLB_FLUSH), "HV_TLB_FLUSH");
}
END_TEST

START_TEST(request_kvm_flags_are_kept)
{
	/* Linux 6.16: TLB_FLUSH, TLB_FLUSH_GUEST, HV_TLB_FLUSH, VM_DEAD and
	 * MMU_FREE_OBSOLETE_ROOTS are WAIT|NO_WAKEUP; the others have none. */
	const uint32_t wn = RV_REQ_WAIT | RV_REQ_NO_WAKEUP;

	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_TLB_FLUSH), wn);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_TLB_FLUSH_GUEST), wn);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_HV_TLB_FLUSH), wn);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_VM_DEAD), wn);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_MMU_FREE_OBSOLETE_ROOTS), wn);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_TLB_FLUSH_CURRENT), 0);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_MMU_SYNC), 0);
	ck_assert_uint_eq(rv_request_flags(RV_REQ_BIT_EVENT), 0);
}
END_TEST

START_TEST(wake_mask_holds_exactly_requests_without_no_wakeup)
{
	uint64_t m = rv_request_wake_mask();

	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++)
		ck_assert_int_eq(!!(m & (1ull << nr)), !(rv_request_flags(nr) & RV_REQ_NO_WAKEUP));
	ck_assert_uint_eq(m >> RV_NR_REQUESTS, 0);
}
END_TEST

START_TEST(make_request_sets_bit_and_reports_coalescing)
{
	ck_assert(!rv_request_pending(v));
	ck_assert(rv_make_request(v, RV_REQ_TLB_FLUSH));
	ck_assert(rv_request_pending(v));
	ck_assert(rv_test_request(v, RV_REQ_BIT_TLB_FLUSH));
	ck_assert(!rv_test_request(v, RV_REQ_BIT_TLB_FLUSH_CURRENT));
	ck_assert(!rv_make_request(v, RV_REQ_TLB_FLUSH));
	ck_assert(!rv_make_request(v, RV_REQ_TLB_FLUSH));
	ck_assert_uint_eq(atomic_load(&v->coalesced[RV_REQ_BIT_TLB_FLUSH]), 2);
	ck_assert_uint_eq(rv_vm_requests_coalesced(t.vm, RV_REQ_BIT_TLB_FLUSH), 2);
	ck_assert_uint_eq(rv_vm_requests_posted(t.vm, RV_REQ_BIT_TLB_FLUSH), 3);
}
END_TEST

START_TEST(check_request_clears_only_a_set_bit)
{
	ck_assert(!rv_check_request(v, RV_REQ_BIT_EVENT));
	rv_make_request(v, RV_REQ_EVENT);
	rv_make_request(v, RV_REQ_MMU_SYNC);
	ck_assert(rv_check_request(v, RV_REQ_BIT_EVENT));
	ck_assert(!rv_check_request(v, RV_REQ_BIT_EVENT));
	ck_assert(rv_test_request(v, RV_REQ_BIT_MMU_SYNC));
	ck_assert(rv_request_pending(v));
}
END_TEST

START_TEST(clear_request_leaves_other_bits)
{
	rv_make_request(v, RV_REQ_EVENT);
	rv_make_request(v, RV_REQ_UNBLOCK);
	rv_clear_request(v, RV_REQ_BIT_EVENT);
	ck_assert(!rv_test_request(v, RV_REQ_BIT_EVENT));
	ck_assert(rv_test_request(v, RV_REQ_BIT_UNBLOCK));
	rv_clear_request(v, RV_REQ_BIT_UNBLOCK);
	ck_assert(!rv_request_pending(v));
}
END_TEST

START_TEST(every_bit_round_trips)
{
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++) {
		ck_assert(rv_make_request(v, nr | rv_request_flags(nr)));
		ck_assert(rv_test_request(v, nr));
		ck_assert(rv_check_request(v, nr));
		ck_assert(!rv_request_pending(v));
	}
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("primitives");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_value_encodes_bit_and_flags);
	tcase_add_test(tc, request_kvm_flags_are_kept);
	tcase_add_test(tc, wake_mask_holds_exactly_requests_without_no_wakeup);
	tcase_add_test(tc, make_request_sets_bit_and_reports_coalescing);
	tcase_add_test(tc, check_request_clears_only_a_set_bit);
	tcase_add_test(tc, clear_request_leaves_other_bits);
	tcase_add_test(tc, every_bit_round_trips);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(request_suite());
}
