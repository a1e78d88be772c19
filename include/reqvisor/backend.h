/* SPDX-License-Identifier: MIT */
/*
 * The "hardware entry" interface: what the dispatch loop calls to run guest
 * code. The synthetic backend (src/synthetic) and, later, the software x86-64
 * CPU implement it.
 */
#ifndef REQVISOR_BACKEND_H
#define REQVISOR_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct rv_vcpu;

enum rv_exit {
	RV_EXIT_NONE,	 /* budget used up, still in guest mode (stepping) */
	RV_EXIT_KICK,	 /* the pCPU's IPI word was seen set */
	RV_EXIT_SLICE,	 /* the time slice ended */
	RV_EXIT_PREEMPT, /* the host preempted the vCPU */
	RV_EXIT_HALT,	 /* the guest halted */
	RV_EXIT_DONE,	 /* the guest finished */
	RV_EXIT_BACKEND, /* the backend has work outside guest mode */
};

struct rv_backend_ops {
	const char *name;
	int (*vcpu_init)(struct rv_vcpu *vcpu);
	void (*vcpu_free)(struct rv_vcpu *vcpu);
	/*
	 * Run at most @budget guest steps; store how many ran in @used. Poll
	 * @ipi at every step boundary and return RV_EXIT_KICK when it is set.
	 */
	enum rv_exit (*run)(struct rv_vcpu *vcpu, const _Atomic uint32_t *ipi, uint32_t budget,
			    uint32_t *used);
	/*
	 * Handle an RV_EXIT_BACKEND exit outside guest mode. Returns
	 * RV_EXIT_NONE to go on, RV_EXIT_HALT or RV_EXIT_DONE.
	 */
	enum rv_exit (*handle_exit)(struct rv_vcpu *vcpu);
	/* Whether a halted vCPU has an event that lets it run again. */
	bool (*has_event)(struct rv_vcpu *vcpu);
	/* The EVENT request: re-evaluate pending events before entry. */
	void (*on_event)(struct rv_vcpu *vcpu);
	/* Optional: this vCPU's backend statistics as the members of a JSON
	 * object (no braces), for --stats. */
	void (*stats_json)(struct rv_vcpu *vcpu, FILE *out);
	/* Optional: the backend's VM-wide statistics, likewise (members of
	 * the "backend" object of the VM). */
	void (*vm_stats_json)(void *backend_ctx, FILE *out);
	/* Optional: where the vCPU's guest is ("RIP 0x..., L2"), for
	 * rv_vcpu_describe(); read from another thread. */
	void (*describe)(struct rv_vcpu *vcpu, char *buf, size_t len);
};

#endif
