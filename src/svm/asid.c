// SPDX-License-Identifier: MIT
/* Per-pCPU ASID generations (see asid.h). */
#include "asid.h"

void rv_asid_pcpu_init(struct rv_asid_pcpu *p, uint32_t nr_asids)
{
	if (nr_asids < 2)
		nr_asids = 2;
	p->min_asid = 1;
	p->max_asid = nr_asids - 1;
	/* Start exhausted: the first run on a pCPU begins a generation and so
	 * flushes every ASID, whatever the TLB held before. */
	p->next_asid = p->max_asid + 1;
	p->generation = 1;
}

void rv_asid_vcpu_init(struct rv_asid_vcpu *v)
{
	v->generation = 0;
	v->asid = 0;
	v->last_pcpu = -1;
}

enum rv_svm_tlb_control rv_asid_prepare_run(struct rv_asid_pcpu *p, int32_t pcpu,
					    struct rv_asid_vcpu *v)
{
	enum rv_svm_tlb_control ctl = RV_TLB_CONTROL_NOTHING;

	if (v->last_pcpu != pcpu) {
		v->generation = 0;
		v->last_pcpu = pcpu;
	}
	if (v->generation == p->generation)
		return ctl;
	if (p->next_asid > p->max_asid) {
		p->generation++;
		p->next_asid = p->min_asid;
		ctl = RV_TLB_CONTROL_ALL_ASIDS;
	}
	v->asid = p->next_asid++;
	v->generation = p->generation;
	return ctl;
}
