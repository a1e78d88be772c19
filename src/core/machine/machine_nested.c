// SPDX-License-Identifier: MIT
/*
 * What nested VMX and nested SVM share (docs/nested.md): the CPU's hook for
 * virtualization instructions, the exit handler's half of a transition, the
 * service of pending local flushes before a switch, and the switch of the
 * oracle's context and of the Hyper-V FIFO.
 */
#include <string.h>

#include "machine_impl.h"
#include "nested/evmcs.h"
#include "reqvisor/mask.h"
#include "reqvisor/request.h"
#include "service.h"
#include "vm_impl.h"

enum rv_virt_result rv_machine_virt(void *ctx, struct rv_cpu *cpu, struct rv_virt_op *op)
{
	struct machine_vcpu *mv = ctx;

	(void)cpu;
	if (!mv->m->cfg.nested)
		return RV_VIRT_UD;
	return mv->m->svm ? rv_machine_nsvm_insn(mv, op) : rv_machine_nvmx_insn(mv, op);
}

bool rv_machine_nested_wants_exit(const struct machine_vcpu *mv, enum rv_cpu_exit e)
{
	if (e == RV_CPU_EXIT_VIRT)
		return true;
	if (!mv->nested.guest_mode)
		return false;
	return e == RV_CPU_EXIT_EXCEPTION || e == RV_CPU_EXIT_TRIPLE_FAULT ||
	       (e == RV_CPU_EXIT_RETRY && mv->nested.exit_pending);
}

void rv_machine_nested_exit(struct machine_vcpu *mv, enum rv_cpu_exit e)
{
	if (mv->m->svm)
		rv_machine_nsvm_exit(mv, e);
	else
		rv_machine_nvmx_exit(mv, e);
}

uint8_t *rv_machine_l1_page(struct machine_vcpu *mv, uint64_t gpa)
{
	if ((gpa & 4095) || gpa >= rv_guest_mem_size(mv->m->mem))
		return NULL;
	rv_machine_note_table_page(mv->m, gpa);
	return rv_gpa_hva(mv->m->mem, gpa);
}

uint64_t rv_machine_l1_get(struct machine_vcpu *mv, uint64_t page, unsigned off, unsigned size)
{
	uint8_t *p = rv_machine_l1_page(mv, page);
	uint64_t v = 0;

	if (p)
		memcpy(&v, p + off, size); /* little-endian, as L1 wrote it */
	return v;
}

void rv_machine_l1_put(struct machine_vcpu *mv, uint64_t page, unsigned off, unsigned size,
		       uint64_t v)
{
	uint8_t *p = rv_machine_l1_page(mv, page);

	if (p)
		memcpy(p + off, &v, size);
}

/* ---- Event injection at VM entry ---- */

#define EVENT_ERROR	(1u << 11)
#define EVENT_TYPE(i)	(((i) >> 8) & 7)
#define EVENT_EXTERNAL	0
#define EVENT_NMI	2
#define EVENT_EXCEPTION 3
#define EVENT_RESERVED	0x7ffff000u /* bits 30:12 */

static bool vector_has_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

bool rv_machine_nested_event_valid(uint32_t info)
{
	unsigned vector = info & 0xff, type = EVENT_TYPE(info);
	bool error = info & EVENT_ERROR;

	if (info & EVENT_RESERVED)
		return false;
	switch (type) {
	case EVENT_EXTERNAL:
		return !error;
	case EVENT_NMI:
		return vector == 2 && !error;
	case EVENT_EXCEPTION:
		return vector < 32 && vector != 2 && error == vector_has_error_code(vector);
	default: /* software interrupts and exceptions: not offered */
		return false;
	}
}

void rv_machine_nested_set_inject(struct machine_vcpu *mv, uint32_t info, uint32_t error)
{
	mv->nested.inject_pending = true;
	mv->nested.inject_info = info;
	mv->nested.inject = (struct rv_cpu_exception){
		.vector = (int)(info & 0xff),
		.error_code = error,
		.has_error_code = info & EVENT_ERROR,
	};
}

/* The delivery stopped for a VM exit: L1 learns which event it was, and
 * injects it again if it wants it delivered. */
static void interrupted(struct machine_vcpu *mv)
{
	mv->nested.inject_pending = false;
	mv->nested.vectoring_info = mv->nested.inject_info;
	mv->nested.vectoring_error = mv->nested.inject.error_code;
}

bool rv_machine_nested_inject(struct machine_vcpu *mv, enum rv_cpu_exit *e)
{
	struct rv_cpu *c = &mv->cpu;
	bool ok;

	if (!mv->nested.inject_pending || !mv->nested.guest_mode)
		return false;
	ok = rv_cpu_deliver_once(c, &mv->nested.inject);
	if (!ok && (c->exc_intercepts >> c->exc.vector & 1)) {
		interrupted(mv); /* a fault L1 intercepts: its exit */
		*e = RV_CPU_EXIT_EXCEPTION;
		return true;
	}
	if (!ok && !rv_cpu_deliver_event(c, &mv->nested.inject)) {
		mv->nested.inject_pending = false;
		*e = RV_CPU_EXIT_TRIPLE_FAULT;
		return true;
	}
	if (c->mmu_retry) { /* L2's IDT or stack: a nested exit, or a page moving */
		c->mmu_retry = false;
		if (mv->nested.exit_pending)
			interrupted(mv);
		*e = RV_CPU_EXIT_RETRY;
		return true;
	}
	mv->nested.inject_pending = false;
	return false;
}

uint64_t rv_machine_nested_take_vectoring(struct machine_vcpu *mv, uint32_t *error)
{
	uint32_t info = mv->nested.vectoring_info;

	*error = mv->nested.vectoring_error;
	mv->nested.vectoring_info = 0;
	mv->nested.vectoring_error = 0;
	mv->nested.inject_pending = false;
	return info;
}

/* KVM services the pending TLB_FLUSH_CURRENT and TLB_FLUSH_GUEST before it
 * switches: they are the context being left's. */
void rv_machine_nested_service_local(struct machine_vcpu *mv)
{
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, NVMX_SKIP_LOCAL_FLUSH))
		return;
	rv_service_requests_mask(mv->vcpu, (1ull << RV_REQ_BIT_TLB_FLUSH_CURRENT) |
						   (1ull << RV_REQ_BIT_TLB_FLUSH_GUEST));
}

/* Every transition makes HV_TLB_FLUSH look at the new mode's FIFO. */
void rv_machine_nested_switched(struct machine_vcpu *mv, uint64_t ctx)
{
	rv_oracle_switch_ctx(mv, ctx);
	mv->vcpu->hv_mode = mv->nested.guest_mode ? RV_HV_L2 : RV_HV_L1;
	if (mv->m->cfg.hyperv)
		rv_make_request(mv->vcpu, RV_REQ_HV_TLB_FLUSH);
}

/* ---- Hyper-V direct flush for L2 ---- */

/* KVM's rule: the eVMCS's (vmcb12's) nested_flush_hypercall and the VP
 * assist page's directhypercall, both. */
void rv_machine_nested_set_hv_l2(struct machine_vcpu *mv, bool enabled, uint64_t vm_id,
				 uint32_t vp_id)
{
	uint64_t key = 0;

	if (enabled && mv->m->cfg.hyperv &&
	    (rv_machine_hv_assist_read(mv, RV_VP_ASSIST_NESTED_FEATURES, 4) &
	     RV_VP_ASSIST_DIRECT_HYPERCALL))
		key = RV_HV_L2_KEY(vm_id, vp_id);
	atomic_store_explicit(&mv->nested.hv_l2_key, key, memory_order_release);
}

bool rv_machine_nested_hv_direct(const struct machine_vcpu *mv, uint32_t *vp)
{
	uint64_t key = atomic_load_explicit(&mv->nested.hv_l2_key, memory_order_relaxed);

	if (!mv->nested.guest_mode || !key)
		return false;
	*vp = (uint32_t)key;
	return true;
}

/* The L2 VP indexes of a flush call, made vCPUs: those whose L2 runs (or
 * last ran) in the caller's L2 VM with one of those VP indexes. */
void rv_machine_nested_hv_targets(const struct machine_vcpu *mv, struct rv_vcpu_mask *targets)
{
	struct rv_vm *vm = mv->vcpu->vm;
	uint32_t n = rv_vm_nr_vcpus(vm);
	uint64_t mine = atomic_load_explicit(&mv->nested.hv_l2_key, memory_order_relaxed);
	struct rv_vcpu_mask vps = *targets;

	rv_mask_zero(targets);
	for (uint32_t i = 0; i < n; i++) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		const struct machine_vcpu *t = v ? v->backend_data : NULL;
		uint64_t key =
			t ? atomic_load_explicit(&t->nested.hv_l2_key, memory_order_acquire) : 0;

		if (key && key >> 32 == mine >> 32 && (uint32_t)key < n &&
		    rv_mask_test(&vps, (uint32_t)key))
			rv_mask_set(targets, i);
	}
}

/* With direct flush on, L2's flush hypercalls are L0's, not exits to L1
 * (the TLFS's nested enlightenment; KVM's l2_tlb_flush). */
bool rv_machine_nested_l2_hypercall(struct machine_vcpu *mv)
{
	uint16_t code = (uint16_t)mv->cpu.gpr[RV_RCX];
	uint32_t vp;

	if (!mv->m->cfg.hyperv || !rv_machine_nested_hv_direct(mv, &vp) ||
	    (code != 0x2 && code != 0x3 && code != 0x13 && code != 0x14))
		return false;
	mv->cpu.rip += mv->cpu.virt.len; /* retired; a retry steps back */
	mv->cpu.instructions++;
	rv_machine_hypercall(mv);
	return true;
}

void rv_machine_nested_vcpu_free(struct machine_vcpu *mv)
{
	if (!mv->m->svm)
		rv_machine_nvmx_free(mv);
}
