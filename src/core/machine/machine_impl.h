/* SPDX-License-Identifier: MIT */
/* The machine's objects, shared by the files of src/core/machine. */
#ifndef RV_MACHINE_IMPL_H
#define RV_MACHINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "apic/x2apic.h"
#include "cpu/cpu.h"
#include "loader/boot.h"
#include "machine.h"
#include "mem/guest_mem.h"
#include "reqvisor/vcpu.h"

#define CONSOLE_LINE 256

struct rv_machine {
	struct rv_machine_config cfg;
	struct rv_guest_mem *mem;
	struct rv_boot boot;
	struct rv_elf_info elf;
	FILE *console;
	pthread_mutex_t console_lock; /* console lines and the failure report */
	_Atomic bool exited;
	_Atomic uint32_t exit_status;
	char failure[160];
	_Atomic uint64_t unknown_ports[65536 / 64]; /* each reported once */
};

struct machine_vcpu {
	struct rv_cpu cpu;
	struct rv_x2apic apic;
	struct rv_machine *m;
	struct rv_vcpu *vcpu;
	char line[CONSOLE_LINE];
	unsigned line_len;
	/* Accesses to guest-physical addresses outside RAM read and write
	 * here: no device lives there. */
	_Alignas(4096) uint8_t unbacked[4096];
};

void rv_machine_cpu_hooks(struct machine_vcpu *mv);
void rv_machine_send_ipi(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi);
void rv_machine_hypercall(struct machine_vcpu *mv);

#endif
