// SPDX-License-Identifier: MIT
/*
 * Translation through the pCPU's TLB (DESIGN §4). Each pCPU owns one TLB that
 * every vCPU running there shares; a vCPU's entries carry its tag (VPID or
 * ASID) and PCID. What a miss walks depends on the paging mode:
 *
 *   TDP on:  the guest's tables, each of their addresses and the final one
 *            through the EPT/NPT tables (guest-physical entries cached);
 *            COMBINED entries, tagged with the second-stage root too.
 *   TDP off: the vCPU's shadow tables, and on a shadow miss the guest's
 *            tables (a shadow page fault); LINEAR entries, guest-virtual to
 *            host frame, as a CPU caches from tables without EPT.
 *
 * Entries are 4 KiB for guest translations (a guest's large page may sit on
 * frames that are not contiguous, and a TLB may always cache a smaller page).
 * A miss, or a hit whose rights do not cover the access, walks.
 */
#include "machine_impl.h"
#include "mmu/walk.h"
#include "reqvisor/request.h"
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

uint16_t rv_machine_pcid(const struct rv_cpu *c)
{
	return (c->cr4 & CR4_PCIDE) ? (uint16_t)(c->cr3 & 0xfff) : 0;
}

static struct rv_tlb_tag tag_of(const struct machine_vcpu *mv)
{
	struct rv_tlb_tag t = { rv_machine_tag_root(mv), mv->tag, rv_machine_pcid(&mv->cpu) };

	return t;
}

static enum rv_tlb_kind guest_kind(const struct machine_vcpu *mv)
{
	return mv->m->tdp ? RV_TLB_COMBINED : RV_TLB_LINEAR;
}

/* Whether cached rights cover the access under the current CR4 and AC. */
static bool rights_allow(const struct machine_vcpu *mv, unsigned perm, bool dirty,
			 enum rv_access kind)
{
	const struct rv_cpu *c = &mv->cpu;

	if (kind == RV_ACCESS_FETCH)
		return (perm & RV_TLB_X) && !((perm & RV_TLB_U) && (c->cr4 & CR4_SMEP));
	if ((perm & RV_TLB_U) && (c->cr4 & CR4_SMAP) && !(c->rflags & RFLAGS_AC))
		return false;
	/* A write needs W and a dirty bit already set; anything else walks,
	 * and the walk decides (CR0.WP, setting D). */
	return kind != RV_ACCESS_WRITE || ((perm & RV_TLB_W) && dirty);
}

/* A guest paging-structure entry through the memslots (shadow paging, the
 * oracle); a page being moved reads as "exit and retry". */
static _Atomic uint64_t *table_entry(void *phys, uint64_t gpa)
{
	if (gpa & 7)
		return NULL;
	if (gpa < rv_guest_mem_size(phys) && rv_gpa_frame(phys, gpa) == RV_NO_FRAME)
		return &rv_walk_retry_entry;
	return (_Atomic uint64_t *)rv_gpa_hva(phys, gpa);
}

/* The same for the vCPU's own walks, which also mark the page as a table
 * (host-side moves leave tables alone). */
static _Atomic uint64_t *walk_table_entry(void *ctx, uint64_t gpa)
{
	struct machine_vcpu *mv = ctx;

	rv_machine_note_table_page(mv->m, gpa);
	return table_entry(mv->m->mem, gpa);
}

static uint32_t gpa_frame(void *phys, uint64_t gpa)
{
	return rv_gpa_frame(phys, gpa);
}

static void cache_guest_physical(struct machine_vcpu *mv, struct rv_tlb_tag tag, uint64_t gpa,
				 uint64_t out, enum rv_tlb_size size, unsigned perm)
{
	struct rv_tlb_fill f = {
		.out = out,
		.time = rv_machine_clock(mv),
		.size = size,
		.perm = (uint8_t)perm,
		.dirty = true,
	};

	rv_tlb_insert(mv->tlb, RV_TLB_GUEST_PHYSICAL, tag, gpa, &f);
}

/* What a walk reads for a paging-structure entry whose translation gave
 * @rc (the codes of tdp_translate) and @hpa: the host address, "exit and
 * retry", or nothing (outside RAM). */
static _Atomic uint64_t *table_entry_at(struct machine_vcpu *mv, int rc, uint64_t hpa)
{
	if (rc)
		return rc == -2 ? &rv_walk_retry_entry : NULL;
	return (_Atomic uint64_t *)(rv_frame_hva(mv->m->mem, (uint32_t)(hpa >> 12)) + (hpa & 4095));
}

/* A guest-physical address through the second stage: its host-physical
 * address and the EPT/NPT rights, from a guest-physical entry or a walk of
 * the tables. -1 outside RAM, -2 on a page being moved (exit and retry). */
static int tdp_translate(struct machine_vcpu *mv, uint64_t gpa, uint64_t *hpa, unsigned *perm)
{
	struct rv_tlb_tag tag = { rv_machine_tag_root(mv), 0, 0 };
	const struct rv_tlb_entry *e =
		mv->tlb ? rv_tlb_lookup(mv->tlb, RV_TLB_GUEST_PHYSICAL, tag, gpa) : NULL;
	struct rv_tdp_walk w;

	mv->gp_lookups += mv->tlb != NULL;
	if (e) {
		mv->gp_hits++;
		*hpa = rv_tlb_entry_translate(e, gpa);
		*perm = rv_tlb_entry_perm(e);
		return 0;
	}
	mv->tdp_walks++;
	if (rv_tdp_walk(mv->m->tdp_tables, gpa, &w) != RV_TDP_OK) {
		if (gpa >= rv_guest_mem_size(mv->m->mem))
			return -1;
		if (!rv_machine_tdp_fault_in(mv->m, gpa) ||
		    rv_tdp_walk(mv->m->tdp_tables, gpa, &w) != RV_TDP_OK)
			return -2;
	}
	*hpa = w.hpa_page | (gpa & (w.page_size - 1));
	*perm = w.perm;
	if (mv->tlb)
		cache_guest_physical(mv, tag, gpa, w.hpa_page,
				     w.page_size == (1ull << 21) ? RV_TLB_2M : RV_TLB_4K, w.perm);
	return 0;
}

/* A guest paging-structure entry read through the second stage. */
static _Atomic uint64_t *tdp_table_entry(void *ctx, uint64_t gpa)
{
	struct machine_vcpu *mv = ctx;
	uint64_t hpa;
	unsigned perm;
	int rc;

	if (gpa & 7)
		return NULL;
	rv_machine_note_table_page(mv->m, gpa);
	rc = tdp_translate(mv, gpa, &hpa, &perm);
	return table_entry_at(mv, rc, hpa);
}

static _Atomic uint64_t *l2_table_entry(void *ctx, uint64_t gpa);
static _Atomic uint64_t *l2_peek_entry(void *ctx, uint64_t gpa);

/* The guest's walk: the vCPU's own (@mine: through the second stage with
 * TDP, through the memslots with shadow paging), or the oracle's reference
 * walk, straight through the memslots. L2's go through EPT12 first. */
static void walk_ctx(struct machine_vcpu *mv, struct rv_walk_ctx *w, bool mine)
{
	const struct rv_cpu *c = &mv->cpu;
	bool l2 = mv->nested.guest_mode;

	*w = (struct rv_walk_ctx){
		.phys = mine || l2 ? (void *)mv : (void *)mv->m->mem,
		.entry = l2	      ? (mine ? l2_table_entry : l2_peek_entry)
			 : !mine      ? table_entry
			 : mv->m->tdp ? tdp_table_entry
				      : walk_table_entry,
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

	walk_ctx(mv, &w, true);
	mv->guest_walks++;
	return rv_walk(&w, gva, a, r, pf);
}

void rv_machine_shadow_env(struct machine_vcpu *mv, struct rv_shadow_env *env)
{
	*env = (struct rv_shadow_env){
		.phys = mv->m->mem,
		.entry = table_entry,
		.frame = gpa_frame,
		.clock = &mv->m->tlb_time,
		.owner = mv->vcpu->index,
		.nxe = mv->cpu.efer & EFER_NXE,
	};
}

/* Every hit in full mode, every Nth in sample mode (DESIGN §5). */
static void oracle(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *e)
{
	const struct rv_machine_config *cfg = &mv->m->cfg;
	struct rv_walk_ctx w;

	if (cfg->oracle == RV_ORACLE_OFF)
		return;
	if (rv_machine_frame_freed(mv->m, (uint32_t)(rv_tlb_entry_translate(e, gva) >> 12)))
		rv_oracle_host_violation(mv, gva, e);
	if (cfg->oracle == RV_ORACLE_SAMPLE && mv->oracle_hits++ % cfg->oracle_period)
		return;
	walk_ctx(mv, &w, false);
	w.peek = true;
	rv_oracle_check(mv, gva, e, &w);
}

static const struct rv_tlb_entry *fill(struct machine_vcpu *mv, uint64_t gva, uint64_t hpa,
				       unsigned perm, bool dirty, bool global, uint64_t time)
{
	struct rv_tlb_fill f = {
		.out = hpa & ~4095ull,
		.time = time,
		.size = RV_TLB_4K,
		.perm = (uint8_t)perm,
		.dirty = dirty,
		.global = global && (mv->cpu.cr4 & CR4_PGE),
	};

	return mv->tlb ? rv_tlb_insert(mv->tlb, guest_kind(mv), tag_of(mv), gva, &f) : NULL;
}

static unsigned walk_perm(const struct rv_walk *r)
{
	return RV_TLB_R | (r->writable ? RV_TLB_W : 0) | (r->user ? RV_TLB_U : 0) |
	       (r->executable ? RV_TLB_X : 0);
}

static uint64_t now(struct machine_vcpu *mv)
{
	return rv_machine_clock(mv);
}

/* Shadow paging: the last write's page is announced once the store is done
 * (shadow.h), i.e. at the vCPU's next translation or exit. */
void rv_machine_write_done(struct machine_vcpu *mv)
{
	uint64_t frame = mv->pending_write;

	if (!frame)
		return;
	mv->pending_write = 0;
	rv_shadow_write_done(&mv->m->track, atomic_load_explicit(&mv->m->frame_gfn[frame - 1],
								 memory_order_relaxed));
}

static uint8_t *host_address(struct machine_vcpu *mv, uint64_t hpa, enum rv_access kind)
{
	if (kind == RV_ACCESS_WRITE && !mv->m->tdp)
		mv->pending_write = (hpa >> 12) + 1;
	return rv_frame_hva(mv->m->mem, (uint32_t)(hpa >> 12)) + (hpa & 4095);
}

/* TDP off: the shadow tables, or a shadow page fault. */
static uint8_t *shadow_translate(struct machine_vcpu *mv, uint64_t gva, enum rv_access kind,
				 const struct rv_walk *r, uint64_t seq, uint32_t *pf)
{
	struct rv_shadow_env env;
	struct rv_shadow_leaf leaf;

	mv->shadow_faults++;
	rv_machine_shadow_env(mv, &env);
	env.seq = &mv->m->mmu_seq;
	env.seq_seen = seq;
	rv_shadow_fault(&mv->shadow, &env, gva, r, &leaf);
	if (leaf.frame == RV_NO_FRAME) {
		*pf = RV_PF_RETRY; /* moved away since the walk */
		return NULL;
	}
	if (atomic_load(&mv->m->mmu_seq) == seq)
		fill(mv, gva, (uint64_t)leaf.frame << 12, leaf.perm, leaf.dirty, leaf.global,
		     leaf.time);
	rv_machine_note_miss(mv, r->gpa);
	return host_address(mv, ((uint64_t)leaf.frame << 12) | (gva & 4095), kind);
}

static void invalidate_on_fault(struct machine_vcpu *mv, uint64_t gva)
{
	/* As on hardware, a #PF removes the entries for the address; KVM does
	 * the same for the shadow tables when it injects one. */
	if (mv->tlb)
		rv_tlb_flush_addr(mv->tlb, mv->tag, rv_machine_pcid(&mv->cpu), gva, false);
	if (!mv->m->tdp && !mv->nested.guest_mode) {
		struct rv_shadow_env env;

		rv_machine_shadow_env(mv, &env);
		mv->shadow.skip_sync = false;
		rv_shadow_invlpg(&mv->shadow, &env, gva);
	}
	rv_oracle_log(mv, RV_INVAL_ADDR, gva, rv_machine_pcid(&mv->cpu));
}

/* ---- L2 of a nested guest (VMX or SVM) ---- */

/*
 * An L2 guest-physical address to a host-physical one: a guest-physical
 * entry of L2's root (EPT02 or the ASID's, with TDP in L0), or EPT12/nCR3 then L1's second
 * stage. 0; -1 outside RAM; -2 exit and retry (a page being moved, or a VM
 * exit to L1 is now pending).
 */
static int l2_gpa_translate(struct machine_vcpu *mv, uint64_t gpa, uint64_t gla,
			    enum rv_access kind, bool final, uint64_t *hpa, unsigned *perm)
{
	static const unsigned need[] = { RV_TLB_R, RV_TLB_W, RV_TLB_X };
	bool tdp = mv->m->tdp;
	struct rv_tlb_tag tag = { rv_machine_tag_root(mv), 0, 0 };
	const struct rv_tlb_entry *e =
		tdp && mv->tlb ? rv_tlb_lookup(mv->tlb, RV_TLB_GUEST_PHYSICAL, tag, gpa) : NULL;
	uint64_t l1gpa;
	unsigned p12;
	int rc;

	mv->gp_lookups += e || (tdp && mv->tlb);
	if (e && (rv_tlb_entry_perm(e) & need[kind])) {
		mv->gp_hits++;
		*hpa = rv_tlb_entry_translate(e, gpa);
		*perm = rv_tlb_entry_perm(e);
		return 0;
	}
	mv->tdp_walks++;
	rc = rv_nested_l1_gpa(mv, gpa, kind, false, &l1gpa, &p12);
	if (!rc && !(p12 & need[kind])) {
		rc = -1;
		/* Nested paging reports a protection fault's error code. */
		p12 = mv->m->svm
			      ? RV_PFEC_P | RV_PFEC_U | (kind == RV_ACCESS_WRITE ? RV_PFEC_W : 0) |
					(kind == RV_ACCESS_FETCH ? RV_PFEC_I : 0)
			      : p12;
	}
	if (rc) {
		rv_nested_ept_exit(mv, rc, gpa, gla, kind, p12, final);
		return -2;
	}
	if (l1gpa >= rv_guest_mem_size(mv->m->mem))
		return -1;
	if (!final) /* one of L2's page tables: the host leaves it in place */
		rv_machine_note_table_page(mv->m, l1gpa);
	if (tdp) {
		struct rv_tdp_walk w;

		if (rv_tdp_walk(mv->m->tdp_tables, l1gpa, &w) != RV_TDP_OK &&
		    (!rv_machine_tdp_fault_in(mv->m, l1gpa) ||
		     rv_tdp_walk(mv->m->tdp_tables, l1gpa, &w) != RV_TDP_OK))
			return -2;
		*hpa = w.hpa_page | (l1gpa & (w.page_size - 1));
		*perm = w.perm & p12;
	} else {
		uint32_t frame = rv_gpa_frame(mv->m->mem, l1gpa);

		if (frame == RV_NO_FRAME)
			return -2;
		*hpa = ((uint64_t)frame << 12) | (l1gpa & 4095);
		*perm = p12;
	}
	if (tdp && mv->tlb)
		cache_guest_physical(mv, tag, gpa, *hpa & ~4095ull, RV_TLB_4K, *perm);
	return 0;
}

static _Atomic uint64_t *l2_table_entry(void *ctx, uint64_t gpa)
{
	struct machine_vcpu *mv = ctx;
	uint64_t hpa;
	unsigned perm;
	int rc;

	if (gpa & 7)
		return NULL;
	rc = l2_gpa_translate(mv, gpa, 0, RV_ACCESS_READ, false, &hpa, &perm);
	return table_entry_at(mv, rc, hpa);
}

/* The oracle's: EPT12 as it is now, then the memslots; nothing cached. */
static _Atomic uint64_t *l2_peek_entry(void *ctx, uint64_t gpa)
{
	struct machine_vcpu *mv = ctx;
	uint64_t l1gpa;
	unsigned perm;

	if (rv_nested_l1_gpa(mv, gpa, RV_ACCESS_READ, true, &l1gpa, &perm) || !(perm & RV_TLB_R))
		return NULL;
	return table_entry(mv->m->mem, l1gpa);
}

/*
 * Guest-physical addresses outside RAM have no device behind them: reads
 * return all ones and writes are dropped (GUEST_ABI Additions), as on a bus
 * where nothing answers. The scratch page is refilled for every access, so
 * nothing a guest writes there is ever read back, by it or by another.
 */
static uint8_t *unbacked(struct machine_vcpu *mv, uint64_t gpa)
{
	memset(mv->unbacked, 0xff, sizeof(mv->unbacked));
	return mv->unbacked + (gpa & 4095);
}

static uint8_t *l2_translate(struct machine_vcpu *mv, uint64_t gva, enum rv_access kind,
			     uint32_t *pf)
{
	const struct rv_tlb_entry *e;
	struct rv_walk r;
	uint64_t hpa;
	unsigned perm;
	int rc;

	if (!mv->m->tdp)
		rv_machine_write_done(mv);
	e = mv->tlb ? rv_tlb_lookup(mv->tlb, guest_kind(mv), tag_of(mv), gva) : NULL;
	if (e && rights_allow(mv, rv_tlb_entry_perm(e), rv_tlb_entry_dirty(e), kind)) {
		oracle(mv, gva, e);
		return host_address(mv, rv_tlb_entry_translate(e, gva), kind);
	}
	if (walk(mv, gva, kind, &r, pf)) {
		if (!(*pf & RV_PF_RETRY))
			invalidate_on_fault(mv, gva);
		return NULL;
	}
	rc = l2_gpa_translate(mv, r.gpa, gva, kind, true, &hpa, &perm);
	if (rc == -2) {
		*pf = RV_PF_RETRY;
		return NULL;
	}
	if (rc)
		return unbacked(mv, r.gpa);
	fill(mv, gva, hpa, walk_perm(&r) & (perm | RV_TLB_U), r.dirty, r.global, now(mv));
	return host_address(mv, hpa, kind);
}

uint8_t *rv_machine_translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	struct machine_vcpu *mv = ctx;
	bool tdp = mv->m->tdp;
	const struct rv_tlb_entry *e;
	struct rv_shadow_leaf leaf;
	struct rv_walk r;
	uint64_t hpa, seq;
	unsigned perm;
	int rc;

	if (mv->nested.guest_mode)
		return l2_translate(mv, gva, kind, pf);
	if (!tdp)
		rv_machine_write_done(mv);
	e = mv->tlb ? rv_tlb_lookup(mv->tlb, guest_kind(mv), tag_of(mv), gva) : NULL;
	if (e && rights_allow(mv, rv_tlb_entry_perm(e), rv_tlb_entry_dirty(e), kind)) {
		oracle(mv, gva, e);
		return host_address(mv, rv_tlb_entry_translate(e, gva), kind);
	}
	if (!tdp && rv_shadow_lookup(&mv->shadow, gva, &leaf) &&
	    rights_allow(mv, leaf.perm, leaf.dirty, kind)) {
		/* The shadow tables are the guest's TLB too: check their use. */
		mv->shadow_hits++;
		e = fill(mv, gva, (uint64_t)leaf.frame << 12, leaf.perm, leaf.dirty, leaf.global,
			 leaf.time);
		if (e)
			oracle(mv, gva, e);
		return host_address(mv, ((uint64_t)leaf.frame << 12) | (gva & 4095), kind);
	}
	seq = atomic_load(&mv->m->mmu_seq);
	if (walk(mv, gva, kind, &r, pf)) {
		if (!(*pf & RV_PF_RETRY))
			invalidate_on_fault(mv, gva);
		return NULL;
	}
	if (!tdp) {
		if (r.gpa >= rv_guest_mem_size(mv->m->mem))
			return unbacked(mv, r.gpa);
		return shadow_translate(mv, gva, kind, &r, seq, pf);
	}
	rc = tdp_translate(mv, r.gpa, &hpa, &perm);
	if (rc == -2) {
		*pf = RV_PF_RETRY;
		return NULL;
	}
	if (rc)
		return unbacked(mv, r.gpa);
	fill(mv, gva, hpa, walk_perm(&r) & perm, r.dirty, r.global, now(mv));
	rv_machine_note_miss(mv, r.gpa);
	return host_address(mv, hpa, kind);
}

/* ---- what the guest's invalidations do (SDM vol. 3A §4.10.4) ---- */

static void post(struct machine_vcpu *mv, uint32_t req)
{
	rv_make_request(mv->vcpu, req);
}

/* Hardware semantics, for what the hypervisor does not intercept. */
static void hw_invlpg(struct machine_vcpu *mv, uint64_t addr)
{
	if (!RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_INVLPG))
		rv_tlb_flush_addr(mv->tlb, mv->tag, rv_machine_pcid(&mv->cpu), addr, false);
}

static void hw_invpcid(struct machine_vcpu *mv, unsigned type, uint16_t p, uint64_t addr)
{
	switch (type) {
	case 0:
		rv_tlb_flush_addr(mv->tlb, mv->tag, p, addr, true);
		return;
	case 1:
		rv_tlb_flush_nonglobal(mv->tlb, mv->tag, p);
		return;
	case 2:
		rv_tlb_flush_tag(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
		return;
	default:
		rv_tlb_flush_nonglobal(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
		return;
	}
}

static const enum rv_inval_kind invpcid_inval[4] = { RV_INVAL_ADDR_PCID, RV_INVAL_PCID,
						     RV_INVAL_ALL, RV_INVAL_NONGLOBAL };

/* Shadow paging intercepts INVLPG: sync the address, then INVVPID/INVLPGA. */
static void shadow_invlpg(struct machine_vcpu *mv, uint64_t addr)
{
	struct rv_shadow_env env;

	rv_machine_shadow_env(mv, &env);
	mv->shadow.skip_sync = RV_FAULT_HIT(&mv->vcpu->vm->faults, SHADOW_SKIP_SYNC);
	rv_shadow_invlpg(&mv->shadow, &env, addr);
	if (!RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_INVLPG))
		mv->m->vendor.flush_tlb_gva(mv->vcpu, addr);
}

/* INVPCID with shadow paging, as KVM's kvm_handle_invpcid. */
static void shadow_invpcid(struct machine_vcpu *mv, unsigned type, uint16_t p, uint64_t addr)
{
	if (type == 0) {
		shadow_invlpg(mv, addr);
	} else if (type == 1 && p == rv_machine_pcid(&mv->cpu)) {
		post(mv, RV_REQ_MMU_SYNC);
		post(mv, RV_REQ_TLB_FLUSH_CURRENT);
	} else if (type == 1) {
		/* Another PCID's entries: KVM frees its cached roots; a
		 * flush of the VPID/ASID is a superset. */
		post(mv, RV_REQ_TLB_FLUSH_GUEST);
	} else {
		post(mv, RV_REQ_TLB_FLUSH_GUEST);
	}
}

/*
 * MOV to CR4 (SDM vol. 3A §4.10.4.1): changing PGE, or PCIDE from 1 to 0,
 * invalidates everything, globals included; changing PAE, or SMEP from 0 to
 * 1, the current PCID's entries. Other bits invalidate nothing: the rights
 * an entry caches are checked against the current CR0.WP, SMEP and SMAP on
 * every hit. KVM intercepts every CR4 bit but PGE, which VMX with EPT leaves
 * to the guest; an intercepted change becomes a request (kvm_post_set_cr4).
 */
static bool cr4_changed(struct machine_vcpu *mv, uint64_t old, uint64_t now_cr4)
{
	uint64_t diff = old ^ now_cr4;
	uint64_t guest_owned = mv->m->tdp && !mv->m->svm ? CR4_PGE : 0;
	bool intercepted = (diff & ~guest_owned) && !mv->nested.guest_mode;
	bool all = (diff & CR4_PGE) || ((old & CR4_PCIDE) && !(now_cr4 & CR4_PCIDE));
	bool current = (diff & CR4_PAE) || ((now_cr4 & CR4_SMEP) && !(old & CR4_SMEP));
	uint16_t pcid = rv_machine_pcid(&mv->cpu);

	if (all)
		rv_oracle_log(mv, RV_INVAL_ALL, 0, 0);
	else if (current)
		rv_oracle_log(mv, RV_INVAL_ALL_PCID, 0, pcid);
	if ((all || current) && RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_CR4_FLUSH))
		return false;
	if (!intercepted) {
		if (all)
			rv_tlb_flush_tag(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
		return false;
	}
	if (all)
		post(mv, RV_REQ_TLB_FLUSH_GUEST);
	else if (current)
		post(mv, RV_REQ_TLB_FLUSH_CURRENT);
	return true;
}

/* MOV CR3 with shadow paging: a new root, and unless bit 63 (PCIDE) said
 * not to flush, a sync and a flush of the current context (kvm_set_cr3). */
static bool shadow_mov_cr3(struct machine_vcpu *mv, bool keep)
{
	post(mv, RV_REQ_LOAD_MMU_PGD);
	if (!keep) {
		post(mv, RV_REQ_MMU_SYNC);
		post(mv, RV_REQ_TLB_FLUSH_CURRENT);
	}
	return true;
}

/* What the guest's own invalidations remove; true when the hypervisor
 * intercepts the instruction (the run stops after it, for the requests). */
bool rv_machine_tlb_event(void *ctx, struct rv_cpu *c, enum rv_tlb_event ev, uint64_t addr,
			  uint64_t pcid)
{
	struct machine_vcpu *mv = ctx;
	/* L2 has no shadow tables of its own: its invalidations act on the
	 * TLB as the hardware's do, and L0 intercepts none of them. */
	bool tdp = mv->m->tdp || mv->nested.guest_mode;
	uint16_t p = (uint16_t)(pcid & 0xfff);

	if (!mv->tlb)
		return false;
	if (!mv->m->tdp)
		rv_machine_write_done(mv);
	switch (ev) {
	case RV_TLB_INVLPG: /* the address in the current PCID, and its globals */
		rv_oracle_log(mv, RV_INVAL_ADDR, addr, rv_machine_pcid(c));
		if (!tdp) {
			shadow_invlpg(mv, addr);
			return true;
		}
		hw_invlpg(mv, addr);
		return false;
	case RV_TLB_MOV_CR3: /* the new PCID's non-global entries, unless bit 63 */
		if (!addr)
			rv_oracle_log(mv, RV_INVAL_PCID, 0, p);
		if (!addr && RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_CR3_FLUSH))
			addr = 1; /* as if bit 63 had been set */
		if (!tdp)
			return shadow_mov_cr3(mv, addr);
		if (!addr)
			rv_tlb_flush_nonglobal(mv->tlb, mv->tag, p);
		return false;
	case RV_TLB_INVPCID:
		rv_oracle_log(mv, invpcid_inval[pcid >> 62], addr, p);
		if (RV_FAULT_HIT(&mv->vcpu->vm->faults, TLB_SKIP_INVPCID))
			return false;
		if (!tdp) {
			shadow_invpcid(mv, (unsigned)(pcid >> 62), p, addr);
			return true;
		}
		hw_invpcid(mv, (unsigned)(pcid >> 62), p, addr);
		return false;
	case RV_TLB_CR4:
		return cr4_changed(mv, addr, c->cr4);
	default: /* CR0: only clearing PG flushes (impossible in 64-bit mode) */
		if ((addr & CR0_PG) && !(c->cr0 & CR0_PG)) {
			rv_tlb_flush_tag(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
			rv_oracle_log(mv, RV_INVAL_ALL, 0, 0);
		}
		return false;
	}
}

/* ---- the MMU requests ---- */

static void shadow_sync(struct machine_vcpu *mv)
{
	struct rv_shadow_env env;

	rv_machine_shadow_env(mv, &env);
	mv->shadow.skip_sync = RV_FAULT_HIT(&mv->vcpu->vm->faults, SHADOW_SKIP_SYNC);
	rv_shadow_sync(&mv->shadow, &env);
}

void rv_machine_mmu_sync(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	/* L2 has no shadow tables; L1's are synced by L1's own flushes. */
	if (!mv->m->tdp && !mv->nested.guest_mode)
		shadow_sync(mv);
}

void rv_machine_load_mmu_pgd(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	/* L1's root: in L2, CR3 is L2's (the VM exit asks again). */
	if (!mv->m->tdp && !mv->nested.guest_mode)
		rv_shadow_load_root(&mv->shadow, mv->cpu.cr3);
}

void rv_machine_sync_for_guest_flush(struct machine_vcpu *mv)
{
	rv_machine_mmu_sync(mv->vcpu);
}
