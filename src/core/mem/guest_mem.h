/* SPDX-License-Identifier: MIT */
/*
 * Guest memory: memslots map guest-physical ranges onto host page frames,
 * and a frame table sits between them, so one guest page can move to another
 * host frame (a host-side change that needs a remote TLB flush) without the
 * guest noticing. "HPA" here is a frame number << 12 in reqvisor's own frame
 * space; frames live in host memory allocated on their NUMA node.
 *
 * Concurrency: lookups are lock-free reads of the frame table; moving a page
 * is a host operation that the caller orders with the flushes it needs (the
 * old frame may be freed only after every TLB that could cache it has been
 * flushed: that is what the oracle checks later).
 */
#ifndef RV_MEM_GUEST_MEM_H
#define RV_MEM_GUEST_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_PAGE_SHIFT 12
#define RV_PAGE_SIZE  (1ull << RV_PAGE_SHIFT)
#define RV_NO_FRAME   UINT32_MAX

struct rv_guest_mem;

/*
 * How guest RAM is spread over the nodes, in 2 MiB chunks. Node-local: each
 * node holds one contiguous range (the guest's declared topology). Interleaved:
 * chunk c is on node c % nodes, as a host interleave policy would place it.
 * Either way a node's frames are host memory bound to its host node
 * (numa_alloc_onnode), and each node's frames start 2 MiB-aligned in the
 * frame space so that chunks can be mapped with 2 MiB second-stage leaves.
 */
enum rv_guest_mem_layout {
	RV_GUEST_MEM_NODE_LOCAL, /* a contiguous range per node (the default) */
	RV_GUEST_MEM_INTERLEAVE, /* 2 MiB chunks round robin over the nodes */
};

struct rv_guest_mem_config {
	uint64_t size;	      /* RAM: [0, size), a multiple of 2 MiB */
	uint32_t nr_nodes;    /* guest RAM is split evenly across them */
	uint32_t spare_pages; /* frames beyond RAM per node, for page moves */
};

/* The layout of the guest memories created from now on, process-wide (a
 * benchmark's comparison: the machine creates its memory with no say). */
void rv_guest_mem_set_layout(enum rv_guest_mem_layout layout);

struct rv_guest_mem *rv_guest_mem_create(const struct rv_guest_mem_config *cfg, char *err,
					 size_t errlen);
void rv_guest_mem_destroy(struct rv_guest_mem *m);
uint64_t rv_guest_mem_size(const struct rv_guest_mem *m);
/* Every host frame, RAM and spare: frame numbers are below this. */
uint32_t rv_guest_mem_nr_frames(const struct rv_guest_mem *m);

/* The frame backing @gpa's page, or RV_NO_FRAME outside RAM. */
uint32_t rv_gpa_frame(const struct rv_guest_mem *m, uint64_t gpa);
/* The host address of a frame (valid for RV_PAGE_SIZE bytes). */
uint8_t *rv_frame_hva(const struct rv_guest_mem *m, uint32_t frame);
/* The host address of the byte at @gpa (to the end of its page), or NULL. */
uint8_t *rv_gpa_hva(const struct rv_guest_mem *m, uint64_t gpa);
/* The NUMA node (of the VM's nodes) a frame lives on. */
uint32_t rv_frame_node(const struct rv_guest_mem *m, uint32_t frame);
/* The node guest page @gpa was placed on at creation. */
uint32_t rv_gpa_home_node(const struct rv_guest_mem *m, uint64_t gpa);
uint32_t rv_guest_mem_nr_nodes(const struct rv_guest_mem *m);
bool rv_guest_mem_interleaved(const struct rv_guest_mem *m);
/* Node @node's frames: their host memory (NULL: none), its size in @bytes,
 * and in @ram_bytes the guest RAM placed on the node at creation (the rest
 * are the spare frames of page moves). For the placement report. */
uint8_t *rv_guest_mem_node_host(const struct rv_guest_mem *m, uint32_t node, uint64_t *bytes,
				uint64_t *ram_bytes);

/*
 * Move the page at @gpa to a free frame on @node, copying it. Returns the old
 * frame, which stays allocated until rv_guest_mem_free_frame(); RV_NO_FRAME
 * when @gpa is outside RAM or @node has no free frame.
 */
uint32_t rv_guest_mem_move_page(struct rv_guest_mem *m, uint64_t gpa, uint32_t node);

/*
 * A move in two steps, for a host that must flush translations in between:
 * unmap (the page reads as RV_NO_FRAME; returns its frame), then remap onto
 * a free frame of @node with the old frame's contents (returns the new
 * frame; with none free, the old one is mapped back and returned).
 */
uint32_t rv_guest_mem_unmap_page(struct rv_guest_mem *m, uint64_t gpa);
uint32_t rv_guest_mem_remap_page(struct rv_guest_mem *m, uint64_t gpa, uint32_t old, uint32_t node);
void rv_guest_mem_free_frame(struct rv_guest_mem *m, uint32_t frame);
uint32_t rv_guest_mem_free_frames(struct rv_guest_mem *m, uint32_t node);

/* Copy between the guest and the host (the loader, the oracle, tests). */
int rv_guest_mem_write(struct rv_guest_mem *m, uint64_t gpa, const void *src, size_t len);
int rv_guest_mem_read(const struct rv_guest_mem *m, uint64_t gpa, void *dst, size_t len);

#endif
