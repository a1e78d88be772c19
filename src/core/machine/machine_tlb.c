// SPDX-License-Identifier: MIT
/*
 * Translation through the pCPU's TLB (DESIGN §4). Each pCPU owns one TLB that
 * every vCPU running there shares; a vCPU's entries carry its VPID (fixed per
 * vCPU until the vendor backends assign tags) and PCID. The second stage is
 * the direct memslot map, so entries are COMBINED: guest-virtual page to host
 * frame, always at 4 KiB (a guest's large page may sit on frames that are not
 * contiguous, and a TLB may always cache a smaller page). A miss, or a hit
 * whose rights do not cover the access, walks the guest's page tables.
 */
#include <numa.h>
#include <stdlib.h>

#include "machine_impl.h"
#include "mmu/walk.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

#define CR0_WP	  (1ull << 16)
#define CR0_PG	  (1ull << 31)
#define CR4_PAE	  (1ull << 5)
#define CR4_PGE	  (1ull << 7)
#define CR4_PCIDE (1ull << 17)
#define CR4_SMEP  (1ull << 20)
#define CR4_SMAP  (1ull << 21)
#define EFER_NXE  (1ull << 11)
#define RFLAGS_AC (1ull << 18)

static uint16_t current_pcid(const struct rv_cpu *c)
{
	return (c->cr4 & CR4_PCIDE) ? (uint16_t)(c->cr3 & 0xfff) : 0;
}

static struct rv_tlb_tag tag_of(const struct machine_vcpu *mv)
{
	struct rv_tlb_tag t = { 0, mv->vpid, current_pcid(&mv->cpu) };

	return t;
}

/*
 * A pCPU's TLB lives on its NUMA node. The machine owns it and outlives the
 * VM (and the VM's arenas), so it comes from libnuma, not from an arena.
 */
static void *tlb_alloc(void *ctx, size_t size)
{
	struct rv_pcpu *p = ctx;
	int nodes = numa_available() >= 0 ? numa_num_configured_nodes() : 0;

	if (nodes <= 0)
		return calloc(1, size);
	return numa_alloc_onnode(size, p->node % nodes);
}

static void tlb_free(void *ctx, void *mem, size_t size)
{
	(void)ctx;
	if (numa_available() >= 0 && numa_num_configured_nodes() > 0)
		numa_free(mem, size);
	else
		free(mem);
}

/* The TLB of the pCPU the vCPU is loaded on, made on first use; a vCPU that
 * comes from another pCPU flushes its VPID here, since this TLB may hold its
 * entries from an earlier visit that its invalidations since did not reach
 * (the reason KVM posts TLB_FLUSH when a vCPU changes pCPU). */
void rv_machine_tlb_load(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;
	struct rv_pcpu *p = atomic_load_explicit(&mv->vcpu->pcpu, memory_order_relaxed);
	char err[128];
	struct rv_tlb_allocator node = { tlb_alloc, tlb_free, p };

	if (!m->tlb[p->index])
		m->tlb[p->index] = rv_tlb_create(m->tlb_sets, m->tlb_ways, &node, err, sizeof(err));
	mv->tlb = m->tlb[p->index];
	if (mv->last_pcpu != (int)p->index && mv->tlb)
		rv_tlb_flush_tag(mv->tlb, mv->vpid, RV_TLB_ANY_PCID);
	mv->last_pcpu = (int)p->index;
}

static bool hit_allowed(const struct machine_vcpu *mv, const struct rv_tlb_entry *e,
			enum rv_access kind)
{
	unsigned perm = rv_tlb_entry_perm(e);
	const struct rv_cpu *c = &mv->cpu;

	if (kind == RV_ACCESS_FETCH)
		return (perm & RV_TLB_X) && !((perm & RV_TLB_U) && (c->cr4 & CR4_SMEP));
	if ((perm & RV_TLB_U) && (c->cr4 & CR4_SMAP) && !(c->rflags & RFLAGS_AC))
		return false;
	/* A write needs W and a dirty bit already set; anything else walks,
	 * and the walk decides (CR0.WP, setting D). */
	return kind != RV_ACCESS_WRITE || ((perm & RV_TLB_W) && rv_tlb_entry_dirty(e));
}

static _Atomic uint64_t *table_entry(void *phys, uint64_t gpa)
{
	return (gpa & 7) ? NULL : (_Atomic uint64_t *)rv_gpa_hva(phys, gpa);
}

static void walk_ctx(const struct machine_vcpu *mv, struct rv_walk_ctx *w)
{
	const struct rv_cpu *c = &mv->cpu;

	*w = (struct rv_walk_ctx){
		.phys = mv->m->mem,
		.entry = table_entry,
		.cr3 = c->cr3,
		.pcide = c->cr4 & CR4_PCIDE,
		.wp = c->cr0 & CR0_WP,
		.nxe = c->efer & EFER_NXE,
		.smep = c->cr4 & CR4_SMEP,
		.smap = c->cr4 & CR4_SMAP,
		.ac = c->rflags & RFLAGS_AC,
		.maxphyaddr = 52,
	};
}

static int walk(struct machine_vcpu *mv, uint64_t gva, enum rv_access kind, struct rv_walk *r,
		uint32_t *pf)
{
	struct rv_walk_ctx w;
	enum rv_walk_access a = kind == RV_ACCESS_WRITE	  ? RV_WALK_WRITE
				: kind == RV_ACCESS_FETCH ? RV_WALK_FETCH
							  : RV_WALK_READ;

	walk_ctx(mv, &w);
	return rv_walk(&w, gva, a, r, pf);
}

/* Every hit in full mode, every Nth in sample mode (DESIGN §5). */
static void oracle(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *e)
{
	const struct rv_machine_config *cfg = &mv->m->cfg;
	struct rv_walk_ctx w;

	if (cfg->oracle == RV_ORACLE_OFF)
		return;
	if (cfg->oracle == RV_ORACLE_SAMPLE && mv->oracle_hits++ % cfg->oracle_period)
		return;
	walk_ctx(mv, &w);
	w.peek = true;
	rv_oracle_check(mv, gva, e, &w);
}

static void fill(struct machine_vcpu *mv, uint64_t gva, const struct rv_walk *r, uint32_t frame)
{
	struct rv_tlb_fill f = {
		.out = (uint64_t)frame << RV_PAGE_SHIFT,
		.time = atomic_fetch_add_explicit(&mv->m->tlb_time, 1, memory_order_relaxed),
		.size = RV_TLB_4K,
		.perm = RV_TLB_R | (r->writable ? RV_TLB_W : 0) | (r->user ? RV_TLB_U : 0) |
			(r->executable ? RV_TLB_X : 0),
		.dirty = r->dirty,
		.global = r->global && (mv->cpu.cr4 & CR4_PGE),
	};

	rv_tlb_insert(mv->tlb, RV_TLB_COMBINED, tag_of(mv), gva, &f);
}

uint8_t *rv_machine_translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	struct machine_vcpu *mv = ctx;
	struct rv_guest_mem *mem = mv->m->mem;
	const struct rv_tlb_entry *e =
		mv->tlb ? rv_tlb_lookup(mv->tlb, RV_TLB_COMBINED, tag_of(mv), gva) : NULL;
	struct rv_walk r;

	if (e && hit_allowed(mv, e, kind)) {
		uint64_t hpa = rv_tlb_entry_translate(e, gva);

		oracle(mv, gva, e);
		return rv_frame_hva(mem, (uint32_t)(hpa >> RV_PAGE_SHIFT)) + (hpa & 4095);
	}
	if (walk(mv, gva, kind, &r, pf)) {
		/* As on hardware, a #PF removes the entries for the address. */
		if (mv->tlb)
			rv_tlb_flush_addr(mv->tlb, mv->vpid, current_pcid(&mv->cpu), gva, false);
		rv_oracle_log(mv, RV_INVAL_ADDR, gva, current_pcid(&mv->cpu));
		return NULL;
	}
	uint32_t frame = rv_gpa_frame(mem, r.gpa);

	if (frame == RV_NO_FRAME)
		return mv->unbacked + (r.gpa & 4095);
	if (mv->tlb)
		fill(mv, gva, &r, frame);
	return rv_frame_hva(mem, frame) + (r.gpa & 4095);
}

/*
 * MOV to CR4 (SDM vol. 3A §4.10.4.1): changing PGE, or PCIDE from 1 to 0,
 * invalidates everything, globals included; changing PAE, or SMEP from 0 to
 * 1, the current PCID's entries. Other bits invalidate nothing: the rights
 * an entry caches are checked against the current CR0.WP, SMEP and SMAP on
 * every hit.
 */
static void cr4_changed(struct machine_vcpu *mv, uint64_t old, uint64_t now)
{
	uint64_t diff = old ^ now;

	if ((diff & CR4_PGE) || ((old & CR4_PCIDE) && !(now & CR4_PCIDE))) {
		rv_tlb_flush_tag(mv->tlb, mv->vpid, RV_TLB_ANY_PCID);
		rv_oracle_log(mv, RV_INVAL_ALL, 0, 0);
	} else if ((diff & CR4_PAE) || ((now & CR4_SMEP) && !(old & CR4_SMEP))) {
		uint16_t pcid = current_pcid(&mv->cpu);

		rv_tlb_flush_tag(mv->tlb, mv->vpid, pcid);
		rv_oracle_log(mv, RV_INVAL_ALL_PCID, 0, pcid);
	}
}

/* What the guest's own invalidations remove (SDM vol. 3A §4.10.4). */
void rv_machine_tlb_event(void *ctx, struct rv_cpu *c, enum rv_tlb_event ev, uint64_t addr,
			  uint64_t pcid)
{
	struct machine_vcpu *mv = ctx;
	struct rv_tlb *tlb = mv->tlb;
	uint16_t p = (uint16_t)(pcid & 0xfff);

	if (!tlb)
		return;
	switch (ev) {
	case RV_TLB_INVLPG: /* the address in the current PCID, and its globals */
		if (!RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_INVLPG))
			rv_tlb_flush_addr(tlb, mv->vpid, current_pcid(c), addr, false);
		rv_oracle_log(mv, RV_INVAL_ADDR, addr, current_pcid(c));
		return;
	case RV_TLB_MOV_CR3: /* the new PCID's non-global entries, unless bit 63 */
		if (!addr) {
			rv_tlb_flush_nonglobal(tlb, mv->vpid, p);
			rv_oracle_log(mv, RV_INVAL_PCID, 0, p);
		}
		return;
	case RV_TLB_INVPCID:
		switch (pcid >> 62) {
		case 0:
			rv_tlb_flush_addr(tlb, mv->vpid, p, addr, true);
			rv_oracle_log(mv, RV_INVAL_ADDR_PCID, addr, p);
			return;
		case 1:
			rv_tlb_flush_nonglobal(tlb, mv->vpid, p);
			rv_oracle_log(mv, RV_INVAL_PCID, 0, p);
			return;
		case 2:
			rv_tlb_flush_tag(tlb, mv->vpid, RV_TLB_ANY_PCID);
			rv_oracle_log(mv, RV_INVAL_ALL, 0, 0);
			return;
		default:
			rv_tlb_flush_nonglobal(tlb, mv->vpid, RV_TLB_ANY_PCID);
			rv_oracle_log(mv, RV_INVAL_NONGLOBAL, 0, 0);
			return;
		}
	case RV_TLB_CR4:
		cr4_changed(mv, addr, c->cr4);
		return;
	default: /* CR0: only clearing PG flushes (impossible in 64-bit mode) */
		if ((addr & CR0_PG) && !(c->cr0 & CR0_PG)) {
			rv_tlb_flush_tag(tlb, mv->vpid, RV_TLB_ANY_PCID);
			rv_oracle_log(mv, RV_INVAL_ALL, 0, 0);
		}
		return;
	}
}
