// SPDX-License-Identifier: MIT
/*
 * Nested transition TLB rules. The nVMX rule follows the Linux change that
 * consolidated the VM-Enter/VM-Exit flush and MMU sync logic (5.14): each
 * case states what L1 may assume about L2's translations and L0 makes it
 * true with the cheapest request that covers it.
 */
#include "tlb_rules.h"

#include "reqvisor/request.h"

#define REQ(bit) (1ull << RV_REQ_BIT_##bit)

uint16_t rv_nvmx_l2_vpid(const struct rv_nvmx_tlb *s, const struct rv_nvmx_tag *t, uint16_t vpid01)
{
	return t->vpid12_enabled && s->vpid02 ? s->vpid02 : vpid01;
}

bool rv_nvmx_l2_has_own_tag(const struct rv_nvmx_tlb *s, const struct rv_nvmx_tag *t)
{
	return t->l0_ept || (t->vpid12_enabled && s->vpid02);
}

uint64_t rv_nvmx_transition(struct rv_nvmx_tlb *s, enum rv_nested_transition dir,
			    const struct rv_nvmx_tag *t)
{
	/* Without a VPID, L1 expects every transition to flush all linear and
	 * combined mappings: a guest flush, which also syncs shadow pages,
	 * needed even when L0 itself has no VPIDs. */
	if (!t->vpid12_enabled)
		return REQ(TLB_FLUSH_GUEST);
	/* A VPID L0 has not seen last: L0 does not track vpid12 history, so it
	 * must treat it as a context with no valid entries. */
	if (dir == RV_NESTED_ENTER && t->vpid12 != s->last_vpid12) {
		s->last_vpid12 = t->vpid12;
		return REQ(TLB_FLUSH_GUEST);
	}
	/* The same vpid12, but L1 and L2 share L0's tag: what one cached, the
	 * other must not use. */
	if (!rv_nvmx_l2_has_own_tag(s, t))
		return REQ(TLB_FLUSH_CURRENT);
	return 0;
}

uint64_t rv_nsvm_transition_unconditional(enum rv_nested_transition dir)
{
	(void)dir;
	return REQ(MMU_SYNC) | REQ(TLB_FLUSH_CURRENT);
}

enum rv_nsvm_flush rv_nsvm_vmrun_conditional(struct rv_nsvm_tlb *s, uint32_t asid12,
					     uint8_t tlb_control)
{
	bool new_asid = asid12 != s->last_asid12;

	s->last_asid12 = asid12;
	switch (tlb_control) {
	case 0:
		return new_asid ? RV_NSVM_FLUSH_L2 : RV_NSVM_FLUSH_NONE;
	case 3:
		return RV_NSVM_FLUSH_L2;
	case 7: /* a new ASID's global entries are not L2's either */
		return new_asid ? RV_NSVM_FLUSH_L2 : RV_NSVM_FLUSH_L2_LOCAL;
	default:
		return RV_NSVM_FLUSH_EVERY_ASID;
	}
}
