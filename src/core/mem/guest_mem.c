// SPDX-License-Identifier: MIT
/* Guest memory over NUMA-local host frames (see guest_mem.h). */
#include <numa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "guest_mem.h"

#define TWO_MIB	  (2ull << 20)
#define FRAMES_2M (TWO_MIB >> RV_PAGE_SHIFT)

struct node_pool {
	uint8_t *base; /* host memory of this node's frames */
	uint64_t bytes;
	uint32_t first; /* its first frame number */
	uint32_t count;
	uint32_t *free; /* stack of free frames */
	uint32_t nr_free;
};

struct rv_guest_mem {
	uint64_t size;
	uint32_t nr_pages;
	uint32_t nr_nodes;
	bool interleave;	     /* 2 MiB chunks round robin over the nodes */
	_Atomic uint32_t *gpa_frame; /* per guest page */
	struct node_pool *node;
	uint32_t nr_frames;
	pthread_mutex_t lock; /* page moves and the free lists */
};

static int fail(char *err, size_t len, const char *msg)
{
	snprintf(err, len, "%s", msg);
	return -1;
}

/* Host memory on a host node: the VM's node i is host node
 * rv_host_node_of(i), so a declared topology on a smaller host still runs
 * (on a one-node host, every node's memory is bound to node 0 the same way). */
static uint8_t *alloc_on_node(uint64_t bytes, uint32_t node)
{
	if (rv_alloc_fails())
		return NULL;
	if (numa_available() >= 0)
		return rv_alloc_counted(numa_alloc_onnode(bytes, rv_host_node_of(node)));
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return rv_alloc_counted(p == MAP_FAILED ? NULL : p);
}

static void free_on_node(uint8_t *p, uint64_t bytes)
{
	if (!p)
		return;
	if (numa_available() >= 0)
		numa_free(p, bytes);
	else
		munmap(p, bytes);
}

static int pool_init(struct node_pool *pool, uint32_t node, uint32_t first, uint32_t ram_pages,
		     uint32_t spare)
{
	pool->first = first;
	pool->count = ram_pages + spare;
	pool->bytes = (uint64_t)pool->count << RV_PAGE_SHIFT;
	if (!pool->count)
		return 0; /* no RAM here and no spare frames */
	pool->base = alloc_on_node(pool->bytes, node);
	/* Any frame of the node can end up free (a page moved away returns
	 * its frame here whichever node its replacement came from). */
	pool->free = rv_calloc(pool->count, sizeof(*pool->free));
	if (!pool->base || !pool->free)
		return -1;
	for (uint32_t k = 0; k < spare; k++)
		pool->free[pool->nr_free++] = first + pool->count - 1 - k;
	return 0;
}

static int check_config(const struct rv_guest_mem_config *c, char *err, size_t len)
{
	if (!c->size || c->size % TWO_MIB)
		return fail(err, len, "guest memory must be a nonzero multiple of 2 MiB");
	if ((c->size >> RV_PAGE_SHIFT) + ((uint64_t)c->spare_pages + FRAMES_2M) * c->nr_nodes >=
	    RV_NO_FRAME)
		return fail(err, len, "guest memory is too large");
	if (!c->nr_nodes || c->nr_nodes > 64)
		return fail(err, len, "guest memory needs 1 to 64 nodes");
	return 0;
}

static _Atomic int layout_now = RV_GUEST_MEM_NODE_LOCAL;

void rv_guest_mem_set_layout(enum rv_guest_mem_layout layout)
{
	atomic_store(&layout_now, (int)layout);
}

/*
 * RAM is cut in 2 MiB chunks. Node-local: node n has the contiguous range of
 * chunks [chunks * n / nodes, chunks * (n + 1) / nodes). Interleaved: chunk
 * c is on node c % nodes, the (c / nodes)-th of its node.
 */
static uint32_t chunk_node(const struct rv_guest_mem *m, uint64_t chunk)
{
	uint64_t chunks = m->size / TWO_MIB;
	uint32_t n = 0;

	if (m->interleave)
		return (uint32_t)(chunk % m->nr_nodes);
	/* The n with lo(n) <= chunk < lo(n + 1), lo(n) = chunks * n / nodes. */
	while (n + 1 < m->nr_nodes && chunks * (n + 1) / m->nr_nodes <= chunk)
		n++;
	return n;
}

/* The chunk's index among its node's chunks. */
static uint64_t chunk_slot(const struct rv_guest_mem *m, uint64_t chunk, uint32_t node)
{
	if (m->interleave)
		return chunk / m->nr_nodes;
	return chunk - m->size / TWO_MIB * node / m->nr_nodes;
}

static uint32_t node_pages(const struct rv_guest_mem *m, uint32_t node)
{
	uint64_t chunks = m->size / TWO_MIB, n;

	if (m->interleave)
		n = chunks > node ? (chunks - 1 - node) / m->nr_nodes + 1 : 0;
	else
		n = chunks * (node + 1) / m->nr_nodes - chunks * node / m->nr_nodes;
	return (uint32_t)(n * FRAMES_2M);
}

struct rv_guest_mem *rv_guest_mem_create(const struct rv_guest_mem_config *cfg, char *err,
					 size_t errlen)
{
	if (check_config(cfg, err, errlen))
		return NULL;
	struct rv_guest_mem *m = rv_calloc(1, sizeof(*m));

	if (!m) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	m->size = cfg->size;
	m->nr_pages = (uint32_t)(cfg->size >> RV_PAGE_SHIFT);
	m->nr_nodes = cfg->nr_nodes;
	m->interleave = atomic_load(&layout_now) == RV_GUEST_MEM_INTERLEAVE;
	pthread_mutex_init(&m->lock, NULL);
	m->gpa_frame = rv_calloc(m->nr_pages, sizeof(*m->gpa_frame));
	m->node = rv_calloc(m->nr_nodes, sizeof(*m->node));
	if (!m->gpa_frame || !m->node)
		goto oom;
	uint32_t frame = 0;

	/* Each node's frames start 2 MiB-aligned in the frame space, so every
	 * node's chunks can be 2 MiB second-stage leaves (tdp.c), not only the
	 * first node's; the frame numbers in between are never used. */
	for (uint32_t n = 0; n < m->nr_nodes; n++) {
		frame = (uint32_t)((frame + FRAMES_2M - 1) / FRAMES_2M * FRAMES_2M);
		if (pool_init(&m->node[n], n, frame, node_pages(m, n), cfg->spare_pages))
			goto oom;
		frame += m->node[n].count;
	}
	m->nr_frames = frame;
	/* Chunk c's guest page k starts on its node's frame first + 512 * slot + k. */
	for (uint64_t c = 0; c < m->size / TWO_MIB; c++) {
		uint32_t n = chunk_node(m, c);
		uint32_t first = m->node[n].first + (uint32_t)(chunk_slot(m, c, n) * FRAMES_2M);

		for (uint32_t k = 0; k < FRAMES_2M; k++)
			atomic_init(&m->gpa_frame[c * FRAMES_2M + k], first + k);
	}
	return m;
oom:
	fail(err, errlen, "cannot allocate guest memory");
	rv_guest_mem_destroy(m);
	return NULL;
}

void rv_guest_mem_destroy(struct rv_guest_mem *m)
{
	if (!m)
		return;
	for (uint32_t n = 0; m->node && n < m->nr_nodes; n++) {
		free_on_node(m->node[n].base, m->node[n].bytes);
		free(m->node[n].free);
	}
	free(m->node);
	free((void *)m->gpa_frame);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

uint64_t rv_guest_mem_size(const struct rv_guest_mem *m)
{
	return m->size;
}

uint32_t rv_guest_mem_nr_frames(const struct rv_guest_mem *m)
{
	return m->nr_frames;
}

uint32_t rv_gpa_frame(const struct rv_guest_mem *m, uint64_t gpa)
{
	if (gpa >= m->size)
		return RV_NO_FRAME;
	return atomic_load_explicit(&m->gpa_frame[gpa >> RV_PAGE_SHIFT], memory_order_acquire);
}

static const struct node_pool *pool_of(const struct rv_guest_mem *m, uint32_t frame)
{
	for (uint32_t n = 0; n < m->nr_nodes; n++)
		if (frame - m->node[n].first < m->node[n].count)
			return &m->node[n];
	return NULL;
}

uint8_t *rv_frame_hva(const struct rv_guest_mem *m, uint32_t frame)
{
	const struct node_pool *p = pool_of(m, frame);

	return p ? p->base + ((uint64_t)(frame - p->first) << RV_PAGE_SHIFT) : NULL;
}

uint8_t *rv_gpa_hva(const struct rv_guest_mem *m, uint64_t gpa)
{
	uint32_t f = rv_gpa_frame(m, gpa);

	if (f == RV_NO_FRAME)
		return NULL;
	return rv_frame_hva(m, f) + (gpa & (RV_PAGE_SIZE - 1));
}

uint32_t rv_frame_node(const struct rv_guest_mem *m, uint32_t frame)
{
	const struct node_pool *p = pool_of(m, frame);

	return p ? (uint32_t)(p - m->node) : 0;
}

uint32_t rv_gpa_home_node(const struct rv_guest_mem *m, uint64_t gpa)
{
	if (gpa >= m->size)
		return m->nr_nodes - 1;
	return chunk_node(m, gpa / TWO_MIB);
}

uint32_t rv_guest_mem_nr_nodes(const struct rv_guest_mem *m)
{
	return m->nr_nodes;
}

bool rv_guest_mem_interleaved(const struct rv_guest_mem *m)
{
	return m->interleave;
}

uint8_t *rv_guest_mem_node_host(const struct rv_guest_mem *m, uint32_t node, uint64_t *bytes,
				uint64_t *ram_bytes)
{
	if (node >= m->nr_nodes) {
		*bytes = *ram_bytes = 0;
		return NULL;
	}
	*bytes = m->node[node].bytes;
	*ram_bytes = (uint64_t)node_pages(m, node) << RV_PAGE_SHIFT;
	return m->node[node].base;
}

uint32_t rv_guest_mem_move_page(struct rv_guest_mem *m, uint64_t gpa, uint32_t node)
{
	if (gpa >= m->size || node >= m->nr_nodes)
		return RV_NO_FRAME;
	pthread_mutex_lock(&m->lock);
	struct node_pool *p = &m->node[node];
	uint32_t old = RV_NO_FRAME;

	if (p->nr_free) {
		uint32_t to = p->free[--p->nr_free];
		_Atomic uint32_t *slot = &m->gpa_frame[gpa >> RV_PAGE_SHIFT];

		old = atomic_load(slot);
		memcpy(rv_frame_hva(m, to), rv_frame_hva(m, old), RV_PAGE_SIZE);
		atomic_store_explicit(slot, to, memory_order_release);
	}
	pthread_mutex_unlock(&m->lock);
	return old;
}

uint32_t rv_guest_mem_unmap_page(struct rv_guest_mem *m, uint64_t gpa)
{
	if (gpa >= m->size)
		return RV_NO_FRAME;
	return atomic_exchange(&m->gpa_frame[gpa >> RV_PAGE_SHIFT], RV_NO_FRAME);
}

uint32_t rv_guest_mem_remap_page(struct rv_guest_mem *m, uint64_t gpa, uint32_t old, uint32_t node)
{
	uint32_t to = old;

	pthread_mutex_lock(&m->lock);
	if (node < m->nr_nodes && m->node[node].nr_free) {
		to = m->node[node].free[--m->node[node].nr_free];
		memcpy(rv_frame_hva(m, to), rv_frame_hva(m, old), RV_PAGE_SIZE);
	}
	atomic_store_explicit(&m->gpa_frame[gpa >> RV_PAGE_SHIFT], to, memory_order_release);
	pthread_mutex_unlock(&m->lock);
	return to;
}

void rv_guest_mem_free_frame(struct rv_guest_mem *m, uint32_t frame)
{
	pthread_mutex_lock(&m->lock);
	struct node_pool *p = (struct node_pool *)pool_of(m, frame);

	if (p && p->nr_free < p->count)
		p->free[p->nr_free++] = frame;
	pthread_mutex_unlock(&m->lock);
}

uint32_t rv_guest_mem_free_frames(struct rv_guest_mem *m, uint32_t node)
{
	uint32_t n;

	if (node >= m->nr_nodes)
		return 0;
	pthread_mutex_lock(&m->lock);
	n = m->node[node].nr_free;
	pthread_mutex_unlock(&m->lock);
	return n;
}

int rv_guest_mem_write(struct rv_guest_mem *m, uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *s = src;

	if (gpa > m->size || len > m->size - gpa)
		return -1;
	while (len) {
		size_t n = RV_PAGE_SIZE - (gpa & (RV_PAGE_SIZE - 1));

		n = n < len ? n : len;
		memcpy(rv_gpa_hva(m, gpa), s, n);
		gpa += n, s += n, len -= n;
	}
	return 0;
}

int rv_guest_mem_read(const struct rv_guest_mem *m, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *d = dst;

	if (gpa > m->size || len > m->size - gpa)
		return -1;
	while (len) {
		size_t n = RV_PAGE_SIZE - (gpa & (RV_PAGE_SIZE - 1));

		n = n < len ? n : len;
		memcpy(d, rv_gpa_hva(m, gpa), n);
		gpa += n, d += n, len -= n;
	}
	return 0;
}
