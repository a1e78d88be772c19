/* SPDX-License-Identifier: MIT */
/* Queueing a Hyper-V flush on its targets (docs/hyperv.md). */
#ifndef RV_HYPERV_FLUSH_H
#define RV_HYPERV_FLUSH_H

#include "hypercall.h"
#include "reqvisor/vcpu.h"

/*
 * From @self's exit handler: push @f into the FIFO of @self's mode on every
 * target, post HV_TLB_FLUSH (WAIT | NO_WAKEUP) to them, and kick those in
 * guest mode. @self does not enter the guest again before every kicked
 * target left guest mode; halted and preempted targets are not waited for,
 * since they service the request before their next entry. Returns how many
 * targets fell back to a flush-all entry (a full FIFO).
 */
unsigned rv_hv_flush_post(struct rv_vcpu *self, const struct rv_hv_flush *f);

#endif
