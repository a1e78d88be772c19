// SPDX-License-Identifier: MIT
/*
 * The machine's side of the CPU: guest-virtual addresses through the guest's
 * page tables, the ports of the guest ABI (0xE9 console, 0xF4 exit), MSRs
 * (the x2APIC), interrupts waiting for IF, IPIs, and the hypercall hook.
 */
#include <inttypes.h>
#include <string.h>

#include "machine_impl.h"
#include "reqvisor/request.h"
#include "reqvisor/vm.h"
#include "vm_impl.h"

#define PORT_CONSOLE 0xe9
#define PORT_EXIT    0xf4

static void console_flush_line(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;

	pthread_mutex_lock(&m->console_lock);
	if (m->cfg.console_prefix)
		fprintf(m->console, "[%u] ", mv->vcpu->index);
	fwrite(mv->line, 1, mv->line_len, m->console);
	fputc('\n', m->console);
	pthread_mutex_unlock(&m->console_lock);
	mv->line_len = 0;
}

static void console_byte(struct machine_vcpu *mv, uint8_t b)
{
	if (b == '\n') {
		console_flush_line(mv);
		return;
	}
	mv->line[mv->line_len++] = (char)b;
	if (mv->line_len == CONSOLE_LINE)
		console_flush_line(mv);
}

static void note_unknown_port(struct rv_machine *m, uint16_t port)
{
	atomic_fetch_or(&m->unknown_ports[port / 64], 1ull << (port % 64));
}

/* Port I/O of GUEST_ABI §4: true stops the CPU (the guest is exiting). */
static bool port_io(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *io)
{
	struct machine_vcpu *mv = ctx;

	(void)cpu;
	if (io->in) {
		io->value = 0xffffffffu;
		note_unknown_port(mv->m, io->port);
		return false;
	}
	if (io->port == PORT_CONSOLE) {
		console_byte(mv, (uint8_t)io->value);
		return false;
	}
	if (io->port != PORT_EXIT) {
		note_unknown_port(mv->m, io->port);
		return false;
	}
	atomic_store(&mv->m->exit_status, io->value);
	atomic_store(&mv->m->exited, true);
	rv_vm_stop(mv->vcpu->vm);
	return true;
}

/* In a nested guest: RV_MSR_INTERCEPTED when L1 intercepts the access. */
static int nested_msr_access(struct machine_vcpu *mv, uint32_t msr, bool write)
{
	if (!mv->m->cfg.nested)
		return 1;
	return mv->m->svm ? rv_machine_nsvm_msr_access(mv, msr, write)
			  : rv_machine_nvmx_msr_access(mv, msr, write);
}

static int rdmsr(void *ctx, struct rv_cpu *cpu, uint32_t msr, uint64_t *v)
{
	struct machine_vcpu *mv = ctx;
	int rc = nested_msr_access(mv, msr, false);

	(void)cpu;
	if (rc <= 0)
		return rc;
	if (mv->m->cfg.nested && (mv->m->svm ? rv_machine_nsvm_rdmsr(mv, msr, v)
					     : rv_machine_nvmx_rdmsr(mv, msr, v)) == 0)
		return 0;
	rc = mv->m->cfg.hyperv ? rv_machine_hv_rdmsr(mv, msr, v) : 1;
	if (rc <= 0)
		return rc;
	return rv_x2apic_rdmsr(&mv->apic, msr, v) == RV_X2APIC_OK ? 0 : -1;
}

static int wrmsr(void *ctx, struct rv_cpu *cpu, uint32_t msr, uint64_t v)
{
	struct machine_vcpu *mv = ctx;

	(void)cpu;
	int rc = nested_msr_access(mv, msr, true);

	if (rc <= 0)
		return rc;
	if (mv->m->cfg.nested && mv->m->svm && (rc = rv_machine_nsvm_wrmsr(mv, msr, v)) <= 0)
		return rc;
	/* An IPI may announce a page-table write: announce it first. */
	rv_machine_write_done(mv);
	rc = mv->m->cfg.hyperv ? rv_machine_hv_wrmsr(mv, msr, v) : 1;
	if (rc <= 0)
		return rc;
	return rv_x2apic_wrmsr(&mv->apic, msr, v) == RV_X2APIC_OK ? 0 : -1;
}

static bool irq_pending(void *ctx, struct rv_cpu *cpu)
{
	struct machine_vcpu *mv = ctx;

	(void)cpu;
	return rv_x2apic_has_work(&mv->apic);
}

/* The deterministic executor's time stamp is its step count, so that a
 * replay reads the same times (the threads executor reads the host's). */
static uint64_t step_tsc(void *ctx, struct rv_cpu *cpu)
{
	struct machine_vcpu *mv = ctx;

	(void)cpu;
	return mv->vcpu->vm->det_step;
}

void rv_machine_cpu_hooks(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;

	c->vendor_amd = mv->m->cfg.vendor_amd;
	c->tsc_aux = mv->vcpu->index;
	c->mem.ctx = mv;
	c->mem.translate = rv_machine_translate;
	c->mem.unbacked_page = mv->unbacked;
	c->sys.tlb = rv_machine_tlb_event;
	c->sys.ctx = mv;
	c->sys.io = port_io;
	c->sys.rdmsr = rdmsr;
	c->sys.wrmsr = wrmsr;
	c->sys.irq_pending = irq_pending;
	c->sys.cpuid = rv_machine_cpuid;
	if (mv->m->cfg.nested) {
		c->sys.virt = rv_machine_virt;
		c->virt_ext = true;
	}
	if (rv_vm_is_deterministic(mv->vcpu->vm))
		c->sys.tsc = step_tsc;
}

static void deliver_to(struct rv_vcpu *target, uint8_t vector)
{
	struct machine_vcpu *t = target->backend_data;

	/* The bit first, then the request: servicing EVENT, or entering,
	 * finds the vector (and a halted target is woken by the request). */
	if (rv_x2apic_accept(&t->apic, vector))
		rv_make_request_and_kick(target, RV_REQ_EVENT);
}

/* An IPI from the sender's ICR: an EVENT request to each target. */
void rv_machine_send_ipi(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi)
{
	struct machine_vcpu *mv = ctx;
	struct rv_vm *vm = mv->vcpu->vm;
	uint32_t n = rv_vm_nr_vcpus(vm);

	if (ipi->shorthand == RV_X2APIC_DEST_ID || ipi->shorthand == RV_X2APIC_DEST_SELF) {
		struct rv_vcpu *t = ipi->dest < n ? rv_vm_vcpu(vm, ipi->dest) : NULL;

		if (t)
			deliver_to(t, ipi->vector);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct rv_vcpu *t = rv_vm_vcpu(vm, i);

		if (t && rv_x2apic_ipi_targets(ipi, from, i))
			deliver_to(t, ipi->vector);
	}
}

void rv_machine_flush_console(struct rv_vm *vm)
{
	for (uint32_t i = 0; i < rv_vm_nr_vcpus(vm); i++) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		struct machine_vcpu *mv = v ? v->backend_data : NULL;

		if (mv && mv->line_len)
			console_flush_line(mv);
	}
}
