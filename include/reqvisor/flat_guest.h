/* SPDX-License-Identifier: MIT */
/*
 * Guest code on the software CPU over one flat block of host memory,
 * identity-mapped from GPA 0: the smallest machine that lets the scheduler
 * run real x86-64 code. The full machine (memslots, paging, the TLB, devices,
 * ELF images) replaces it; tests and benchmarks use it until then.
 *
 * Every vCPU starts at @entry in the GUEST_ABI §3 CPU state, with the GPRs
 * of @gpr, then RDI = its index, RSI = the number of vCPUs and RSP = @stack_top
 * - index * @stack_size. `out` to port 0xf4 stops the vCPU (its exit
 * status is the value written); HLT halts it until a request wakes it.
 * An exception that cannot be delivered is a triple fault: it stops the
 * whole VM (rv_vm_run() returns -2) and the first one is reported in
 * @failure.
 */
#ifndef REQVISOR_FLAT_GUEST_H
#define REQVISOR_FLAT_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "reqvisor/backend.h"

struct rv_flat_guest {
	uint8_t *mem;
	uint64_t size;
	uint64_t entry;
	uint64_t stack_top;
	uint64_t stack_size;
	uint64_t gpr[16];
	_Atomic uint32_t triple_faults; /* vCPUs stopped by a triple fault */
	/* "vCPU 3: triple fault at RIP 0x..., exceptions #PF, #DF", or "". */
	char failure[160];
};

/* rv_vm_config.backend_ctx must point to a struct rv_flat_guest. */
extern const struct rv_backend_ops rv_flat_guest_backend;

/* The CPU of a vCPU run by this backend (for tests and statistics). */
struct rv_cpu *rv_flat_guest_cpu(struct rv_vcpu *vcpu);

#endif
