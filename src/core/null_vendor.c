// SPDX-License-Identifier: MIT
/*
 * The null vendor: there is no TLB yet, so each flush op only counts. It is
 * what makes the service order and the coalescing rules testable before the
 * VMX and SVM backends exist.
 */
#include "reqvisor/vendor.h"
#include "reqvisor/vcpu.h"

static void null_flush_tlb_all(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_flush_all], 1);
}

static void null_flush_tlb_current(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_flush_current], 1);
}

static void null_flush_tlb_gva(struct rv_vcpu *vcpu, uint64_t gva)
{
	(void)gva;
	rv_count(&vcpu->stat[RV_STAT_flush_gva], 1);
}

static void null_flush_tlb_guest(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_flush_guest], 1);
}

const struct rv_vendor_ops rv_null_vendor = {
	.name = "null",
	.flush_tlb_all = null_flush_tlb_all,
	.flush_tlb_current = null_flush_tlb_current,
	.flush_tlb_gva = null_flush_tlb_gva,
	.flush_tlb_guest = null_flush_tlb_guest,
};
