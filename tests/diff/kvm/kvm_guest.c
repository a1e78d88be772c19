// SPDX-License-Identifier: MIT
/* The runner's pages and system registers for the KVM reference's guest. */
#include <string.h>

#include "kvm_guest.h"
#include "snippet.h"

#define PML4  (GUEST_SYS_BASE + 0x0000)
#define PDPT  (GUEST_SYS_BASE + 0x1000)
#define PD    (GUEST_SYS_BASE + 0x2000)
#define PT    (GUEST_SYS_BASE + 0x3000) /* two page tables: [0, 4 MiB) */
#define GDT   (GUEST_SYS_BASE + 0x5000)
#define TSS   (GUEST_SYS_BASE + 0x5800)
#define IDT   (GUEST_SYS_BASE + 0x6000)
#define STUBS (GUEST_SYS_BASE + 0x7000)
/* GUEST_SYS_BASE + 0x8000: the IST stack's page */

#define HUGE_PAGE 0x200000ull
#define CODE_MAP  0x2000ull /* the snippet and its terminator, as the others map it */

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS	 0x18
#define GDT_SIZE 40 /* null, code, data, and the 16-byte TSS descriptor */
#define TSS_SIZE 104

#define NR_VECTORS 32
#define GATE_SIZE  16
#define STUB_SIZE  4

#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)
#define PTE_PS (1ull << 7)

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Guest-physical @gpa in the buffer holding the runner's pages. */
static uint8_t *at(uint8_t *sys, uint64_t gpa)
{
	return sys + (gpa - GUEST_SYS_BASE);
}

/*
 * A, and D on the leaves, are preset: the CPU then never writes the tables, so
 * a dirty table page can only mean the snippet wrote it.
 */
static void map_range(uint8_t *sys, uint64_t base, uint64_t size)
{
	for (uint64_t a = base; a < base + size; a += GUEST_PAGE)
		put64(at(sys, PT) + 8 * (a / GUEST_PAGE), a | PTE_P | PTE_W | PTE_A | PTE_D);
}

/*
 * 4 KiB pages, and only the regions every reference maps (snippet.h): the
 * code, the data page, the stack, and the runner's own pages. The page after
 * the data page, which the corpus's page-crossing cases fault on, is not
 * present here either.
 */
static void build_page_tables(uint8_t *sys)
{
	const uint64_t table = PTE_P | PTE_W | PTE_A;

	put64(at(sys, PML4), PDPT | table);
	put64(at(sys, PDPT), PD | table);
	for (uint64_t i = 0; i < GUEST_MEM_SIZE / HUGE_PAGE; i++)
		put64(at(sys, PD) + 8 * i, (PT + i * GUEST_PAGE) | table);
	map_range(sys, SNIPPET_CODE, CODE_MAP);
	map_range(sys, SNIPPET_DATA, SNIPPET_DATA_SIZE);
	map_range(sys, SNIPPET_STACK - GUEST_STACK_SIZE, GUEST_STACK_SIZE);
	map_range(sys, GUEST_SYS_BASE, GUEST_SYS_SIZE);
}

/* Descriptors are preset "accessed" for the same reason. */
static void build_gdt_tss(uint8_t *sys)
{
	uint8_t *gdt = at(sys, GDT), *tss = at(sys, TSS);
	uint64_t base = TSS, limit = TSS_SIZE - 1;

	put64(gdt + SEL_CODE, 0x00af9b000000ffffull); /* P, DPL 0, execute/read, L, G */
	put64(gdt + SEL_DATA, 0x00cf93000000ffffull); /* P, DPL 0, read/write, D/B, G */
	/* 64-bit TSS, type 0xb: busy, as TR is loaded with it */
	put64(gdt + SEL_TSS, (limit & 0xffff) | (base & 0xffffff) << 16 | 0x8bull << 40 |
				     (limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56);
	put64(gdt + SEL_TSS + 8, base >> 32);

	put64(tss + 4, GUEST_IST_TOP);	/* RSP0, unused: the guest never leaves CPL 0 */
	put64(tss + 36, GUEST_IST_TOP); /* IST1 */
	tss[102] = TSS_SIZE;		/* I/O map base past the limit: no bitmap */
}

static void build_idt_stubs(uint8_t *sys)
{
	for (unsigned v = 0; v < NR_VECTORS; v++) {
		uint64_t stub = STUBS + v * STUB_SIZE;
		uint8_t *gate = at(sys, IDT) + v * GATE_SIZE;
		uint8_t *code = at(sys, stub);

		/* offset 15:0, CS, IST 1, type 0x8e (present, DPL 0, interrupt gate), offset 31:16
		 */
		put64(gate, (stub & 0xffff) | (uint64_t)SEL_CODE << 16 | 1ull << 32 |
				    0x8eull << 40 | (stub >> 16 & 0xffff) << 48);
		put64(gate + 8, stub >> 32);

		code[0] = 0x6a; /* push $v */
		code[1] = v;
		code[2] = 0xe6; /* out %al, $GUEST_PORT_EXCEPTION */
		code[3] = GUEST_PORT_EXCEPTION;
	}
}

void kvm_guest_build(uint8_t *sys)
{
	memset(sys, 0, GUEST_SYS_SIZE);
	build_page_tables(sys);
	build_gdt_tss(sys);
	build_idt_stubs(sys);
}

void kvm_guest_sregs(struct kvm_sregs *sr)
{
	struct kvm_segment code = {
		.limit = 0xffffffff,
		.selector = SEL_CODE,
		.type = 0xb, /* execute/read, accessed */
		.present = 1,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = {
		.limit = 0xffffffff,
		.selector = SEL_DATA,
		.type = 0x3, /* read/write, accessed */
		.present = 1,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	struct kvm_segment tss = {
		.base = TSS,
		.limit = TSS_SIZE - 1,
		.selector = SEL_TSS,
		.type = 0xb,
		.present = 1,
	};
	struct kvm_segment ldt = { .type = 0x2, .unusable = 1 };

	sr->cs = code;
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->tr = tss;
	sr->ldt = ldt;
	sr->gdt.base = GDT;
	sr->gdt.limit = GDT_SIZE - 1;
	sr->idt.base = IDT;
	sr->idt.limit = NR_VECTORS * GATE_SIZE - 1;
	sr->cr0 = 0x80050033; /* PE MP ET NE WP AM PG */
	sr->cr2 = 0;
	sr->cr3 = PML4;
	sr->cr4 = 0xa0; /* PAE PGE */
	sr->cr8 = 0;
	sr->efer = 0xd00; /* LME LMA NXE */
	memset(sr->interrupt_bitmap, 0, sizeof(sr->interrupt_bitmap));
}
