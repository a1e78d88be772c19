/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V flush FIFO of a vCPU (docs/hyperv.md): the addresses that
 * enlightened flush hypercalls asked it to flush, drained by its
 * HV_TLB_FLUSH request. Any vCPU may push; only the owner takes or resets,
 * and always with the lock, so a push never meets a half-taken FIFO.
 */
#ifndef REQVISOR_HV_FIFO_H
#define REQVISOR_HV_FIFO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define RV_HV_FIFO_SIZE 16
/* An entry asking for a full guest flush (KVM's KVM_HV_TLB_FLUSHALL_ENTRY). */
#define RV_HV_FLUSH_ALL_ENTRY UINT64_MAX

enum rv_hv_mode { RV_HV_L1, RV_HV_L2, RV_HV_NR_MODES };

struct rv_hv_fifo {
	atomic_bool lock;
	uint32_t count;
	uint64_t entry[RV_HV_FIFO_SIZE];
};

/*
 * Queue @n entries (a page-aligned GVA whose low 12 bits count additional
 * pages) if they fit with one slot to spare, else one flush-all entry. @n of
 * 0 queues a flush-all entry. Returns false when it fell back to flush-all.
 */
bool rv_hv_fifo_push(struct rv_hv_fifo *f, const uint64_t *entries, unsigned n);
/* Take every entry, leaving the FIFO empty. Returns how many. */
unsigned rv_hv_fifo_take(struct rv_hv_fifo *f, uint64_t out[RV_HV_FIFO_SIZE]);
/* Drop every entry: returns whether there were any. */
bool rv_hv_fifo_reset(struct rv_hv_fifo *f);

#endif
