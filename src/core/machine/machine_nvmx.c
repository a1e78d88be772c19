// SPDX-License-Identifier: MIT
/*
 * Nested VMX (--nested on the VMX backend; docs/nested.md): L1's VMX
 * instructions, VM entries to L2 and VM exits back, with the TLB rules of
 * src/nested/tlb_rules.c. vmcs12 lives in the L1 page its pointer names
 * (src/nested/vmcs12.h), or in an enlightened VMCS (src/nested/evmcs.h)
 * when L1 uses Hyper-V's. What L2's translations go through is in
 * machine_nested_mmu.c.
 */
#include <stddef.h>
#include <string.h>

#include "machine_impl.h"
#include "nested/ept12.h"
#include "nested/evmcs.h"
#include "nested/vmcs12.h"
#include "reqvisor/request.h"
#include "service.h"
#include "vm_impl.h"

#define CR0_PE		(1ull << 0)
#define CR0_NE		(1ull << 5)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_VMXE	(1ull << 13)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define MAXPHYADDR_MASK 0xfff0000000000000ull
/* CR4 bits the CPU implements (VMXE included), as write_cr4 accepts them. */
#define CR4_KNOWN  0x00772fffull
#define EFER_KNOWN 0xd01ull

/* ---- vmcs12 in L1's memory ---- */

/* Where field @f lives: in the page of the current VMCS, a slot of
 * reqvisor's layout; in an enlightened VMCS, the member's offset and size. */
static uint64_t field_page(struct machine_vcpu *mv, enum rv_vmcs12_field f, unsigned *off,
			   unsigned *size)
{
	if (mv->nvmx.evmcs_ptr != RV_NVMX_NO_VMCS) {
		*off = rv_vmcs12_evmcs_offset(f);
		*size = rv_vmcs12_evmcs_size(f);
		return mv->nvmx.evmcs_ptr;
	}
	*off = RV_VMCS12_SLOTS + 8 * (unsigned)f;
	*size = 8;
	return mv->nvmx.vmcs_ptr;
}

static uint64_t vmcs_get(struct machine_vcpu *mv, enum rv_vmcs12_field f)
{
	unsigned off, size;
	uint64_t page = field_page(mv, f, &off, &size);

	return rv_machine_l1_get(mv, page, off, size);
}

static void vmcs_set(struct machine_vcpu *mv, enum rv_vmcs12_field f, uint64_t v)
{
	unsigned off, size;
	uint64_t page = field_page(mv, f, &off, &size);

	rv_machine_l1_put(mv, page, off, size, v);
}

/* The VMCS VMREAD and VM entries use: the eVMCS, else the current one. */
static uint64_t current_vmcs(const struct machine_vcpu *mv)
{
	return mv->nvmx.evmcs_ptr != RV_NVMX_NO_VMCS ? mv->nvmx.evmcs_ptr : mv->nvmx.vmcs_ptr;
}

/* The eVMCS L1 enlightened its VM entries with (VP assist page, TLFS), or
 * RV_NVMX_NO_VMCS. An address that is not a page of RAM stays, for VM
 * entry to fail on. */
static uint64_t assist_evmcs(struct machine_vcpu *mv)
{
	if (!mv->m->cfg.hyperv || !rv_machine_hv_assist_read(mv, RV_VP_ASSIST_ENLIGHTEN_VMENTRY, 1))
		return RV_NVMX_NO_VMCS;
	return rv_machine_hv_assist_read(mv, RV_VP_ASSIST_CURRENT_EVMCS, 8);
}

/* A member of the eVMCS outside the VMCS fields (its Hyper-V part). */
static uint64_t evmcs_member(struct machine_vcpu *mv, unsigned offset, unsigned size)
{
	return rv_machine_l1_get(mv, mv->nvmx.evmcs_ptr, offset, size);
}

static uint32_t *launch_state(struct machine_vcpu *mv, uint64_t ptr)
{
	uint8_t *p = rv_machine_l1_page(mv, ptr);

	return p ? (uint32_t *)(p + RV_VMCS12_LAUNCH_STATE) : NULL;
}

static bool revision_ok(struct machine_vcpu *mv, uint64_t ptr)
{
	uint8_t *p = rv_machine_l1_page(mv, ptr);
	uint32_t rev;

	if (!p)
		return false;
	memcpy(&rev, p, 4);
	return rev == RV_VMCS12_REVISION; /* bit 31 set: a shadow VMCS, not offered */
}

/* VMfailValid needs a current VMCS to hold the error; without one it is
 * VMfailInvalid (SDM vol. 3C §31.2). */
static enum rv_virt_result fail_valid(struct machine_vcpu *mv, enum rv_vmx_insn_error err)
{
	if (current_vmcs(mv) == RV_NVMX_NO_VMCS)
		return RV_VIRT_FAIL_INVALID;
	vmcs_set(mv, VMCS12_VM_INSTRUCTION_ERROR, err);
	return RV_VIRT_FAIL_VALID;
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* ---- VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE ---- */

static enum rv_virt_result vmxon(struct machine_vcpu *mv, uint64_t ptr)
{
	struct rv_nvmx_vcpu *n = &mv->nvmx;
	const struct rv_cpu *c = &mv->cpu;

	if (!(c->cr4 & CR4_VMXE))
		return RV_VIRT_UD;
	if ((c->cr0 & (CR0_PE | CR0_NE | CR0_PG)) != (CR0_PE | CR0_NE | CR0_PG))
		return RV_VIRT_GP;
	if (n->vmxon)
		return fail_valid(mv, RV_VMXERR_VMXON_IN_VMX_ROOT);
	if (!rv_machine_l1_page(mv, ptr) || !revision_ok(mv, ptr))
		return RV_VIRT_FAIL_INVALID;
	n->vmxon = true;
	n->vmxon_ptr = ptr;
	n->vmcs_ptr = RV_NVMX_NO_VMCS;
	/* L0's VPID for L2 (KVM allocates vpid02 here); none when out of them. */
	n->tlb.vpid02 = RV_FAULT_HIT(&mv->vcpu->vm->faults, VPID_EXHAUST)
				? 0
				: (uint16_t)rv_vpid_alloc(mv->m->vpids);
	n->tlb.last_vpid12 = 0;
	return RV_VIRT_SUCCEED;
}

static void vmxoff(struct machine_vcpu *mv)
{
	struct rv_nvmx_vcpu *n = &mv->nvmx;

	rv_vpid_free(mv->m->vpids, n->tlb.vpid02);
	n->tlb.vpid02 = 0;
	n->vmxon = false;
	n->vmcs_ptr = RV_NVMX_NO_VMCS;
	n->evmcs_ptr = RV_NVMX_NO_VMCS;
}

static enum rv_virt_result vmclear(struct machine_vcpu *mv, uint64_t ptr)
{
	uint32_t *ls;

	if (!rv_machine_l1_page(mv, ptr))
		return fail_valid(mv, RV_VMXERR_VMCLEAR_INVALID_ADDRESS);
	if (ptr == mv->nvmx.vmxon_ptr)
		return fail_valid(mv, RV_VMXERR_VMCLEAR_VMXON_POINTER);
	ls = launch_state(mv, ptr);
	if (ls)
		*ls = RV_VMCS12_CLEAR;
	if (ptr == mv->nvmx.vmcs_ptr)
		mv->nvmx.vmcs_ptr = RV_NVMX_NO_VMCS;
	return RV_VIRT_SUCCEED;
}

static enum rv_virt_result vmptrld(struct machine_vcpu *mv, uint64_t ptr)
{
	if (!rv_machine_l1_page(mv, ptr))
		return fail_valid(mv, RV_VMXERR_VMPTRLD_INVALID_ADDRESS);
	if (ptr == mv->nvmx.vmxon_ptr)
		return fail_valid(mv, RV_VMXERR_VMPTRLD_VMXON_POINTER);
	if (!revision_ok(mv, ptr))
		return fail_valid(mv, RV_VMXERR_VMPTRLD_INCORRECT_REVISION);
	mv->nvmx.vmcs_ptr = ptr;
	return RV_VIRT_SUCCEED;
}

/* The field VMREAD or VMWRITE names, or the VMfail it gets. */
static enum rv_virt_result field_of(struct machine_vcpu *mv, uint64_t encoding,
				    enum rv_vmcs12_field *f)
{
	int s;

	if (current_vmcs(mv) == RV_NVMX_NO_VMCS)
		return RV_VIRT_FAIL_INVALID;
	s = rv_vmcs12_slot(encoding);
	if (s < 0)
		return fail_valid(mv, RV_VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	*f = (enum rv_vmcs12_field)s;
	return RV_VIRT_SUCCEED;
}

static enum rv_virt_result vmread(struct machine_vcpu *mv, struct rv_virt_op *op)
{
	enum rv_vmcs12_field f = VMCS12_VIRTUAL_PROCESSOR_ID;
	enum rv_virt_result r = field_of(mv, op->field, &f);

	if (r == RV_VIRT_SUCCEED)
		op->out = rv_vmcs12_read_value(op->field, vmcs_get(mv, f));
	return r;
}

static enum rv_virt_result vmwrite(struct machine_vcpu *mv, const struct rv_virt_op *op)
{
	enum rv_vmcs12_field f = VMCS12_VIRTUAL_PROCESSOR_ID;
	enum rv_virt_result r;

	/* An eVMCS is written as memory; VMWRITE has no VMCS to write (KVM). */
	if (mv->nvmx.evmcs_ptr != RV_NVMX_NO_VMCS)
		return RV_VIRT_FAIL_INVALID;
	r = field_of(mv, op->field, &f);
	if (r != RV_VIRT_SUCCEED)
		return r;
	if (rv_vmcs12_read_only(op->field))
		return fail_valid(mv, RV_VMXERR_VMWRITE_READ_ONLY_COMPONENT);
	vmcs_set(mv, f, rv_vmcs12_write_value(op->field, vmcs_get(mv, f), op->operand));
	return RV_VIRT_SUCCEED;
}

/* ---- VMLAUNCH and VMRESUME: the checks of SDM vol. 3C §27.2 reqvisor makes ---- */

static bool controls_valid(struct machine_vcpu *mv)
{
	uint32_t proc = (uint32_t)vmcs_get(mv, VMCS12_CPU_BASED_VM_EXEC_CONTROL);
	uint32_t proc2 = (proc & RV_PROC_SECONDARY_CONTROLS)
				 ? (uint32_t)vmcs_get(mv, VMCS12_SECONDARY_VM_EXEC_CONTROL)
				 : 0;
	uint32_t entry = (uint32_t)vmcs_get(mv, VMCS12_VM_ENTRY_CONTROLS);

	if ((vmcs_get(mv, VMCS12_PIN_BASED_VM_EXEC_CONTROL) & ~(uint64_t)RV_PIN_ALLOWED1) ||
	    (proc & ~RV_PROC_ALLOWED1) || (proc2 & ~RV_PROC2_ALLOWED1) ||
	    (vmcs_get(mv, VMCS12_VM_EXIT_CONTROLS) & ~(uint64_t)RV_EXIT_ALLOWED1) ||
	    (entry & ~RV_ENTRY_ALLOWED1))
		return false;
	/* reqvisor's CPU runs 64-bit code only: L2 is an IA-32e guest. */
	if (!(entry & RV_ENTRY_IA32E_MODE))
		return false;
	if ((proc2 & RV_PROC2_ENABLE_VPID) && !vmcs_get(mv, VMCS12_VIRTUAL_PROCESSOR_ID))
		return false;
	if ((proc2 & RV_PROC2_ENABLE_EPT) && !rv_ept12_eptp_valid(vmcs_get(mv, VMCS12_EPT_POINTER)))
		return false;
	if ((proc & RV_PROC_USE_MSR_BITMAPS) &&
	    !rv_machine_l1_page(mv, vmcs_get(mv, VMCS12_MSR_BITMAP)))
		return false;
	uint32_t event = (uint32_t)vmcs_get(mv, VMCS12_VM_ENTRY_INTR_INFO_FIELD);

	if ((event >> 31) && !rv_machine_nested_event_valid(event))
		return false;
	/* Not implemented, so refused rather than ignored: CR3-target
	 * values, MSR load and store lists. */
	return !vmcs_get(mv, VMCS12_CR3_TARGET_COUNT) &&
	       !vmcs_get(mv, VMCS12_VM_EXIT_MSR_STORE_COUNT) &&
	       !vmcs_get(mv, VMCS12_VM_EXIT_MSR_LOAD_COUNT) &&
	       !vmcs_get(mv, VMCS12_VM_ENTRY_MSR_LOAD_COUNT);
}

static bool host_state_valid(struct machine_vcpu *mv)
{
	uint64_t cr0 = vmcs_get(mv, VMCS12_HOST_CR0), cr4 = vmcs_get(mv, VMCS12_HOST_CR4);

	return (cr0 & (CR0_PE | CR0_NE | CR0_PG)) == (CR0_PE | CR0_NE | CR0_PG) && !(cr0 >> 32) &&
	       (cr4 & (CR4_PAE | CR4_VMXE)) == (CR4_PAE | CR4_VMXE) && !(cr4 & ~CR4_KNOWN) &&
	       !(vmcs_get(mv, VMCS12_HOST_IA32_EFER) & ~EFER_KNOWN) &&
	       canonical(vmcs_get(mv, VMCS12_HOST_FS_BASE)) &&
	       canonical(vmcs_get(mv, VMCS12_HOST_GS_BASE)) &&
	       canonical(vmcs_get(mv, VMCS12_HOST_GDTR_BASE)) &&
	       canonical(vmcs_get(mv, VMCS12_HOST_IDTR_BASE)) &&
	       !(vmcs_get(mv, VMCS12_HOST_CR3) & MAXPHYADDR_MASK) &&
	       canonical(vmcs_get(mv, VMCS12_HOST_RIP)) &&
	       (vmcs_get(mv, VMCS12_VM_EXIT_CONTROLS) & RV_EXIT_HOST_ADDR_SPACE);
}

static bool guest_state_valid(struct machine_vcpu *mv)
{
	uint64_t cr0 = vmcs_get(mv, VMCS12_GUEST_CR0), cr4 = vmcs_get(mv, VMCS12_GUEST_CR4);

	return (cr0 & (CR0_PE | CR0_NE | CR0_PG)) == (CR0_PE | CR0_NE | CR0_PG) && !(cr0 >> 32) &&
	       (cr4 & (CR4_PAE | CR4_VMXE)) == (CR4_PAE | CR4_VMXE) && !(cr4 & ~CR4_KNOWN) &&
	       !(vmcs_get(mv, VMCS12_GUEST_IA32_EFER) & ~EFER_KNOWN) &&
	       !(vmcs_get(mv, VMCS12_GUEST_RFLAGS) & ~0x3f7fd7ull) &&
	       !(vmcs_get(mv, VMCS12_GUEST_CR3) & MAXPHYADDR_MASK) &&
	       canonical(vmcs_get(mv, VMCS12_GUEST_RIP)) && (vmcs_get(mv, VMCS12_GUEST_RFLAGS) & 2);
}

/* The launch state of the current VMCS; an eVMCS has none, and either
 * instruction enters it (as in KVM). */
static enum rv_virt_result launch_check(struct machine_vcpu *mv, bool launch)
{
	uint32_t *ls;

	if (mv->nvmx.evmcs_ptr != RV_NVMX_NO_VMCS)
		return evmcs_member(mv, offsetof(struct rv_evmcs, revision_id), 4) ==
				       RV_EVMCS_VERSION
			       ? RV_VIRT_SUCCEED
			       : RV_VIRT_FAIL_INVALID; /* also: not a page of RAM */
	if (mv->nvmx.vmcs_ptr == RV_NVMX_NO_VMCS)
		return RV_VIRT_FAIL_INVALID;
	ls = launch_state(mv, mv->nvmx.vmcs_ptr);
	if (!ls)
		return RV_VIRT_FAIL_INVALID;
	if (launch && *ls != RV_VMCS12_CLEAR)
		return fail_valid(mv, RV_VMXERR_VMLAUNCH_NONCLEAR_VMCS);
	if (!launch && *ls != RV_VMCS12_LAUNCHED)
		return fail_valid(mv, RV_VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	return RV_VIRT_SUCCEED;
}

static enum rv_virt_result vmentry_check(struct machine_vcpu *mv, bool launch)
{
	enum rv_virt_result r = launch_check(mv, launch);

	if (r != RV_VIRT_SUCCEED)
		return r;
	if (!controls_valid(mv))
		return fail_valid(mv, RV_VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	if (!host_state_valid(mv))
		return fail_valid(mv, RV_VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
	return RV_VIRT_EXIT; /* the entry happens in rv_machine_nested_exit */
}

/* ---- INVEPT and INVVPID from L1 ---- */

static bool l2_root_of(void *ctx, const struct rv_tlb_info *e)
{
	uint64_t root = *(const uint64_t *)ctx;

	return e->tag.eptrta >= RV_NESTED_ROOT_BASE &&
	       (root == RV_TLB_ANY_EPTRTA || e->tag.eptrta == root);
}

/* Drop what L0 cached of EPT12 for @eptp (or every EPTP): the guest-physical
 * and combined entries of its EPT02 roots; with shadow paging in L0, L2's
 * linear entries of the VPID L2 runs with. */
static void nested_invept(struct machine_vcpu *mv, uint64_t eptp)
{
	uint64_t root = eptp == RV_TLB_ANY_EPTRTA ? eptp : rv_nested_ept_root(eptp);

	if (!mv->tlb || RV_FAULT_HIT(&mv->vcpu->vm->faults, NVMX_SKIP_INVEPT))
		return;
	if (mv->m->tdp)
		rv_tlb_flush_if(mv->tlb, l2_root_of, &root);
	else
		rv_tlb_flush_tag(mv->tlb, rv_nvmx_l2_flush_vpid(mv), RV_TLB_ANY_PCID);
}

static enum rv_virt_result invept(struct machine_vcpu *mv, const struct rv_virt_op *op)
{
	uint64_t type = op->operand, eptp = op->desc[0];

	if ((type != 1 && type != 2) || (type == 1 && !rv_ept12_eptp_valid(eptp)))
		return fail_valid(mv, RV_VMXERR_INVALID_OPERAND_INVEPT_INVVPID);
	rv_oracle_log(mv, type == 1 ? RV_INVAL_EPT : RV_INVAL_EPT_ALL, eptp & ~4095ull, 0);
	nested_invept(mv, type == 1 ? eptp : RV_TLB_ANY_EPTRTA);
	return RV_VIRT_SUCCEED;
}

static const enum rv_inval_kind invvpid_inval[4] = { RV_INVAL_VPID_ADDR, RV_INVAL_VPID,
						     RV_INVAL_VPID_ALL, RV_INVAL_VPID_NONGLOBAL };

/* L1's INVVPID names vmcs12 VPIDs; L0 flushes the VPID L2 runs with
 * (vpid02, or L1's own without one), as KVM does. */
static enum rv_virt_result invvpid(struct machine_vcpu *mv, const struct rv_virt_op *op)
{
	uint64_t type = op->operand, vpid = op->desc[0], addr = op->desc[1];
	uint16_t tag = rv_nvmx_l2_flush_vpid(mv);

	if (type > 3 || (vpid >> 16) || (type != 2 && !vpid) || (type == 0 && !canonical(addr)))
		return fail_valid(mv, RV_VMXERR_INVALID_OPERAND_INVEPT_INVVPID);
	rv_oracle_log(mv, invvpid_inval[type], type == 0 ? addr : 0, (uint16_t)vpid);
	if (!mv->tlb || RV_FAULT_HIT(&mv->vcpu->vm->faults, NVMX_SKIP_INVVPID))
		return RV_VIRT_SUCCEED;
	if (type == 0)
		rv_tlb_flush_addr(mv->tlb, tag, RV_TLB_ANY_PCID, addr, false);
	else if (type == 3)
		rv_tlb_flush_nonglobal(mv->tlb, tag, RV_TLB_ANY_PCID);
	else
		rv_tlb_flush_tag(mv->tlb, tag, RV_TLB_ANY_PCID);
	return RV_VIRT_SUCCEED;
}

enum rv_virt_result rv_machine_nvmx_insn(struct machine_vcpu *mv, struct rv_virt_op *op)
{
	if (op->insn >= RV_VIRT_VMRUN)
		return RV_VIRT_UD;
	if (mv->nested.guest_mode) /* every VMX instruction in L2 exits to L1 */
		return RV_VIRT_EXIT;
	if (op->insn == RV_VIRT_VMXON)
		return vmxon(mv, op->operand);
	if (!mv->nvmx.vmxon)
		return RV_VIRT_UD;
	mv->nvmx.evmcs_ptr = assist_evmcs(mv);
	switch (op->insn) {
	case RV_VIRT_VMXON:
		return fail_valid(mv, RV_VMXERR_VMXON_IN_VMX_ROOT);
	case RV_VIRT_VMXOFF:
		vmxoff(mv);
		return RV_VIRT_SUCCEED;
	case RV_VIRT_VMCLEAR:
		return vmclear(mv, op->operand);
	case RV_VIRT_VMPTRLD:
		return vmptrld(mv, op->operand);
	case RV_VIRT_VMPTRST:
		op->out = mv->nvmx.vmcs_ptr;
		return RV_VIRT_SUCCEED;
	case RV_VIRT_VMREAD:
		return vmread(mv, op);
	case RV_VIRT_VMWRITE:
		return vmwrite(mv, op);
	case RV_VIRT_VMLAUNCH:
	case RV_VIRT_VMRESUME:
		return vmentry_check(mv, op->insn == RV_VIRT_VMLAUNCH);
	case RV_VIRT_INVEPT:
		return invept(mv, op);
	default:
		return invvpid(mv, op);
	}
}

/* ---- the transitions ---- */

/* What the oracle calls L2's context: its vmcs12 VPID and EPTP. */
static uint64_t l2_ctx(const struct machine_vcpu *mv)
{
	return RV_CTX_L2 | ((uint64_t)mv->nvmx.vpid12 << RV_CTX_VPID_SHIFT) |
	       (mv->nested.tdp12 ? RV_CTX_EPT | ((mv->nested.root12 >> 12) & RV_CTX_EPTP_MASK) : 0);
}

/* The rule of tlb_rules.c, with a breaking fault point per clause. */
static void post_transition(struct machine_vcpu *mv, enum rv_nested_transition dir)
{
	struct rv_nvmx_vcpu *n = &mv->nvmx;
	struct rv_nvmx_tag t = { n->vpid12 != 0, n->vpid12, mv->m->tdp };
	struct rv_faults *faults = &mv->vcpu->vm->faults;
	bool new_vpid =
		dir == RV_NESTED_ENTER && t.vpid12_enabled && t.vpid12 != n->tlb.last_vpid12;
	uint64_t reqs = rv_nvmx_transition(&n->tlb, dir, &t);
	uint64_t eptp = mv->nested.tdp12 ? mv->nested.root12 : 0;

	/* reqvisor's addition (N1.4): without EPT, L0's TLB cannot tell L2's
	 * translations through one EPT12 from those through another; a VM
	 * entry with another EPTP than the last flushes L2's VPID. */
	if (dir == RV_NESTED_ENTER && !mv->m->tdp && eptp != n->last_eptp) {
		n->last_eptp = eptp;
		if (!RV_FAULT_HIT(faults, NVMX_SKIP_FLUSH_NEW_EPTP))
			reqs |= 1ull << RV_REQ_BIT_TLB_FLUSH_GUEST;
	}

	if (!t.vpid12_enabled) {
		/* Architecturally, the transition flushes VPID 0's linear and
		 * combined mappings (L1's own and such an L2's). */
		rv_oracle_log(mv, RV_INVAL_VPID0, 0, 0);
		if (RV_FAULT_HIT(faults, NVMX_SKIP_FLUSH_NO_VPID))
			reqs = 0;
	} else if (new_vpid) {
		if (RV_FAULT_HIT(faults, NVMX_SKIP_FLUSH_NEW_VPID12))
			reqs = 0;
	} else if (reqs && RV_FAULT_HIT(faults, NVMX_SKIP_FLUSH_NO_TAG)) {
		reqs = 0;
	}
	while (reqs) {
		unsigned nr = (unsigned)__builtin_ctzll(reqs);

		reqs &= reqs - 1;
		rv_make_request(mv->vcpu, nr); /* local: the flags do not matter */
	}
}

static void set_intercepts(struct machine_vcpu *mv)
{
	struct rv_nvmx_vcpu *n = &mv->nvmx;
	struct rv_cpu *c = &mv->cpu;

	/* CPUID and VMCALL exit unconditionally in VMX non-root operation. */
	c->intercepts = RV_ICPT_VMCALL | RV_ICPT_CPUID |
			(n->proc & RV_PROC_HLT_EXITING ? RV_ICPT_HLT : 0) |
			(n->proc & RV_PROC_INVLPG_EXITING ? RV_ICPT_INVLPG : 0) |
			(n->proc & RV_PROC_UNCOND_IO_EXITING ? RV_ICPT_IO : 0);
	c->exc_intercepts = (uint32_t)vmcs_get(mv, VMCS12_EXCEPTION_BITMAP);
}

static void load_guest_state(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;
	uint32_t entry = (uint32_t)vmcs_get(mv, VMCS12_VM_ENTRY_CONTROLS);

	c->cr0 = vmcs_get(mv, VMCS12_GUEST_CR0);
	c->cr3 = vmcs_get(mv, VMCS12_GUEST_CR3);
	c->cr4 = vmcs_get(mv, VMCS12_GUEST_CR4);
	if (entry & RV_ENTRY_LOAD_EFER)
		c->efer = vmcs_get(mv, VMCS12_GUEST_IA32_EFER);
	c->efer |= EFER_LME | EFER_LMA; /* IA-32e mode guest */
	c->gpr[RV_RSP] = vmcs_get(mv, VMCS12_GUEST_RSP);
	c->rip = vmcs_get(mv, VMCS12_GUEST_RIP);
	c->rflags = vmcs_get(mv, VMCS12_GUEST_RFLAGS) | 2;
	c->lf_kind = 0;
	c->cs = (uint16_t)vmcs_get(mv, VMCS12_GUEST_CS_SELECTOR);
	c->ss = (uint16_t)vmcs_get(mv, VMCS12_GUEST_SS_SELECTOR);
	c->fs_base = vmcs_get(mv, VMCS12_GUEST_FS_BASE);
	c->gs_base = vmcs_get(mv, VMCS12_GUEST_GS_BASE);
	c->gdtr.base = vmcs_get(mv, VMCS12_GUEST_GDTR_BASE);
	c->gdtr.limit = (uint16_t)vmcs_get(mv, VMCS12_GUEST_GDTR_LIMIT);
	c->idtr.base = vmcs_get(mv, VMCS12_GUEST_IDTR_BASE);
	c->idtr.limit = (uint16_t)vmcs_get(mv, VMCS12_GUEST_IDTR_LIMIT);
	c->int_shadow = false;
	c->irq_armed = true; /* IF may differ from L1's: ask again */
}

static void save_guest_state(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;

	vmcs_set(mv, VMCS12_GUEST_CR0, c->cr0);
	vmcs_set(mv, VMCS12_GUEST_CR3, c->cr3);
	vmcs_set(mv, VMCS12_GUEST_CR4, c->cr4);
	if (vmcs_get(mv, VMCS12_VM_EXIT_CONTROLS) & RV_EXIT_SAVE_EFER)
		vmcs_set(mv, VMCS12_GUEST_IA32_EFER, c->efer);
	vmcs_set(mv, VMCS12_GUEST_RSP, c->gpr[RV_RSP]);
	vmcs_set(mv, VMCS12_GUEST_RIP, c->rip);
	vmcs_set(mv, VMCS12_GUEST_RFLAGS, c->rflags);
	vmcs_set(mv, VMCS12_GUEST_CS_SELECTOR, c->cs);
	vmcs_set(mv, VMCS12_GUEST_SS_SELECTOR, c->ss);
	vmcs_set(mv, VMCS12_GUEST_FS_BASE, c->fs_base);
	vmcs_set(mv, VMCS12_GUEST_GS_BASE, c->gs_base);
	vmcs_set(mv, VMCS12_GUEST_GDTR_BASE, c->gdtr.base);
	vmcs_set(mv, VMCS12_GUEST_GDTR_LIMIT, c->gdtr.limit);
	vmcs_set(mv, VMCS12_GUEST_IDTR_BASE, c->idtr.base);
	vmcs_set(mv, VMCS12_GUEST_IDTR_LIMIT, c->idtr.limit);
}

/* SDM vol. 3C §28.5: the host state; GDTR and IDTR limits become 0xFFFF. */
static void load_host_state(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;

	c->cr0 = vmcs_get(mv, VMCS12_HOST_CR0);
	c->cr3 = vmcs_get(mv, VMCS12_HOST_CR3);
	c->cr4 = vmcs_get(mv, VMCS12_HOST_CR4);
	/* Without "load EFER" only LME and LMA follow the host's 64-bit mode. */
	if (vmcs_get(mv, VMCS12_VM_EXIT_CONTROLS) & RV_EXIT_LOAD_EFER)
		c->efer = vmcs_get(mv, VMCS12_HOST_IA32_EFER);
	c->efer |= EFER_LME | EFER_LMA;
	c->gpr[RV_RSP] = vmcs_get(mv, VMCS12_HOST_RSP);
	c->rip = vmcs_get(mv, VMCS12_HOST_RIP);
	c->rflags = 2;
	c->lf_kind = 0;
	c->cs = (uint16_t)vmcs_get(mv, VMCS12_HOST_CS_SELECTOR);
	c->ss = (uint16_t)vmcs_get(mv, VMCS12_HOST_SS_SELECTOR);
	c->fs_base = vmcs_get(mv, VMCS12_HOST_FS_BASE);
	c->gs_base = vmcs_get(mv, VMCS12_HOST_GS_BASE);
	c->gdtr.base = vmcs_get(mv, VMCS12_HOST_GDTR_BASE);
	c->gdtr.limit = 0xffff;
	c->idtr.base = vmcs_get(mv, VMCS12_HOST_IDTR_BASE);
	c->idtr.limit = 0xffff;
	c->int_shadow = false;
	c->intercepts = 0;
	c->exc_intercepts = 0;
}

struct exit_info {
	uint32_t reason;
	uint64_t qual, gla, gpa;
	uint32_t intr_info, intr_error;
	uint8_t len;
};

/* A VM exit (or a VM-entry failure, which loads the host state alike). */
static void vmexit(struct machine_vcpu *mv, const struct exit_info *x)
{
	if (mv->nested.guest_mode) {
		rv_machine_nested_service_local(mv);
		save_guest_state(mv);
	}
	vmcs_set(mv, VMCS12_VM_EXIT_REASON, x->reason);
	vmcs_set(mv, VMCS12_EXIT_QUALIFICATION, x->qual);
	vmcs_set(mv, VMCS12_GUEST_LINEAR_ADDRESS, x->gla);
	vmcs_set(mv, VMCS12_GUEST_PHYSICAL_ADDRESS, x->gpa);
	vmcs_set(mv, VMCS12_VM_EXIT_INTR_INFO, x->intr_info);
	vmcs_set(mv, VMCS12_VM_EXIT_INTR_ERROR_CODE, x->intr_error);
	vmcs_set(mv, VMCS12_VM_EXIT_INSTRUCTION_LEN, x->len);
	{
		uint32_t error;
		uint64_t vectoring = rv_machine_nested_take_vectoring(mv, &error);

		vmcs_set(mv, VMCS12_IDT_VECTORING_INFO_FIELD, vectoring);
		vmcs_set(mv, VMCS12_IDT_VECTORING_ERROR_CODE, error);
	}
	/* SDM vol. 3C §28.2.4: every VM exit clears the valid bit of the
	 * VM-entry interruption information. */
	vmcs_set(mv, VMCS12_VM_ENTRY_INTR_INFO_FIELD,
		 vmcs_get(mv, VMCS12_VM_ENTRY_INTR_INFO_FIELD) & ~(1ull << 31));
	load_host_state(mv);
	if (!mv->nested.guest_mode)
		return; /* an entry that failed: L1 never left */
	mv->nested.guest_mode = false;
	mv->nested.exit_pending = false;
	mv->nested.exits++;
	mv->tag = mv->vpid;
	if (!mv->m->tdp) /* L1's shadow root, for the CR3 it gets back */
		rv_make_request(mv->vcpu, RV_REQ_LOAD_MMU_PGD);
	rv_machine_nested_switched(mv, 0);
	post_transition(mv, RV_NESTED_EXIT);
}

/* Hyper-V direct flush for this L2: only an eVMCS can ask for it. */
static void set_hv_l2(struct machine_vcpu *mv)
{
	bool evmcs = mv->nvmx.evmcs_ptr != RV_NVMX_NO_VMCS;
	uint64_t control =
		evmcs ? evmcs_member(mv, offsetof(struct rv_evmcs, hv_enlightenments_control), 4)
		      : 0;

	rv_machine_nested_set_hv_l2(
		mv, control & RV_EVMCS_NESTED_FLUSH_HYPERCALL,
		evmcs ? evmcs_member(mv, offsetof(struct rv_evmcs, hv_vm_id), 8) : 0,
		(uint32_t)(evmcs ? evmcs_member(mv, offsetof(struct rv_evmcs, hv_vp_id), 4) : 0));
}

static void vmentry(struct machine_vcpu *mv, bool launch)
{
	struct rv_nvmx_vcpu *n = &mv->nvmx;
	uint32_t proc = (uint32_t)vmcs_get(mv, VMCS12_CPU_BASED_VM_EXEC_CONTROL);
	uint32_t proc2 = (proc & RV_PROC_SECONDARY_CONTROLS)
				 ? (uint32_t)vmcs_get(mv, VMCS12_SECONDARY_VM_EXEC_CONTROL)
				 : 0;

	if (!guest_state_valid(mv)) {
		struct exit_info x = {
			.reason = RV_EXIT_REASON_INVALID_GUEST_STATE | RV_EXIT_REASON_ENTRY_FAILURE,
		};

		vmexit(mv, &x);
		return;
	}
	rv_machine_nested_service_local(mv);
	n->proc = proc;
	mv->nested.tdp12 = proc2 & RV_PROC2_ENABLE_EPT;
	mv->nested.root12 = mv->nested.tdp12 ? vmcs_get(mv, VMCS12_EPT_POINTER) : 0;
	n->vpid12 = (proc2 & RV_PROC2_ENABLE_VPID)
			    ? (uint16_t)vmcs_get(mv, VMCS12_VIRTUAL_PROCESSOR_ID)
			    : 0;
	n->msr_bitmap =
		(proc & RV_PROC_USE_MSR_BITMAPS) ? vmcs_get(mv, VMCS12_MSR_BITMAP) : UINT64_MAX;
	uint32_t *ls = n->evmcs_ptr == RV_NVMX_NO_VMCS ? launch_state(mv, n->vmcs_ptr) : NULL;

	if (launch && ls)
		*ls = RV_VMCS12_LAUNCHED;
	set_hv_l2(mv);
	load_guest_state(mv);
	set_intercepts(mv);
	if (vmcs_get(mv, VMCS12_VM_ENTRY_INTR_INFO_FIELD) >> 31)
		rv_machine_nested_set_inject(
			mv, (uint32_t)vmcs_get(mv, VMCS12_VM_ENTRY_INTR_INFO_FIELD),
			(uint32_t)vmcs_get(mv, VMCS12_VM_ENTRY_EXCEPTION_ERROR_CODE));
	mv->nested.guest_mode = true;
	mv->nested.entries++;
	{
		struct rv_nvmx_tag t = { n->vpid12 != 0, n->vpid12, mv->m->tdp };

		mv->tag = rv_nvmx_l2_vpid(&n->tlb, &t, mv->vpid);
	}
	rv_machine_nested_switched(mv, l2_ctx(mv));
	post_transition(mv, RV_NESTED_ENTER);
}

static const uint8_t insn_exit_reason[] = {
	[RV_VIRT_VMXON] = RV_EXIT_REASON_VMXON,
	[RV_VIRT_VMXOFF] = RV_EXIT_REASON_VMXOFF,
	[RV_VIRT_VMCLEAR] = RV_EXIT_REASON_VMCLEAR,
	[RV_VIRT_VMPTRLD] = RV_EXIT_REASON_VMPTRLD,
	[RV_VIRT_VMPTRST] = RV_EXIT_REASON_VMPTRST,
	[RV_VIRT_VMREAD] = RV_EXIT_REASON_VMREAD,
	[RV_VIRT_VMWRITE] = RV_EXIT_REASON_VMWRITE,
	[RV_VIRT_VMLAUNCH] = RV_EXIT_REASON_VMLAUNCH,
	[RV_VIRT_VMRESUME] = RV_EXIT_REASON_VMRESUME,
	[RV_VIRT_INVEPT] = RV_EXIT_REASON_INVEPT,
	[RV_VIRT_INVVPID] = RV_EXIT_REASON_INVVPID,
	[RV_VIRT_VMCALL] = RV_EXIT_REASON_VMCALL,
	[RV_VIRT_CPUID] = RV_EXIT_REASON_CPUID,
	[RV_VIRT_HLT] = RV_EXIT_REASON_HLT,
	[RV_VIRT_IO] = RV_EXIT_REASON_IO,
	[RV_VIRT_RDMSR] = RV_EXIT_REASON_RDMSR,
	[RV_VIRT_WRMSR] = RV_EXIT_REASON_WRMSR,
	[RV_VIRT_INVLPG] = RV_EXIT_REASON_INVLPG,
};

/* An instruction L2 may not run: its exit, with the qualification the SDM
 * gives it (I/O: size, direction, operand encoding, port; INVLPG: the
 * address). */
static void instruction_exit(struct machine_vcpu *mv)
{
	const struct rv_virt_op *op = &mv->cpu.virt;
	const struct rv_cpu_io *io = &mv->cpu.io;
	struct exit_info x = { .reason = insn_exit_reason[op->insn], .len = op->len };

	if (op->insn == RV_VIRT_IO)
		x.qual = (uint64_t)(io->size - 1) | (io->in ? 8 : 0) | (op->operand ? 0 : 64) |
			 ((uint64_t)io->port << 16);
	else if (op->insn == RV_VIRT_INVLPG)
		x.qual = op->operand;
	vmexit(mv, &x);
}

static void exception_exit(struct machine_vcpu *mv)
{
	const struct rv_cpu_exception *e = &mv->cpu.exc;
	/* Type 3: hardware exception; #BP (INT3) is a software one, 6. */
	uint32_t type = e->vector == RV_EXC_BP ? 6 : 3;
	struct exit_info x = {
		.reason = RV_EXIT_REASON_EXCEPTION_NMI,
		.intr_info = (uint32_t)e->vector | type << 8 | (e->has_error_code ? 1u << 11 : 0) |
			     1u << 31,
		.intr_error = e->error_code,
		.qual = e->vector == RV_EXC_PF ? e->addr : 0,
	};

	vmexit(mv, &x);
}

void rv_machine_nvmx_exit(struct machine_vcpu *mv, enum rv_cpu_exit e)
{
	struct exit_info x = { 0 };

	if (!mv->nested.guest_mode) { /* L1's VMLAUNCH or VMRESUME passed its checks */
		if (e == RV_CPU_EXIT_VIRT)
			vmentry(mv, mv->cpu.virt.insn == RV_VIRT_VMLAUNCH);
		return;
	}
	switch (e) {
	case RV_CPU_EXIT_VIRT:
		if (mv->cpu.virt.insn == RV_VIRT_VMCALL && rv_machine_nested_l2_hypercall(mv))
			return;
		instruction_exit(mv);
		return;
	case RV_CPU_EXIT_EXCEPTION:
		exception_exit(mv);
		return;
	case RV_CPU_EXIT_TRIPLE_FAULT:
		x.reason = RV_EXIT_REASON_TRIPLE_FAULT;
		vmexit(mv, &x);
		return;
	default: /* an EPT violation or misconfiguration */
		x.reason = mv->nested.exit_reason;
		x.qual = mv->nested.exit_qual;
		x.gpa = mv->nested.exit_gpa;
		x.gla = mv->nested.exit_gla;
		vmexit(mv, &x);
		return;
	}
}

/* ---- MSRs: the capability MSRs for L1, the MSR bitmap for L2 ---- */

int rv_machine_nvmx_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v)
{
	bool known;

	(void)mv;
	*v = rv_vmx_capability_msr(msr, &known);
	return known ? 0 : 1;
}

/* In L2: whether L1's MSR bitmap (or its absence) intercepts the access
 * (SDM vol. 3C §25.6.9). Outside L2, or not intercepted: 1 ("not mine"). */
static int msr_intercepted(struct machine_vcpu *mv, uint32_t msr, bool write)
{
	uint64_t base = mv->nvmx.msr_bitmap;
	unsigned off;
	uint8_t *p;

	if (base == UINT64_MAX)
		return RV_MSR_INTERCEPTED;
	if (msr <= 0x1fff)
		off = 0;
	else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		off = 1024;
	else
		return RV_MSR_INTERCEPTED;
	off += write ? 2048 : 0;
	p = rv_machine_l1_page(mv, base);
	if (!p)
		return RV_MSR_INTERCEPTED;
	msr &= 0x1fff;
	return (p[off + msr / 8] >> (msr % 8)) & 1 ? RV_MSR_INTERCEPTED : 1;
}

int rv_machine_nvmx_msr_access(struct machine_vcpu *mv, uint32_t msr, bool write)
{
	if (!mv->nested.guest_mode)
		return 1;
	return msr_intercepted(mv, msr, write);
}

void rv_machine_nvmx_free(struct machine_vcpu *mv)
{
	if (mv->nvmx.vmxon)
		vmxoff(mv);
}
