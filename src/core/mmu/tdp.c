// SPDX-License-Identifier: MIT
/* EPT and NPT tables over guest RAM (tdp.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "mem/guest_mem.h"
#include "mmu/tlb.h"
#include "mmu/walk.h"
#include "tdp.h"

#define ENTRIES	  512
#define LEVELS	  4
#define SIZE_2M	  (1ull << 21)
#define FRAMES_2M 512u
/* NPT: present, writable, user (nested walks are user accesses, APM
 * §15.25.5), accessed and dirty already set, executable (NX clear). */
#define NPT_TABLE (RV_PTE_P | RV_PTE_W | RV_PTE_U | RV_PTE_A)
#define NPT_LEAF  (NPT_TABLE | RV_PTE_D)

struct rv_tdp {
	enum rv_tdp_format format;
	struct rv_guest_mem *mem;
	_Atomic uint64_t (*table)[ENTRIES]; /* the pool; table 0 is the root */
	unsigned nr_tables;
	_Atomic unsigned used; /* read by lock-free walks (table_at) */
	unsigned large;
};

static uint64_t table_hpa(unsigned index)
{
	return RV_TDP_TABLE_HPA + ((uint64_t)index << 12);
}

static _Atomic uint64_t *table_at(const struct rv_tdp *t, uint64_t hpa)
{
	uint64_t i = (hpa - RV_TDP_TABLE_HPA) >> 12;

	return hpa >= RV_TDP_TABLE_HPA && i < atomic_load_explicit(&t->used, memory_order_acquire)
		       ? t->table[i]
		       : NULL;
}

static uint64_t link_entry(const struct rv_tdp *t, unsigned index)
{
	return table_hpa(index) | (t->format == RV_TDP_EPT ? RV_EPT_RWX : NPT_TABLE);
}

static uint64_t leaf_entry(const struct rv_tdp *t, uint64_t hpa, bool large)
{
	if (t->format == RV_TDP_EPT)
		return hpa | RV_EPT_RWX | RV_EPT_MT_WB | (large ? RV_EPT_LARGE : 0);
	return hpa | NPT_LEAF | (large ? RV_PTE_PS : 0);
}

static bool present(const struct rv_tdp *t, uint64_t e)
{
	return t->format == RV_TDP_EPT ? (e & RV_EPT_RWX) : (e & RV_PTE_P);
}

static bool is_large(const struct rv_tdp *t, uint64_t e)
{
	return t->format == RV_TDP_EPT ? (e & RV_EPT_LARGE) : (e & RV_PTE_PS);
}

static int new_table(struct rv_tdp *t)
{
	unsigned n = atomic_load_explicit(&t->used, memory_order_relaxed);

	if (n == t->nr_tables)
		return -1;
	atomic_store_explicit(&t->used, n + 1, memory_order_release);
	return (int)n;
}

static unsigned index_at(uint64_t gpa, unsigned level)
{
	return (unsigned)(gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

/* The table of @level (3 = PDPT .. 1 = PT) on the way to @gpa, made if
 * missing; a large leaf in the way is left alone (NULL). */
static _Atomic uint64_t *table_for(struct rv_tdp *t, uint64_t gpa, unsigned level)
{
	_Atomic uint64_t *table = t->table[0];

	for (unsigned l = LEVELS; l > level; l--) {
		_Atomic uint64_t *slot = &table[index_at(gpa, l)];
		uint64_t e = atomic_load(slot);

		if (present(t, e) && is_large(t, e))
			return NULL;
		if (!present(t, e)) {
			int n = new_table(t);

			if (n < 0)
				return NULL;
			atomic_store_explicit(slot, link_entry(t, (unsigned)n),
					      memory_order_release);
			e = atomic_load(slot);
		}
		table = table_at(t, e & RV_EPT_ADDR);
	}
	return table;
}

/* 512 frames in a row starting at a 2 MiB-aligned host address. */
static bool frames_form_large_page(const struct rv_tdp *t, uint64_t gpa)
{
	uint32_t first = rv_gpa_frame(t->mem, gpa);

	if (first == RV_NO_FRAME || first % FRAMES_2M)
		return false;
	for (uint32_t k = 1; k < FRAMES_2M; k++)
		if (rv_gpa_frame(t->mem, gpa + ((uint64_t)k << 12)) != first + k)
			return false;
	return true;
}

static int map_region(struct rv_tdp *t, uint64_t gpa)
{
	if (frames_form_large_page(t, gpa)) {
		_Atomic uint64_t *pd = table_for(t, gpa, 2);

		if (!pd)
			return -1;
		atomic_store(&pd[index_at(gpa, 2)],
			     leaf_entry(t, (uint64_t)rv_gpa_frame(t->mem, gpa) << 12, true));
		t->large++;
		return 0;
	}
	for (uint64_t off = 0; off < SIZE_2M; off += 4096)
		if (rv_tdp_map(t, gpa + off, rv_gpa_frame(t->mem, gpa + off)))
			return -1;
	return 0;
}

struct rv_tdp *rv_tdp_create(enum rv_tdp_format format, struct rv_guest_mem *mem, char *err,
			     size_t errlen)
{
	uint64_t size = rv_guest_mem_size(mem);
	struct rv_tdp *t = rv_calloc(1, sizeof(*t));

	if (!t)
		goto oom;
	t->format = format;
	t->mem = mem;
	/* Root, PDPT, a PD per GiB, a PT per 2 MiB region (all split). */
	t->nr_tables = 2 + (unsigned)(size >> 30) + 1 + (unsigned)(size >> 21);
	t->table = rv_aligned_alloc(4096, (size_t)t->nr_tables * 4096);
	if (!t->table)
		goto oom;
	for (unsigned i = 0; i < t->nr_tables; i++)
		for (unsigned k = 0; k < ENTRIES; k++)
			atomic_init(&t->table[i][k], 0);
	t->used = 1;
	for (uint64_t gpa = 0; gpa < size; gpa += SIZE_2M)
		if (map_region(t, gpa))
			goto oom;
	return t;
oom:
	snprintf(err, errlen, "out of memory for the %s tables",
		 format == RV_TDP_EPT ? "EPT" : "NPT");
	rv_tdp_destroy(t);
	return NULL;
}

void rv_tdp_destroy(struct rv_tdp *t)
{
	if (!t)
		return;
	free(t->table);
	free(t);
}

enum rv_tdp_format rv_tdp_format(const struct rv_tdp *t)
{
	return t->format;
}

uint64_t rv_tdp_root(const struct rv_tdp *t)
{
	(void)t;
	return table_hpa(0);
}

static unsigned perm_of(const struct rv_tdp *t, uint64_t e)
{
	if (t->format == RV_TDP_EPT)
		return ((e & RV_EPT_R) ? RV_TLB_R : 0) | ((e & RV_EPT_W) ? RV_TLB_W : 0) |
		       ((e & RV_EPT_X) ? RV_TLB_X : 0);
	return RV_TLB_R | ((e & RV_PTE_W) ? RV_TLB_W : 0) | ((e & RV_PTE_NX) ? 0 : RV_TLB_X);
}

enum rv_tdp_result rv_tdp_walk(const struct rv_tdp *t, uint64_t gpa, struct rv_tdp_walk *w)
{
	const _Atomic uint64_t *table = t->table[0];
	unsigned perm = RV_TLB_R | RV_TLB_W | RV_TLB_X;

	if (gpa >> 48)
		return RV_TDP_VIOLATION;
	w->levels = 0;
	for (unsigned level = LEVELS; level >= 1; level--) {
		uint64_t e =
			atomic_load_explicit(&table[index_at(gpa, level)], memory_order_acquire);

		w->levels++;
		if (!present(t, e))
			return RV_TDP_VIOLATION;
		/* SDM §29.3.3.1: write without read is a misconfiguration. */
		if (t->format == RV_TDP_EPT && (e & RV_EPT_W) && !(e & RV_EPT_R))
			return RV_TDP_MISCONFIG;
		perm &= perm_of(t, e);
		if (level == 1 || ((level == 2 || level == 3) && is_large(t, e))) {
			w->page_size = 1ull << (12 + 9 * (level - 1));
			w->hpa_page = e & RV_EPT_ADDR & ~(w->page_size - 1);
			w->perm = perm;
			return RV_TDP_OK;
		}
		table = table_at(t, e & RV_EPT_ADDR);
		if (!table)
			return RV_TDP_MISCONFIG;
	}
	return RV_TDP_MISCONFIG;
}

/* Replace the 2 MiB leaf over @gpa, if any, by a table of 4 KiB leaves to
 * the same frames. */
static int split(struct rv_tdp *t, uint64_t gpa)
{
	_Atomic uint64_t *pd = table_for(t, gpa, 2);
	_Atomic uint64_t *slot;
	uint64_t e;

	if (!pd)
		return -1;
	slot = &pd[index_at(gpa, 2)];
	e = atomic_load(slot);
	if (!present(t, e) || !is_large(t, e))
		return 0;
	int n = new_table(t);

	if (n < 0)
		return -1;
	uint64_t base = e & RV_EPT_ADDR & ~(SIZE_2M - 1);

	for (unsigned k = 0; k < ENTRIES; k++)
		atomic_store(&t->table[n][k], leaf_entry(t, base + ((uint64_t)k << 12), false));
	atomic_store_explicit(slot, link_entry(t, (unsigned)n), memory_order_release);
	t->large--;
	return 0;
}

static _Atomic uint64_t *leaf_slot(struct rv_tdp *t, uint64_t gpa)
{
	if (gpa >= rv_guest_mem_size(t->mem) || split(t, gpa))
		return NULL;
	_Atomic uint64_t *pt = table_for(t, gpa, 1);

	return pt ? &pt[index_at(gpa, 1)] : NULL;
}

int rv_tdp_unmap(struct rv_tdp *t, uint64_t gpa)
{
	_Atomic uint64_t *slot = leaf_slot(t, gpa);

	if (!slot)
		return -1;
	atomic_store_explicit(slot, 0, memory_order_release);
	return 0;
}

int rv_tdp_map(struct rv_tdp *t, uint64_t gpa, uint32_t frame)
{
	_Atomic uint64_t *slot = frame == RV_NO_FRAME ? NULL : leaf_slot(t, gpa);

	if (!slot)
		return -1;
	atomic_store_explicit(slot, leaf_entry(t, (uint64_t)frame << 12, false),
			      memory_order_release);
	return 0;
}

unsigned rv_tdp_tables(const struct rv_tdp *t)
{
	return atomic_load(&t->used);
}

unsigned rv_tdp_large_leaves(const struct rv_tdp *t)
{
	return t->large;
}
