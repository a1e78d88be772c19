/* SPDX-License-Identifier: MIT */
/* Broadcasts, kicks and waiting for targets to leave guest mode. */
#ifndef RV_CORE_KICK_H
#define RV_CORE_KICK_H

#include <stdint.h>

#include "vm_impl.h"

struct rv_wait_entry {
	uint32_t index;
	uint32_t exits; /* the target's exit count when it was found in guest mode */
};

/* The targets a WAIT broadcast still waits for. */
struct rv_waitset {
	uint32_t nr;
	uint64_t start;
	struct rv_wait_entry *entry; /* room for the VM's max_vcpus */
};

struct rv_bcast_count {
	unsigned kicks;	  /* targets found IN_GUEST whose mode we flipped */
	unsigned avoided; /* targets not kicked: not in guest mode */
	unsigned dropped;
	unsigned delayed;
	unsigned wakes;
};

/*
 * Post @req to every vCPU in @mask (all when NULL) except @except, kick those
 * in guest mode, wake halted ones unless NO_WAKEUP, and with WAIT record in
 * @ws the targets to wait for.
 */
void rv_broadcast(struct rv_vm *vm, uint32_t req, const struct rv_vcpu_mask *mask,
		  const struct rv_vcpu *except, struct rv_waitset *ws,
		  struct rv_bcast_count *count);

/* Drop the targets that have left guest mode; true when none is left. */
bool rv_waitset_done(struct rv_vm *vm, struct rv_waitset *ws);

/* Make a BLOCKED vCPU runnable and queue it. True if this call woke it. */
bool rv_vcpu_wake(struct rv_vcpu *vcpu);

#endif
