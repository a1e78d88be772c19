/* SPDX-License-Identifier: MIT */
/* The vCPU object: what posters touch first, then what its pCPU owns. */
#ifndef REQVISOR_VCPU_H
#define REQVISOR_VCPU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "reqvisor/hv_fifo.h"

/* Values mirror KVM's vcpu->mode. */
enum rv_vcpu_mode {
	RV_OUTSIDE_GUEST_MODE = 0,
	RV_IN_GUEST_MODE = 1,
	RV_EXITING_GUEST_MODE = 2,
	RV_READING_SHADOW_PAGE_TABLES = 3,
};

/* Scheduling state, owned by the run-queue protocol (src/core/sched). */
enum rv_run_state {
	RV_VCPU_RUNNABLE, /* on a run queue or loaded on a pCPU */
	RV_VCPU_BLOCKED,  /* halted, on no queue; a wake makes it RUNNABLE */
	RV_VCPU_DONE,	  /* finished; never runs again */
};

enum rv_stat_id {
#define RV_STAT(name, meaning) RV_STAT_##name,
#include "reqvisor/stats.def"
#undef RV_STAT
	RV_NR_STATS
};

struct rv_vm;
struct rv_pcpu;

/*
 * Counters with one writer (the pCPU that has the vCPU loaded) and readers
 * anywhere: a relaxed load and store, not a locked add, so counting costs a
 * plain increment and progress reads during a run are not data races.
 */
static inline void rv_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t rv_counter(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

struct rv_vcpu {
	/* Line 0: the request word and everything a poster or kicker reads. */
	_Atomic uint64_t requests;
	_Atomic int mode;
	_Atomic uint32_t exits; /* bumped on every return to OUTSIDE_GUEST */
	_Atomic int run_state;
	struct rv_pcpu *_Atomic pcpu; /* the pCPU it is loaded on (or was) */
	uint32_t index;
	int node;
	struct rv_vm *vm;

	/* Written only by posters whose post found the bit already set. */
	_Alignas(64) _Atomic uint64_t coalesced[64];

	/* Hyper-V flush FIFOs (L1, L2): pushed by any vCPU's hypercall. */
	_Alignas(64) struct rv_hv_fifo hv_fifo[RV_HV_NR_MODES];

	/* Owned by the pCPU that has the vCPU loaded. */
	_Alignas(64) int phase;
	int pending_exit; /* a halt or finish held back by a WAIT broadcast */
	/* Run once the vCPU's WAIT broadcast is done (a host-side change
	 * finishing after its remote flush), then cleared. */
	void (*after_wait)(struct rv_vcpu *vcpu);
	/* A breaking fault point's second half, held for the vCPU's next step
	 * (rv_vcpu_defer), then cleared. */
	void (*late)(struct rv_vcpu *vcpu, void *arg);
	void *late_arg;
	int was_blocked;
	uint32_t slice_left;
	uint32_t walk_left;
	struct rv_pcpu *last_pcpu;
	enum rv_hv_mode hv_mode; /* whose FIFO HV_TLB_FLUSH drains: L2 in a nested guest */
	void *backend_data;
	uint64_t serviced[64];
	uint64_t covered[64]; /* cleared unserviced by a superset request */
	uint64_t stat[RV_NR_STATS];
	/* The last requests serviced, newest at trail_next - 1: for reports. */
	uint8_t trail[8];
	uint32_t trail_next;
};

/* The last requests the vCPU serviced, newest first ("none"). */
void rv_vcpu_format_trail(const struct rv_vcpu *v, char *buf, size_t len);
/* One line on the vCPU's state (scheduling state, mode, phase, pending
 * requests, exits, the last requests serviced, what the backend adds), for
 * a watchdog reading it from another thread: a snapshot. */
void rv_vcpu_describe(struct rv_vcpu *v, char *buf, size_t len);

#endif
