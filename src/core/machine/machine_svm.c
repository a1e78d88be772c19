// SPDX-License-Identifier: MIT
/*
 * The SVM backend's ops (docs/vendors.md), with the choices of Linux 6.16's
 * svm.c: every entry is the ASID's (APM vol. 2 §15.16), so all, current and
 * guest flushes are one flush of the ASID at the next VMRUN (TLB_CONTROL 3,
 * or a fresh ASID on a CPU without flush-by-ASID); INVLPGA for one address.
 */
#include "machine_impl.h"
#include "service.h"
#include "reqvisor/request.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

static struct machine_vcpu *mv_of(struct rv_vcpu *v)
{
	return v->backend_data;
}

static void svm_vcpu_load(struct rv_vcpu *v, struct rv_pcpu *p, struct rv_pcpu *last)
{
	(void)last; /* the ASID generation handles a move (rv_asid_prepare_run) */
	rv_machine_load_tlb(mv_of(v), p);
}

/* VMRUN: take an ASID valid on this pCPU, then do what TLB_CONTROL says. */
static void svm_prepare_entry(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = mv_of(v);
	struct rv_pcpu *p = atomic_load_explicit(&v->pcpu, memory_order_relaxed);
	struct rv_asid_pcpu *ap = &mv->m->asid[p->index];
	enum rv_svm_tlb_control ctl;

	if (RV_FAULT_HIT(&v->vm->faults, ASID_EXHAUST)) {
		ap->next_asid = ap->max_asid + 1;
		rv_asid_invalidate(&mv->asid);
	}
	ctl = rv_asid_prepare_run(ap, (int32_t)p->index, &mv->asid);
	if (ctl == RV_TLB_CONTROL_ALL_ASIDS &&
	    RV_FAULT_HIT(&v->vm->faults, SVM_SKIP_GENERATION_FLUSH))
		ctl = RV_TLB_CONTROL_NOTHING;
	mv->tag = (uint16_t)mv->asid.asid;
	if (ctl != RV_TLB_CONTROL_ALL_ASIDS && mv->tlb_control)
		ctl = (enum rv_svm_tlb_control)mv->tlb_control;
	mv->tlb_control = RV_TLB_CONTROL_NOTHING;
	if (!mv->tlb)
		return;
	switch (ctl) {
	case RV_TLB_CONTROL_ALL_ASIDS:
		rv_tlb_flush_all(mv->tlb);
		return;
	case RV_TLB_CONTROL_THIS_ASID:
		rv_machine_flush_tag(mv);
		return;
	case RV_TLB_CONTROL_THIS_ASID_LOCAL:
		rv_tlb_flush_nonglobal(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
		return;
	default:
		return;
	}
}

/* Flush the current ASID at the next VMRUN, or drop it for a fresh one. */
static void flush_asid(struct machine_vcpu *mv)
{
	if (mv->m->cfg.svm_new_asid)
		rv_asid_invalidate(&mv->asid);
	else
		mv->tlb_control = RV_TLB_CONTROL_THIS_ASID;
}

/*
 * An ASID flush removes every entry of the ASID: with TDP a superset of
 * whatever the Hyper-V FIFO names, which is purged (KVM's
 * svm_flush_tlb_asid). With shadow paging it is not: a Hyper-V flush is
 * then a guest flush, which also syncs the unsync shadow pages, and an
 * ASID flush syncs nothing. KVM purges there too and loses the sync; the
 * benign campaign caught it (hostmem.migrate with hv-shootdown, docs/
 * requests.md H2), so reqvisor keeps the Hyper-V flush pending instead.
 */
static void purge_if_superset(struct rv_vcpu *v)
{
	if (mv_of(v)->m->tdp || RV_FAULT_HIT(&v->vm->faults, SVM_PURGE_ON_SHADOW))
		rv_hv_purge(v);
}

static void svm_flush_tlb_all(struct rv_vcpu *v)
{
	rv_count(&v->stat[RV_STAT_flush_all], 1);
	purge_if_superset(v);
	flush_asid(mv_of(v));
	rv_machine_nsvm_flush_other_asid(mv_of(v));
}

static void svm_flush_tlb_current(struct rv_vcpu *v)
{
	rv_count(&v->stat[RV_STAT_flush_current], 1);
	purge_if_superset(v);
	flush_asid(mv_of(v));
}

static void svm_flush_tlb_gva(struct rv_vcpu *v, uint64_t gva)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_gva], 1);
	if (mv->tlb) /* INVLPGA of the current ASID */
		rv_tlb_flush_addr(mv->tlb, mv->tag, RV_TLB_ANY_PCID, gva, false);
}

static void svm_flush_tlb_guest(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_guest], 1);
	rv_machine_sync_for_guest_flush(mv);
	flush_asid(mv);
}

const struct rv_vendor_ops rv_machine_svm_ops = {
	.name = "svm",
	.vcpu_load = svm_vcpu_load,
	.prepare_entry = svm_prepare_entry,
	.mmu_sync = rv_machine_mmu_sync,
	.load_mmu_pgd = rv_machine_load_mmu_pgd,
	.flush_tlb_all = svm_flush_tlb_all,
	.flush_tlb_current = svm_flush_tlb_current,
	.flush_tlb_gva = svm_flush_tlb_gva,
	.flush_tlb_guest = svm_flush_tlb_guest,
};
