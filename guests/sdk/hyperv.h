/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V enlightenments for guests run with --hyperv (GUEST_ABI §6, §8):
 * detection, the hypercall page, and the TLB flush hypercalls' inputs, as
 * the TLFS lays them out.
 */
#ifndef RV_GUEST_HYPERV_H
#define RV_GUEST_HYPERV_H

#include "rv.h"

#define HV_MSR_GUEST_OS_ID 0x40000000u
#define HV_MSR_HYPERCALL   0x40000001u
#define HV_MSR_VP_INDEX	   0x40000002u
#define HV_MSR_VP_ASSIST   0x40000073u

#define HV_FLUSH_SPACE	  0x0002
#define HV_FLUSH_LIST	  0x0003
#define HV_FLUSH_SPACE_EX 0x0013
#define HV_FLUSH_LIST_EX  0x0014

#define HV_FLUSH_ALL_PROCESSORS	    1ull
#define HV_FLUSH_ALL_ADDRESS_SPACES 2ull
#define HV_FLUSH_NON_GLOBAL_ONLY    4ull
#define HV_SET_SPARSE		    0ull
#define HV_SET_ALL		    1ull

#define HV_STATUS_SUCCESS	0
#define HV_STATUS_INVALID_CODE	2
#define HV_STATUS_INVALID_INPUT 3

/* The control word: code, fast, variable header qwords, rep count, rep start. */
static inline u64 hv_control(u16 code, bool fast, u32 var_qwords, u32 reps, u32 rep_start)
{
	return code | (fast ? 1ull << 16 : 0) | (u64)(var_qwords & 0x3ff) << 17 |
	       (u64)(reps & 0xfff) << 32 | (u64)(rep_start & 0xfff) << 48;
}

/* "Microsoft Hv" at CPUID 0x40000000, with the flush recommendations. */
bool hv_present(void);
/* Set the guest OS ID and enable the hypercall page at @page (a GPA). */
void hv_enable(u64 page);

/* Every vCPU but @cpu, as a non-Ex processor mask (0, "all", beyond 64). */
u64 hv_mask_all_but(unsigned cpu, unsigned ncpus);
/* A sparse VP set (format, valid-bank mask, banks) of every vCPU but @cpu
 * at @set; returns its bank count, the call's variable header size. */
u32 hv_set_all_but(u64 *set, unsigned cpu, unsigned ncpus);

/* This vCPU's VP assist page (MSR 0x40000073), enabled at the first call:
 * where an L1 selects its enlightened VMCS and allows L2 direct flush
 * (src/nested/evmcs.h has the offsets). */
u8 *hv_vp_assist(void);

/* Call through the hypercall page: RCX control, RDX input GPA, R8 output. */
u64 hv_call(u64 control, u64 input, u64 output);

static inline u16 hv_status(u64 rax)
{
	return (u16)rax;
}

static inline u32 hv_reps(u64 rax)
{
	return (u32)(rax >> 32) & 0xfff;
}

#endif
