// SPDX-License-Identifier: MIT
/*
 * The watchdog (watchdog.h): a thread that wakes ten times a second; past
 * its deadline it prints the oracle's violations so far and the state of
 * every vCPU to stderr and ends the process with status 1 (the VM's threads
 * are still running, so nothing is torn down: _exit).
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "machine/machine.h"
#include "reqvisor/vcpu.h"
#include "watchdog.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(struct watchdog *w)
{
	uint32_t n = rv_vm_nr_vcpus(w->vm);
	char line[1024];
	const char *violation = NULL;
	uint64_t found = w->machine ? rv_machine_violations(w->machine, &violation) : 0;

	fflush(stdout);
	/* What the oracle found first, for a campaign's record: the run ends
	 * here without its verdict. The first report is complete once the
	 * count says so (the oracle writes it before counting). */
	if (found)
		fprintf(stderr, "reqvisor: %s (%" PRIu64 " violations so far)\n", violation, found);
	fprintf(stderr, "reqvisor: watchdog: the run did not end within %u s; the vCPUs:\n",
		w->seconds);
	for (uint32_t i = 0; i < n; i++) {
		struct rv_vcpu *v = rv_vm_vcpu(w->vm, i);

		if (!v)
			continue;
		rv_vcpu_describe(v, line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	fflush(stderr);
}

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	struct timespec tick = { 0, 100000000 };
	double deadline = now() + w->seconds;

	while (!atomic_load(&w->stop)) {
		if (now() >= deadline) {
			report(w);
			_exit(EXIT_GUEST_FAILED);
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

void watchdog_start(struct watchdog *w, struct rv_vm *vm, unsigned seconds)
{
	watchdog_start_oracle(w, vm, NULL, seconds);
}

void watchdog_start_oracle(struct watchdog *w, struct rv_vm *vm, const struct rv_machine *machine,
			   unsigned seconds)
{
	w->running = false;
	if (!seconds)
		return;
	w->vm = vm;
	w->machine = machine;
	w->seconds = seconds;
	atomic_store(&w->stop, false);
	w->running = pthread_create(&w->thread, NULL, watchdog_thread, w) == 0;
}

void watchdog_stop(struct watchdog *w)
{
	if (!w->running)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
}
