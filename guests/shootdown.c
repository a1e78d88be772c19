// SPDX-License-Identifier: MIT
/*
 * shootdown: TLB shootdown the way Linux does it, checked by the guest.
 *
 * All vCPUs share one address space: a clone of the boot tables plus a
 * window of `pages` 4 KiB pages at WINDOW, each mapped to a frame whose
 * every 64-bit word carries a stamp, (version << 32 | page << 16 | counter).
 * Workers read random words and check the stamp, and bump the counter with
 * CMPXCHG (a write, whose read is checked too).
 *
 * Round r is led by vCPU r % n, the initiator. It remaps up to BATCH pages
 * to fresh frames holding the next version, INVLPGs them locally, asks every
 * other vCPU to flush (a pending flag each, then an IPI: the shorthand
 * "all but self" on even rounds, one IPI per vCPU on odd rounds), and waits
 * until every one has acknowledged. The flush handler INVLPGs the pages and
 * clears its flag. Only then does the initiator publish the new versions
 * and free the old frames, which a later round refills with other contents.
 *
 * The check is the shootdown's guarantee: once a vCPU has acknowledged a
 * flush, it never again sees the version the flush replaced. Each vCPU
 * knows a lower bound per page: the published version, and the versions its
 * own handler flushed most recently (covering the moment between its
 * acknowledgement and the publication). A word older than that bound, or
 * stamped for another page (a freed frame reused), fails the run. Until a
 * vCPU acknowledges, the old page is legitimately visible, and so it is not
 * checked against the new version. After the last round every page must be
 * at exactly its last version.
 *
 * Rounds and pages come from .rvconfig (rounds 0: DEFAULT_ROUNDS); one vCPU
 * works too (no IPIs then). Built with RV_SHOOTDOWN_ONE_LEADER (the
 * *_serial guests), vCPU 0 leads every round: the run is then a chain of
 * flushes, and its completion time is their latency.
 */
#include "rv.h"

#ifdef RV_SHOOTDOWN_HV
#include "hyperv.h"
#endif

#define DEFAULT_ROUNDS 64

/* reqvisor fills the block; rounds 0 there means "the guest's default". */
RV_CONFIG(DEFAULT_ROUNDS, 16, 0x5eed);

#define WINDOW	     0x0000008000000000ull /* 512 GiB: its own PML4 slot, above any RAM */
#define MAX_PAGES    4096		   /* the stamp keeps 16 bits of page index */
#define BATCH	     8			   /* pages a round remaps, at most */
#define WORDS	     (RV_PAGE_SIZE / 8)
#define OPS_PER_POLL 32
#define FINAL_WORDS  8 /* words per page the final check reads on each vCPU */
#define VEC_FLUSH    0xf0
#define PTE_FLAGS    (RV_PTE_P | RV_PTE_W | RV_PTE_NX)

enum {
	CHECK_STALE = 1,     /* a word older than an acknowledged flush allows */
	CHECK_FOREIGN = 2,   /* a word stamped for another page: a reused frame */
	CHECK_INITIATOR = 3, /* the initiator's own read after its INVLPG was old */
	CHECK_FINAL = 4,     /* after the last round, a word not at its page's last version */
	CHECK_SPURIOUS = 5,  /* a flush IPI arrived with no flush requested */
	CHECK_CONFIG = 6,    /* .rvconfig pages out of range */
	CHECK_HYPERCALL = 7, /* hv-shootdown: a flush hypercall did not succeed */
};

/* The initiator's request, read by the flush handlers while their flag is set. */
struct flush_req {
	u32 count;
	u32 page[BATCH];
	u32 version[BATCH];
};

struct sd_cpu {
	u32 pending; /* set by the initiator, cleared by this vCPU's handler: the ack */
	/* (page + 1) << 32 | version for the pages this vCPU's handler flushed last */
	u64 recent[BATCH];
	u64 rng;
	u64 ops, flushes, rounds_led, ipis_sent;
	/* Time stamp ticks in the flush paths: leading a flush until every
	 * vCPU has flushed, and (IPIs only) in the flush handler. */
	u64 lead_ticks, handler_ticks;
} RV_ALIGNED(RV_CACHE_LINE);

static struct {
	u64 root;
	u32 pages, rounds;
	u32 round;	/* rounds completed; vCPU round % n leads the next */
	u64 **pte;	/* each window page's PTE */
	u32 *version;	/* the version each page's frame holds (initiator only) */
	u32 *published; /* the version each vCPU must see at least */
	u64 *frame;	/* each page's frame (initiator only) */
	u64 *pool;	/* free frames */
	u32 npool;
	struct sd_cpu *cpus;
	struct flush_req req;
	u64 hv_pages; /* hv-shootdown: the hypercall page, then one input page per vCPU */
} sd;

static struct rv_barrier sync_point = RV_BARRIER_INIT(0);

static u64 window_va(u32 page)
{
	return WINDOW + (u64)page * RV_PAGE_SIZE;
}

static u64 stamp(u32 page, u32 version)
{
	return (u64)version << 32 | (u64)(page & 0xffff) << 16;
}

static u32 stamp_version(u64 v)
{
	return (u32)(v >> 32);
}

static u32 stamp_page(u64 v)
{
	return (u32)(v >> 16) & 0xffff;
}

/* The CMPXCHG's new value: the counter wraps inside its 16 bits. */
static u64 bump(u64 v)
{
	return (v & ~0xffffull) | ((v + 1) & 0xffff);
}

static void fill_frame(u64 frame, u32 page, u32 version)
{
	u64 *w = rv_phys(frame), s = stamp(page, version);

	for (unsigned i = 0; i < WORDS; i++)
		w[i] = s;
}

/* ---- Checks ---- */

RV_NORETURN static void report(u32 code, const char *what, u32 page, u32 word, u64 v, u32 need)
{
	u64 va = window_va(page) + word * 8;

	rv_fail(code,
		"shootdown: %s: page %u word %u at %#lx holds %#lx (page %u version %u), "
		"need page %u version >= %u; PTE now %#lx, frame of version %u at %#lx",
		what, page, word, va, v, stamp_page(v), stamp_version(v), page & 0xffff, need,
		rv_read_once(*sd.pte[page]), rv_read_once(sd.version[page]),
		rv_read_once(sd.frame[page]));
}

static void check_word(u32 page, u32 word, u64 v, u32 need)
{
	if (stamp_page(v) != (page & 0xffff))
		report(CHECK_FOREIGN, "a freed frame is still reachable", page, word, v, need);
	if (stamp_version(v) < need)
		report(CHECK_STALE, "stale contents after an acknowledged flush", page, word, v,
		       need);
}

/* The version this vCPU must see at least for @page. */
static u32 required(const struct sd_cpu *c, u32 page)
{
	u32 need = rv_load_acquire(&sd.published[page]);

	for (unsigned k = 0; k < BATCH; k++) {
		u64 r = rv_read_once(c->recent[k]);

		if (r >> 32 == (u64)page + 1 && (u32)r > need)
			need = (u32)r;
	}
	return need;
}

static void worker_op(struct sd_cpu *c)
{
	u64 r = rv_rand(&c->rng);
	u32 page = (u32)(r % sd.pages), word = (u32)((r >> 32) % WORDS);
	/* The bound first: the access after it must not be older. */
	u32 need = required(c, page);
	volatile u64 *p = (volatile u64 *)(uintptr_t)(window_va(page) + word * 8);
	u64 v = *p;

	check_word(page, word, v, need);
	if (r & (1ull << 63)) {
		u64 seen = v;

		if (!rv_cmpxchg(p, &seen, bump(v)))
			check_word(page, word, seen, need);
	}
	c->ops++;
}

/* ---- The flush IPI ---- */

static void flush_handler(unsigned vector, u64 error, struct rv_frame *f)
{
	struct sd_cpu *c = &sd.cpus[rv_cpu_id()];
	u64 t0 = rv_rdtsc();
	u32 n;

	(void)vector;
	(void)error;
	(void)f;
	if (!rv_load_acquire(&c->pending))
		rv_fail(CHECK_SPURIOUS, "shootdown: a flush IPI with no flush pending");
	n = sd.req.count;
	for (u32 k = 0; k < n; k++) {
		rv_invlpg(window_va(sd.req.page[k]));
		c->recent[k] = ((u64)sd.req.page[k] + 1) << 32 | sd.req.version[k];
	}
	c->flushes++;
	/* The acknowledgement: after the INVLPGs, as Linux clears the csd lock after the flush. */
	rv_store_release(&c->pending, 0);
	rv_apic_eoi();
	c->handler_ticks += rv_rdtsc() - t0;
}

/* ---- The initiator ---- */

/* Remap @page to a fresh frame with the next version; returns the old frame. */
static u64 remap(u32 page)
{
	u64 old = sd.frame[page], frame = sd.pool[--sd.npool];
	u32 version = sd.version[page] + 1;

	fill_frame(frame, page, version);
	rv_xchg(sd.pte[page], frame | PTE_FLAGS);
	sd.frame[page] = frame;
	rv_write_once(sd.version[page], version);
	return old;
}

static __attribute__((unused)) void request_flush(struct sd_cpu *c, unsigned cpu, unsigned ncpus,
						  u32 round)
{
	for (unsigned v = 0; v < ncpus; v++) {
		if (v != cpu)
			rv_store_release(&sd.cpus[v].pending, 1);
	}
	if (ncpus == 1)
		return;
	if (round % 2 == 0) {
		rv_send_ipi_shorthand(RV_ICR_ALL_BUT_SELF, VEC_FLUSH);
		c->ipis_sent++;
		return;
	}
	for (unsigned v = 0; v < ncpus; v++) {
		if (v != cpu) {
			rv_send_ipi(v, VEC_FLUSH);
			c->ipis_sent++;
		}
	}
}

static __attribute__((unused)) void wait_for_acks(unsigned cpu, unsigned ncpus)
{
	for (unsigned v = 0; v < ncpus; v++) {
		while (v != cpu && rv_load_acquire(&sd.cpus[v].pending))
			rv_pause();
	}
}

#ifdef RV_SHOOTDOWN_HV
/* ---- hv-shootdown: the flush hypercalls instead of IPIs ---- */

#define HV_FORMS  6
#define LONG_LIST 20 /* more than 15 entries: the hypervisor flushes everything */

/* The GVA list of the request: contiguous pages share an entry whose low
 * 12 bits count the pages after the first. */
static u32 gva_list(u64 *list)
{
	u32 n = 0;

	for (u32 k = 0; k < sd.req.count; k++) {
		u64 va = window_va(sd.req.page[k]);

		if (n && (list[n - 1] & 0xfff) < 0xfff &&
		    (list[n - 1] & ~0xfffull) + ((list[n - 1] & 0xfff) + 1) * RV_PAGE_SIZE == va)
			list[n - 1]++;
		else
			list[n++] = va;
	}
	return n;
}

/* Round r uses form r % 6: List, a List too long to queue, Space for all
 * processors, ListEx and SpaceEx with sparse sets, and a List with a
 * processor mask of 0 (all). Returns when no vCPU can use the old pages. */
static void hv_flush_others(struct sd_cpu *c, unsigned cpu, unsigned ncpus, u32 round)
{
	u64 *in = rv_phys(sd.hv_pages + (1 + (u64)cpu) * RV_PAGE_SIZE);
	u32 form = round % HV_FORMS, reps = 0, var = 0, banks;
	u16 code;
	u64 rax;

	if (ncpus == 1)
		return;
	in[0] = 0; /* the address space: the flush is for all of them anyway */
	in[1] = HV_FLUSH_ALL_ADDRESS_SPACES;
	switch (form) {
	case 0:
	case 5:
		in[2] = form == 5 ? 0 : hv_mask_all_but(cpu, ncpus);
		reps = gva_list(&in[3]);
		code = HV_FLUSH_LIST;
		break;
	case 1:
		in[2] = hv_mask_all_but(cpu, ncpus);
		for (u32 k = 0; k < LONG_LIST; k++)
			in[3 + k] = window_va(sd.req.page[k % sd.req.count]);
		reps = LONG_LIST;
		code = HV_FLUSH_LIST;
		break;
	case 2:
		in[1] |= HV_FLUSH_ALL_PROCESSORS;
		in[2] = 0;
		code = HV_FLUSH_SPACE;
		break;
	case 3:
		banks = hv_set_all_but(&in[2], cpu, ncpus);
		var = banks;
		reps = gva_list(&in[4 + banks]);
		code = HV_FLUSH_LIST_EX;
		break;
	default:
		var = hv_set_all_but(&in[2], cpu, ncpus);
		code = HV_FLUSH_SPACE_EX;
		break;
	}
	rax = hv_call(hv_control(code, false, var, reps, 0), (u64)(uintptr_t)in, 0);
	if (hv_status(rax) != HV_STATUS_SUCCESS || hv_reps(rax) != reps)
		rv_fail(CHECK_HYPERCALL,
			"hv-shootdown: flush hypercall %#x (form %u) returned %#lx, want status 0 "
			"and %u reps",
			code, form, rax, reps);
	c->ipis_sent++; /* counted as one flush request */
}
#endif

static void lead_round(struct sd_cpu *c, unsigned cpu, unsigned ncpus, u32 round)
{
	u32 batch = sd.pages < BATCH ? sd.pages : BATCH;
	u32 start = (u32)(rv_rand(&c->rng) % sd.pages);
	u64 old[BATCH];

	sd.req.count = batch;
	for (u32 k = 0; k < batch; k++) {
		u32 page = (start + k) % sd.pages;

		old[k] = remap(page);
		rv_invlpg(window_va(page));
		sd.req.page[k] = page;
		sd.req.version[k] = sd.version[page];
	}
	/* The local flush is done: this vCPU must see the new versions already. */
	for (u32 k = 0; k < batch; k++) {
		u32 page = sd.req.page[k], word = (u32)(rv_rand(&c->rng) % WORDS);
		u64 v = rv_read_once(*(volatile u64 *)(uintptr_t)(window_va(page) + word * 8));

		if (stamp_page(v) != page || stamp_version(v) != sd.req.version[k])
			report(CHECK_INITIATOR, "the initiator's own INVLPG did not take", page,
			       word, v, sd.req.version[k]);
	}
	u64 t0 = rv_rdtsc();

#ifdef RV_SHOOTDOWN_HV
	hv_flush_others(c, cpu, ncpus, round);
#else
	request_flush(c, cpu, ncpus, round);
	wait_for_acks(cpu, ncpus);
#endif
	c->lead_ticks += rv_rdtsc() - t0;
	/* Every vCPU has flushed: publish, and only now let the old frames be reused. */
	for (u32 k = 0; k < batch; k++) {
		rv_store_release(&sd.published[sd.req.page[k]], sd.req.version[k]);
		sd.pool[sd.npool++] = old[k];
	}
	c->rounds_led++;
	rv_store_release(&sd.round, round + 1);
}

/* ---- Set-up, the run, the final check ---- */

static void *alloc_array(u64 bytes)
{
	return rv_pages_alloc((bytes + RV_PAGE_SIZE - 1) / RV_PAGE_SIZE);
}

static void setup(unsigned ncpus)
{
	u64 pages, rounds;

	rv_config_check();
	pages = rv_config.pages;
	if (pages < 1 || pages > MAX_PAGES)
		rv_fail(CHECK_CONFIG, "shootdown: .rvconfig pages %lu, want 1 to %u", pages,
			MAX_PAGES);
	sd.pages = (u32)pages;
	rounds = rv_config.rounds ? rv_config.rounds : DEFAULT_ROUNDS;
	sd.rounds = rounds > 0xffffffffull ? 0xffffffffu : (u32)rounds;

	sd.pte = alloc_array(pages * sizeof(*sd.pte));
	sd.version = alloc_array(pages * sizeof(*sd.version));
	sd.published = alloc_array(pages * sizeof(*sd.published));
	sd.frame = alloc_array(pages * sizeof(*sd.frame));
	sd.pool = alloc_array((pages + BATCH) * sizeof(*sd.pool));
	sd.cpus = alloc_array(ncpus * sizeof(*sd.cpus));

	sd.root = rv_pt_clone(rv_boot_cr3);
	for (u32 p = 0; p < sd.pages; p++) {
		sd.frame[p] = (u64)(uintptr_t)rv_page_alloc();
		sd.version[p] = sd.published[p] = 1;
		fill_frame(sd.frame[p], p, 1);
		rv_pt_map(sd.root, window_va(p), sd.frame[p], PTE_FLAGS);
		sd.pte[p] = rv_pt_pte(sd.root, window_va(p));
	}
	for (u32 k = 0; k < BATCH; k++)
		sd.pool[sd.npool++] = (u64)(uintptr_t)rv_page_alloc();
	for (unsigned v = 0; v < ncpus; v++)
		sd.cpus[v].rng = rv_config.seed ^ ((u64)v + 1) * 0x9e3779b97f4a7c15ull;
	rv_set_handler(VEC_FLUSH, flush_handler);
#ifdef RV_SHOOTDOWN_HV
	if (!hv_present())
		rv_fail(RV_EXIT_NO_FEATURE, "hv-shootdown: no Hyper-V flush hypercalls (--hyperv)");
	sd.hv_pages = (u64)(uintptr_t)rv_pages_alloc(1 + ncpus);
	hv_enable(sd.hv_pages);
#endif
}

static unsigned leader(u32 round, unsigned ncpus)
{
#ifdef RV_SHOOTDOWN_ONE_LEADER
	(void)round;
	(void)ncpus;
	return 0;
#else
	return round % ncpus;
#endif
}

static void run(struct sd_cpu *c, unsigned cpu, unsigned ncpus)
{
	for (;;) {
		u32 round = rv_load_acquire(&sd.round);

		if (round >= sd.rounds)
			return;
		if (leader(round, ncpus) == cpu)
			lead_round(c, cpu, ncpus, round);
		for (unsigned k = 0; k < OPS_PER_POLL; k++)
			worker_op(c);
	}
}

/*
 * Every flush has been acknowledged: every page is at exactly its last
 * version. A translation covers a whole page, so a few words per page (some
 * different on each vCPU) check it as well as all 512 would.
 */
static void final_check(unsigned cpu)
{
	for (u32 p = 0; p < sd.pages; p++) {
		u32 last = rv_load_acquire(&sd.published[p]);
		const volatile u64 *w = (const volatile u64 *)(uintptr_t)window_va(p);

		for (u32 k = 0; k < FINAL_WORDS; k++) {
			u32 i = (cpu + k * (WORDS / FINAL_WORDS + 1)) % WORDS;
			u64 v = w[i];

			if (stamp_page(v) != (p & 0xffff) || stamp_version(v) != last)
				report(CHECK_FINAL, "a page is not at its last version at the end",
				       p, i, v, last);
		}
	}
}

static void summary(unsigned ncpus)
{
	u64 ops = 0, flushes = 0, led = 0, ipis = 0, lead = 0, handler = 0;

	for (unsigned v = 0; v < ncpus; v++) {
		ops += sd.cpus[v].ops;
		flushes += sd.cpus[v].flushes;
		led += sd.cpus[v].rounds_led;
		ipis += sd.cpus[v].ipis_sent;
		lead += sd.cpus[v].lead_ticks;
		handler += sd.cpus[v].handler_ticks;
	}
#ifdef RV_SHOOTDOWN_HV
	rv_printf("hv-shootdown: %u vCPUs, %lu rounds of up to %u of %u pages, %lu flush "
		  "hypercalls, %lu worker accesses: no stale contents seen\n",
		  ncpus, led, BATCH, sd.pages, ipis, ops);
	(void)flushes;
#else
	rv_printf("shootdown: %u vCPUs, %lu rounds of up to %u of %u pages, %lu IPIs sent, "
		  "%lu flushes acknowledged, %lu worker accesses: no stale contents seen\n",
		  ncpus, led, BATCH, sd.pages, ipis, flushes, ops);
#endif
	/* For reqvisor-bench hyperv: the guest's time in its flush paths. */
	rv_printf("flush paths: %lu ticks leading flushes, %lu ticks in flush handlers\n", lead,
		  handler);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	struct sd_cpu *c;

	if (cpu == 0)
		setup(ncpus);
	rv_barrier_wait(&sync_point);
	c = &sd.cpus[cpu];
	rv_write_cr3(sd.root);
	rv_irq_enable();
	/* Nobody sends a flush IPI before every vCPU is on the shared tables with IF=1. */
	rv_barrier_wait(&sync_point);
	run(c, cpu, ncpus);
	final_check(cpu);
	rv_barrier_wait(&sync_point);
	if (cpu == 0)
		summary(ncpus);
	return 0;
}
