/* SPDX-License-Identifier: MIT */
/* What the files of the reqvisor command share. */
#ifndef RV_CLI_CLI_H
#define RV_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reqvisor/vm.h"

#define EXIT_GUEST_FAILED 1
#define EXIT_USAGE	  2
#define EXIT_ORACLE	  3
#define EXIT_NO_MEMORY	  4

struct run_opts {
	struct rv_vm_config cfg;
	const char *guest_path; /* an ELF guest, or NULL: the synthetic one */
	bool synthetic;
	const char *script;
	const char *stats_path;
	uint32_t rounds;
	bool rounds_set;
	uint64_t pages;
	bool pages_set, seed_set;
	uint64_t mem_size;
	bool vendor_amd;
	bool shadow, svm_new_asid, numa_migrate, hyperv, nested, nsvm_conditional;
	uint32_t vpids, asids;
	bool console_prefix;
	int oracle; /* enum rv_oracle_mode */
	unsigned tlb_sets, tlb_ways;
	bool quiet;
	uint32_t watchdog; /* seconds, 0: none */
};

/* Print "@who: message" on stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int cli_bad(const char *who, const char *fmt, ...);

/* `reqvisor run`'s options: 0, EXIT_USAGE after a message, or RUN_HELP for
 * --help. Resets getopt, so it may be called again. */
#define RUN_HELP (-1)
int run_options_parse(int argc, char **argv, struct run_opts *o);
void run_usage(FILE *out);

struct rv_machine;

/* The embedded default workload (the shootdown guest). */
extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;

struct guest_run {
	uint8_t *image;
	struct rv_machine *machine;
};

/* Read the image and build the machine; the backend goes into o->cfg. */
int guest_prepare(struct run_opts *o, struct guest_run *g, char *err, size_t errlen);
void guest_release(struct guest_run *g);
/* The machine's lines of the summary: TLBs, oracle, unknown ports. */
void guest_summary(struct guest_run *g, struct rv_vm *vm);
/* The exit status for a guest run that rv_vm_run() ended with @result. */
int guest_verdict(void *g, struct rv_vm *vm, int result);

#endif
