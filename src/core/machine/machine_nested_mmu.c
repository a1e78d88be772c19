// SPDX-License-Identifier: MIT
/*
 * L2's guest-physical addresses (nested VMX): through L1's EPT tables
 * (EPT12) when vmcs12 enables EPT, else they are L1's. A walk that finds no
 * translation, or rights short of the access, becomes an EPT violation (a
 * misconfigured entry an EPT misconfiguration) that exits to L1.
 */
#include <stdatomic.h>

#include "machine_impl.h"
#include "mmu/tdp.h"
#include "nested/ept12.h"
#include "nested/vmcb12.h"
#include "nested/vmcs12.h"
#include "mmu/walk.h"

/* An EPT12 entry: L1's memory, read as the CPU reads a paging structure. */
static bool read_l1_entry(void *ctx, uint64_t gpa, uint64_t *entry)
{
	struct machine_vcpu *mv = ctx;
	uint8_t *p;

	if (gpa >= rv_guest_mem_size(mv->m->mem))
		return false;
	rv_machine_note_table_page(mv->m, gpa);
	p = rv_gpa_hva(mv->m->mem, gpa);
	if (!p)
		return false;
	*entry = atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
	return true;
}

static unsigned tlb_perm(unsigned ept)
{
	return ((ept & RV_EPT_R) ? RV_TLB_R : 0) | ((ept & RV_EPT_W) ? RV_TLB_W : 0) |
	       ((ept & RV_EPT_X) ? RV_TLB_X : 0);
}

/* An entry of L1's nested page tables (the x86 format). */
static _Atomic uint64_t *npt12_entry(void *ctx, uint64_t gpa)
{
	struct machine_vcpu *mv = ctx;

	if ((gpa & 7) || gpa >= rv_guest_mem_size(mv->m->mem))
		return NULL;
	rv_machine_note_table_page(mv->m, gpa);
	return (_Atomic uint64_t *)rv_gpa_hva(mv->m->mem, gpa);
}

/*
 * Nested paging (APM vol. 2 §15.25): L1's nCR3 tables in the x86 format,
 * every access a user access; the walk sets their accessed and dirty bits
 * as the hardware does (not the oracle's). On a fault *perm holds the #PF
 * error code, for EXITINFO1.
 */
static int npt12_walk(struct machine_vcpu *mv, uint64_t l2gpa, enum rv_access kind, bool peek,
		      uint64_t *l1gpa, unsigned *perm)
{
	struct rv_walk_ctx c = {
		.phys = mv,
		.entry = npt12_entry,
		.cr3 = mv->nested.root12,
		.wp = true,
		.nxe = true,
		.user = true,
		.peek = peek,
		.maxphyaddr = 52,
	};
	enum rv_walk_access a = kind == RV_ACCESS_WRITE	  ? RV_WALK_WRITE
				: kind == RV_ACCESS_FETCH ? RV_WALK_FETCH
							  : RV_WALK_READ;
	struct rv_walk w;
	uint32_t pfec;

	if (rv_walk(&c, l2gpa, a, &w, &pfec)) {
		*perm = pfec;
		return -1;
	}
	*l1gpa = w.gpa;
	*perm = RV_TLB_R | RV_TLB_U | (w.writable ? RV_TLB_W : 0) | (w.executable ? RV_TLB_X : 0);
	return 0;
}

int rv_nested_l1_gpa(struct machine_vcpu *mv, uint64_t l2gpa, enum rv_access kind, bool peek,
		     uint64_t *l1gpa, unsigned *perm)
{
	struct rv_ept12_walk w;

	if (!mv->nested.tdp12) {
		*l1gpa = l2gpa;
		*perm = RV_TLB_R | RV_TLB_W | RV_TLB_X | RV_TLB_U;
		return 0;
	}
	if (mv->m->svm)
		return npt12_walk(mv, l2gpa, kind, peek, l1gpa, perm);
	switch (rv_ept12_walk(mv->nested.root12, l2gpa, read_l1_entry, mv, &w)) {
	case RV_EPT12_OK:
		*l1gpa = w.gpa;
		*perm = tlb_perm(w.perm) | RV_TLB_U;
		return 0;
	case RV_EPT12_VIOLATION:
		*perm = tlb_perm(w.perm);
		return -1;
	default:
		*perm = 0;
		return -2;
	}
}

/* SDM vol. 3C §29.3.3.2: the access, the rights the entries granted, and
 * whether the linear address is valid and this was the final translation
 * (not a paging-structure access). */
void rv_nested_ept_exit(struct machine_vcpu *mv, int rc, uint64_t gpa, uint64_t gla,
			enum rv_access kind, unsigned perm, bool final)
{
	struct rv_nested_vcpu *n = &mv->nested;

	if (mv->m->svm) {
		/* #NPF: EXITINFO1 the error code, bit 32 for the final
		 * translation, 33 for a guest page-table access. */
		n->exit_pending = true;
		n->exit_reason = SVM_EXIT_NPF;
		n->exit_qual = (perm & 0xffffffffu) | (final ? 1ull << 32 : 1ull << 33);
		n->exit_gpa = gpa;
		n->exit_gla = gla;
		return;
	}
	uint64_t q = kind == RV_ACCESS_WRITE ? 2 : kind == RV_ACCESS_FETCH ? 4 : 1;

	q |= (perm & RV_TLB_R ? 8 : 0) | (perm & RV_TLB_W ? 16 : 0) | (perm & RV_TLB_X ? 32 : 0);
	q |= 1u << 7 | (final ? 1u << 8 : 0);
	n->exit_pending = true;
	n->exit_reason = rc == -2 ? RV_EXIT_REASON_EPT_MISCONFIG : RV_EXIT_REASON_EPT_VIOLATION;
	n->exit_qual = rc == -2 ? 0 : q;
	n->exit_gpa = gpa;
	n->exit_gla = gla;
}
