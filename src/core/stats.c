// SPDX-License-Identifier: MIT
/*
 * Statistics: sums over the vCPU set, plus the host's own broadcasts and the
 * counters of removed vCPUs. Read after the run (or racily, for progress).
 *
 * "posted" is derived, not counted: every post either set the bit (and was
 * later serviced, covered by a superset flush, or is still pending) or found
 * it set (coalesced). Counting it on the post path would double the cost of
 * the hottest operation in the scheduler.
 */
#include <inttypes.h>

#include "alloc.h"
#include "reqvisor/fault.h"
#include "vm_impl.h"

static const char *const stat_names[RV_NR_STATS] = {
#define RV_STAT(name, meaning) [RV_STAT_##name] = #name,
#include "reqvisor/stats.def"
#undef RV_STAT
};

#define for_each_vcpu(vm, i, v)                        \
	for (uint32_t i = 0; i < (vm)->max_vcpus; i++) \
		if (((v) = rv_vm_slot((vm), i)))

uint64_t rv_vm_stat(struct rv_vm *vm, enum rv_stat_id id)
{
	struct rv_vcpu *v;
	uint64_t n = vm->retired_stat[id] + atomic_load(&vm->host_stat[id]);

	for_each_vcpu(vm, i, v) n += rv_counter(&v->stat[id]);
	return n;
}

uint64_t rv_vm_requests_serviced(struct rv_vm *vm, unsigned nr)
{
	struct rv_vcpu *v;
	uint64_t n = vm->retired_serviced[nr];

	for_each_vcpu(vm, i, v) n += rv_counter(&v->serviced[nr]);
	return n;
}

uint64_t rv_vm_requests_coalesced(struct rv_vm *vm, unsigned nr)
{
	struct rv_vcpu *v;
	uint64_t n = vm->retired_coalesced[nr];

	for_each_vcpu(vm, i, v) n += atomic_load_explicit(&v->coalesced[nr], memory_order_relaxed);
	return n;
}

uint64_t rv_vm_requests_covered(struct rv_vm *vm, unsigned nr)
{
	struct rv_vcpu *v;
	uint64_t n = vm->retired_covered[nr];

	for_each_vcpu(vm, i, v) n += rv_counter(&v->covered[nr]);
	return n;
}

static uint64_t vcpu_posted(struct rv_vcpu *v, unsigned nr)
{
	uint64_t pending = rv_test_request(v, nr) ? 1 : 0;

	return rv_counter(&v->serviced[nr]) + rv_counter(&v->covered[nr]) + pending +
	       atomic_load_explicit(&v->coalesced[nr], memory_order_relaxed);
}

uint64_t rv_vm_requests_posted(struct rv_vm *vm, unsigned nr)
{
	struct rv_vcpu *v;
	uint64_t n = vm->retired_serviced[nr] + vm->retired_covered[nr] + vm->retired_coalesced[nr];

	for_each_vcpu(vm, i, v) n += vcpu_posted(v, nr);
	return n;
}

/* alloc.fail's counters live in the process-wide rule (src/core/alloc.h). */
static struct rv_faults *fault_counters(struct rv_vm *vm, int fault)
{
	struct rv_faults *armed = rv_alloc_faults_armed();

	return fault == RV_FAULT_ALLOC_FAIL && armed ? armed : &vm->faults;
}

uint64_t rv_vm_fault_fired(struct rv_vm *vm, int fault)
{
	return atomic_load(&fault_counters(vm, fault)->fired[fault]);
}

uint64_t rv_vm_lost_wakeups(struct rv_vm *vm)
{
	return atomic_load(&vm->idle_timeouts_with_work);
}

static void json_requests(FILE *out, struct rv_vcpu *v)
{
	fprintf(out, "\"requests\": {");
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++) {
		fprintf(out,
			"%s\"%s\": {\"posted\": %" PRIu64 ", \"serviced\": %" PRIu64
			", \"coalesced\": %" PRIu64 ", \"covered\": %" PRIu64 "}",
			nr ? ", " : "", rv_request_name(nr), vcpu_posted(v, nr), v->serviced[nr],
			atomic_load(&v->coalesced[nr]), v->covered[nr]);
	}
	fprintf(out, "}");
}

static void json_counters(FILE *out, const uint64_t *c)
{
	for (int i = 0; i < RV_NR_STATS; i++)
		fprintf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", stat_names[i], c[i]);
}

static void json_vm(FILE *out, struct rv_vm *vm)
{
	uint64_t total[RV_NR_STATS];

	for (int i = 0; i < RV_NR_STATS; i++)
		total[i] = rv_vm_stat(vm, i);
	fprintf(out,
		"\"vm\": {\"vcpus\": %u, \"pcpus\": %u, \"nodes\": %u, \"seed\": %" PRIu64
		", \"trace_hash\": \"%016" PRIx64 "\", ",
		vm->max_vcpus, vm->nr_pcpus, vm->nr_nodes, vm->cfg.seed, vm->trace_hash);
	json_counters(out, total);
	fprintf(out, ", \"requests\": {");
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++)
		fprintf(out,
			"%s\"%s\": {\"posted\": %" PRIu64 ", \"serviced\": %" PRIu64
			", \"coalesced\": %" PRIu64 ", \"covered\": %" PRIu64 "}",
			nr ? ", " : "", rv_request_name(nr), rv_vm_requests_posted(vm, nr),
			rv_vm_requests_serviced(vm, nr), rv_vm_requests_coalesced(vm, nr),
			rv_vm_requests_covered(vm, nr));
	fprintf(out, "}, \"faults\": {");
	for (int f = 0; f < RV_NR_FAULTS; f++)
		fprintf(out, "%s\"%s\": {\"hits\": %" PRIu64 ", \"fired\": %" PRIu64 "}",
			f ? ", " : "", rv_fault_name(f),
			atomic_load(&fault_counters(vm, f)->hits[f]),
			atomic_load(&fault_counters(vm, f)->fired[f]));
	fprintf(out, "}}");
}

void rv_vm_stats_json(struct rv_vm *vm, FILE *out)
{
	struct rv_vcpu *v;
	bool first = true;

	fprintf(out, "{");
	json_vm(out, vm);
	if (vm->cfg.backend->vm_stats_json) {
		fprintf(out, ",\n\"backend\": {");
		vm->cfg.backend->vm_stats_json(vm->cfg.backend_ctx, out);
		fprintf(out, "}");
	}
	fprintf(out, ",\n\"vcpus\": [");
	for_each_vcpu(vm, i, v)
	{
		fprintf(out, "%s\n{\"index\": %u, ", first ? "" : ",", v->index);
		json_counters(out, v->stat);
		fprintf(out, ", ");
		json_requests(out, v);
		if (vm->cfg.backend->stats_json) {
			fprintf(out, ", \"backend\": {");
			vm->cfg.backend->stats_json(v, out);
			fprintf(out, "}");
		}
		fprintf(out, "}");
		first = false;
	}
	fprintf(out, "\n]}\n");
}
