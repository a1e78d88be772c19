/* SPDX-License-Identifier: MIT */
/*
 * The machine: an ELF guest (docs/guest-abi.md) on the software CPU, with
 * guest memory, paging, the x2APIC and the ports of the guest ABI, behind the
 * scheduler's hardware-entry interface. rv_machine_create() loads the image
 * and builds the boot state; the VM then runs with rv_machine_backend and
 * the machine as backend context.
 */
#ifndef RV_MACHINE_MACHINE_H
#define RV_MACHINE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loader/elf.h"
#include "reqvisor/backend.h"
#include "reqvisor/vendor.h"

struct rv_machine_config {
	const uint8_t *image; /* the ELF file */
	size_t image_len;
	uint64_t mem_size;
	uint32_t nr_vcpus;
	uint32_t nr_nodes;
	bool vendor_amd;	     /* SVM (AMD), else VMX (Intel) */
	bool shadow;		     /* TDP off: shadow paging */
	uint32_t vpids;		     /* VMX: VPIDs in the allocator, 0 included (0: 65,536) */
	uint32_t asids;		     /* SVM: ASIDs per pCPU, 0 included (0: 32,768) */
	bool svm_new_asid;	     /* SVM: flush by taking a fresh ASID, not TLB_CONTROL 3 */
	unsigned shadow_pages;	     /* per vCPU (0: 4096) */
	bool numa_migrate;	     /* move hot pages to the node of the vCPU missing on them */
	bool hyperv;		     /* Hyper-V enlightenments: CPUID, MSRs, flush hypercalls */
	bool nested;		     /* nested virtualization: VMX or SVM for the guest */
	bool nsvm_conditional;	     /* nested SVM: flush only when needed (docs/nested.md) */
	bool console_prefix;	     /* "[3] " before each console line of vCPU 3 */
	unsigned tlb_sets, tlb_ways; /* per pCPU; 0: 256 sets of 8 ways */
	enum rv_oracle_mode { RV_ORACLE_OFF, RV_ORACLE_SAMPLE, RV_ORACLE_FULL } oracle;
	unsigned oracle_period; /* sample mode: every Nth TLB hit (0: 64) */
	FILE *console;		/* NULL: stdout */
	/* The guest's .rvconfig block: the fields given here replace the
	 * image's own values; the others keep them. */
	bool set_rounds, set_pages, set_seed;
	struct rv_guest_config config;
};

struct rv_machine;
struct rv_vm;

/* Returns NULL with a message naming the problem (a bad image, bad memory
 * size, too many vCPUs for the memory): the CLI's exit status 2. */
struct rv_machine *rv_machine_create(const struct rv_machine_config *cfg, char *err, size_t errlen);
void rv_machine_destroy(struct rv_machine *m);

extern const struct rv_backend_ops rv_machine_backend;
/* The vendor ops table of the machine's vendor, for rv_vm_config.vendor. */
const struct rv_vendor_ops *rv_machine_vendor(const struct rv_machine *m);

/* Whether the guest wrote its exit status to port 0xf4, and the status. */
bool rv_machine_exited(const struct rv_machine *m, uint32_t *status);
/* Oracle violations, and the first one's report. */
uint64_t rv_machine_violations(const struct rv_machine *m, const char **report);
/* What the machine's TLBs and oracle did, summed over pCPUs and vCPUs. */
struct rv_machine_totals {
	uint64_t tlb_hits, tlb_misses, tlb_inserts, tlb_flushed;
	uint64_t oracle_checks, oracle_stale, violations, pages_moved, pages_zapped;
	uint32_t unknown_ports;
	uint64_t instructions;
	/* Per hardware flush operation (enum rv_tlb_flush_op, mmu/tlb.h):
	 * calls and the entries they removed. */
	uint64_t flush_calls[8], flush_killed[8];
	/* Translations the CPU asked for (TLB lookups of guest addresses) and
	 * those that missed; see machine_impl.h for the rest. */
	uint64_t translations, translation_misses;
	uint64_t guest_walks, tdp_walks, shadow_hits, shadow_faults;
	uint64_t nested_entries, nested_exits; /* VM entries and exits of L2 */
};

void rv_machine_totals(struct rv_machine *m, struct rv_vm *vm, struct rv_machine_totals *t);

/* The first triple fault's report, or NULL. */
const char *rv_machine_failure(const struct rv_machine *m);
/* Write out console lines still buffered (a guest that ended mid-line). */
void rv_machine_flush_console(struct rv_vm *vm);

#endif
