/* SPDX-License-Identifier: MIT */
/* The VM object, shared by src/core and its sched/ subfolder. */
#ifndef RV_CORE_VM_IMPL_H
#define RV_CORE_VM_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "reqvisor/fault.h"
#include "reqvisor/request.h"
#include "reqvisor/vm.h"

enum rv_vm_state { RV_VM_RUNNING, RV_VM_FINISHED, RV_VM_HUNG, RV_VM_DEAD };

struct rv_pcpu;

struct rv_vm {
	struct rv_vm_config cfg;
	struct rv_vendor_ops vendor;
	struct rv_faults faults;
	uint32_t max_vcpus;
	uint32_t nr_pcpus;
	uint32_t nr_nodes;
	unsigned *arena; /* one jemalloc arena per node */

	/* The RCU-protected vCPU set: a slot per index; readers hold
	 * rcu_read_lock(), writers hold set_lock. */
	struct rv_vcpu *_Atomic *slots;
	pthread_mutex_t set_lock;
	char rcu_sync; /* the TSan sync object of the grace period (rcu.h) */

	struct rv_pcpu **pcpus;
	_Atomic uint32_t nr_live;    /* vCPUs not DONE */
	_Atomic uint32_t nr_blocked; /* vCPUs BLOCKED */
	_Atomic int state;
	_Atomic bool started; /* rv_vm_run() was called: new vCPUs get queued */
	_Atomic uint64_t idle_timeouts_with_work;

	/* Deterministic executor: a single thread owns these. */
	bool trace;
	uint64_t trace_hash;
	uint64_t trace_events;
	uint64_t det_step;
	uint64_t det_rng;

	/* Broadcasts from host context, and counters of removed vCPUs. */
	_Atomic uint64_t host_stat[RV_NR_STATS];
	uint64_t retired_stat[RV_NR_STATS];
	uint64_t retired_serviced[64];
	uint64_t retired_covered[64];
	uint64_t retired_coalesced[64];
};

static inline struct rv_vcpu *rv_vm_slot(struct rv_vm *vm, uint32_t index)
{
	return atomic_load_explicit(&vm->slots[index], memory_order_acquire);
}

static inline bool rv_vm_is_deterministic(const struct rv_vm *vm)
{
	return vm->cfg.executor == RV_EXEC_DETERMINISTIC;
}

/*
 * Run @fn(@vcpu, @arg) at @vcpu's next step in the deterministic executor,
 * at once with threads. A breaking fault point that reorders a rule's two
 * halves defers the second, so that other pCPUs' steps can fall between
 * them as they can on hardware; only one can be held per vCPU (a second is
 * run at once).
 */
void rv_vcpu_defer(struct rv_vcpu *vcpu, void (*fn)(struct rv_vcpu *, void *), void *arg);
/* Run what rv_vcpu_defer held, if anything (the next step, or teardown). */
void rv_vcpu_run_late(struct rv_vcpu *vcpu);

/* Scheduling-event trace (deterministic executor only): one hash. */
enum rv_trace_kind {
	RV_TRACE_LOAD = 1,
	RV_TRACE_ENTER,
	RV_TRACE_BACKOFF,
	RV_TRACE_EXIT,
	RV_TRACE_SERVICE,
	RV_TRACE_KICK,
	RV_TRACE_WAKE,
	RV_TRACE_HALT,
	RV_TRACE_DONE,
	RV_TRACE_WAIT_DONE,
	RV_TRACE_STEP,
};

static inline void rv_trace(struct rv_vm *vm, enum rv_trace_kind kind, uint32_t a, uint32_t b)
{
	if (!vm->trace)
		return;
	uint64_t x = vm->trace_hash ^ ((uint64_t)kind << 56 ^ (uint64_t)a << 24 ^ b);

	x *= 0x9e3779b97f4a7c15ull;
	vm->trace_hash = x ^ (x >> 29);
	vm->trace_events++;
}

uint64_t rv_now_ns(void);
int rv_node_arenas_create(struct rv_vm *vm);
void rv_node_arenas_destroy(struct rv_vm *vm);
/* Whether node arenas bind their pages to the node (jemalloc builds). */
bool rv_node_pages_bound(void);
void *rv_node_zalloc(struct rv_vm *vm, int node, size_t size);
void rv_node_free(void *p);

#endif
