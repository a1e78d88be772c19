/* SPDX-License-Identifier: MIT */
/*
 * A mini-hypervisor for L1 guests on SVM (reqvisor --nested --vendor svm;
 * docs/nested.md): EFER.SVME, the host save area, one VMCB per L2, and a run
 * loop that handles CPUID, I/O and VMMCALL exits and hands the rest to the
 * caller. L2 starts as a copy of the calling vCPU's state at a function of
 * the image, on a stack of its own.
 */
#ifndef RV_SDK_SVM_H
#define RV_SDK_SVM_H

#include "rv.h"

#define VMCB_INTERCEPT_EXC   0x008
#define VMCB_INTERCEPT_MISC1 0x00c
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_MSRPM_BASE	     0x048
#define VMCB_ASID	     0x058
#define VMCB_TLB_CONTROL     0x05c
#define VMCB_EXITCODE	     0x070
#define VMCB_EXITINFO1	     0x078
#define VMCB_EXITINFO2	     0x080
#define VMCB_EXITINTINFO     0x088
#define VMCB_NP_ENABLE	     0x090
#define VMCB_EVENTINJ	     0x0a8
#define VMCB_NCR3	     0x0b0
#define VMCB_NRIP	     0x0c8
#define VMCB_IDTR_LIMIT	     0x484
#define VMCB_CR3	     0x550
#define VMCB_RIP	     0x578
#define VMCB_RSP	     0x5d8
#define VMCB_RAX	     0x5f8

#define SVM_MISC1_CPUID	  (1u << 18)
#define SVM_MISC1_HLT	  (1u << 24)
#define SVM_MISC1_IOIO	  (1u << 27)
#define SVM_MISC1_MSR	  (1u << 28)
#define SVM_MISC2_VMRUN	  (1u << 0)
#define SVM_MISC2_VMMCALL (1u << 1)

#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_CPUID	   0x072
#define SVM_EXIT_HLT	   0x078
#define SVM_EXIT_IOIO	   0x07b
#define SVM_EXIT_MSR	   0x07c
#define SVM_EXIT_VMMCALL   0x081
#define SVM_EXIT_NPF	   0x400
#define SVM_EXIT_INVALID   (~0ull)

/* Status of a guest whose mini-hypervisor met something it cannot handle. */
#define RV_EXIT_NESTED 105

/* L2's general-purpose registers while L1 runs (RAX, RSP are in the VMCB). */
struct rv_svm_gprs {
	u64 rax_unused, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

struct rv_svm_l2;
typedef bool rv_svm_call_fn(struct rv_svm_l2 *l2, u64 code);
typedef bool rv_svm_exit_fn(struct rv_svm_l2 *l2, u64 code);

struct rv_svm_l2 {
	u8 *vmcb; /* its page (identity-mapped: also its physical address) */
	struct rv_svm_gprs gprs;
	rv_svm_call_fn *on_call; /* VMMCALL with RAX != 0: true to resume */
	rv_svm_exit_fn *on_exit; /* any other exit: true to resume */
};

struct rv_svm_l2_config {
	void (*entry)(void);
	u32 asid;
	u64 ncr3; /* 0: nested paging off */
	u64 cr3;  /* 0: the calling vCPU's */
	u32 misc1;
	u32 exception_bitmap;
	u64 msrpm; /* 0: a map passing every MSR through (with MSR_PROT off) */
	/* Hyper-V direct flush: L0 handles L2's flush hypercalls for the L2s
	 * of VM @hv_vm_id; L2's VP index is @hv_vp_id. */
	bool hv_direct_flush;
	u32 hv_vp_id;
	u64 hv_vm_id;
};

bool rv_svm_available(void);
void rv_svm_on(void);
void rv_svm_l2_init(struct rv_svm_l2 *l2, const struct rv_svm_l2_config *cfg);
/* VMRUN until the next exit the SDK does not handle; returns the exit code. */
u64 rv_svm_l2_step(struct rv_svm_l2 *l2);
/* Run until L2's rv_svm_l2_done(): the status it gave. */
u64 rv_svm_l2_run(struct rv_svm_l2 *l2);
/* Resume after the intercepted instruction (nRIP). */
void rv_svm_skip_instruction(struct rv_svm_l2 *l2);

static inline u64 vmcb_read(const struct rv_svm_l2 *l2, unsigned off)
{
	return *(const u64 *)(l2->vmcb + off);
}

static inline void vmcb_write(struct rv_svm_l2 *l2, unsigned off, u64 v)
{
	*(u64 *)(l2->vmcb + off) = v;
}

static inline void vmcb_write32(struct rv_svm_l2 *l2, unsigned off, u32 v)
{
	*(u32 *)(l2->vmcb + off) = v;
}

/* In L2: VMMCALL with RAX = @code, RBX = @arg. */
static inline u64 rv_svm_call(u64 code, u64 arg)
{
	/* RCX 0: not a Hyper-V call code, which L0 would take with direct flush. */
	__asm__ volatile("vmmcall" : "+a"(code) : "b"(arg), "c"(0ull) : "memory");
	return code;
}

void rv_svm_l2_done(u64 status) __attribute__((noreturn));

/* Run a workload's main (@fn, called with the vCPU index and count) as L2
 * with @cfg (its entry is filled here); returns what @fn returned. */
int rv_svm_run_as_l2(int (*fn)(unsigned cpu, unsigned ncpus), struct rv_svm_l2_config *cfg);

/* INVLPGA of @va in @asid. */
static inline void rv_invlpga(u64 va, u32 asid)
{
	__asm__ volatile("invlpga %%rax, %%ecx" : : "a"(va), "c"(asid) : "memory");
}

/* A 4-level identity map of all RAM with 4 KiB pages in the x86 format,
 * for nested paging; and the PTE of @gpa in it. */
u64 rv_npt_identity(void);
u64 *rv_npt_pte(u64 ncr3, u64 gpa);

/* The assembly half: VMRUN @vmcb with @g's registers; back after #VMEXIT. */
void rv_svm_enter(struct rv_svm_gprs *g, u64 vmcb);

#endif
