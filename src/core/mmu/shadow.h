/* SPDX-License-Identifier: MIT */
/*
 * Shadow paging (TDP off): the hypervisor's own page tables, derived from the
 * guest's, which the modelled CPU walks instead of the guest's.
 *
 * Each vCPU has its own shadow trees (one per guest root in a small root
 * cache), so the only thread that changes a tree, or walks it, is the vCPU's
 * own; host-side changes only ever clear SPTEs, under the tree's lock.
 *
 * Write tracking. Every guest page that some shadow page was derived from is
 * marked in a VM-wide bitmap, and each write to a marked page bumps the
 * page's generation. A shadow page remembers the generation it was last
 * synced at; one whose page's generation moved is unsync: its SPTEs may be
 * stale, which the architecture allows until the guest invalidates. Syncs
 * (MMU_SYNC, guest flushes, an intercepted INVLPG) re-derive unsync pages.
 *
 * The bump must come after the store it announces (a sync reads the
 * generation, then the entries): the machine records the page of each guest
 * write and bumps it at the vCPU's next translation or exit, by which time
 * the store is done (rv_shadow_write_done). A new shadow page starts unsync,
 * which covers a write that was checked before the page was marked.
 *
 * Every SPTE carries the logical time it was derived at, so that a TLB entry
 * filled from a stale SPTE keeps the SPTE's age and the oracle judges it.
 */
#ifndef RV_MMU_SHADOW_H
#define RV_MMU_SHADOW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmu/walk.h"

/* VM-wide write tracking of guest page-table pages. */
struct rv_shadow_track {
	uint64_t nr_pages;
	_Atomic uint64_t *table_page; /* bitmap: some shadow page derives from it */
	_Atomic uint32_t *gen;	      /* per guest page: bumped after each write */
};

int rv_shadow_track_init(struct rv_shadow_track *t, uint64_t ram_size);
void rv_shadow_track_destroy(struct rv_shadow_track *t);

/* A write to guest page @gfn has completed: bump it if it is tracked. */
static inline void rv_shadow_write_done(struct rv_shadow_track *t, uint64_t gfn)
{
	if (gfn >= t->nr_pages)
		return;
	if (atomic_load_explicit(&t->table_page[gfn / 64], memory_order_seq_cst) &
	    (1ull << (gfn % 64)))
		atomic_fetch_add_explicit(&t->gen[gfn], 1, memory_order_seq_cst);
}

/* A leaf SPTE as the hardware walk gives it. */
struct rv_shadow_leaf {
	uint32_t frame; /* host frame */
	uint8_t perm;	/* RV_TLB_R | W | U | X: the guest's rights over the whole walk */
	bool dirty, global;
	uint64_t time; /* when it was derived */
};

/* Where guest memory is, for deriving SPTEs. */
struct rv_shadow_env {
	void *phys;
	_Atomic uint64_t *(*entry)(void *phys, uint64_t gpa); /* a guest table entry */
	uint32_t (*frame)(void *phys, uint64_t gpa);	      /* guest page -> host frame */
	_Atomic uint64_t *clock;			      /* the TLB's logical time */
	uint32_t owner; /* the vCPU: the low 12 bits of every time */
	bool nxe;
	/* A host-side unmap bumps *seq: a fault that walked before it must
	 * not install what it found (NULL: no host-side changes). */
	const _Atomic uint64_t *seq;
	uint64_t seq_seen;
};

#define RV_SHADOW_ROOTS	     4
#define RV_SHADOW_BLOOM_BITS 4096 /* the current root and three previous ones, as KVM */

struct rv_shadow_page;

struct rv_shadow_stats {
	uint64_t faults, pages, zapped_pages, syncs, synced_pages, sync_updates, root_hits,
		root_misses, host_zaps;
};

struct rv_shadow {
	pthread_mutex_t lock; /* tree shape: the owner's changes, host-side zaps */
	struct rv_shadow_track *track;
	struct rv_shadow_page *root[RV_SHADOW_ROOTS]; /* [0] is current */
	uint64_t root_gpa[RV_SHADOW_ROOTS];
	struct rv_shadow_page *all; /* every live page, for syncs and host zaps */
	unsigned nr_pages, max_pages, nr_dead;
	/* Guest pages a leaf SPTE may map, as a Bloom filter (bits are never
	 * cleared): a host zap skips a vCPU none of whose SPTEs can map the
	 * page, instead of scanning its shadow pages. Under @lock. */
	uint64_t gfn_bloom[RV_SHADOW_BLOOM_BITS / 64];
	bool skip_sync; /* the breaking fault point shadow.skip_sync */
	struct rv_shadow_stats stats;
};

void rv_shadow_init(struct rv_shadow *s, struct rv_shadow_track *track, unsigned max_pages);
void rv_shadow_destroy(struct rv_shadow *s);

/*
 * Make the root for guest CR3 @cr3 current: from the cache, or new. Returns
 * true when it came from the cache (KVM's fast root switch).
 */
bool rv_shadow_load_root(struct rv_shadow *s, uint64_t cr3);

/* The hardware walk of the current root, lock-free: false on a miss. */
bool rv_shadow_lookup(const struct rv_shadow *s, uint64_t gva, struct rv_shadow_leaf *out);

/*
 * A shadow page fault: the guest walk @w of @gva succeeded; derive the SPTEs
 * along it. Fills @out with the new leaf. Returns false when the page budget
 * is exhausted (the translation is then used once, uncached).
 */
bool rv_shadow_fault(struct rv_shadow *s, const struct rv_shadow_env *env, uint64_t gva,
		     const struct rv_walk *w, struct rv_shadow_leaf *out);

/* Re-derive every unsync page of every cached root (MMU_SYNC). */
void rv_shadow_sync(struct rv_shadow *s, const struct rv_shadow_env *env);

/* Intercepted INVLPG: re-derive the path of @gva in every cached root. */
void rv_shadow_invlpg(struct rv_shadow *s, const struct rv_shadow_env *env, uint64_t gva);

/* Host side: clear every leaf SPTE that maps host @frame, the frame of guest
 * page @gfn. Returns how many. */
unsigned rv_shadow_zap_frame(struct rv_shadow *s, uint32_t frame, uint64_t gfn);
/*
 * Host side: clear every leaf SPTE whose host frame @frame_gfn (host frame
 * -> guest page) maps into guest pages [@gfn, @gfn + @count), in one pass
 * over the shadow pages whatever @count is. Returns how many.
 */
unsigned rv_shadow_zap_gfns(struct rv_shadow *s, const _Atomic uint32_t *frame_gfn, uint64_t gfn,
			    uint64_t count);

#endif
