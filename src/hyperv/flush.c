// SPDX-License-Identifier: MIT
/*
 * The caller side of an enlightened flush: each target's FIFO first, then
 * the request, so that whoever services the request finds the entries (or
 * a later request does). The caller itself is served by a request to self,
 * before its next entry.
 */
#include "flush.h"

#include "reqvisor/request.h"
#include "reqvisor/vm.h"
#include "vm_impl.h"

unsigned rv_hv_flush_post(struct rv_vcpu *self, const struct rv_hv_flush *f)
{
	struct rv_vm *vm = self->vm;
	uint32_t n = rv_vm_nr_vcpus(vm);
	struct rv_vcpu_mask others = f->targets;
	unsigned overflows = 0, i;

	rv_mask_for_each (i, &f->targets, n) {
		struct rv_vcpu *t = rv_vm_vcpu(vm, i);
		bool forced = RV_FAULT_HIT(&vm->faults, FIFO_OVERFLOW);

		if (!t) {
			rv_mask_clear(&others, i);
			continue;
		}
		if (!rv_hv_fifo_push(&t->hv_fifo[self->hv_mode], f->entries,
				     forced ? 0 : f->nr_entries))
			overflows += f->nr_entries != 0;
	}
	if (self->index < n && rv_mask_test(&others, self->index)) {
		rv_mask_clear(&others, self->index);
		rv_make_request(self, RV_REQ_HV_TLB_FLUSH);
	}
	rv_vcpu_make_vcpus_request_mask(self,
					RV_FAULT_HIT(&vm->faults, HV_FLUSH_NO_WAIT)
						? RV_REQ_HV_TLB_FLUSH & ~RV_REQ_WAIT
						: RV_REQ_HV_TLB_FLUSH,
					&others);
	return overflows;
}
