/* SPDX-License-Identifier: MIT */
/*
 * The local APIC of one vCPU, in x2APIC mode (guest ABI §5; Intel SDM vol. 3A
 * ch. 11). It holds the interrupt state and decodes the MSR interface; it does
 * not know how vCPUs are found or woken. The machine that owns the vCPUs
 * supplies that through the send callback and the request API.
 *
 * Who touches what:
 * - irr and enabled may be touched by any thread: rv_x2apic_accept() is called
 *   by the sender's thread, so IRR bits are set with an atomic OR and never
 *   lost, and the sender reads the enable bit to drop interrupts sent to a
 *   software-disabled APIC.
 * - Everything else belongs to the thread that runs the vCPU: the MSR
 *   accessors, pending/ack/has_work and the counters are called only there.
 *
 * Delivering an IPI (the machine's send callback, on the sender's thread):
 *   for each destination APIC t:     rv_x2apic_accept(t, ipi->vector), and if
 *                                    it returns true, post RV_REQ_EVENT to t's
 *                                    vCPU with rv_make_request_and_kick()
 * The IRR bit is set before the request is posted; the request's seq_cst RMW
 * publishes it, so the target, which reads its IRR after it has seen EVENT,
 * sees the bit. EVENT has no NO_WAKEUP flag, so a halted target is woken; it
 * then asks rv_x2apic_has_work() (and its own RFLAGS.IF) whether to halt again.
 * The callback must deliver before it returns: the SDM says the WRMSR that
 * sends a self IPI completes only once the vector is in the IRR.
 *
 * Delivering an interrupt (the machine, on the vCPU's thread, at an
 * instruction boundary with RFLAGS.IF = 1 and no interrupt shadow):
 *   v = rv_x2apic_pending(a); if v >= 0: rv_x2apic_ack(a, v), then vector v
 *   through the IDT. The handler's EOI write clears the ISR bit.
 *
 * What this model does not do (guest ABI v1 does not ask for it):
 * - delivery modes other than fixed, and logical destination mode: the ICR
 *   write is accepted and nothing is sent (counted in unsupported_ipis), as
 *   guest ABI §5 says. (Sending lowest-priority IPIs is model-specific in the
 *   SDM; a processor without it flags "redirectible IPI" and sends nothing.)
 * - LDR, TMR, ESR, the LVT entries and the APIC timer: the accessors return
 *   RV_X2APIC_NOT_MINE for them, so a later model can claim them; if nothing
 *   does, the machine raises #GP. The version register still reports six LVT
 *   entries (max LVT entry 5), as the SDM gives for Pentium 4 and Xeon APICs.
 * - ESR: an illegal vector (0-15) is not recorded in an ESR. A fixed IPI with
 *   one is not sent (counted in illegal_vectors); one that reaches
 *   rv_x2apic_accept() is dropped. Either way no vector 0-15 enters the IRR.
 * - level-triggered IPIs (ICR bits 15:14): every fixed IPI is edge-triggered.
 * - spurious interrupts: accept, pending and ack run on one thread in order,
 *   so an interrupt is never withdrawn between them.
 */
#ifndef RV_APIC_X2APIC_H
#define RV_APIC_X2APIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* x2APIC MSRs this model implements (SDM table "Local APIC Register Address
 * Map Supported by x2APIC"). */
#define RV_X2APIC_MSR_ID       0x802u
#define RV_X2APIC_MSR_VERSION  0x803u
#define RV_X2APIC_MSR_TPR      0x808u
#define RV_X2APIC_MSR_PPR      0x80au
#define RV_X2APIC_MSR_EOI      0x80bu
#define RV_X2APIC_MSR_SVR      0x80fu
#define RV_X2APIC_MSR_ISR0     0x810u /* ISR0 + i: vectors 32i .. 32i+31 */
#define RV_X2APIC_MSR_IRR0     0x820u /* IRR0 + i: vectors 32i .. 32i+31 */
#define RV_X2APIC_MSR_ICR      0x830u
#define RV_X2APIC_MSR_SELF_IPI 0x83fu

/* Return values of the MSR accessors. */
#define RV_X2APIC_OK	   0
#define RV_X2APIC_GP	   (-1) /* the access raises #GP(0) */
#define RV_X2APIC_NOT_MINE (-2) /* not implemented here: let the caller try others */

/* Version register: version 0x14 (integrated APIC), max LVT entry 5 (six
 * entries), no directed-EOI support (bit 24 clear, so SVR bit 12 is reserved). */
#define RV_X2APIC_VERSION 0x00050014u

#define RV_X2APIC_SVR_ENABLE (1u << 8)
#define RV_X2APIC_SVR_RESET  0x1ffu /* guest ABI §3: software-enabled, vector 0xff */

/* ICR destination shorthand, bits 19:18; also the kind of an rv_x2apic_ipi. */
enum rv_x2apic_shorthand {
	RV_X2APIC_DEST_ID = 0,	   /* the APIC whose x2APIC ID is dest */
	RV_X2APIC_DEST_SELF = 1,   /* the sender */
	RV_X2APIC_DEST_ALL = 2,	   /* every APIC, the sender included */
	RV_X2APIC_DEST_OTHERS = 3, /* every APIC but the sender */
};

/* Destination ID that broadcasts (SDM: FFFF_FFFFH is the broadcast ID in
 * x2APIC mode). An ICR write with no shorthand and this ID is decoded as
 * RV_X2APIC_DEST_ALL, so the machine needs only look at the shorthand. */
#define RV_X2APIC_BROADCAST 0xffffffffu

/* One fixed, edge-triggered IPI, decoded from an ICR or SELF IPI write. */
struct rv_x2apic_ipi {
	uint8_t vector;	   /* 16 .. 255 */
	uint8_t shorthand; /* enum rv_x2apic_shorthand */
	uint32_t dest;	   /* x2APIC ID for RV_X2APIC_DEST_ID; the sender's ID for
			    * SELF; the ICR's destination field otherwise */
};

/* Called on the sender's thread for every IPI it sends; @from is the sender's
 * x2APIC ID. Must deliver to every destination before returning. */
typedef void rv_x2apic_send_fn(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi);

struct rv_x2apic {
	/* Touched by any thread. */
	_Atomic uint64_t irr[4];
	_Atomic bool enabled; /* SVR bit 8; stored only by the owner */

	/* The owner's, on its own cache line: senders hammer the one above. */
	_Alignas(64) uint64_t isr[4];
	uint32_t id;
	uint32_t tpr;
	uint32_t svr;
	uint64_t icr; /* last value written, for RDMSR (the SDM allows reading it) */
	rv_x2apic_send_fn *send;
	void *ctx;

	/* Statistics, read with rv_counter() from any thread. */
	uint64_t illegal_vectors;  /* fixed IPIs with vector 0-15: not sent */
	uint64_t unsupported_ipis; /* other delivery modes, logical destinations */
};

/* The state after reset (guest ABI §3): x2APIC ID @id, TPR 0, SVR 0x1ff, IRR
 * and ISR empty. @send may be NULL: IPIs are then decoded and discarded. */
void rv_x2apic_init(struct rv_x2apic *a, uint32_t id, rv_x2apic_send_fn *send, void *ctx);

/* RDMSR/WRMSR of @msr: RV_X2APIC_OK, RV_X2APIC_GP (reserved bit set, read of
 * a write-only register, write of a read-only one, a reserved x2APIC address),
 * or RV_X2APIC_NOT_MINE. Owner only. */
int rv_x2apic_rdmsr(struct rv_x2apic *a, uint32_t msr, uint64_t *v);
int rv_x2apic_wrmsr(struct rv_x2apic *a, uint32_t msr, uint64_t v);

/* Whether the APIC with x2APIC ID @id is a destination of @ipi sent by @from. */
bool rv_x2apic_ipi_targets(const struct rv_x2apic_ipi *ipi, uint32_t from, uint32_t id);

/* Log a fixed interrupt into @target's IRR. Any thread. Returns false when it
 * was dropped (the target is software-disabled, or the vector is illegal):
 * then there is nothing for the target to re-evaluate. */
bool rv_x2apic_accept(struct rv_x2apic *target, uint8_t vector);

/* PPR: TPR if its class is at least the highest in-service class, else that
 * class with sub-class 0. Owner only. */
uint32_t rv_x2apic_ppr(const struct rv_x2apic *a);

/* The vector the APIC would deliver now, or -1: the highest IRR vector whose
 * class (vector >> 4) is above PPR's class, and only while software-enabled.
 * Owner only; IF and the interrupt shadow are the caller's to check. */
int rv_x2apic_pending(const struct rv_x2apic *a);

/* The CPU takes @vector (the value rv_x2apic_pending() returned): IRR -> ISR. */
void rv_x2apic_ack(struct rv_x2apic *a, uint8_t vector);
/* Undo an ack whose delivery did not happen (it must be retried). */
void rv_x2apic_unack(struct rv_x2apic *a, uint8_t vector);

/* An interrupt could be delivered now, were RFLAGS.IF set: a halted vCPU with
 * IF = 1 should wake. */
static inline bool rv_x2apic_has_work(const struct rv_x2apic *a)
{
	return rv_x2apic_pending(a) >= 0;
}

#endif
