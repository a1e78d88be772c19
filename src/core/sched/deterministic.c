// SPDX-License-Identifier: MIT
/*
 * The deterministic executor: one host thread simulates every pCPU. At each
 * step a PRNG seeded from the VM's seed picks the pCPU that advances; with
 * the same seed every run makes the same choices and so the same trace.
 */
#include "pcpu.h"

static uint64_t next_rand(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void deliver_delayed_ipis(struct rv_vm *vm)
{
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		struct rv_pcpu *p = vm->pcpus[i];

		if (p->ipi_delay && --p->ipi_delay == 0)
			atomic_store_explicit(&p->ipi, 1, memory_order_relaxed);
	}
}

/* Only vCPUs act here, so when none is loaded or queued and every live one
 * is blocked, nothing can ever wake them. */
static bool hung(struct rv_vm *vm)
{
	for (uint32_t i = 0; i < vm->nr_pcpus; i++)
		if (vm->pcpus[i]->cur || vm->pcpus[i]->ipi_delay)
			return false;
	return !rv_sched_any_queued(vm) &&
	       atomic_load(&vm->nr_blocked) == atomic_load(&vm->nr_live);
}

int rv_exec_deterministic_run(struct rv_vm *vm)
{
	uint32_t idle = 0;

	while (atomic_load(&vm->state) == RV_VM_RUNNING) {
		vm->det_step++;
		deliver_delayed_ipis(vm);
		uint32_t i = (uint32_t)(next_rand(&vm->det_rng) % vm->nr_pcpus);

		rv_trace(vm, RV_TRACE_STEP, i, 0);
		if (rv_pcpu_step(vm->pcpus[i])) {
			idle = 0;
			continue;
		}
		if (++idle >= vm->nr_pcpus * 4 && hung(vm))
			rv_vm_set_state(vm, RV_VM_HUNG);
	}
	return 0;
}
