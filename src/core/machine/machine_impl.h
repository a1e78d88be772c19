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
#include "mmu/tlb.h"
#include "reqvisor/vcpu.h"

#define CONSOLE_LINE 256
#define RV_INVAL_LOG 64

/* A completed guest invalidation, for the oracle. */
enum rv_inval_kind {
	RV_INVAL_ADDR,	    /* INVLPG: the address, current PCID and globals */
	RV_INVAL_ADDR_PCID, /* INVPCID 0: the address in a PCID, not globals */
	RV_INVAL_PCID,	    /* MOV CR3, INVPCID 1: a PCID's non-global entries */
	RV_INVAL_NONGLOBAL, /* INVPCID 3 */
	RV_INVAL_ALL,	    /* INVPCID 2, CR4.PGE changes, CR4.PCIDE 1 to 0 */
	RV_INVAL_ALL_PCID,  /* CR4.PAE changes, SMEP 0 to 1: a PCID, globals too */
};

struct rv_inval {
	uint64_t time;
	uint64_t addr;
	uint16_t pcid;
	uint8_t kind;
};

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
	struct rv_tlb **tlb;			    /* one per pCPU, made by its first vCPU */
	uint32_t nr_tlbs;
	unsigned tlb_sets, tlb_ways;
	_Atomic uint64_t tlb_time; /* the logical time of insertions */
	pthread_mutex_t tlb_lock;  /* making the array */
	_Atomic uint64_t violations;
	char violation[600]; /* the first one's report */
};

struct machine_vcpu {
	struct rv_cpu cpu;
	struct rv_x2apic apic;
	struct rv_machine *m;
	struct rv_vcpu *vcpu;
	struct rv_tlb *tlb; /* the TLB of the pCPU the vCPU is loaded on */
	uint16_t vpid;	    /* its fixed tag: index + 1 (0 is the host's) */
	int last_pcpu;
	uint64_t oracle_hits, oracle_checks, oracle_stale;
	struct rv_inval inval[RV_INVAL_LOG];
	unsigned inval_next;
	char line[CONSOLE_LINE];
	unsigned line_len;
	/* Accesses to guest-physical addresses outside RAM read and write
	 * here: no device lives there. */
	uint8_t unbacked[4096];
};

void rv_machine_cpu_hooks(struct machine_vcpu *mv);
void rv_machine_tlb_load(struct machine_vcpu *mv);
uint8_t *rv_machine_translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf);
void rv_machine_tlb_event(void *ctx, struct rv_cpu *c, enum rv_tlb_event ev, uint64_t addr,
			  uint64_t pcid);

struct rv_walk_ctx;
void rv_oracle_log(struct machine_vcpu *mv, enum rv_inval_kind kind, uint64_t addr, uint16_t pcid);
void rv_oracle_check(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *e,
		     const struct rv_walk_ctx *wc);
void rv_machine_send_ipi(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi);
void rv_machine_hypercall(struct machine_vcpu *mv);

#endif
