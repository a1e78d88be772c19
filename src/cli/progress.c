// SPDX-License-Identifier: MIT
/*
 * About four times a second: elapsed time, guest instructions per second
 * since the last line, requests posted, flushes, kicks, and the vCPUs
 * running, halted and preempted (live but on no pCPU). On stderr, rewritten
 * in place, only on a terminal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "reqvisor/request.h"

#define PERIOD_NS 250000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t flushes(struct rv_vm *vm)
{
	return rv_vm_stat(vm, RV_STAT_flush_all) + rv_vm_stat(vm, RV_STAT_flush_current) +
	       rv_vm_stat(vm, RV_STAT_flush_guest) + rv_vm_stat(vm, RV_STAT_flush_gva);
}

static void line(struct progress *p)
{
	struct rv_vm *vm = p->vm;
	uint64_t t = now_ns(), steps = rv_vm_stat(vm, RV_STAT_steps), requests = 0;
	uint32_t live, halted, loaded;
	double rate = (double)(steps - p->last_steps) * 1e3 / (double)(t - p->last_ns + 1);

	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++)
		requests += rv_vm_requests_posted(vm, nr);
	rv_vm_vcpu_counts(vm, &live, &halted, &loaded);
	fprintf(stderr,
		"\r%6.1fs %8.1f M instr/s  requests %" PRIu64 "  flushes %" PRIu64
		"  kicks %" PRIu64 "  vCPUs running %u halted %u preempted %u   ",
		(double)(t - p->start_ns) / 1e9, rate, requests, flushes(vm),
		rv_vm_stat(vm, RV_STAT_kicks_sent), loaded, halted,
		live > halted + loaded ? live - halted - loaded : 0);
	fflush(stderr);
	p->last_steps = steps;
	p->last_ns = t;
}

static void *progress_thread(void *arg)
{
	struct progress *p = arg;
	struct timespec period = { 0, (long)PERIOD_NS };

	while (!atomic_load(&p->stop)) {
		nanosleep(&period, NULL);
		if (!atomic_load(&p->stop))
			line(p);
	}
	return NULL;
}

void progress_start(struct progress *p, struct rv_vm *vm, bool enabled)
{
	p->running = false;
	if (!enabled || !isatty(STDERR_FILENO))
		return;
	p->vm = vm;
	p->start_ns = p->last_ns = now_ns();
	p->last_steps = 0;
	atomic_store(&p->stop, false);
	p->running = pthread_create(&p->thread, NULL, progress_thread, p) == 0;
}

void progress_stop(struct progress *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
}
