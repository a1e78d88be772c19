// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <time.h>

#include "reqvisor/fault.h"
#include "reqvisor/request.h"
#include "summary.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void summary_start(struct run_summary *s, struct rv_vm *vm)
{
	(void)vm;
	s->start_ns = now_ns();
}

void summary_stop(struct run_summary *s, struct rv_vm *vm, int result)
{
	(void)vm;
	s->elapsed_ns = now_ns() - s->start_ns;
	s->result = result;
}

static const char *result_text(int result)
{
	return result == 0 ? "finished" : result == -1 ? "HUNG" : "killed";
}

static void print_requests(struct rv_vm *vm, FILE *out)
{
	fprintf(out, "  %-24s %10s %10s %10s %10s\n", "request", "posted", "serviced", "coalesced",
		"covered");
	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++) {
		uint64_t posted = rv_vm_requests_posted(vm, nr);

		if (!posted)
			continue;
		fprintf(out, "  %-24s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
			rv_request_name(nr), posted, rv_vm_requests_serviced(vm, nr),
			rv_vm_requests_coalesced(vm, nr), rv_vm_requests_covered(vm, nr));
	}
}

static void print_faults(struct rv_vm *vm, FILE *out)
{
	for (int f = 0; f < RV_NR_FAULTS; f++) {
		uint64_t fired = rv_vm_fault_fired(vm, f);

		if (fired)
			fprintf(out, "  fault %-18s fired %" PRIu64 " times (%s)\n",
				rv_fault_name(f), fired,
				rv_fault_class(f) == RV_FAULT_BENIGN ? "benign" : "breaking");
	}
}

#define S(id) rv_vm_stat(vm, RV_STAT_##id)

void summary_print(const struct run_summary *s, struct rv_vm *vm, FILE *out)
{
	const struct rv_vm_config *c = rv_vm_config(vm);
	double secs = s->elapsed_ns / 1e9;

	fprintf(out, "reqvisor: %s, %u vCPUs on %u pCPUs, %s executor, seed %" PRIu64 "\n",
		c->backend->name, rv_vm_nr_vcpus(vm), rv_vm_nr_pcpus(vm),
		c->executor == RV_EXEC_THREADS ? "threads" : "deterministic", c->seed);
	fprintf(out,
		"%s in %.3f s: %" PRIu64 " guest steps, %" PRIu64 " entries, %" PRIu64
		" backoffs, %" PRIu64 " kick exits\n",
		result_text(s->result), secs, S(steps), S(entries), S(backoffs), S(exits_kick));
	print_requests(vm, out);
	fprintf(out,
		"  flushes: all %" PRIu64 ", current %" PRIu64 ", guest %" PRIu64 ", gva %" PRIu64
		"\n",
		S(flush_all), S(flush_current), S(flush_guest), S(flush_gva));
	fprintf(out,
		"  broadcasts %" PRIu64 ": kicks sent %" PRIu64 ", avoided %" PRIu64
		" (target not in guest mode), wakes %" PRIu64 "\n",
		S(broadcasts), S(kicks_sent), S(kicks_avoided), S(wakes_sent));
	fprintf(out,
		"  waits %" PRIu64 " (%" PRIu64 " %s), halts %" PRIu64 ", migrations %" PRIu64
		", preemptions %" PRIu64 "\n",
		S(waits), S(wait_ns), c->executor == RV_EXEC_THREADS ? "ns" : "steps", S(halts),
		S(migrations), S(preemptions));
	print_faults(vm, out);
	if (c->executor == RV_EXEC_DETERMINISTIC)
		fprintf(out, "  trace: %" PRIu64 " events, hash %016" PRIx64 "\n",
			rv_vm_trace_events(vm), rv_vm_trace_hash(vm));
}
