/* SPDX-License-Identifier: MIT */
/*
 * Every host allocation of the library goes through these, so that the
 * alloc.fail fault point (docs/faults.md) can fail any one of them. The
 * point is armed for the whole process with rv_alloc_faults_arm(), before
 * the machine and the VM allocate anything; its hit numbers count every
 * allocation in the order they happen.
 */
#ifndef RV_CORE_ALLOC_H
#define RV_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

struct rv_faults;

/* Whether this allocation is to fail (alloc.fail fired; counted). */
bool rv_alloc_fails(void);
/* @p, counting it as a failed allocation when NULL: for allocators the
 * wrappers below do not cover (libnuma, mmap, jemalloc). */
void *rv_alloc_counted(void *p);
/* The rule rv_alloc_faults_arm() armed, or NULL. */
struct rv_faults *rv_alloc_faults_armed(void);

void *rv_malloc(size_t size);
void *rv_calloc(size_t n, size_t size);
void *rv_realloc(void *p, size_t size);
void *rv_aligned_alloc(size_t align, size_t size);
char *rv_strdup(const char *s);

/*
 * NUMA placement (docs/scheduler.md, "NUMA"). A VM has its declared nodes or
 * rv_host_nr_nodes(); VM node i lives on host node rv_host_node_of(i): the
 * i-th, modulo their number, of the nodes this process may allocate from. On
 * a one-node host every VM node maps to node 0 through the same code.
 */
struct rv_vm;

uint32_t rv_host_nr_nodes(void);
/* The host node of VM node @vm_node; -1 without libnuma. */
int rv_host_node_of(uint32_t vm_node);
/* Bind [p, p + size) to @host_node (mbind, MPOL_BIND): 0, or -1. Calls no
 * allocator, so an allocator's hook may use it. */
int rv_host_bind(void *p, size_t size, int host_node);

/* Whether VMs created from now on take their per-node host objects from
 * per-node arenas (the default) or from plain malloc: for a benchmark that
 * compares the two. A VM keeps what it was created with. */
void rv_node_arenas_enable(bool on);

struct rv_node_arena_info {
	bool arena;		/* the node has its own arena (else plain malloc) */
	unsigned index;		/* jemalloc's arena index */
	int host_node;		/* where its extent hook binds pages; -1: nowhere */
	uint64_t bound_bytes;	/* bytes of extents the hook mapped and bound */
	uint64_t bind_failures; /* extents whose mbind failed */
	uint64_t mapped;	/* jemalloc's stats.arenas.<i>.mapped */
	uint64_t resident;	/* ... and .resident (0 when unknown) */
};

void rv_node_arena_info(struct rv_vm *vm, uint32_t node, struct rv_node_arena_info *out);

/* Give the allocator's freed but still resident pages back to the host
 * (jemalloc's purge, or malloc_trim), so that RSS shows what is in use. */
void rv_host_memory_trim(void);

#endif
