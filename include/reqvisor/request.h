/* SPDX-License-Identifier: MIT */
/*
 * Requests: per-vCPU bits that ask a vCPU to do something before its next
 * hardware entry.
 *
 * Ordering contract between a vCPU's bitmap and its mode (the reason a request
 * can never be lost):
 *
 *   poster                              vCPU (dispatch loop)
 *   ------                              --------------------
 *   write request payload               clear pCPU IPI word
 *   set bit          (seq_cst RMW)      mode = IN_GUEST    (seq_cst store)
 *   read mode        (seq_cst load)     read requests      (seq_cst load)
 *   if IN_GUEST: cmpxchg to EXITING,    if pending or mode == EXITING:
 *                then send the IPI         mode = OUTSIDE, service, retry
 *
 * Both sides store then load with sequential consistency, so at least one of
 * them sees the other: either the vCPU sees the bit before it enters, or the
 * poster sees IN_GUEST and kicks it out. Servicing clears the bit with a
 * seq_cst read-modify-write, which acts as the full barrier after the clear:
 * RMWs of one word are totally ordered, so a later post of the same request
 * either comes after the clear (its bit stays set and is serviced again) or
 * before it (the clear synchronizes with it and its payload is visible).
 *
 * The functions below are the only code that touches vcpu->requests: make,
 * test, clear, check and pending, plus the fence a NO_ACTION kick needs.
 */
#ifndef REQVISOR_REQUEST_H
#define REQVISOR_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "reqvisor/vcpu.h"

#define RV_REQ_NR_MASK	 0xffu
#define RV_REQ_NO_WAKEUP (1u << 8)
#define RV_REQ_WAIT	 (1u << 9)
#define RV_REQ_NO_ACTION (1u << 10)

enum rv_request_bit {
#define RV_REQUEST(name, flags, meaning) RV_REQ_BIT_##name,
#include "reqvisor/requests.def"
#undef RV_REQUEST
	RV_NR_REQUESTS
};

_Static_assert(RV_NR_REQUESTS <= 64, "requests must fit one 64-bit word");

/* A request value: bit number in bits 7:0, flags above. */
enum rv_request {
#define RV_REQUEST(name, flags, meaning) RV_REQ_##name = RV_REQ_BIT_##name | (flags),
#include "reqvisor/requests.def"
#undef RV_REQUEST
	/* Sets no bit: only forces the targets out of guest mode and waits. */
	RV_REQ_OUTSIDE_GUEST_MODE = RV_REQ_NO_ACTION | RV_REQ_WAIT | RV_REQ_NO_WAKEUP,
};

/* Bits whose requests wake a halted vCPU (those posted without NO_WAKEUP). */
static inline uint64_t rv_request_wake_mask(void)
{
	return 0ull
#define RV_REQUEST(name, flags, meaning) \
	| (((flags)&RV_REQ_NO_WAKEUP) ? 0ull : 1ull << RV_REQ_BIT_##name)
#include "reqvisor/requests.def"
#undef RV_REQUEST
		;
}

static inline unsigned rv_request_nr(uint32_t req)
{
	return req & RV_REQ_NR_MASK;
}

const char *rv_request_name(unsigned nr);
uint32_t rv_request_flags(unsigned nr);

/*
 * Post a request. Returns false when the bit was already pending (the post
 * was coalesced into it; counted in the vCPU's statistics). Never pass a
 * NO_ACTION request: it has no bit.
 */
static inline bool rv_make_request(struct rv_vcpu *vcpu, uint32_t req)
{
	unsigned nr = rv_request_nr(req);
	uint64_t bit = 1ull << nr;

	/* seq_cst: a release for the payload, and the store half of the
	 * Dekker pairing with the entry path (a locked BTS on x86). */
	if (__builtin_expect(
		    !(atomic_fetch_or_explicit(&vcpu->requests, bit, memory_order_seq_cst) & bit),
		    1))
		return true;
	atomic_fetch_add_explicit(&vcpu->coalesced[nr], 1, memory_order_relaxed);
	return false;
}

static inline bool rv_test_request(const struct rv_vcpu *vcpu, unsigned nr)
{
	return atomic_load_explicit(&vcpu->requests, memory_order_acquire) & (1ull << nr);
}

static inline void rv_clear_request(struct rv_vcpu *vcpu, unsigned nr)
{
	atomic_fetch_and_explicit(&vcpu->requests, ~(1ull << nr), memory_order_relaxed);
}

/* Test, and only if set, clear with a full barrier (not one atomic
 * test-and-clear: the common case of a clear bit stays a plain load). */
static inline bool rv_check_request(struct rv_vcpu *vcpu, unsigned nr)
{
	if (!rv_test_request(vcpu, nr))
		return false;
	atomic_fetch_and_explicit(&vcpu->requests, ~(1ull << nr), memory_order_seq_cst);
	return true;
}

/* The pending bits among @mask. A seq_cst load: the load half of the entry
 * path's Dekker pairing (on x86 as cheap as a relaxed load). */
static inline uint64_t rv_request_pending_mask(const struct rv_vcpu *vcpu, uint64_t mask)
{
	return atomic_load_explicit(&vcpu->requests, memory_order_seq_cst) & mask;
}

static inline bool rv_request_pending(const struct rv_vcpu *vcpu)
{
	return rv_request_pending_mask(vcpu, ~0ull) != 0;
}

/* A NO_ACTION kick sets no bit, but still needs the store half of the Dekker
 * pairing before it reads the target's mode: a seq_cst RMW of the word. */
static inline void rv_request_fence(struct rv_vcpu *vcpu)
{
	atomic_fetch_or_explicit(&vcpu->requests, 0, memory_order_seq_cst);
}

#endif
