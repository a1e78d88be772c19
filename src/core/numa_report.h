/* SPDX-License-Identifier: MIT */
/*
 * Where a VM really is on the host (docs/stats.md, "NUMA placement"): per VM
 * node, its host node, its pCPUs and the host CPUs their workers were pinned
 * to and seen on, its vCPUs, its guest RAM and the host nodes its pages are
 * really on (asked of the kernel with move_pages(2) and get_mempolicy(2)),
 * and its arena with where the host objects allocated from it really are.
 * Nothing here is what the placement code meant to do: every figure is read
 * back from the kernel, the allocator or the workers after the fact.
 */
#ifndef RV_CORE_NUMA_REPORT_H
#define RV_CORE_NUMA_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RV_NUMA_MAX_CPUS  1024
#define RV_NUMA_MAX_NODES 64

struct rv_pcpu;
struct rv_vm;
struct rv_guest_mem;
struct rv_machine;

/*
 * What a pCPU's placement was, recorded by pcpu.c when the pCPU is created
 * and by its worker thread (threads.c) while it runs; read after the run.
 */
struct rv_pcpu_placement {
	int host_node;	  /* the host node of its VM node; -1: no libnuma */
	bool cpu_on_node; /* its host CPU is one of that node's */
	bool pin_asked;	  /* a threads-executor worker with pinning on ran */
	bool pinned;	  /* ... and its affinity was exactly its host CPU */
	int pin_error;	  /* errno of a failed sched_setaffinity, else 0 */
	uint32_t workers; /* worker threads that ran this pCPU */
	uint64_t samples; /* times a worker looked at the CPU it was on */
	uint64_t cpus_seen[RV_NUMA_MAX_CPUS / 64]; /* the host CPUs it was seen on */
};

/* The record of @p (pcpu.c allocates it with the pCPU). */
struct rv_pcpu_placement *rv_pcpu_placement(struct rv_pcpu *p);

/* Where a range of host memory is: pages asked, pages on each host node. */
struct rv_numa_pages {
	uint64_t asked;	      /* pages whose node was asked (all, or a sample) */
	uint64_t present;     /* ... that are backed by a page */
	uint64_t on_node;     /* ... present on the node they were meant for */
	uint64_t not_present; /* never touched: no page yet */
	uint64_t failed;      /* move_pages(2) gave another error */
	uint32_t stride;      /* every stride-th page was asked */
	uint64_t by_host_node[RV_NUMA_MAX_NODES]; /* present pages per host node */
};

struct rv_numa_node {
	uint32_t node;	 /* the VM node */
	int host_node;	 /* the host node it maps to; -1: no libnuma */
	uint32_t pcpus;	 /* pCPUs on it */
	uint32_t pinned; /* ... whose worker's affinity was exactly its host CPU */
	uint32_t vcpus;	 /* vCPUs whose home it is */
	/* Guest RAM homed here and the spare frames of page moves. */
	uint64_t ram_bytes, pool_bytes;
	uint32_t frames_in_use; /* frames of the pool mapped to guest pages now */
	int mem_policy;		/* get_mempolicy(2) of the pool's first page */
	uint64_t mem_policy_nodes;
	struct rv_numa_pages mem; /* the pool's pages, by where they are */
	/* The node's arena and where the objects from it are (the pCPU and
	 * vCPU objects of the node: one page asked per object). */
	bool arena;
	unsigned arena_index;
	int arena_host_node;
	uint64_t arena_bound_bytes, arena_bind_failures, arena_mapped, arena_resident;
	struct rv_numa_pages objects;
};

struct rv_numa_report {
	bool declared;	     /* --topology gave the nodes */
	bool libnuma;	     /* numa_available() */
	uint32_t host_nodes; /* the host's nodes (rv_host_nr_nodes) */
	uint32_t nodes;	     /* the VM's */
	uint32_t mem_nodes;  /* guest memory's nodes (0: no guest memory) */
	bool interleaved;    /* guest RAM striped over the nodes */
	double query_ms;     /* the time the kernel queries took */
	struct rv_numa_node node[RV_NUMA_MAX_NODES];
};

/*
 * Fill @r for @vm, whose guest memory is @mem (NULL: none, as the synthetic
 * guest). Every page of the guest memory is asked up to @max_pages per node
 * (0: all), beyond that an even sample. Call after the run, before the VM
 * is destroyed.
 */
void rv_numa_report(struct rv_vm *vm, const struct rv_guest_mem *mem, uint64_t max_pages,
		    struct rv_numa_report *r);
/* The guest memory of a machine (machine.h), for rv_numa_report(). */
const struct rv_guest_mem *rv_numa_machine_mem(const struct rv_machine *m);
/* @r as the members of a JSON object (no braces), and as summary lines. */
void rv_numa_report_json(struct rv_vm *vm, const struct rv_numa_report *r, FILE *out);
void rv_numa_report_print(struct rv_vm *vm, const struct rv_numa_report *r, FILE *out);

#endif
