// SPDX-License-Identifier: MIT
/* The x2APIC model: MSRs, IPI decoding, priorities (see x2apic.h). */
#include "x2apic.h"

#include "reqvisor/vcpu.h"

/* Reserved bits of the writable registers (SDM: a nonzero write to a reserved
 * bit raises #GP; in x2APIC mode bits 63:32 of every register but the ICR are
 * reserved). */
#define TPR_RSVD (~0xffull)
/* SVR: above bit 8. Focus checking (9) is reserved since the Pentium 4, and
 * EOI-broadcast suppression (12) without directed-EOI support. */
#define SVR_RSVD      (~0x1ffull)
#define SELF_IPI_RSVD (~0xffull)
/* ICR: 13, 17:16 and 31:20. Bit 12 (delivery status in xAPIC mode) is not in
 * the list: the SDM says a WRMSR to the x2APIC ICR ignores it. */
#define ICR_RSVD	 (0xfff00000ull | 0x30000ull | 0x2000ull)
#define ICR_IGNORED	 0x1000ull
#define ICR_VECTOR(v)	 ((uint8_t)((v)&0xff))
#define ICR_MODE(v)	 (((v) >> 8) & 7)
#define ICR_LOGICAL	 0x800ull
#define ICR_SHORTHAND(v) (((v) >> 18) & 3)
#define ICR_DEST(v)	 ((uint32_t)((v) >> 32))

#define MODE_FIXED 0
/* Vectors 0-15 are illegal for the APIC (SDM "Valid Interrupt Vectors"). */
#define FIRST_LEGAL_VECTOR 16

static inline unsigned prio_class(unsigned v)
{
	return v >> 4;
}

static inline uint64_t vec_bit(uint8_t v)
{
	return 1ull << (v & 63);
}

/* The highest set vector in a 256-bit set, or -1. */
static int highest(const uint64_t w[4])
{
	for (int i = 3; i >= 0; i--)
		if (w[i])
			return i * 64 + 63 - __builtin_clzll(w[i]);
	return -1;
}

/* A snapshot of the IRR. Acquire, pairing with accept's release: once a bit
 * is seen, so is whatever its sender wrote before sending. */
static void irr_snapshot(const struct rv_x2apic *a, uint64_t w[4])
{
	for (int i = 0; i < 4; i++)
		w[i] = atomic_load_explicit(&a->irr[i], memory_order_acquire);
}

void rv_x2apic_init(struct rv_x2apic *a, uint32_t id, rv_x2apic_send_fn *send, void *ctx)
{
	for (int i = 0; i < 4; i++) {
		atomic_init(&a->irr[i], 0);
		a->isr[i] = 0;
	}
	a->id = id;
	a->tpr = 0;
	a->svr = RV_X2APIC_SVR_RESET;
	atomic_init(&a->enabled, (RV_X2APIC_SVR_RESET & RV_X2APIC_SVR_ENABLE) != 0);
	a->icr = 0;
	a->send = send;
	a->ctx = ctx;
	a->illegal_vectors = 0;
	a->unsupported_ipis = 0;
}

uint32_t rv_x2apic_ppr(const struct rv_x2apic *a)
{
	int isrv = highest(a->isr);
	unsigned isr_class = isrv < 0 ? 0 : prio_class((unsigned)isrv);

	if (prio_class(a->tpr) >= isr_class)
		return a->tpr;
	return isr_class << 4;
}

int rv_x2apic_pending(const struct rv_x2apic *a)
{
	uint64_t irr[4];

	/* A software-disabled APIC holds what is already in its IRR but
	 * delivers nothing (SDM "Local APIC State After It Has Been Software
	 * Disabled"); re-enabling releases it. */
	if (!(a->svr & RV_X2APIC_SVR_ENABLE))
		return -1;
	irr_snapshot(a, irr);
	int v = highest(irr);

	/* Only the highest IRR vector matters: a lower one cannot be in a
	 * higher class. Equal class to PPR is not enough (SDM: the class must
	 * be above the processor-priority class). */
	if (v < 0 || prio_class((unsigned)v) <= prio_class(rv_x2apic_ppr(a)))
		return -1;
	return v;
}

void rv_x2apic_ack(struct rv_x2apic *a, uint8_t vector)
{
	/* Only the owner clears IRR bits, and only the one it delivers; the
	 * RMW keeps a concurrent sender's OR of another bit in this word. */
	atomic_fetch_and_explicit(&a->irr[vector / 64], ~vec_bit(vector), memory_order_relaxed);
	a->isr[vector / 64] |= vec_bit(vector);
}

void rv_x2apic_unack(struct rv_x2apic *a, uint8_t vector)
{
	a->isr[vector / 64] &= ~vec_bit(vector);
	atomic_fetch_or_explicit(&a->irr[vector / 64], vec_bit(vector), memory_order_relaxed);
}

bool rv_x2apic_accept(struct rv_x2apic *target, uint8_t vector)
{
	/* A software-disabled APIC keeps its IRR but latches no new fixed
	 * interrupt: in that state the SDM has it answer INIT, NMI, SMI and
	 * SIPI only (Linux relies on the drop when it offlines a CPU). A sender
	 * racing with the disable is ordered before it: a legal order too. */
	if (vector < FIRST_LEGAL_VECTOR ||
	    !atomic_load_explicit(&target->enabled, memory_order_relaxed))
		return false;
	/* Release: with the request posted after it, the target that sees
	 * the request sees the bit. */
	atomic_fetch_or_explicit(&target->irr[vector / 64], vec_bit(vector), memory_order_release);
	return true;
}

bool rv_x2apic_ipi_targets(const struct rv_x2apic_ipi *ipi, uint32_t from, uint32_t id)
{
	switch (ipi->shorthand) {
	case RV_X2APIC_DEST_ID:
		return id == ipi->dest;
	case RV_X2APIC_DEST_SELF:
		return id == from;
	case RV_X2APIC_DEST_ALL:
		return true;
	default: /* RV_X2APIC_DEST_OTHERS */
		return id != from;
	}
}

static void send_ipi(struct rv_x2apic *a, uint8_t vector, unsigned shorthand, uint32_t dest)
{
	struct rv_x2apic_ipi ipi = { .vector = vector, .shorthand = (uint8_t)shorthand };

	/* SDM "Error Handling": the sender flags "send illegal vector" and
	 * the IPI goes nowhere. There is no ESR here; count it instead. */
	if (vector < FIRST_LEGAL_VECTOR) {
		rv_count(&a->illegal_vectors, 1);
		return;
	}
	ipi.dest = shorthand == RV_X2APIC_DEST_SELF ? a->id : dest;
	if (a->send)
		a->send(a->ctx, a->id, &ipi);
}

static int write_icr(struct rv_x2apic *a, uint64_t v)
{
	if (v & ICR_RSVD)
		return RV_X2APIC_GP;
	a->icr = v & ~ICR_IGNORED;

	unsigned shorthand = ICR_SHORTHAND(v);
	uint32_t dest = ICR_DEST(v);

	if (ICR_MODE(v) != MODE_FIXED) {
		rv_count(&a->unsupported_ipis, 1);
		return RV_X2APIC_OK;
	}
	/* The destination field and mode matter only without a shorthand. */
	if (shorthand == RV_X2APIC_DEST_ID) {
		if (dest == RV_X2APIC_BROADCAST) {
			shorthand = RV_X2APIC_DEST_ALL;
		} else if (v & ICR_LOGICAL) {
			rv_count(&a->unsupported_ipis, 1);
			return RV_X2APIC_OK;
		}
	}
	send_ipi(a, ICR_VECTOR(v), shorthand, dest);
	return RV_X2APIC_OK;
}

/* EOI ends the highest-priority in-service interrupt. With nothing in service
 * it does nothing. (No TMR, so no EOI message to broadcast.) */
static void eoi(struct rv_x2apic *a)
{
	int v = highest(a->isr);

	if (v >= 0)
		a->isr[v / 64] &= ~vec_bit((uint8_t)v);
}

/* Registers the SDM defines in x2APIC mode that this model leaves to others:
 * LDR, TMR, ESR, LVT CMCI, the LVTs, the timer counts and divider. */
static bool defined_elsewhere(uint32_t msr)
{
	return msr == 0x80d || (msr >= 0x818 && msr <= 0x81f) || msr == 0x828 || msr == 0x82f ||
	       (msr >= 0x832 && msr <= 0x839) || msr == 0x83e;
}

/* Not one of ours: either a register someone else may model, a reserved
 * address in the x2APIC range (SDM: 800H-BFFH not in the table raise #GP), or
 * not an x2APIC MSR at all. */
static int not_ours(uint32_t msr)
{
	if (msr >= 0x800 && msr <= 0xbff && !defined_elsewhere(msr))
		return RV_X2APIC_GP;
	return RV_X2APIC_NOT_MINE;
}

/* 32 bits of a 256-bit set: register @i holds vectors 32i .. 32i+31. */
static uint64_t set_part(const uint64_t w[4], unsigned i)
{
	return (w[i / 2] >> (32 * (i % 2))) & 0xffffffffull;
}

int rv_x2apic_rdmsr(struct rv_x2apic *a, uint32_t msr, uint64_t *v)
{
	uint64_t irr[4];

	if (msr >= RV_X2APIC_MSR_ISR0 && msr < RV_X2APIC_MSR_ISR0 + 8) {
		*v = set_part(a->isr, msr - RV_X2APIC_MSR_ISR0);
		return RV_X2APIC_OK;
	}
	if (msr >= RV_X2APIC_MSR_IRR0 && msr < RV_X2APIC_MSR_IRR0 + 8) {
		irr_snapshot(a, irr);
		*v = set_part(irr, msr - RV_X2APIC_MSR_IRR0);
		return RV_X2APIC_OK;
	}
	switch (msr) {
	case RV_X2APIC_MSR_ID:
		*v = a->id;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_VERSION:
		*v = RV_X2APIC_VERSION;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_TPR:
		*v = a->tpr;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_PPR:
		*v = rv_x2apic_ppr(a);
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_SVR:
		*v = a->svr;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_ICR:
		*v = a->icr;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_EOI:
	case RV_X2APIC_MSR_SELF_IPI:
		return RV_X2APIC_GP; /* write-only */
	default:
		return not_ours(msr);
	}
}

static int write_svr(struct rv_x2apic *a, uint64_t v)
{
	if (v & SVR_RSVD)
		return RV_X2APIC_GP;
	a->svr = (uint32_t)v;
	atomic_store_explicit(&a->enabled, (v & RV_X2APIC_SVR_ENABLE) != 0, memory_order_relaxed);
	return RV_X2APIC_OK;
}

static bool read_only(uint32_t msr)
{
	return msr == RV_X2APIC_MSR_ID || msr == RV_X2APIC_MSR_VERSION ||
	       msr == RV_X2APIC_MSR_PPR ||
	       (msr >= RV_X2APIC_MSR_ISR0 && msr < RV_X2APIC_MSR_ISR0 + 8) ||
	       (msr >= RV_X2APIC_MSR_IRR0 && msr < RV_X2APIC_MSR_IRR0 + 8);
}

int rv_x2apic_wrmsr(struct rv_x2apic *a, uint32_t msr, uint64_t v)
{
	if (read_only(msr))
		return RV_X2APIC_GP;
	switch (msr) {
	case RV_X2APIC_MSR_TPR:
		if (v & TPR_RSVD)
			return RV_X2APIC_GP;
		a->tpr = (uint32_t)v;
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_EOI:
		/* SDM: in x2APIC mode a nonzero EOI write raises #GP(0). */
		if (v)
			return RV_X2APIC_GP;
		eoi(a);
		return RV_X2APIC_OK;
	case RV_X2APIC_MSR_SVR:
		return write_svr(a, v);
	case RV_X2APIC_MSR_ICR:
		return write_icr(a, v);
	case RV_X2APIC_MSR_SELF_IPI:
		/* SDM: the same as an ICR write of a fixed, edge, self IPI. */
		if (v & SELF_IPI_RSVD)
			return RV_X2APIC_GP;
		send_ipi(a, ICR_VECTOR(v), RV_X2APIC_DEST_SELF, a->id);
		return RV_X2APIC_OK;
	default:
		return not_ours(msr);
	}
}
