// SPDX-License-Identifier: MIT
/* Vendor-table registration: mandatory ops checked, optional ones filled. */
#include <string.h>

#include "reqvisor/vendor.h"

static int vendor_default_vcpu_create(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	return 0;
}

static void vendor_default_vcpu_free(struct rv_vcpu *vcpu)
{
	(void)vcpu;
}

static void vendor_default_vcpu_load(struct rv_vcpu *vcpu, struct rv_pcpu *pcpu,
				     struct rv_pcpu *last)
{
	(void)vcpu, (void)pcpu, (void)last;
}

static void vendor_default_vcpu_put(struct rv_vcpu *vcpu)
{
	(void)vcpu;
}

static void vendor_default_prepare_entry(struct rv_vcpu *vcpu)
{
	(void)vcpu;
}

static void vendor_default_mmu_sync(struct rv_vcpu *vcpu)
{
	(void)vcpu;
}

static void vendor_default_load_mmu_pgd(struct rv_vcpu *vcpu)
{
	(void)vcpu;
}

/* Mandatory ops have no default; the table entry is NULL. */
#define vendor_default_flush_tlb_all	 NULL
#define vendor_default_flush_tlb_current NULL
#define vendor_default_flush_tlb_gva	 NULL
#define vendor_default_flush_tlb_guest	 NULL

int rv_vendor_register(struct rv_vendor_ops *ops, const char **missing)
{
#define RV_VENDOR_OP(op, kind)                   \
	if (!ops->op) {                          \
		if ((kind) == RV_OP_MANDATORY) { \
			*missing = #op;          \
			return -1;               \
		}                                \
		ops->op = vendor_default_##op;   \
	}
#include "reqvisor/vendor_ops.def"
#undef RV_VENDOR_OP
	return 0;
}
