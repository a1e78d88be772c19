/* SPDX-License-Identifier: MIT */
/*
 * `reqvisor run --watchdog S`: a run still going after S seconds prints
 * every vCPU's state (rv_vcpu_describe) and ends with status 1, so that a
 * campaign's hung run says where it hung. The oracle's violations found by
 * then come first: "reqvisor: oracle: REPORT (N violations so far)".
 */
#ifndef RV_CLI_WATCHDOG_H
#define RV_CLI_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "reqvisor/vm.h"

struct rv_machine;

struct watchdog {
	pthread_t thread;
	_Atomic bool stop;
	bool running;
	struct rv_vm *vm;
	const struct rv_machine *machine; /* the oracle's, or NULL */
	unsigned seconds;
};

/* Arm it (@seconds 0: do nothing). */
void watchdog_start(struct watchdog *w, struct rv_vm *vm, unsigned seconds);
/* The same, with the oracle of @machine (or NULL), whose violations by
 * then the report begins with. */
void watchdog_start_oracle(struct watchdog *w, struct rv_vm *vm, const struct rv_machine *machine,
			   unsigned seconds);
/* The run ended in time: disarm it. */
void watchdog_stop(struct watchdog *w);

#endif
