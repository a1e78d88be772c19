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

#include <numa.h>
#include <numaif.h>
#include <pthread.h>

/* ---- The host's NUMA nodes ---- */

#define MAX_HOST_NODES 1024

static pthread_once_t host_nodes_once = PTHREAD_ONCE_INIT;
static int host_node_ids[MAX_HOST_NODES];
static uint32_t nr_host_node_ids;

/* The nodes this process may allocate from (its cpuset's memory nodes that
 * have memory), in order of their numbers. */
static void host_nodes_init(void)
{
	if (numa_available() < 0)
		return;
	for (int n = 0; n <= numa_max_node() && nr_host_node_ids < MAX_HOST_NODES; n++)
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)n))
			host_node_ids[nr_host_node_ids++] = n;
	if (!nr_host_node_ids)
		host_node_ids[nr_host_node_ids++] = 0;
}

uint32_t rv_host_nr_nodes(void)
{
	if (numa_available() < 0)
		return 1;
	int n = numa_num_configured_nodes();

	return n > 0 ? (uint32_t)n : 1;
}

int rv_host_node_of(uint32_t vm_node)
{
	pthread_once(&host_nodes_once, host_nodes_init);
	return nr_host_node_ids ? host_node_ids[vm_node % nr_host_node_ids] : -1;
}

int rv_host_bind(void *p, size_t size, int host_node)
{
	unsigned long mask[MAX_HOST_NODES / (8 * sizeof(unsigned long))] = { 0 };

	if (host_node < 0 || host_node >= MAX_HOST_NODES)
		return -1;
	mask[host_node / (8 * sizeof(long))] |= 1ul << (host_node % (8 * sizeof(long)));
	/* The kernel reads maxnode - 1 bits (libnuma passes size + 1 too). */
	return (int)mbind(p, size, MPOL_BIND, mask, MAX_HOST_NODES + 1, 0);
}

#ifdef RV_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

/*
 * Each node's arena maps its extents with jemalloc's own hooks, then binds
 * the new pages to the node's host node (mbind, MPOL_BIND), so a node's vCPU
 * and pCPU objects really live there. The hooks are given when the arena is
 * created, so the arena's own metadata (its first base block) is bound too:
 * that allocation runs before the arena's index is known, so the host node
 * comes from the creating thread. A VM's node i is host node
 * rv_host_node_of(i) (a declared topology on a smaller host wraps around).
 */
#define MAX_ARENAS 4096

static extent_hooks_t *default_hooks;
static extent_hooks_t node_hooks;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
/* Per arena index: host node + 1 (0: not a node arena), what was bound. */
static _Atomic int arena_host[MAX_ARENAS];
static _Atomic uint64_t arena_bound[MAX_ARENAS], arena_bind_failed[MAX_ARENAS];
static _Thread_local int creating_host = -1;
static _Atomic bool arenas_enabled = true;

static void *node_extent_alloc(extent_hooks_t *h, void *addr, size_t size, size_t align, bool *zero,
			       bool *commit, unsigned arena)
{
	void *p = default_hooks->alloc(default_hooks, addr, size, align, zero, commit, arena);
	int host = arena < MAX_ARENAS ? atomic_load(&arena_host[arena]) - 1 : -1;

	(void)h;
	if (host < 0)
		host = creating_host;
	if (!p || host < 0 || arena >= MAX_ARENAS)
		return p;
	if (rv_host_bind(p, size, host))
		atomic_fetch_add(&arena_bind_failed[arena], 1);
	else
		atomic_fetch_add(&arena_bound[arena], size);
	return p;
}

static void hooks_init(void)
{
	size_t sz = sizeof(default_hooks);

	if (mallctl("arena.0.extent_hooks", &default_hooks, &sz, NULL, 0))
		default_hooks = NULL;
	if (default_hooks) {
		node_hooks = *default_hooks;
		node_hooks.alloc = node_extent_alloc;
	}
}

void rv_node_arenas_enable(bool on)
{
	atomic_store(&arenas_enabled, on);
}

/*
 * jemalloc 5.3 lets the default extent hook allocate an arena's first base
 * block before the arena exists (it takes no arena then); older versions
 * need the arena, so there the hooks are set once it is created and its
 * first base block stays unbound.
 */
#if JEMALLOC_VERSION_MAJOR > 5 || (JEMALLOC_VERSION_MAJOR == 5 && JEMALLOC_VERSION_MINOR >= 3)
#define HOOKS_AT_CREATION 1
#else
#define HOOKS_AT_CREATION 0
#endif

static int arena_create(int host, unsigned *out)
{
	extent_hooks_t *hooks = &node_hooks;
	size_t sz = sizeof(*out);
	int rc;

	creating_host = host;
	if (HOOKS_AT_CREATION)
		rc = mallctl("arenas.create", out, &sz, &hooks, sizeof(hooks));
	else
		rc = mallctl("arenas.create", out, &sz, NULL, 0);
	creating_host = -1;
	if (rc)
		return -1;
	if (*out < MAX_ARENAS)
		atomic_store(&arena_host[*out], host + 1);
	if (!HOOKS_AT_CREATION) {
		char name[64];

		snprintf(name, sizeof(name), "arena.%u.extent_hooks", *out);
		if (mallctl(name, NULL, NULL, &hooks, sizeof(hooks)))
			return -1;
	}
	return 0; /* an arena past the table works, unbound */
}

int rv_node_arenas_create(struct rv_vm *vm)
{
	if (!atomic_load(&arenas_enabled))
		return 0; /* vm->arena stays NULL: plain malloc */
	vm->arena = rv_calloc(vm->nr_nodes, sizeof(*vm->arena));
	if (!vm->arena)
		return -1;
	for (uint32_t n = 0; n < vm->nr_nodes; n++)
		vm->arena[n] = UINT32_MAX; /* not created */
	if (numa_available() < 0) {
		/* Nothing to bind: jemalloc's default hooks. */
		for (uint32_t n = 0; n < vm->nr_nodes; n++) {
			size_t sz = sizeof(unsigned);

			if (mallctl("arenas.create", &vm->arena[n], &sz, NULL, 0))
				return -1;
		}
		return 0;
	}
	pthread_once(&hooks_once, hooks_init);
	if (!default_hooks)
		return -1;
	for (uint32_t n = 0; n < vm->nr_nodes; n++)
		if (arena_create(rv_host_node_of(n), &vm->arena[n]))
			return -1;
	return 0;
}

/* After every object of the VM is freed: give the arenas back. */
void rv_node_arenas_destroy(struct rv_vm *vm)
{
	for (uint32_t n = 0; vm->arena && n < vm->nr_nodes; n++) {
		char name[64];
		unsigned a = vm->arena[n];

		if (a == UINT32_MAX)
			continue;
		snprintf(name, sizeof(name), "arena.%u.destroy", a);
		mallctl(name, NULL, NULL, NULL, 0);
		if (a < MAX_ARENAS) {
			atomic_store(&arena_host[a], 0);
			atomic_store(&arena_bound[a], 0);
			atomic_store(&arena_bind_failed[a], 0);
		}
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

	if (!vm->arena) /* arenas switched off: jemalloc's automatic arenas */
		return rv_alloc_counted(mallocx(size, MALLOCX_ZERO | MALLOCX_ALIGN(64)));
	return rv_alloc_counted(mallocx(size, flags | MALLOCX_ARENA(vm->arena[node])));
}

void rv_node_free(void *p)
{
	if (p)
		dallocx(p, MALLOCX_TCACHE_NONE);
}

static uint64_t arena_stat(unsigned arena, const char *what)
{
	char name[64];
	size_t v = 0, sz = sizeof(v);

	snprintf(name, sizeof(name), "stats.arenas.%u.%s", arena, what);
	return mallctl(name, &v, &sz, NULL, 0) ? 0 : (uint64_t)v;
}

void rv_node_arena_info(struct rv_vm *vm, uint32_t node, struct rv_node_arena_info *out)
{
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	unsigned a;

	memset(out, 0, sizeof(*out));
	out->host_node = -1;
	if (!vm->arena || node >= vm->nr_nodes || vm->arena[node] == UINT32_MAX)
		return;
	a = vm->arena[node];
	out->arena = true;
	out->index = a;
	if (a < MAX_ARENAS) {
		out->host_node = atomic_load(&arena_host[a]) - 1;
		out->bound_bytes = atomic_load(&arena_bound[a]);
		out->bind_failures = atomic_load(&arena_bind_failed[a]);
	}
	mallctl("epoch", &epoch, &sz, &epoch, sz); /* refresh the statistics */
	out->mapped = arena_stat(a, "mapped");
	out->resident = arena_stat(a, "resident");
}
#else
bool rv_node_pages_bound(void)
{
	return false;
}

void rv_node_arenas_enable(bool on)
{
	(void)on;
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

void rv_node_arena_info(struct rv_vm *vm, uint32_t node, struct rv_node_arena_info *out)
{
	(void)vm, (void)node;
	memset(out, 0, sizeof(*out));
	out->host_node = -1;
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
