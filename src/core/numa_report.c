// SPDX-License-Identifier: MIT
/*
 * The placement report (numa_report.h). Everything is asked after the fact:
 * the workers' affinity and the CPUs they were seen on (threads.c), the nodes
 * of guest memory's pages and of the host objects' pages (move_pages(2)
 * without target nodes only reports where each page is), the policy the
 * guest memory was bound with (get_mempolicy(2)), and what the arenas'
 * extent hooks bound (alloc.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <string.h>

#include "alloc.h"
#include "machine/machine_impl.h"
#include "mem/guest_mem.h"
#include "numa_report.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

#define QUERY_BATCH 1024

/* Count where @n pages (their addresses in @pages) are; @want is the host
 * node they were meant for. */
static void query_pages(void **pages, unsigned n, int want, struct rv_numa_pages *out)
{
	int status[QUERY_BATCH];

	out->asked += n;
	if (move_pages(0, n, pages, NULL, status, 0)) {
		out->failed += n;
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		int s = status[k];

		if (s >= 0) {
			out->present++;
			out->on_node += s == want;
			if (s < RV_NUMA_MAX_NODES)
				out->by_host_node[s]++;
		} else if (s == -ENOENT || s == -EFAULT) {
			/* Never written: no page yet, or the shared zero page. */
			out->not_present++;
		} else {
			out->failed++;
		}
	}
}

/* Every stride-th page of [base, base + bytes), at most @max pages (0: all). */
static void query_range(uint8_t *base, uint64_t bytes, uint64_t max, int want,
			struct rv_numa_pages *out)
{
	uint64_t pages = bytes >> RV_PAGE_SHIFT;
	uint64_t stride = max && pages > max ? (pages + max - 1) / max : 1;
	void *batch[QUERY_BATCH];
	unsigned n = 0;

	out->stride = (uint32_t)stride;
	for (uint64_t p = 0; p < pages; p += stride) {
		batch[n++] = base + (p << RV_PAGE_SHIFT);
		if (n == QUERY_BATCH) {
			query_pages(batch, n, want, out);
			n = 0;
		}
	}
	if (n)
		query_pages(batch, n, want, out);
}

static void query_object(void *obj, int want, struct rv_numa_pages *out)
{
	void *page = (void *)((uintptr_t)obj & ~(uintptr_t)(RV_PAGE_SIZE - 1));

	query_pages(&page, 1, want, out);
}

static void guest_memory(const struct rv_guest_mem *mem, struct rv_numa_node *nd, uint64_t max)
{
	unsigned long mask[RV_NUMA_MAX_CPUS / 64] = { 0 }; /* 1024 nodes, as the kernel's most */
	uint8_t *base = rv_guest_mem_node_host(mem, nd->node, &nd->pool_bytes, &nd->ram_bytes);
	int mode = -1;

	nd->mem_policy = -1;
	if (!base)
		return;
	if (!get_mempolicy(&mode, mask, RV_NUMA_MAX_CPUS + 1, base, MPOL_F_ADDR)) {
		nd->mem_policy = mode;
		nd->mem_policy_nodes = mask[0];
	}
	query_range(base, nd->pool_bytes, max, nd->host_node, &nd->mem);
}

void rv_numa_report(struct rv_vm *vm, const struct rv_guest_mem *mem, uint64_t max_pages,
		    struct rv_numa_report *r)
{
	uint64_t t0 = rv_now_ns();
	uint32_t nodes;

	memset(r, 0, sizeof(*r));
	r->declared = vm->cfg.nr_nodes != 0;
	r->libnuma = numa_available() >= 0;
	r->host_nodes = rv_host_nr_nodes();
	r->mem_nodes = mem ? rv_guest_mem_nr_nodes(mem) : 0;
	r->interleaved = mem && rv_guest_mem_interleaved(mem);
	nodes = vm->nr_nodes > r->mem_nodes ? vm->nr_nodes : r->mem_nodes;
	r->nodes = nodes < RV_NUMA_MAX_NODES ? nodes : RV_NUMA_MAX_NODES;
	for (uint32_t n = 0; n < r->nodes; n++) {
		struct rv_numa_node *nd = &r->node[n];
		struct rv_node_arena_info ai;

		nd->node = n;
		nd->host_node = r->libnuma ? rv_host_node_of(n) : -1;
		if (n < r->mem_nodes)
			guest_memory(mem, nd, max_pages);
		else
			nd->mem_policy = -1;
		rv_node_arena_info(vm, n, &ai);
		nd->arena = ai.arena;
		nd->arena_index = ai.index;
		nd->arena_host_node = ai.host_node;
		nd->arena_bound_bytes = ai.bound_bytes;
		nd->arena_bind_failures = ai.bind_failures;
		nd->arena_mapped = ai.mapped;
		nd->arena_resident = ai.resident;
	}
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		struct rv_pcpu *p = vm->pcpus[i];

		if ((uint32_t)p->node >= r->nodes)
			continue;
		struct rv_numa_node *nd = &r->node[p->node];

		nd->pcpus++;
		nd->pinned += rv_pcpu_placement(p)->pinned;
		query_object(p, nd->host_node, &nd->objects);
	}
	for (uint32_t i = 0; i < vm->max_vcpus; i++) {
		struct rv_vcpu *v = rv_vm_slot(vm, i);

		if (!v || (uint32_t)v->node >= r->nodes)
			continue;
		r->node[v->node].vcpus++;
		query_object(v, r->node[v->node].host_node, &r->node[v->node].objects);
	}
	r->query_ms = (double)(rv_now_ns() - t0) / 1e6;
}

const struct rv_guest_mem *rv_numa_machine_mem(const struct rv_machine *m)
{
	return m ? m->mem : NULL;
}

/* ---- output ---- */

static const char *policy_name(int mode)
{
	switch (mode) {
	case MPOL_DEFAULT:
		return "default";
	case MPOL_PREFERRED:
		return "preferred";
	case MPOL_BIND:
		return "bind";
	case MPOL_INTERLEAVE:
		return "interleave";
	case MPOL_LOCAL:
		return "local";
	default:
		return mode < 0 ? "unknown" : "other";
	}
}

static void json_cpus(FILE *out, const uint64_t *set)
{
	bool first = true;

	fprintf(out, "[");
	for (int c = 0; c < RV_NUMA_MAX_CPUS; c++) {
		if (!(set[c / 64] & (1ull << (c % 64))))
			continue;
		fprintf(out, "%s%d", first ? "" : ", ", c);
		first = false;
	}
	fprintf(out, "]");
}

static void json_pages(FILE *out, const struct rv_numa_pages *p, bool bytes)
{
	bool first = true;

	fprintf(out,
		"{\"asked\": %" PRIu64 ", \"stride\": %u, \"present\": %" PRIu64
		", \"on_node\": %" PRIu64 ", \"not_present\": %" PRIu64 ", \"failed\": %" PRIu64
		", \"%s\": {",
		p->asked, p->stride ? p->stride : 1, p->present, p->on_node, p->not_present,
		p->failed, bytes ? "resident_bytes_by_host_node" : "by_host_node");
	for (int h = 0; h < RV_NUMA_MAX_NODES; h++) {
		if (!p->by_host_node[h])
			continue;
		fprintf(out, "%s\"%d\": %" PRIu64, first ? "" : ", ", h,
			bytes ? p->by_host_node[h] * (p->stride ? p->stride : 1) << RV_PAGE_SHIFT
			      : p->by_host_node[h]);
		first = false;
	}
	fprintf(out, "}}");
}

static void json_pcpus(FILE *out, struct rv_vm *vm, uint32_t node)
{
	bool first = true;

	fprintf(out, "\"pcpus\": [");
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		struct rv_pcpu *p = vm->pcpus[i];
		struct rv_pcpu_placement *pl = rv_pcpu_placement(p);

		if ((uint32_t)p->node != node)
			continue;
		fprintf(out,
			"%s{\"index\": %u, \"host_cpu\": %d, \"cpu_on_node\": %s, \"pin\": %s, "
			"\"pinned\": %s, \"pin_error\": %d, \"workers\": %u, \"cpu_samples\": "
			"%" PRIu64 ", \"cpus_seen\": ",
			first ? "" : ", ", p->index, p->host_cpu,
			pl->cpu_on_node ? "true" : "false", pl->pin_asked ? "true" : "false",
			pl->pinned ? "true" : "false", pl->pin_error, pl->workers, pl->samples);
		json_cpus(out, pl->cpus_seen);
		fprintf(out, "}");
		first = false;
	}
	fprintf(out, "]");
}

static void json_vcpus(FILE *out, struct rv_vm *vm, uint32_t node)
{
	bool first = true;

	fprintf(out, "\"vcpus\": [");
	for (uint32_t i = 0; i < vm->max_vcpus; i++) {
		struct rv_vcpu *v = rv_vm_slot(vm, i);

		if (!v || (uint32_t)v->node != node)
			continue;
		fprintf(out, "%s%u", first ? "" : ", ", v->index);
		first = false;
	}
	fprintf(out, "]");
}

void rv_numa_report_json(struct rv_vm *vm, const struct rv_numa_report *r, FILE *out)
{
	fprintf(out,
		"\"numa\": {\"declared\": %s, \"libnuma\": %s, \"host_nodes\": %u, "
		"\"nr_nodes\": %u, \"guest_memory_layout\": \"%s\", \"query_ms\": %.3f, "
		"\"nodes\": [",
		r->declared ? "true" : "false", r->libnuma ? "true" : "false", r->host_nodes,
		r->nodes,
		!r->mem_nodes	 ? "none"
		: r->interleaved ? "interleaved"
				 : "node-local",
		r->query_ms);
	for (uint32_t n = 0; n < r->nodes; n++) {
		const struct rv_numa_node *nd = &r->node[n];

		fprintf(out, "%s\n  {\"node\": %u, \"host_node\": %d, \"nr_pcpus\": %u, ",
			n ? "," : "", nd->node, nd->host_node, nd->pcpus);
		fprintf(out, "\"pinned_pcpus\": %u, ", nd->pinned);
		json_pcpus(out, vm, n);
		fprintf(out, ", \"nr_vcpus\": %u, ", nd->vcpus);
		json_vcpus(out, vm, n);
		fprintf(out,
			", \"guest_ram_bytes\": %" PRIu64 ", \"host_bytes\": %" PRIu64
			", \"memory\": {\"policy\": \"%s\", \"policy_nodes\": [",
			nd->ram_bytes, nd->pool_bytes, policy_name(nd->mem_policy));
		for (int h = 0, first = 1; h < 64; h++)
			if (nd->mem_policy_nodes & (1ull << h)) {
				fprintf(out, "%s%d", first ? "" : ", ", h);
				first = 0;
			}
		fprintf(out, "], \"pages\": ");
		json_pages(out, &nd->mem, true);
		fprintf(out, "}, \"arena\": ");
		if (nd->arena)
			fprintf(out,
				"{\"index\": %u, \"host_node\": %d, \"bound_bytes\": %" PRIu64
				", \"bind_failures\": %" PRIu64 ", \"mapped_bytes\": %" PRIu64
				", \"resident_bytes\": %" PRIu64 "}",
				nd->arena_index, nd->arena_host_node, nd->arena_bound_bytes,
				nd->arena_bind_failures, nd->arena_mapped, nd->arena_resident);
		else
			fprintf(out, "null");
		fprintf(out, ", \"objects\": ");
		json_pages(out, &nd->objects, false);
		fprintf(out, "}");
	}
	fprintf(out, "]}");
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

void rv_numa_report_print(struct rv_vm *vm, const struct rv_numa_report *r, FILE *out)
{
	fprintf(out, "  numa: %u node%s (%s) on %u host node%s, guest RAM %s%s\n", r->nodes,
		r->nodes == 1 ? "" : "s", r->declared ? "declared" : "the host's", r->host_nodes,
		r->host_nodes == 1 ? "" : "s",
		!r->mem_nodes	 ? "none"
		: r->interleaved ? "interleaved"
				 : "node-local",
		r->libnuma ? "" : " (no libnuma: nothing is bound)");
	for (uint32_t n = 0; n < r->nodes; n++) {
		const struct rv_numa_node *nd = &r->node[n];
		bool first = true;

		fprintf(out, "    node %u -> host node %d: pCPU", nd->node, nd->host_node);
		for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
			struct rv_pcpu *p = vm->pcpus[i];

			if ((uint32_t)p->node != n)
				continue;
			fprintf(out, "%s %u on CPU %d", first ? "" : ",", p->index, p->host_cpu);
			first = false;
		}
		fprintf(out, " (%u pinned), %u vCPUs", nd->pinned, nd->vcpus);
		if (nd->pool_bytes)
			fprintf(out,
				"; RAM %.0f MiB (%s), %.1f MiB resident, %" PRIu64 "/%" PRIu64
				" pages on host node %d",
				mib(nd->ram_bytes), policy_name(nd->mem_policy),
				mib(nd->mem.present * (nd->mem.stride ? nd->mem.stride : 1)
				    << RV_PAGE_SHIFT),
				nd->mem.on_node, nd->mem.present, nd->host_node);
		if (nd->arena)
			fprintf(out, "; arena %u: %.1f MiB bound", nd->arena_index,
				mib(nd->arena_bound_bytes));
		fprintf(out, "; objects %" PRIu64 "/%" PRIu64 " on host node %d\n",
			nd->objects.on_node, nd->objects.present, nd->host_node);
	}
}
