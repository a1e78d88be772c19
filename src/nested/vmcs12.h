/* SPDX-License-Identifier: MIT */
/*
 * vmcs12: the VMCS an L1 hypervisor sees (Intel SDM vol. 3C ch. 25 and
 * appendix B). reqvisor keeps it in the L1 page the VMCS pointer names, in a
 * layout of its own as the SDM allows: the revision identifier at offset 0,
 * the abort indicator at 4, the launch state at 8, and each supported field
 * in an 8-byte slot from offset 64. Pure: the caller reads and writes the
 * page.
 */
#ifndef RV_NESTED_VMCS12_H
#define RV_NESTED_VMCS12_H

#include <stdbool.h>
#include <stdint.h>

enum rv_vmcs12_field {
#define VMCS12_FIELD(name, enc, evmcs) VMCS12_##name,
#include "vmcs12_fields.def"
#undef VMCS12_FIELD
	RV_VMCS12_NR_FIELDS
};

#define RV_VMCS12_REVISION     0x00000001u
#define RV_VMCS12_LAUNCH_STATE 8
#define RV_VMCS12_SLOTS	       64
#define RV_VMCS12_CLEAR	       0u
#define RV_VMCS12_LAUNCHED     1u

/* The field's slot for @encoding, or -1 for one reqvisor does not support
 * (VMREAD/VMWRITE fail with error 12). */
int rv_vmcs12_slot(uint64_t encoding);
/* Read-only VM-exit information (VMWRITE fails with error 13). */
bool rv_vmcs12_read_only(uint64_t encoding);
/* The value VMREAD returns for @encoding from a slot holding @stored:
 * truncated to the field's width; a 64-bit field's "high" access gives
 * its upper half. */
uint64_t rv_vmcs12_read_value(uint64_t encoding, uint64_t stored);
/* The slot after VMWRITE of @value to @encoding over @stored. */
uint64_t rv_vmcs12_write_value(uint64_t encoding, uint64_t stored, uint64_t value);
/* The SDM encoding of a field. */
uint32_t rv_vmcs12_encoding(enum rv_vmcs12_field f);
/* Where a field lives in an enlightened VMCS (evmcs.h): its byte offset,
 * and its size (2, 4 or 8: the field's width). */
unsigned rv_vmcs12_evmcs_offset(enum rv_vmcs12_field f);
unsigned rv_vmcs12_evmcs_size(enum rv_vmcs12_field f);

/* VM-instruction error numbers (SDM vol. 3C §31.4). */
enum rv_vmx_insn_error {
	RV_VMXERR_VMCLEAR_INVALID_ADDRESS = 2,
	RV_VMXERR_VMCLEAR_VMXON_POINTER = 3,
	RV_VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4,
	RV_VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5,
	RV_VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7,
	RV_VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8,
	RV_VMXERR_VMPTRLD_INVALID_ADDRESS = 9,
	RV_VMXERR_VMPTRLD_VMXON_POINTER = 10,
	RV_VMXERR_VMPTRLD_INCORRECT_REVISION = 11,
	RV_VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12,
	RV_VMXERR_VMWRITE_READ_ONLY_COMPONENT = 13,
	RV_VMXERR_VMXON_IN_VMX_ROOT = 15,
	RV_VMXERR_INVALID_OPERAND_INVEPT_INVVPID = 28,
};

/* Basic exit reasons (SDM vol. 3C appendix C). */
enum rv_vmx_exit_reason {
	RV_EXIT_REASON_EXCEPTION_NMI = 0,
	RV_EXIT_REASON_TRIPLE_FAULT = 2,
	RV_EXIT_REASON_CPUID = 10,
	RV_EXIT_REASON_HLT = 12,
	RV_EXIT_REASON_INVLPG = 14,
	RV_EXIT_REASON_VMCALL = 18,
	RV_EXIT_REASON_VMCLEAR = 19,
	RV_EXIT_REASON_VMLAUNCH = 20,
	RV_EXIT_REASON_VMPTRLD = 21,
	RV_EXIT_REASON_VMPTRST = 22,
	RV_EXIT_REASON_VMREAD = 23,
	RV_EXIT_REASON_VMRESUME = 24,
	RV_EXIT_REASON_VMWRITE = 25,
	RV_EXIT_REASON_VMXOFF = 26,
	RV_EXIT_REASON_VMXON = 27,
	RV_EXIT_REASON_IO = 30,
	RV_EXIT_REASON_RDMSR = 31,
	RV_EXIT_REASON_WRMSR = 32,
	RV_EXIT_REASON_INVALID_GUEST_STATE = 33,
	RV_EXIT_REASON_EPT_VIOLATION = 48,
	RV_EXIT_REASON_EPT_MISCONFIG = 49,
	RV_EXIT_REASON_INVEPT = 50,
	RV_EXIT_REASON_INVVPID = 53,
};
#define RV_EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* The controls reqvisor implements (the capability MSRs' allowed-1 bits). */
#define RV_PIN_DEFAULT1		   0x00000016u
#define RV_PROC_HLT_EXITING	   (1u << 7)
#define RV_PROC_INVLPG_EXITING	   (1u << 9)
#define RV_PROC_UNCOND_IO_EXITING  (1u << 24)
#define RV_PROC_USE_MSR_BITMAPS	   (1u << 28)
#define RV_PROC_SECONDARY_CONTROLS (1u << 31)
#define RV_PROC_DEFAULT1	   0x0401e172u
#define RV_PROC2_ENABLE_EPT	   (1u << 1)
#define RV_PROC2_ENABLE_VPID	   (1u << 5)
#define RV_EXIT_HOST_ADDR_SPACE	   (1u << 9)
#define RV_EXIT_SAVE_EFER	   (1u << 20)
#define RV_EXIT_LOAD_EFER	   (1u << 21)
#define RV_EXIT_DEFAULT1	   0x00036dffu
#define RV_ENTRY_IA32E_MODE	   (1u << 9)
#define RV_ENTRY_LOAD_EFER	   (1u << 15)
#define RV_ENTRY_DEFAULT1	   0x000011ffu

#define RV_PIN_ALLOWED1 RV_PIN_DEFAULT1
#define RV_PROC_ALLOWED1                                                   \
	(RV_PROC_DEFAULT1 | RV_PROC_HLT_EXITING | RV_PROC_INVLPG_EXITING | \
	 RV_PROC_UNCOND_IO_EXITING | RV_PROC_USE_MSR_BITMAPS | RV_PROC_SECONDARY_CONTROLS)
#define RV_PROC2_ALLOWED1 (RV_PROC2_ENABLE_EPT | RV_PROC2_ENABLE_VPID)
#define RV_EXIT_ALLOWED1 \
	(RV_EXIT_DEFAULT1 | RV_EXIT_HOST_ADDR_SPACE | RV_EXIT_SAVE_EFER | RV_EXIT_LOAD_EFER)
#define RV_ENTRY_ALLOWED1 (RV_ENTRY_DEFAULT1 | RV_ENTRY_IA32E_MODE | RV_ENTRY_LOAD_EFER)

/* The VMX capability MSRs (SDM vol. 3C appendix A) as reqvisor reports
 * them; 0 for any other MSR number. Sets *known. */
uint64_t rv_vmx_capability_msr(uint32_t msr, bool *known);

#endif
