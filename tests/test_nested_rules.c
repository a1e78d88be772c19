// SPDX-License-Identifier: MIT
/*
 * The nested transition TLB rules (src/nested/tlb_rules.c): each case of
 * the nVMX rule on VM-Enter and VM-Exit, the VPID L2 runs with, the
 * unconditional and the conditional nSVM rules; and the pure parts of the
 * emulation: vmcs12 field encodings, the enlightened VMCS's layout and the
 * EPT12 walk.
 */
#include <string.h>

#include "helpers.h"
#include "nested/ept12.h"
#include "nested/tlb_rules.h"
#include "nested/vmcs12.h"
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

/* N3: a VMRUN flushes L2's ASID for a new vmcb12 ASID or a TLB_CONTROL
 * that asks, and nothing otherwise. */
START_TEST(nsvm_conditional_flushes_only_for_a_new_asid_or_tlb_control)
{
	struct rv_nsvm_tlb s = { 0 };

	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 1, 0), RV_NSVM_FLUSH_L2);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 1, 0), RV_NSVM_FLUSH_NONE);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 1, 3), RV_NSVM_FLUSH_L2);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 1, 7), RV_NSVM_FLUSH_L2_LOCAL);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 2, 7), RV_NSVM_FLUSH_L2);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 2, 1), RV_NSVM_FLUSH_EVERY_ASID);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 2, 5), RV_NSVM_FLUSH_EVERY_ASID);
	ck_assert_int_eq(rv_nsvm_vmrun_conditional(&s, 1, 0), RV_NSVM_FLUSH_L2);
	ck_assert_uint_eq(s.last_asid12, 1);
}
END_TEST

/* Field encodings: slots, widths, the high half of a 64-bit field, what is
 * read-only, and the reserved bits that make an encoding unsupported. */
START_TEST(vmcs12_encodings_follow_the_sdm)
{
	uint64_t stored;

	ck_assert_int_eq(rv_vmcs12_slot(0x0000), VMCS12_VIRTUAL_PROCESSOR_ID);
	ck_assert_int_eq(rv_vmcs12_slot(0x201a), VMCS12_EPT_POINTER);
	ck_assert_int_eq(rv_vmcs12_slot(0x201b), VMCS12_EPT_POINTER); /* high access */
	ck_assert_int_eq(rv_vmcs12_slot(0x6c16), VMCS12_HOST_RIP);
	ck_assert_int_lt(rv_vmcs12_slot(0x6c17), 0);  /* no high half: natural width */
	ck_assert_int_lt(rv_vmcs12_slot(0x2010), 0);  /* TSC offset: not offered */
	ck_assert_int_lt(rv_vmcs12_slot(0x14402), 0); /* bit 16 reserved */
	ck_assert_int_lt(rv_vmcs12_slot(0x5000), 0);  /* bit 12 reserved */
	ck_assert(rv_vmcs12_read_only(0x4402));	      /* exit reason */
	ck_assert(rv_vmcs12_read_only(0x6400));	      /* exit qualification */
	ck_assert(!rv_vmcs12_read_only(0x4002));
	stored = rv_vmcs12_write_value(0x0000, 0, 0x123456789);
	ck_assert_uint_eq(stored, 0x6789); /* 16 bits */
	stored = rv_vmcs12_write_value(0x4002, 0, ~0ull);
	ck_assert_uint_eq(stored, 0xffffffffu); /* 32 bits */
	stored = rv_vmcs12_write_value(0x201a, 0, 0x1111222233334444ull);
	stored = rv_vmcs12_write_value(0x201b, stored, 0xaaaa);
	ck_assert_uint_eq(stored, 0x0000aaaa33334444ull);
	ck_assert_uint_eq(rv_vmcs12_read_value(0x201b, stored), 0xaaaa);
	ck_assert_uint_eq(rv_vmcs12_read_value(0x201a, stored), stored);
	for (int f = 0; f < RV_VMCS12_NR_FIELDS; f++)
		ck_assert_int_eq(rv_vmcs12_slot(rv_vmcs12_encoding((enum rv_vmcs12_field)f)), f);
	ck_assert_int_le(RV_VMCS12_SLOTS + 8 * RV_VMCS12_NR_FIELDS, 4096);
}
END_TEST

/* The enlightened VMCS (TLFS): offsets worked out by hand from its layout;
 * no two fields overlap, and none reaches the Hyper-V part at 824. */
START_TEST(evmcs_fields_sit_where_the_tlfs_puts_them)
{
	static const struct {
		enum rv_vmcs12_field f;
		unsigned offset, size;
	} known[] = {
		{ VMCS12_HOST_CR3, 48, 8 },
		{ VMCS12_HOST_RIP, 80, 8 },
		{ VMCS12_MSR_BITMAP, 120, 8 },
		{ VMCS12_GUEST_CS_SELECTOR, 130, 2 },
		{ VMCS12_GUEST_GDTR_LIMIT, 176, 4 },
		{ VMCS12_GUEST_IA32_EFER, 440, 8 },
		{ VMCS12_GUEST_CR3, 552, 8 },
		{ VMCS12_HOST_RSP, 616, 8 },
		{ VMCS12_EPT_POINTER, 624, 8 },
		{ VMCS12_VIRTUAL_PROCESSOR_ID, 632, 2 },
		{ VMCS12_VM_INSTRUCTION_ERROR, 688, 4 },
		{ VMCS12_VM_EXIT_REASON, 692, 4 },
		{ VMCS12_EXIT_QUALIFICATION, 720, 8 },
		{ VMCS12_GUEST_RIP, 816, 8 },
	};

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		ck_assert_uint_eq(rv_vmcs12_evmcs_offset(known[i].f), known[i].offset);
		ck_assert_uint_eq(rv_vmcs12_evmcs_size(known[i].f), known[i].size);
	}
	for (int a = 0; a < RV_VMCS12_NR_FIELDS; a++) {
		unsigned oa = rv_vmcs12_evmcs_offset((enum rv_vmcs12_field)a);
		unsigned sa = rv_vmcs12_evmcs_size((enum rv_vmcs12_field)a);

		ck_assert_uint_ge(oa, 8); /* after revision_id and abort */
		ck_assert_uint_le(oa + sa, 824);
		ck_assert_uint_eq(oa % sa, 0);
		for (int b = a + 1; b < RV_VMCS12_NR_FIELDS; b++) {
			unsigned ob = rv_vmcs12_evmcs_offset((enum rv_vmcs12_field)b);
			unsigned sb = rv_vmcs12_evmcs_size((enum rv_vmcs12_field)b);

			ck_assert(oa + sa <= ob || ob + sb <= oa);
		}
	}
}
END_TEST

/* A little L1 memory for EPT12 walks: 8 pages at L1 GPA 0. */
static uint64_t l1mem[8][512];

static bool read_l1(void *ctx, uint64_t gpa, uint64_t *entry)
{
	(void)ctx;
	if (gpa >= sizeof(l1mem))
		return false;
	memcpy(entry, (uint8_t *)l1mem + gpa, 8);
	return true;
}

#define EPTP (0x0000 | 6 | (3 << 3)) /* root at page 0 */

/* L2 GPA 0x5000 through a 4-level EPT12 (pages 0-3) to L1 page 0x7000. */
static void build_ept12(uint64_t leaf)
{
	memset(l1mem, 0, sizeof(l1mem));
	l1mem[0][0] = 0x1000 | 7;
	l1mem[1][0] = 0x2000 | 7;
	l1mem[2][0] = 0x3000 | 7;
	l1mem[3][5] = leaf;
}

START_TEST(ept12_walk_gives_l1_addresses_rights_and_misconfigurations)
{
	struct rv_ept12_walk w;

	build_ept12(0x7000 | 7 | (6 << 3));
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5123, read_l1, NULL, &w), RV_EPT12_OK);
	ck_assert_uint_eq(w.gpa, 0x7123);
	ck_assert_uint_eq(w.perm, 7);
	build_ept12(0x7000 | 1 | (6 << 3)); /* read-only */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_OK);
	ck_assert_uint_eq(w.perm, 1);
	build_ept12(0); /* not present */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_VIOLATION);
	build_ept12(0x7000 | 2 | (6 << 3)); /* write without read */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_MISCONFIG);
	build_ept12(0x7000 | 4 | (6 << 3)); /* execute-only: not offered */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_MISCONFIG);
	build_ept12(0x7000 | 7 | (2 << 3)); /* memory type 2: reserved */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_MISCONFIG);
	build_ept12(0x7000 | 7 | (6 << 3));
	l1mem[1][0] |= 1 << 7; /* a 1 GiB leaf: not offered */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_MISCONFIG);
	build_ept12(0x7000 | 7 | (6 << 3));
	l1mem[2][0] = 0x200000 | 7 | (6 << 3) | (1 << 7); /* a 2 MiB leaf */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5123, read_l1, NULL, &w), RV_EPT12_OK);
	ck_assert_uint_eq(w.gpa, 0x205123);
	l1mem[0][0] = 0x100000 | 7; /* a table outside L1's memory reads as absent */
	ck_assert_int_eq(rv_ept12_walk(EPTP, 0x5000, read_l1, NULL, &w), RV_EPT12_VIOLATION);
	ck_assert(rv_ept12_eptp_valid(EPTP));
	ck_assert(!rv_ept12_eptp_valid(0 | 0 | (3 << 3))); /* uncacheable */
	ck_assert(!rv_ept12_eptp_valid(6 | (4 << 3)));	   /* a 5-level walk */
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
	tcase_add_test(tc, nsvm_conditional_flushes_only_for_a_new_asid_or_tlb_control);
	tcase_add_test(tc, vmcs12_encodings_follow_the_sdm);
	tcase_add_test(tc, evmcs_fields_sit_where_the_tlfs_puts_them);
	tcase_add_test(tc, ept12_walk_gives_l1_addresses_rights_and_misconfigurations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(nested_rules_suite());
}
