// SPDX-License-Identifier: MIT
/* The machine (machine.h): boot, the vCPU's CPU and APIC, and run. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apic/x2apic.h"
#include "cpu/cpu.h"
#include "loader/boot.h"
#include "machine_impl.h"
#include "mem/guest_mem.h"
#include "mmu/walk.h"
#include "reqvisor/request.h"
#include "reqvisor/vm.h"
#include "vm_impl.h"

static uint8_t *phys_page(void *ctx, uint64_t gpa)
{
	return rv_gpa_hva(ctx, gpa);
}

static int load(struct rv_machine *m, const struct rv_machine_config *cfg, char *err, size_t errlen)
{
	struct rv_phys_access phys = { m->mem, cfg->mem_size, phys_page };

	if (rv_boot_build(&phys, cfg->nr_vcpus, &m->boot, err, errlen))
		return -1;
	if (rv_elf_load(cfg->image, cfg->image_len, &phys, m->boot.reserved_start, &m->elf, err,
			errlen))
		return -1;
	if (m->elf.has_config) {
		struct rv_guest_config c;

		rv_elf_read_config(&phys, &m->elf, &c);
		c.magic = RV_GUEST_CONFIG_MAGIC;
		c.version = RV_GUEST_CONFIG_VERSION;
		if (cfg->set_rounds)
			c.rounds = cfg->config.rounds;
		if (cfg->set_pages)
			c.pages = cfg->config.pages;
		if (cfg->set_seed)
			c.seed = cfg->config.seed;
		rv_elf_write_config(&phys, &m->elf, &c);
	}
	return 0;
}

struct rv_machine *rv_machine_create(const struct rv_machine_config *cfg, char *err, size_t errlen)
{
	struct rv_guest_mem_config mc = { cfg->mem_size, cfg->nr_nodes ? cfg->nr_nodes : 1, 64 };
	struct rv_machine *m;

	if (rv_boot_check_mem(cfg->mem_size, err, errlen))
		return NULL;
	m = rv_calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->cfg = *cfg;
	if (!m->cfg.oracle_period)
		m->cfg.oracle_period = 64;
	m->console = cfg->console ? cfg->console : stdout;
	pthread_mutex_init(&m->console_lock, NULL);
	pthread_mutex_init(&m->tlb_lock, NULL);
	m->tlb_sets = cfg->tlb_sets ? cfg->tlb_sets : 256;
	m->tlb_ways = cfg->tlb_ways ? cfg->tlb_ways : 8;
	m->mem = rv_guest_mem_create(&mc, err, errlen);
	if (!m->mem || load(m, cfg, err, errlen) || rv_machine_vendor_init(m, err, errlen)) {
		rv_machine_destroy(m);
		return NULL;
	}
	return m;
}

void rv_machine_destroy(struct rv_machine *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; m->tlb && i < m->nr_tlbs; i++) {
		rv_tlb_destroy(m->tlb[i]);
		rv_icache_destroy(m->icache[i]);
	}
	free(m->tlb);
	free(m->icache);
	rv_machine_vendor_destroy(m);
	rv_guest_mem_destroy(m->mem);
	pthread_mutex_destroy(&m->console_lock);
	pthread_mutex_destroy(&m->tlb_lock);
	free(m);
}

bool rv_machine_exited(const struct rv_machine *m, uint32_t *status)
{
	*status = atomic_load(&m->exit_status);
	return atomic_load(&m->exited);
}

uint64_t rv_machine_violations(const struct rv_machine *m, const char **report)
{
	*report = m->violation;
	return atomic_load(&m->violations);
}

const char *rv_machine_failure(const struct rv_machine *m)
{
	return m->failure[0] ? m->failure : NULL;
}

/* ---- the vCPU ---- */

static struct rv_machine *machine_of(struct rv_vcpu *v)
{
	return rv_vm_backend_ctx(v->vm);
}

static int tlbs_init(struct rv_machine *m, uint32_t nr)
{
	int rc = 0;

	pthread_mutex_lock(&m->tlb_lock);
	if (!m->tlb) {
		m->tlb = rv_calloc(nr, sizeof(*m->tlb));
		m->icache = m->tlb ? rv_calloc(nr, sizeof(*m->icache)) : NULL;
		if (!m->icache) {
			free(m->tlb);
			m->tlb = NULL;
		}
		m->nr_tlbs = nr;
		rc = m->tlb ? 0 : -1;
	}
	pthread_mutex_unlock(&m->tlb_lock);
	return rc;
}

static void set_boot_state(struct machine_vcpu *mv, const struct rv_boot_cpu *b)
{
	struct rv_cpu *c = &mv->cpu;

	rv_cpu_reset_long_mode(c);
	memcpy(c->gpr, b->gpr, sizeof(c->gpr));
	c->rip = b->rip;
	c->rflags = b->rflags;
	c->cr0 = b->cr0;
	c->cr3 = b->cr3;
	c->cr4 = b->cr4;
	c->efer = b->efer;
	c->cs = b->cs;
	c->ss = b->ss;
	c->gdtr.base = b->gdt_base;
	c->gdtr.limit = b->gdt_limit;
	c->idtr.base = b->idt_base;
	c->idtr.limit = b->idt_limit;
}

static int machine_vcpu_init(struct rv_vcpu *v)
{
	struct rv_machine *m = machine_of(v);
	/* From the vCPU's node's arena, zeroed and 64-byte aligned. */
	struct machine_vcpu *mv = rv_node_zalloc(v->vm, v->node, sizeof(*mv));
	struct rv_boot_cpu b;

	if (!mv)
		return -1;
	mv->m = m;
	mv->vcpu = v;
	mv->last_pcpu = -1;
	mv->nvmx.vmcs_ptr = RV_NVMX_NO_VMCS;
	mv->nvmx.evmcs_ptr = RV_NVMX_NO_VMCS;
	mv->nsvm.gif = true;
	rv_asid_vcpu_init(&mv->nsvm.other_asid);
	if (tlbs_init(m, rv_vm_nr_pcpus(v->vm))) {
		rv_node_free(mv);
		return -1;
	}
	rv_boot_cpu_state(&m->boot, v->index, rv_vm_nr_vcpus(v->vm), m->elf.entry, &b);
	set_boot_state(mv, &b);
	rv_machine_cpu_hooks(mv);
	if (rv_machine_vendor_vcpu_init(mv)) {
		rv_node_free(mv);
		return -1;
	}
	if (!m->tdp)
		rv_shadow_load_root(&mv->shadow, mv->cpu.cr3);
	rv_x2apic_init(&mv->apic, v->index, rv_machine_send_ipi, mv);
	v->backend_data = mv;
	return 0;
}

static void machine_vcpu_free(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	if (!mv)
		return;
	rv_cpu_destroy(&mv->cpu);
	rv_machine_nested_vcpu_free(mv);
	rv_machine_vendor_vcpu_free(mv);
	rv_node_free(mv);
	v->backend_data = NULL;
}

static void triple_fault(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;
	bool first = false;

	pthread_mutex_lock(&m->console_lock);
	if (!m->failure[0]) {
		rv_cpu_triple_fault_report(&mv->cpu, mv->vcpu->index, m->failure,
					   sizeof(m->failure));
		first = true;
	}
	pthread_mutex_unlock(&m->console_lock);
	(void)first;
	rv_vm_kill(mv->vcpu->vm);
}

/* Deliver the highest pending interrupt if the CPU takes one now; if it
 * cannot yet, have the CPU stop when IF opens. */
static bool deliver_interrupt(struct machine_vcpu *mv)
{
	int vector = rv_x2apic_pending(&mv->apic);

	if (vector < 0)
		return true;
	if (!mv->nsvm.gif) /* nested SVM's CLGI: STGI asks again */
		return true;
	if (!rv_cpu_interruptible(&mv->cpu)) {
		mv->cpu.irq_armed = true;
		return true;
	}
	rv_x2apic_ack(&mv->apic, (uint8_t)vector);
	if (!rv_cpu_interrupt(&mv->cpu, vector))
		return false;
	if (mv->cpu.mmu_retry) { /* the IDT or the stack is being moved */
		mv->cpu.mmu_retry = false;
		rv_x2apic_unack(&mv->apic, (uint8_t)vector);
		mv->retry = true;
	}
	return true;
}

static enum rv_exit map_exit(struct machine_vcpu *mv, enum rv_cpu_exit e)
{
	switch (e) {
	case RV_CPU_EXIT_BUDGET:
		return RV_EXIT_NONE;
	case RV_CPU_EXIT_KICK:
		return RV_EXIT_KICK;
	case RV_CPU_EXIT_HLT:
		return RV_EXIT_HALT;
	case RV_CPU_EXIT_IO: /* the exit port: the VM is stopping */
		return RV_EXIT_DONE;
	case RV_CPU_EXIT_TRIPLE_FAULT:
		triple_fault(mv);
		return RV_EXIT_DONE;
	case RV_CPU_EXIT_RETRY: /* an EPT violation on a page being moved */
		return RV_EXIT_KICK;
	default: /* a hypercall: machine_handle_exit() answers it */
		return RV_EXIT_BACKEND;
	}
}

static enum rv_exit machine_run(struct rv_vcpu *v, const _Atomic uint32_t *ipi, uint32_t budget,
				uint32_t *used)
{
	struct machine_vcpu *mv = v->backend_data;
	uint64_t start = mv->cpu.instructions;
	enum rv_cpu_exit e;

	do {
		if (mv->nested.inject_pending && rv_machine_nested_inject(mv, &e))
			break;
		if (!deliver_interrupt(mv)) {
			e = RV_CPU_EXIT_TRIPLE_FAULT;
			break;
		}
		if (mv->retry) {
			mv->retry = false;
			e = RV_CPU_EXIT_RETRY;
			break;
		}
		e = rv_cpu_run(&mv->cpu, ipi, budget - (mv->cpu.instructions - start));
	} while (e == RV_CPU_EXIT_INTERRUPT && mv->cpu.instructions - start < budget);
	*used = (uint32_t)(mv->cpu.instructions - start);
	rv_machine_write_done(mv);
	/* A nested transition is the exit handler's: it services requests. */
	if (mv->m->cfg.nested && rv_machine_nested_wants_exit(mv, e)) {
		mv->nested_stop = (uint8_t)(e + 1);
		return RV_EXIT_BACKEND;
	}
	/* A hypercall and a host-side page move are the exit handler's
	 * (machine_handle_exit): they may broadcast with WAIT. */
	mv->hypercall = e == RV_CPU_EXIT_HYPERCALL;
	if (mv->move_gpa && e != RV_CPU_EXIT_TRIPLE_FAULT && e != RV_CPU_EXIT_IO)
		return RV_EXIT_BACKEND;
	if (e == RV_CPU_EXIT_INTERRUPT)
		return RV_EXIT_NONE;
	return map_exit(mv, e);
}

static enum rv_exit machine_handle_exit(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	if (mv->nested_stop) {
		enum rv_cpu_exit e = (enum rv_cpu_exit)(mv->nested_stop - 1);

		mv->nested_stop = 0;
		rv_machine_nested_exit(mv, e);
	}
	if (mv->hypercall) {
		mv->hypercall = false;
		rv_machine_hypercall(mv);
	}
	if (mv->move_gpa && !v->after_wait)
		rv_machine_start_move(mv);
	return RV_EXIT_NONE;
}

/* A halted vCPU may run again when an interrupt can be taken. */
static bool machine_has_event(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	return (mv->cpu.rflags & RV_FLAG_IF) && mv->nsvm.gif && rv_x2apic_has_work(&mv->apic);
}

static void machine_stats_json(struct rv_vcpu *v, FILE *out)
{
	struct machine_vcpu *mv = v->backend_data;

	rv_cpu_stats_json(&mv->cpu, out);
	fprintf(out, ", \"oracle_checks\": %" PRIu64 ", \"oracle_stale\": %" PRIu64,
		mv->oracle_checks, mv->oracle_stale);
}

_Static_assert(RV_TLB_NR_FLUSH_OPS <= 8, "rv_machine_totals has room for 8 flush operations");

void rv_machine_totals(struct rv_machine *m, struct rv_vm *vm, struct rv_machine_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; m->tlb && i < m->nr_tlbs; i++) {
		const struct rv_tlb_stats *s = m->tlb[i] ? rv_tlb_stats(m->tlb[i]) : NULL;

		if (!s)
			continue;
		t->tlb_hits += s->hits;
		t->tlb_misses += s->misses;
		t->tlb_inserts += s->inserts;
		for (int op = 0; op < RV_TLB_NR_FLUSH_OPS; op++) {
			t->tlb_flushed += s->flushed[op];
			t->flush_calls[op] += s->flushes[op];
			t->flush_killed[op] += s->flushed[op];
		}
	}
	uint64_t gp_lookups = 0, gp_hits = 0;

	for (uint32_t i = 0; vm && i < rv_vm_nr_vcpus(vm); i++) {
		struct rv_vcpu *v = rv_vm_vcpu(vm, i);
		struct machine_vcpu *mv = v ? v->backend_data : NULL;

		if (!mv)
			continue;
		t->oracle_checks += mv->oracle_checks;
		t->oracle_stale += mv->oracle_stale;
		t->instructions += mv->cpu.instructions;
		gp_lookups += mv->gp_lookups;
		gp_hits += mv->gp_hits;
		t->guest_walks += mv->guest_walks;
		t->tdp_walks += mv->tdp_walks;
		t->shadow_hits += mv->shadow_hits;
		t->shadow_faults += mv->shadow_faults;
		t->nested_entries += mv->nested.entries;
		t->nested_exits += mv->nested.exits;
	}
	t->translations = t->tlb_hits + t->tlb_misses - gp_lookups;
	t->translation_misses = t->tlb_misses - (gp_lookups - gp_hits);
	t->violations = atomic_load(&m->violations);
	t->pages_moved = atomic_load(&m->pages_moved);
	t->pages_zapped = atomic_load(&m->pages_zapped);
	for (unsigned w = 0; w < 65536 / 64; w++)
		t->unknown_ports +=
			(uint32_t)__builtin_popcountll(atomic_load(&m->unknown_ports[w]));
}

/* The ports the guest used that no device answers, each once. */
static void machine_vm_stats_json(void *ctx, FILE *out)
{
	struct rv_machine *m = ctx;
	bool first = true;

	fprintf(out, "\"unknown_ports\": [");
	for (unsigned port = 0; port < 65536; port++) {
		if (!(atomic_load(&m->unknown_ports[port / 64]) & (1ull << (port % 64))))
			continue;
		fprintf(out, "%s\"%#x\"", first ? "" : ", ", port);
		first = false;
	}
	fprintf(out, "], \"oracle_violations\": %" PRIu64, atomic_load(&m->violations));
}

/* For the watchdog: where the guest is. A snapshot of another thread's
 * CPU, read without stopping it. */
static void machine_describe(struct rv_vcpu *v, char *buf, size_t len)
{
	struct machine_vcpu *mv = v->backend_data;

	if (!mv)
		return;
	snprintf(buf, len, "RIP %#" PRIx64 " in %s, %" PRIu64 " instructions",
		 __atomic_load_n(&mv->cpu.rip, __ATOMIC_RELAXED),
		 __atomic_load_n(&mv->nested.guest_mode, __ATOMIC_RELAXED) ? "L2" : "L1",
		 __atomic_load_n(&mv->cpu.instructions, __ATOMIC_RELAXED));
}

const struct rv_backend_ops rv_machine_backend = {
	.name = "ELF guest on the software CPU",
	.vcpu_init = machine_vcpu_init,
	.vcpu_free = machine_vcpu_free,
	.run = machine_run,
	.handle_exit = machine_handle_exit,
	.has_event = machine_has_event,
	.stats_json = machine_stats_json,
	.vm_stats_json = machine_vm_stats_json,
	.describe = machine_describe,
};
