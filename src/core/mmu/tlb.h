/* SPDX-License-Identifier: MIT */
/*
 * The software TLB of one pCPU, shared by every vCPU that runs there, which is
 * why every entry carries a tag. It caches the three kinds of mapping of the
 * Intel SDM vol. 3C §28.4:
 *
 *   LINEAR          GVA page -> GPA page, tagged (VPID or ASID, PCID)
 *   GUEST_PHYSICAL  GPA page -> HPA page, tagged (EPT root)
 *   COMBINED        GVA page -> HPA page, tagged (VPID, PCID, EPT root)
 *
 * The TLB is a set-associative array sized at creation and never allocates
 * again. It is not thread-safe: one pCPU thread uses it at a time, so its
 * counters are plain integers.
 *
 * Tags. The VPID field holds the VPID on VMX and the ASID on SVM (16 bits:
 * current AMD parts have at most 2^15 ASIDs). The PCID is 12 bits (0 when
 * CR4.PCIDE = 0). The EPT root is the EPTRTA, bits 51:12 of the EPTP. Fields
 * a kind is not tagged with are ignored: a LINEAR lookup does not look at
 * eptrta, a GUEST_PHYSICAL one looks at nothing else. (SVM tags everything
 * with the ASID alone, APM vol. 2 §15.16: its backend can cache COMBINED
 * entries, or put an ASID-derived value below 2^52 in eptrta.)
 *
 * Global entries. Only LINEAR and COMBINED entries can be global. The SDM
 * lets a processor use a global entry whatever PCID it was cached under
 * (vol. 3A §4.10.2.4), and for combined mappings it may use global ones of
 * the current VPID and EP4TA under any PCID (vol. 3C §28.4). So a global
 * entry matches a lookup under any PCID of its VPID (and EPT root); the PCID
 * it was inserted under is kept for the visit function only.
 *
 * Several entries may cover one address: once the guest changes the size of
 * a page without a flush, the TLB may hold a translation of each size for it
 * and an access may use any of them (vol. 3A §4.10.2.3). A lookup returns the
 * smallest page that matches. Dropping an entry early is always allowed (a
 * processor may invalidate any TLB entry at any time, §4.10.2.2), which is
 * what insertion does to the entries a new one supersedes.
 *
 * Addresses. GVAs must be canonical: the TLB keeps bits 56:12 of a page
 * number, enough for 5-level paging, and sign-extends bit 56 when it gives
 * one back. GPAs and HPAs are below 2^52.
 */
#ifndef RV_MMU_TLB_H
#define RV_MMU_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rv_tlb_kind {
	RV_TLB_LINEAR,
	RV_TLB_GUEST_PHYSICAL,
	RV_TLB_COMBINED,
	RV_TLB_NR_KINDS,
};

enum rv_tlb_size {
	RV_TLB_4K,
	RV_TLB_2M,
	RV_TLB_1G,
	RV_TLB_NR_SIZES,
};

static inline unsigned rv_tlb_size_shift(enum rv_tlb_size size)
{
	return 12 + 9 * (unsigned)size;
}

static inline uint64_t rv_tlb_size_bytes(enum rv_tlb_size size)
{
	return 1ull << rv_tlb_size_shift(size);
}

struct rv_tlb_tag {
	uint64_t eptrta; /* EPT root, 4 KiB aligned: GUEST_PHYSICAL and COMBINED */
	uint16_t vpid;	 /* VPID or ASID: LINEAR and COMBINED */
	uint16_t pcid;	 /* 12 bits: LINEAR and COMBINED */
};

/* Flush arguments: every PCID of the VPID, every EPT root. */
#define RV_TLB_ANY_PCID	  0xffffu
#define RV_TLB_ANY_EPTRTA UINT64_MAX

/*
 * Access rights, the combined rights of every level of the walk (for
 * COMBINED, of both walks): R/W the AND of the R/W bits, U the AND of the U/S
 * bits, X the NOR of the XD bits (SDM vol. 3A §4.10.2.2). R is always set for
 * a guest paging translation; EPT can make a page execute-only, so a
 * GUEST_PHYSICAL or COMBINED entry may lack it.
 */
#define RV_TLB_R 0x1u
#define RV_TLB_W 0x2u
#define RV_TLB_U 0x4u
#define RV_TLB_X 0x8u

/* What a walk found, for rv_tlb_insert(). */
struct rv_tlb_fill {
	uint64_t out;	       /* output page address; bits below the page size ignored */
	uint64_t time;	       /* the caller's logical time of insertion */
	enum rv_tlb_size size; /* the page size the walk found */
	uint8_t perm;	       /* RV_TLB_R | RV_TLB_W | RV_TLB_U | RV_TLB_X */
	bool dirty;	       /* D was already set: a write hit needs no walk */
	bool global;	       /* G with CR4.PGE = 1; ignored for GUEST_PHYSICAL */
};

/* An entry, decoded: what rv_tlb_decode() and rv_tlb_visit() give. */
struct rv_tlb_info {
	enum rv_tlb_kind kind;
	struct rv_tlb_tag tag; /* the fields the kind is not tagged with are 0 */
	uint64_t in;	       /* input page address (GVA or GPA), aligned to the size */
	struct rv_tlb_fill fill;
	unsigned set, way;
};

/*
 * One entry, 32 bytes so that two share a cache line. Words 0 and 1 are the
 * match key, compared whole on a lookup; their layout is private to tlb.c.
 * Use the accessors below.
 */
struct rv_tlb_entry {
	uint64_t key;  /* page, PCID, kind, size, valid, global */
	uint64_t tag;  /* EPT root, VPID */
	uint64_t out;  /* output page address | RV_TLB_* rights | dirty */
	uint64_t time; /* logical time of insertion */
};

#define RV_TLB_OUT_DIRTY 0x10u
#define RV_TLB_OUT_PERM	 0x0fu
#define RV_TLB_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */
#define RV_TLB_KEY_SIZE	 60		       /* the size sits in bits 61:60 of the key */

static inline enum rv_tlb_size rv_tlb_entry_size(const struct rv_tlb_entry *e)
{
	return (enum rv_tlb_size)((e->key >> RV_TLB_KEY_SIZE) & 3);
}

static inline unsigned rv_tlb_entry_perm(const struct rv_tlb_entry *e)
{
	return (unsigned)(e->out & RV_TLB_OUT_PERM);
}

static inline bool rv_tlb_entry_dirty(const struct rv_tlb_entry *e)
{
	return e->out & RV_TLB_OUT_DIRTY;
}

/* The output address for @addr, an address the entry covers. */
static inline uint64_t rv_tlb_entry_translate(const struct rv_tlb_entry *e, uint64_t addr)
{
	uint64_t off = rv_tlb_size_bytes(rv_tlb_entry_size(e)) - 1;

	return (e->out & RV_TLB_ADDR_MASK) | (addr & off);
}

/* Every field of @e; set and way are left 0 (rv_tlb_visit() fills them). */
void rv_tlb_decode(const struct rv_tlb_entry *e, struct rv_tlb_info *info);

/* Where the array comes from, e.g. a NUMA node's arena. NULL: libc. */
struct rv_tlb_allocator {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx;
};

/* The flush operations, for the counters. */
enum rv_tlb_flush_op {
	RV_TLB_FLUSH_ALL,
	RV_TLB_FLUSH_TAG,
	RV_TLB_FLUSH_NONGLOBAL,
	RV_TLB_FLUSH_ADDR,
	RV_TLB_FLUSH_EPTRTA,
	RV_TLB_FLUSH_IF,
	RV_TLB_NR_FLUSH_OPS,
};

struct rv_tlb_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t replaced;  /* entries an insertion superseded (same page, or covering it) */
	uint64_t evictions; /* valid entries an insertion pushed out of a full set */
	uint64_t flushes[RV_TLB_NR_FLUSH_OPS]; /* calls */
	uint64_t flushed[RV_TLB_NR_FLUSH_OPS]; /* entries they removed */
};

struct rv_tlb;

/* Limits of rv_tlb_create(). */
#define RV_TLB_MAX_SETS	   (1u << 20)
#define RV_TLB_MAX_WAYS	   64u
#define RV_TLB_MAX_ENTRIES (1u << 22)

/*
 * A TLB of @sets sets of @ways entries, both powers of two, in one
 * allocation from @a (NULL: libc). NULL with a message in @err on a bad size
 * or no memory.
 */
struct rv_tlb *rv_tlb_create(unsigned sets, unsigned ways, const struct rv_tlb_allocator *a,
			     char *err, size_t errlen);
void rv_tlb_destroy(struct rv_tlb *tlb);

unsigned rv_tlb_sets(const struct rv_tlb *tlb);
unsigned rv_tlb_ways(const struct rv_tlb *tlb);
/* Valid entries now. */
unsigned rv_tlb_count(const struct rv_tlb *tlb);
const struct rv_tlb_stats *rv_tlb_stats(const struct rv_tlb *tlb);
void rv_tlb_stats_reset(struct rv_tlb *tlb);

/*
 * The entry of @kind that translates @addr under @tag, of any page size, or
 * NULL. A non-global entry matches when every field @kind is tagged with is
 * equal; a global one matches any PCID. The pointer is valid until the next
 * insertion or flush. Counts a hit or a miss; never allocates, never walks.
 */
const struct rv_tlb_entry *rv_tlb_lookup(struct rv_tlb *tlb, enum rv_tlb_kind kind,
					 struct rv_tlb_tag tag, uint64_t addr);

/*
 * Cache what a walk of @addr under @tag found. The new entry supersedes every
 * entry that a lookup of @addr could otherwise return instead of it: entries
 * of @kind with the same VPID and EPT root (as @kind is tagged), of any page
 * size covering @addr, and of the same PCID or with either of the two
 * global. Those are dropped (counted in "replaced"); the new entry takes the
 * way of one of them in its own set, else an invalid way, else it evicts the
 * set's ways in round-robin order (counted in "evictions"). Returns it.
 */
const struct rv_tlb_entry *rv_tlb_insert(struct rv_tlb *tlb, enum rv_tlb_kind kind,
					 struct rv_tlb_tag tag, uint64_t addr,
					 const struct rv_tlb_fill *fill);

/*
 * Flushes. Each returns how many entries it removed. The LINEAR and COMBINED
 * flushes take a VPID and a PCID or RV_TLB_ANY_PCID; they remove COMBINED
 * entries of every EPT root and never touch GUEST_PHYSICAL ones (SDM vol. 3C
 * §28.4). "Visible to (vpid, pcid)" means what a lookup under that tag
 * could return: the VPID's entries of that PCID, plus the VPID's global
 * entries of any PCID.
 */

/* Every entry of every kind and tag: SVM TLB_CONTROL 1, a new ASID
 * generation, INVEPT global together with INVVPID all-context. */
unsigned rv_tlb_flush_all(struct rv_tlb *tlb);

/*
 * LINEAR and COMBINED entries visible to (@vpid, @pcid), globals included.
 * With RV_TLB_ANY_PCID, every entry of the VPID: INVVPID single-context,
 * a CR4.PGE or CR4.PCIDE change, SVM TLB_CONTROL 3 (flush this ASID).
 */
unsigned rv_tlb_flush_tag(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid);

/*
 * LINEAR and COMBINED non-global entries of (@vpid, @pcid); every global
 * entry survives. MOV CR3: PCID 0 when CR4.PCIDE = 0, else the new PCID
 * unless bit 63 is set (then no flush at all); INVPCID single-context (1).
 * With RV_TLB_ANY_PCID: INVPCID type 3, INVVPID single-context-retaining-
 * globals (3), SVM TLB_CONTROL 7.
 */
unsigned rv_tlb_flush_nonglobal(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid);

/*
 * LINEAR and COMBINED entries of @vpid of every page size covering @gva,
 * visible to @pcid (or of any PCID with RV_TLB_ANY_PCID); with @keep_global
 * the global ones survive.
 *   INVLPG:                       (vpid, current pcid, gva, false)
 *   INVPCID individual-address:   (vpid, pcid, gva, true)
 *   INVVPID individual-address:   (vpid, RV_TLB_ANY_PCID, gva, false)
 *   SVM INVLPGA:                  (asid, RV_TLB_ANY_PCID, gva, false)
 */
unsigned rv_tlb_flush_addr(struct rv_tlb *tlb, uint16_t vpid, uint16_t pcid, uint64_t gva,
			   bool keep_global);

/*
 * GUEST_PHYSICAL and COMBINED entries of EPT root @eptrta, whatever their
 * VPID, PCID and global bit; LINEAR entries survive. INVEPT single-context,
 * or with RV_TLB_ANY_EPTRTA every root: INVEPT global.
 */
unsigned rv_tlb_flush_eptrta(struct rv_tlb *tlb, uint64_t eptrta);

/*
 * Every entry for which @pred returns true: for what no operation above
 * expresses (e.g. INVVPID all-context, which spares VPID 0). Slow path.
 */
unsigned rv_tlb_flush_if(struct rv_tlb *tlb, bool (*pred)(void *ctx, const struct rv_tlb_info *e),
			 void *ctx);

/*
 * Call @fn on every valid entry, in set and way order; stop at the first
 * non-zero return and return it (0 when every call returned 0). @fn must not
 * insert or flush.
 */
int rv_tlb_visit(const struct rv_tlb *tlb, int (*fn)(void *ctx, const struct rv_tlb_info *e),
		 void *ctx);

#endif
