/* SPDX-License-Identifier: MIT */
/*
 * ASID allocation, per pCPU and by generation, as KVM does on SVM. Each pCPU
 * hands out ASIDs min..max in order within a generation. Running out starts a
 * new generation: the counter goes back to min and the next VMRUN flushes
 * every ASID (TLB_CONTROL = 1), because the reissued ASIDs may still tag other
 * vCPUs' entries. A vCPU keeps its ASID while it stays on one pCPU and that
 * pCPU's generation does not move; loaded on any other pCPU its generation is
 * reset, so it takes a fresh ASID there (the pCPU may hold its entries from an
 * earlier visit, older than flushes it has since done elsewhere).
 */
#ifndef RV_SVM_ASID_H
#define RV_SVM_ASID_H

#include <stdint.h>

#include "tlb_control.h"

struct rv_asid_pcpu {
	uint64_t generation;
	uint32_t next_asid;
	uint32_t min_asid;
	uint32_t max_asid;
};

struct rv_asid_vcpu {
	uint64_t generation; /* 0: no ASID */
	uint32_t asid;
	int32_t last_pcpu; /* -1: never run */
};

/* @nr_asids as CPUID 8000_000Ah EBX reports it, ASID 0 being the host's: the
 * guests use 1 .. nr_asids - 1. Needs nr_asids >= 2. */
void rv_asid_pcpu_init(struct rv_asid_pcpu *p, uint32_t nr_asids);
void rv_asid_vcpu_init(struct rv_asid_vcpu *v);

/*
 * Before a VMRUN of @v on pCPU @pcpu (whose state is @p; the caller owns it,
 * since only that pCPU runs guests): gives @v a valid ASID for this pCPU and
 * returns the flush this allocation needs, RV_TLB_CONTROL_ALL_ASIDS when it
 * started a generation, else RV_TLB_CONTROL_NOTHING.
 */
enum rv_svm_tlb_control rv_asid_prepare_run(struct rv_asid_pcpu *p, int32_t pcpu,
					    struct rv_asid_vcpu *v);

/* A fresh ASID at @v's next run here (the "flush by new ASID" model of a
 * CPU without flush-by-ASID). */
static inline void rv_asid_invalidate(struct rv_asid_vcpu *v)
{
	v->generation = 0;
}

#endif
