/* SPDX-License-Identifier: MIT */
/*
 * vmcb12: the VMCB an L1 hypervisor gives VMRUN (AMD APM vol. 2 appendix B):
 * the offsets of the fields reqvisor's nested SVM reads and writes, the
 * intercept bits and the exit codes it implements (docs/nested.md).
 */
#ifndef RV_NESTED_VMCB12_H
#define RV_NESTED_VMCB12_H

/* Control area. */
#define VMCB_INTERCEPT_EXC   0x008 /* u32: one bit per exception vector */
#define VMCB_INTERCEPT_MISC1 0x00c /* u32 */
#define VMCB_INTERCEPT_MISC2 0x010 /* u32 */
#define VMCB_IOPM_BASE	     0x040
#define VMCB_MSRPM_BASE	     0x048
#define VMCB_ASID	     0x058 /* u32 */
#define VMCB_TLB_CONTROL     0x05c /* u8 */
#define VMCB_EXITCODE	     0x070
#define VMCB_EXITINFO1	     0x078
#define VMCB_EXITINFO2	     0x080
#define VMCB_EXITINTINFO     0x088
#define VMCB_NP_ENABLE	     0x090 /* bit 0 */
#define VMCB_EVENTINJ	     0x0a8
#define VMCB_NCR3	     0x0b0
#define VMCB_NRIP	     0x0c8
/* The Hyper-V enlightenments (TLFS, nested virtualization on AMD): bit 0
 * of the control word lets L0 handle L2's flush hypercalls itself. */
#define VMCB_HV_CONTROL	     0x3e0 /* u32 */
#define VMCB_HV_VP_ID	     0x3e4 /* u32 */
#define VMCB_HV_VM_ID	     0x3e8 /* u64 */
#define VMCB_HV_DIRECT_FLUSH 1u

/* State save area: segments are 16 bytes (selector, attributes, limit,
 * base at +8). */
#define VMCB_ES	    0x400
#define VMCB_CS	    0x410
#define VMCB_SS	    0x420
#define VMCB_FS	    0x440
#define VMCB_GS	    0x450
#define VMCB_GDTR   0x460
#define VMCB_IDTR   0x480
#define VMCB_EFER   0x4d0
#define VMCB_CR4    0x548
#define VMCB_CR3    0x550
#define VMCB_CR0    0x558
#define VMCB_RFLAGS 0x570
#define VMCB_RIP    0x578
#define VMCB_RSP    0x5d8
#define VMCB_RAX    0x5f8
#define VMCB_CR2    0x640

/* Intercept bits. */
#define SVM_MISC1_CPUID	  (1u << 18)
#define SVM_MISC1_HLT	  (1u << 24)
#define SVM_MISC1_INVLPG  (1u << 25)
#define SVM_MISC1_INVLPGA (1u << 26)
#define SVM_MISC1_IOIO	  (1u << 27)
#define SVM_MISC1_MSR	  (1u << 28)
#define SVM_MISC2_VMRUN	  (1u << 0)
#define SVM_MISC2_VMMCALL (1u << 1)

/* Exit codes. */
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_CPUID	   0x072
#define SVM_EXIT_HLT	   0x078
#define SVM_EXIT_INVLPG	   0x079
#define SVM_EXIT_INVLPGA   0x07a
#define SVM_EXIT_IOIO	   0x07b
#define SVM_EXIT_MSR	   0x07c
#define SVM_EXIT_SHUTDOWN  0x07f
#define SVM_EXIT_VMRUN	   0x080
#define SVM_EXIT_VMMCALL   0x081
#define SVM_EXIT_VMLOAD	   0x082
#define SVM_EXIT_VMSAVE	   0x083
#define SVM_EXIT_STGI	   0x084
#define SVM_EXIT_CLGI	   0x085
#define SVM_EXIT_NPF	   0x400
#define SVM_EXIT_INVALID   (~0ull)

/* MSRs. */
#define MSR_VM_CR	0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u

#endif
