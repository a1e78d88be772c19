// SPDX-License-Identifier: MIT
/*
 * Host objects per NUMA node. With jemalloc, each node has its own arena so a
 * node's vCPUs and pCPUs never share allocator metadata with another node's.
 * Sanitizer builds use the libc allocator, which the sanitizers can see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm_impl.h"

#ifdef RV_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

int rv_node_arenas_create(struct rv_vm *vm)
{
	vm->arena = calloc(vm->nr_nodes, sizeof(*vm->arena));
	if (!vm->arena)
		return -1;
	for (uint32_t n = 0; n < vm->nr_nodes; n++) {
		size_t sz = sizeof(unsigned);

		if (mallctl("arenas.create", &vm->arena[n], &sz, NULL, 0))
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

void *rv_node_zalloc(struct rv_vm *vm, int node, size_t size)
{
	int flags = MALLOCX_ZERO | MALLOCX_ALIGN(64) | MALLOCX_TCACHE_NONE;

	return mallocx(size, flags | MALLOCX_ARENA(vm->arena[node]));
}

void rv_node_free(void *p)
{
	if (p)
		dallocx(p, MALLOCX_TCACHE_NONE);
}
#else
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
	void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);

	if (p)
		memset(p, 0, size);
	return p;
}

void rv_node_free(void *p)
{
	free(p);
}
#endif

uint64_t rv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
