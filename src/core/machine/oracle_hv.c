// SPDX-License-Identifier: MIT
/*
 * The oracle's rule for Hyper-V flush hypercalls (docs/oracle.md): when the
 * caller's wait has ended, no target may use a translation the call covers
 * that was inserted before the call began. Each target keeps a small log of
 * such remote invalidations; callers write it, the target reads it when it
 * finds a stale entry.
 *
 * Why "inserted before the call began" is exact: the caller takes its time
 * before it queues anything, so every drain of the queued entries comes
 * later in the clock's order; an entry inserted before that time and still
 * present once the caller's wait ended survived a drain it must not have.
 */
#include "machine_impl.h"
#include "reqvisor/vm.h"

static uint32_t how_of(const struct rv_vcpu *caller, const struct rv_hv_flush *f)
{
	uint32_t how = (uint32_t)caller->hv_mode << RV_REMOTE_MODE_SHIFT;

	if (f->space)
		how |= RV_REMOTE_SPACE;
	if (f->flags & RV_HV_FLUSH_ALL_ADDRESS_SPACES)
		how |= RV_REMOTE_ALL_SPACES;
	if (f->flags & RV_HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY)
		how |= RV_REMOTE_NONGLOBAL;
	return how;
}

static void log_one(struct machine_vcpu *t, uint64_t time, uint64_t addr, uint64_t space,
		    uint32_t how, uint32_t caller)
{
	uint32_t k = atomic_fetch_add_explicit(&t->remote_next, 1, memory_order_relaxed);
	struct rv_remote_inval *r = &t->remote[k % RV_INVAL_LOG];

	while (atomic_flag_test_and_set_explicit(&r->lock, memory_order_acquire))
		__builtin_ia32_pause();
	uint32_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);

	/* No fences (TSan has none): a reader that acquires any new field
	 * also sees the odd sequence stored before it, and drops the copy. */
	atomic_store_explicit(&r->seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&r->time, time, memory_order_release);
	atomic_store_explicit(&r->addr, addr, memory_order_release);
	atomic_store_explicit(&r->space, space, memory_order_release);
	atomic_store_explicit(&r->how, how, memory_order_release);
	atomic_store_explicit(&r->caller, caller, memory_order_release);
	atomic_store_explicit(&r->seq, seq + 2, memory_order_release);
	atomic_flag_clear_explicit(&r->lock, memory_order_release);
}

void rv_oracle_log_hv(struct machine_vcpu *caller, const struct rv_hv_flush *f, uint64_t began)
{
	struct rv_vm *vm = caller->vcpu->vm;
	uint32_t n = rv_vm_nr_vcpus(vm), how = how_of(caller->vcpu, f), i;

	rv_mask_for_each (i, &f->targets, n) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		struct machine_vcpu *t = v ? v->backend_data : NULL;

		if (!t)
			continue;
		if (f->space)
			log_one(t, began, 0, f->address_space, how, caller->vcpu->index);
		for (unsigned k = 0; !f->space && k < f->nr_listed; k++)
			log_one(t, began, f->entries[k], f->address_space, how,
				caller->vcpu->index);
	}
}

struct remote_copy {
	uint64_t time, addr, space;
	uint32_t how, caller;
};

/* A consistent copy of slot @r, or false while it is being written. */
static bool read_slot(const struct rv_remote_inval *r, struct remote_copy *out)
{
	uint32_t seq = atomic_load_explicit(&r->seq, memory_order_acquire);

	if (!seq || (seq & 1))
		return false;
	out->time = atomic_load_explicit(&r->time, memory_order_acquire);
	out->addr = atomic_load_explicit(&r->addr, memory_order_acquire);
	out->space = atomic_load_explicit(&r->space, memory_order_acquire);
	out->how = atomic_load_explicit(&r->how, memory_order_acquire);
	out->caller = atomic_load_explicit(&r->caller, memory_order_acquire);
	return atomic_load_explicit(&r->seq, memory_order_relaxed) == seq;
}

/*
 * Does the call cover the entry? Only what the TLFS promises: a listed page
 * (the low 12 bits count more pages) or, for a Space call, every page; in
 * every address space with the flag, else in the one named, which the
 * vCPU's entries can be matched to only while it runs that CR3; global
 * entries whatever the address space, unless the call was for non-global
 * mappings only.
 */
static bool remote_covers(const struct machine_vcpu *mv, const struct remote_copy *r,
			  const struct rv_tlb_info *e)
{
	const struct rv_cpu *c = &mv->cpu;
	uint64_t size = rv_tlb_size_bytes(e->fill.size);

	if (r->how >> RV_REMOTE_MODE_SHIFT != mv->vcpu->hv_mode)
		return false;
	if (!(r->how & RV_REMOTE_SPACE)) {
		uint64_t base = r->addr & ~4095ull, span = ((r->addr & 4095) + 1) * 4096;

		if (e->in + size <= base || e->in - base >= span)
			return false;
	}
	if (e->fill.global)
		return !(r->how & RV_REMOTE_NONGLOBAL);
	if (r->how & RV_REMOTE_ALL_SPACES)
		return true;
	/* The named CR3 is the running one: the same tables and, with
	 * CR4.PCIDE (bit 17) set, the same PCID in bits 11:0. */
	uint64_t keep = (c->cr4 & (1ull << 17)) ? 0x7fffffffffffffffull : ~4095ull & ~(1ull << 63);

	return (c->cr3 & keep) == (r->space & keep) && e->tag.pcid == rv_machine_pcid(c);
}

bool rv_oracle_remote_covering(const struct machine_vcpu *mv, const struct rv_tlb_info *e,
			       struct rv_inval *out, uint32_t *caller)
{
	uint32_t n = atomic_load_explicit(&mv->remote_next, memory_order_acquire);
	bool found = false;

	if (n > RV_INVAL_LOG)
		n = RV_INVAL_LOG;
	for (uint32_t k = 0; k < n; k++) {
		struct remote_copy r;

		if (!read_slot(&mv->remote[k], &r) || r.time <= e->fill.time)
			continue;
		if (!remote_covers(mv, &r, e) || (found && r.time <= out->time))
			continue;
		found = true;
		out->time = r.time;
		out->addr = r.addr; /* the low 12 bits: pages after the first */
		out->kind = (r.how & RV_REMOTE_SPACE) ? RV_INVAL_HV_SPACE : RV_INVAL_HV_LIST;
		*caller = r.caller;
	}
	return found;
}
