// SPDX-License-Identifier: MIT
/*
 * The per-pCPU software TLB (tlb.h has the semantics).
 *
 * An entry's first two words are its match key:
 *
 *   key  bits 11:0   PCID (LINEAR and COMBINED)
 *        bits 56:12  input page address, aligned to the page size
 *        bit  57     valid
 *        bits 59:58  kind
 *        bits 61:60  page size
 *        bit  62     global
 *   tag  bits 39:0   EPT root >> 12 (GUEST_PHYSICAL and COMBINED)
 *        bits 55:40  VPID (LINEAR and COMBINED)
 *
 * so that a lookup builds the same two words for the address and compares an
 * entry with two XORs, ignoring the PCID of a global entry. An invalid entry
 * has a zero key and never matches, since every probe key is valid.
 *
 * Beside the entries, one byte per entry holds a fingerprint of its key and
 * tag without the PCID (so that a global entry's fingerprint is the one any
 * PCID's lookup computes), 0 for an invalid entry. A probe compares eight
 * fingerprints at a time in one 64-bit word and fully compares only the ways
 * whose fingerprint matches: one way on a hit, almost never one on a miss.
 * So the hit path has no loop whose exit depends on which way hits (a
 * mispredicted branch costs more than the whole probe), and touches the
 * fingerprint word and the one entry instead of every way of the set.
 *
 * Page sizes: each size has its own set index (the page number at that size,
 * plus a salt per kind, size and tag), and a lookup probes the sets of the
 * sizes the TLB holds entries of for that kind, smallest first. So a 4 KiB hit
 * costs one set probe, and a TLB holding no large pages never probes for them.
 * The salt spreads vCPUs that share a pCPU and run the same kernel at the same
 * GVAs over different sets. It cannot include the PCID (global entries match
 * any PCID) or, for COMBINED entries, the EPT root (INVLPG and INVVPID must
 * find a VPID's combined entries at an address for every root).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "tlb.h"

/* The hot path's helpers, whatever the compiler thinks of their size. */
#define HOT inline __attribute__((always_inline))

#define KEY_PCID	 0x0000000000000fffull
#define KEY_PAGE	 0x01fffffffffff000ull
#define KEY_VALID	 (1ull << 57)
#define KEY_KIND_SHIFT	 58
#define KEY_KIND	 (3ull << KEY_KIND_SHIFT)
#define KEY_SIZE	 (3ull << RV_TLB_KEY_SIZE)
#define KEY_GLOBAL_SHIFT 62
#define KEY_GLOBAL	 (1ull << KEY_GLOBAL_SHIFT)

#define TAG_ROOT       0x000000ffffffffffull
#define TAG_VPID_SHIFT 40
#define TAG_VPID       (0xffffull << TAG_VPID_SHIFT)

#define GOLDEN	 0x9e3779b97f4a7c15ull
#define BYTES_01 0x0101010101010101ull
#define BYTES_7F 0x7f7f7f7f7f7f7f7full
#define BYTES_80 0x8080808080808080ull

struct rv_tlb {
	struct rv_tlb_entry *entry; /* sets * ways, set-major, 64-byte aligned */
	uint8_t *fp;		    /* a fingerprint per entry, 0 when invalid; 8 bytes slack */
	uint64_t set_mask;
	unsigned ways_shift;
	uint64_t lanes; /* the fingerprint bytes of one word that are ways of the set */
	unsigned count;
	/* Valid entries per kind and size: a lookup skips empty sizes. */
	unsigned nr[RV_TLB_NR_KINDS][RV_TLB_NR_SIZES];
	struct rv_tlb_stats stats;
	uint8_t *cursor; /* per set: the next way round-robin replacement takes */
	unsigned sets, ways;
	struct rv_tlb_allocator alloc;
	void *raw; /* what alloc returned, and its size */
	size_t raw_size;
};

/* Which tag fields each kind is matched on. */
static const uint64_t kind_pcid[RV_TLB_NR_KINDS] = { KEY_PCID, 0, KEY_PCID };
static const uint64_t kind_vpid[RV_TLB_NR_KINDS] = { TAG_VPID, 0, TAG_VPID };
static const uint64_t kind_root[RV_TLB_NR_KINDS] = { 0, TAG_ROOT, TAG_ROOT };

/* Odd constants, one per kind and size, so that page 0 of each lands apart. */
static const uint64_t set_salt[RV_TLB_NR_KINDS][RV_TLB_NR_SIZES] = {
	{ 0x0000000000000000ull, 0x5851f42d4c957f2dull, 0x14057b7ef767814full },
	{ 0x2545f4914f6cdd1dull, 0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull },
	{ 0x94d049bb133111ebull, 0xd6e8feb86659fd93ull, 0xa0761d6478bd642full },
};

static inline uint64_t page_mask(unsigned size)
{
	return KEY_PAGE & ~(rv_tlb_size_bytes(size) - 1);
}

static inline uint64_t pack_tag(unsigned kind, struct rv_tlb_tag t)
{
	return (((uint64_t)t.vpid << TAG_VPID_SHIFT) & kind_vpid[kind]) |
	       ((t.eptrta >> 12) & kind_root[kind]);
}

/* The key of @kind at @size for @addr, without the global bit. */
static inline uint64_t pack_key(unsigned kind, unsigned size, uint16_t pcid, uint64_t addr)
{
	return (pcid & kind_pcid[kind]) | (addr & page_mask(size)) | KEY_VALID |
	       (uint64_t)kind << KEY_KIND_SHIFT | (uint64_t)size << RV_TLB_KEY_SIZE;
}

/* The part of the set index that depends on the tag: VPID, or for
 * GUEST_PHYSICAL entries the EPT root. */
static inline uint64_t tag_mix(unsigned kind, struct rv_tlb_tag t)
{
	uint64_t h = kind == RV_TLB_GUEST_PHYSICAL ? (t.eptrta >> 12) & TAG_ROOT : t.vpid;

	return ((h + 1) * GOLDEN) >> 32;
}

/* The index of the first entry of the set of @addr for @kind and @size. */
static inline size_t set_of(const struct rv_tlb *tlb, unsigned kind, unsigned size, uint64_t mix,
			    uint64_t addr)
{
	uint64_t vpn = (addr & KEY_PAGE) >> rv_tlb_size_shift(size);
	uint64_t set = (vpn + mix + set_salt[kind][size]) & tlb->set_mask;

	return (size_t)set << tlb->ways_shift;
}

static inline bool is_global(uint64_t key)
{
	return (key >> KEY_GLOBAL_SHIFT) & 1;
}

/* Seven bits of hash and the top bit set, so that 0 can mean invalid. */
static inline uint8_t fingerprint(uint64_t key, uint64_t tag)
{
	uint64_t h = ((key & ~(KEY_PCID | KEY_GLOBAL)) ^ (tag * GOLDEN)) * GOLDEN;

	return (uint8_t)(0x80 | (h >> 57));
}

/* The high bit of each byte of @x that is zero (exact, no carries). */
static inline uint64_t zero_bytes(uint64_t x)
{
	return ~(((x & BYTES_7F) + BYTES_7F) | x | BYTES_7F);
}

/* Fingerprint bytes @w .. @w + 7 of the set at @first, as one word. */
static inline uint64_t fp_word(const struct rv_tlb *tlb, size_t first, unsigned w)
{
	uint64_t word;

	memcpy(&word, tlb->fp + first + w, sizeof(word));
	return word;
}

/* The high bit of each byte of @word that may be @fp's way. */
static inline uint64_t fp_candidates(const struct rv_tlb *tlb, uint64_t word, uint8_t fp)
{
	return zero_bytes(word ^ (fp * BYTES_01)) & tlb->lanes;
}

/*
 * Whether @e and a key/tag pair built for the same size name the same
 * translation: a lookup's key has no global bit, so for a lookup this is
 * "@e translates it"; for an insertion's key, "one of the two would shadow
 * the other". The PCID does not count when either side is global.
 */
static inline bool same_translation(const struct rv_tlb_entry *e, uint64_t key, uint64_t tag)
{
	uint64_t global = ((e->key | key) >> KEY_GLOBAL_SHIFT) & 1;
	uint64_t ignore = KEY_GLOBAL | (-global & KEY_PCID);

	return !(((e->key ^ key) & ~ignore) | (e->tag ^ tag));
}

static inline unsigned key_kind(uint64_t key)
{
	return (unsigned)(key >> KEY_KIND_SHIFT) & 3;
}

static inline unsigned key_size(uint64_t key)
{
	return (unsigned)(key >> RV_TLB_KEY_SIZE) & 3;
}

/* Forget @e, which is valid. */
static inline void drop(struct rv_tlb *tlb, struct rv_tlb_entry *e)
{
	tlb->nr[key_kind(e->key)][key_size(e->key)]--;
	tlb->count--;
	tlb->fp[e - tlb->entry] = 0;
	e->key = 0;
}

static bool pow2_in(unsigned v, unsigned max)
{
	return v && v <= max && !(v & (v - 1));
}

static void *libc_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return rv_malloc(size);
}

static void libc_free(void *ctx, void *p, size_t size)
{
	(void)ctx, (void)size;
	free(p);
}

static const struct rv_tlb_allocator libc_allocator = { libc_alloc, libc_free, NULL };

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

struct rv_tlb *rv_tlb_create(unsigned sets, unsigned ways, const struct rv_tlb_allocator *a,
			     char *err, size_t errlen)
{
	if (!pow2_in(sets, RV_TLB_MAX_SETS)) {
		snprintf(err, errlen, "TLB sets must be a power of two from 1 to %u, not %u",
			 RV_TLB_MAX_SETS, sets);
		return NULL;
	}
	if (!pow2_in(ways, RV_TLB_MAX_WAYS)) {
		snprintf(err, errlen, "TLB ways must be a power of two from 1 to %u, not %u",
			 RV_TLB_MAX_WAYS, ways);
		return NULL;
	}
	if ((uint64_t)sets * ways > RV_TLB_MAX_ENTRIES) {
		snprintf(err, errlen, "a TLB of %u sets of %u ways exceeds %u entries", sets, ways,
			 RV_TLB_MAX_ENTRIES);
		return NULL;
	}
	if (!a)
		a = &libc_allocator;

	/* Header, entries, fingerprints (8 bytes slack: they are read as
	 * words) and cursors in one block; 63 bytes of slack let the entries
	 * start on a cache line whatever the allocator's alignment. */
	size_t nr = (size_t)sets * ways;
	size_t head = ALIGN64(sizeof(struct rv_tlb));
	size_t body = head + nr * sizeof(struct rv_tlb_entry) + nr + 8 + sets;
	size_t size = 63 + body;
	void *raw = a->alloc(a->ctx, size);

	if (!raw) {
		snprintf(err, errlen, "no memory for a TLB of %u sets of %u ways (%zu bytes)", sets,
			 ways, size);
		return NULL;
	}
	uint8_t *base = (uint8_t *)ALIGN64((uintptr_t)raw);
	struct rv_tlb *tlb = (struct rv_tlb *)base;

	memset(base, 0, body);
	tlb->entry = (struct rv_tlb_entry *)(base + head);
	tlb->fp = (uint8_t *)(tlb->entry + nr);
	tlb->cursor = tlb->fp + nr + 8;
	tlb->set_mask = sets - 1;
	tlb->ways_shift = (unsigned)__builtin_ctz(ways);
	tlb->lanes = ways >= 8 ? BYTES_80 : BYTES_80 & ((1ull << (8 * ways)) - 1);
	tlb->sets = sets;
	tlb->ways = ways;
	tlb->alloc = *a;
	tlb->raw = raw;
	tlb->raw_size = size;
	return tlb;
}

void rv_tlb_destroy(struct rv_tlb *tlb)
{
	if (tlb)
		tlb->alloc.free(tlb->alloc.ctx, tlb->raw, tlb->raw_size);
}

unsigned rv_tlb_sets(const struct rv_tlb *tlb)
{
	return tlb->sets;
}

unsigned rv_tlb_ways(const struct rv_tlb *tlb)
{
	return tlb->ways;
}

unsigned rv_tlb_count(const struct rv_tlb *tlb)
{
	return tlb->count;
}

const struct rv_tlb_stats *rv_tlb_stats(const struct rv_tlb *tlb)
{
	return &tlb->stats;
}

void rv_tlb_stats_reset(struct rv_tlb *tlb)
{
	memset(&tlb->stats, 0, sizeof(tlb->stats));
}

void rv_tlb_decode(const struct rv_tlb_entry *e, struct rv_tlb_info *info)
{
	unsigned kind = key_kind(e->key);
	uint64_t in = e->key & KEY_PAGE;

	memset(info, 0, sizeof(*info));
	info->kind = (enum rv_tlb_kind)kind;
	info->tag.vpid = (uint16_t)((e->tag & TAG_VPID) >> TAG_VPID_SHIFT);
	info->tag.pcid = (uint16_t)(e->key & KEY_PCID);
	info->tag.eptrta = (e->tag & TAG_ROOT) << 12;
	/* A GVA's page number is sign-extended from bit 56 (tlb.h). */
	if (kind != RV_TLB_GUEST_PHYSICAL)
		in = (uint64_t)((int64_t)(in << 7) >> 7);
	info->in = in;
	info->fill.out = e->out & RV_TLB_ADDR_MASK;
	info->fill.time = e->time;
	info->fill.size = rv_tlb_entry_size(e);
	info->fill.perm = (uint8_t)rv_tlb_entry_perm(e);
	info->fill.dirty = rv_tlb_entry_dirty(e);
	info->fill.global = is_global(e->key);
}

/* The way of the set at @first holding @key/@tag, or NULL. */
static HOT const struct rv_tlb_entry *probe(const struct rv_tlb *tlb, size_t first, uint64_t key,
					    uint64_t tag)
{
	uint8_t fp = fingerprint(key, tag);

	for (unsigned w = 0; w < tlb->ways; w += 8) {
		uint64_t m = fp_candidates(tlb, fp_word(tlb, first, w), fp);

		while (m) {
			const struct rv_tlb_entry *e =
				&tlb->entry[first + w + __builtin_ctzll(m) / 8];

			if (same_translation(e, key, tag))
				return e;
			m &= m - 1;
		}
	}
	return NULL;
}

/* The entry of @kind and @size for @addr, if the TLB holds that size. */
static HOT const struct rv_tlb_entry *probe_size(const struct rv_tlb *tlb, unsigned kind,
						 unsigned size, uint16_t pcid, uint64_t tag,
						 uint64_t mix, uint64_t addr)
{
	if (!tlb->nr[kind][size])
		return NULL;
	return probe(tlb, set_of(tlb, kind, size, mix, addr), pack_key(kind, size, pcid, addr),
		     tag);
}

/*
 * The hot path, with @kind a constant: one probe per page size held, the
 * smallest first, unrolled so that each probe's shifts and masks are
 * constants (measured on a 4 KiB hit: 4.8 ns, against 6.0 ns with @kind a
 * variable and 8.8 ns for a loop over the sizes).
 */
static HOT const struct rv_tlb_entry *lookup(struct rv_tlb *tlb, unsigned kind,
					     struct rv_tlb_tag tag, uint64_t addr)
{
	uint64_t t = pack_tag(kind, tag);
	uint64_t mix = tag_mix(kind, tag);
	const struct rv_tlb_entry *e = probe_size(tlb, kind, RV_TLB_4K, tag.pcid, t, mix, addr);

	if (!e)
		e = probe_size(tlb, kind, RV_TLB_2M, tag.pcid, t, mix, addr);
	if (!e)
		e = probe_size(tlb, kind, RV_TLB_1G, tag.pcid, t, mix, addr);
	if (e)
		tlb->stats.hits++;
	else
		tlb->stats.misses++;
	return e;
}

const struct rv_tlb_entry *rv_tlb_lookup(struct rv_tlb *tlb, enum rv_tlb_kind kind,
					 struct rv_tlb_tag tag, uint64_t addr)
{
	switch (kind) {
	case RV_TLB_LINEAR:
		return lookup(tlb, RV_TLB_LINEAR, tag, addr);
	case RV_TLB_GUEST_PHYSICAL:
		return lookup(tlb, RV_TLB_GUEST_PHYSICAL, tag, addr);
	default:
		return lookup(tlb, RV_TLB_COMBINED, tag, addr);
	}
}

/*
 * Drop the entries of the set at @first that the new entry @key/@tag
 * supersedes (their fingerprint is the new one's: it leaves the PCID out).
 * Returns the first way dropped, or NULL.
 */
static struct rv_tlb_entry *drop_superseded(struct rv_tlb *tlb, size_t first, uint64_t key,
					    uint64_t tag)
{
	struct rv_tlb_entry *slot = NULL;
	uint8_t fp = fingerprint(key, tag);

	for (unsigned w = 0; w < tlb->ways; w += 8) {
		uint64_t m = fp_candidates(tlb, fp_word(tlb, first, w), fp);

		for (; m; m &= m - 1) {
			struct rv_tlb_entry *e = &tlb->entry[first + w + __builtin_ctzll(m) / 8];

			if (same_translation(e, key, tag)) {
				tlb->stats.replaced++;
				drop(tlb, e);
				slot = slot ? slot : e;
			}
		}
	}
	return slot;
}

/* The way the new entry takes in the set at @first. */
static struct rv_tlb_entry *pick_way(struct rv_tlb *tlb, size_t first, uint64_t key, uint64_t tag)
{
	struct rv_tlb_entry *slot = drop_superseded(tlb, first, key, tag);

	if (slot)
		return slot;
	for (unsigned w = 0; w < tlb->ways; w += 8) {
		uint64_t free_ways = zero_bytes(fp_word(tlb, first, w)) & tlb->lanes;

		if (free_ways)
			return &tlb->entry[first + w + __builtin_ctzll(free_ways) / 8];
	}

	/* Round robin: no state to update on a hit, and the same sequence of
	 * operations evicts the same entries (the deterministic executor). */
	size_t set = first >> tlb->ways_shift;
	unsigned victim = tlb->cursor[set];

	tlb->cursor[set] = (uint8_t)((victim + 1) & (tlb->ways - 1));
	tlb->stats.evictions++;
	drop(tlb, &tlb->entry[first + victim]);
	return &tlb->entry[first + victim];
}

const struct rv_tlb_entry *rv_tlb_insert(struct rv_tlb *tlb, enum rv_tlb_kind kind,
					 struct rv_tlb_tag tag, uint64_t addr,
					 const struct rv_tlb_fill *fill)
{
	unsigned size = fill->size;

	assert((unsigned)kind < RV_TLB_NR_KINDS && size < RV_TLB_NR_SIZES);

	bool global = fill->global && kind != RV_TLB_GUEST_PHYSICAL;
	uint64_t key = pack_key(kind, size, tag.pcid, addr) | (uint64_t)global << KEY_GLOBAL_SHIFT;
	uint64_t t = pack_tag(kind, tag);
	uint64_t mix = tag_mix(kind, tag);

	/* Entries of other sizes covering @addr would shadow the new one. */
	for (unsigned other = 0; other < RV_TLB_NR_SIZES; other++) {
		if (other == size || !tlb->nr[kind][other])
			continue;
		uint64_t k = (key & ~(KEY_PAGE | KEY_SIZE)) | (addr & page_mask(other)) |
			     (uint64_t)other << RV_TLB_KEY_SIZE;

		drop_superseded(tlb, set_of(tlb, kind, other, mix, addr), k, t);
	}

	size_t first = set_of(tlb, kind, size, mix, addr);
	struct rv_tlb_entry *e = pick_way(tlb, first, key, t);

	e->key = key;
	e->tag = t;
	e->out = (fill->out & RV_TLB_ADDR_MASK & ~(rv_tlb_size_bytes(size) - 1)) |
		 (fill->perm & RV_TLB_OUT_PERM) | (fill->dirty ? RV_TLB_OUT_DIRTY : 0);
	e->time = fill->time;
	tlb->fp[e - tlb->entry] = fingerprint(key, t);
	tlb->nr[kind][size]++;
	tlb->count++;
	tlb->stats.inserts++;
	return e;
}

static unsigned account(struct rv_tlb *tlb, enum rv_tlb_flush_op op, unsigned removed)
{
	tlb->stats.flushes[op]++;
	tlb->stats.flushed[op] += removed;
	return removed;
}

static size_t nr_entries(const struct rv_tlb *tlb)
{
	return (size_t)tlb->sets << tlb->ways_shift;
}

unsigned rv_tlb_flush_all(struct rv_tlb *tlb)
{
	unsigned removed = tlb->count;

	if (removed) {
		memset(tlb->entry, 0, nr_entries(tlb) * sizeof(*tlb->entry));
		memset(tlb->fp, 0, nr_entries(tlb));
		memset(tlb->nr, 0, sizeof(tlb->nr));
		tlb->count = 0;
	}
	return account(tlb, RV_TLB_FLUSH_ALL, removed);
}

static bool holds(const struct rv_tlb *tlb, unsigned kind)
{
	const unsigned *n = tlb->nr[kind];

	return n[RV_TLB_4K] | n[RV_TLB_2M] | n[RV_TLB_1G];
}

/*
 * What a flush removes, as masks so that testing an entry takes a few
 * instructions and no branch (which entries match is data, and a
 * mispredicted branch costs more than the test): an entry goes when its tag
 * masked by tag_mask is tag, and its key masked by key_mask[i] is key[i] for
 * either i.
 */
struct scan {
	uint64_t tag_mask, tag;
	uint64_t key_mask[2], key[2];
};

static inline bool scan_match(const struct scan *f, uint64_t key, uint64_t tag)
{
	bool tagged = (tag & f->tag_mask) == f->tag;
	bool either = ((key & f->key_mask[0]) == f->key[0]) | ((key & f->key_mask[1]) == f->key[1]);

	return tagged & either;
}

/*
 * A LINEAR or COMBINED flush of @vpid, @pcid (or RV_TLB_ANY_PCID) with or
 * without the global entries, restricted further by @mask/@want (a kind,
 * page size and page, or just "not GUEST_PHYSICAL"): alternative 0 takes the
 * non-global entries of the PCID, alternative 1 the global ones of any PCID.
 */
static struct scan vpid_scan(uint16_t vpid, uint16_t pcid, bool keep_global, uint64_t mask,
			     uint64_t want)
{
	bool any = pcid == RV_TLB_ANY_PCID;
	struct scan f = {
		.tag_mask = TAG_VPID,
		.tag = (uint64_t)vpid << TAG_VPID_SHIFT,
		.key_mask[0] = mask | KEY_VALID | KEY_GLOBAL | (any ? 0 : KEY_PCID),
		.key[0] = want | KEY_VALID | (any ? 0 : pcid & KEY_PCID),
	};

	f.key_mask[1] = keep_global ? f.key_mask[0] : mask | KEY_VALID | KEY_GLOBAL;
	f.key[1] = keep_global ? f.key[0] : want | KEY_VALID | KEY_GLOBAL;
	return f;
}

/*
 * Drop the entries @first .. @first + @n - 1 (at most 64) that @f takes:
 * test them all into a bitmap first, so that the only data-dependent
 * branches are one per entry removed.
 */
static unsigned scan_range(struct rv_tlb *tlb, size_t first, size_t n, const struct scan *f)
{
	const struct rv_tlb_entry *e = &tlb->entry[first];
	uint64_t hit = 0;
	unsigned removed = 0;

	for (size_t i = 0; i < n; i++)
		hit |= (uint64_t)scan_match(f, e[i].key, e[i].tag) << i;
	for (; hit; hit &= hit - 1, removed++)
		drop(tlb, &tlb->entry[first + __builtin_ctzll(hit)]);
	return removed;
}

/* The same for a whole set, testing only the ways whose fingerprint is @fp. */
static unsigned scan_fp(struct rv_tlb *tlb, size_t first, uint8_t fp, const struct scan *f)
{
	unsigned removed = 0;

	for (unsigned w = 0; w < tlb->ways; w += 8) {
		uint64_t m = fp_candidates(tlb, fp_word(tlb, first, w), fp);

		for (; m; m &= m - 1) {
			struct rv_tlb_entry *e = &tlb->entry[first + w + __builtin_ctzll(m) / 8];

			if (scan_match(f, e->key, e->tag)) {
				drop(tlb, e);
				removed++;
			}
		}
	}
	return removed;
}

static unsigned scan_flush(struct rv_tlb *tlb, const struct scan *f)
{
	size_t n = nr_entries(tlb);
	unsigned removed = 0;

	for (size_t first = 0; first < n; first += 64)
		removed += scan_range(tlb, first, n - first < 64 ? n - first : 64, f);
	return removed;
}

/* LINEAR (0) and COMBINED (2) have bit 58 clear, GUEST_PHYSICAL (1) set. */
#define KEY_KIND_GP_BIT (1ull << KEY_KIND_SHIFT)

static unsigned flush_vpid(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid, bool keep_global)
{
	struct scan f = vpid_scan(vpid, pcid, keep_global, KEY_KIND_GP_BIT, 0);

	if (!holds(tlb, RV_TLB_LINEAR) && !holds(tlb, RV_TLB_COMBINED))
		return 0;
	return scan_flush(tlb, &f);
}

unsigned rv_tlb_flush_tag(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid)
{
	return account(tlb, RV_TLB_FLUSH_TAG, flush_vpid(tlb, vpid, pcid, false));
}

unsigned rv_tlb_flush_nonglobal(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid)
{
	return account(tlb, RV_TLB_FLUSH_NONGLOBAL, flush_vpid(tlb, vpid, pcid, true));
}

/*
 * Only the sets that can hold an entry for @gva: one per kind and size. A
 * LINEAR entry's fingerprint is known (it leaves out the PCID and global
 * bit), so only its candidates are tested; a COMBINED entry's includes its
 * EPT root, which this flush does not know, so every way is.
 */
unsigned rv_tlb_flush_addr(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid, uint64_t gva,
			   bool keep_global)
{
	static const unsigned kinds[] = { RV_TLB_LINEAR, RV_TLB_COMBINED };
	struct rv_tlb_tag tag = { .vpid = vpid };
	uint64_t mix = tag_mix(RV_TLB_LINEAR, tag); /* COMBINED's too: the VPID's */
	unsigned removed = 0;

	for (unsigned k = 0; k < 2; k++) {
		unsigned kind = kinds[k];

		for (unsigned size = 0; size < RV_TLB_NR_SIZES; size++) {
			if (!tlb->nr[kind][size])
				continue;
			uint64_t want = pack_key(kind, size, 0, gva);
			uint64_t mask = KEY_PAGE | KEY_KIND | KEY_SIZE;
			struct scan f = vpid_scan(vpid, pcid, keep_global, mask, want);
			size_t first = set_of(tlb, kind, size, mix, gva);

			if (kind == RV_TLB_LINEAR)
				removed += scan_fp(tlb, first, fingerprint(want, f.tag), &f);
			else
				removed += scan_range(tlb, first, tlb->ways, &f);
		}
	}
	return account(tlb, RV_TLB_FLUSH_ADDR, removed);
}

unsigned rv_tlb_flush_eptrta(struct rv_tlb *tlb, uint64_t eptrta)
{
	bool any = eptrta == RV_TLB_ANY_EPTRTA;
	struct scan f = {
		.tag_mask = any ? 0 : TAG_ROOT,
		.tag = any ? 0 : (eptrta >> 12) & TAG_ROOT,
		.key_mask = { KEY_VALID | KEY_KIND, KEY_VALID | KEY_KIND },
		.key = { KEY_VALID | (uint64_t)RV_TLB_GUEST_PHYSICAL << KEY_KIND_SHIFT,
			 KEY_VALID | (uint64_t)RV_TLB_COMBINED << KEY_KIND_SHIFT },
	};

	if (!holds(tlb, RV_TLB_GUEST_PHYSICAL) && !holds(tlb, RV_TLB_COMBINED))
		return account(tlb, RV_TLB_FLUSH_EPTRTA, 0);
	return account(tlb, RV_TLB_FLUSH_EPTRTA, scan_flush(tlb, &f));
}

unsigned rv_tlb_flush_if(struct rv_tlb *tlb, bool (*pred)(void *ctx, const struct rv_tlb_info *e),
			 void *ctx)
{
	unsigned removed = 0;

	for (unsigned s = 0; s < tlb->sets; s++) {
		for (unsigned w = 0; w < tlb->ways; w++) {
			struct rv_tlb_entry *e = &tlb->entry[((size_t)s << tlb->ways_shift) + w];
			struct rv_tlb_info info;

			if (!e->key)
				continue;
			rv_tlb_decode(e, &info);
			info.set = s;
			info.way = w;
			if (pred(ctx, &info)) {
				drop(tlb, e);
				removed++;
			}
		}
	}
	return account(tlb, RV_TLB_FLUSH_IF, removed);
}

int rv_tlb_visit(const struct rv_tlb *tlb, int (*fn)(void *ctx, const struct rv_tlb_info *e),
		 void *ctx)
{
	for (unsigned s = 0; s < tlb->sets; s++) {
		for (unsigned w = 0; w < tlb->ways; w++) {
			const struct rv_tlb_entry *e =
				&tlb->entry[((size_t)s << tlb->ways_shift) + w];
			struct rv_tlb_info info;
			int rc;

			if (!e->key)
				continue;
			rv_tlb_decode(e, &info);
			info.set = s;
			info.way = w;
			rc = fn(ctx, &info);
			if (rc)
				return rc;
		}
	}
	return 0;
}
