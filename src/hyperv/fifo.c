// SPDX-License-Identifier: MIT
/*
 * The per-vCPU Hyper-V flush FIFO. The rule of KVM's kvm_hv_vcpu_flush_tlb
 * producers: a batch goes in whole only if one slot stays free afterwards,
 * so that a flush-all entry always fits; a FIFO that is full therefore
 * already ends in one, and a full guest flush covers whatever else came.
 */
#include <string.h>

#include "reqvisor/hv_fifo.h"

static void lock(struct rv_hv_fifo *f)
{
	while (atomic_exchange_explicit(&f->lock, true, memory_order_acquire))
		__builtin_ia32_pause();
}

static void unlock(struct rv_hv_fifo *f)
{
	atomic_store_explicit(&f->lock, false, memory_order_release);
}

bool rv_hv_fifo_push(struct rv_hv_fifo *f, const uint64_t *entries, unsigned n)
{
	bool whole;

	lock(f);
	whole = n && n < RV_HV_FIFO_SIZE - f->count;
	if (whole) {
		memcpy(&f->entry[f->count], entries, n * sizeof(*entries));
		f->count += n;
	} else if (f->count < RV_HV_FIFO_SIZE) {
		f->entry[f->count++] = RV_HV_FLUSH_ALL_ENTRY;
	}
	unlock(f);
	return whole;
}

unsigned rv_hv_fifo_take(struct rv_hv_fifo *f, uint64_t out[RV_HV_FIFO_SIZE])
{
	unsigned n;

	lock(f);
	n = f->count;
	memcpy(out, f->entry, n * sizeof(*out));
	f->count = 0;
	unlock(f);
	return n;
}

bool rv_hv_fifo_reset(struct rv_hv_fifo *f)
{
	bool had;

	lock(f);
	had = f->count != 0;
	f->count = 0;
	unlock(f);
	return had;
}
