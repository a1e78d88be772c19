/* SPDX-License-Identifier: MIT */
/* VM lifecycle, the vCPU set, and the broadcast API. */
#ifndef REQVISOR_VM_H
#define REQVISOR_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reqvisor/backend.h"
#include "reqvisor/mask.h"
#include "reqvisor/vcpu.h"
#include "reqvisor/vendor.h"

enum rv_executor {
	RV_EXEC_THREADS,       /* one worker thread per pCPU, truly parallel */
	RV_EXEC_DETERMINISTIC, /* one thread interleaves every pCPU from a seed */
};

enum rv_coalesce {
	RV_COALESCE_IMPROVED, /* KVM's rules and reqvisor's C8, C9 */
	RV_COALESCE_KVM,      /* KVM's rules alone */
};

struct rv_vm_config {
	uint32_t nr_vcpus;  /* vCPUs created at start (1 .. RV_MAX_VCPUS) */
	uint32_t max_vcpus; /* capacity of the vCPU set; 0: nr_vcpus */
	uint32_t nr_pcpus;  /* 1 .. 1024 */
	uint32_t nr_nodes;  /* declared NUMA nodes; 0: the host's */
	enum rv_executor executor;
	uint64_t seed;
	uint32_t slice;	    /* guest steps per time slice; 0: default */
	const char *faults; /* fault spec, or NULL */
	bool pin;	    /* pin worker threads to host CPUs */
	bool trace;	    /* hash every scheduling event (deterministic only) */
	/* TDP off: HV_TLB_FLUSH always becomes a full guest flush, since
	 * shadow paging cannot flush one address of a FIFO cheaply (KVM). */
	bool shadow_paging;
	/* Coalescing rules: reqvisor's (the default) or KVM's alone, for
	 * comparison (docs/requests.md C8, C9). */
	enum rv_coalesce coalesce;
	const struct rv_backend_ops *backend;
	const struct rv_vendor_ops *vendor; /* NULL: the null vendor */
	void *backend_ctx;		    /* for the backend's use */
};

#define RV_DEFAULT_SLICE 256

struct rv_vm;

/* Returns 0, or -1 with a message in @err. */
int rv_vm_create(const struct rv_vm_config *cfg, struct rv_vm **out, char *err, size_t errlen);
void rv_vm_destroy(struct rv_vm *vm);

/* Run until every vCPU is done (0), the VM hangs with every vCPU halted (-1),
 * or the VM is killed (-2). */
int rv_vm_run(struct rv_vm *vm);

/* Stop a running VM from any host thread: post VM_DEAD to every vCPU (kicking
 * those in guest mode) and end the run; rv_vm_run() then returns -2. */
void rv_vm_kill(struct rv_vm *vm);

/* End a running VM as finished (the guest asked to stop): like rv_vm_kill(),
 * but rv_vm_run() returns 0. */
void rv_vm_stop(struct rv_vm *vm);

const struct rv_vm_config *rv_vm_config(const struct rv_vm *vm);
void *rv_vm_backend_ctx(const struct rv_vm *vm);
uint32_t rv_vm_nr_vcpus(const struct rv_vm *vm);
uint32_t rv_vm_nr_pcpus(const struct rv_vm *vm);
uint64_t rv_vm_trace_hash(const struct rv_vm *vm);
uint64_t rv_vm_trace_events(const struct rv_vm *vm);

/* The vCPU set. Lookups outside an RCU read-side section are valid only
 * while nobody can remove the vCPU. */
struct rv_vcpu *rv_vm_vcpu(struct rv_vm *vm, uint32_t index);
int rv_vm_add_vcpu(struct rv_vm *vm, uint32_t index);
/* The vCPU must not be loaded or queued (halted, done, or never run). It is
 * freed after an RCU grace period. */
int rv_vm_remove_vcpu(struct rv_vm *vm, uint32_t index);

/* Post @req to one vCPU and kick it (wake it, unless NO_WAKEUP). Returns
 * whether an IPI was sent. Never waits. */
bool rv_make_request_and_kick(struct rv_vcpu *vcpu, uint32_t req);
void rv_vcpu_kick(struct rv_vcpu *vcpu);

/*
 * Broadcasts from host context. With WAIT, return only when every target that
 * was not OUTSIDE_GUEST has left guest mode at least once. Return whether any
 * IPI was sent. Must not be called from a deterministic executor's step.
 */
bool rv_make_all_vcpus_request(struct rv_vm *vm, uint32_t req);
bool rv_make_vcpus_request_mask(struct rv_vm *vm, uint32_t req, const struct rv_vcpu_mask *mask);

/*
 * Broadcast from a vCPU's exit handler. With WAIT, the waiting is done by the
 * dispatch loop: @self does not enter the guest again until every target has
 * left guest mode. @self itself is never a target.
 */
bool rv_vcpu_make_vcpus_request_mask(struct rv_vcpu *self, uint32_t req,
				     const struct rv_vcpu_mask *mask);

/* From an exit handler: enter READING_SHADOW_PAGE_TABLES for @steps steps;
 * WAIT broadcasts wait for the walk to end. */
void rv_vcpu_begin_walk(struct rv_vcpu *vcpu, uint32_t steps);

/* How many vCPUs are live (not done), halted, and loaded on a pCPU now:
 * a snapshot for progress lines, read without stopping anything. */
void rv_vm_vcpu_counts(struct rv_vm *vm, uint32_t *live, uint32_t *halted, uint32_t *loaded);

/* Statistics. */
void rv_vm_stats_json(struct rv_vm *vm, FILE *out);
uint64_t rv_vm_stat(struct rv_vm *vm, enum rv_stat_id id);
uint64_t rv_vm_requests_serviced(struct rv_vm *vm, unsigned nr);
uint64_t rv_vm_requests_coalesced(struct rv_vm *vm, unsigned nr);
uint64_t rv_vm_requests_covered(struct rv_vm *vm, unsigned nr);
uint64_t rv_vm_requests_posted(struct rv_vm *vm, unsigned nr);
uint64_t rv_vm_fault_fired(struct rv_vm *vm, int fault);
/* Idle workers that woke by their timer and found queued work: a lost
 * wake-up. Always 0 unless the idle protocol is broken. */
uint64_t rv_vm_lost_wakeups(struct rv_vm *vm);

#endif
