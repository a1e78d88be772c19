// SPDX-License-Identifier: MIT
/*
 * What nested VMX and nested SVM share (docs/nested.md): the CPU's hook for
 * virtualization instructions, the exit handler's half of a transition, the
 * service of pending local flushes before a switch, and the switch of the
 * oracle's context and of the Hyper-V FIFO.
 */
#include "machine_impl.h"
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

void rv_machine_nested_vcpu_free(struct machine_vcpu *mv)
{
	if (!mv->m->svm)
		rv_machine_nvmx_free(mv);
}
