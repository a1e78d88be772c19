// SPDX-License-Identifier: MIT
/*
 * The request handlers, one per bit, run lowest bit first. The list order in
 * requests.def is therefore the service order, and docs/requests.md states it.
 *
 * Return convention: true to go on towards entry, false when the vCPU must
 * stop (the VM is dead).
 */
#include "service.h"

#include <stdlib.h>

#include "vm_impl.h"

typedef bool (*rv_request_handler)(struct rv_vcpu *vcpu);

/*
 * Drop a pending request that the flush about to run covers. The clear comes
 * before the covering flush, so every post it drops happened before a flush
 * that includes it; a post after the clear stays pending.
 */
static void cover(struct rv_vcpu *vcpu, unsigned nr)
{
	if (rv_check_request(vcpu, nr))
		rv_count(&vcpu->covered[nr], 1);
}

static bool handle_vm_dead(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

static bool handle_mmu_free_obsolete_roots(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_mmu_free_roots], 1);
	return true;
}

static bool handle_mmu_sync(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_mmu_syncs], 1);
	vcpu->vm->vendor.mmu_sync(vcpu);
	return true;
}

static bool handle_load_mmu_pgd(struct rv_vcpu *vcpu)
{
	rv_count(&vcpu->stat[RV_STAT_pgd_loads], 1);
	vcpu->vm->vendor.load_mmu_pgd(vcpu);
	return true;
}

/*
 * The request is cleared before the FIFO is emptied, and both before the
 * covering flush: an entry dropped here was pushed before that flush runs,
 * and a push whose request comes after the clear leaves the request pending.
 */
void rv_hv_purge(struct rv_vcpu *vcpu)
{
	bool pending = rv_test_request(vcpu, RV_REQ_BIT_HV_TLB_FLUSH);

	if (pending)
		cover(vcpu, RV_REQ_BIT_HV_TLB_FLUSH);
	if (rv_hv_fifo_reset(&vcpu->hv_fifo[vcpu->hv_mode]) || pending)
		rv_count(&vcpu->stat[RV_STAT_hv_purges], 1);
}

static bool handle_tlb_flush(struct rv_vcpu *vcpu)
{
	cover(vcpu, RV_REQ_BIT_TLB_FLUSH_CURRENT);
	if (RV_FAULT_HIT(&vcpu->vm->faults, FLUSH_ALL_COVERS_GUEST) &&
	    rv_test_request(vcpu, RV_REQ_BIT_TLB_FLUSH_GUEST))
		cover(vcpu, RV_REQ_BIT_TLB_FLUSH_GUEST);
	vcpu->vm->vendor.flush_tlb_all(vcpu);
	return true;
}

static bool handle_tlb_flush_current(struct rv_vcpu *vcpu)
{
	vcpu->vm->vendor.flush_tlb_current(vcpu);
	return true;
}

static void purge_late(struct rv_vcpu *vcpu, void *arg)
{
	(void)arg;
	rv_hv_purge(vcpu);
}

static bool handle_tlb_flush_guest(struct rv_vcpu *vcpu)
{
	if (RV_FAULT_HIT(&vcpu->vm->faults, HV_PURGE_AFTER_FLUSH)) {
		vcpu->vm->vendor.flush_tlb_guest(vcpu);
		rv_vcpu_defer(vcpu, purge_late, NULL);
		return true;
	}
	rv_hv_purge(vcpu);
	vcpu->vm->vendor.flush_tlb_guest(vcpu);
	return true;
}

static bool canonical(uint64_t gva)
{
	return (uint64_t)((int64_t)(gva << 16) >> 16) == gva;
}

static void flush_pages(struct rv_vcpu *vcpu, uint64_t page, uint64_t end)
{
	for (; page != end; page += 4096) {
		if (canonical(page))
			vcpu->vm->vendor.flush_tlb_gva(vcpu, page);
	}
}

/* KVM's drain: each entry as it came, a page named twice flushed twice.
 * Each entry is a page and, in its low 12 bits, how many pages follow. */
static void flush_entries(struct rv_vcpu *vcpu, const uint64_t *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		flush_pages(vcpu, e[i] & ~4095ull, (e[i] & ~4095ull) + ((e[i] & 4095) + 1) * 4096);
}

static int by_page(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a & ~4095ull, y = *(const uint64_t *)b & ~4095ull;

	return (x > y) - (x < y);
}

/*
 * C8: the entries as ranges sorted by their first page, each page flushed
 * once however many entries name it. A range's end wraps at 2^64 like the
 * pages it counts, so a range that wraps is flushed on its own.
 */
static void flush_entries_merged(struct rv_vcpu *vcpu, uint64_t *e, unsigned n)
{
	uint64_t start = 0, end = 0;
	bool open = false;

	qsort(e, n, sizeof(*e), by_page);
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = e[i] & ~4095ull, t = s + ((e[i] & 4095) + 1) * 4096;

		if (t < s && t) { /* wraps: alone, as KVM would */
			flush_pages(vcpu, s, t);
			continue;
		}
		if (open && (!end || s <= end)) { /* end 0: the top of the space */
			if (!RV_FAULT_HIT(&vcpu->vm->faults, HV_MERGE_KEEPS_FIRST_END))
				end = !end || !t ? 0 : t > end ? t : end;
			continue;
		}
		if (open)
			flush_pages(vcpu, start, end);
		start = s, end = t, open = true;
	}
	if (open)
		flush_pages(vcpu, start, end);
}

/* Drain this mode's FIFO: per-address flushes, or one full guest flush for
 * a flush-all entry and with shadow paging (docs/hyperv.md). */
static bool handle_hv_tlb_flush(struct rv_vcpu *vcpu)
{
	uint64_t e[RV_HV_FIFO_SIZE];
	unsigned n = rv_hv_fifo_take(&vcpu->hv_fifo[vcpu->hv_mode], e);
	bool all = vcpu->vm->cfg.shadow_paging;

	rv_count(&vcpu->stat[RV_STAT_hv_flushes], 1);
	if (RV_FAULT_HIT(&vcpu->vm->faults, HV_SKIP_FIFO_DRAIN))
		return true;
	for (unsigned i = 0; i < n && !all; i++)
		all = e[i] == RV_HV_FLUSH_ALL_ENTRY;
	if (all)
		vcpu->vm->vendor.flush_tlb_guest(vcpu);
	else if (vcpu->vm->cfg.coalesce == RV_COALESCE_KVM)
		flush_entries(vcpu, e, n);
	else
		flush_entries_merged(vcpu, e, n);
	return true;
}

static bool handle_event(struct rv_vcpu *vcpu)
{
	const struct rv_backend_ops *b = vcpu->vm->cfg.backend;

	rv_count(&vcpu->stat[RV_STAT_events], 1);
	if (b->on_event)
		b->on_event(vcpu);
	return true;
}

static bool handle_unblock(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	return true;
}

static const rv_request_handler handlers[RV_NR_REQUESTS] = {
	[RV_REQ_BIT_VM_DEAD] = handle_vm_dead,
	[RV_REQ_BIT_MMU_FREE_OBSOLETE_ROOTS] = handle_mmu_free_obsolete_roots,
	[RV_REQ_BIT_MMU_SYNC] = handle_mmu_sync,
	[RV_REQ_BIT_LOAD_MMU_PGD] = handle_load_mmu_pgd,
	[RV_REQ_BIT_TLB_FLUSH] = handle_tlb_flush,
	[RV_REQ_BIT_TLB_FLUSH_CURRENT] = handle_tlb_flush_current,
	[RV_REQ_BIT_TLB_FLUSH_GUEST] = handle_tlb_flush_guest,
	[RV_REQ_BIT_HV_TLB_FLUSH] = handle_hv_tlb_flush,
	[RV_REQ_BIT_EVENT] = handle_event,
	[RV_REQ_BIT_UNBLOCK] = handle_unblock,
};

bool rv_service_requests_mask(struct rv_vcpu *vcpu, uint64_t mask)
{
	uint64_t todo = rv_request_pending_mask(vcpu, mask);

	while (todo) {
		unsigned nr = __builtin_ctzll(todo);

		todo &= todo - 1;
		/* A handler that ran earlier in this pass may have covered it. */
		if (!rv_check_request(vcpu, nr))
			continue;
		rv_count(&vcpu->serviced[nr], 1);
		{ /* relaxed atomics: a watchdog may read the trail meanwhile */
			uint32_t k = __atomic_load_n(&vcpu->trail_next, __ATOMIC_RELAXED);

			__atomic_store_n(&vcpu->trail[k % 8], (uint8_t)nr, __ATOMIC_RELAXED);
			__atomic_store_n(&vcpu->trail_next, k + 1, __ATOMIC_RELAXED);
		}
		rv_trace(vcpu->vm, RV_TRACE_SERVICE, vcpu->index, nr);
		if (!handlers[nr](vcpu))
			return false;
	}
	return true;
}
