// SPDX-License-Identifier: MIT
/*
 * hv-tlbflush: two test pages, A and B, and two frames. vCPU 0 swaps the
 * two pages' PTEs, so that A shows the frame B showed and the other way
 * round, then flushes the other vCPUs with one of the Hyper-V flush
 * hypercalls; the other vCPUs read both pages in a loop. Once a flush has
 * returned, every read must see the mapping of the latest swap. (The
 * scenario of the Linux KVM Hyper-V TLB flush selftest, written here from
 * its description.) Needs --hyperv.
 *
 * A generation counter says what a read may see: odd while a swap and its
 * flush are under way, even once the flush returned. A worker reads it,
 * reads a page, and reads it again; when both reads give the same even
 * generation, no swap overlapped the page read (the swap's PTE writes come
 * after the counter turned odd), and the page must show that generation's
 * frame. Before the next swap the sender waits until every worker has
 * checked the current generation, so each one holds a translation the next
 * flush must remove.
 */
#include "hyperv.h"
#include "rv.h"

#define DEFAULT_ROUNDS 256
RV_CONFIG(DEFAULT_ROUNDS, 2, 0x7f1b);

#define PAGE_A	  0x0000010000000000ull /* 1 TiB: its own PML4 slot, above any RAM */
#define PAGE_B	  (PAGE_A + RV_PAGE_SIZE)
#define PTE_FLAGS (RV_PTE_P | RV_PTE_W | RV_PTE_NX)
#define FORMS	  8
#define LONG_LIST 20 /* more than 15 entries: the hypervisor flushes everything */
#define WORDS	  (RV_PAGE_SIZE / 8)

enum {
	CHECK_STALE = 1,     /* a read after a returned flush saw the older mapping */
	CHECK_HYPERCALL = 2, /* a flush hypercall did not succeed */
	CHECK_SENDER = 3,    /* the sender's own read after its INVLPGs was old */
	CHECK_CONFIG = 4,
};

struct tf_cpu {
	u64 seen; /* the last generation this worker checked */
	u64 checked, skipped, rng;
} RV_ALIGNED(RV_CACHE_LINE);

static struct {
	u64 root, frame[2];
	u64 *pte_a, *pte_b;
	u64 gen; /* odd: a swap is under way */
	u32 rounds;
	u64 hv_pages; /* the hypercall page, then the input page */
	u64 calls[FORMS];
	struct tf_cpu *cpus;
} tf;

static struct rv_barrier sync_point = RV_BARRIER_INIT(0);

static u64 pattern(unsigned frame)
{
	return 0x5a5a000000000000ull | (u64)(frame + 1) << 32 | (frame + 1);
}

/* After @gen / 2 swaps, page A shows frame 0 when the count is even. */
static u64 expected(u64 gen, bool page_b)
{
	return pattern((unsigned)((gen / 2 + page_b) % 2));
}

static void check_read(struct tf_cpu *c, unsigned cpu)
{
	u64 r = rv_rand(&c->rng);
	bool page_b = r & 1;
	u64 word = (r >> 1) % WORDS;
	u64 g1 = rv_load_acquire(&tf.gen);
	u64 v = rv_read_once(*(volatile u64 *)(uintptr_t)((page_b ? PAGE_B : PAGE_A) + word * 8));
	u64 g2 = rv_load_acquire(&tf.gen);

	if ((g1 & 1) || g1 != g2) {
		c->skipped++;
		return;
	}
	if (v != expected(g1, page_b))
		rv_fail(CHECK_STALE,
			"hv-tlbflush: vCPU %u read %#lx from page %c word %lu at generation %lu, "
			"want %#lx: a flush returned and the old mapping is still used",
			cpu, v, page_b ? 'B' : 'A', word, g1, expected(g1, page_b));
	c->checked++;
	rv_store_release(&c->seen, g1);
}

/* The hypercall's input for round @round; returns the control word. */
static u64 build_call(u64 *in, unsigned ncpus, u32 round)
{
	u32 form = round % FORMS, reps = 0, var = 0;
	u16 code = HV_FLUSH_LIST;

	in[0] = tf.root; /* the address space, when the flags do not say "all" */
	in[1] = HV_FLUSH_ALL_ADDRESS_SPACES;
	switch (form) {
	case 0: /* one entry: A and the page after it */
		in[2] = hv_mask_all_but(0, ncpus);
		in[3] = PAGE_A | 1;
		reps = 1;
		break;
	case 1: /* two entries, in the named address space, non-global only */
		in[1] = HV_FLUSH_NON_GLOBAL_ONLY;
		in[2] = hv_mask_all_but(0, ncpus);
		in[3] = PAGE_A;
		in[4] = PAGE_B;
		reps = 2;
		break;
	case 2: /* too long to queue: a flush of everything */
		in[2] = hv_mask_all_but(0, ncpus);
		for (u32 k = 0; k < LONG_LIST; k++)
			in[3 + k] = k % 2 ? PAGE_B : PAGE_A;
		reps = LONG_LIST;
		break;
	case 3:
		in[1] |= HV_FLUSH_ALL_PROCESSORS;
		in[2] = 0;
		code = HV_FLUSH_SPACE;
		break;
	case 4: /* the named address space */
		in[1] = 0;
		in[2] = hv_mask_all_but(0, ncpus);
		code = HV_FLUSH_SPACE;
		break;
	case 5:
		var = hv_set_all_but(&in[2], 0, ncpus);
		in[4 + var] = PAGE_B;
		in[5 + var] = PAGE_A;
		reps = 2;
		code = HV_FLUSH_LIST_EX;
		break;
	case 6:
		var = hv_set_all_but(&in[2], 0, ncpus);
		code = HV_FLUSH_SPACE_EX;
		break;
	default: /* ListEx with the "all" VP set format: no banks */
		in[2] = HV_SET_ALL;
		in[3] = 0;
		in[4] = PAGE_A | 1;
		reps = 1;
		code = HV_FLUSH_LIST_EX;
		break;
	}
	tf.calls[form]++;
	return hv_control(code, false, var, reps, 0);
}

static void swap_and_flush(unsigned ncpus, u32 round)
{
	u64 *in = rv_phys(tf.hv_pages + RV_PAGE_SIZE);
	u64 gen = tf.gen, ctl, rax;
	unsigned b = (unsigned)((gen / 2 + 1) % 2); /* the frame A shows next */

	rv_store_release(&tf.gen, gen + 1);
	rv_xchg(tf.pte_a, tf.frame[b] | PTE_FLAGS);
	rv_xchg(tf.pte_b, tf.frame[!b] | PTE_FLAGS);
	rv_invlpg(PAGE_A);
	rv_invlpg(PAGE_B);
	ctl = build_call(in, ncpus, round);
	rax = hv_call(ctl, (u64)(uintptr_t)in, 0);
	if (hv_status(rax) != HV_STATUS_SUCCESS || hv_reps(rax) != ((ctl >> 32) & 0xfff))
		rv_fail(CHECK_HYPERCALL, "hv-tlbflush: round %u: call %#lx returned %#lx", round,
			ctl, rax);
	rv_store_release(&tf.gen, gen + 2);
	if (rv_read_once(*(volatile u64 *)(uintptr_t)PAGE_A) != expected(gen + 2, false) ||
	    rv_read_once(*(volatile u64 *)(uintptr_t)PAGE_B) != expected(gen + 2, true))
		rv_fail(CHECK_SENDER, "hv-tlbflush: round %u: the sender's INVLPG did not take",
			round);
}

static void wait_for_workers(unsigned ncpus, u64 gen)
{
	for (unsigned v = 1; v < ncpus; v++) {
		while (rv_load_acquire(&tf.cpus[v].seen) < gen)
			rv_pause();
	}
}

static void *alloc_array(u64 bytes)
{
	return rv_pages_alloc((bytes + RV_PAGE_SIZE - 1) / RV_PAGE_SIZE);
}

static void setup(unsigned ncpus)
{
	rv_config_check();
	if (!rv_config.rounds || rv_config.rounds > 1000000)
		rv_fail(CHECK_CONFIG, "hv-tlbflush: .rvconfig rounds %lu, want 1 to 1000000",
			rv_config.rounds);
	tf.rounds = (u32)rv_config.rounds;
	if (!hv_present())
		rv_fail(RV_EXIT_NO_FEATURE, "hv-tlbflush: no Hyper-V flush hypercalls (--hyperv)");
	tf.hv_pages = (u64)(uintptr_t)rv_pages_alloc(2);
	hv_enable(tf.hv_pages);
	tf.cpus = alloc_array(ncpus * sizeof(*tf.cpus));
	tf.root = rv_pt_clone(rv_boot_cr3);
	for (unsigned f = 0; f < 2; f++) {
		u64 *w = rv_page_alloc();

		for (unsigned i = 0; i < WORDS; i++)
			w[i] = pattern(f);
		tf.frame[f] = (u64)(uintptr_t)w;
	}
	rv_pt_map(tf.root, PAGE_A, tf.frame[0], PTE_FLAGS);
	rv_pt_map(tf.root, PAGE_B, tf.frame[1], PTE_FLAGS);
	tf.pte_a = rv_pt_pte(tf.root, PAGE_A);
	tf.pte_b = rv_pt_pte(tf.root, PAGE_B);
	for (unsigned v = 0; v < ncpus; v++)
		tf.cpus[v].rng = rv_config.seed ^ ((u64)v + 1) * 0x9e3779b97f4a7c15ull;
}

static void send(unsigned ncpus)
{
	for (u32 round = 0; round < tf.rounds; round++) {
		wait_for_workers(ncpus, tf.gen);
		swap_and_flush(ncpus, round);
	}
	wait_for_workers(ncpus, tf.gen);
	rv_store_release(&tf.gen, ~0ull); /* odd: the workers stop */
}

static void work(unsigned cpu)
{
	struct tf_cpu *c = &tf.cpus[cpu];

	while (rv_load_acquire(&tf.gen) != ~0ull)
		check_read(c, cpu);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	if (cpu == 0)
		setup(ncpus);
	rv_barrier_wait(&sync_point);
	rv_write_cr3(tf.root);
	rv_barrier_wait(&sync_point);
	if (cpu == 0)
		send(ncpus);
	else
		work(cpu);
	rv_barrier_wait(&sync_point);
	if (cpu)
		return 0;
	u64 checked = 0, skipped = 0;

	for (unsigned v = 1; v < ncpus; v++) {
		checked += tf.cpus[v].checked;
		skipped += tf.cpus[v].skipped;
	}
	rv_printf("hv-tlbflush: %u vCPUs, %u swaps (%lu per form), %lu reads checked, %lu "
		  "skipped during swaps: every read after a flush saw the new mapping\n",
		  ncpus, tf.rounds, tf.calls[0], checked, skipped);
	return 0;
}
