// SPDX-License-Identifier: MIT
/*
 * hv-breakeven: what a flush of its own TLB costs a vCPU through the Hyper-V
 * hypercalls, a list of N pages against the whole address space, counting
 * what the flush takes away: each round reads one word of every page of a
 * working set, then flushes. With a list, the listed pages miss next round;
 * with Space, all of them do. vCPU 0 measures, in time-stamp ticks per round,
 * for working sets of 16, 64 and 256 pages: no flush, lists of 1 to 15
 * pages (one entry each), and Space; other vCPUs only wait. The rounds
 * (.rvconfig) are split into blocks, the variants take turns block by
 * block, and each variant's cheapest block counts. reqvisor-bench
 * hyperv turns the lines into the page count where Space becomes cheaper.
 * Needs --hyperv.
 */
#include "hyperv.h"
#include "rv.h"

#define DEFAULT_ROUNDS 200
RV_CONFIG(DEFAULT_ROUNDS, 256, 0);

#define WINDOW	  0x0000020000000000ull /* 2 TiB: its own PML4 slot, above any RAM */
#define MAX_SET	  256
#define PTE_FLAGS (RV_PTE_P | RV_PTE_W | RV_PTE_NX)
#define NO_FLUSH  (-1)
#define SPACE	  0
#define BLOCKS	  10

enum { CHECK_HYPERCALL = 1, CHECK_CONFIG = 2 };

static const unsigned sets[] = { 16, 64, MAX_SET };
static const int variants[] = { NO_FLUSH, 1, 2, 4, 8, 12, 15, SPACE };
#define NR_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static u64 *input;
static u32 rounds;
static struct rv_barrier done = RV_BARRIER_INIT(0);

static void touch(unsigned pages)
{
	for (unsigned p = 0; p < pages; p++)
		(void)rv_read_once(*(volatile u64 *)(uintptr_t)(WINDOW + p * RV_PAGE_SIZE));
}

static void flush_self(int variant)
{
	u64 ctl, rax;

	if (variant == NO_FLUSH)
		return;
	input[0] = 0;
	input[1] = HV_FLUSH_ALL_ADDRESS_SPACES;
	input[2] = 1; /* vCPU 0 only */
	for (int k = 0; k < variant; k++)
		input[3 + k] = WINDOW + (u64)k * RV_PAGE_SIZE;
	if (variant == SPACE)
		ctl = hv_control(HV_FLUSH_SPACE, false, 0, 0, 0);
	else
		ctl = hv_control(HV_FLUSH_LIST, false, 0, (u32)variant, 0);
	rax = hv_call(ctl, (u64)(uintptr_t)input, 0);
	if (hv_status(rax) != HV_STATUS_SUCCESS)
		rv_fail(CHECK_HYPERCALL, "hv-breakeven: call %#lx returned %#lx", ctl, rax);
}

/* Ticks per round of reading @pages pages and flushing with @variant. */
static u64 block(unsigned pages, int variant, u32 rounds_in_block)
{
	u64 t0;

	touch(pages); /* the TLB as this variant leaves it */
	flush_self(variant);
	t0 = rv_rdtsc();
	for (u32 r = 0; r < rounds_in_block; r++) {
		touch(pages);
		flush_self(variant);
	}
	return (rv_rdtsc() - t0) / rounds_in_block;
}

/* Each variant's cheapest block. The variants take turns block by block,
 * so that a slow spell of the host falls on all of them alike. */
static void measure(unsigned pages, u64 best[NR_VARIANTS])
{
	u32 per_block = rounds / BLOCKS ? rounds / BLOCKS : 1;

	for (unsigned v = 0; v < NR_VARIANTS; v++)
		best[v] = ~0ull;
	for (unsigned b = 0; b < BLOCKS; b++) {
		for (unsigned v = 0; v < NR_VARIANTS; v++) {
			u64 t = block(pages, variants[v], per_block);

			best[v] = t < best[v] ? t : best[v];
		}
	}
}

static void setup(void)
{
	u64 root = rv_pt_clone(rv_boot_cr3);

	rv_config_check();
	if (!rv_config.rounds || rv_config.rounds > 100000)
		rv_fail(CHECK_CONFIG, "hv-breakeven: .rvconfig rounds %lu, want 1 to 100000",
			rv_config.rounds);
	rounds = (u32)rv_config.rounds;
	if (!hv_present())
		rv_fail(RV_EXIT_NO_FEATURE, "hv-breakeven: no Hyper-V flush hypercalls (--hyperv)");
	hv_enable((u64)(uintptr_t)rv_pages_alloc(1));
	input = rv_pages_alloc(1);
	for (unsigned p = 0; p < MAX_SET; p++)
		rv_pt_map(root, WINDOW + p * RV_PAGE_SIZE, (u64)(uintptr_t)rv_page_alloc(),
			  PTE_FLAGS);
	rv_write_cr3(root);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	(void)ncpus;
	if (cpu) {
		rv_barrier_wait(&done);
		return 0;
	}
	setup();
	for (unsigned s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		u64 best[NR_VARIANTS];

		measure(sets[s], best);
		rv_printf("hv-breakeven: %u pages:", sets[s]);
		for (unsigned v = 0; v < NR_VARIANTS; v++)
			rv_printf(" %lu", best[v]);
		rv_printf(" ticks per round (no flush, list 1 2 4 8 12 15, space)\n");
	}
	rv_barrier_wait(&done);
	return 0;
}
