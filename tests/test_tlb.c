// SPDX-License-Identifier: MIT
/*
 * The per-pCPU software TLB: sizes, lookups across page sizes and tags,
 * insertion and replacement, every flush operation against every tag
 * combination (SDM vol. 3A §4.10, vol. 3C §28.4), the visit function and the
 * counters, and random operations checked against a plain reference model.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "mmu/tlb.h"

#define KB4 0x1000ull
#define MB2 0x200000ull
#define GB1 0x40000000ull

#define L  RV_TLB_LINEAR
#define GP RV_TLB_GUEST_PHYSICAL
#define C  RV_TLB_COMBINED

#define ROOT1 0x10000ull
#define ROOT2 0x20000ull

static struct rv_tlb *tlb;

static void setup(void)
{
	char err[128] = "";

	tlb = rv_tlb_create(64, 4, NULL, err, sizeof(err));
	ck_assert_msg(tlb, "%s", err);
}

static void teardown(void)
{
	rv_tlb_destroy(tlb);
	tlb = NULL;
}

static struct rv_tlb_tag tag(uint16_t vpid, uint16_t pcid, uint64_t eptrta)
{
	struct rv_tlb_tag t = { .eptrta = eptrta, .vpid = vpid, .pcid = pcid };

	return t;
}

/* Insert a read/write page of @size mapping @addr to @out. */
static const struct rv_tlb_entry *put_fill(enum rv_tlb_kind kind, struct rv_tlb_tag t,
					   uint64_t addr, enum rv_tlb_size size, uint64_t out,
					   bool global)
{
	struct rv_tlb_fill f = {
		.out = out,
		.time = 1,
		.size = size,
		.perm = RV_TLB_R | RV_TLB_W,
		.global = global,
	};

	return rv_tlb_insert(tlb, kind, t, addr, &f);
}

static void put(enum rv_tlb_kind kind, struct rv_tlb_tag t, uint64_t addr, enum rv_tlb_size size)
{
	put_fill(kind, t, addr, size, 0x100000000ull + (addr & ~(rv_tlb_size_bytes(size) - 1)),
		 false);
}

static void put_global(enum rv_tlb_kind kind, struct rv_tlb_tag t, uint64_t addr)
{
	put_fill(kind, t, addr, RV_TLB_4K, 0x100000000ull + (addr & ~(KB4 - 1)), true);
}

static bool hit(enum rv_tlb_kind kind, struct rv_tlb_tag t, uint64_t addr)
{
	return rv_tlb_lookup(tlb, kind, t, addr) != NULL;
}

/* ---- creation ---------------------------------------------------------- */

static void expect_rejected(unsigned sets, unsigned ways, const char *needle)
{
	char err[128] = "";
	struct rv_tlb *t = rv_tlb_create(sets, ways, NULL, err, sizeof(err));

	ck_assert_msg(!t, "%u sets x %u ways accepted", sets, ways);
	ck_assert_msg(strstr(err, needle), "'%s' lacks '%s'", err, needle);
}

START_TEST(create_rejects_sizes_that_are_not_powers_of_two_in_range)
{
	expect_rejected(0, 4, "sets");
	expect_rejected(3, 4, "not 3");
	expect_rejected(RV_TLB_MAX_SETS * 2, 1, "sets");
	expect_rejected(64, 0, "ways");
	expect_rejected(64, 6, "not 6");
	expect_rejected(64, RV_TLB_MAX_WAYS * 2, "ways");
	expect_rejected(RV_TLB_MAX_SETS, RV_TLB_MAX_WAYS, "exceeds");
}
END_TEST

struct counting_alloc {
	unsigned allocs, frees;
	void *last;
	size_t size;
};

/* Hands out blocks 8 bytes past a malloc'd address, so never 64-aligned. */
static void *odd_alloc(void *ctx, size_t size)
{
	struct counting_alloc *c = ctx;
	uint8_t *p = malloc(size + 8);

	c->allocs++;
	c->size = size;
	c->last = p ? p + 8 : NULL;
	return c->last;
}

static void odd_free(void *ctx, void *p, size_t size)
{
	struct counting_alloc *c = ctx;

	ck_assert_ptr_eq(p, c->last);
	ck_assert_uint_eq(size, c->size);
	c->frees++;
	free((uint8_t *)p - 8);
}

START_TEST(create_makes_one_allocation_from_the_callers_allocator)
{
	struct counting_alloc c = { 0 };
	struct rv_tlb_allocator a = { odd_alloc, odd_free, &c };
	char err[128];
	struct rv_tlb *t = rv_tlb_create(16, 8, &a, err, sizeof(err));

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(c.allocs, 1);
	ck_assert_uint_eq(rv_tlb_sets(t), 16);
	ck_assert_uint_eq(rv_tlb_ways(t), 8);
	struct rv_tlb_fill f = { .out = 0x5000, .size = RV_TLB_4K, .perm = RV_TLB_R };

	for (uint64_t i = 0; i < 1000; i++) {
		const struct rv_tlb_entry *e = rv_tlb_insert(t, L, tag(1, 0, 0), i * KB4, &f);

		ck_assert_uint_eq((uintptr_t)e % sizeof(*e), 0);
		ck_assert_ptr_eq(rv_tlb_lookup(t, L, tag(1, 0, 0), i * KB4), e);
		rv_tlb_flush_addr(t, 1, 0, i * KB4 + 7, false);
	}
	ck_assert_uint_eq(c.allocs, 1);
	ck_assert_uint_eq(c.frees, 0);
	rv_tlb_destroy(t);
	ck_assert_uint_eq(c.frees, 1);
}
END_TEST

START_TEST(one_set_of_one_way_holds_the_last_insertion)
{
	char err[128];
	struct rv_tlb *small = rv_tlb_create(1, 1, NULL, err, sizeof(err));
	struct rv_tlb_fill f = { .out = 0x5000, .size = RV_TLB_4K, .perm = RV_TLB_R };

	ck_assert_ptr_nonnull(small);
	rv_tlb_insert(small, L, tag(1, 0, 0), 0x1000, &f);
	rv_tlb_insert(small, L, tag(1, 0, 0), 0x2000, &f);
	ck_assert_ptr_null(rv_tlb_lookup(small, L, tag(1, 0, 0), 0x1000));
	ck_assert_ptr_nonnull(rv_tlb_lookup(small, L, tag(1, 0, 0), 0x2000));
	ck_assert_uint_eq(rv_tlb_count(small), 1);
	ck_assert_uint_eq(rv_tlb_stats(small)->evictions, 1);
	rv_tlb_destroy(small);
}
END_TEST

/* ---- lookup ------------------------------------------------------------ */

START_TEST(empty_tlb_misses_and_counts_the_miss)
{
	ck_assert(!hit(L, tag(1, 0, 0), 0x1000));
	ck_assert(!hit(GP, tag(0, 0, ROOT1), 0x1000));
	ck_assert_uint_eq(rv_tlb_stats(tlb)->misses, 2);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->hits, 0);
}
END_TEST

START_TEST(lookup_returns_what_was_inserted)
{
	struct rv_tlb_fill f = {
		.out = 0xabcd000,
		.time = 42,
		.size = RV_TLB_4K,
		.perm = RV_TLB_R | RV_TLB_U | RV_TLB_X,
		.dirty = true,
		.global = true,
	};
	struct rv_tlb_info info;

	rv_tlb_insert(tlb, C, tag(3, 5, ROOT1), 0x7000123, &f);

	const struct rv_tlb_entry *e = rv_tlb_lookup(tlb, C, tag(3, 5, ROOT1), 0x7000fff);

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(rv_tlb_entry_translate(e, 0x7000fff), 0xabcdfff);
	ck_assert_uint_eq(rv_tlb_entry_perm(e), RV_TLB_R | RV_TLB_U | RV_TLB_X);
	ck_assert(rv_tlb_entry_dirty(e));
	ck_assert_uint_eq(rv_tlb_entry_size(e), RV_TLB_4K);
	rv_tlb_decode(e, &info);
	ck_assert_int_eq(info.kind, C);
	ck_assert_uint_eq(info.tag.vpid, 3);
	ck_assert_uint_eq(info.tag.pcid, 5);
	ck_assert_uint_eq(info.tag.eptrta, ROOT1);
	ck_assert_uint_eq(info.in, 0x7000000);
	ck_assert_uint_eq(info.fill.out, 0xabcd000);
	ck_assert_uint_eq(info.fill.time, 42);
	ck_assert(info.fill.global);
	ck_assert(info.fill.dirty);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->hits, 1);
}
END_TEST

START_TEST(lookup_finds_2m_and_1g_pages_anywhere_inside)
{
	struct rv_tlb_tag t = tag(1, 0, 0);

	put_fill(L, t, 0x40200000, RV_TLB_2M, 0x80000000, false);
	put_fill(L, t, 0x80000000, RV_TLB_1G, 0xc0000000, false);
	ck_assert(hit(L, t, 0x40200000));
	ck_assert(hit(L, t, 0x40312345));
	ck_assert(hit(L, t, 0x403fffff));
	ck_assert(!hit(L, t, 0x40400000));
	ck_assert(!hit(L, t, 0x401fffff));
	ck_assert(hit(L, t, 0x80000000));
	ck_assert(hit(L, t, 0xbfffffff));
	ck_assert(!hit(L, t, 0xc0000000));
	ck_assert_uint_eq(rv_tlb_entry_translate(rv_tlb_lookup(tlb, L, t, 0x40312345), 0x40312345),
			  0x80112345);
	ck_assert_uint_eq(rv_tlb_entry_translate(rv_tlb_lookup(tlb, L, t, 0x9abcdef1), 0x9abcdef1),
			  0xdabcdef1);
}
END_TEST

START_TEST(insert_ignores_output_bits_below_the_page_size)
{
	const struct rv_tlb_entry *e =
		put_fill(L, tag(1, 0, 0), 0x600000, RV_TLB_2M, 0x812345, false);

	ck_assert_uint_eq(rv_tlb_entry_translate(e, 0x6abcde), 0x8abcde);
}
END_TEST

START_TEST(lookup_prefers_the_smallest_page_when_sizes_overlap)
{
	struct rv_tlb_tag t = tag(1, 0, 0);

	/* A stale 4 KiB entry inside a 2 MiB page inserted later at another
	 * address: both cover 0x601000 and either may be used (§4.10.2.3). */
	put_fill(L, t, 0x601000, RV_TLB_4K, 0x1000, false);
	put_fill(L, t, 0x600000, RV_TLB_2M, 0x800000, false);
	ck_assert_uint_eq(rv_tlb_count(tlb), 2);
	ck_assert_uint_eq(rv_tlb_entry_size(rv_tlb_lookup(tlb, L, t, 0x601000)), RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_entry_size(rv_tlb_lookup(tlb, L, t, 0x602000)), RV_TLB_2M);
}
END_TEST

START_TEST(lookup_matches_the_kind_exactly)
{
	put(L, tag(1, 0, ROOT1), 0x5000, RV_TLB_4K);
	ck_assert(hit(L, tag(1, 0, ROOT1), 0x5000));
	ck_assert(!hit(C, tag(1, 0, ROOT1), 0x5000));
	ck_assert(!hit(GP, tag(1, 0, ROOT1), 0x5000));
}
END_TEST

START_TEST(lookup_requires_the_same_vpid)
{
	put(L, tag(1, 0, 0), 0x5000, RV_TLB_4K);
	put_global(C, tag(1, 0, ROOT1), 0x5000);
	ck_assert(!hit(L, tag(2, 0, 0), 0x5000));
	ck_assert(!hit(C, tag(2, 0, ROOT1), 0x5000));
}
END_TEST

START_TEST(nonglobal_entry_requires_the_same_pcid)
{
	put(L, tag(1, 7, 0), 0x5000, RV_TLB_4K);
	put(C, tag(1, 7, ROOT1), 0x5000, RV_TLB_4K);
	ck_assert(hit(L, tag(1, 7, 0), 0x5000));
	ck_assert(!hit(L, tag(1, 8, 0), 0x5000));
	ck_assert(hit(C, tag(1, 7, ROOT1), 0x5000));
	ck_assert(!hit(C, tag(1, 8, ROOT1), 0x5000));
}
END_TEST

START_TEST(global_matches_any_pcid)
{
	put_global(L, tag(1, 7, 0), 0x5000);
	put_global(C, tag(1, 7, ROOT1), 0x5000);
	for (uint16_t pcid = 0; pcid < 4096; pcid += 91) {
		ck_assert(hit(L, tag(1, pcid, 0), 0x5000));
		ck_assert(hit(C, tag(1, pcid, ROOT1), 0x5000));
	}
}
END_TEST

START_TEST(global_combined_still_requires_vpid_and_eptrta)
{
	put_global(C, tag(1, 7, ROOT1), 0x5000);
	ck_assert(!hit(C, tag(1, 7, ROOT2), 0x5000));
	ck_assert(!hit(C, tag(2, 7, ROOT1), 0x5000));
}
END_TEST

START_TEST(linear_ignores_eptrta_and_guest_physical_ignores_vpid_and_pcid)
{
	put(L, tag(1, 2, ROOT1), 0x5000, RV_TLB_4K);
	put(GP, tag(1, 2, ROOT1), 0x9000, RV_TLB_4K);
	ck_assert(hit(L, tag(1, 2, ROOT2), 0x5000));
	ck_assert(hit(GP, tag(9, 9, ROOT1), 0x9000));
	ck_assert(!hit(GP, tag(1, 2, ROOT2), 0x9000));
}
END_TEST

START_TEST(guest_physical_entries_are_never_global)
{
	struct rv_tlb_info info;

	put_fill(GP, tag(0, 0, ROOT1), 0x9000, RV_TLB_4K, 0x1000, true);
	rv_tlb_decode(rv_tlb_lookup(tlb, GP, tag(0, 0, ROOT1), 0x9000), &info);
	ck_assert(!info.fill.global);
}
END_TEST

START_TEST(high_canonical_gva_decodes_to_itself)
{
	uint64_t gva = 0xffff888012345000ull;
	struct rv_tlb_info info;

	put(L, tag(1, 0, 0), gva, RV_TLB_4K);
	rv_tlb_decode(rv_tlb_lookup(tlb, L, tag(1, 0, 0), gva + 0x10), &info);
	ck_assert_uint_eq(info.in, gva);
	ck_assert(!hit(L, tag(1, 0, 0), 0x0000888012345000ull));
}
END_TEST

/* ---- insertion and replacement ----------------------------------------- */

START_TEST(insert_of_a_cached_page_replaces_the_translation)
{
	struct rv_tlb_fill f = { .out = 0x2000, .time = 9, .size = RV_TLB_4K, .perm = RV_TLB_R };
	const struct rv_tlb_entry *e;

	put(L, tag(1, 0, 0), 0x5000, RV_TLB_4K);
	rv_tlb_insert(tlb, L, tag(1, 0, 0), 0x5abc, &f);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
	e = rv_tlb_lookup(tlb, L, tag(1, 0, 0), 0x5000);
	ck_assert_uint_eq(rv_tlb_entry_translate(e, 0x5000), 0x2000);
	ck_assert_uint_eq(e->time, 9);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->replaced, 1);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->evictions, 0);
}
END_TEST

START_TEST(insert_replaces_another_size_covering_the_address)
{
	struct rv_tlb_tag t = tag(1, 0, 0);

	put(L, t, 0x601000, RV_TLB_4K);
	put_fill(L, t, 0x601000, RV_TLB_2M, 0x800000, false);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
	ck_assert_uint_eq(rv_tlb_entry_size(rv_tlb_lookup(tlb, L, t, 0x601000)), RV_TLB_2M);
	put_fill(L, t, 0x601000, RV_TLB_1G, 0, false);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
	ck_assert_uint_eq(rv_tlb_entry_size(rv_tlb_lookup(tlb, L, t, 0x601000)), RV_TLB_1G);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->replaced, 2);
}
END_TEST

START_TEST(insert_keeps_nonglobal_entries_of_other_pcids)
{
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	put(L, tag(1, 2, 0), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), 2);
	ck_assert(hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(hit(L, tag(1, 2, 0), 0x5000));
}
END_TEST

START_TEST(insert_global_replaces_entries_of_other_pcids_at_the_address)
{
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	put(L, tag(1, 2, 0), 0x5000, RV_TLB_4K);
	put(L, tag(1, 2, 0), 0x6000, RV_TLB_4K);
	put_global(L, tag(1, 3, 0), 0x5000);
	struct rv_tlb_info info;

	ck_assert_uint_eq(rv_tlb_count(tlb), 2);
	rv_tlb_decode(rv_tlb_lookup(tlb, L, tag(1, 1, 0), 0x5000), &info);
	ck_assert(info.fill.global);
	ck_assert_uint_eq(info.tag.pcid, 3);
	ck_assert(hit(L, tag(1, 2, 0), 0x6000));
}
END_TEST

START_TEST(insert_nonglobal_replaces_a_global_of_another_pcid)
{
	struct rv_tlb_info info;

	put_global(L, tag(1, 3, 0), 0x5000);
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
	ck_assert(!hit(L, tag(1, 3, 0), 0x5000));
	rv_tlb_decode(rv_tlb_lookup(tlb, L, tag(1, 1, 0), 0x5000), &info);
	ck_assert(!info.fill.global);
}
END_TEST

START_TEST(insert_of_another_tag_or_kind_replaces_nothing)
{
	put(L, tag(1, 0, 0), 0x5000, RV_TLB_4K);
	put(L, tag(2, 0, 0), 0x5000, RV_TLB_4K);
	put(C, tag(1, 0, ROOT1), 0x5000, RV_TLB_4K);
	put(C, tag(1, 0, ROOT2), 0x5000, RV_TLB_4K);
	put(GP, tag(0, 0, ROOT1), 0x5000, RV_TLB_4K);
	put(GP, tag(0, 0, ROOT2), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), 6);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->replaced, 0);
}
END_TEST

static struct rv_tlb *one_set(unsigned ways)
{
	char err[128];
	struct rv_tlb *t = rv_tlb_create(1, ways, NULL, err, sizeof(err));

	ck_assert_msg(t, "%s", err);
	return t;
}

static void put_in(struct rv_tlb *t, uint64_t addr)
{
	struct rv_tlb_fill f = { .out = addr, .size = RV_TLB_4K, .perm = RV_TLB_R };

	rv_tlb_insert(t, L, tag(1, 0, 0), addr, &f);
}

START_TEST(replacement_evicts_within_a_set_in_round_robin_order)
{
	struct rv_tlb *t = one_set(4);

	for (uint64_t i = 0; i < 4; i++)
		put_in(t, i * KB4);
	ck_assert_uint_eq(rv_tlb_stats(t)->evictions, 0);
	for (uint64_t i = 4; i < 10; i++) {
		put_in(t, i * KB4);
		/* The oldest page is gone, the last four remain. */
		ck_assert_ptr_null(rv_tlb_lookup(t, L, tag(1, 0, 0), (i - 4) * KB4));
		for (uint64_t j = i - 3; j <= i; j++)
			ck_assert_ptr_nonnull(rv_tlb_lookup(t, L, tag(1, 0, 0), j * KB4));
	}
	ck_assert_uint_eq(rv_tlb_stats(t)->evictions, 6);
	ck_assert_uint_eq(rv_tlb_count(t), 4);
	rv_tlb_destroy(t);
}
END_TEST

START_TEST(sixty_four_ways_hold_sixty_four_pages_of_one_set)
{
	struct rv_tlb *t = one_set(64);

	for (uint64_t i = 0; i < 64; i++)
		put_in(t, i * KB4);
	for (uint64_t i = 0; i < 64; i++)
		ck_assert_ptr_nonnull(rv_tlb_lookup(t, L, tag(1, 0, 0), i * KB4));
	ck_assert_uint_eq(rv_tlb_stats(t)->evictions, 0);
	put_in(t, 64 * KB4);
	ck_assert_ptr_null(rv_tlb_lookup(t, L, tag(1, 0, 0), 0));
	ck_assert_uint_eq(rv_tlb_flush_addr(t, 1, 0, 63 * KB4, false), 1);
	ck_assert_uint_eq(rv_tlb_count(t), 63);
	rv_tlb_destroy(t);
}
END_TEST

START_TEST(replacement_takes_a_flushed_way_before_evicting)
{
	struct rv_tlb *t = one_set(4);

	for (uint64_t i = 0; i < 4; i++)
		put_in(t, i * KB4);
	ck_assert_uint_eq(rv_tlb_flush_addr(t, 1, 0, 2 * KB4, false), 1);
	put_in(t, 9 * KB4);
	ck_assert_uint_eq(rv_tlb_stats(t)->evictions, 0);
	for (uint64_t i = 0; i < 4; i++)
		ck_assert(i == 2 || rv_tlb_lookup(t, L, tag(1, 0, 0), i * KB4));
	rv_tlb_destroy(t);
}
END_TEST

START_TEST(vcpus_at_the_same_gva_spread_over_sets)
{
	/* 64 VPIDs, one entry each at the same GVA, in 64 sets of 4 ways:
	 * without the tag in the set index all would fight for 4 ways. */
	for (uint16_t v = 1; v <= 64; v++)
		put(L, tag(v, 0, 0), 0xffffffff81000000ull, RV_TLB_4K);
	ck_assert_uint_lt(rv_tlb_stats(tlb)->evictions, 16);
}
END_TEST

/* ---- flushes ----------------------------------------------------------- */

/*
 * Per VPID 1 and 2: a linear entry at 0x5000 for PCIDs 1 and 2, a combined
 * one for each PCID and roots 1 and 2, and a global linear and a global
 * combined (root 1) entry at 0x9000 under PCID 3; one guest-physical entry
 * per root. 2 * (2 + 4 + 2) + 2 entries.
 */
#define POPULATED 18

static void populate(void)
{
	for (uint16_t v = 1; v <= 2; v++) {
		for (uint16_t p = 1; p <= 2; p++) {
			put(L, tag(v, p, 0), 0x5000, RV_TLB_4K);
			put(C, tag(v, p, ROOT1), 0x5000, RV_TLB_4K);
			put(C, tag(v, p, ROOT2), 0x5000, RV_TLB_4K);
		}
		put_global(L, tag(v, 3, 0), 0x9000);
		put_global(C, tag(v, 3, ROOT1), 0x9000);
	}
	put(GP, tag(0, 0, ROOT1), 0x5000, RV_TLB_4K);
	put(GP, tag(0, 0, ROOT2), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), POPULATED);
}

START_TEST(flush_all_removes_every_kind_and_counts_them)
{
	populate();
	ck_assert_uint_eq(rv_tlb_count(tlb), POPULATED);
	ck_assert_uint_eq(rv_tlb_flush_all(tlb), POPULATED);
	ck_assert_uint_eq(rv_tlb_count(tlb), 0);
	ck_assert(!hit(GP, tag(0, 0, ROOT1), 0x5000));
	ck_assert(!hit(L, tag(1, 3, 0), 0x9000));
	ck_assert_uint_eq(rv_tlb_flush_all(tlb), 0);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->flushes[RV_TLB_FLUSH_ALL], 2);
	ck_assert_uint_eq(rv_tlb_stats(tlb)->flushed[RV_TLB_FLUSH_ALL], POPULATED);
}
END_TEST

START_TEST(flush_tag_any_pcid_removes_the_vpid_globals_included)
{
	populate();
	/* VPID 1: 2 linear, 4 combined, 2 global. */
	ck_assert_uint_eq(rv_tlb_flush_tag(tlb, 1, RV_TLB_ANY_PCID), 8);
	ck_assert(!hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(!hit(C, tag(1, 2, ROOT2), 0x5000));
	ck_assert(!hit(L, tag(1, 3, 0), 0x9000));
	ck_assert(!hit(C, tag(1, 3, ROOT1), 0x9000));
}
END_TEST

START_TEST(flush_tag_keeps_other_vpids)
{
	populate();
	rv_tlb_flush_tag(tlb, 1, RV_TLB_ANY_PCID);
	ck_assert(hit(L, tag(2, 1, 0), 0x5000));
	ck_assert(hit(C, tag(2, 2, ROOT2), 0x5000));
	ck_assert(hit(L, tag(2, 0, 0), 0x9000));
	ck_assert(hit(C, tag(2, 0, ROOT1), 0x9000));
}
END_TEST

START_TEST(flush_tag_keeps_guest_physical_entries)
{
	populate();
	rv_tlb_flush_tag(tlb, 1, RV_TLB_ANY_PCID);
	rv_tlb_flush_tag(tlb, 2, RV_TLB_ANY_PCID);
	ck_assert_uint_eq(rv_tlb_count(tlb), 2);
	ck_assert(hit(GP, tag(0, 0, ROOT1), 0x5000));
	ck_assert(hit(GP, tag(0, 0, ROOT2), 0x5000));
}
END_TEST

START_TEST(flush_tag_of_one_pcid_keeps_other_pcids_and_removes_globals)
{
	populate();
	/* VPID 1 PCID 1: 1 linear, 2 combined; and VPID 1's 2 globals. */
	ck_assert_uint_eq(rv_tlb_flush_tag(tlb, 1, 1), 5);
	ck_assert(!hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(!hit(C, tag(1, 1, ROOT1), 0x5000));
	ck_assert(!hit(L, tag(1, 1, 0), 0x9000));
	ck_assert(hit(L, tag(1, 2, 0), 0x5000));
	ck_assert(hit(C, tag(1, 2, ROOT2), 0x5000));
	ck_assert(hit(L, tag(2, 1, 0), 0x9000));
}
END_TEST

START_TEST(flush_tag_removes_combined_of_every_eptrta)
{
	put(C, tag(1, 1, ROOT1), 0x5000, RV_TLB_4K);
	put(C, tag(1, 1, ROOT2), 0x5000, RV_TLB_4K);
	put(C, tag(1, 1, 0x777000), 0x5000, RV_TLB_2M);
	ck_assert_uint_eq(rv_tlb_flush_tag(tlb, 1, 1), 3);
}
END_TEST

START_TEST(global_survives_nonglobal_flush)
{
	populate();
	/* MOV CR3 to PCID 3: VPID 1's PCID 3 has only globals. */
	ck_assert_uint_eq(rv_tlb_flush_nonglobal(tlb, 1, 3), 0);
	ck_assert(hit(L, tag(1, 3, 0), 0x9000));
	/* INVVPID type 3: every PCID, but the globals stay. */
	ck_assert_uint_eq(rv_tlb_flush_nonglobal(tlb, 1, RV_TLB_ANY_PCID), 6);
	ck_assert(hit(L, tag(1, 1, 0), 0x9000));
	ck_assert(hit(C, tag(1, 2, ROOT1), 0x9000));
	ck_assert(!hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(!hit(C, tag(1, 2, ROOT2), 0x5000));
}
END_TEST

START_TEST(nonglobal_flush_of_one_pcid_keeps_other_pcids_and_vpids)
{
	populate();
	/* MOV CR3 / INVPCID type 1 for PCID 1 of VPID 1: 1 linear, 2 combined. */
	ck_assert_uint_eq(rv_tlb_flush_nonglobal(tlb, 1, 1), 3);
	ck_assert(!hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(hit(L, tag(1, 2, 0), 0x5000));
	ck_assert(hit(C, tag(1, 2, ROOT1), 0x5000));
	ck_assert(hit(L, tag(2, 1, 0), 0x5000));
	ck_assert(hit(L, tag(1, 1, 0), 0x9000));
	ck_assert_uint_eq(rv_tlb_stats(tlb)->flushed[RV_TLB_FLUSH_NONGLOBAL], 3);
}
END_TEST

START_TEST(flush_addr_removes_every_size_covering_it)
{
	struct rv_tlb_tag t = tag(1, 0, 0);

	/* Three stale overlapping entries (none supersedes another: each
	 * was inserted at an address the others' pages did not cover yet). */
	put(L, t, 0x40201000, RV_TLB_4K);
	put(L, t, 0x40200000, RV_TLB_2M);
	put(L, t, 0x40000000, RV_TLB_1G);
	put(L, t, 0x80000000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), 4);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 0, 0x40201abc, false), 3);
	ck_assert(!hit(L, t, 0x40201000));
	ck_assert(!hit(L, t, 0x40000000));
	ck_assert(hit(L, t, 0x80000000));
}
END_TEST

START_TEST(flush_addr_keeps_neighbouring_pages)
{
	struct rv_tlb_tag t = tag(1, 0, 0);

	for (uint64_t a = 0x10000; a < 0x20000; a += KB4)
		put(L, t, a, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 0, 0x18000, false), 1);
	ck_assert(hit(L, t, 0x17000));
	ck_assert(!hit(L, t, 0x18000));
	ck_assert(hit(L, t, 0x19000));
}
END_TEST

START_TEST(flush_addr_removes_current_pcid_and_globals_of_any_pcid)
{
	/* INVLPG under PCID 1 (SDM vol. 3A §4.10.4.1). */
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	put(L, tag(1, 7, 0), 0x5000, RV_TLB_4K);
	put_global(L, tag(1, 5, 0), 0x6000);
	put_global(C, tag(1, 5, ROOT1), 0x6000);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x5000, false), 1);
	ck_assert(hit(L, tag(1, 7, 0), 0x5000));
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x6000, false), 2);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
}
END_TEST

START_TEST(flush_addr_keeping_globals_spares_them)
{
	/* INVPCID individual-address. */
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	put_global(L, tag(1, 1, 0), 0x6000);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x6000, true), 0);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x5000, true), 1);
	ck_assert(hit(L, tag(1, 9, 0), 0x6000));
}
END_TEST

START_TEST(flush_addr_any_pcid_removes_every_pcid)
{
	/* INVVPID individual-address. */
	for (uint16_t p = 0; p < 4; p++)
		put(L, tag(1, p, 0), 0x5000, RV_TLB_4K);
	put_global(L, tag(1, 9, 0), 0xd000);
	put(L, tag(1, 9, 0), 0x6000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_count(tlb), 6);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, RV_TLB_ANY_PCID, 0x5fff, false), 4);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, RV_TLB_ANY_PCID, 0xd000, false), 1);
	ck_assert_uint_eq(rv_tlb_count(tlb), 1);
}
END_TEST

START_TEST(flush_addr_removes_combined_of_every_eptrta)
{
	put(C, tag(1, 1, ROOT1), 0x5000, RV_TLB_4K);
	put(C, tag(1, 1, ROOT2), 0x5000, RV_TLB_4K);
	put(L, tag(1, 1, 0), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x5000, false), 3);
}
END_TEST

START_TEST(flush_addr_keeps_guest_physical_and_other_vpids)
{
	put(GP, tag(1, 1, ROOT1), 0x5000, RV_TLB_4K);
	put(L, tag(2, 1, 0), 0x5000, RV_TLB_4K);
	put_global(L, tag(2, 1, 0), 0x6000);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, RV_TLB_ANY_PCID, 0x5000, false), 0);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, 1, 0x6000, false), 0);
	ck_assert_uint_eq(rv_tlb_count(tlb), 3);
}
END_TEST

START_TEST(eptp_flush_keeps_linear_entries)
{
	populate();
	rv_tlb_flush_eptrta(tlb, ROOT1);
	rv_tlb_flush_eptrta(tlb, ROOT2);
	ck_assert(hit(L, tag(1, 1, 0), 0x5000));
	ck_assert(hit(L, tag(2, 2, 0), 0x5000));
	ck_assert(hit(L, tag(1, 0, 0), 0x9000));
	ck_assert_uint_eq(rv_tlb_count(tlb), 6);
}
END_TEST

START_TEST(eptp_flush_removes_guest_physical_and_combined_of_every_vpid_pcid_and_global)
{
	populate();
	/* Root 1: 4 combined, 2 global combined, 1 guest-physical. */
	ck_assert_uint_eq(rv_tlb_flush_eptrta(tlb, ROOT1), 7);
	ck_assert(!hit(GP, tag(0, 0, ROOT1), 0x5000));
	ck_assert(!hit(C, tag(2, 2, ROOT1), 0x5000));
	ck_assert(!hit(C, tag(1, 0, ROOT1), 0x9000));
}
END_TEST

START_TEST(eptp_flush_keeps_other_roots)
{
	populate();
	rv_tlb_flush_eptrta(tlb, ROOT1);
	ck_assert(hit(GP, tag(0, 0, ROOT2), 0x5000));
	ck_assert(hit(C, tag(1, 1, ROOT2), 0x5000));
	ck_assert(hit(C, tag(2, 2, ROOT2), 0x5000));
}
END_TEST

START_TEST(eptp_flush_of_any_root_removes_all_guest_physical_and_combined)
{
	/* INVEPT global. */
	populate();
	ck_assert_uint_eq(rv_tlb_flush_eptrta(tlb, RV_TLB_ANY_EPTRTA), POPULATED - 6);
	ck_assert_uint_eq(rv_tlb_count(tlb), 6);
}
END_TEST

static bool vpid_not_zero(void *ctx, const struct rv_tlb_info *e)
{
	(*(unsigned *)ctx)++;
	return e->kind != GP && e->tag.vpid != 0;
}

START_TEST(flush_if_removes_what_the_predicate_selects)
{
	unsigned calls = 0;

	/* INVVPID all-context spares VPID 0. */
	populate();
	put(L, tag(0, 0, 0), 0x5000, RV_TLB_4K);
	ck_assert_uint_eq(rv_tlb_flush_if(tlb, vpid_not_zero, &calls), POPULATED - 2);
	ck_assert_uint_eq(calls, POPULATED + 1);
	ck_assert(hit(L, tag(0, 0, 0), 0x5000));
	ck_assert(hit(GP, tag(0, 0, ROOT1), 0x5000));
	ck_assert_uint_eq(rv_tlb_count(tlb), 3);
}
END_TEST

START_TEST(flushes_that_match_nothing_remove_nothing)
{
	ck_assert_uint_eq(rv_tlb_flush_tag(tlb, 1, RV_TLB_ANY_PCID), 0);
	ck_assert_uint_eq(rv_tlb_flush_eptrta(tlb, ROOT1), 0);
	populate();
	ck_assert_uint_eq(rv_tlb_flush_tag(tlb, 3, RV_TLB_ANY_PCID), 0);
	ck_assert_uint_eq(rv_tlb_flush_nonglobal(tlb, 1, 4), 0);
	ck_assert_uint_eq(rv_tlb_flush_addr(tlb, 1, RV_TLB_ANY_PCID, 0x7000, false), 0);
	ck_assert_uint_eq(rv_tlb_flush_eptrta(tlb, 0x30000), 0);
	ck_assert_uint_eq(rv_tlb_count(tlb), POPULATED);
}
END_TEST

/* ---- visit and counters ------------------------------------------------- */

struct tally {
	unsigned n, kinds[RV_TLB_NR_KINDS], globals, stop_at;
};

static int count_entry(void *ctx, const struct rv_tlb_info *e)
{
	struct tally *t = ctx;

	ck_assert_uint_lt(e->set, rv_tlb_sets(tlb));
	ck_assert_uint_lt(e->way, rv_tlb_ways(tlb));
	t->n++;
	t->kinds[e->kind]++;
	t->globals += e->fill.global;
	return t->n == t->stop_at ? 77 : 0;
}

START_TEST(visit_sees_every_valid_entry_decoded)
{
	struct tally t = { 0 };

	populate();
	ck_assert_int_eq(rv_tlb_visit(tlb, count_entry, &t), 0);
	ck_assert_uint_eq(t.n, POPULATED);
	ck_assert_uint_eq(t.kinds[L], 6);
	ck_assert_uint_eq(t.kinds[C], 10);
	ck_assert_uint_eq(t.kinds[GP], 2);
	ck_assert_uint_eq(t.globals, 4);
}
END_TEST

START_TEST(visit_stops_at_the_first_nonzero_return)
{
	struct tally t = { .stop_at = 5 };

	populate();
	ck_assert_int_eq(rv_tlb_visit(tlb, count_entry, &t), 77);
	ck_assert_uint_eq(t.n, 5);
}
END_TEST

START_TEST(counters_count_every_operation)
{
	const struct rv_tlb_stats *s = rv_tlb_stats(tlb);

	populate();
	hit(L, tag(1, 1, 0), 0x5000);
	hit(L, tag(1, 1, 0), 0x7000);
	rv_tlb_flush_addr(tlb, 1, 1, 0x5000, false);
	rv_tlb_flush_nonglobal(tlb, 2, 1);
	rv_tlb_flush_tag(tlb, 2, RV_TLB_ANY_PCID);
	rv_tlb_flush_eptrta(tlb, ROOT2);
	ck_assert_uint_eq(s->inserts, POPULATED);
	ck_assert_uint_eq(s->hits, 1);
	ck_assert_uint_eq(s->misses, 1);
	ck_assert_uint_eq(s->flushed[RV_TLB_FLUSH_ADDR], 3);
	ck_assert_uint_eq(s->flushed[RV_TLB_FLUSH_NONGLOBAL], 3);
	ck_assert_uint_eq(s->flushed[RV_TLB_FLUSH_TAG], 5);
	ck_assert_uint_eq(s->flushed[RV_TLB_FLUSH_EPTRTA], 2);
	for (unsigned op = RV_TLB_FLUSH_TAG; op <= RV_TLB_FLUSH_EPTRTA; op++)
		ck_assert_uint_eq(s->flushes[op], 1);
	ck_assert_uint_eq(rv_tlb_count(tlb), POPULATED - 13);
	rv_tlb_stats_reset(tlb);
	ck_assert_uint_eq(s->inserts, 0);
	ck_assert_uint_eq(s->flushed[RV_TLB_FLUSH_TAG], 0);
}
END_TEST

/* ---- random operations against a reference model ------------------------ */

/*
 * The model holds every translation the TLB may hold, with no capacity: a
 * list of decoded entries, changed by the rules of tlb.h written as plainly
 * as possible. In a TLB big enough never to evict, the two must be equal
 * after every operation; in a small one the TLB must be a subset.
 */
#define MODEL_MAX 4096

struct model {
	unsigned n;
	struct rv_tlb_info e[MODEL_MAX];
};

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

static bool covers(const struct rv_tlb_info *e, uint64_t addr)
{
	uint64_t mask = ~(rv_tlb_size_bytes(e->fill.size) - 1);

	return ((e->in ^ addr) & mask) == 0;
}

static bool tagged_vpid(enum rv_tlb_kind k)
{
	return k != GP;
}

static bool tagged_root(enum rv_tlb_kind k)
{
	return k != L;
}

/* Whether a lookup of (@kind, @t, @addr) may return @e. */
static bool model_matches(const struct rv_tlb_info *e, enum rv_tlb_kind kind, struct rv_tlb_tag t,
			  uint64_t addr)
{
	if (e->kind != kind || !covers(e, addr))
		return false;
	if (tagged_root(kind) && e->tag.eptrta != t.eptrta)
		return false;
	if (tagged_vpid(kind) && e->tag.vpid != t.vpid)
		return false;
	return !tagged_vpid(kind) || e->fill.global || e->tag.pcid == t.pcid;
}

static void model_remove(struct model *m, unsigned i)
{
	m->e[i] = m->e[--m->n];
}

static void model_insert(struct model *m, struct rv_tlb_info *n, uint64_t addr)
{
	for (unsigned i = 0; i < m->n;) {
		struct rv_tlb_info *e = &m->e[i];
		struct rv_tlb_tag t = n->tag;

		/* Whatever a lookup under the new entry's tag (or, when the
		 * new entry is global, any PCID) would also find at @addr. */
		if (n->fill.global)
			t.pcid = e->tag.pcid;
		if (model_matches(e, n->kind, t, addr))
			model_remove(m, i);
		else
			i++;
	}
	ck_assert_uint_lt(m->n, MODEL_MAX);
	m->e[m->n++] = *n;
}

enum model_flush { MF_ALL, MF_TAG, MF_NONGLOBAL, MF_ADDR, MF_EPTRTA, MF_NR };

struct flush_args {
	enum model_flush op;
	uint16_t vpid, pcid;
	uint64_t addr, eptrta;
	bool keep_global;
};

static bool model_flushes(const struct rv_tlb_info *e, const struct flush_args *f)
{
	bool vpid_kind = e->kind != GP && e->tag.vpid == f->vpid;
	bool pcid_ok = f->pcid == RV_TLB_ANY_PCID || e->fill.global || e->tag.pcid == f->pcid;

	switch (f->op) {
	case MF_ALL:
		return true;
	case MF_TAG:
		return vpid_kind && pcid_ok;
	case MF_NONGLOBAL:
		return vpid_kind && pcid_ok && !e->fill.global;
	case MF_ADDR:
		return vpid_kind && pcid_ok && !(f->keep_global && e->fill.global) &&
		       covers(e, f->addr);
	case MF_EPTRTA:
		return e->kind != L &&
		       (f->eptrta == RV_TLB_ANY_EPTRTA || e->tag.eptrta == f->eptrta);
	default:
		return false;
	}
}

static unsigned model_flush(struct model *m, const struct flush_args *f)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < m->n;) {
		if (model_flushes(&m->e[i], f)) {
			model_remove(m, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static unsigned tlb_flush(struct rv_tlb *t, const struct flush_args *f)
{
	switch (f->op) {
	case MF_ALL:
		return rv_tlb_flush_all(t);
	case MF_TAG:
		return rv_tlb_flush_tag(t, f->vpid, f->pcid);
	case MF_NONGLOBAL:
		return rv_tlb_flush_nonglobal(t, f->vpid, f->pcid);
	case MF_ADDR:
		return rv_tlb_flush_addr(t, f->vpid, f->pcid, f->addr, f->keep_global);
	default:
		return rv_tlb_flush_eptrta(t, f->eptrta);
	}
}

static bool same_entry(const struct rv_tlb_info *a, const struct rv_tlb_info *b)
{
	return a->kind == b->kind && a->tag.vpid == b->tag.vpid && a->tag.pcid == b->tag.pcid &&
	       a->tag.eptrta == b->tag.eptrta && a->in == b->in && a->fill.out == b->fill.out &&
	       a->fill.time == b->fill.time && a->fill.size == b->fill.size &&
	       a->fill.perm == b->fill.perm && a->fill.dirty == b->fill.dirty &&
	       a->fill.global == b->fill.global;
}

static int model_has(void *ctx, const struct rv_tlb_info *e)
{
	const struct model *m = ctx;

	for (unsigned i = 0; i < m->n; i++)
		if (same_entry(&m->e[i], e))
			return 0;
	return 1;
}

/* GVAs low and high, and as GPAs their low 52 bits. */
#define GPA_MASK 0x000fffffffffffffull

static const uint64_t regions[] = { 0x40000000ull, 0x7fffc0000000ull, 0xffffffff80000000ull };

static uint64_t random_addr(void)
{
	return regions[pick(3)] + pick(3) * MB2 + pick(4) * KB4 + pick(KB4);
}

static struct rv_tlb_tag random_tag(void)
{
	static const uint64_t roots[] = { ROOT1, ROOT2, 0xfffffffff000ull };

	return tag((uint16_t)pick(3), (uint16_t)pick(3), roots[pick(3)]);
}

/* The entry as the TLB gives it back: fields of other kinds zero, aligned. */
static struct rv_tlb_info random_entry(uint64_t *addr, struct rv_tlb_tag *t)
{
	struct rv_tlb_info n = { 0 };

	*t = random_tag();
	n.kind = (enum rv_tlb_kind)pick(RV_TLB_NR_KINDS);
	*addr = random_addr();
	if (n.kind == GP)
		*addr &= GPA_MASK;
	n.fill.size = (enum rv_tlb_size)(pick(4) ? RV_TLB_4K : pick(RV_TLB_NR_SIZES));
	n.fill.out = (next() & 0xfffffffff000ull) & ~(rv_tlb_size_bytes(n.fill.size) - 1);
	n.fill.time = next();
	n.fill.perm = (uint8_t)pick(16);
	n.fill.dirty = pick(2);
	n.fill.global = n.kind != GP && !pick(4);
	n.in = *addr & ~(rv_tlb_size_bytes(n.fill.size) - 1);
	n.tag.vpid = tagged_vpid(n.kind) ? t->vpid : 0;
	n.tag.pcid = tagged_vpid(n.kind) ? t->pcid : 0;
	n.tag.eptrta = tagged_root(n.kind) ? t->eptrta : 0;
	return n;
}

static struct flush_args random_flush(void)
{
	static const uint64_t roots[] = { ROOT1, ROOT2, RV_TLB_ANY_EPTRTA };
	struct flush_args f = {
		.op = (enum model_flush)pick(MF_NR),
		.vpid = (uint16_t)pick(3),
		.pcid = pick(4) ? (uint16_t)pick(3) : RV_TLB_ANY_PCID,
		.addr = random_addr(),
		.eptrta = roots[pick(3)],
		.keep_global = pick(2),
	};

	/* Whole-TLB flushes now and then; mostly addresses and tags. */
	if ((f.op == MF_ALL || f.op == MF_EPTRTA) && pick(4))
		f.op = pick(2) ? MF_ADDR : MF_NONGLOBAL;
	return f;
}

/*
 * A lookup, half the time inside a cached page under its tag with a random
 * PCID: in @exact mode the model's smallest match, else any match.
 */
static void check_lookup(struct rv_tlb *t, const struct model *m, bool exact)
{
	enum rv_tlb_kind kind = (enum rv_tlb_kind)pick(RV_TLB_NR_KINDS);
	struct rv_tlb_tag tg = random_tag();
	uint64_t addr = random_addr() & (kind == GP ? GPA_MASK : ~0ull);

	if (m->n && pick(2)) {
		const struct rv_tlb_info *c = &m->e[pick(m->n)];

		kind = c->kind;
		tg = c->tag;
		tg.pcid = pick(2) ? tg.pcid : (uint16_t)pick(3);
		addr = c->in + (next() & (rv_tlb_size_bytes(c->fill.size) - 1));
	}
	const struct rv_tlb_entry *e = rv_tlb_lookup(t, kind, tg, addr);
	const struct rv_tlb_info *best = NULL;
	struct rv_tlb_info got;

	for (unsigned i = 0; i < m->n; i++) {
		if (!model_matches(&m->e[i], kind, tg, addr))
			continue;
		if (!best || m->e[i].fill.size < best->fill.size)
			best = &m->e[i];
	}
	if (!e) {
		ck_assert_msg(!exact || !best, "lookup missed a cached translation");
		return;
	}
	rv_tlb_decode(e, &got);
	ck_assert_msg(best, "lookup hit what the model does not hold");
	ck_assert_msg(model_matches(&got, kind, tg, addr), "lookup hit a non-matching entry");
	if (exact)
		ck_assert_msg(same_entry(&got, best), "lookup did not return the smallest match");
	ck_assert_uint_eq(rv_tlb_entry_translate(e, addr),
			  got.fill.out | (addr & (rv_tlb_size_bytes(got.fill.size) - 1)));
}

static void random_run(unsigned sets, unsigned ways, uint64_t seed, unsigned ops)
{
	static struct model m;
	char err[128];
	struct rv_tlb *t = rv_tlb_create(sets, ways, NULL, err, sizeof(err));
	bool exact = (uint64_t)sets * ways >= 2048;

	ck_assert_msg(t, "%s", err);
	m.n = 0;
	rng = seed;
	for (unsigned i = 0; i < ops; i++) {
		unsigned what = pick(20);

		if (what < 10) {
			uint64_t addr;
			struct rv_tlb_tag tg;
			struct rv_tlb_info n = random_entry(&addr, &tg);

			rv_tlb_insert(t, n.kind, tg, addr, &n.fill);
			model_insert(&m, &n, addr);
		} else if (what < 12) {
			struct flush_args f = random_flush();
			unsigned got = tlb_flush(t, &f), want = model_flush(&m, &f);

			ck_assert_msg(!exact || got == want, "op %u flush %d removed %u, not %u", i,
				      f.op, got, want);
		} else {
			check_lookup(t, &m, exact);
		}
		ck_assert_msg(rv_tlb_visit(t, model_has, &m) == 0,
			      "op %u: the TLB holds an entry the model does not", i);
		if (exact) {
			ck_assert_uint_eq(rv_tlb_stats(t)->evictions, 0);
			ck_assert_uint_eq(rv_tlb_count(t), m.n);
		}
	}
	rv_tlb_destroy(t);
}

START_TEST(random_operations_match_the_model_exactly_without_evictions)
{
	unsigned ops = (unsigned)test_scale("RV_STRESS_TLB_OPS", 20000);

	for (uint64_t seed = 1; seed <= 4; seed++)
		random_run(256, 16, seed * 0x9e3779b97f4a7c15ull, ops);
}
END_TEST

START_TEST(random_operations_in_a_small_tlb_keep_a_subset_of_the_model)
{
	unsigned ops = (unsigned)test_scale("RV_STRESS_TLB_OPS", 20000);

	for (uint64_t seed = 1; seed <= 4; seed++)
		random_run(4, 2, seed * 0xbf58476d1ce4e5b9ull, ops);
}
END_TEST

static Suite *tlb_suite(void)
{
	Suite *s = suite_create("tlb");
	TCase *tc = tcase_create("operations");
	TCase *rnd = tcase_create("random");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_rejects_sizes_that_are_not_powers_of_two_in_range);
	tcase_add_test(tc, create_makes_one_allocation_from_the_callers_allocator);
	tcase_add_test(tc, one_set_of_one_way_holds_the_last_insertion);
	tcase_add_test(tc, empty_tlb_misses_and_counts_the_miss);
	tcase_add_test(tc, lookup_returns_what_was_inserted);
	tcase_add_test(tc, lookup_finds_2m_and_1g_pages_anywhere_inside);
	tcase_add_test(tc, insert_ignores_output_bits_below_the_page_size);
	tcase_add_test(tc, lookup_prefers_the_smallest_page_when_sizes_overlap);
	tcase_add_test(tc, lookup_matches_the_kind_exactly);
	tcase_add_test(tc, lookup_requires_the_same_vpid);
	tcase_add_test(tc, nonglobal_entry_requires_the_same_pcid);
	tcase_add_test(tc, global_matches_any_pcid);
	tcase_add_test(tc, global_combined_still_requires_vpid_and_eptrta);
	tcase_add_test(tc, linear_ignores_eptrta_and_guest_physical_ignores_vpid_and_pcid);
	tcase_add_test(tc, guest_physical_entries_are_never_global);
	tcase_add_test(tc, high_canonical_gva_decodes_to_itself);
	tcase_add_test(tc, insert_of_a_cached_page_replaces_the_translation);
	tcase_add_test(tc, insert_replaces_another_size_covering_the_address);
	tcase_add_test(tc, insert_keeps_nonglobal_entries_of_other_pcids);
	tcase_add_test(tc, insert_global_replaces_entries_of_other_pcids_at_the_address);
	tcase_add_test(tc, insert_nonglobal_replaces_a_global_of_another_pcid);
	tcase_add_test(tc, insert_of_another_tag_or_kind_replaces_nothing);
	tcase_add_test(tc, replacement_evicts_within_a_set_in_round_robin_order);
	tcase_add_test(tc, sixty_four_ways_hold_sixty_four_pages_of_one_set);
	tcase_add_test(tc, replacement_takes_a_flushed_way_before_evicting);
	tcase_add_test(tc, vcpus_at_the_same_gva_spread_over_sets);
	tcase_add_test(tc, flush_all_removes_every_kind_and_counts_them);
	tcase_add_test(tc, flush_tag_any_pcid_removes_the_vpid_globals_included);
	tcase_add_test(tc, flush_tag_keeps_other_vpids);
	tcase_add_test(tc, flush_tag_keeps_guest_physical_entries);
	tcase_add_test(tc, flush_tag_of_one_pcid_keeps_other_pcids_and_removes_globals);
	tcase_add_test(tc, flush_tag_removes_combined_of_every_eptrta);
	tcase_add_test(tc, global_survives_nonglobal_flush);
	tcase_add_test(tc, nonglobal_flush_of_one_pcid_keeps_other_pcids_and_vpids);
	tcase_add_test(tc, flush_addr_removes_every_size_covering_it);
	tcase_add_test(tc, flush_addr_keeps_neighbouring_pages);
	tcase_add_test(tc, flush_addr_removes_current_pcid_and_globals_of_any_pcid);
	tcase_add_test(tc, flush_addr_keeping_globals_spares_them);
	tcase_add_test(tc, flush_addr_any_pcid_removes_every_pcid);
	tcase_add_test(tc, flush_addr_removes_combined_of_every_eptrta);
	tcase_add_test(tc, flush_addr_keeps_guest_physical_and_other_vpids);
	tcase_add_test(tc, eptp_flush_keeps_linear_entries);
	tcase_add_test(
		tc, eptp_flush_removes_guest_physical_and_combined_of_every_vpid_pcid_and_global);
	tcase_add_test(tc, eptp_flush_keeps_other_roots);
	tcase_add_test(tc, eptp_flush_of_any_root_removes_all_guest_physical_and_combined);
	tcase_add_test(tc, flush_if_removes_what_the_predicate_selects);
	tcase_add_test(tc, flushes_that_match_nothing_remove_nothing);
	tcase_add_test(tc, visit_sees_every_valid_entry_decoded);
	tcase_add_test(tc, visit_stops_at_the_first_nonzero_return);
	tcase_add_test(tc, counters_count_every_operation);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(rnd, setup, teardown);
	tcase_set_timeout(rnd, 120);
	tcase_add_test(rnd, random_operations_match_the_model_exactly_without_evictions);
	tcase_add_test(rnd, random_operations_in_a_small_tlb_keep_a_subset_of_the_model);
	suite_add_tcase(s, rnd);
	return s;
}

int main(void)
{
	return run_suite(tlb_suite());
}
