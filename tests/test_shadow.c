// SPDX-License-Identifier: MIT
/*
 * Shadow paging against guest tables built by hand: faults derive SPTEs,
 * writes to tracked table pages make them unsync (stale but allowed), and a
 * sync or an intercepted INVLPG re-derives them; the root cache; host zaps.
 */
#include <string.h>

#include "helpers.h"
#include "mem/guest_mem.h"
#include "mmu/shadow.h"
#include "mmu/tlb.h"

#define PHYS_SIZE 0x100000ull
#define PML4	  0x1000ull
#define PDPT	  0x2000ull
#define PD	  0x3000ull
#define PT	  0x4000ull
#define PML4_B	  0x8000ull /* a second address space sharing PDPT */
#define GVA	  0x400000ull
#define URW	  (RV_PTE_P | RV_PTE_W | RV_PTE_U)

static uint64_t *phys;
static struct rv_shadow_track track;
static struct rv_shadow sh;
static struct rv_shadow_env env;
static _Atomic uint64_t clock_now;

static _Atomic uint64_t *entry(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return gpa + 8 <= PHYS_SIZE ? (_Atomic uint64_t *)((uint8_t *)phys + gpa) : NULL;
}

/* Identity: guest page N is host frame N. */
static uint32_t frame(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return gpa < PHYS_SIZE ? (uint32_t)(gpa >> 12) : RV_NO_FRAME;
}

/* A guest store to a table entry, announced once done, as the machine does. */
static void guest_write(uint64_t gpa, uint64_t v)
{
	phys[gpa / 8] = v;
	rv_shadow_write_done(&track, gpa >> 12);
}

static void setup(void)
{
	phys = calloc(1, PHYS_SIZE);
	ck_assert_ptr_nonnull(phys);
	phys[PML4 / 8] = PDPT | URW;
	phys[PML4_B / 8] = PDPT | URW;
	phys[PDPT / 8] = PD | URW;
	phys[(PD + 2 * 8) / 8] = PT | URW; /* GVA 0x400000 */
	phys[PT / 8] = 0x10000ull | URW;
	phys[(PT + 8) / 8] = 0x11000ull | URW;
	ck_assert_int_eq(rv_shadow_track_init(&track, PHYS_SIZE), 0);
	rv_shadow_init(&sh, &track, 64);
	env = (struct rv_shadow_env){
		.phys = NULL, .entry = entry, .frame = frame, .clock = &clock_now, .nxe = true
	};
	rv_shadow_load_root(&sh, PML4);
}

static void teardown(void)
{
	rv_shadow_destroy(&sh);
	rv_shadow_track_destroy(&track);
	free(phys);
}

/* The guest walk of @gva under @cr3, which must succeed. */
static void guest_walk(uint64_t cr3, uint64_t gva, struct rv_walk *w)
{
	struct rv_walk_ctx c = {
		.entry = entry, .cr3 = cr3, .wp = true, .nxe = true, .maxphyaddr = 46
	};
	uint32_t pfec;

	ck_assert_int_eq(rv_walk(&c, gva, RV_WALK_READ, w, &pfec), 0);
}

/* The guest walk, then the shadow fault it causes. */
static void fault(uint64_t cr3, uint64_t gva)
{
	struct rv_shadow_leaf leaf;
	struct rv_walk w;

	guest_walk(cr3, gva, &w);
	ck_assert(rv_shadow_fault(&sh, &env, gva, &w, &leaf));
	ck_assert_uint_eq(leaf.frame, w.gpa >> 12);
}

/* The frame the shadow tables map @gva to, or -1 on a miss. */
static long shadow_frame(uint64_t gva)
{
	struct rv_shadow_leaf leaf;

	return rv_shadow_lookup(&sh, gva, &leaf) ? (long)leaf.frame : -1;
}

START_TEST(a_fault_derives_the_leaf_and_a_lookup_then_hits)
{
	ck_assert_int_eq(shadow_frame(GVA), -1);
	fault(PML4, GVA);
	ck_assert_int_eq(shadow_frame(GVA), 0x10);
	ck_assert_int_eq(shadow_frame(GVA + 0x1000), -1); /* only what was walked */
	ck_assert_uint_eq(sh.stats.faults, 1);
}
END_TEST

START_TEST(a_written_table_page_stays_stale_until_a_sync)
{
	fault(PML4, GVA);
	guest_write(PT, 0x20000ull | URW);
	/* Unsync: the old translation is still what the tables give, which
	 * the architecture allows until the guest invalidates. */
	ck_assert_int_eq(shadow_frame(GVA), 0x10);
	rv_shadow_sync(&sh, &env);
	long f = shadow_frame(GVA);

	ck_assert(f == 0x20 || f == -1);
	ck_assert_uint_ge(sh.stats.synced_pages, 1);
}
END_TEST

START_TEST(a_removed_mapping_is_gone_after_a_sync)
{
	fault(PML4, GVA);
	guest_write(PT, 0);
	rv_shadow_sync(&sh, &env);
	ck_assert_int_eq(shadow_frame(GVA), -1);
}
END_TEST

START_TEST(the_breaking_point_skip_sync_leaves_the_stale_leaf)
{
	fault(PML4, GVA);
	guest_write(PT, 0x20000ull | URW);
	sh.skip_sync = true;
	rv_shadow_sync(&sh, &env);
	ck_assert_int_eq(shadow_frame(GVA), 0x10);
}
END_TEST

START_TEST(an_intercepted_invlpg_rederives_that_address)
{
	fault(PML4, GVA);
	guest_write(PT, 0x20000ull | URW);
	rv_shadow_invlpg(&sh, &env, GVA);
	long f = shadow_frame(GVA);

	ck_assert(f == 0x20 || f == -1);
}
END_TEST

START_TEST(a_write_to_an_untracked_page_changes_nothing)
{
	fault(PML4, GVA);
	guest_write(0x30000, 1); /* not a table page */
	rv_shadow_sync(&sh, &env);
	ck_assert_int_eq(shadow_frame(GVA), 0x10);
	ck_assert_uint_eq(sh.stats.sync_updates, 0);
}
END_TEST

START_TEST(the_root_cache_keeps_the_current_and_three_previous_roots)
{
	ck_assert(!rv_shadow_load_root(&sh, PML4_B)); /* new */
	ck_assert(rv_shadow_load_root(&sh, PML4));    /* cached */
	fault(PML4, GVA);
	ck_assert(rv_shadow_load_root(&sh, PML4_B));
	ck_assert_int_eq(shadow_frame(GVA), -1); /* B's tree is its own */
	ck_assert(rv_shadow_load_root(&sh, PML4));
	ck_assert_int_eq(shadow_frame(GVA), 0x10); /* A's tree kept its leaf */
	/* Four more roots push A out of the cache. */
	for (uint64_t r = 0x50000; r < 0x54000; r += 0x1000)
		ck_assert(!rv_shadow_load_root(&sh, r));
	ck_assert(!rv_shadow_load_root(&sh, PML4));
}
END_TEST

START_TEST(a_sync_reaches_every_cached_root)
{
	fault(PML4, GVA);
	rv_shadow_load_root(&sh, PML4_B);
	guest_write(PT, 0x20000ull | URW);
	rv_shadow_sync(&sh, &env);
	rv_shadow_load_root(&sh, PML4);
	long f = shadow_frame(GVA);

	ck_assert(f == 0x20 || f == -1);
}
END_TEST

START_TEST(a_host_zap_clears_every_leaf_of_the_frame)
{
	fault(PML4, GVA);
	fault(PML4, GVA + 0x1000);
	ck_assert_uint_eq(rv_shadow_zap_frame(&sh, 0x10, 0x10), 1);
	ck_assert_int_eq(shadow_frame(GVA), -1);
	ck_assert_int_eq(shadow_frame(GVA + 0x1000), 0x11);
	ck_assert_uint_eq(rv_shadow_zap_frame(&sh, 0x10, 0x10), 0);
}
END_TEST

/* The filter of mapped guest pages: a zap of pages no SPTE maps does not
 * scan, so it finds nothing even for a frame an SPTE holds; a range zap
 * finds every leaf in the range. */
START_TEST(a_host_zap_skips_pages_the_vcpu_never_mapped)
{
	static _Atomic uint32_t frame_gfn[0x40];

	for (uint32_t f = 0; f < 0x40; f++)
		atomic_init(&frame_gfn[f], f);
	fault(PML4, GVA);
	fault(PML4, GVA + 0x1000);
	ck_assert_uint_eq(rv_shadow_zap_frame(&sh, 0x10, 0x3f), 0);
	ck_assert_int_eq(shadow_frame(GVA), 0x10);
	ck_assert_uint_eq(rv_shadow_zap_gfns(&sh, frame_gfn, 0x20, 0x20), 0);
	ck_assert_uint_eq(rv_shadow_zap_gfns(&sh, frame_gfn, 0, 0x20), 2);
	ck_assert_int_eq(shadow_frame(GVA), -1);
	ck_assert_int_eq(shadow_frame(GVA + 0x1000), -1);
}
END_TEST

START_TEST(a_fault_after_a_host_unmap_installs_nothing)
{
	struct rv_walk_ctx c = {
		.entry = entry, .cr3 = PML4, .wp = true, .nxe = true, .maxphyaddr = 46
	};
	_Atomic uint64_t seq = 1;
	struct rv_shadow_leaf leaf;
	struct rv_walk w;
	uint32_t pfec;

	ck_assert_int_eq(rv_walk(&c, GVA, RV_WALK_READ, &w, &pfec), 0);
	env.seq = &seq;
	env.seq_seen = 0; /* the walk began before the unmap */
	rv_shadow_fault(&sh, &env, GVA, &w, &leaf);
	ck_assert_int_eq(shadow_frame(GVA), -1);
}
END_TEST

START_TEST(the_page_budget_bounds_the_tree)
{
	rv_shadow_destroy(&sh);
	rv_shadow_init(&sh, &track, 2); /* less than the four levels of a path */
	rv_shadow_load_root(&sh, PML4);
	struct rv_walk_ctx c = {
		.entry = entry, .cr3 = PML4, .wp = true, .nxe = true, .maxphyaddr = 46
	};
	struct rv_shadow_leaf leaf;
	struct rv_walk w;
	uint32_t pfec;

	ck_assert_int_eq(rv_walk(&c, GVA, RV_WALK_READ, &w, &pfec), 0);
	rv_shadow_fault(&sh, &env, GVA, &w, &leaf);
	ck_assert_uint_eq(leaf.frame, 0x10); /* used once, uncached */
	ck_assert_uint_le(sh.nr_pages, 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow");
	TCase *tc = tcase_create("shadow");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_fault_derives_the_leaf_and_a_lookup_then_hits);
	tcase_add_test(tc, a_written_table_page_stays_stale_until_a_sync);
	tcase_add_test(tc, a_removed_mapping_is_gone_after_a_sync);
	tcase_add_test(tc, the_breaking_point_skip_sync_leaves_the_stale_leaf);
	tcase_add_test(tc, an_intercepted_invlpg_rederives_that_address);
	tcase_add_test(tc, a_write_to_an_untracked_page_changes_nothing);
	tcase_add_test(tc, the_root_cache_keeps_the_current_and_three_previous_roots);
	tcase_add_test(tc, a_sync_reaches_every_cached_root);
	tcase_add_test(tc, a_host_zap_clears_every_leaf_of_the_frame);
	tcase_add_test(tc, a_host_zap_skips_pages_the_vcpu_never_mapped);
	tcase_add_test(tc, a_fault_after_a_host_unmap_installs_nothing);
	tcase_add_test(tc, the_page_budget_bounds_the_tree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
