// SPDX-License-Identifier: MIT
/*
 * The nested transition TLB rules (src/nested/tlb_rules.c): each case of
 * the nVMX rule on VM-Enter and VM-Exit, the VPID L2 runs with, and the
 * unconditional nSVM rule.
 */
#include "helpers.h"
#include "nested/tlb_rules.h"
#include "reqvisor/request.h"

#define GUEST	(1ull << RV_REQ_BIT_TLB_FLUSH_GUEST)
#define CURRENT (1ull << RV_REQ_BIT_TLB_FLUSH_CURRENT)
#define SYNC	(1ull << RV_REQ_BIT_MMU_SYNC)

/* Without a VPID in vmcs12 every transition is a guest flush, whatever L0
 * has: EPT or not, vpid02 or not. */
START_TEST(no_vpid12_flushes_the_guest_on_enter_and_exit)
{
	for (int ept = 0; ept < 2; ept++) {
		for (uint16_t vpid02 = 0; vpid02 < 2; vpid02++) {
			struct rv_nvmx_tlb s = { .vpid02 = vpid02 };
			struct rv_nvmx_tag t = { .vpid12_enabled = false,
						 .vpid12 = 5,
						 .l0_ept = ept };

			ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), GUEST);
			ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_EXIT, &t), GUEST);
			ck_assert_uint_eq(s.last_vpid12, 0); /* not a VPID seen */
		}
	}
}
END_TEST

/* A new vmcs12 VPID on VM-Enter: remembered and a guest flush, once. */
START_TEST(a_new_vpid12_flushes_the_guest_once)
{
	struct rv_nvmx_tlb s = { .vpid02 = 7 };
	struct rv_nvmx_tag t = { .vpid12_enabled = true, .vpid12 = 3, .l0_ept = false };

	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), GUEST);
	ck_assert_uint_eq(s.last_vpid12, 3);
	/* Same VPID, L2 tagged by vpid02: nothing either way. */
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_EXIT, &t), 0);
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), 0);
	/* Two L2s sharing vpid02 with different vmcs12 VPIDs: each switch flushes. */
	t.vpid12 = 4;
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), GUEST);
	t.vpid12 = 3;
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), GUEST);
}
END_TEST

/* VM-Exit never looks at vpid12 history: only the tag rule applies. */
START_TEST(exit_ignores_a_changed_vpid12)
{
	struct rv_nvmx_tlb s = { .vpid02 = 7, .last_vpid12 = 3 };
	struct rv_nvmx_tag t = { .vpid12_enabled = true, .vpid12 = 9, .l0_ept = true };

	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_EXIT, &t), 0);
	ck_assert_uint_eq(s.last_vpid12, 3);
}
END_TEST

/* Same vpid12, but L2 shares L0's tag with L1 (no EPT, no vpid02): the
 * current context is flushed on both transitions. EPT alone is a tag. */
START_TEST(no_own_tag_flushes_the_current_context)
{
	struct rv_nvmx_tlb s = { .vpid02 = 0, .last_vpid12 = 3 };
	struct rv_nvmx_tag t = { .vpid12_enabled = true, .vpid12 = 3, .l0_ept = false };

	ck_assert(!rv_nvmx_l2_has_own_tag(&s, &t));
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), CURRENT);
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_EXIT, &t), CURRENT);
	t.l0_ept = true;
	ck_assert(rv_nvmx_l2_has_own_tag(&s, &t));
	ck_assert_uint_eq(rv_nvmx_transition(&s, RV_NESTED_ENTER, &t), 0);
}
END_TEST

START_TEST(l2_runs_with_vpid02_only_when_vmcs12_enables_vpid)
{
	struct rv_nvmx_tlb s = { .vpid02 = 7 };
	struct rv_nvmx_tag t = { .vpid12_enabled = true, .vpid12 = 3 };

	ck_assert_uint_eq(rv_nvmx_l2_vpid(&s, &t, 2), 7);
	t.vpid12_enabled = false;
	ck_assert_uint_eq(rv_nvmx_l2_vpid(&s, &t, 2), 2);
	t.vpid12_enabled = true;
	s.vpid02 = 0; /* L0 ran out of VPIDs at VMXON */
	ck_assert_uint_eq(rv_nvmx_l2_vpid(&s, &t, 2), 2);
}
END_TEST

START_TEST(nsvm_syncs_and_flushes_the_current_asid_every_time)
{
	ck_assert_uint_eq(rv_nsvm_transition_unconditional(RV_NESTED_ENTER), SYNC | CURRENT);
	ck_assert_uint_eq(rv_nsvm_transition_unconditional(RV_NESTED_EXIT), SYNC | CURRENT);
}
END_TEST

static Suite *nested_rules_suite(void)
{
	Suite *s = suite_create("nested_rules");
	TCase *tc = tcase_create("transitions");

	tcase_add_test(tc, no_vpid12_flushes_the_guest_on_enter_and_exit);
	tcase_add_test(tc, a_new_vpid12_flushes_the_guest_once);
	tcase_add_test(tc, exit_ignores_a_changed_vpid12);
	tcase_add_test(tc, no_own_tag_flushes_the_current_context);
	tcase_add_test(tc, l2_runs_with_vpid02_only_when_vmcs12_enables_vpid);
	tcase_add_test(tc, nsvm_syncs_and_flushes_the_current_asid_every_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(nested_rules_suite());
}
