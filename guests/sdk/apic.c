// SPDX-License-Identifier: MIT
/* IPIs through the x2APIC ICR (GUEST_ABI §5). */
#include "rv.h"

/*
 * A WRMSR to an x2APIC register is not serializing: without a fence, the
 * stores that tell the target what to do could still sit in this vCPU's
 * store buffer when the IPI arrives. Linux fences here for the same reason.
 */
static void write_icr(u64 icr)
{
	rv_mfence();
	rv_wrmsr(RV_MSR_X2APIC_ICR, icr);
}

void rv_send_ipi(u32 dest, u8 vector)
{
	/* Delivery mode 0 (fixed), no shorthand, the destination's x2APIC ID. */
	write_icr((u64)dest << 32 | vector);
}

void rv_send_ipi_shorthand(u64 shorthand, u8 vector)
{
	write_icr(shorthand | vector);
}
