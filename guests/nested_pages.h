/* SPDX-License-Identifier: MIT */
/*
 * What the nvmx and nsvm scenario guests share: each vCPU's pages (a
 * virtual address V, L2 address spaces mapping it apart, data pages tagged
 * with their number) and the checks of what V reads.
 */
#ifndef RV_GUEST_NESTED_PAGES_H
#define RV_GUEST_NESTED_PAGES_H

#include "rv.h"

#define V_BASE 0x0000400000000000ull

struct cpu_pages {
	u64 v;	     /* the address every scenario plays with */
	u64 l1root;  /* L1's tables: V is page 0 */
	u64 root[2]; /* two L2 address spaces: V is page 1, page 2 */
	u64 page[4]; /* data pages, page[i][0] = tag(cpu, i) */
	u64 second;  /* an identity map for L2's second stage (EPT12 or nCR3) */
};

static struct cpu_pages *pages_of;

static u64 tag(unsigned cpu, unsigned i)
{
	return 0x1000ull * (cpu + 1) + i + 1;
}

static struct cpu_pages *me(void)
{
	return &pages_of[rv_cpu_id()];
}

static u64 read_v(void)
{
	return *(volatile u64 *)rv_phys(me()->v);
}

#define EXPECT(cond, ...)                        \
	do {                                     \
		if (!(cond))                     \
			rv_fail(1, __VA_ARGS__); \
	} while (0)

static void expect_page(u64 got, unsigned i, const char *where)
{
	unsigned cpu = rv_cpu_id();

	EXPECT(got == tag(cpu, i), "%s: V reads %#lx, want page %u (%#lx)", where, got, i,
	       tag(cpu, i));
}

/* Map V in @root to page @i (no invalidation: the caller does it). */
static void map_v(u64 root, unsigned i)
{
	rv_pt_map(root, me()->v, me()->page[i], RV_PTE_W);
}

/* vCPU 0 makes the array, every vCPU its pages, and runs on l1root. */
static void setup_pages(unsigned cpu, unsigned ncpus)
{
	static struct rv_barrier ready;
	struct cpu_pages *p;

	if (cpu == 0)
		pages_of = rv_pages_alloc((ncpus * sizeof(struct cpu_pages) + 4095) / 4096);
	rv_barrier_wait(&ready);
	p = &pages_of[cpu];
	p->v = V_BASE + ((u64)cpu << 21);
	for (unsigned i = 0; i < 4; i++) {
		u64 *pg = rv_page_alloc();

		pg[0] = tag(cpu, i);
		p->page[i] = (u64)(uintptr_t)pg;
	}
	p->l1root = rv_pt_clone(rv_boot_cr3);
	p->root[0] = rv_pt_clone(rv_boot_cr3);
	p->root[1] = rv_pt_clone(rv_boot_cr3);
	rv_pt_map(p->l1root, p->v, p->page[0], RV_PTE_W);
	rv_pt_map(p->root[0], p->v, p->page[1], RV_PTE_W);
	rv_pt_map(p->root[1], p->v, p->page[2], RV_PTE_W);
	rv_write_cr3(p->l1root);
}

/* Event injection (VMX VM-entry interruption information and SVM EVENTINJ
 * share the layout): what L2's handler for an injected event saw, vector |
 * error << 16, per vCPU. L2 shares L1's IDT. */
#define INJECT_IRQ	    0x41
#define EVENT(type, vector) (1u << 31 | (type) << 8 | (vector))
#define EVENT_ERROR	    (1u << 11)

static u64 injected_seen[1024];

static void injected(unsigned vector, u64 error, struct rv_frame *f)
{
	(void)f;
	injected_seen[rv_cpu_id()] = vector | error << 16;
}

/* vCPU 0, before the scenarios: the handlers of the injected vectors. */
static void set_injected_handlers(void)
{
	rv_set_handler(INJECT_IRQ, injected);
	rv_set_handler(RV_VEC_AC, injected);
}

#endif
