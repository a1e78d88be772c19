// SPDX-License-Identifier: MIT
/* The page walk against page tables built by hand (SDM vol. 3A ch. 4). */
#include <string.h>

#include "helpers.h"
#include "mmu/walk.h"

#define PHYS_SIZE 0x200000ull
#define PML4	  0x1000ull
#define PDPT	  0x2000ull
#define PD	  0x3000ull
#define PT	  0x4000ull

static uint64_t *phys;

static _Atomic uint64_t *entry(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return gpa + 8 <= PHYS_SIZE ? (_Atomic uint64_t *)((uint8_t *)phys + gpa) : NULL;
}

static void set(uint64_t gpa, uint64_t v)
{
	phys[gpa / 8] = v;
}

static uint64_t get(uint64_t gpa)
{
	return phys[gpa / 8];
}

static struct rv_walk_ctx ctx;
static struct rv_walk w;
static uint32_t pfec;

#define RW  (RV_PTE_P | RV_PTE_W)
#define URW (RW | RV_PTE_U)

/* GVA 0x400000 + k*4K -> PT[k]; GVA 0x600000 is a 2 MiB page; GVA 1 GiB is a 1 GiB page. */
static void setup(void)
{
	phys = calloc(1, PHYS_SIZE);
	set(PML4, PDPT | URW);
	set(PDPT, PD | URW);
	set(PDPT + 8, 0x40000000ull | URW | RV_PTE_PS); /* 1 GiB page at 1 GiB */
	set(PD + 2 * 8, PT | URW);			/* 0x400000 */
	set(PD + 3 * 8, 0x800000ull | URW | RV_PTE_PS); /* 0x600000: 2 MiB */
	set(PT, 0x10000ull | URW);			/* 0x400000 */
	set(PT + 8, 0x11000ull | RV_PTE_P | RV_PTE_U);	/* 0x401000: read-only */
	set(PT + 16, 0x12000ull | URW | RV_PTE_NX);	/* 0x402000: no-execute */
	set(PT + 24, 0x13000ull | RW | RV_PTE_G);	/* 0x403000: supervisor, global */
	memset(&ctx, 0, sizeof(ctx));
	ctx.entry = entry;
	ctx.cr3 = PML4;
	ctx.wp = ctx.nxe = true;
	ctx.maxphyaddr = 46;
}

static void teardown(void)
{
	free(phys);
}

START_TEST(four_kib_page_translates_and_sets_accessed)
{
	ck_assert_int_eq(rv_walk(&ctx, 0x400123, RV_WALK_READ, &w, &pfec), 0);
	ck_assert_uint_eq(w.gpa, 0x10123);
	ck_assert_uint_eq(w.page_size, 0x1000);
	ck_assert_uint_eq(w.levels, 4);
	for (int k = 0; k < 4; k++)
		ck_assert(get(w.entry_gpa[k]) & RV_PTE_A);
	ck_assert(!(get(PT) & RV_PTE_D));
}
END_TEST

START_TEST(write_sets_dirty_on_the_leaf_only)
{
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_WRITE, &w, &pfec), 0);
	ck_assert(get(PT) & RV_PTE_D);
	ck_assert(!(get(PD + 16) & RV_PTE_D));
	ck_assert(w.dirty);
}
END_TEST

START_TEST(large_pages_translate)
{
	ck_assert_int_eq(rv_walk(&ctx, 0x6abcde, RV_WALK_READ, &w, &pfec), 0);
	ck_assert_uint_eq(w.gpa, 0x8abcde);
	ck_assert_uint_eq(w.page_size, 0x200000);
	ck_assert_int_eq(rv_walk(&ctx, 0x40012345, RV_WALK_READ, &w, &pfec), 0);
	ck_assert_uint_eq(w.gpa, 0x40012345);
	ck_assert_uint_eq(w.page_size, 0x40000000);
	ck_assert_uint_eq(w.levels, 2);
}
END_TEST

START_TEST(not_present_faults_without_touching_accessed)
{
	uint64_t before = get(PML4);

	ck_assert_int_eq(rv_walk(&ctx, 0x404000, RV_WALK_WRITE, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_W);
	ck_assert_uint_eq(get(PML4), before);
	ck_assert_int_eq(rv_walk(&ctx, 0x8000000000ull, RV_WALK_FETCH, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_I); /* PML4 entry 1 is not present */
}
END_TEST

START_TEST(write_to_read_only_faults_only_with_wp)
{
	ck_assert_int_eq(rv_walk(&ctx, 0x401000, RV_WALK_WRITE, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_W);
	ctx.wp = false;
	ck_assert_int_eq(rv_walk(&ctx, 0x401000, RV_WALK_WRITE, &w, &pfec), 0);
	ck_assert(!w.writable);
	ctx.user = true; /* at CPL 3 WP does not matter */
	ck_assert_int_eq(rv_walk(&ctx, 0x401000, RV_WALK_WRITE, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_W | RV_PFEC_U);
}
END_TEST

START_TEST(nx_blocks_fetch_only_with_nxe)
{
	ck_assert_int_eq(rv_walk(&ctx, 0x402000, RV_WALK_FETCH, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_I);
	ck_assert_int_eq(rv_walk(&ctx, 0x402000, RV_WALK_READ, &w, &pfec), 0);
	/* Without NXE, bit 63 is reserved. */
	ctx.nxe = false;
	ck_assert_int_eq(rv_walk(&ctx, 0x402000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_RSVD);
}
END_TEST

START_TEST(user_access_to_supervisor_page_faults)
{
	ctx.user = true;
	ck_assert_int_eq(rv_walk(&ctx, 0x403000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_U);
	ctx.user = false;
	ck_assert_int_eq(rv_walk(&ctx, 0x403000, RV_WALK_READ, &w, &pfec), 0);
	ck_assert(w.global);
	ck_assert(!w.user);
}
END_TEST

START_TEST(smep_and_smap_guard_user_pages_from_supervisor)
{
	ctx.smep = true;
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_FETCH, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_I);
	ctx.smap = true;
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_READ, &w, &pfec), -1);
	ctx.ac = true;
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_READ, &w, &pfec), 0);
}
END_TEST

START_TEST(reserved_bits_fault_with_rsvd)
{
	set(PD + 3 * 8, 0x800000ull | URW | RV_PTE_PS | (1ull << 13)); /* bit 13 of a 2 MiB PDE */
	ck_assert_int_eq(rv_walk(&ctx, 0x600000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_RSVD);
	set(PML4, PDPT | URW | RV_PTE_PS); /* PS is reserved in a PML4E */
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_RSVD);
	set(PML4, PDPT | URW | (1ull << 50)); /* above MAXPHYADDR 46 */
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert_uint_eq(pfec, RV_PFEC_P | RV_PFEC_RSVD);
}
END_TEST

START_TEST(pcid_bits_of_cr3_are_not_an_address)
{
	ctx.cr3 = PML4 | 0x5;
	ctx.pcide = true;
	ck_assert_int_eq(rv_walk(&ctx, 0x400000, RV_WALK_READ, &w, &pfec), 0);
	ck_assert_uint_eq(w.entry_gpa[0], PML4);
}
END_TEST

START_TEST(a_table_outside_ram_faults_as_reserved)
{
	set(PT + 32, 0x10000000ull | URW);   /* a PTE we will point a PDE beyond RAM at */
	set(PD + 4 * 8, 0x7fff000ull | URW); /* PT beyond the 2 MiB of "RAM" */
	ck_assert_int_eq(rv_walk(&ctx, 0x800000, RV_WALK_READ, &w, &pfec), -1);
	ck_assert(pfec & RV_PFEC_RSVD);
}
END_TEST

static Suite *walk_suite(void)
{
	Suite *s = suite_create("walk");
	TCase *tc = tcase_create("paging");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, four_kib_page_translates_and_sets_accessed);
	tcase_add_test(tc, write_sets_dirty_on_the_leaf_only);
	tcase_add_test(tc, large_pages_translate);
	tcase_add_test(tc, not_present_faults_without_touching_accessed);
	tcase_add_test(tc, write_to_read_only_faults_only_with_wp);
	tcase_add_test(tc, nx_blocks_fetch_only_with_nxe);
	tcase_add_test(tc, user_access_to_supervisor_page_faults);
	tcase_add_test(tc, smep_and_smap_guard_user_pages_from_supervisor);
	tcase_add_test(tc, reserved_bits_fault_with_rsvd);
	tcase_add_test(tc, pcid_bits_of_cr3_are_not_an_address);
	tcase_add_test(tc, a_table_outside_ram_faults_as_reserved);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(walk_suite());
}
