/* SPDX-License-Identifier: MIT */
/*
 * RCU for the vCPU set (liburcu, "bulletproof" flavour: any thread may read
 * without registering). liburcu is not built with ThreadSanitizer, so TSan
 * cannot see that synchronize_rcu() waits for every earlier reader; under
 * TSan the read-side end releases, and the grace period's end acquires, one
 * sync object per VM, which states exactly that guarantee.
 */
#ifndef RV_CORE_RCU_H
#define RV_CORE_RCU_H

#include <urcu-bp.h>

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#define rv_tsan_release(addr) __tsan_release(addr)
#define rv_tsan_acquire(addr) __tsan_acquire(addr)
#else
#define rv_tsan_release(addr) ((void)(addr))
#define rv_tsan_acquire(addr) ((void)(addr))
#endif

#include "vm_impl.h"

static inline void rv_rcu_read_lock(struct rv_vm *vm)
{
	(void)vm;
	rcu_read_lock();
}

static inline void rv_rcu_read_unlock(struct rv_vm *vm)
{
	rv_tsan_release(&vm->rcu_sync);
	rcu_read_unlock();
}

static inline void rv_rcu_synchronize(struct rv_vm *vm)
{
	synchronize_rcu();
	rv_tsan_acquire(&vm->rcu_sync);
}

#endif
