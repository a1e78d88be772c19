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

/* Give the allocator's freed but still resident pages back to the host
 * (jemalloc's purge, or malloc_trim), so that RSS shows what is in use. */
void rv_host_memory_trim(void);

#endif
