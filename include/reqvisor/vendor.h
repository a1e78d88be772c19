/* SPDX-License-Identifier: MIT */
/* Vendor ops: how a vendor turns requests into TLB operations. */
#ifndef REQVISOR_VENDOR_H
#define REQVISOR_VENDOR_H

#include <stddef.h>
#include <stdint.h>

struct rv_vcpu;
struct rv_pcpu;

struct rv_vendor_ops {
	const char *name;
	int (*vcpu_create)(struct rv_vcpu *vcpu);
	void (*vcpu_free)(struct rv_vcpu *vcpu);
	/* The vCPU is loaded on @pcpu; @last is where it ran before (or NULL). */
	void (*vcpu_load)(struct rv_vcpu *vcpu, struct rv_pcpu *pcpu, struct rv_pcpu *last);
	void (*vcpu_put)(struct rv_vcpu *vcpu);
	/* Last step before entry, after requests were serviced (tag choice). */
	void (*prepare_entry)(struct rv_vcpu *vcpu);
	/* Shadow paging: resync unsync pages (MMU_SYNC); switch to the root of
	 * the guest's current CR3 (LOAD_MMU_PGD). No-ops with TDP. */
	void (*mmu_sync)(struct rv_vcpu *vcpu);
	void (*load_mmu_pgd)(struct rv_vcpu *vcpu);
	void (*flush_tlb_all)(struct rv_vcpu *vcpu);
	void (*flush_tlb_current)(struct rv_vcpu *vcpu);
	void (*flush_tlb_gva)(struct rv_vcpu *vcpu, uint64_t gva);
	void (*flush_tlb_guest)(struct rv_vcpu *vcpu);
};

enum rv_op_kind { RV_OP_MANDATORY, RV_OP_OPTIONAL };

/*
 * Check the mandatory ops of @ops and fill its missing optional ones.
 * Returns 0, or -1 and the name of the first missing mandatory op.
 */
int rv_vendor_register(struct rv_vendor_ops *ops, const char **missing);

/* The vendor of this issue: flush ops only count (statistics). */
extern const struct rv_vendor_ops rv_null_vendor;

#endif
