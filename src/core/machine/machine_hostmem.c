// SPDX-License-Identifier: MIT
/*
 * Host-side changes of guest memory (DESIGN §5, §7): moving a guest page to
 * another host frame, e.g. onto the NUMA node of the vCPU that touches it,
 * and zapping the second-stage mappings of a guest-physical range (KVM's
 * kvm_zap_gfn_range: the pages stay where they are; the next access faults
 * them back in from the memslot).
 *
 * The order is KVM's for an MMU-notifier invalidation: unmap the page (the
 * memslot, the EPT/NPT leaf, every shadow SPTE of the frame), flush every
 * vCPU's TLB with WAIT, and only when that returned copy the page to its new
 * frame, map it, and free the old one, which is poisoned and kept out of use
 * so that the oracle can tell a later use of it (a host violation). A vCPU
 * touching the page meanwhile exits and retries, as on an EPT violation.
 *
 * The move runs from the exit handler of the vCPU that chose the page, so
 * its wait is done by the dispatch loop (both executors).
 */
#include <string.h>

#include "machine_impl.h"
#include "reqvisor/request.h"
#include "sched/pcpu.h"
#include "reqvisor/vm.h"
#include "vm_impl.h"

#define POISON	 0xdb
#define ZAP_SPAN (2ull << 20) /* a zap covers the 2 MiB around the page */

/* move_gpa: the page | MOVE_PENDING, plus MOVE_ZAP for a zap. */
#define MOVE_PENDING 1ull
#define MOVE_ZAP     2ull

bool rv_machine_frame_freed(const struct rv_machine *m, uint32_t frame)
{
	return atomic_load_explicit(&m->freed[frame / 64], memory_order_acquire) &
	       (1ull << (frame % 64));
}

static bool is_table_page(const struct rv_machine *m, uint64_t gfn)
{
	return atomic_load_explicit(&m->table_pages[gfn / 64], memory_order_relaxed) &
	       (1ull << (gfn % 64));
}

void rv_machine_note_table_page(struct rv_machine *m, uint64_t gpa)
{
	uint64_t gfn = gpa >> 12;

	if (gpa < rv_guest_mem_size(m->mem) && !is_table_page(m, gfn))
		atomic_fetch_or_explicit(&m->table_pages[gfn / 64], 1ull << (gfn % 64),
					 memory_order_relaxed);
}

/* A TLB miss reached guest page @gpa: maybe move it (--numa-migrate, or the
 * fault point hostmem.migrate). Page-table pages stay where they are. */
void rv_machine_note_miss(struct machine_vcpu *mv, uint64_t gpa)
{
	struct rv_machine *m = mv->m;
	uint32_t nodes = m->cfg.nr_nodes ? m->cfg.nr_nodes : 1;
	uint32_t frame, node, want;

	if (mv->move_gpa || gpa >= rv_guest_mem_size(m->mem) || is_table_page(m, gpa >> 12))
		return;
	frame = rv_gpa_frame(m->mem, gpa);
	if (frame == RV_NO_FRAME)
		return;
	node = rv_frame_node(m->mem, frame);
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, HOSTMEM_ZAP)) {
		mv->move_gpa = (gpa & ~(ZAP_SPAN - 1)) | MOVE_ZAP | MOVE_PENDING;
		return;
	}
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, HOSTMEM_MIGRATE))
		want = (node + 1) % nodes;
	else if (m->cfg.numa_migrate && !(++mv->misses % 64) &&
		 (want = (uint32_t)mv->vcpu->node % nodes) != node)
		;
	else
		return;
	/* A node with no free frame cannot take the page: do not unmap and
	 * flush every vCPU for a move that would find nowhere to go. */
	if (!rv_guest_mem_free_frames(m->mem, want))
		return;
	mv->move_gpa = (gpa & ~4095ull) | MOVE_PENDING;
	mv->move_node = want;
}

static void zap_shadow_frame(struct rv_vm *vm, uint32_t frame, uint64_t gfn)
{
	for (uint32_t i = 0; i < rv_vm_nr_vcpus(vm); i++) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		struct machine_vcpu *o = v ? v->backend_data : NULL;

		if (o)
			rv_shadow_zap_frame(&o->shadow, frame, gfn);
	}
}

static void zap_shadow_range(struct rv_vm *vm, uint64_t gfn, uint64_t count)
{
	struct rv_machine *m = rv_vm_backend_ctx(vm);

	for (uint32_t i = 0; i < rv_vm_nr_vcpus(vm); i++) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		struct machine_vcpu *o = v ? v->backend_data : NULL;

		if (o)
			rv_shadow_zap_gfns(&o->shadow, m->frame_gfn, gfn, count);
	}
}

/* After the remote flush returned: no vCPU can use the old frame now. */
static void finish_move(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;
	struct rv_machine *m = mv->m;
	uint64_t gpa = mv->move_gpa & ~4095ull;
	uint32_t old = mv->move_old, to;

	pthread_mutex_lock(&m->mmu_lock);
	to = rv_guest_mem_remap_page(m->mem, gpa, old, mv->move_node);
	atomic_store_explicit(&m->frame_gfn[to], (uint32_t)(gpa >> 12), memory_order_relaxed);
	if (m->tdp)
		rv_tdp_map(m->tdp_tables, gpa, to);
	if (to != old) {
		memset(rv_frame_hva(m->mem, old), POISON, 4096);
		atomic_fetch_or_explicit(&m->freed[old / 64], 1ull << (old % 64),
					 memory_order_release);
		atomic_fetch_add(&m->pages_moved, 1);
	}
	pthread_mutex_unlock(&m->mmu_lock);
	mv->move_gpa = 0;
}

/*
 * rv_flush_remote_tlbs from a vCPU's exit handler: TLB_FLUSH to itself and to
 * every other vCPU with WAIT; @done runs when no vCPU can use what the flush
 * covers any more (the dispatch loop waits for the kicked ones).
 */
static void flush_remote_tlbs(struct rv_vcpu *v, void (*done)(struct rv_vcpu *v))
{
	struct rv_pcpu *p = atomic_load_explicit(&v->pcpu, memory_order_relaxed);
	struct rv_vcpu_mask all;

	rv_make_request(v, RV_REQ_TLB_FLUSH);
	rv_mask_zero(&all);
	for (uint32_t i = 0; i < rv_vm_nr_vcpus(v->vm); i++)
		rv_mask_set(&all, i);
	if (RV_FAULT_HIT(&v->vm->faults, REMOTE_FLUSH_NO_WAIT)) {
		rv_vcpu_make_vcpus_request_mask(v, RV_REQ_BIT_TLB_FLUSH, &all);
		done(v);
		return;
	}
	v->after_wait = done;
	rv_vcpu_make_vcpus_request_mask(v, RV_REQ_TLB_FLUSH, &all);
	if (!p->ws.nr && v->after_wait) { /* nobody to wait for */
		v->after_wait = NULL;
		done(v);
	}
}

static void finish_zap(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	atomic_fetch_add(&mv->m->pages_zapped, ZAP_SPAN / 4096);
	mv->move_gpa = 0;
}

/* Drop the second-stage mappings of the 2 MiB range; nothing is freed. */
static void start_zap(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;
	uint64_t base = mv->move_gpa & ~(ZAP_SPAN - 1);
	uint64_t end = base + ZAP_SPAN;

	if (end > rv_guest_mem_size(m->mem))
		end = rv_guest_mem_size(m->mem);
	pthread_mutex_lock(&m->mmu_lock);
	atomic_fetch_add(&m->mmu_seq, 1);
	if (m->tdp) {
		for (uint64_t gpa = base; gpa < end; gpa += 4096)
			rv_tdp_unmap(m->tdp_tables, gpa);
	} else {
		/* One pass over each vCPU's shadow pages for the whole range:
		 * a pass per page made a zap of 1024 vCPUs take seconds. */
		zap_shadow_range(mv->vcpu->vm, base >> 12, (end - base) >> 12);
	}
	pthread_mutex_unlock(&m->mmu_lock);
	flush_remote_tlbs(mv->vcpu, finish_zap);
}

/* Unmap, then TLB_FLUSH to every vCPU with WAIT; finish_move() follows. */
void rv_machine_start_move(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;
	struct rv_vcpu *v = mv->vcpu;
	uint64_t gpa = mv->move_gpa & ~4095ull;
	uint32_t old;

	if (mv->move_gpa & MOVE_ZAP) {
		start_zap(mv);
		return;
	}
	pthread_mutex_lock(&m->mmu_lock);
	/* Faults that walked before this see the sequence move and do not
	 * install what they found (KVM's mmu_invalidate_seq). */
	atomic_fetch_add(&m->mmu_seq, 1);
	old = rv_guest_mem_unmap_page(m->mem, gpa);
	if (old != RV_NO_FRAME) {
		if (m->tdp)
			rv_tdp_unmap(m->tdp_tables, gpa);
		else
			zap_shadow_frame(v->vm, old, gpa >> 12);
	}
	pthread_mutex_unlock(&m->mmu_lock);
	if (old == RV_NO_FRAME) {
		mv->move_gpa = 0;
		return;
	}
	mv->move_old = old;
	flush_remote_tlbs(v, finish_move);
}

/*
 * An EPT violation or NPF on RAM whose second-stage leaf a zap removed: map
 * the page again from the memslot. False while the page is being moved (the
 * access then exits and retries).
 */
bool rv_machine_tdp_fault_in(struct rv_machine *m, uint64_t gpa)
{
	uint32_t frame;
	bool mapped = false;

	pthread_mutex_lock(&m->mmu_lock);
	frame = rv_gpa_frame(m->mem, gpa);
	if (frame != RV_NO_FRAME)
		mapped = rv_tdp_map(m->tdp_tables, gpa & ~4095ull, frame) == 0;
	pthread_mutex_unlock(&m->mmu_lock);
	return mapped;
}
