/* SPDX-License-Identifier: MIT */
/*
 * The enlightened VMCS (Hyper-V TLFS, "Enlightened VMCS", version 1) and
 * the part of the VP assist page that selects it. An L1 that finds the
 * eVMCS recommended (CPUID 0x40000004 EAX bit 14) may keep its vmcs12 in
 * this memory layout instead of using VMPTRLD/VMWRITE: it writes the
 * fields, sets the VP assist page's enlighten_vmentry and current eVMCS
 * address, and VMLAUNCH/VMRESUME read from there. The eVMCS is also where
 * L1 turns on Hyper-V direct flush for its L2 (docs/nested.md).
 *
 * The layout is an ABI: offsets are fixed by the TLFS, and every member
 * has the width its VMCS field has (16, 32 or 64 bits). Pure: no code.
 * Shared with the guest SDK (guests/sdk/vmx.c), whose L1 writes it.
 */
#ifndef RV_NESTED_EVMCS_H
#define RV_NESTED_EVMCS_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define RV_EVMCS_VERSION 1 /* revision_id an eVMCS must carry */

/* The VP assist page (MSR 0x40000073): offsets of what nested VMX uses. */
#define RV_VP_ASSIST_NESTED_FEATURES   32 /* u32; bit 0: direct flush hypercall */
#define RV_VP_ASSIST_ENLIGHTEN_VMENTRY 40 /* u8; nonzero: VM entries use the eVMCS */
#define RV_VP_ASSIST_CURRENT_EVMCS     48 /* u64: the eVMCS's guest-physical address */
#define RV_VP_ASSIST_DIRECT_HYPERCALL  1u

/* hv_enlightenments_control: bit 0, L2's flush hypercalls go to L0. */
#define RV_EVMCS_NESTED_FLUSH_HYPERCALL 1u

/* For assembly: where HOST_RIP and HOST_RSP live. */
#define RV_EVMCS_HOST_RIP 80
#define RV_EVMCS_HOST_RSP 616

#ifndef __ASSEMBLER__
struct rv_evmcs {
	uint32_t revision_id;
	uint32_t abort;

	uint16_t host_es_selector;
	uint16_t host_cs_selector;
	uint16_t host_ss_selector;
	uint16_t host_ds_selector;
	uint16_t host_fs_selector;
	uint16_t host_gs_selector;
	uint16_t host_tr_selector;
	uint16_t padding16_1;

	uint64_t host_ia32_pat;
	uint64_t host_ia32_efer;
	uint64_t host_cr0;
	uint64_t host_cr3;
	uint64_t host_cr4;
	uint64_t host_ia32_sysenter_esp;
	uint64_t host_ia32_sysenter_eip;
	uint64_t host_rip;
	uint32_t host_ia32_sysenter_cs;

	uint32_t pin_based_vm_exec_control;
	uint32_t vm_exit_controls;
	uint32_t secondary_vm_exec_control;

	uint64_t io_bitmap_a;
	uint64_t io_bitmap_b;
	uint64_t msr_bitmap;

	uint16_t guest_es_selector;
	uint16_t guest_cs_selector;
	uint16_t guest_ss_selector;
	uint16_t guest_ds_selector;
	uint16_t guest_fs_selector;
	uint16_t guest_gs_selector;
	uint16_t guest_ldtr_selector;
	uint16_t guest_tr_selector;

	uint32_t guest_es_limit;
	uint32_t guest_cs_limit;
	uint32_t guest_ss_limit;
	uint32_t guest_ds_limit;
	uint32_t guest_fs_limit;
	uint32_t guest_gs_limit;
	uint32_t guest_ldtr_limit;
	uint32_t guest_tr_limit;
	uint32_t guest_gdtr_limit;
	uint32_t guest_idtr_limit;

	uint32_t guest_es_ar_bytes;
	uint32_t guest_cs_ar_bytes;
	uint32_t guest_ss_ar_bytes;
	uint32_t guest_ds_ar_bytes;
	uint32_t guest_fs_ar_bytes;
	uint32_t guest_gs_ar_bytes;
	uint32_t guest_ldtr_ar_bytes;
	uint32_t guest_tr_ar_bytes;

	uint64_t guest_es_base;
	uint64_t guest_cs_base;
	uint64_t guest_ss_base;
	uint64_t guest_ds_base;
	uint64_t guest_fs_base;
	uint64_t guest_gs_base;
	uint64_t guest_ldtr_base;
	uint64_t guest_tr_base;
	uint64_t guest_gdtr_base;
	uint64_t guest_idtr_base;

	uint64_t padding64_1[3];

	uint64_t vm_exit_msr_store_addr;
	uint64_t vm_exit_msr_load_addr;
	uint64_t vm_entry_msr_load_addr;

	uint64_t cr3_target_value[4];

	uint32_t page_fault_error_code_mask;
	uint32_t page_fault_error_code_match;

	uint32_t cr3_target_count;
	uint32_t vm_exit_msr_store_count;
	uint32_t vm_exit_msr_load_count;
	uint32_t vm_entry_msr_load_count;

	uint64_t tsc_offset;
	uint64_t virtual_apic_page_addr;
	uint64_t vmcs_link_pointer;

	uint64_t guest_ia32_debugctl;
	uint64_t guest_ia32_pat;
	uint64_t guest_ia32_efer;

	uint64_t guest_pdptr[4];

	uint64_t guest_pending_dbg_exceptions;
	uint64_t guest_sysenter_esp;
	uint64_t guest_sysenter_eip;

	uint32_t guest_activity_state;
	uint32_t guest_sysenter_cs;

	uint64_t cr0_guest_host_mask;
	uint64_t cr4_guest_host_mask;
	uint64_t cr0_read_shadow;
	uint64_t cr4_read_shadow;
	uint64_t guest_cr0;
	uint64_t guest_cr3;
	uint64_t guest_cr4;
	uint64_t guest_dr7;

	uint64_t host_fs_base;
	uint64_t host_gs_base;
	uint64_t host_tr_base;
	uint64_t host_gdtr_base;
	uint64_t host_idtr_base;
	uint64_t host_rsp;

	uint64_t ept_pointer;

	uint16_t virtual_processor_id;
	uint16_t padding16_2[3];

	uint64_t padding64_2[5];
	uint64_t guest_physical_address;

	uint32_t vm_instruction_error;
	uint32_t vm_exit_reason;
	uint32_t vm_exit_intr_info;
	uint32_t vm_exit_intr_error_code;
	uint32_t idt_vectoring_info_field;
	uint32_t idt_vectoring_error_code;
	uint32_t vm_exit_instruction_len;
	uint32_t vmx_instruction_info;

	uint64_t exit_qualification;
	uint64_t exit_io_instruction_ecx;
	uint64_t exit_io_instruction_esi;
	uint64_t exit_io_instruction_edi;
	uint64_t exit_io_instruction_eip;

	uint64_t guest_linear_address;
	uint64_t guest_rsp;
	uint64_t guest_rflags;

	uint32_t guest_interruptibility_info;
	uint32_t cpu_based_vm_exec_control;
	uint32_t exception_bitmap;
	uint32_t vm_entry_controls;
	uint32_t vm_entry_intr_info_field;
	uint32_t vm_entry_exception_error_code;
	uint32_t vm_entry_instruction_len;
	uint32_t tpr_threshold;

	uint64_t guest_rip;

	uint32_t hv_clean_fields;
	uint32_t padding32_1;
	uint32_t hv_synthetic_controls;
	uint32_t hv_enlightenments_control;
	uint32_t hv_vp_id;
	uint32_t padding32_2;
	uint64_t hv_vm_id;
	uint64_t partition_assist_page;
	uint64_t padding64_4[4];
	uint64_t guest_bndcfgs;
	uint64_t guest_ia32_perf_global_ctrl;
	uint64_t guest_ia32_s_cet;
	uint64_t guest_ssp;
	uint64_t guest_ia32_int_ssp_table_addr;
	uint64_t guest_ia32_lbr_ctl;
	uint64_t padding64_5[2];
	uint64_t xss_exit_bitmap;
	uint64_t encls_exiting_bitmap;
	uint64_t host_ia32_perf_global_ctrl;
	uint64_t tsc_multiplier;
	uint64_t host_ia32_s_cet;
	uint64_t host_ssp;
	uint64_t host_ia32_int_ssp_table_addr;
	uint64_t padding64_6;
};

/* Natural alignment gives the TLFS's packed layout: no member is padded. */
_Static_assert(__builtin_offsetof(struct rv_evmcs, host_ia32_pat) == 24, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct rv_evmcs, ept_pointer) == 624, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct rv_evmcs, guest_rip) == 816, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct rv_evmcs, hv_vm_id) == 848, "eVMCS layout");
_Static_assert(sizeof(struct rv_evmcs) == 1024, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct rv_evmcs, host_rip) == RV_EVMCS_HOST_RIP, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct rv_evmcs, host_rsp) == RV_EVMCS_HOST_RSP, "eVMCS layout");
#endif

#endif
