/* SPDX-License-Identifier: MIT */
/*
 * The boot state (docs/guest-abi.md §2, §3): the reserved region at the top
 * of guest RAM and the state every vCPU starts in.
 *
 * The reserved region, from its first byte (reserved_start, given to the
 * guest in RDX) to the end of RAM:
 *
 *	stacks	 32 KiB per vCPU, vCPU 0 lowest
 *	GDT	 one page: null, 0x08 64-bit code, 0x10 flat data
 *	PML4	 one page
 *	PDPTs	 one page per 512 GiB of RAM
 *	PDs	 one page per 1 GiB of RAM, 2 MiB entries
 *
 * Stacks go lowest because they grow down: an overflowing stack runs into
 * the one below it, or into the guest's own RAM, never into the tables.
 */
#ifndef RV_CORE_LOADER_BOOT_H
#define RV_CORE_LOADER_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "elf.h" /* struct rv_phys_access */

#define RV_BOOT_MIN_MEM	  (16ull << 20)
#define RV_BOOT_MEM_ALIGN (2ull << 20)
/* Identity mapping needs canonical addresses: the lower half of 4-level paging. */
#define RV_BOOT_MAX_MEM	   (128ull << 40)
#define RV_BOOT_STACK_SIZE (32u << 10)
/* What the reserved region must leave the guest at the least: one 2 MiB page. */
#define RV_BOOT_MIN_GUEST_MEM (2ull << 20)

#define RV_BOOT_CS 0x08
#define RV_BOOT_DS 0x10

struct rv_boot {
	uint64_t mem_size;
	uint32_t nr_vcpus;
	uint64_t reserved_start; /* first reserved byte, page-aligned; RDX */
	uint64_t stacks;	 /* GPA of vCPU 0's stack (its lowest byte) */
	uint64_t cr3;		 /* GPA of the PML4 */
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/* The architectural numbering of the general-purpose registers, gpr[] below. */
enum rv_boot_gpr {
	RV_BOOT_RAX,
	RV_BOOT_RCX,
	RV_BOOT_RDX,
	RV_BOOT_RBX,
	RV_BOOT_RSP,
	RV_BOOT_RBP,
	RV_BOOT_RSI,
	RV_BOOT_RDI,
};

/* A vCPU's initial state (§3), for the backend to load into its CPU. */
struct rv_boot_cpu {
	uint64_t gpr[16], rip, rflags, cr0, cr3, cr4, efer;
	uint16_t cs, ss;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	/* The rest of §3, spelled out so no backend has to remember it. */
	uint16_t ds, es, fs, gs;
	uint64_t idt_base;
	uint16_t idt_limit;
};

/* Whether @size is a valid guest RAM size (--mem): at least 16 MiB, 2 MiB multiple. */
int rv_boot_check_mem(uint64_t size, char *err, size_t errlen);

/*
 * Lay out and write the reserved region at the top of @mem for @nr_vcpus:
 * GDT, page tables identity-mapping all of RAM, zeroed stacks. Fails with a
 * message if the RAM size is invalid or the region would not leave the guest
 * at least RV_BOOT_MIN_GUEST_MEM below it; nothing is written then.
 */
int rv_boot_build(const struct rv_phys_access *mem, uint32_t nr_vcpus, struct rv_boot *out,
		  char *err, size_t errlen);

/* The 16-byte aligned top of @vcpu's stack (its initial RSP); 0 if no such vCPU. */
uint64_t rv_boot_stack_top(const struct rv_boot *b, uint32_t vcpu);

/* Fill @out with the initial state of vCPU @vcpu of @nr_vcpus, starting at @entry. */
void rv_boot_cpu_state(const struct rv_boot *b, uint32_t vcpu, uint32_t nr_vcpus, uint64_t entry,
		       struct rv_boot_cpu *out);

#endif
