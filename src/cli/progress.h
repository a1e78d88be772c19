/* SPDX-License-Identifier: MIT */
/* The progress line `reqvisor run` shows on a terminal while a guest runs. */
#ifndef RV_CLI_PROGRESS_H
#define RV_CLI_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "reqvisor/vm.h"

struct progress {
	pthread_t thread;
	_Atomic bool stop;
	bool running;
	struct rv_vm *vm;
	uint64_t start_ns;
	uint64_t last_steps, last_ns;
};

/* Start the line when stderr is a terminal and @enabled; else do nothing. */
void progress_start(struct progress *p, struct rv_vm *vm, bool enabled);
/* Stop it and clear the line. */
void progress_stop(struct progress *p);

#endif
