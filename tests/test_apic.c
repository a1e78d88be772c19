// SPDX-License-Identifier: MIT
/* The x2APIC model: MSR rules, ICR decoding, priorities, EOI, concurrent
 * accepts, and IPI delivery through the request API. */
#include <pthread.h>

#include "apic/x2apic.h"
#include "helpers.h"
#include "reqvisor/request.h"
#include "vm_impl.h"

#define NR_APICS 4

/* A small machine: NR_APICS models, and every IPI they send is recorded and
 * delivered to each destination before the WRMSR returns. */
static struct rv_x2apic apic[NR_APICS];
static struct rv_x2apic_ipi sent[16];
static unsigned nr_sent;

static void record_and_deliver(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi)
{
	(void)ctx;
	ck_assert_uint_lt(nr_sent, 16);
	sent[nr_sent++] = *ipi;
	for (uint32_t id = 0; id < NR_APICS; id++)
		if (rv_x2apic_ipi_targets(ipi, from, id))
			rv_x2apic_accept(&apic[id], ipi->vector);
}

static void setup(void)
{
	nr_sent = 0;
	for (uint32_t i = 0; i < NR_APICS; i++)
		rv_x2apic_init(&apic[i], i, record_and_deliver, NULL);
}

static uint64_t rd(struct rv_x2apic *a, uint32_t msr)
{
	uint64_t v = 0xdeadbeef;

	ck_assert_int_eq(rv_x2apic_rdmsr(a, msr, &v), RV_X2APIC_OK);
	return v;
}

static void wr(struct rv_x2apic *a, uint32_t msr, uint64_t v)
{
	ck_assert_int_eq(rv_x2apic_wrmsr(a, msr, v), RV_X2APIC_OK);
}

static int wr_ret(struct rv_x2apic *a, uint32_t msr, uint64_t v)
{
	return rv_x2apic_wrmsr(a, msr, v);
}

static int rd_ret(struct rv_x2apic *a, uint32_t msr)
{
	uint64_t v;

	return rv_x2apic_rdmsr(a, msr, &v);
}

/* Whether @vector is set in the IRR (or ISR) as the guest reads it. */
static bool reg_bit(struct rv_x2apic *a, uint32_t base, unsigned vector)
{
	return rd(a, base + vector / 32) >> (vector % 32) & 1;
}

static uint64_t icr(unsigned vector, unsigned mode, unsigned shorthand, uint32_t dest)
{
	return (uint64_t)dest << 32 | (uint64_t)shorthand << 18 | (uint64_t)mode << 8 | vector;
}

/* Deliver what is pending, as the CPU would: returns the vector or -1. */
static int take(struct rv_x2apic *a)
{
	int v = rv_x2apic_pending(a);

	if (v >= 0)
		rv_x2apic_ack(a, (uint8_t)v);
	return v;
}

/* --- MSR rules --- */

START_TEST(reset_state_follows_the_guest_abi)
{
	ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_ID), 2);
	ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_SVR), 0x1ff);
	ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_TPR), 0);
	ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_PPR), 0);
	for (unsigned i = 0; i < 8; i++) {
		ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_IRR0 + i), 0);
		ck_assert_uint_eq(rd(&apic[2], RV_X2APIC_MSR_ISR0 + i), 0);
	}
	ck_assert(!rv_x2apic_has_work(&apic[2]));
}
END_TEST

START_TEST(version_reports_integrated_apic_with_six_lvt_entries_and_no_directed_eoi)
{
	uint64_t v = rd(&apic[0], RV_X2APIC_MSR_VERSION);

	ck_assert_uint_eq(v & 0xff, 0x14);
	ck_assert_uint_eq((v >> 16) & 0xff, 5);
	ck_assert_uint_eq(v >> 24, 0);
}
END_TEST

START_TEST(writes_to_read_only_registers_raise_gp)
{
	ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_ID, 1), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_ID, 7), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_VERSION, 0), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_PPR, 0), RV_X2APIC_GP);
	for (unsigned i = 0; i < 8; i++) {
		ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_ISR0 + i, 0), RV_X2APIC_GP);
		ck_assert_int_eq(wr_ret(&apic[1], RV_X2APIC_MSR_IRR0 + i, 0), RV_X2APIC_GP);
	}
	ck_assert_uint_eq(rd(&apic[1], RV_X2APIC_MSR_ID), 1);
}
END_TEST

START_TEST(reads_of_write_only_registers_raise_gp)
{
	ck_assert_int_eq(rd_ret(&apic[0], RV_X2APIC_MSR_EOI), RV_X2APIC_GP);
	ck_assert_int_eq(rd_ret(&apic[0], RV_X2APIC_MSR_SELF_IPI), RV_X2APIC_GP);
}
END_TEST

START_TEST(tpr_keeps_bits_7_0_and_reserved_bits_raise_gp)
{
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0xa7);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_TPR), 0xa7);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_TPR, 0x100), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_TPR, 1ull << 32), RV_X2APIC_GP);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_TPR), 0xa7);
}
END_TEST

START_TEST(svr_keeps_bits_8_0_and_reserved_bits_raise_gp)
{
	wr(&apic[0], RV_X2APIC_MSR_SVR, 0x1e0);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_SVR), 0x1e0);
	/* Focus checking (9) is reserved on these processors, EOI-broadcast
	 * suppression (12) without directed-EOI support, and 63:32. */
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_SVR, 0x3ff), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_SVR, 0x11ff), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_SVR, 1ull << 40 | 0x1ff), RV_X2APIC_GP);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_SVR), 0x1e0);
}
END_TEST

START_TEST(eoi_write_of_nonzero_raises_gp_and_leaves_isr_alone)
{
	rv_x2apic_accept(&apic[0], 0x40);
	ck_assert_int_eq(take(&apic[0]), 0x40);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_EOI, 1), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_EOI, 1ull << 32), RV_X2APIC_GP);
	ck_assert(reg_bit(&apic[0], RV_X2APIC_MSR_ISR0, 0x40));
	wr(&apic[0], RV_X2APIC_MSR_EOI, 0);
	ck_assert(!reg_bit(&apic[0], RV_X2APIC_MSR_ISR0, 0x40));
}
END_TEST

START_TEST(self_ipi_reserved_bits_raise_gp_and_send_nothing)
{
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_SELF_IPI, 0x140), RV_X2APIC_GP);
	ck_assert_int_eq(wr_ret(&apic[0], RV_X2APIC_MSR_SELF_IPI, 1ull << 32 | 0x40), RV_X2APIC_GP);
	ck_assert_uint_eq(nr_sent, 0);
}
END_TEST

START_TEST(reserved_x2apic_addresses_raise_gp_both_ways)
{
	/* No DFR (80EH) and no ICR high half (831H) in x2APIC mode. */
	static const uint32_t rsvd[] = { 0x800, 0x801, 0x804, 0x809, 0x80c, 0x80e,
					 0x831, 0x83a, 0x83d, 0x840, 0x8ff, 0xbff };

	for (unsigned i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
		ck_assert_int_eq(rd_ret(&apic[0], rsvd[i]), RV_X2APIC_GP);
		ck_assert_int_eq(wr_ret(&apic[0], rsvd[i], 0), RV_X2APIC_GP);
	}
}
END_TEST

START_TEST(unmodelled_apic_registers_and_other_msrs_are_not_mine)
{
	/* LDR, TMR, ESR, LVT CMCI, LVT timer and error, timer counts, divider:
	 * left to a later model. Outside 800H-BFFH: not the APIC's. */
	static const uint32_t others[] = { 0x80d, 0x818, 0x81f, 0x828,	    0x82f,
					   0x832, 0x837, 0x838, 0x839,	    0x83e,
					   0x1b,  0x7ff, 0xc00, 0x40000000, 0xc0000080 };

	for (unsigned i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		ck_assert_int_eq(rd_ret(&apic[0], others[i]), RV_X2APIC_NOT_MINE);
		ck_assert_int_eq(wr_ret(&apic[0], others[i], 0), RV_X2APIC_NOT_MINE);
	}
}
END_TEST

START_TEST(irr_and_isr_registers_hold_32_vectors_each)
{
	static const unsigned vec[] = { 0x10, 0x1f, 0x20, 0x41, 0x9e, 0xff };

	for (unsigned i = 0; i < 6; i++)
		ck_assert(rv_x2apic_accept(&apic[3], (uint8_t)vec[i]));
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0), 0x80010000u);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0 + 1), 1);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0 + 2), 2);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0 + 4), 1u << 30);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0 + 7), 0x80000000u);
	ck_assert_int_eq(take(&apic[3]), 0xff);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_IRR0 + 7), 0);
	ck_assert_uint_eq(rd(&apic[3], RV_X2APIC_MSR_ISR0 + 7), 0x80000000u);
}
END_TEST

/* --- ICR decoding --- */

START_TEST(icr_without_shorthand_sends_to_the_x2apic_id_in_bits_63_32)
{
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x41, 0, 0, 3));
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent[0].vector, 0x41);
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_ID);
	ck_assert_uint_eq(sent[0].dest, 3);
	ck_assert(reg_bit(&apic[3], RV_X2APIC_MSR_IRR0, 0x41));
	for (unsigned i = 0; i < 3; i++)
		ck_assert(!rv_x2apic_has_work(&apic[i]));
	/* A 32-bit ID beyond 8 bits is carried whole. */
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x42, 0, 0, 0x12345678));
	ck_assert_uint_eq(sent[1].dest, 0x12345678);
}
END_TEST

START_TEST(icr_self_shorthand_targets_the_sender_whatever_the_destination)
{
	wr(&apic[2], RV_X2APIC_MSR_ICR, icr(0x50, 0, 1, 0));
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_SELF);
	ck_assert_uint_eq(sent[0].dest, 2);
	ck_assert_int_eq(rv_x2apic_pending(&apic[2]), 0x50);
	ck_assert(!rv_x2apic_has_work(&apic[0]));
}
END_TEST

START_TEST(icr_all_including_self_reaches_every_apic)
{
	wr(&apic[1], RV_X2APIC_MSR_ICR, icr(0x60, 0, 2, 0));
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_ALL);
	for (unsigned i = 0; i < NR_APICS; i++)
		ck_assert_int_eq(rv_x2apic_pending(&apic[i]), 0x60);
}
END_TEST

START_TEST(icr_all_excluding_self_reaches_every_apic_but_the_sender)
{
	wr(&apic[1], RV_X2APIC_MSR_ICR, icr(0x61, 0, 3, 0));
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_OTHERS);
	for (unsigned i = 0; i < NR_APICS; i++)
		ck_assert_int_eq(rv_x2apic_pending(&apic[i]), i == 1 ? -1 : 0x61);
}
END_TEST

START_TEST(icr_destination_ffffffff_broadcasts_including_self)
{
	wr(&apic[3], RV_X2APIC_MSR_ICR, icr(0x62, 0, 0, RV_X2APIC_BROADCAST));
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_ALL);
	for (unsigned i = 0; i < NR_APICS; i++)
		ck_assert_int_eq(rv_x2apic_pending(&apic[i]), 0x62);
}
END_TEST

START_TEST(ipi_targets_follow_each_shorthand)
{
	struct rv_x2apic_ipi ipi = { .vector = 0x40, .dest = 2 };

	for (uint32_t id = 0; id < 4; id++) {
		ipi.shorthand = RV_X2APIC_DEST_ID;
		ck_assert_int_eq(rv_x2apic_ipi_targets(&ipi, 1, id), id == 2);
		ipi.shorthand = RV_X2APIC_DEST_SELF;
		ck_assert_int_eq(rv_x2apic_ipi_targets(&ipi, 1, id), id == 1);
		ipi.shorthand = RV_X2APIC_DEST_ALL;
		ck_assert(rv_x2apic_ipi_targets(&ipi, 1, id));
		ipi.shorthand = RV_X2APIC_DEST_OTHERS;
		ck_assert_int_eq(rv_x2apic_ipi_targets(&ipi, 1, id), id != 1);
	}
}
END_TEST

START_TEST(icr_reserved_bits_raise_gp_and_send_nothing)
{
	static const unsigned bit[] = { 13, 16, 17, 20, 25, 31 };

	for (unsigned i = 0; i < 6; i++)
		ck_assert_int_eq(
			wr_ret(&apic[0], RV_X2APIC_MSR_ICR, icr(0x40, 0, 0, 1) | 1ull << bit[i]),
			RV_X2APIC_GP);
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_ICR), 0);
}
END_TEST

START_TEST(icr_bit_12_is_ignored_and_reads_back_clear)
{
	uint64_t v = icr(0x40, 0, 0, 1) | 1ull << 14;

	wr(&apic[0], RV_X2APIC_MSR_ICR, v | 1ull << 12);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_ICR), v);
}
END_TEST

START_TEST(icr_non_fixed_delivery_modes_send_nothing)
{
	for (unsigned mode = 1; mode < 8; mode++)
		wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x40, mode, 0, 1));
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_uint_eq(rv_counter(&apic[0].unsupported_ipis), 7);
	ck_assert(!rv_x2apic_has_work(&apic[1]));
}
END_TEST

START_TEST(icr_logical_destination_sends_nothing_unless_broadcast_or_shorthand)
{
	uint64_t logical = 1ull << 11;

	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x40, 0, 0, 0x10002) | logical);
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_uint_eq(rv_counter(&apic[0].unsupported_ipis), 1);
	/* A shorthand ignores the destination mode; FFFF_FFFFH broadcasts in
	 * both modes. */
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x41, 0, 3, 0) | logical);
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x42, 0, 0, RV_X2APIC_BROADCAST) | logical);
	ck_assert_uint_eq(nr_sent, 2);
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_OTHERS);
	ck_assert_uint_eq(sent[1].shorthand, RV_X2APIC_DEST_ALL);
}
END_TEST

START_TEST(illegal_vectors_0_to_15_are_neither_sent_nor_accepted)
{
	for (unsigned v = 0; v < 16; v++) {
		wr(&apic[0], RV_X2APIC_MSR_ICR, icr(v, 0, 0, 1));
		wr(&apic[0], RV_X2APIC_MSR_SELF_IPI, v);
		ck_assert(!rv_x2apic_accept(&apic[1], (uint8_t)v));
	}
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_uint_eq(rv_counter(&apic[0].illegal_vectors), 32);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_IRR0), 0);
	ck_assert_uint_eq(rd(&apic[1], RV_X2APIC_MSR_IRR0), 0);
	/* 16 is the first legal vector. */
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(16, 0, 0, 1));
	ck_assert(reg_bit(&apic[1], RV_X2APIC_MSR_IRR0, 16));
}
END_TEST

START_TEST(icr_reads_back_the_last_write)
{
	uint64_t v = icr(0x77, 0, 0, 2);

	wr(&apic[0], RV_X2APIC_MSR_ICR, v);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_ICR), v);
}
END_TEST

START_TEST(ipis_without_a_send_callback_are_discarded)
{
	struct rv_x2apic lone;

	rv_x2apic_init(&lone, 9, NULL, NULL);
	wr(&lone, RV_X2APIC_MSR_ICR, icr(0x40, 0, 2, 0));
	wr(&lone, RV_X2APIC_MSR_SELF_IPI, 0x40);
	ck_assert(!rv_x2apic_has_work(&lone));
}
END_TEST

/* --- Self IPI --- */

START_TEST(self_ipi_is_in_the_irr_when_the_wrmsr_returns)
{
	wr(&apic[1], RV_X2APIC_MSR_SELF_IPI, 0x33);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent[0].vector, 0x33);
	ck_assert_uint_eq(sent[0].shorthand, RV_X2APIC_DEST_SELF);
	ck_assert_uint_eq(sent[0].dest, 1);
	ck_assert(reg_bit(&apic[1], RV_X2APIC_MSR_IRR0, 0x33));
	ck_assert_int_eq(take(&apic[1]), 0x33);
	for (unsigned i = 0; i < NR_APICS; i++)
		ck_assert(!rv_x2apic_has_work(&apic[i]));
}
END_TEST

START_TEST(self_ipi_with_a_pending_vector_coalesces)
{
	wr(&apic[0], RV_X2APIC_MSR_SELF_IPI, 0x33);
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x33, 0, 1, 0));
	ck_assert_int_eq(take(&apic[0]), 0x33);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), -1);
}
END_TEST

/* --- Priorities --- */

START_TEST(pending_is_the_highest_irr_vector)
{
	rv_x2apic_accept(&apic[0], 0x31);
	rv_x2apic_accept(&apic[0], 0xa2);
	rv_x2apic_accept(&apic[0], 0x75);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0xa2);
	ck_assert(rv_x2apic_has_work(&apic[0]));
}
END_TEST

START_TEST(ack_moves_the_vector_from_irr_to_isr)
{
	rv_x2apic_accept(&apic[0], 0x75);
	rv_x2apic_ack(&apic[0], 0x75);
	ck_assert(!reg_bit(&apic[0], RV_X2APIC_MSR_IRR0, 0x75));
	ck_assert(reg_bit(&apic[0], RV_X2APIC_MSR_ISR0, 0x75));
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_PPR), 0x70);
}
END_TEST

START_TEST(tpr_masks_its_class_and_below_whatever_its_sub_class)
{
	rv_x2apic_accept(&apic[0], 0x5f);
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x50);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), -1);
	ck_assert(!rv_x2apic_has_work(&apic[0]));
	/* Sub-class does not count: 0x5f is not above TPR 0x50's class. */
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x4f);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x5f);
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x5f);
	rv_x2apic_accept(&apic[0], 0x60);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x60);
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0xff);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), -1);
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x60);
}
END_TEST

START_TEST(class_1_vectors_are_delivered_when_nothing_masks_them)
{
	rv_x2apic_accept(&apic[0], 0x10);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x10);
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x10);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), -1);
}
END_TEST

START_TEST(in_service_class_masks_equal_and_lower_classes)
{
	rv_x2apic_accept(&apic[0], 0x62);
	ck_assert_int_eq(take(&apic[0]), 0x62);
	rv_x2apic_accept(&apic[0], 0x6f);
	rv_x2apic_accept(&apic[0], 0x41);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), -1);
	rv_x2apic_accept(&apic[0], 0x70);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x70);
}
END_TEST

START_TEST(ppr_is_tpr_or_the_in_service_class_whichever_is_higher)
{
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x35);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_PPR), 0x35);
	rv_x2apic_accept(&apic[0], 0x48);
	ck_assert_int_eq(take(&apic[0]), 0x48);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_PPR), 0x40);
	/* Equal classes: TPR wins, with its sub-class. */
	wr(&apic[0], RV_X2APIC_MSR_TPR, 0x45);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_PPR), 0x45);
	wr(&apic[0], RV_X2APIC_MSR_EOI, 0);
	ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_PPR), 0x45);
}
END_TEST

/* --- EOI order --- */

START_TEST(eoi_ends_nested_interrupts_highest_first)
{
	struct rv_x2apic *a = &apic[0];

	rv_x2apic_accept(a, 0x40);
	ck_assert_int_eq(take(a), 0x40);
	/* A lower vector waits; a higher one nests. */
	rv_x2apic_accept(a, 0x30);
	ck_assert_int_eq(rv_x2apic_pending(a), -1);
	rv_x2apic_accept(a, 0x90);
	ck_assert_int_eq(take(a), 0x90);
	rv_x2apic_accept(a, 0x55);
	ck_assert_int_eq(rv_x2apic_pending(a), -1);

	wr(a, RV_X2APIC_MSR_EOI, 0); /* ends 0x90 */
	ck_assert(!reg_bit(a, RV_X2APIC_MSR_ISR0, 0x90));
	ck_assert(reg_bit(a, RV_X2APIC_MSR_ISR0, 0x40));
	ck_assert_int_eq(take(a), 0x55); /* above 0x40's class: nests again */

	wr(a, RV_X2APIC_MSR_EOI, 0); /* ends 0x55 */
	ck_assert_int_eq(rv_x2apic_pending(a), -1);
	wr(a, RV_X2APIC_MSR_EOI, 0); /* ends 0x40 */
	ck_assert_uint_eq(rd(a, RV_X2APIC_MSR_ISR0 + 2), 0);
	ck_assert_int_eq(take(a), 0x30);
	wr(a, RV_X2APIC_MSR_EOI, 0);
	ck_assert_uint_eq(rd(a, RV_X2APIC_MSR_PPR), 0);
}
END_TEST

START_TEST(eoi_with_nothing_in_service_changes_nothing)
{
	rv_x2apic_accept(&apic[0], 0x40);
	wr(&apic[0], RV_X2APIC_MSR_EOI, 0);
	ck_assert_int_eq(rv_x2apic_pending(&apic[0]), 0x40);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(rd(&apic[0], RV_X2APIC_MSR_ISR0 + i), 0);
}
END_TEST

/* --- Software-disabled APIC --- */

START_TEST(software_disabled_apic_holds_its_irr_and_delivers_nothing)
{
	struct rv_x2apic *a = &apic[1];

	ck_assert(rv_x2apic_accept(a, 0x40));
	wr(a, RV_X2APIC_MSR_SVR, 0xff);
	ck_assert_int_eq(rv_x2apic_pending(a), -1);
	ck_assert(!rv_x2apic_has_work(a));
	ck_assert(reg_bit(a, RV_X2APIC_MSR_IRR0, 0x40));
	/* Interrupts that arrive now are dropped, not latched. */
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x50, 0, 0, 1));
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert(!reg_bit(a, RV_X2APIC_MSR_IRR0, 0x50));
	ck_assert(!rv_x2apic_accept(a, 0x51));
	/* Re-enabled: what it held is delivered. */
	wr(a, RV_X2APIC_MSR_SVR, 0x1ff);
	ck_assert_int_eq(take(a), 0x40);
	ck_assert_int_eq(rv_x2apic_pending(a), -1);
}
END_TEST

START_TEST(software_disabled_apic_still_sends_ipis)
{
	wr(&apic[0], RV_X2APIC_MSR_SVR, 0xff);
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x44, 0, 0, 2));
	ck_assert_int_eq(rv_x2apic_pending(&apic[2]), 0x44);
}
END_TEST

/* --- Concurrent accepts --- */

#define NR_SENDERS 6
#define FIRST_VEC  16
#define NR_VECS	   (256 - FIRST_VEC)

struct stress {
	struct rv_x2apic *target;
	pthread_barrier_t start, end;
	unsigned long rounds;
	_Atomic unsigned done;	  /* senders finished with this round */
	_Atomic unsigned refused; /* accepts that returned false (none should) */
	bool owner_drains;
};

struct sender {
	struct stress *s;
	unsigned index;
};

/* Sender @index owns the vectors v with v % NR_SENDERS == index, so the
 * senders share every IRR word but never a bit. */
static void *sender_main(void *arg)
{
	struct sender *me = arg;
	struct stress *s = me->s;

	for (unsigned long r = 0; r < s->rounds; r++) {
		pthread_barrier_wait(&s->start);
		for (unsigned v = FIRST_VEC; v < 256; v++)
			if (v % NR_SENDERS == me->index && !rv_x2apic_accept(s->target, (uint8_t)v))
				atomic_fetch_add(&s->refused, 1); /* checked by the owner */
		atomic_fetch_add(&s->done, 1);
		pthread_barrier_wait(&s->end);
	}
	return NULL;
}

/* The owner's side of one round: deliver and end interrupts while senders
 * run, and once they are done, whatever is left. Returns deliveries. */
static unsigned drain(struct stress *s, unsigned count[256])
{
	unsigned n = 0;
	bool last = false;
	int v;

	for (;;) {
		if (!last && atomic_load(&s->done) == NR_SENDERS)
			last = true; /* every accept of the round is visible now */
		while ((v = take(s->target)) >= 0) {
			count[v]++;
			n++;
			wr(s->target, RV_X2APIC_MSR_EOI, 0);
		}
		if (last)
			return n;
	}
}

static void run_stress(struct stress *s, unsigned count[256])
{
	pthread_t tid[NR_SENDERS];
	struct sender snd[NR_SENDERS];

	pthread_barrier_init(&s->start, NULL, NR_SENDERS + 1);
	pthread_barrier_init(&s->end, NULL, NR_SENDERS + 1);
	for (unsigned i = 0; i < NR_SENDERS; i++) {
		snd[i] = (struct sender){ .s = s, .index = i };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, sender_main, &snd[i]), 0);
	}
	for (unsigned long r = 0; r < s->rounds; r++) {
		atomic_store(&s->done, 0);
		pthread_barrier_wait(&s->start);
		if (s->owner_drains) {
			ck_assert_uint_eq(drain(s, count), NR_VECS);
		} else {
			while (atomic_load(&s->done) != NR_SENDERS)
				;
			for (unsigned i = 0; i < 8; i++)
				ck_assert_uint_eq(rd(s->target, RV_X2APIC_MSR_IRR0 + i),
						  i == 0 ? 0xffff0000u : 0xffffffffu);
			while (take(s->target) >= 0)
				wr(s->target, RV_X2APIC_MSR_EOI, 0);
		}
		pthread_barrier_wait(&s->end);
	}
	for (unsigned i = 0; i < NR_SENDERS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&s->start);
	pthread_barrier_destroy(&s->end);
	ck_assert_uint_eq(atomic_load(&s->refused), 0);
}

START_TEST(concurrent_accepts_set_every_vector_and_lose_none)
{
	static unsigned count[256];
	struct stress s = { .target = &apic[0], .rounds = test_scale("RV_STRESS_APIC", 2000) / 4 };

	if (!s.rounds)
		s.rounds = 1;
	run_stress(&s, count);
}
END_TEST

START_TEST(concurrent_accepts_while_the_owner_delivers_deliver_each_vector_once_per_round)
{
	static unsigned count[256];
	struct stress s = { .target = &apic[0],
			    .rounds = test_scale("RV_STRESS_APIC", 2000),
			    .owner_drains = true };

	run_stress(&s, count);
	for (unsigned v = 0; v < 256; v++)
		ck_assert_uint_eq(count[v], v < FIRST_VEC ? 0 : s.rounds);
}
END_TEST

/* --- Delivery through the request API --- */

static struct test_vm t;
static struct rv_vm *vm;

/* The machine's half of an IPI: accept into each target and post EVENT. */
static void deliver_with_requests(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi)
{
	struct rv_vm *m = ctx;

	for (uint32_t id = 0; id < NR_APICS; id++)
		if (rv_x2apic_ipi_targets(ipi, from, id) &&
		    rv_x2apic_accept(&apic[id], ipi->vector))
			rv_make_request_and_kick(rv_vm_vcpu(m, id), RV_REQ_EVENT);
}

static void vm_setup(void)
{
	t = test_vm_create(test_config(NR_APICS, 2, RV_EXEC_THREADS, 1), "halt", 1);
	vm = t.vm;
	for (uint32_t i = 0; i < NR_APICS; i++)
		rv_x2apic_init(&apic[i], i, deliver_with_requests, vm);
}

static void vm_teardown(void)
{
	test_vm_destroy(&t);
}

static void halt(struct rv_vcpu *v)
{
	atomic_store(&v->run_state, RV_VCPU_BLOCKED);
	atomic_fetch_add(&vm->nr_blocked, 1);
}

START_TEST(ipi_to_a_halted_vcpu_posts_event_and_wakes_it)
{
	struct rv_vcpu *target = rv_vm_vcpu(vm, 2);

	halt(target);
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x40, 0, 0, 2));
	ck_assert(rv_test_request(target, RV_REQ_BIT_EVENT));
	ck_assert_int_eq(atomic_load(&target->run_state), RV_VCPU_RUNNABLE);
	ck_assert_uint_eq(atomic_load(&vm->nr_blocked), 0);
	ck_assert(rv_x2apic_has_work(&apic[2]));
	for (uint32_t i = 0; i < NR_APICS; i++)
		if (i != 2)
			ck_assert(!rv_request_pending(rv_vm_vcpu(vm, i)));
}
END_TEST

START_TEST(broadcast_excluding_self_posts_event_to_every_other_vcpu)
{
	wr(&apic[1], RV_X2APIC_MSR_ICR, icr(0x41, 0, 3, 0));
	for (uint32_t i = 0; i < NR_APICS; i++) {
		ck_assert_int_eq(rv_test_request(rv_vm_vcpu(vm, i), RV_REQ_BIT_EVENT), i != 1);
		ck_assert_int_eq(rv_x2apic_pending(&apic[i]), i == 1 ? -1 : 0x41);
	}
}
END_TEST

START_TEST(ipi_to_a_software_disabled_apic_posts_no_request)
{
	wr(&apic[3], RV_X2APIC_MSR_SVR, 0xff);
	wr(&apic[0], RV_X2APIC_MSR_ICR, icr(0x40, 0, 0, 3));
	ck_assert(!rv_request_pending(rv_vm_vcpu(vm, 3)));
}
END_TEST

static Suite *apic_suite(void)
{
	Suite *s = suite_create("apic");
	TCase *msr = tcase_create("msr");
	TCase *icrs = tcase_create("icr");
	TCase *prio = tcase_create("priority");
	TCase *conc = tcase_create("concurrent");
	TCase *req = tcase_create("requests");

	tcase_add_checked_fixture(msr, setup, NULL);
	tcase_add_test(msr, reset_state_follows_the_guest_abi);
	tcase_add_test(msr,
		       version_reports_integrated_apic_with_six_lvt_entries_and_no_directed_eoi);
	tcase_add_test(msr, writes_to_read_only_registers_raise_gp);
	tcase_add_test(msr, reads_of_write_only_registers_raise_gp);
	tcase_add_test(msr, tpr_keeps_bits_7_0_and_reserved_bits_raise_gp);
	tcase_add_test(msr, svr_keeps_bits_8_0_and_reserved_bits_raise_gp);
	tcase_add_test(msr, eoi_write_of_nonzero_raises_gp_and_leaves_isr_alone);
	tcase_add_test(msr, self_ipi_reserved_bits_raise_gp_and_send_nothing);
	tcase_add_test(msr, reserved_x2apic_addresses_raise_gp_both_ways);
	tcase_add_test(msr, unmodelled_apic_registers_and_other_msrs_are_not_mine);
	tcase_add_test(msr, irr_and_isr_registers_hold_32_vectors_each);
	suite_add_tcase(s, msr);

	tcase_add_checked_fixture(icrs, setup, NULL);
	tcase_add_test(icrs, icr_without_shorthand_sends_to_the_x2apic_id_in_bits_63_32);
	tcase_add_test(icrs, icr_self_shorthand_targets_the_sender_whatever_the_destination);
	tcase_add_test(icrs, icr_all_including_self_reaches_every_apic);
	tcase_add_test(icrs, icr_all_excluding_self_reaches_every_apic_but_the_sender);
	tcase_add_test(icrs, icr_destination_ffffffff_broadcasts_including_self);
	tcase_add_test(icrs, ipi_targets_follow_each_shorthand);
	tcase_add_test(icrs, icr_reserved_bits_raise_gp_and_send_nothing);
	tcase_add_test(icrs, icr_bit_12_is_ignored_and_reads_back_clear);
	tcase_add_test(icrs, icr_non_fixed_delivery_modes_send_nothing);
	tcase_add_test(icrs, icr_logical_destination_sends_nothing_unless_broadcast_or_shorthand);
	tcase_add_test(icrs, illegal_vectors_0_to_15_are_neither_sent_nor_accepted);
	tcase_add_test(icrs, icr_reads_back_the_last_write);
	tcase_add_test(icrs, ipis_without_a_send_callback_are_discarded);
	tcase_add_test(icrs, self_ipi_is_in_the_irr_when_the_wrmsr_returns);
	tcase_add_test(icrs, self_ipi_with_a_pending_vector_coalesces);
	suite_add_tcase(s, icrs);

	tcase_add_checked_fixture(prio, setup, NULL);
	tcase_add_test(prio, pending_is_the_highest_irr_vector);
	tcase_add_test(prio, ack_moves_the_vector_from_irr_to_isr);
	tcase_add_test(prio, tpr_masks_its_class_and_below_whatever_its_sub_class);
	tcase_add_test(prio, class_1_vectors_are_delivered_when_nothing_masks_them);
	tcase_add_test(prio, in_service_class_masks_equal_and_lower_classes);
	tcase_add_test(prio, ppr_is_tpr_or_the_in_service_class_whichever_is_higher);
	tcase_add_test(prio, eoi_ends_nested_interrupts_highest_first);
	tcase_add_test(prio, eoi_with_nothing_in_service_changes_nothing);
	tcase_add_test(prio, software_disabled_apic_holds_its_irr_and_delivers_nothing);
	tcase_add_test(prio, software_disabled_apic_still_sends_ipis);
	suite_add_tcase(s, prio);

	tcase_add_checked_fixture(conc, setup, NULL);
	tcase_add_test(conc, concurrent_accepts_set_every_vector_and_lose_none);
	tcase_add_test(
		conc,
		concurrent_accepts_while_the_owner_delivers_deliver_each_vector_once_per_round);
	suite_add_tcase(s, conc);

	tcase_add_checked_fixture(req, vm_setup, vm_teardown);
	tcase_add_test(req, ipi_to_a_halted_vcpu_posts_event_and_wakes_it);
	tcase_add_test(req, broadcast_excluding_self_posts_event_to_every_other_vcpu);
	tcase_add_test(req, ipi_to_a_software_disabled_apic_posts_no_request);
	suite_add_tcase(s, req);
	return s;
}

int main(void)
{
	return run_suite(apic_suite());
}
