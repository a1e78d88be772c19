/* SPDX-License-Identifier: MIT */
/*
 * The second stage: EPT tables (VMX, Intel SDM vol. 3C §29.3) or NPT tables
 * (SVM, APM vol. 2 §15.25: the x86-64 format), built by the hypervisor over
 * guest RAM and walked by the modelled CPU on a TLB miss.
 *
 * Leaves point at host frames (struct rv_guest_mem), as 2 MiB pages where the
 * 512 frames of a 2 MiB guest region are contiguous and 2 MiB-aligned, else
 * as 4 KiB pages. Table pages live in a pool of their own, at host-physical
 * addresses above every frame (RV_TDP_TABLE_HPA), so a table is never guest
 * RAM and an EPTRTA never equals a frame's address.
 *
 * Readers (walks) are lock-free: every entry is one atomic word, and a new
 * table is filled before the entry that links it is stored. Writers (map,
 * unmap) must be serialised by the caller (the machine's MMU lock).
 */
#ifndef RV_MMU_TDP_H
#define RV_MMU_TDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_guest_mem;

enum rv_tdp_format { RV_TDP_EPT, RV_TDP_NPT };

#define RV_TDP_TABLE_HPA (1ull << 44)

/* EPT entry bits (SDM vol. 3C §29.3.2). */
#define RV_EPT_R     0x1ull
#define RV_EPT_W     0x2ull
#define RV_EPT_X     0x4ull
#define RV_EPT_RWX   0x7ull
#define RV_EPT_MT_WB (6ull << 3)
#define RV_EPT_LARGE (1ull << 7)
#define RV_EPT_ADDR  0x000ffffffffff000ull

struct rv_tdp;

struct rv_tdp *rv_tdp_create(enum rv_tdp_format format, struct rv_guest_mem *mem, char *err,
			     size_t errlen);
void rv_tdp_destroy(struct rv_tdp *t);
enum rv_tdp_format rv_tdp_format(const struct rv_tdp *t);

/* The root's host-physical address: the EPTP's EPTRTA, or the nCR3. */
uint64_t rv_tdp_root(const struct rv_tdp *t);

/* What a walk of a guest-physical address found. */
struct rv_tdp_walk {
	uint64_t hpa_page; /* host-physical address of the page, aligned to its size */
	uint64_t page_size;
	unsigned perm; /* RV_TLB_R | RV_TLB_W | RV_TLB_X (tlb.h) */
	unsigned levels;
};

enum rv_tdp_result {
	RV_TDP_OK,
	RV_TDP_VIOLATION, /* not present: outside RAM, or a page being moved */
	RV_TDP_MISCONFIG, /* an entry no valid table holds (EPT: W without R) */
};

enum rv_tdp_result rv_tdp_walk(const struct rv_tdp *t, uint64_t gpa, struct rv_tdp_walk *w);

/* Host side, serialised by the caller. Both split a 2 MiB leaf first.
 * 0, or -1 when @gpa is outside RAM or the table pool is exhausted. */
int rv_tdp_unmap(struct rv_tdp *t, uint64_t gpa);
int rv_tdp_map(struct rv_tdp *t, uint64_t gpa, uint32_t frame);

/* Table pages in use, and large leaves. */
unsigned rv_tdp_tables(const struct rv_tdp *t);
unsigned rv_tdp_large_leaves(const struct rv_tdp *t);

#endif
