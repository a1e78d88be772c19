// SPDX-License-Identifier: MIT
/*
 * Free pages and page tables.
 *
 * Free RAM is what lies between the end of the image and the reserved
 * region (GUEST_ABI §2); pages are handed out from the bottom, never freed.
 * Guest RAM is identity-mapped by the boot tables and by every clone of
 * them, so a table is edited through its physical address.
 */
#include "internal.h"

#define PAGE_MASK   (RV_PTE_ADDR & ~(RV_PAGE_SIZE - 1))
#define ENTRIES	    512
#define PTE_PAT_4K  (1ull << 7)	 /* PAT in a 4 KiB PTE */
#define PTE_PAT_BIG (1ull << 12) /* PAT in a 2 MiB or 1 GiB entry */

/*
 * A table entry lets everything through (present, writable, user): the
 * leaves alone decide, since permissions are the AND of every level.
 */
#define TABLE_FLAGS (RV_PTE_P | RV_PTE_W | RV_PTE_U)

extern char __rv_image_end[];

static u64 alloc_next; /* the next free page */
static u64 alloc_end;

void rv_page_init(void)
{
	alloc_next = ((u64)(uintptr_t)__rv_image_end + RV_PAGE_SIZE - 1) & ~(RV_PAGE_SIZE - 1);
	alloc_end = rv_mem_end & ~(RV_PAGE_SIZE - 1);
}

void *rv_pages_alloc(u64 n)
{
	u64 size = n * RV_PAGE_SIZE;
	u64 pa = rv_fetch_add(&alloc_next, size);

	if (!n || pa + size > alloc_end || pa + size < pa)
		rv_fail(RV_EXIT_NO_MEMORY,
			"out of guest memory: %lu pages at %#lx, free RAM ends at %#lx", n, pa,
			alloc_end);
	return memset(rv_phys(pa), 0, size);
}

void *rv_page_alloc(void)
{
	return rv_pages_alloc(1);
}

/* The index of @va in a table at @level (4: PML4 ... 1: page table). */
static unsigned index_of(u64 va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

/* Bytes one entry at @level maps. */
static u64 entry_span(int level)
{
	return 1ull << (12 + 9 * (level - 1));
}

static u64 *table_of(u64 entry)
{
	return rv_phys(entry & PAGE_MASK);
}

static bool is_leaf(u64 entry, int level)
{
	return level == 1 || ((level == 2 || level == 3) && (entry & RV_PTE_PS));
}

static u64 clone_table(u64 pa, int level)
{
	const u64 *src = rv_phys(pa);
	u64 *dst = rv_page_alloc();

	for (unsigned i = 0; i < ENTRIES; i++) {
		u64 e = rv_read_once(src[i]);

		if ((e & RV_PTE_P) && !is_leaf(e, level))
			e = (e & ~PAGE_MASK) | clone_table(e & PAGE_MASK, level - 1);
		dst[i] = e;
	}
	return (u64)(uintptr_t)dst;
}

u64 rv_pt_clone(u64 root)
{
	return clone_table(root & PAGE_MASK, 4);
}

/*
 * Replace the large page at *@entry (@level 3: 1 GiB, 2: 2 MiB) by a table
 * of pages one level down with the same translation and attributes. The
 * table is complete before the entry points to it, so a concurrent walk sees
 * either the old page or the new pages, both mapping the same.
 */
static void split(u64 *entry, int level)
{
	u64 e = *entry, span = entry_span(level - 1);
	u64 base = e & PAGE_MASK & ~(entry_span(level) - 1);
	u64 attrs = e & ~PAGE_MASK & ~RV_PTE_PS;
	u64 pat = e & PTE_PAT_BIG;
	u64 *t = rv_page_alloc();

	for (unsigned i = 0; i < ENTRIES; i++) {
		if (level == 2)
			t[i] = (base + i * span) | attrs | (pat ? PTE_PAT_4K : 0);
		else
			t[i] = (base + i * span) | attrs | RV_PTE_PS | pat;
	}
	rv_write_once(*entry, (u64)(uintptr_t)t | TABLE_FLAGS);
}

static void check_canonical(u64 va)
{
	if ((u64)((s64)(va << 16) >> 16) != va)
		rv_fail(RV_EXIT_BAD_MAPPING, "page tables: %#lx is not canonical", va);
}

u64 *rv_pt_pte(u64 root, u64 va)
{
	u64 *t = rv_phys(root & PAGE_MASK);

	check_canonical(va);
	for (int level = 4; level > 1; level--) {
		u64 *e = &t[index_of(va, level)];

		if (!(*e & RV_PTE_P))
			rv_write_once(*e, (u64)(uintptr_t)rv_page_alloc() | TABLE_FLAGS);
		else if (is_leaf(*e, level))
			split(e, level);
		t = table_of(*e);
	}
	return &t[index_of(va, 1)];
}

u64 rv_pt_map(u64 root, u64 va, u64 pa, u64 flags)
{
	if (pa & ~PAGE_MASK)
		rv_fail(RV_EXIT_BAD_MAPPING, "page tables: frame %#lx is not a page address", pa);
	return rv_xchg(rv_pt_pte(root, va), pa | (flags & ~PAGE_MASK) | RV_PTE_P);
}

u64 rv_pt_unmap(u64 root, u64 va)
{
	return rv_xchg(rv_pt_pte(root, va), 0);
}

u64 rv_pt_protect(u64 root, u64 va, u64 flags)
{
	u64 *pte = rv_pt_pte(root, va);

	return rv_xchg(pte, (rv_read_once(*pte) & PAGE_MASK) | (flags & ~PAGE_MASK));
}

u64 rv_pt_translate(u64 root, u64 va)
{
	const u64 *t = rv_phys(root & PAGE_MASK);

	for (int level = 4; level >= 1; level--) {
		u64 e = rv_read_once(t[index_of(va, level)]);
		u64 span = entry_span(level);

		if (!(e & RV_PTE_P))
			return ~0ull;
		if (is_leaf(e, level))
			return (e & PAGE_MASK & ~(span - 1)) | (va & (span - 1));
		t = table_of(e);
	}
	return ~0ull;
}

/* The end of RAM, reserved region included: the boot tables map it all
 * with 2 MiB pages (GUEST_ABI §2). */
u64 rv_ram_size(void)
{
	u64 *pml4 = rv_phys(rv_boot_cr3 & RV_PTE_ADDR), end = 0;

	for (u64 i = 0; i < 512 && (pml4[i] & RV_PTE_P); i++) {
		u64 *pdpt = rv_phys(pml4[i] & RV_PTE_ADDR);

		for (u64 j = 0; j < 512 && (pdpt[j] & RV_PTE_P); j++) {
			u64 *pd = rv_phys(pdpt[j] & RV_PTE_ADDR);

			for (u64 k = 0; k < 512 && (pd[k] & RV_PTE_P); k++)
				end = ((i * 512 + j) * 512 + k + 1) << 21;
		}
	}
	return end;
}
