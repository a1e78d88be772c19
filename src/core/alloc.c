// SPDX-License-Identifier: MIT
/*
 * Host objects per NUMA node. With jemalloc, each node has its own arena so a
 * node's vCPUs and pCPUs never share allocator metadata with another node's.
 * Sanitizer builds use the libc allocator, which the sanitizers can see.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "reqvisor/fault.h"
#include "vm_impl.h"

#ifdef RV_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <numa.h>
#include <pthread.h>

/*
 * Each node's arena maps its extents with jemalloc's own hooks, then binds
 * the new pages to the node (mbind through libnuma), so a node's vCPU and
 * pCPU objects really live there. A VM's node i is host node i modulo the
 * host's nodes (a declared topology on a smaller host).
 */
#define MAX_ARENAS 4096

static extent_hooks_t *default_hooks;
static extent_hooks_t node_hooks;
static _Atomic int arena_node[MAX_ARENAS];

static void *node_extent_alloc(extent_hooks_t *h, void *addr, size_t size, size_t align, bool *zero,
			       bool *commit, unsigned arena)
{
	void *p = default_hooks->alloc(default_hooks, addr, size, align, zero, commit, arena);
	int nodes = numa_num_configured_nodes();

	(void)h;
	if (p && arena < MAX_ARENAS && nodes > 0)
		numa_tonode_memory(p, size, atomic_load(&arena_node[arena]) % nodes);
	return p;
}

static int bind_arena(unsigned arena, int node)
{
	char name[64];
	extent_hooks_t *hooks = &node_hooks;
	size_t sz = sizeof(default_hooks);

	if (numa_available() < 0 || arena >= MAX_ARENAS)
		return 0;
	atomic_store(&arena_node[arena], node);
	snprintf(name, sizeof(name), "arena.%u.extent_hooks", arena);
	if (!default_hooks && mallctl(name, &default_hooks, &sz, NULL, 0))
		return -1;
	node_hooks = *default_hooks;
	node_hooks.alloc = node_extent_alloc;
	return mallctl(name, NULL, NULL, &hooks, sizeof(hooks)) ? -1 : 0;
}

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

int rv_node_arenas_create(struct rv_vm *vm)
{
	vm->arena = rv_calloc(vm->nr_nodes, sizeof(*vm->arena));
	if (!vm->arena)
		return -1;
	for (uint32_t n = 0; n < vm->nr_nodes; n++) {
		size_t sz = sizeof(unsigned);
		int rc;

		if (mallctl("arenas.create", &vm->arena[n], &sz, NULL, 0))
			return -1;
		pthread_mutex_lock(&hooks_lock);
		rc = bind_arena(vm->arena[n], (int)n);
		pthread_mutex_unlock(&hooks_lock);
		if (rc)
			return -1;
	}
	return 0;
}

/* After every object of the VM is freed: give the arenas back. */
void rv_node_arenas_destroy(struct rv_vm *vm)
{
	for (uint32_t n = 0; vm->arena && n < vm->nr_nodes; n++) {
		char name[64];

		snprintf(name, sizeof(name), "arena.%u.destroy", vm->arena[n]);
		mallctl(name, NULL, NULL, NULL, 0);
	}
	free(vm->arena);
	vm->arena = NULL;
}

bool rv_node_pages_bound(void)
{
	return numa_available() >= 0;
}

void *rv_node_zalloc(struct rv_vm *vm, int node, size_t size)
{
	if (rv_alloc_fails())
		return NULL;
	int flags = MALLOCX_ZERO | MALLOCX_ALIGN(64) | MALLOCX_TCACHE_NONE;

	return rv_alloc_counted(mallocx(size, flags | MALLOCX_ARENA(vm->arena[node])));
}

void rv_node_free(void *p)
{
	if (p)
		dallocx(p, MALLOCX_TCACHE_NONE);
}
#else
bool rv_node_pages_bound(void)
{
	return false;
}

int rv_node_arenas_create(struct rv_vm *vm)
{
	(void)vm;
	return 0;
}

void rv_node_arenas_destroy(struct rv_vm *vm)
{
	(void)vm;
}

void *rv_node_zalloc(struct rv_vm *vm, int node, size_t size)
{
	(void)vm, (void)node;
	if (rv_alloc_fails())
		return NULL;
	void *p = rv_alloc_counted(aligned_alloc(64, (size + 63) & ~(size_t)63));

	if (p)
		memset(p, 0, size);
	return p;
}

void rv_node_free(void *p)
{
	free(p);
}
#endif

void rv_host_memory_trim(void)
{
#ifdef RV_HAVE_JEMALLOC
	char name[64];

	snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	mallctl(name, NULL, NULL, NULL, 0);
#else
	malloc_trim(0);
#endif
}

/* ---- alloc.fail ---- */

static struct rv_faults *_Atomic alloc_faults;
static _Atomic uint64_t alloc_failures;

void rv_alloc_faults_arm(struct rv_faults *f)
{
	atomic_store_explicit(&alloc_faults, f, memory_order_release);
}

struct rv_faults *rv_alloc_faults_armed(void)
{
	return atomic_load_explicit(&alloc_faults, memory_order_acquire);
}

uint64_t rv_alloc_failures(void)
{
	return atomic_load_explicit(&alloc_failures, memory_order_relaxed);
}

void *rv_alloc_counted(void *p)
{
	if (!p)
		atomic_fetch_add_explicit(&alloc_failures, 1, memory_order_relaxed);
	return p;
}

bool rv_alloc_fails(void)
{
	struct rv_faults *f = atomic_load_explicit(&alloc_faults, memory_order_acquire);

	if (!f || !RV_FAULT_HIT(f, ALLOC_FAIL))
		return false;
	atomic_fetch_add_explicit(&alloc_failures, 1, memory_order_relaxed);
	return true;
}

void *rv_malloc(size_t size)
{
	return rv_alloc_fails() ? NULL : rv_alloc_counted(malloc(size));
}

void *rv_calloc(size_t n, size_t size)
{
	return rv_alloc_fails() ? NULL : rv_alloc_counted(calloc(n, size));
}

void *rv_realloc(void *p, size_t size)
{
	return rv_alloc_fails() ? NULL : rv_alloc_counted(realloc(p, size));
}

void *rv_aligned_alloc(size_t align, size_t size)
{
	return rv_alloc_fails() ? NULL : rv_alloc_counted(aligned_alloc(align, size));
}

char *rv_strdup(const char *s)
{
	return rv_alloc_fails() ? NULL : rv_alloc_counted(strdup(s));
}

uint64_t rv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
