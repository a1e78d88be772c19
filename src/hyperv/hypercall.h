/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V hypercall ABI for the TLB flush calls (TLFS; GUEST_ABI §8;
 * docs/hyperv.md): the control word, the input layouts read from guest
 * memory, processor masks and sparse VP sets, and their validation. Pure:
 * guest memory comes through a callback, and nothing is flushed here.
 */
#ifndef RV_HYPERV_HYPERCALL_H
#define RV_HYPERV_HYPERCALL_H

#include <stddef.h>
#include <stdint.h>

#include "reqvisor/hv_fifo.h"
#include "reqvisor/mask.h"

#define RV_HV_STATUS_SUCCESS	   0
#define RV_HV_STATUS_INVALID_CODE  2 /* HV_STATUS_INVALID_HYPERCALL_CODE */
#define RV_HV_STATUS_INVALID_INPUT 3 /* HV_STATUS_INVALID_HYPERCALL_INPUT */

#define RV_HVCALL_FLUSH_SPACE	 0x0002
#define RV_HVCALL_FLUSH_LIST	 0x0003
#define RV_HVCALL_FLUSH_SPACE_EX 0x0013
#define RV_HVCALL_FLUSH_LIST_EX	 0x0014

#define RV_HV_FLUSH_ALL_PROCESSORS	     1ull
#define RV_HV_FLUSH_ALL_ADDRESS_SPACES	     2ull
#define RV_HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY 4ull

#define RV_HV_SET_SPARSE 0 /* valid-bank mask, then the present banks */
#define RV_HV_SET_ALL	 1

/* The fields of the control word (RCX). */
struct rv_hv_control {
	uint16_t code;
	bool fast;
	uint16_t var_qwords; /* variable header size, in 8-byte units */
	uint16_t rep_count, rep_start;
};

void rv_hv_decode_control(uint64_t rcx, struct rv_hv_control *c);

/* A flush the hypercall asks for, ready to queue. */
struct rv_hv_flush {
	struct rv_vcpu_mask targets;
	unsigned nr_entries; /* 0: flush everything (a flush-all entry) */
	uint64_t entries[RV_HV_FIFO_SIZE - 1];
	/* What the guest may rely on, for the oracle: a Space call covers the
	 * address space; a List call its GVA list, of which the first
	 * @nr_listed entries are in @entries (a longer list is queued as a
	 * flush-all, and the rest of it is not judged). */
	bool space;
	unsigned nr_listed;
	uint64_t address_space, flags;
	uint16_t reps; /* reps completed, for RAX */
};

/* Copy @len bytes of guest-physical memory at @gpa: 0, or -1 outside RAM. */
typedef int (*rv_hv_read_fn)(void *ctx, uint64_t gpa, void *dst, size_t len);

/*
 * Decode and validate one flush hypercall against @nr_vcpus. Returns an
 * HV_STATUS: SUCCESS with @out filled, INVALID_CODE for a call that is not
 * one of the four flushes, INVALID_INPUT for a malformed one (@out is then
 * meaningless and nothing may be flushed).
 */
uint16_t rv_hv_parse_flush(const struct rv_hv_control *c, uint64_t input_gpa, uint32_t nr_vcpus,
			   rv_hv_read_fn read, void *ctx, struct rv_hv_flush *out);

/* RAX for a status and a count of completed reps. */
static inline uint64_t rv_hv_result(uint16_t status, uint16_t reps)
{
	return status | (uint64_t)reps << 32;
}

#endif
