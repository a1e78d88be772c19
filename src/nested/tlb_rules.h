/* SPDX-License-Identifier: MIT */
/*
 * The TLB rules of nested transitions (docs/requests.md, "Nested
 * transitions"): which requests a nested VM-Enter or VM-Exit (nVMX) and a
 * VMRUN or #VMEXIT (nSVM) post, and which VPID L2 runs with. Pure: the
 * caller posts the returned requests and services the pending local flushes
 * before it switches between L1 and L2.
 */
#ifndef RV_NESTED_TLB_RULES_H
#define RV_NESTED_TLB_RULES_H

#include <stdbool.h>
#include <stdint.h>

enum rv_nested_transition {
	RV_NESTED_ENTER, /* VMLAUNCH/VMRESUME, VMRUN: L1 to L2 */
	RV_NESTED_EXIT,	 /* VM-Exit, #VMEXIT: L2 to L1 */
};

/* A vCPU's nVMX TLB state. */
struct rv_nvmx_tlb {
	uint16_t vpid02;      /* L0's VPID for L2, allocated at VMXON; 0: none */
	uint16_t last_vpid12; /* vmcs12's VPID at the last VM-Enter that used one */
};

/* What the transition looks at. */
struct rv_nvmx_tag {
	bool vpid12_enabled; /* vmcs12 enables VPID (secondary controls) */
	uint16_t vpid12;     /* vmcs12's VIRTUAL_PROCESSOR_ID */
	bool l0_ept;	     /* L0 runs L2 with EPT (TDP on) */
};

/* The VPID L2's translations carry: vpid02 when vmcs12 enables VPID and
 * vpid02 exists, else L1's own. */
uint16_t rv_nvmx_l2_vpid(const struct rv_nvmx_tlb *s, const struct rv_nvmx_tag *t, uint16_t vpid01);

/* Whether L2's translations are kept apart from L1's: EPT in L0 (its own
 * EPTP), or vmcs12's VPID backed by vpid02. */
bool rv_nvmx_l2_has_own_tag(const struct rv_nvmx_tlb *s, const struct rv_nvmx_tag *t);

/*
 * The requests (a mask of 1 << RV_REQ_BIT_*) a nested VM-Enter or VM-Exit
 * posts, as Linux >= 5.14 does: without a VPID in vmcs12, TLB_FLUSH_GUEST;
 * on VM-Enter with a vmcs12 VPID other than the last one, remember it and
 * TLB_FLUSH_GUEST; else, when L2 has no tag of its own, TLB_FLUSH_CURRENT.
 * Nested EPT never needs an MMU sync here.
 */
uint64_t rv_nvmx_transition(struct rv_nvmx_tlb *s, enum rv_nested_transition dir,
			    const struct rv_nvmx_tag *t);

/* nSVM as Linux 6.16 does it: MMU_SYNC and TLB_FLUSH_CURRENT on VMRUN and
 * on #VMEXIT alike, whatever vmcb12's TLB_CONTROL says. */
uint64_t rv_nsvm_transition_unconditional(enum rv_nested_transition dir);

/* A vCPU's nSVM TLB state for --nsvm-flush=conditional. */
struct rv_nsvm_tlb {
	uint32_t last_asid12; /* vmcb12's ASID at the last VMRUN; 0: none yet */
};

/* What VMRUN asks of the flush (besides the ASID switch). */
enum rv_nsvm_flush {
	RV_NSVM_FLUSH_NONE,
	RV_NSVM_FLUSH_L2,	  /* L2's ASID */
	RV_NSVM_FLUSH_L2_LOCAL,	  /* L2's ASID, non-global entries (TLB_CONTROL 7) */
	RV_NSVM_FLUSH_EVERY_ASID, /* L2's and L1's (TLB_CONTROL 1) */
};

/*
 * --nsvm-flush=conditional (docs/requests.md N3): L0 gives L1 and L2 ASIDs
 * of their own, so #VMEXIT flushes nothing, and VMRUN flushes L2's ASID
 * only when vmcb12's ASID is not the one it held last (L0 maps every L1
 * ASID onto one) or TLB_CONTROL asks (0, 1, 3, 7 as the APM defines them;
 * any other value as 1).
 */
enum rv_nsvm_flush rv_nsvm_vmrun_conditional(struct rv_nsvm_tlb *s, uint32_t asid12,
					     uint8_t tlb_control);

#endif
