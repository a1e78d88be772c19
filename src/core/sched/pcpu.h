/* SPDX-License-Identifier: MIT */
/* pCPUs, their run queues, and what both executors share. */
#ifndef RV_SCHED_PCPU_H
#define RV_SCHED_PCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../kick.h"
#include "../vm_impl.h"

struct rv_runqueue {
	pthread_mutex_t lock;
	uint32_t head;
	uint32_t cap;
	_Atomic uint32_t len; /* read without the lock by idle checks */
	struct rv_vcpu **slot;
};

struct rv_pcpu {
	/* Polled by the guest at every step boundary: the "IPI". */
	_Alignas(64) _Atomic uint32_t ipi;
	/* Idle sleep: the worker waits on futex_word while idle is set. */
	_Alignas(64) _Atomic uint32_t futex_word;
	_Atomic int idle;
	_Alignas(64) uint32_t index;
	int node;
	int host_cpu;
	uint32_t ipi_delay; /* deterministic executor: steps until a delayed IPI */
	struct rv_vm *vm;
	struct rv_vcpu *cur;	 /* the loaded vCPU; only this pCPU's thread writes it */
	_Atomic uint32_t loaded; /* cur != NULL, for readers on other threads */
	struct rv_runqueue rq;
	struct rv_waitset ws; /* the loaded vCPU's WAIT broadcast */
	pthread_t thread;
};

enum rv_vcpu_phase {
	RV_PHASE_HOST,	/* outside guest mode: service requests, then enter */
	RV_PHASE_GUEST, /* in guest mode */
	RV_PHASE_WAIT,	/* outside guest mode, waiting for a broadcast's targets */
	RV_PHASE_WALK,	/* READING_SHADOW_PAGE_TABLES */
	/* Deterministic executor: requests serviced, the entry is the next
	 * step, so other pCPUs' steps can fall between the two as they can on
	 * hardware (the window the entry's re-check closes). */
	RV_PHASE_ENTRY,
};

int rv_pcpus_create(struct rv_vm *vm);
void rv_pcpus_destroy(struct rv_vm *vm);

/* Run queues. */
void rv_rq_push(struct rv_pcpu *p, struct rv_vcpu *vcpu);
struct rv_vcpu *rv_rq_pop(struct rv_pcpu *p);
struct rv_vcpu *rv_rq_steal(struct rv_pcpu *p);
/* Queue a runnable vCPU where it will run soonest and wake that pCPU. */
void rv_sched_enqueue(struct rv_vm *vm, struct rv_vcpu *vcpu);
bool rv_sched_any_queued(struct rv_vm *vm);

/* One step of the dispatch loop on @p. False when @p found nothing to do. */
bool rv_pcpu_step(struct rv_pcpu *p);

/* The IPI to @p, possibly delayed by fault injection. */
void rv_pcpu_send_ipi(struct rv_pcpu *p, bool delayed);
void rv_pcpu_notify(struct rv_pcpu *p);
void rv_vm_set_state(struct rv_vm *vm, int state);

int rv_exec_threads_run(struct rv_vm *vm);
int rv_exec_deterministic_run(struct rv_vm *vm);

#endif
