// SPDX-License-Identifier: MIT
/*
 * The VMX backend's ops (docs/vendors.md), with the choices of Linux 6.16's
 * vmx.c: INVEPT with EPT, INVVPID without; nothing for VPID 0, whose every VM
 * entry and exit flushes instead (SDM vol. 3C §29.4.3.3 / §28.3.3.3 in older
 * numbering); TLB_FLUSH when the vCPU comes from another pCPU.
 */
#include "machine_impl.h"
#include "reqvisor/request.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

static struct machine_vcpu *mv_of(struct rv_vcpu *v)
{
	return v->backend_data;
}

/* VPID 0's linear and combined entries, as a VM entry or exit with VPID 0
 * flushes them. Not a guest invalidation (the shadow tables, the guest's
 * virtual TLB, keep what they hold): what it prevents is one vCPU using
 * another's entries, which the oracle catches by the entries' owner. */
static void vpid0_transition_flush(struct machine_vcpu *mv)
{
	if (mv->tag || !mv->tlb)
		return;
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, VMX_SKIP_VPID0_FLUSH))
		return;
	rv_tlb_flush_tag(mv->tlb, 0, RV_TLB_ANY_PCID);
}

static void vmx_vcpu_load(struct rv_vcpu *v, struct rv_pcpu *p, struct rv_pcpu *last)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_machine_load_tlb(mv, p);
	/* This pCPU may hold entries of the vCPU from an earlier visit that
	 * its invalidations since (made elsewhere) did not reach. */
	if (last && last != p && !RV_FAULT_HIT(&v->vm->faults, VMX_SKIP_MIGRATION_FLUSH))
		rv_make_request(v, RV_REQ_TLB_FLUSH);
}

static void vmx_vcpu_put(struct rv_vcpu *v)
{
	vpid0_transition_flush(mv_of(v));
}

static void vmx_prepare_entry(struct rv_vcpu *v)
{
	if (!RV_FAULT_HIT(&v->vm->faults, COALESCE_PASS_OUTLIVES_ENTRY))
		mv_of(v)->pass_flushed = 0;
	vpid0_transition_flush(mv_of(v));
}

/* INVVPID single-context of the current VPID, unless this pass ran one. */
static void invvpid_current(struct machine_vcpu *mv)
{
	if (rv_machine_tag_flushed(mv))
		return;
	rv_tlb_flush_tag(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
	rv_machine_note_tag_flushed(mv);
}

static bool guest_physical_of(void *ctx, const struct rv_tlb_info *e)
{
	uint64_t root = *(const uint64_t *)ctx;

	return e->kind == RV_TLB_GUEST_PHYSICAL &&
	       (root == RV_TLB_ANY_EPTRTA || e->tag.eptrta == root);
}

/* INVEPT: guest-physical and combined entries of @root (or of all roots);
 * linear entries survive (SDM vol. 3C §29.4.3.1). */
static void invept(struct machine_vcpu *mv, uint64_t root)
{
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, VMX_INVEPT_KEEP_COMBINED)) {
		rv_tlb_flush_if(mv->tlb, guest_physical_of, &root);
		return;
	}
	rv_tlb_flush_eptrta(mv->tlb, root);
}

static bool not_vpid0(void *ctx, const struct rv_tlb_info *e)
{
	(void)ctx;
	return e->kind != RV_TLB_GUEST_PHYSICAL && e->tag.vpid != 0;
}

static void vmx_flush_tlb_all(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_all], 1);
	if (!mv->tlb)
		return;
	if (mv->m->tdp) /* INVEPT global */
		invept(mv, RV_TLB_ANY_EPTRTA);
	else if (!rv_machine_tag_flushed(mv) || !mv->tag) { /* INVVPID all-context */
		rv_tlb_flush_if(mv->tlb, not_vpid0, NULL);
		if (mv->tag)
			rv_machine_note_tag_flushed(mv);
	}
}

static void vmx_flush_tlb_current(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_current], 1);
	if (!mv->tlb)
		return;
	if (mv->m->tdp) /* INVEPT single-context of the current EPTP */
		invept(mv, rv_machine_tag_root(mv));
	else if (mv->tag)
		invvpid_current(mv);
}

static void vmx_flush_tlb_gva(struct rv_vcpu *v, uint64_t gva)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_gva], 1);
	if (mv->tlb && mv->tag && !rv_machine_tag_flushed(mv)) /* INVVPID individual-address */
		rv_tlb_flush_addr(mv->tlb, mv->tag, RV_TLB_ANY_PCID, gva, false);
}

static void vmx_flush_tlb_guest(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = mv_of(v);

	rv_count(&v->stat[RV_STAT_flush_guest], 1);
	rv_machine_sync_for_guest_flush(mv);
	if (mv->tlb && mv->tag)
		invvpid_current(mv);
}

const struct rv_vendor_ops rv_machine_vmx_ops = {
	.name = "vmx",
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.prepare_entry = vmx_prepare_entry,
	.mmu_sync = rv_machine_mmu_sync,
	.load_mmu_pgd = rv_machine_load_mmu_pgd,
	.flush_tlb_all = vmx_flush_tlb_all,
	.flush_tlb_current = vmx_flush_tlb_current,
	.flush_tlb_gva = vmx_flush_tlb_gva,
	.flush_tlb_guest = vmx_flush_tlb_guest,
};
