// SPDX-License-Identifier: MIT
/*
 * The boot state: the reserved region at the top of guest RAM (boot GDT,
 * identity-mapping page tables, per-vCPU stacks) and the initial vCPU state.
 * Every byte of the region is written here, so nothing depends on the memory
 * layer handing out zeroed RAM.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"

#define PAGE_SIZE  4096ull
#define NR_ENTRIES 512u
#define SZ_2M	   (2ull << 20)
#define SZ_1G	   (1ull << 30)
#define SZ_512G	   (512ull << 30)

/*
 * Page-table entry bits. US clear: supervisor only. G clear and NX clear:
 * not global, executable. A and D are left for the CPU to set.
 */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

/*
 * Boot GDT descriptors, with the accessed bit set so the CPU never needs to
 * write the GDT (which the guest may have copied or made read-only).
 * 0x08: present, DPL 0, code execute/read accessed (0x9b), L=1 D=0 G=1.
 * 0x10: present, DPL 0, data read/write accessed (0x93), D/B=1 G=1.
 */
#define GDT_CODE64  0x00af9b000000ffffull
#define GDT_DATA    0x00cf93000000ffffull
#define GDT_ENTRIES 3

#define CR0_BOOT    0x80050033ull /* PE MP ET NE WP PG */
#define CR4_BOOT    0xa0ull	  /* PAE PGE */
#define EFER_BOOT   0xd00ull	  /* LME LMA NXE */
#define RFLAGS_BOOT 0x2ull	  /* reserved bit 1 only: interrupts off */

/* Where everything goes, computed before anything is written. */
struct layout {
	uint64_t size; /* of RAM */
	uint64_t nr_pdpts, nr_pds;
	uint64_t stacks, gdt, pml4, pdpts, pds; /* GPAs */
	uint64_t start;				/* reserved_start */
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint64_t div_round_up(uint64_t n, uint64_t d)
{
	return n / d + (n % d != 0);
}

int rv_boot_check_mem(uint64_t size, char *err, size_t errlen)
{
	if (size < RV_BOOT_MIN_MEM)
		return fail(err, errlen, "guest RAM of %" PRIu64 " bytes: must be at least 16 MiB",
			    size);
	if (size % RV_BOOT_MEM_ALIGN)
		return fail(err, errlen,
			    "guest RAM of %" PRIu64 " bytes: must be a multiple of 2 MiB", size);
	if (size > RV_BOOT_MAX_MEM)
		return fail(err, errlen, "guest RAM of %" PRIu64 " bytes: must be at most 128 TiB",
			    size);
	return 0;
}

/* The tables' sizes and the region's start; -1 when it leaves the guest too little. */
static int plan(uint64_t size, uint32_t nr_vcpus, struct layout *l, char *err, size_t errlen)
{
	uint64_t stacks = (uint64_t)nr_vcpus * RV_BOOT_STACK_SIZE;
	uint64_t reserved;

	l->nr_pdpts = div_round_up(size, SZ_512G);
	l->nr_pds = div_round_up(size, SZ_1G);
	reserved = stacks + (2 + l->nr_pdpts + l->nr_pds) * PAGE_SIZE;
	if (reserved > size - RV_BOOT_MIN_GUEST_MEM)
		return fail(err, errlen,
			    "%" PRIu32 " vCPUs need %" PRIu64 " KiB of boot stacks and tables, "
			    "more than %" PRIu64 " MiB of guest RAM holds with 2 MiB left for "
			    "the guest",
			    nr_vcpus, reserved >> 10, size >> 20);
	l->size = size;
	l->start = size - reserved;
	l->stacks = l->start;
	l->gdt = l->stacks + stacks;
	l->pml4 = l->gdt + PAGE_SIZE;
	l->pdpts = l->pml4 + PAGE_SIZE;
	l->pds = l->pdpts + l->nr_pdpts * PAGE_SIZE;
	return 0;
}

/* Every page of the region must be there before the first one is written. */
static int check_reachable(const struct rv_phys_access *mem, const struct layout *l, char *err,
			   size_t errlen)
{
	for (uint64_t gpa = l->start; gpa < mem->size; gpa += PAGE_SIZE) {
		if (!mem->page(mem->ctx, gpa))
			return fail(err, errlen, "guest RAM at GPA %#" PRIx64 " is not accessible",
				    gpa);
	}
	return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Entry @i of a paging level, counting across all of that level's table pages. */
typedef uint64_t (*entry_fn)(const struct layout *l, uint64_t i);

static uint64_t pml4e(const struct layout *l, uint64_t i)
{
	return i < l->nr_pdpts ? (l->pdpts + i * PAGE_SIZE) | PTE_P | PTE_RW : 0;
}

static uint64_t pdpte(const struct layout *l, uint64_t i)
{
	return i < l->nr_pds ? (l->pds + i * PAGE_SIZE) | PTE_P | PTE_RW : 0;
}

/* Entries past the end of RAM stay not present. */
static uint64_t pde(const struct layout *l, uint64_t i)
{
	return i * SZ_2M < l->size ? (i * SZ_2M) | PTE_P | PTE_RW | PTE_PS : 0;
}

/* Write @nr table pages from @gpa, whose entries @fn computes. */
static void write_tables(const struct rv_phys_access *mem, const struct layout *l, uint64_t gpa,
			 uint64_t nr, entry_fn fn)
{
	for (uint64_t t = 0; t < nr; t++) {
		uint8_t *p = mem->page(mem->ctx, gpa + t * PAGE_SIZE);

		for (uint64_t e = 0; e < NR_ENTRIES; e++)
			put_le64(p + 8 * e, fn(l, t * NR_ENTRIES + e));
	}
}

static void write_gdt(const struct rv_phys_access *mem, const struct layout *l)
{
	uint8_t *p = mem->page(mem->ctx, l->gdt);

	memset(p, 0, PAGE_SIZE);
	/* A selector (RPL 0, GDT) is its descriptor's byte offset. */
	put_le64(p + RV_BOOT_CS, GDT_CODE64);
	put_le64(p + RV_BOOT_DS, GDT_DATA);
}

static void zero_pages(const struct rv_phys_access *mem, uint64_t gpa, uint64_t end)
{
	for (; gpa < end; gpa += PAGE_SIZE)
		memset(mem->page(mem->ctx, gpa), 0, PAGE_SIZE);
}

int rv_boot_build(const struct rv_phys_access *mem, uint32_t nr_vcpus, struct rv_boot *out,
		  char *err, size_t errlen)
{
	struct layout l = { 0 };

	if (!mem || !mem->page)
		return fail(err, errlen, "no guest memory for the boot state");
	if (rv_boot_check_mem(mem->size, err, errlen))
		return -1;
	if (nr_vcpus == 0)
		return fail(err, errlen, "no vCPUs to build a boot state for");
	if (plan(mem->size, nr_vcpus, &l, err, errlen) || check_reachable(mem, &l, err, errlen))
		return -1;
	zero_pages(mem, l.stacks, l.gdt);
	write_gdt(mem, &l);
	write_tables(mem, &l, l.pml4, 1, pml4e);
	write_tables(mem, &l, l.pdpts, l.nr_pdpts, pdpte);
	write_tables(mem, &l, l.pds, l.nr_pds, pde);
	*out = (struct rv_boot){
		.mem_size = mem->size,
		.nr_vcpus = nr_vcpus,
		.reserved_start = l.start,
		.stacks = l.stacks,
		.cr3 = l.pml4,
		.gdt_base = l.gdt,
		.gdt_limit = GDT_ENTRIES * 8 - 1,
	};
	return 0;
}

uint64_t rv_boot_stack_top(const struct rv_boot *b, uint32_t vcpu)
{
	if (vcpu >= b->nr_vcpus)
		return 0;
	/* The stack is a whole number of pages, so its top is 16-byte aligned. */
	return b->stacks + ((uint64_t)vcpu + 1) * RV_BOOT_STACK_SIZE;
}

void rv_boot_cpu_state(const struct rv_boot *b, uint32_t vcpu, uint32_t nr_vcpus, uint64_t entry,
		       struct rv_boot_cpu *out)
{
	*out = (struct rv_boot_cpu){
		.rip = entry,
		.rflags = RFLAGS_BOOT,
		.cr0 = CR0_BOOT,
		.cr3 = b->cr3,
		.cr4 = CR4_BOOT,
		.efer = EFER_BOOT,
		.cs = RV_BOOT_CS,
		.ss = RV_BOOT_DS,
		.ds = RV_BOOT_DS,
		.es = RV_BOOT_DS,
		.fs = RV_BOOT_DS,
		.gs = RV_BOOT_DS,
		.gdt_base = b->gdt_base,
		.gdt_limit = b->gdt_limit,
	};
	out->gpr[RV_BOOT_RSP] = rv_boot_stack_top(b, vcpu);
	out->gpr[RV_BOOT_RDI] = vcpu;
	out->gpr[RV_BOOT_RSI] = nr_vcpus;
	out->gpr[RV_BOOT_RDX] = b->reserved_start;
}
