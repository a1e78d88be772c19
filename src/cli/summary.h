/* SPDX-License-Identifier: MIT */
/* The end-of-run summary printed by `reqvisor run`. */
#ifndef RV_CLI_SUMMARY_H
#define RV_CLI_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "reqvisor/vm.h"

struct run_summary {
	uint64_t start_ns;
	uint64_t elapsed_ns;
	int result;
};

void summary_start(struct run_summary *s, struct rv_vm *vm);
void summary_stop(struct run_summary *s, struct rv_vm *vm, int result);
void summary_print(const struct run_summary *s, struct rv_vm *vm, FILE *out);

#endif
