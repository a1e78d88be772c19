// SPDX-License-Identifier: MIT
/* The flat guest backend: the software CPU behind the hardware-entry
 * interface (include/reqvisor/backend.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cpu.h"
#include "reqvisor/flat_guest.h"
#include "reqvisor/vm.h"

#define EXIT_PORT 0xf4

struct flat_vcpu {
	struct rv_cpu cpu;
};

static struct rv_flat_guest *guest_of(struct rv_vcpu *v)
{
	return rv_vm_backend_ctx(v->vm);
}

static uint8_t *translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	struct rv_flat_guest *g = ctx;

	if (gva < g->size)
		return g->mem + gva;
	*pf = (kind == RV_ACCESS_WRITE ? RV_PF_W : 0) | (kind == RV_ACCESS_FETCH ? RV_PF_I : 0);
	return NULL;
}

static bool io(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *port)
{
	(void)ctx, (void)cpu;
	return !port->in && port->port == EXIT_PORT;
}

static int flat_vcpu_init(struct rv_vcpu *v)
{
	struct rv_flat_guest *g = guest_of(v);
	struct flat_vcpu *f = rv_calloc(1, sizeof(*f));
	struct rv_cpu *c;

	if (!f)
		return -1;
	c = &f->cpu;
	rv_cpu_reset_long_mode(c);
	memcpy(c->gpr, g->gpr, sizeof(c->gpr));
	c->gpr[RV_RDI] = v->index;
	c->gpr[RV_RSI] = rv_vm_nr_vcpus(v->vm);
	c->gpr[RV_RSP] = g->stack_top - v->index * g->stack_size;
	c->rip = g->entry;
	c->mem.ctx = g;
	c->mem.translate = translate;
	c->sys.io = io;
	c->tsc_aux = v->index;
	v->backend_data = f;
	return 0;
}

static void flat_vcpu_free(struct rv_vcpu *v)
{
	struct flat_vcpu *f = v->backend_data;

	if (!f)
		return;
	rv_cpu_destroy(&f->cpu);
	free(f);
	v->backend_data = NULL;
}

/* The first triple fault is the VM's failure report; it stops the VM. */
static void triple_fault(struct rv_vcpu *v, const struct rv_cpu *c)
{
	struct rv_flat_guest *g = guest_of(v);

	if (atomic_fetch_add(&g->triple_faults, 1) == 0)
		rv_cpu_triple_fault_report(c, v->index, g->failure, sizeof(g->failure));
	rv_vm_kill(v->vm);
}

static enum rv_exit flat_run(struct rv_vcpu *v, const _Atomic uint32_t *ipi, uint32_t budget,
			     uint32_t *used)
{
	struct flat_vcpu *f = v->backend_data;
	uint64_t before = f->cpu.instructions;
	enum rv_cpu_exit e = rv_cpu_run(&f->cpu, ipi, budget);

	*used = (uint32_t)(f->cpu.instructions - before);
	switch (e) {
	case RV_CPU_EXIT_BUDGET:
		return RV_EXIT_NONE;
	case RV_CPU_EXIT_KICK:
		return RV_EXIT_KICK;
	case RV_CPU_EXIT_HLT:
		return RV_EXIT_HALT;
	case RV_CPU_EXIT_IO: /* only the exit port stops the CPU */
		return RV_EXIT_DONE;
	case RV_CPU_EXIT_TRIPLE_FAULT:
		triple_fault(v, &f->cpu);
		return RV_EXIT_DONE;
	default: /* a hypercall: nothing is offered yet, so it returns at once */
		return RV_EXIT_BACKEND;
	}
}

static enum rv_exit flat_handle_exit(struct rv_vcpu *v)
{
	(void)v;
	return RV_EXIT_NONE;
}

static void flat_stats_json(struct rv_vcpu *v, FILE *out)
{
	rv_cpu_stats_json(&((struct flat_vcpu *)v->backend_data)->cpu, out);
}

const struct rv_backend_ops rv_flat_guest_backend = {
	.name = "flat guest (software CPU)",
	.vcpu_init = flat_vcpu_init,
	.vcpu_free = flat_vcpu_free,
	.run = flat_run,
	.handle_exit = flat_handle_exit,
	.stats_json = flat_stats_json,
};

struct rv_cpu *rv_flat_guest_cpu(struct rv_vcpu *vcpu)
{
	return &((struct flat_vcpu *)vcpu->backend_data)->cpu;
}
