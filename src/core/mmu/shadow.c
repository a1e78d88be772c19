// SPDX-License-Identifier: MIT
/* Shadow paging (shadow.h). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mem/guest_mem.h"
#include "mmu/tlb.h"
#include "shadow.h"

#define ENTRIES	  512
#define ADDR_MASK 0x000ffffffffff000ull
#define AD_BITS	  (RV_PTE_A | RV_PTE_D)

/* Leaf SPTE: bit 0 present, bits 4:1 rights, 5 dirty, 6 global, 12+ frame. */
#define SPTE_P		1ull
#define SPTE_PERM_SHIFT 1
#define SPTE_DIRTY	(1ull << 5)
#define SPTE_GLOBAL	(1ull << 6)

struct rv_shadow_page {
	_Atomic uint64_t spte[ENTRIES];		       /* level 1 */
	struct rv_shadow_page *_Atomic child[ENTRIES]; /* levels 4..2 */
	uint64_t time[ENTRIES];
	struct rv_shadow_page *next, *prev; /* the owner's list of live pages */
	struct rv_shadow_page *parent;
	uint64_t gfn;	    /* the guest table page; for a direct page, its first guest page */
	uint64_t link;	    /* the parent's guest entry, accessed and dirty bits masked */
	uint32_t gen;	    /* the guest page's generation at the last sync */
	uint64_t validated; /* the last sync found every SPTE here current */
	unsigned parent_index;
	uint8_t level, up_perm;
	bool direct, dead;
};

int rv_shadow_track_init(struct rv_shadow_track *t, uint64_t ram_size)
{
	t->nr_pages = ram_size >> 12;
	t->table_page = rv_calloc((t->nr_pages + 63) / 64, sizeof(*t->table_page));
	t->gen = rv_calloc(t->nr_pages ? t->nr_pages : 1, sizeof(*t->gen));
	return t->table_page && t->gen ? 0 : -1;
}

void rv_shadow_track_destroy(struct rv_shadow_track *t)
{
	free(t->table_page);
	free(t->gen);
	t->table_page = NULL;
	t->gen = NULL;
}

static void track(struct rv_shadow_track *t, uint64_t gfn)
{
	if (gfn < t->nr_pages)
		atomic_fetch_or_explicit(&t->table_page[gfn / 64], 1ull << (gfn % 64),
					 memory_order_seq_cst);
}

static uint32_t generation(const struct rv_shadow_track *t, uint64_t gfn)
{
	return gfn < t->nr_pages ? atomic_load_explicit(&t->gen[gfn], memory_order_seq_cst) : 0;
}

void rv_shadow_init(struct rv_shadow *s, struct rv_shadow_track *track, unsigned max_pages)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->track = track;
	s->max_pages = max_pages ? max_pages : 4096;
}

static uint64_t bloom_bit(uint64_t gfn)
{
	return (gfn * 0x9e3779b97f4a7c15ull) >> (64 - 12);
}

static void bloom_add(struct rv_shadow *s, uint64_t gfn)
{
	uint64_t b = bloom_bit(gfn);

	s->gfn_bloom[b / 64] |= 1ull << (b % 64);
}

static bool bloom_may_map(const struct rv_shadow *s, uint64_t gfn, uint64_t count)
{
	for (uint64_t g = gfn; g < gfn + count; g++) {
		uint64_t b = bloom_bit(g);

		if (s->gfn_bloom[b / 64] & (1ull << (b % 64)))
			return true;
	}
	return false;
}

static unsigned index_at(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static unsigned rights(uint64_t e, bool nxe)
{
	return RV_TLB_R | ((e & RV_PTE_W) ? RV_TLB_W : 0) | ((e & RV_PTE_U) ? RV_TLB_U : 0) |
	       ((nxe && (e & RV_PTE_NX)) ? 0 : RV_TLB_X);
}

static uint64_t now(const struct rv_shadow_env *env)
{
	return atomic_fetch_add_explicit(env->clock, 1, memory_order_relaxed) << 12 | env->owner;
}

static uint64_t encode(uint32_t frame, unsigned perm, bool dirty, bool global)
{
	return (uint64_t)frame << 12 | SPTE_P | (uint64_t)perm << SPTE_PERM_SHIFT |
	       (dirty ? SPTE_DIRTY : 0) | (global ? SPTE_GLOBAL : 0);
}

static struct rv_shadow_page *page_new(struct rv_shadow *s, struct rv_shadow_page *parent,
				       unsigned index, uint64_t gfn, unsigned level, bool direct)
{
	struct rv_shadow_page *p;

	if (s->nr_pages == s->max_pages || !(p = rv_calloc(1, sizeof(*p))))
		return NULL;
	p->parent = parent;
	p->parent_index = index;
	p->gfn = gfn;
	p->level = (uint8_t)level;
	p->direct = direct;
	if (!direct) {
		track(s->track, gfn);
		/* Born unsync: the first sync re-derives it (shadow.h). */
		p->gen = generation(s->track, gfn) - 1;
	}
	p->next = s->all;
	if (s->all)
		s->all->prev = p;
	s->all = p;
	s->nr_pages++;
	s->stats.pages++;
	return p;
}

/* Detach @p and its subtree; the pages are freed by reap(). */
static void kill_tree(struct rv_shadow *s, struct rv_shadow_page *p)
{
	p->dead = true;
	s->nr_dead++;
	s->stats.zapped_pages++;
	if (p->level == 1)
		return;
	for (unsigned i = 0; i < ENTRIES; i++) {
		struct rv_shadow_page *c = atomic_load_explicit(&p->child[i], memory_order_relaxed);

		if (c)
			kill_tree(s, c);
	}
}

static void unlink_child(struct rv_shadow *s, struct rv_shadow_page *p, unsigned i)
{
	struct rv_shadow_page *c = atomic_load_explicit(&p->child[i], memory_order_relaxed);

	if (!c)
		return;
	atomic_store_explicit(&p->child[i], NULL, memory_order_release);
	kill_tree(s, c);
}

static void reap(struct rv_shadow *s)
{
	struct rv_shadow_page *p = s->all, *next;

	if (!s->nr_dead)
		return;
	s->nr_dead = 0;
	for (; p; p = next) {
		next = p->next;
		if (!p->dead)
			continue;
		if (p->prev)
			p->prev->next = p->next;
		else
			s->all = p->next;
		if (p->next)
			p->next->prev = p->prev;
		s->nr_pages--;
		free(p);
	}
}

void rv_shadow_destroy(struct rv_shadow *s)
{
	for (struct rv_shadow_page *p = s->all; p; p = p->next)
		p->dead = true;
	s->nr_dead = 1;
	reap(s);
	pthread_mutex_destroy(&s->lock);
}

static void evict_root(struct rv_shadow *s, unsigned k)
{
	if (s->root[k])
		kill_tree(s, s->root[k]);
	s->root[k] = NULL;
	s->root_gpa[k] = 0;
}

bool rv_shadow_load_root(struct rv_shadow *s, uint64_t cr3)
{
	uint64_t gpa = cr3 & ADDR_MASK;
	struct rv_shadow_page *r;
	bool hit;
	unsigned k;

	for (k = 0; k < RV_SHADOW_ROOTS; k++)
		if (s->root[k] && s->root_gpa[k] == gpa)
			break;
	pthread_mutex_lock(&s->lock);
	hit = k < RV_SHADOW_ROOTS;
	if (hit) {
		r = s->root[k];
		s->stats.root_hits++;
	} else {
		k = RV_SHADOW_ROOTS - 1;
		evict_root(s, k);
		reap(s);
		r = page_new(s, NULL, 0, gpa >> 12, 4, false);
		if (r)
			r->up_perm = RV_TLB_R | RV_TLB_W | RV_TLB_U | RV_TLB_X;
		s->stats.root_misses++;
	}
	memmove(&s->root[1], &s->root[0], k * sizeof(s->root[0]));
	memmove(&s->root_gpa[1], &s->root_gpa[0], k * sizeof(s->root_gpa[0]));
	s->root[0] = r;
	s->root_gpa[0] = gpa;
	pthread_mutex_unlock(&s->lock);
	return hit;
}

static void decode(uint64_t spte, uint64_t time, struct rv_shadow_leaf *out)
{
	out->frame = (uint32_t)(spte >> 12);
	out->perm = (uint8_t)((spte >> SPTE_PERM_SHIFT) & 0xf);
	out->dirty = spte & SPTE_DIRTY;
	out->global = spte & SPTE_GLOBAL;
	out->time = time;
}

bool rv_shadow_lookup(const struct rv_shadow *s, uint64_t gva, struct rv_shadow_leaf *out)
{
	struct rv_shadow_page *p = s->root[0];

	for (unsigned level = 4; p && level > 1; level--)
		p = atomic_load_explicit(&p->child[index_at(gva, level)], memory_order_acquire);
	if (!p)
		return false;
	unsigned i = index_at(gva, 1);
	uint64_t spte = atomic_load_explicit(&p->spte[i], memory_order_acquire);

	if (!(spte & SPTE_P))
		return false;
	decode(spte, p->time[i] > p->validated ? p->time[i] : p->validated, out);
	return true;
}

/* The child of @p at @i for guest entry @e (accessed bit as the walk set it):
 * the existing one when it was linked from the same entry, else a new one. */
static struct rv_shadow_page *child_for(struct rv_shadow *s, struct rv_shadow_page *p, unsigned i,
					uint64_t e, bool leaf, uint64_t base_gfn, bool nxe)
{
	uint64_t link = e & ~AD_BITS;
	struct rv_shadow_page *c = atomic_load_explicit(&p->child[i], memory_order_relaxed);

	if (c && c->link == link)
		return c;
	unlink_child(s, p, i);
	c = page_new(s, p, i, leaf ? base_gfn : (e & ADDR_MASK) >> 12, p->level - 1u,
		     leaf || p->direct);
	if (!c)
		return NULL;
	c->link = link;
	c->up_perm = (uint8_t)(p->up_perm & (p->direct ? 0xf : rights(e, nxe)));
	atomic_store_explicit(&p->child[i], c, memory_order_release);
	return c;
}

bool rv_shadow_fault(struct rv_shadow *s, const struct rv_shadow_env *env, uint64_t gva,
		     const struct rv_walk *w, struct rv_shadow_leaf *out)
{
	struct rv_shadow_page *p;
	uint32_t frame = env->frame(env->phys, w->page_gpa + (gva & (w->page_size - 1)));
	unsigned perm = RV_TLB_R | (w->writable ? RV_TLB_W : 0) | (w->user ? RV_TLB_U : 0) |
			(w->executable ? RV_TLB_X : 0);

	out->frame = frame;
	out->perm = (uint8_t)perm;
	out->dirty = w->dirty;
	out->global = w->global;
	out->time = now(env);
	pthread_mutex_lock(&s->lock);
	s->stats.faults++;
	if (env->seq && atomic_load(env->seq) != env->seq_seen) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	p = s->root[0];
	for (unsigned level = 4; p && level > 1; level--) {
		unsigned k = 4 - level; /* the walk's entry for this level */
		bool leaf = k + 1 == w->levels;
		uint64_t e = k < w->levels ? w->entry[k] | RV_PTE_A : 0;

		if (p->direct)
			p = child_for(s, p, index_at(gva, level), p->link, true,
				      p->gfn +
					      ((uint64_t)index_at(gva, level) << (9 * (level - 1))),
				      env->nxe);
		else
			p = child_for(s, p, index_at(gva, level), e, leaf, w->page_gpa >> 12,
				      env->nxe);
	}
	if (p && frame != RV_NO_FRAME) {
		unsigned i = index_at(gva, 1);

		p->time[i] = out->time;
		bloom_add(s, (w->page_gpa + (gva & (w->page_size - 1))) >> 12);
		atomic_store_explicit(&p->spte[i], encode(frame, perm, w->dirty, w->global),
				      memory_order_release);
	}
	reap(s);
	pthread_mutex_unlock(&s->lock);
	return p != NULL;
}

/* Re-derive the leaf SPTE @i of level-1 page @p from the guest's entry. */
static void sync_leaf(struct rv_shadow *s, const struct rv_shadow_env *env,
		      struct rv_shadow_page *p, unsigned i)
{
	uint64_t old = atomic_load_explicit(&p->spte[i], memory_order_relaxed);
	_Atomic uint64_t *ge = env->entry(env->phys, (p->gfn << 12) + i * 8ull);
	uint64_t g = ge ? atomic_load_explicit(ge, memory_order_acquire) : 0;
	uint64_t spte = 0;

	if (!(old & SPTE_P))
		return;
	if ((g & RV_PTE_P) && !(g & 0x000f000000000000ull)) {
		uint32_t frame = env->frame(env->phys, g & ADDR_MASK);

		if (frame != RV_NO_FRAME) {
			bloom_add(s, (g & ADDR_MASK) >> 12);
			spte = encode(frame, p->up_perm & rights(g, env->nxe), g & RV_PTE_D,
				      g & RV_PTE_G);
		}
	}
	/* Current as of now, changed or not: for the oracle, a translation
	 * re-derived after an invalidation is a new one. */
	p->time[i] = now(env);
	if (spte == old)
		return;
	s->stats.sync_updates++;
	atomic_store_explicit(&p->spte[i], spte, memory_order_release);
}

/* Re-derive the link of non-leaf page @p at @i: drop the child when the
 * guest entry that made it changed. */
static void sync_link(struct rv_shadow *s, const struct rv_shadow_env *env,
		      struct rv_shadow_page *p, unsigned i)
{
	struct rv_shadow_page *c = atomic_load_explicit(&p->child[i], memory_order_relaxed);
	_Atomic uint64_t *ge;

	if (!c)
		return;
	ge = env->entry(env->phys, (p->gfn << 12) + i * 8ull);
	if (ge && (atomic_load_explicit(ge, memory_order_acquire) & ~AD_BITS) == c->link)
		return;
	s->stats.sync_updates++;
	unlink_child(s, p, i);
}

static bool unsync(const struct rv_shadow *s, const struct rv_shadow_page *p)
{
	return !p->direct && !p->dead && p->gen != generation(s->track, p->gfn);
}

static void sync_page(struct rv_shadow *s, const struct rv_shadow_env *env,
		      struct rv_shadow_page *p)
{
	/* The generation first, then the entries: a write whose bump comes
	 * later leaves the page unsync for the next sync. */
	uint32_t gen = generation(s->track, p->gfn);

	s->stats.synced_pages++;
	for (unsigned i = 0; i < ENTRIES; i++) {
		if (p->dead)
			return;
		if (p->level == 1)
			sync_leaf(s, env, p, i);
		else
			sync_link(s, env, p, i);
	}
	p->gen = gen;
}

void rv_shadow_sync(struct rv_shadow *s, const struct rv_shadow_env *env)
{
	pthread_mutex_lock(&s->lock);
	s->stats.syncs++;
	if (!s->skip_sync) {
		/* Upper levels first, so no leaf of a dropped subtree is synced. */
		for (unsigned level = 4; level >= 1; level--)
			for (struct rv_shadow_page *p = s->all; p; p = p->next)
				if (p->level == level && unsync(s, p))
					sync_page(s, env, p);
		/* Every page left is current: synced now, or unwritten since
		 * its last sync. */
		uint64_t t = now(env);

		for (struct rv_shadow_page *p = s->all; p; p = p->next)
			p->validated = t;
	}
	reap(s);
	pthread_mutex_unlock(&s->lock);
}

static void invlpg_root(struct rv_shadow *s, const struct rv_shadow_env *env,
			struct rv_shadow_page *p, uint64_t gva)
{
	for (unsigned level = 4; p && level >= 1; level--) {
		unsigned i = index_at(gva, level);

		if (level == 1) {
			if (!p->direct)
				sync_leaf(s, env, p, i);
			else
				p->time[i] = now(env); /* its link was just checked */
			return;
		}
		if (!p->direct)
			sync_link(s, env, p, i);
		p = atomic_load_explicit(&p->child[i], memory_order_relaxed);
	}
}

void rv_shadow_invlpg(struct rv_shadow *s, const struct rv_shadow_env *env, uint64_t gva)
{
	pthread_mutex_lock(&s->lock);
	if (!s->skip_sync)
		for (unsigned k = 0; k < RV_SHADOW_ROOTS; k++)
			invlpg_root(s, env, s->root[k], gva);
	reap(s);
	pthread_mutex_unlock(&s->lock);
}

/* Clear the leaf SPTEs for which @match(@ctx, frame) holds, in one pass over
 * the shadow pages, unless no SPTE can map guest pages [@gfn, @gfn + @count).
 * The filter is read under the lock: an SPTE installed before the zap took
 * it is in the filter, and one after saw the host's sequence move. */
static unsigned zap_matching(struct rv_shadow *s, bool (*match)(const void *ctx, uint32_t frame),
			     const void *ctx, uint64_t gfn, uint64_t count)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	if (!bloom_may_map(s, gfn, count)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	for (struct rv_shadow_page *p = s->all; p; p = p->next) {
		if (p->level != 1 || p->dead)
			continue;
		for (unsigned i = 0; i < ENTRIES; i++) {
			uint64_t e = atomic_load_explicit(&p->spte[i], memory_order_relaxed);

			if ((e & SPTE_P) && match(ctx, (uint32_t)(e >> 12))) {
				atomic_store_explicit(&p->spte[i], 0, memory_order_release);
				n++;
			}
		}
	}
	s->stats.host_zaps += n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static bool is_frame(const void *ctx, uint32_t frame)
{
	return frame == *(const uint32_t *)ctx;
}

unsigned rv_shadow_zap_frame(struct rv_shadow *s, uint32_t frame, uint64_t gfn)
{
	return zap_matching(s, is_frame, &frame, gfn, 1);
}

struct gfn_range {
	const _Atomic uint32_t *frame_gfn;
	uint64_t lo, hi;
};

static bool in_gfn_range(const void *ctx, uint32_t frame)
{
	const struct gfn_range *r = ctx;
	uint32_t gfn = atomic_load_explicit(&r->frame_gfn[frame], memory_order_relaxed);

	return gfn >= r->lo && gfn < r->hi;
}

unsigned rv_shadow_zap_gfns(struct rv_shadow *s, const _Atomic uint32_t *frame_gfn, uint64_t gfn,
			    uint64_t count)
{
	struct gfn_range r = { frame_gfn, gfn, gfn + count };

	return zap_matching(s, in_gfn_range, &r, gfn, count);
}
