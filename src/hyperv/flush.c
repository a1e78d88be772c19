// SPDX-License-Identifier: MIT
/*
 * The caller side of an enlightened flush: each target's FIFO first, then
 * the request, so that whoever services the request finds the entries (or
 * a later request does). The caller itself is served by a request to self,
 * before its next entry.
 */
#include "flush.h"

#include <stdlib.h>

#include "reqvisor/request.h"
#include "reqvisor/vm.h"
#include "alloc.h"
#include "vm_impl.h"

/* Push @f's entries into the FIFO of @mode on every target. */
static unsigned push_entries(struct rv_vm *vm, const struct rv_hv_flush *f, enum rv_hv_mode mode,
			     struct rv_vcpu_mask *others)
{
	uint32_t n = rv_vm_nr_vcpus(vm);
	unsigned overflows = 0, i;

	rv_mask_for_each (i, &f->targets, n) {
		struct rv_vcpu *t = rv_vm_vcpu(vm, i);
		bool forced = RV_FAULT_HIT(&vm->faults, FIFO_OVERFLOW);

		if (!t) {
			rv_mask_clear(others, i);
			continue;
		}
		if (!rv_hv_fifo_push(&t->hv_fifo[mode], f->entries, forced ? 0 : f->nr_entries))
			overflows += f->nr_entries != 0;
	}
	return overflows;
}

/* hv.post_before_push: the entries held back until the caller's next step. */
struct late_push {
	struct rv_hv_flush f;
	enum rv_hv_mode mode;
};

static void push_late(struct rv_vcpu *self, void *arg)
{
	struct late_push *lp = arg;
	struct rv_vcpu_mask others = lp->f.targets;

	push_entries(self->vm, &lp->f, lp->mode, &others);
	free(lp);
}

/* The breaking order: the requests first, the entries after them. */
static void post_before_push(struct rv_vcpu *self, const struct rv_hv_flush *f,
			     struct rv_vcpu_mask *others)
{
	struct late_push *lp = rv_malloc(sizeof(*lp));

	if (!lp) {
		push_entries(self->vm, f, self->hv_mode, others);
		return;
	}
	lp->f = *f;
	lp->mode = self->hv_mode;
	rv_vcpu_defer(self, push_late, lp);
}

unsigned rv_hv_flush_post(struct rv_vcpu *self, const struct rv_hv_flush *f)
{
	struct rv_vm *vm = self->vm;
	uint32_t n = rv_vm_nr_vcpus(vm);
	struct rv_vcpu_mask others = f->targets;
	bool late = RV_FAULT_HIT(&vm->faults, HV_POST_BEFORE_PUSH);
	unsigned overflows = late ? 0 : push_entries(vm, f, self->hv_mode, &others);

	if (self->index < n && rv_mask_test(&others, self->index)) {
		rv_mask_clear(&others, self->index);
		rv_make_request(self, RV_REQ_HV_TLB_FLUSH);
	}
	rv_vcpu_make_vcpus_request_mask(self,
					RV_FAULT_HIT(&vm->faults, HV_FLUSH_NO_WAIT)
						? RV_REQ_HV_TLB_FLUSH & ~RV_REQ_WAIT
						: RV_REQ_HV_TLB_FLUSH,
					&others);
	if (late)
		post_before_push(self, f, &others);
	return overflows;
}
