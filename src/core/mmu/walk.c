// SPDX-License-Identifier: MIT
/* The x86-64 4-level page walk (see walk.h). */
#include <stdatomic.h>

#include "walk.h"

#define LEVELS 4

_Atomic uint64_t rv_walk_retry_entry;

static uint64_t addr_mask(unsigned maxphyaddr)
{
	return ((1ull << maxphyaddr) - 1) & ~0xfffull;
}

/* Bits that must be zero in an entry of @level (4 = PML4E .. 1 = PTE). */
static uint64_t reserved_bits(const struct rv_walk_ctx *c, unsigned level, uint64_t e)
{
	uint64_t r = ((1ull << 52) - 1) & ~((1ull << c->maxphyaddr) - 1);

	if (!c->nxe)
		r |= RV_PTE_NX;
	if (level == 4)
		r |= RV_PTE_PS;
	if ((e & RV_PTE_PS) && level == 3)
		r |= 0x3fffe000ull; /* 29:13 of a 1 GiB page */
	if ((e & RV_PTE_PS) && level == 2)
		r |= 0x1fe000ull; /* 20:13 of a 2 MiB page */
	return e & r;
}

static uint64_t leaf_base(uint64_t e, unsigned level, uint64_t amask)
{
	uint64_t size = 1ull << (12 + 9 * (level - 1));

	return e & amask & ~(size - 1);
}

static int fault(uint32_t *pfec, uint32_t bits, const struct rv_walk_ctx *c,
		 enum rv_walk_access access)
{
	*pfec = bits | (access == RV_WALK_WRITE ? RV_PFEC_W : 0) | (c->user ? RV_PFEC_U : 0) |
		(access == RV_WALK_FETCH && (c->nxe || c->smep) ? RV_PFEC_I : 0);
	return -1;
}

/* The permission checks of SDM 4.6, on the rights of the whole walk. */
static bool allowed(const struct rv_walk_ctx *c, const struct rv_walk *w,
		    enum rv_walk_access access)
{
	if (access == RV_WALK_FETCH) {
		if (!w->executable || (c->user && !w->user))
			return false;
		return c->user || !(c->smep && w->user);
	}
	if (c->user && !w->user)
		return false;
	if (!c->user && w->user && c->smap && !c->ac)
		return false;
	if (access == RV_WALK_WRITE && !w->writable)
		return !c->user && !c->wp;
	return true;
}

/* Set A on every entry used and D on the leaf of a write; false when an
 * entry changed under us (another vCPU), so the walk must start again. */
static bool set_accessed_dirty(const struct rv_walk_ctx *c, const struct rv_walk *w,
			       enum rv_walk_access access)
{
	for (unsigned k = 0; k < w->levels; k++) {
		_Atomic uint64_t *p = c->entry(c->phys, w->entry_gpa[k]);
		uint64_t want = w->entry[k] | RV_PTE_A;

		if (k == w->levels - 1 && access == RV_WALK_WRITE)
			want |= RV_PTE_D;
		if (want == w->entry[k])
			continue;
		/* Gone since the walk read it (its page moved, or a nested
		 * guest's EPT12 changed): walk again, which will say why. */
		if (!p || p == &rv_walk_retry_entry)
			return false;
		uint64_t seen = w->entry[k];

		if (!atomic_compare_exchange_strong(p, &seen, want))
			return false;
	}
	return true;
}

static int walk_once(const struct rv_walk_ctx *c, uint64_t gva, enum rv_walk_access access,
		     struct rv_walk *w, uint32_t *pfec)
{
	uint64_t amask = addr_mask(c->maxphyaddr);
	uint64_t table = c->cr3 & amask;

	w->writable = w->user = w->executable = true;
	w->levels = 0;
	for (unsigned level = LEVELS; level >= 1; level--) {
		uint64_t gpa = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		_Atomic uint64_t *p = c->entry(c->phys, gpa);

		if (p == &rv_walk_retry_entry) {
			*pfec = RV_PFEC_RETRY;
			return -1;
		}
		uint64_t e = p ? atomic_load_explicit(p, memory_order_acquire) : ~0ull;

		w->entry_gpa[w->levels] = gpa;
		w->entry[w->levels++] = e;
		if (!(e & RV_PTE_P))
			return fault(pfec, 0, c, access);
		if (reserved_bits(c, level, e))
			return fault(pfec, RV_PFEC_P | RV_PFEC_RSVD, c, access);
		w->writable &= !!(e & RV_PTE_W);
		w->user &= !!(e & RV_PTE_U);
		w->executable &= !(c->nxe && (e & RV_PTE_NX));
		if (level == 1 || (level <= 3 && (e & RV_PTE_PS))) {
			w->page_size = 1ull << (12 + 9 * (level - 1));
			w->page_gpa = leaf_base(e, level, amask);
			w->gpa = w->page_gpa | (gva & (w->page_size - 1));
			w->global = e & RV_PTE_G;
			w->dirty = (e & RV_PTE_D) || access == RV_WALK_WRITE;
			return allowed(c, w, access) ? 0 : fault(pfec, RV_PFEC_P, c, access);
		}
		table = e & amask;
	}
	return fault(pfec, 0, c, access); /* not reached: level 1 is a leaf */
}

int rv_walk(const struct rv_walk_ctx *ctx, uint64_t gva, enum rv_walk_access access,
	    struct rv_walk *out, uint32_t *pfec)
{
	for (;;) {
		int rc = walk_once(ctx, gva, access, out, pfec);

		if (rc || ctx->peek || set_accessed_dirty(ctx, out, access))
			return rc;
	}
}
