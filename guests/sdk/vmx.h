/* SPDX-License-Identifier: MIT */
/*
 * A mini-hypervisor for L1 guests on VMX (reqvisor --nested; docs/nested.md):
 * VMXON, one VMCS per L2, and a run loop that handles CPUID, I/O, MSR and
 * VMCALL exits and hands the rest to the caller. L2 starts as a copy of the calling
 * vCPU's state (control registers, descriptor tables) at a function of the
 * image, on a stack of its own.
 */
#ifndef RV_SDK_VMX_H
#define RV_SDK_VMX_H

#include "rv.h"

/* Field encodings (Intel SDM vol. 3C appendix B) used by the SDK and guests. */
#define VMCS_VPID		0x0000
#define VMCS_MSR_BITMAP		0x2004
#define VMCS_EPT_POINTER	0x201a
#define VMCS_GUEST_PHYS_ADDR	0x2400
#define VMCS_PIN_CONTROLS	0x4000
#define VMCS_PROC_CONTROLS	0x4002
#define VMCS_EXCEPTION_BITMAP	0x4004
#define VMCS_EXIT_CONTROLS	0x400c
#define VMCS_ENTRY_CONTROLS	0x4012
#define VMCS_ENTRY_INTR_INFO	0x4016
#define VMCS_ENTRY_EXC_ERROR	0x4018
#define VMCS_PROC2_CONTROLS	0x401e
#define VMCS_INSN_ERROR		0x4400
#define VMCS_EXIT_REASON	0x4402
#define VMCS_EXIT_INTR_INFO	0x4404
#define VMCS_EXIT_INTR_ERROR	0x4406
#define VMCS_IDT_VECTORING	0x4408
#define VMCS_IDT_VECTORING_ERR	0x440a
#define VMCS_EXIT_INSN_LEN	0x440c
#define VMCS_EXIT_QUALIFICATION 0x6400
#define VMCS_GUEST_LINEAR_ADDR	0x640a
#define VMCS_GUEST_IDTR_LIMIT	0x4812
#define VMCS_GUEST_CR3		0x6802
#define VMCS_GUEST_RIP		0x681e

#define VMX_PROC_HLT_EXITING (1u << 7)
#define VMX_PROC_UNCOND_IO   (1u << 24)
#define VMX_PROC_MSR_BITMAPS (1u << 28)
#define VMX_PROC_SECONDARY   (1u << 31)
#define VMX_PROC2_EPT	     (1u << 1)
#define VMX_PROC2_VPID	     (1u << 5)

#define VMX_EXIT_EXCEPTION 0
#define VMX_EXIT_CPUID	   10
#define VMX_EXIT_HLT	   12
#define VMX_EXIT_VMCALL	   18
#define VMX_EXIT_IO	   30
#define VMX_EXIT_RDMSR	   31
#define VMX_EXIT_WRMSR	   32
#define VMX_EXIT_EPT_VIOL  48

/* Status of a guest whose mini-hypervisor met something it cannot handle. */
#define RV_EXIT_NESTED 105

/* L2's general-purpose registers while L1 runs (RSP is in the VMCS). */
struct rv_vmx_gprs {
	u64 rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

struct rv_vmx_l2;
/* A VMCALL the SDK does not handle itself (any RAX but 0): return true to
 * resume L2 after the VMCALL. */
typedef bool rv_vmx_call_fn(struct rv_vmx_l2 *l2, u64 code);
/* Any other exit: return true to resume L2 (the handler moves RIP). */
typedef bool rv_vmx_exit_fn(struct rv_vmx_l2 *l2, u32 reason);

struct rv_evmcs;

struct rv_vmx_l2 {
	u64 vmcs; /* the VMCS page's physical address */
	/* Hyper-V's enlightened VMCS at @vmcs instead (rv_vmx_l2_config.evmcs):
	 * rv_vmread/rv_vmwrite go to its memory while it is current. */
	struct rv_evmcs *evmcs;
	struct rv_vmx_gprs gprs;
	bool launched;
	rv_vmx_call_fn *on_call;
	rv_vmx_exit_fn *on_exit;
	void *user;
};

/* What an L2 looks like at its first entry. */
struct rv_vmx_l2_config {
	void (*entry)(void); /* runs on L2's own stack; must end in rv_vmx_l2_done() */
	u16 vpid;	     /* vmcs12 VPID; 0: VPID off */
	u64 eptp;	     /* 0: EPT off */
	u64 cr3;	     /* 0: the calling vCPU's */
	u32 proc;	     /* extra primary controls (exiting bits) */
	u32 exception_bitmap;
	u64 msr_bitmap; /* 0: a page passing every MSR through */
	/* Hyper-V (--hyperv): keep the VMCS as an enlightened VMCS, selected
	 * through the VP assist page; with @hv_direct_flush, L2's flush
	 * hypercalls go to L0 as VP @hv_vp_id of L2 VM @hv_vm_id. */
	bool evmcs;
	bool hv_direct_flush;
	u32 hv_vp_id;
	u64 hv_vm_id;
};

/* Enter VMX operation (CPUID must report VMX, else RV_EXIT_NO_FEATURE). */
void rv_vmx_on(void);
void rv_vmx_off(void);
bool rv_vmx_available(void);

/* VMCLEAR + VMPTRLD a new VMCS for @l2 and fill it from @cfg. */
void rv_vmx_l2_init(struct rv_vmx_l2 *l2, const struct rv_vmx_l2_config *cfg);
/* Make @l2's VMCS current (VMPTRLD; an eVMCS through the VP assist page). */
void rv_vmx_l2_load(struct rv_vmx_l2 *l2);
/* Run @l2 until its rv_vmx_l2_done(): returns the status it gave. */
u64 rv_vmx_l2_run(struct rv_vmx_l2 *l2);
/* Run @l2 until its next exit the SDK does not handle; returns the reason. */
u32 rv_vmx_l2_step(struct rv_vmx_l2 *l2);
/* Past the instruction that exited. */
void rv_vmx_skip_instruction(void);

/* In L2: VMCALL with RAX = @code, RBX = @arg; returns RAX after. */
static inline u64 rv_vmx_call(u64 code, u64 arg)
{
	/* RCX 0: not a Hyper-V call code, which L0 would take with direct flush. */
	__asm__ volatile("vmcall" : "+a"(code) : "b"(arg), "c"(0ull) : "memory");
	return code;
}

/* In L2: the end (VMCALL 0 with the status). */
void rv_vmx_l2_done(u64 status) __attribute__((noreturn));

/* Run a workload's main (@fn, called with the vCPU index and count) as L2
 * with @cfg (its entry is filled here); returns what @fn returned. */
int rv_vmx_run_as_l2(int (*fn)(unsigned cpu, unsigned ncpus), struct rv_vmx_l2_config *cfg);

/* Enter VMX operation and fill @cfg with the L2 configuration the
 * workload-in-L2 guests spread over their vCPUs: EPT12 (one identity map
 * for all) on even vCPUs, a vmcs12 VPID (1 or 2) on vCPUs 0 and 1 of every
 * 4. Every vCPU must call it: it waits for the map. */
void rv_vmx_workload_config(unsigned cpu, struct rv_vmx_l2_config *cfg);

/* VMREAD/VMWRITE; each fails the guest (RV_EXIT_NESTED) when the CPU says
 * VMfail. With an eVMCS current they read and write its memory instead.
 * The _raw forms are the instructions, returning the flags' verdict: 0
 * success, 1 VMfailInvalid, 2 VMfailValid. */
u64 rv_vmread(u64 field);
void rv_vmwrite(u64 field, u64 value);
int rv_vmread_raw(u64 field, u64 *value);
int rv_vmwrite_raw(u64 field, u64 value);
int rv_vmclear_raw(u64 pa);
int rv_vmptrld_raw(u64 pa);
int rv_vmxon_raw(u64 pa);
int rv_invvpid_raw(u64 type, u16 vpid, u64 addr);
int rv_invept_raw(u64 type, u64 eptp);
void rv_invvpid(u64 type, u16 vpid, u64 addr);
void rv_invept(u64 type, u64 eptp);

/* A 4-level EPT identity map of all RAM with 4 KiB pages; returns the EPTP
 * (write-back, 4-level walk). */
u64 rv_ept_identity(void);
/* The EPT entry (leaf) for @gpa in the map of @eptp. */
u64 *rv_ept_pte(u64 eptp, u64 gpa);

/* The assembly half: enter with @g's registers; 0 after a VM exit (with
 * @g holding L2's registers), 1 or 2 on VMfailInvalid or VMfailValid.
 * @evmcs: the current eVMCS, or NULL. */
int rv_vmx_enter(struct rv_vmx_gprs *g, int launched, struct rv_evmcs *evmcs);

#endif
