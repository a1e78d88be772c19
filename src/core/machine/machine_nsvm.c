// SPDX-License-Identifier: MIT
/*
 * Nested SVM (--nested on the SVM backend; docs/nested.md): VMRUN with a
 * vmcb12 at a guest-physical address, #VMEXIT back to L1, STGI/CLGI,
 * INVLPGA, VMLOAD/VMSAVE as no-ops, with the TLB rule of Linux 6.16 or,
 * behind --nsvm-flush=conditional, reqvisor's (src/nested/tlb_rules.c).
 * L1 and L2 run on L0 ASIDs of their own, swapped at each transition.
 */
#include <string.h>

#include "machine_impl.h"
#include "nested/vmcb12.h"
#include "reqvisor/mask.h"
#include "reqvisor/request.h"
#include "vm_impl.h"

#define CR0_PE	  (1ull << 0)
#define CR0_NW	  (1ull << 29)
#define CR0_CD	  (1ull << 30)
#define CR0_PG	  (1ull << 31)
#define CR4_PAE	  (1ull << 5)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
#define EFER_SVME (1ull << 12)

/* ---- vmcb12 in L1's memory ---- */

static uint64_t get(struct machine_vcpu *mv, unsigned off, unsigned size)
{
	return rv_machine_l1_get(mv, mv->nsvm.vmcb, off, size);
}

static void put(struct machine_vcpu *mv, unsigned off, unsigned size, uint64_t v)
{
	rv_machine_l1_put(mv, mv->nsvm.vmcb, off, size, v);
}

/* ---- MSRs ---- */

int rv_machine_nsvm_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v)
{
	if (msr == MSR_VM_HSAVE_PA) {
		*v = mv->nsvm.hsave_pa;
		return 0;
	}
	if (msr == MSR_VM_CR) { /* SVM enabled, not locked */
		*v = 0;
		return 0;
	}
	return 1;
}

int rv_machine_nsvm_wrmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t v)
{
	if (msr != MSR_VM_HSAVE_PA)
		return 1;
	if ((v & 4095) || v >= rv_guest_mem_size(mv->m->mem))
		return -1;
	mv->nsvm.hsave_pa = v;
	return 0;
}

/* In L2: whether vmcb12's MSR permission map intercepts the access (APM
 * vol. 2 §15.11: two bits per MSR, read then write, in three ranges). */
int rv_machine_nsvm_msr_access(struct machine_vcpu *mv, uint32_t msr, bool write)
{
	static const uint32_t range[3] = { 0, 0xc0000000u, 0xc0010000u };
	uint8_t *p;

	if (!mv->nested.guest_mode || !(mv->nsvm.intercept1 & SVM_MISC1_MSR))
		return 1;
	for (unsigned r = 0; r < 3; r++) {
		uint32_t bit;

		if (msr - range[r] >= 0x2000)
			continue;
		bit = (msr - range[r]) * 2 + write;
		p = rv_gpa_hva(mv->m->mem, mv->nsvm.msrpm + r * 0x800 + bit / 8);
		if (!p)
			return RV_MSR_INTERCEPTED;
		return (*p >> (bit % 8)) & 1 ? RV_MSR_INTERCEPTED : 1;
	}
	return RV_MSR_INTERCEPTED;
}

/* ---- the transitions ---- */

/* What the oracle calls L2's context: vmcb12's ASID, the AMD TLB's only
 * tag (nCR3 is not one: the APM leaves flushing after its change to L1). */
static uint64_t l2_ctx(const struct machine_vcpu *mv)
{
	return RV_CTX_L2 | ((uint64_t)mv->nsvm.asid12 << RV_CTX_VPID_SHIFT);
}

/* A flush of the current ASID waits for the next VMRUN; the switch of ASID
 * comes first, so do it now, on the ASID it was meant for. */
static void settle_tlb_control(struct machine_vcpu *mv)
{
	if (!mv->tlb_control || !mv->tlb)
		return;
	if (mv->tlb_control == 7)
		rv_tlb_flush_nonglobal(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
	else
		rv_machine_flush_tag(mv);
	mv->tlb_control = 0;
}

static void swap_asids(struct machine_vcpu *mv)
{
	struct rv_asid_vcpu t = mv->asid;

	settle_tlb_control(mv);
	mv->asid = mv->nsvm.other_asid;
	mv->nsvm.other_asid = t;
	mv->tag = (uint16_t)mv->asid.asid; /* svm_prepare_entry renews it */
}

static void post_mask(struct machine_vcpu *mv, uint64_t reqs)
{
	while (reqs) {
		unsigned nr = (unsigned)__builtin_ctzll(reqs);

		reqs &= reqs - 1;
		rv_make_request(mv->vcpu, nr);
	}
}

/* Linux 6.16: MMU_SYNC and TLB_FLUSH_CURRENT at every transition. */
static void unconditional_rule(struct machine_vcpu *mv, enum rv_nested_transition dir)
{
	if (RV_FAULT_HIT(&mv->vcpu->vm->faults, NSVM_SKIP_FLUSH))
		return;
	post_mask(mv, rv_nsvm_transition_unconditional(dir));
}

/* --nsvm-flush=conditional at VMRUN (N3 of docs/requests.md). */
static void conditional_rule(struct machine_vcpu *mv, uint8_t tlb_control)
{
	struct rv_faults *f = &mv->vcpu->vm->faults;
	bool new_asid = mv->nsvm.asid12 != mv->nsvm.tlb.last_asid12;
	enum rv_nsvm_flush what =
		rv_nsvm_vmrun_conditional(&mv->nsvm.tlb, mv->nsvm.asid12, tlb_control);

	if (what == RV_NSVM_FLUSH_NONE)
		return;
	if (new_asid && !tlb_control && RV_FAULT_HIT(f, NSVM_COND_SKIP_NEW_ASID))
		return;
	if (tlb_control && RV_FAULT_HIT(f, NSVM_COND_IGNORE_TLB_CONTROL))
		return;
	if (what == RV_NSVM_FLUSH_EVERY_ASID)
		rv_asid_invalidate(&mv->nsvm.other_asid); /* L1's: a fresh one */
	if (what == RV_NSVM_FLUSH_L2_LOCAL)
		mv->tlb_control = 7;
	else
		rv_make_request(mv->vcpu, RV_REQ_TLB_FLUSH_CURRENT);
}

/* What TLB_CONTROL promises L1, for the oracle: 1 everything, 3 the
 * ASID's entries, 7 its non-global ones. */
static void log_tlb_control(struct machine_vcpu *mv, uint8_t tlb_control)
{
	if (tlb_control == 3)
		rv_oracle_log(mv, RV_INVAL_VPID, 0, (uint16_t)mv->nsvm.asid12);
	else if (tlb_control == 7)
		rv_oracle_log(mv, RV_INVAL_VPID_NONGLOBAL, 0, (uint16_t)mv->nsvm.asid12);
	else if (tlb_control)
		rv_oracle_log(mv, RV_INVAL_ALL_CONTEXTS, 0, 0);
}

static void load_segment_state(struct rv_cpu *c, struct machine_vcpu *mv)
{
	c->cs = (uint16_t)get(mv, VMCB_CS, 2);
	c->ss = (uint16_t)get(mv, VMCB_SS, 2);
	c->fs_base = get(mv, VMCB_FS + 8, 8);
	c->gs_base = get(mv, VMCB_GS + 8, 8);
	c->gdtr.limit = (uint16_t)get(mv, VMCB_GDTR + 4, 4);
	c->gdtr.base = get(mv, VMCB_GDTR + 8, 8);
	c->idtr.limit = (uint16_t)get(mv, VMCB_IDTR + 4, 4);
	c->idtr.base = get(mv, VMCB_IDTR + 8, 8);
}

static void save_l2_state(struct machine_vcpu *mv)
{
	const struct rv_cpu *c = &mv->cpu;

	put(mv, VMCB_CS, 2, c->cs);
	put(mv, VMCB_SS, 2, c->ss);
	put(mv, VMCB_FS + 8, 8, c->fs_base);
	put(mv, VMCB_GS + 8, 8, c->gs_base);
	put(mv, VMCB_GDTR + 4, 4, c->gdtr.limit);
	put(mv, VMCB_GDTR + 8, 8, c->gdtr.base);
	put(mv, VMCB_IDTR + 4, 4, c->idtr.limit);
	put(mv, VMCB_IDTR + 8, 8, c->idtr.base);
	put(mv, VMCB_EFER, 8, c->efer);
	put(mv, VMCB_CR0, 8, c->cr0);
	put(mv, VMCB_CR2, 8, c->cr2);
	put(mv, VMCB_CR3, 8, c->cr3);
	put(mv, VMCB_CR4, 8, c->cr4);
	put(mv, VMCB_RFLAGS, 8, c->rflags);
	put(mv, VMCB_RIP, 8, c->rip);
	put(mv, VMCB_RSP, 8, c->gpr[RV_RSP]);
	put(mv, VMCB_RAX, 8, c->gpr[RV_RAX]);
}

static void save_host_state(struct machine_vcpu *mv)
{
	const struct rv_cpu *c = &mv->cpu;
	typeof(mv->nsvm.host) *h = &mv->nsvm.host;

	*h = (typeof(*h)){
		.cr0 = c->cr0,
		.cr3 = c->cr3,
		.cr4 = c->cr4,
		.efer = c->efer,
		.rflags = c->rflags,
		.rip = c->rip + c->virt.len,
		.rsp = c->gpr[RV_RSP],
		.rax = c->gpr[RV_RAX],
		.gdt = c->gdtr.base,
		.idt = c->idtr.base,
		.fs = c->fs_base,
		.gs = c->gs_base,
		.gdt_limit = c->gdtr.limit,
		.idt_limit = c->idtr.limit,
		.cs = c->cs,
		.ss = c->ss,
	};
}

static void load_host_state(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;
	const typeof(mv->nsvm.host) *h = &mv->nsvm.host;

	c->cr0 = h->cr0;
	c->cr3 = h->cr3;
	c->cr4 = h->cr4;
	c->efer = h->efer;
	c->rflags = h->rflags;
	c->lf_kind = 0;
	c->rip = h->rip;
	c->gpr[RV_RSP] = h->rsp;
	c->gpr[RV_RAX] = h->rax;
	c->gdtr.base = h->gdt;
	c->gdtr.limit = h->gdt_limit;
	c->idtr.base = h->idt;
	c->idtr.limit = h->idt_limit;
	c->fs_base = h->fs;
	c->gs_base = h->gs;
	c->cs = h->cs;
	c->ss = h->ss;
	c->int_shadow = false;
	c->intercepts = 0;
	c->exc_intercepts = 0;
}

/* #VMEXIT (APM vol. 2 §15.6): L2's state and the exit into vmcb12, L1's
 * state back, GIF cleared. */
static void vmexit(struct machine_vcpu *mv, uint64_t code, uint64_t info1, uint64_t info2)
{
	rv_machine_nested_service_local(mv);
	save_l2_state(mv);
	put(mv, VMCB_EXITCODE, 8, code);
	put(mv, VMCB_EXITINFO1, 8, info1);
	put(mv, VMCB_EXITINFO2, 8, info2);
	{
		uint32_t error;
		uint64_t vectoring = rv_machine_nested_take_vectoring(mv, &error);

		put(mv, VMCB_EXITINTINFO, 8, vectoring | (uint64_t)error << 32);
	}
	put(mv, VMCB_EVENTINJ, 8, 0); /* taken at VMRUN, as KVM clears it */
	put(mv, VMCB_NRIP, 8, mv->cpu.rip + mv->cpu.virt.len);
	load_host_state(mv);
	mv->nsvm.gif = false;
	mv->nested.guest_mode = false;
	mv->nested.exit_pending = false;
	mv->nested.exits++;
	swap_asids(mv);
	if (!mv->m->tdp) /* L1's shadow root, for the CR3 it gets back */
		rv_make_request(mv->vcpu, RV_REQ_LOAD_MMU_PGD);
	rv_machine_nested_switched(mv, 0);
	if (!mv->m->cfg.nsvm_conditional)
		unconditional_rule(mv, RV_NESTED_EXIT);
}

/* The consistency checks of VMRUN that reqvisor makes (APM vol. 2 §15.5.1). */
static bool event_ok(uint32_t event)
{
	return !(event >> 31) || rv_machine_nested_event_valid(event);
}

static bool vmcb12_valid(struct machine_vcpu *mv)
{
	uint64_t cr0 = get(mv, VMCB_CR0, 8), efer = get(mv, VMCB_EFER, 8);

	return (get(mv, VMCB_INTERCEPT_MISC2, 4) & SVM_MISC2_VMRUN) && get(mv, VMCB_ASID, 4) &&
	       (efer & EFER_SVME) && !(!(cr0 & CR0_CD) && (cr0 & CR0_NW)) &&
	       (cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG) && (get(mv, VMCB_CR4, 8) & CR4_PAE) &&
	       (efer & EFER_LME) && event_ok((uint32_t)get(mv, VMCB_EVENTINJ, 4)) &&
	       (!(get(mv, VMCB_NP_ENABLE, 8) & 1) || mv->m->cfg.nested);
}

static void set_intercepts(struct machine_vcpu *mv)
{
	uint32_t i1 = mv->nsvm.intercept1, i2 = mv->nsvm.intercept2;
	struct rv_cpu *c = &mv->cpu;

	c->intercepts = (i2 & SVM_MISC2_VMMCALL ? RV_ICPT_VMCALL : 0) |
			(i1 & SVM_MISC1_CPUID ? RV_ICPT_CPUID : 0) |
			(i1 & SVM_MISC1_HLT ? RV_ICPT_HLT : 0) |
			(i1 & SVM_MISC1_INVLPG ? RV_ICPT_INVLPG : 0) |
			(i1 & SVM_MISC1_IOIO ? RV_ICPT_IO : 0);
	c->exc_intercepts = (uint32_t)get(mv, VMCB_INTERCEPT_EXC, 4);
}

static void vmrun(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;
	uint8_t tlb_control = (uint8_t)get(mv, VMCB_TLB_CONTROL, 1);

	rv_machine_nested_service_local(mv);
	save_host_state(mv);
	mv->nsvm.asid12 = (uint32_t)get(mv, VMCB_ASID, 4);
	mv->nsvm.intercept1 = (uint32_t)get(mv, VMCB_INTERCEPT_MISC1, 4);
	mv->nsvm.intercept2 = (uint32_t)get(mv, VMCB_INTERCEPT_MISC2, 4);
	mv->nsvm.msrpm = get(mv, VMCB_MSRPM_BASE, 8) & ~4095ull;
	rv_machine_nested_set_hv_l2(mv, get(mv, VMCB_HV_CONTROL, 4) & VMCB_HV_DIRECT_FLUSH,
				    get(mv, VMCB_HV_VM_ID, 8), (uint32_t)get(mv, VMCB_HV_VP_ID, 4));
	mv->nested.tdp12 = get(mv, VMCB_NP_ENABLE, 8) & 1;
	mv->nested.root12 = mv->nested.tdp12 ? get(mv, VMCB_NCR3, 8) & ~4095ull : 0;
	load_segment_state(c, mv);
	c->efer = get(mv, VMCB_EFER, 8) | EFER_LMA;
	c->cr0 = get(mv, VMCB_CR0, 8);
	c->cr2 = get(mv, VMCB_CR2, 8);
	c->cr3 = get(mv, VMCB_CR3, 8);
	c->cr4 = get(mv, VMCB_CR4, 8);
	c->rflags = get(mv, VMCB_RFLAGS, 8) | 2;
	c->lf_kind = 0;
	c->rip = get(mv, VMCB_RIP, 8);
	c->gpr[RV_RSP] = get(mv, VMCB_RSP, 8);
	c->gpr[RV_RAX] = get(mv, VMCB_RAX, 8);
	c->int_shadow = false;
	c->irq_armed = true;
	mv->nsvm.gif = true;
	set_intercepts(mv);
	if (get(mv, VMCB_EVENTINJ, 4) >> 31)
		rv_machine_nested_set_inject(mv, (uint32_t)get(mv, VMCB_EVENTINJ, 4),
					     (uint32_t)get(mv, VMCB_EVENTINJ + 4, 4));
	mv->nested.guest_mode = true;
	mv->nested.entries++;
	swap_asids(mv);
	rv_machine_nested_switched(mv, l2_ctx(mv));
	log_tlb_control(mv, tlb_control);
	if (mv->m->cfg.nsvm_conditional)
		conditional_rule(mv, tlb_control);
	else
		unconditional_rule(mv, RV_NESTED_ENTER);
}

/*
 * TLB_FLUSH is for every context of the vCPU. With --nsvm-flush conditional
 * L1 and L2 each have an ASID, and the flush reaches only the one running:
 * the other is dropped for a fresh one. Without it a host page move made
 * while L2 ran left L1's entries for the freed frame (the oracle's host
 * violation, nsvm and nsvm_shootdown with hostmem.migrate).
 */
void rv_machine_nsvm_flush_other_asid(struct machine_vcpu *mv)
{
	if (mv->m->cfg.nsvm_conditional &&
	    !RV_FAULT_HIT(&mv->vcpu->vm->faults, NSVM_COND_KEEP_OTHER_ASID))
		rv_asid_invalidate(&mv->nsvm.other_asid);
}

/* INVLPGA (rAX the address, ECX the ASID): L1's own entry for ASID 0, else
 * L2's, which all run on L0's one ASID for L2. */
static void invlpga(struct machine_vcpu *mv, uint64_t addr, uint32_t asid)
{
	uint16_t tag = asid ? (uint16_t)mv->nsvm.other_asid.asid : mv->tag;

	if (asid)
		rv_oracle_log(mv, RV_INVAL_VPID_ADDR, addr, (uint16_t)asid);
	else
		rv_oracle_log(mv, RV_INVAL_ADDR, addr, rv_machine_pcid(&mv->cpu));
	if (!mv->tlb || RV_FAULT_HIT(&mv->vcpu->vm->faults, NSVM_SKIP_INVLPGA))
		return;
	if (!asid || mv->nsvm.other_asid.generation)
		rv_tlb_flush_addr(mv->tlb, tag, RV_TLB_ANY_PCID, addr, false);
}

enum rv_virt_result rv_machine_nsvm_insn(struct machine_vcpu *mv, struct rv_virt_op *op)
{
	if (op->insn < RV_VIRT_VMRUN || !(mv->cpu.efer & EFER_SVME))
		return RV_VIRT_UD;
	if (mv->nested.guest_mode) /* L2's: VMRUN always exits, the rest #UD */
		return op->insn == RV_VIRT_VMRUN ? RV_VIRT_EXIT : RV_VIRT_UD;
	switch (op->insn) {
	case RV_VIRT_VMRUN:
		if (!rv_machine_l1_page(mv, op->operand))
			return RV_VIRT_GP;
		mv->nsvm.vmcb = op->operand;
		if (vmcb12_valid(mv))
			return RV_VIRT_EXIT; /* rv_machine_nsvm_exit runs L2 */
		put(mv, VMCB_EXITCODE, 8, SVM_EXIT_INVALID);
		return RV_VIRT_SUCCEED;
	case RV_VIRT_STGI:
		mv->nsvm.gif = true;
		mv->cpu.irq_armed = true;
		return RV_VIRT_SUCCEED;
	case RV_VIRT_CLGI:
		mv->nsvm.gif = false;
		return RV_VIRT_SUCCEED;
	case RV_VIRT_INVLPGA:
		invlpga(mv, op->operand, (uint32_t)mv->cpu.gpr[RV_RCX]);
		return RV_VIRT_SUCCEED;
	default: /* VMLOAD, VMSAVE: no state reqvisor's CPU has */
		return rv_machine_l1_page(mv, op->operand) ? RV_VIRT_SUCCEED : RV_VIRT_GP;
	}
}

static const uint16_t insn_exit_code[] = {
	[RV_VIRT_VMRUN] = SVM_EXIT_VMRUN, [RV_VIRT_VMCALL] = SVM_EXIT_VMMCALL,
	[RV_VIRT_CPUID] = SVM_EXIT_CPUID, [RV_VIRT_HLT] = SVM_EXIT_HLT,
	[RV_VIRT_IO] = SVM_EXIT_IOIO,	  [RV_VIRT_RDMSR] = SVM_EXIT_MSR,
	[RV_VIRT_WRMSR] = SVM_EXIT_MSR,	  [RV_VIRT_INVLPG] = SVM_EXIT_INVLPG,
};

/* An intercepted instruction: EXITINFO1 as APM vol. 2 §15.10-15.13 says
 * (IOIO: direction, size, port; MSR: 1 for WRMSR; INVLPG: the address). */
static void instruction_exit(struct machine_vcpu *mv)
{
	const struct rv_virt_op *op = &mv->cpu.virt;
	const struct rv_cpu_io *io = &mv->cpu.io;
	uint64_t info1 = 0, info2 = 0;

	if (op->insn == RV_VIRT_IO) {
		info1 = (io->in ? 1 : 0) | ((uint64_t)io->size << 4) | (1u << 9) |
			((uint64_t)io->port << 16);
		info2 = mv->cpu.rip + op->len;
	} else if (op->insn == RV_VIRT_WRMSR) {
		info1 = 1;
	} else if (op->insn == RV_VIRT_INVLPG) {
		info1 = op->operand;
	}
	vmexit(mv, insn_exit_code[op->insn], info1, info2);
}

void rv_machine_nsvm_exit(struct machine_vcpu *mv, enum rv_cpu_exit e)
{
	const struct rv_cpu_exception *x = &mv->cpu.exc;

	if (!mv->nested.guest_mode) {
		if (e == RV_CPU_EXIT_VIRT)
			vmrun(mv);
		return;
	}
	switch (e) {
	case RV_CPU_EXIT_VIRT:
		if (mv->cpu.virt.insn == RV_VIRT_VMCALL && rv_machine_nested_l2_hypercall(mv))
			return;
		instruction_exit(mv);
		return;
	case RV_CPU_EXIT_EXCEPTION:
		vmexit(mv, SVM_EXIT_EXCP_BASE + (uint64_t)x->vector, x->error_code,
		       x->vector == RV_EXC_PF ? x->addr : 0);
		return;
	case RV_CPU_EXIT_TRIPLE_FAULT:
		vmexit(mv, SVM_EXIT_SHUTDOWN, 0, 0);
		return;
	default: /* a nested page fault */
		vmexit(mv, mv->nested.exit_reason, mv->nested.exit_qual, mv->nested.exit_gpa);
		return;
	}
}
