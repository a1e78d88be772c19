/* SPDX-License-Identifier: MIT */
/* Running a guest image on the machine for a benchmark (vendors, hyperv). */
#ifndef RV_BENCH_GUEST_H
#define RV_BENCH_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/machine.h"
#include "reqvisor/vm.h"

struct bench_guest_result {
	double seconds;	    /* wall clock of rv_vm_run */
	uint64_t det_steps; /* the deterministic executor's steps, 0 in threads */
	struct rv_machine_totals t;
	char *console; /* the guest's output (malloc'd; free it) */
	int status;    /* the guest's exit status, -1: it did not finish */
};

/*
 * Boot @mc's image with @vc's vCPUs, pCPUs and executor (the backend and
 * vendor fields are filled here), run it to the end and destroy it; @with
 * (may be NULL) reads the VM's statistics before that. Returns 0, or -1
 * with a message on stderr naming @what.
 */
int bench_run_guest(const char *what, struct rv_machine_config mc, struct rv_vm_config vc,
		    void (*with)(struct rv_vm *vm, void *ctx), void *ctx,
		    struct bench_guest_result *out);

/* The same, with the watchdog of `reqvisor run --watchdog` (src/cli/watchdog.h):
 * a run past @watchdog seconds (0: none) prints every vCPU's state and ends
 * the process with status 1. */
int bench_run_guest_watched(const char *what, struct rv_machine_config mc, struct rv_vm_config vc,
			    void (*with)(struct rv_vm *vm, void *ctx), void *ctx, unsigned watchdog,
			    struct bench_guest_result *out);

/* The options every guest benchmark takes. */
struct bench_guest_opts {
	const char *cmd; /* "vendors", "hyperv": for messages */
	const char *json_path;
	bool quick, rounds_set;
	uint32_t rounds;
};

/*
 * If argv[*i] is --quick, --json FILE or --rounds N (1 to 100000), take it
 * (moving *i past its value) and return 1; return 0 for another argument,
 * and 2 (bad usage) after a message.
 */
int bench_guest_opt(int argc, char **argv, int *i, struct bench_guest_opts *o);

/* Seconds on the monotonic clock. */
double bench_mono_s(void);

#endif
