// SPDX-License-Identifier: MIT
/*
 * `reqvisor-bench tlb`: the software TLB's lookup, insertion and flushes, each
 * beside a reference of the same shape measured in the same run.
 *
 * Lookups and insertions are timed in rounds of BATCH operations through a
 * noinline loop; the reference is the same loop around the plainest memory
 * operation that could stand in for the TLB (a load from, or a store to, an
 * array as large as the TLB, indexed by page number). Rounds of the two sides
 * alternate so that frequency drift hits both alike; a figure is the median
 * round. A flush of a whole TLB is timed one at a time on a TLB refilled
 * (untimed) to the same content before every sample; its reference is one
 * pass over an array of the TLB's size (a scan, or for flush-all a memset),
 * written just before, as the TLB was.
 *
 * A miss is the probe alone: the page walk that follows it in the machine
 * is not part of the TLB and is not measured here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_tlb.h"
#include "mmu/tlb.h"
#include "mmu/walk.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  2

#define TIMED_LOOP BENCH_NOINLINE __attribute__((aligned(64)))

#define BATCH	   4096 /* lookups or insertions per round */
#define ADDR_BATCH 256	/* address flushes per round */
#define ROUNDS	   301
#define SAMPLES	   201

#define KB4 0x1000ull
#define MB2 0x200000ull
#define GB1 0x40000000ull

/* Where the hit TLB keeps each size, and addresses it never maps. */
#define BASE_4K	  0x00007f0000000000ull
#define BASE_2M	  0x0000600000000000ull
#define BASE_1G	  0x0000400000000000ull
#define BASE_MISS 0x0000200000000000ull
#define NR_1G	  8

#define ROOT1 0x1000000ull
#define ROOT2 0x2000000ull

enum row_id {
	HIT_4K,
	HIT_2M,
	HIT_1G,
	MISS,
	MISS_4K_ONLY,
	MISS_WALK,
	INSERT,
	FLUSH_ADDR,
	FLUSH_NONGLOBAL,
	FLUSH_NONGLOBAL_ANY,
	FLUSH_TAG,
	FLUSH_TAG_ANY,
	FLUSH_EPTRTA,
	FLUSH_ALL,
	NR_ROWS,
};

struct row {
	const char *key;
	const char *name;
	const char *ref;
	struct bench_stats ns;
	struct bench_stats ref_ns;
	double removed; /* entries per operation, flushes only */
};

static struct row rows[NR_ROWS] = {
	[HIT_4K] = { .key = "hit_4k", .name = "lookup hit, 4 KiB page", .ref = "array load" },
	[HIT_2M] = { .key = "hit_2m", .name = "lookup hit, 2 MiB page", .ref = "array load" },
	[HIT_1G] = { .key = "hit_1g", .name = "lookup hit, 1 GiB page", .ref = "array load" },
	[MISS] = { .key = "miss", .name = "lookup miss, all sizes cached", .ref = "array load" },
	[MISS_4K_ONLY] = { .key = "miss_4k_only",
			   .name = "lookup miss, only 4 KiB cached",
			   .ref = "array load" },
	[MISS_WALK] = { .key = "miss_walk",
			.name = "miss + 4-level walk + insert",
			.ref = "4 dependent loads" },
	[INSERT] = { .key = "insert", .name = "insert 4 KiB, evicting", .ref = "32-byte store" },
	[FLUSH_ADDR] = { .key = "flush_addr",
			 .name = "flush addr (INVLPG)",
			 .ref = "8-byte store" },
	[FLUSH_NONGLOBAL] = { .key = "flush_nonglobal",
			      .name = "flush non-global VPID+PCID (MOV CR3)",
			      .ref = "array scan" },
	[FLUSH_NONGLOBAL_ANY] = { .key = "flush_nonglobal_any",
				  .name = "flush non-global VPID (INVVPID 3)",
				  .ref = "array scan" },
	[FLUSH_TAG] = { .key = "flush_tag",
			.name = "flush VPID+PCID, globals too",
			.ref = "array scan" },
	[FLUSH_TAG_ANY] = { .key = "flush_tag_any",
			    .name = "flush VPID (INVVPID 1)",
			    .ref = "array scan" },
	[FLUSH_EPTRTA] = { .key = "flush_eptrta",
			   .name = "flush EPT root (INVEPT 1)",
			   .ref = "array scan" },
	[FLUSH_ALL] = { .key = "flush_all", .name = "flush all", .ref = "memset" },
};

struct tlb_opts {
	unsigned sets, ways;
	const char *json_path;
	bool quick;
};

static volatile uint64_t sink;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct rv_tlb_tag tag_of(uint16_t vpid, uint16_t pcid, uint64_t eptrta)
{
	struct rv_tlb_tag t = { .eptrta = eptrta, .vpid = vpid, .pcid = pcid };

	return t;
}

/* The vCPU whose lookups the hit and miss rows time. */
static const struct rv_tlb_tag hot = { .vpid = 1, .pcid = 1 };

/* ---- the timed loops ---------------------------------------------------- */

static TIMED_LOOP uint64_t lookup_loop(struct rv_tlb *tlb, const uint64_t *addr, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct rv_tlb_entry *e = rv_tlb_lookup(tlb, RV_TLB_LINEAR, hot, addr[i]);

		sum += e ? e->out : 1;
	}
	return sum;
}

static TIMED_LOOP uint64_t load_loop(const uint64_t *arr, uint64_t mask, const uint64_t *addr,
				     unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += arr[((addr[i] >> 12) & mask) * 4];
	return sum;
}

static TIMED_LOOP uint64_t insert_loop(struct rv_tlb *tlb, uint64_t first, unsigned n)
{
	struct rv_tlb_fill f = { .size = RV_TLB_4K, .perm = RV_TLB_R | RV_TLB_W };

	for (unsigned i = 0; i < n; i++) {
		uint64_t a = first + i * KB4;

		f.out = a;
		f.time = i;
		rv_tlb_insert(tlb, RV_TLB_LINEAR, hot, a, &f);
	}
	return 0;
}

static TIMED_LOOP uint64_t store_loop(uint64_t *arr, uint64_t mask, uint64_t first, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = first + i * KB4;
		uint64_t *e = &arr[((a >> 12) & mask) * 4];

		e[0] = a | 1;
		e[1] = 1;
		e[2] = a;
		e[3] = i;
	}
	return 0;
}

static TIMED_LOOP uint64_t flush_addr_loop(struct rv_tlb *tlb, const uint64_t *addr, unsigned n)
{
	uint64_t removed = 0;

	for (unsigned i = 0; i < n; i++)
		removed += rv_tlb_flush_addr(tlb, hot.vpid, hot.pcid, addr[i], false);
	return removed;
}

static TIMED_LOOP uint64_t clear_loop(uint64_t *arr, uint64_t mask, const uint64_t *addr,
				      unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		arr[((addr[i] >> 12) & mask) * 4] = 0;
	return 0;
}

/* What a scan flush cannot do without: read each entry's key and compare. */
static TIMED_LOOP uint64_t scan_loop(const uint64_t *arr, size_t entries, uint64_t want)
{
	uint64_t hits = 0;

	for (size_t i = 0; i < entries; i++)
		hits += (arr[i * 4] & 0xffff) == want;
	return hits;
}

/* ---- building TLBs ------------------------------------------------------- */

static void insert(struct rv_tlb *tlb, enum rv_tlb_kind kind, struct rv_tlb_tag t, uint64_t addr,
		   enum rv_tlb_size size, bool global)
{
	struct rv_tlb_fill f = {
		.out = addr & 0xffffffffff000ull,
		.size = size,
		.perm = RV_TLB_R | RV_TLB_W | RV_TLB_X,
		.dirty = true,
		.global = global,
	};

	rv_tlb_insert(tlb, kind, t, addr, &f);
}

/*
 * The hit TLB: hot's 4 KiB pages filling three eighths of it, 2 MiB pages a
 * sixteenth, and NR_1G 1 GiB pages, all at consecutive page numbers so that
 * each size spreads evenly over the sets.
 */
static void fill_sizes(struct rv_tlb *tlb, unsigned entries, bool large)
{
	for (unsigned i = 0; i < entries * 3 / 8; i++)
		insert(tlb, RV_TLB_LINEAR, hot, BASE_4K + i * KB4, RV_TLB_4K, false);
	for (unsigned i = 0; large && i < entries / 16; i++)
		insert(tlb, RV_TLB_LINEAR, hot, BASE_2M + i * MB2, RV_TLB_2M, false);
	for (unsigned i = 0; large && i < NR_1G; i++)
		insert(tlb, RV_TLB_LINEAR, hot, BASE_1G + i * GB1, RV_TLB_1G, false);
}

/*
 * @n addresses in pages of @size at @base (@span pages) that hit in @tlb,
 * in random order at random offsets; -1 if fewer than half the pages hit.
 */
static int hit_list(struct rv_tlb *tlb, uint64_t *out, unsigned n, uint64_t base, unsigned span,
		    enum rv_tlb_size size, uint64_t seed)
{
	uint64_t bytes = rv_tlb_size_bytes(size), s = seed;
	unsigned found = 0, tries = 0;

	while (found < n) {
		uint64_t a = base + (xorshift(&s) % span) * bytes + (xorshift(&s) & (bytes - 1));
		const struct rv_tlb_entry *e = rv_tlb_lookup(tlb, RV_TLB_LINEAR, hot, a);

		if (e && rv_tlb_entry_size(e) == size)
			out[found++] = a;
		else if (++tries > 4 * n)
			return -1;
	}
	return 0;
}

static void miss_list(uint64_t *out, unsigned n, uint64_t seed)
{
	uint64_t s = seed;

	for (unsigned i = 0; i < n; i++)
		out[i] = BASE_MISS + (xorshift(&s) & 0xffffffffffull);
}

/*
 * The flush TLB: twice its capacity of insertions from four VPIDs with four
 * PCIDs each, half linear, a quarter combined (two EPT roots), a quarter
 * guest-physical, one in eight global, a few large pages. The same seed
 * gives the same content, so every sample flushes the same entries.
 */
/* One page in 64 is 1 GiB, one in 16 of the rest 2 MiB. */
static enum rv_tlb_size mixed_size(uint64_t r)
{
	if ((r >> 7) % 64 == 0)
		return RV_TLB_1G;
	return (r >> 13) % 16 == 0 ? RV_TLB_2M : RV_TLB_4K;
}

static void fill_mixed(struct rv_tlb *tlb, unsigned entries)
{
	static const enum rv_tlb_kind kinds[4] = { RV_TLB_LINEAR, RV_TLB_LINEAR, RV_TLB_COMBINED,
						   RV_TLB_GUEST_PHYSICAL };
	uint64_t s = 0x2545f4914f6cdd1dull;

	rv_tlb_flush_all(tlb);
	for (unsigned i = 0; i < 2 * entries; i++) {
		uint64_t r = xorshift(&s);
		enum rv_tlb_kind kind = kinds[r & 3];
		struct rv_tlb_tag t =
			tag_of((uint16_t)(1 + ((r >> 2) & 3)), (uint16_t)((r >> 4) & 3),
			       (r >> 6) & 1 ? ROOT2 : ROOT1);
		enum rv_tlb_size size = mixed_size(r);
		bool global = kind != RV_TLB_GUEST_PHYSICAL && (r >> 17) % 8 == 0;

		insert(tlb, kind, t, ((r >> 20) & 0xfffffffull) << 12, size, global);
	}
}

/* ---- measuring ----------------------------------------------------------- */

struct bench_ctx {
	struct tlb_opts o;
	unsigned entries;
	uint64_t *ref; /* entries * 4 words: the reference array, the TLB's size */
	uint64_t *list;
	unsigned nr_addr; /* address flushes per round: ADDR_BATCH, or fewer in a small TLB */
	double *a, *b;	  /* samples of the two sides */
	unsigned rounds, samples;
};

static double round_ns(uint64_t t0, uint64_t t1, unsigned n)
{
	return bench_ticks_ns(t1 - t0) / n;
}

static void lookup_row(struct bench_ctx *c, struct rv_tlb *tlb, enum row_id id)
{
	uint64_t mask = c->entries - 1;

	for (unsigned r = 0; r < c->rounds; r++) {
		uint64_t t0 = bench_tsc_begin();

		sink += lookup_loop(tlb, c->list, BATCH);

		uint64_t t1 = bench_tsc_end();

		sink += load_loop(c->ref, mask, c->list, BATCH);

		uint64_t t2 = bench_tsc_end();

		c->a[r] = round_ns(t0, t1, BATCH);
		c->b[r] = round_ns(t1, t2, BATCH);
	}
	bench_stats(c->a, c->rounds, &rows[id].ns);
	bench_stats(c->b, c->rounds, &rows[id].ref_ns);
}

static void insert_row(struct bench_ctx *c, struct rv_tlb *tlb)
{
	uint64_t mask = c->entries - 1;
	uint64_t next = 0x0000100000000000ull;

	for (unsigned r = 0; r < c->rounds; r++, next += BATCH * KB4) {
		uint64_t t0 = bench_tsc_begin();

		insert_loop(tlb, next, BATCH);

		uint64_t t1 = bench_tsc_end();

		store_loop(c->ref, mask, next, BATCH);

		uint64_t t2 = bench_tsc_end();

		c->a[r] = round_ns(t0, t1, BATCH);
		c->b[r] = round_ns(t1, t2, BATCH);
	}
	bench_stats(c->a, c->rounds, &rows[INSERT].ns);
	bench_stats(c->b, c->rounds, &rows[INSERT].ref_ns);
}

/* Each round flushes nr_addr cached 4 KiB pages, then puts them back. */
static void flush_addr_row(struct bench_ctx *c, struct rv_tlb *tlb)
{
	uint64_t mask = c->entries - 1, removed = 0;

	for (unsigned r = 0; r < c->rounds; r++) {
		uint64_t t0 = bench_tsc_begin();

		removed += flush_addr_loop(tlb, c->list, c->nr_addr);

		uint64_t t1 = bench_tsc_end();

		clear_loop(c->ref, mask, c->list, c->nr_addr);

		uint64_t t2 = bench_tsc_end();

		c->a[r] = round_ns(t0, t1, c->nr_addr);
		c->b[r] = round_ns(t1, t2, c->nr_addr);
		for (unsigned i = 0; i < c->nr_addr; i++)
			insert(tlb, RV_TLB_LINEAR, hot, c->list[i], RV_TLB_4K, false);
	}
	bench_stats(c->a, c->rounds, &rows[FLUSH_ADDR].ns);
	bench_stats(c->b, c->rounds, &rows[FLUSH_ADDR].ref_ns);
	rows[FLUSH_ADDR].removed = (double)removed / ((double)c->rounds * c->nr_addr);
}

static unsigned do_flush(struct rv_tlb *tlb, enum row_id id)
{
	switch (id) {
	case FLUSH_NONGLOBAL:
		return rv_tlb_flush_nonglobal(tlb, 1, 1);
	case FLUSH_NONGLOBAL_ANY:
		return rv_tlb_flush_nonglobal(tlb, 1, RV_TLB_ANY_PCID);
	case FLUSH_TAG:
		return rv_tlb_flush_tag(tlb, 1, 1);
	case FLUSH_TAG_ANY:
		return rv_tlb_flush_tag(tlb, 1, RV_TLB_ANY_PCID);
	case FLUSH_EPTRTA:
		return rv_tlb_flush_eptrta(tlb, ROOT1);
	default:
		return rv_tlb_flush_all(tlb);
	}
}

/* One flush of a full TLB per sample, beside one pass over the array. */
static void flush_row(struct bench_ctx *c, struct rv_tlb *tlb, enum row_id id)
{
	size_t bytes = (size_t)c->entries * 4 * sizeof(uint64_t);
	uint64_t removed = 0;

	for (unsigned r = 0; r < c->samples; r++) {
		fill_mixed(tlb, c->entries);

		uint64_t t0 = bench_tsc_begin();

		removed += do_flush(tlb, id);

		uint64_t t1 = bench_tsc_end();

		/* As warm as the TLB, which fill_mixed() just wrote. */
		memset(c->ref, 1, bytes);

		uint64_t t2 = bench_tsc_begin();

		if (id == FLUSH_ALL)
			memset(c->ref, 0, bytes);
		else
			sink += scan_loop(c->ref, c->entries, r);

		uint64_t t3 = bench_tsc_end();

		c->a[r] = bench_sample_ns(t0, t1);
		c->b[r] = bench_sample_ns(t2, t3);
	}
	bench_stats(c->a, c->samples, &rows[id].ns);
	bench_stats(c->b, c->samples, &rows[id].ref_ns);
	rows[id].removed = (double)removed / c->samples;
}

static struct rv_tlb *make_tlb(const struct tlb_opts *o)
{
	char err[160];
	struct rv_tlb *tlb = rv_tlb_create(o->sets, o->ways, NULL, err, sizeof(err));

	if (!tlb)
		fprintf(stderr, "reqvisor-bench: tlb: %s\n", err);
	return tlb;
}

/*
 * The miss path a machine takes: lookup, a walk of 4-level page tables in
 * memory (A bits already set, as after warm-up), insert. The tables map
 * WALK_PAGES pages, far more than the TLB holds, so lookups miss. The
 * reference is what a hardware walker does: four dependent loads.
 */
#define WALK_PT	   512u /* page tables under one PD: 1 GiB of 4 KiB pages */
#define WALK_PAGES (WALK_PT * 512u)
#define WALK_PHYS  ((uint64_t)(3 + WALK_PT) << 12)
#define WALK_GVA   0x4000000000ull

static uint64_t *walk_phys;

static _Atomic uint64_t *walk_entry(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return gpa + 8 <= WALK_PHYS ? (_Atomic uint64_t *)((uint8_t *)walk_phys + gpa) : NULL;
}

static int walk_tables(void)
{
	const uint64_t flags = RV_PTE_P | RV_PTE_W | RV_PTE_A;

	walk_phys = calloc(1, WALK_PHYS);
	if (!walk_phys)
		return -1;
	walk_phys[0] = 0x1000 | flags;				   /* PML4[0] -> PDPT */
	walk_phys[0x1000 / 8 + (WALK_GVA >> 30)] = 0x2000 | flags; /* PDPT -> PD */
	for (uint64_t t = 0; t < WALK_PT; t++) {
		walk_phys[0x2000 / 8 + t] = ((3 + t) << 12) | flags;
		for (uint64_t e = 0; e < 512; e++)
			walk_phys[((3 + t) << 12) / 8 + e] =
				((t * 512 + e) << 12) | flags | RV_PTE_D;
	}
	return 0;
}

static TIMED_LOOP uint64_t miss_walk_loop(struct rv_tlb *tlb, const struct rv_walk_ctx *w,
					  const uint64_t *addr, unsigned n)
{
	uint64_t acc = 0;
	struct rv_walk r;
	uint32_t pfec;

	for (unsigned k = 0; k < n; k++) {
		const struct rv_tlb_entry *e = rv_tlb_lookup(tlb, RV_TLB_COMBINED, hot, addr[k]);

		if (!e && !rv_walk(w, addr[k], RV_WALK_READ, &r, &pfec)) {
			struct rv_tlb_fill f = { .out = r.page_gpa,
						 .size = RV_TLB_4K,
						 .perm = RV_TLB_R | RV_TLB_W };

			e = rv_tlb_insert(tlb, RV_TLB_COMBINED, hot, addr[k], &f);
		}
		acc += e ? e->out : 0;
	}
	return acc;
}

static TIMED_LOOP uint64_t four_loads_loop(const uint64_t *addr, unsigned n)
{
	uint64_t acc = 0;

	for (unsigned k = 0; k < n; k++) {
		uint64_t a = addr[k] - WALK_GVA, t = walk_phys[0] & ~4095ull;

		t = walk_phys[t / 8 + (WALK_GVA >> 30)] & ~4095ull;
		t = walk_phys[t / 8 + ((a >> 21) & 511)] & ~4095ull;
		acc += walk_phys[t / 8 + ((a >> 12) & 511)];
	}
	return acc;
}

static int miss_walk_row(struct bench_ctx *c)
{
	struct rv_tlb *tlb = make_tlb(&c->o);
	struct rv_walk_ctx w = { .entry = walk_entry, .cr3 = 0, .nxe = true, .maxphyaddr = 46 };
	uint64_t seed = 77;

	if (!tlb || walk_tables()) {
		rv_tlb_destroy(tlb);
		return -1;
	}
	for (unsigned k = 0; k < BATCH; k++)
		c->list[k] = WALK_GVA + ((xorshift(&seed) % WALK_PAGES) << 12);
	for (unsigned r = 0; r < c->rounds; r++) {
		uint64_t t0 = bench_tsc_begin();

		sink += miss_walk_loop(tlb, &w, c->list, BATCH);

		uint64_t t1 = bench_tsc_end();

		sink += four_loads_loop(c->list, BATCH);

		uint64_t t2 = bench_tsc_end();

		c->a[r] = round_ns(t0, t1, BATCH);
		c->b[r] = round_ns(t1, t2, BATCH);
		for (unsigned k = 0; k < BATCH; k++)
			c->list[k] = WALK_GVA + ((xorshift(&seed) % WALK_PAGES) << 12);
	}
	bench_stats(c->a, c->rounds, &rows[MISS_WALK].ns);
	bench_stats(c->b, c->rounds, &rows[MISS_WALK].ref_ns);
	rv_tlb_destroy(tlb);
	free(walk_phys);
	return 0;
}

static int measure_lookups(struct bench_ctx *c)
{
	struct rv_tlb *tlb = make_tlb(&c->o), *small = make_tlb(&c->o);
	unsigned e = c->entries;
	int rc = -1;

	if (!tlb || !small)
		goto out;
	fill_sizes(tlb, e, true);
	fill_sizes(small, e, false);
	if (hit_list(tlb, c->list, BATCH, BASE_4K, e * 3 / 8, RV_TLB_4K, 1))
		goto evicted;
	lookup_row(c, tlb, HIT_4K);
	if (hit_list(tlb, c->list, BATCH, BASE_2M, e / 16 ? e / 16 : 1, RV_TLB_2M, 2))
		goto evicted;
	lookup_row(c, tlb, HIT_2M);
	if (hit_list(tlb, c->list, BATCH, BASE_1G, NR_1G, RV_TLB_1G, 3))
		goto evicted;
	lookup_row(c, tlb, HIT_1G);
	miss_list(c->list, BATCH, 4);
	lookup_row(c, tlb, MISS);
	lookup_row(c, small, MISS_4K_ONLY);
	if (miss_walk_row(c))
		goto out;
	insert_row(c, tlb);
	rc = 0;
	goto out;
evicted:
	fprintf(stderr, "reqvisor-bench: tlb: too small to keep its working set; try more sets\n");
out:
	rv_tlb_destroy(tlb);
	rv_tlb_destroy(small);
	return rc;
}

static int measure_flushes(struct bench_ctx *c)
{
	struct rv_tlb *tlb = make_tlb(&c->o);

	if (!tlb)
		return -1;
	fill_sizes(tlb, c->entries, false);
	/* Distinct cached pages, so that every flush in a round removes one. */
	c->nr_addr = c->entries * 3 / 8 < ADDR_BATCH ? c->entries * 3 / 8 : ADDR_BATCH;
	for (unsigned i = 0; i < c->nr_addr; i++) {
		c->list[i] = BASE_4K + (uint64_t)i * KB4 + (i * 64 & (KB4 - 1));
		if (!rv_tlb_lookup(tlb, RV_TLB_LINEAR, hot, c->list[i])) {
			rv_tlb_destroy(tlb);
			fprintf(stderr, "reqvisor-bench: tlb: too small to keep its working set\n");
			return -1;
		}
	}
	flush_addr_row(c, tlb);
	for (int id = FLUSH_NONGLOBAL; id <= FLUSH_ALL; id++)
		flush_row(c, tlb, (enum row_id)id);
	rv_tlb_destroy(tlb);
	return 0;
}

/* ---- output --------------------------------------------------------------- */

static void print_table(FILE *out, const struct bench_ctx *c)
{
	fprintf(out,
		"reqvisor-bench tlb: %u sets x %u ways = %u entries (%zu KiB), TSC %.3f GHz\n"
		"Median of %u rounds of %u lookups or insertions (%u address flushes), and of\n"
		"%u single flushes of a full TLB of mixed kinds and tags; references in the\n"
		"same run. The two \"lookup miss\" rows are the probe only; \"miss + 4-level\n"
		"walk + insert\" adds the page walk (src/core/mmu/walk.c) and the insertion.\n\n",
		c->o.sets, c->o.ways, c->entries, (size_t)c->entries * 32 / 1024, bench_clock.ghz,
		c->rounds, BATCH, c->nr_addr, c->samples);
	fprintf(out, "%-38s %9s %9s  %-14s %9s %7s %8s\n", "operation", "ns/op", "p99", "reference",
		"ns/op", "ratio", "removed");
	for (int i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		double ratio = r->ref_ns.median > 0 ? r->ns.median / r->ref_ns.median : 0;

		fprintf(out, "%-38s %9.2f %9.2f  %-14s %9.2f %6.1fx", r->name, r->ns.median,
			r->ns.p99, r->ref, r->ref_ns.median, ratio);
		if (i >= FLUSH_ADDR)
			fprintf(out, " %8.1f", r->removed);
		fputc('\n', out);
	}
}

static void json_stats(FILE *out, const char *name, const struct bench_stats *s)
{
	fprintf(out, "\"%s\": {\"median\": %.3f, \"mean\": %.3f, \"p99\": %.3f, \"min\": %.3f}",
		name, s->median, s->mean, s->p99, s->min);
}

static int write_json(const struct bench_ctx *c)
{
	FILE *out = fopen(c->o.json_path, "w");

	if (!out) {
		fprintf(stderr, "reqvisor-bench: tlb: cannot write %s: %s\n", c->o.json_path,
			strerror(errno));
		return -1;
	}
	fprintf(out,
		"{\n  \"bench\": \"tlb\",\n  \"sets\": %u,\n  \"ways\": %u,\n  \"entries\": %u,\n"
		"  \"tsc_ghz\": %.4f,\n  \"unit\": \"ns per operation\",\n"
		"  \"miss_includes_walk\": false, \"miss_walk_row\": \"miss_walk\",\n  \"rows\": "
		"[\n",
		c->o.sets, c->o.ways, c->entries, bench_clock.ghz);
	for (int i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		double ratio = r->ref_ns.median > 0 ? r->ns.median / r->ref_ns.median : 0;

		fprintf(out, "    {\"key\": \"%s\", \"name\": \"%s\", ", r->key, r->name);
		json_stats(out, "ns", &r->ns);
		fprintf(out, ", \"reference\": \"%s\", ", r->ref);
		json_stats(out, "ref_ns", &r->ref_ns);
		fprintf(out, ", \"ratio\": %.3f", ratio);
		if (i >= FLUSH_ADDR)
			fprintf(out, ", \"removed_per_op\": %.2f", r->removed);
		fprintf(out, "}%s\n", i + 1 < NR_ROWS ? "," : "");
	}
	fprintf(out, "  ]\n}\n");
	if (fclose(out)) {
		fprintf(stderr, "reqvisor-bench: tlb: cannot write %s\n", c->o.json_path);
		return -1;
	}
	return 0;
}

/* ---- the command ----------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench tlb [--sets N] [--ways N] [--json FILE] [--quick]\n"
		"\n"
		"The software TLB on one host thread, each operation beside a reference\n"
		"measured in the same run: lookup hits of each page size and misses (the\n"
		"probe only, no page walk), insertion into a full TLB, and each flush of a\n"
		"full TLB holding several VPIDs, PCIDs, EPT roots and kinds.\n"
		"\n"
		"  --sets N      sets, a power of two (default 256)\n"
		"  --ways N      ways per set, a power of two up to %u (default 8)\n"
		"  --json FILE   also write the figures as JSON to FILE\n"
		"  --quick       about a tenth of the rounds (a smoke test)\n",
		RV_TLB_MAX_WAYS);
}

static int bad(const char *msg, const char *arg)
{
	return bench_bad_usage("tlb", msg, arg);
}

static int parse_count(const char *s, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || n > RV_TLB_MAX_ENTRIES)
		return -1;
	*v = (unsigned)n;
	return 0;
}

static int parse(int argc, char **argv, struct tlb_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "--quick")) {
			o->quick = true;
		} else if (!strcmp(a, "--json")) {
			if (!more || !argv[i + 1][0])
				return bad("--json needs a file name", NULL);
			o->json_path = argv[++i];
		} else if (!strcmp(a, "--sets") || !strcmp(a, "--ways")) {
			unsigned *v = a[2] == 's' ? &o->sets : &o->ways;

			if (!more || parse_count(argv[i + 1], v))
				return bad(a[2] == 's' ? "--sets needs a number, not"
						       : "--ways needs a number, not",
					   more ? argv[i + 1] : "nothing");
			i++;
		} else if (a[0] == '-') {
			return bad("unknown option", a);
		} else {
			return bad("unexpected argument", a);
		}
	}
	return 0;
}

static int run(struct bench_ctx *c)
{
	if (bench_clock_init(c->o.quick))
		return -1;
	bench_pin_self(0); /* best effort: the figures are per thread anyway */
	if (measure_lookups(c) || measure_flushes(c))
		return -1;
	print_table(stdout, c);
	return c->o.json_path ? write_json(c) : 0;
}

int bench_tlb(int argc, char **argv)
{
	struct bench_ctx c = { .o = { .sets = 256, .ways = 8 } };
	char err[160];
	int rc;

	if (bench_asks_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	rc = parse(argc, argv, &c.o);
	if (rc)
		return rc;

	/* Check the sizes here, so that a bad one is a usage error. */
	struct rv_tlb *probe = rv_tlb_create(c.o.sets, c.o.ways, NULL, err, sizeof(err));

	if (!probe)
		return bad(err, NULL);
	rv_tlb_destroy(probe);
	c.entries = c.o.sets * c.o.ways;
	if (c.entries < 64)
		return bad("the benchmark needs at least 64 entries", NULL);
	c.rounds = c.o.quick ? ROUNDS / 10 : ROUNDS;
	c.samples = c.o.quick ? SAMPLES / 10 : SAMPLES;
	c.ref = calloc((size_t)c.entries * 4, sizeof(uint64_t));
	c.list = calloc(BATCH, sizeof(uint64_t));
	c.a = calloc(c.rounds > c.samples ? c.rounds : c.samples, sizeof(double));
	c.b = calloc(c.rounds > c.samples ? c.rounds : c.samples, sizeof(double));
	if (c.ref) /* fault its pages in now, not in the first timed round */
		memset(c.ref, 1, (size_t)c.entries * 4 * sizeof(uint64_t));
	rc = c.ref && c.list && c.a && c.b ? run(&c) : -1;
	free(c.ref);
	free(c.list);
	free(c.a);
	free(c.b);
	return rc ? EXIT_FAILED : 0;
}
