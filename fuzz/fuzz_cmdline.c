// SPDX-License-Identifier: MIT
/*
 * `reqvisor run`'s command line against any arguments (the input split at
 * NUL bytes): every option is accepted within its range or refused with a
 * message; none exits the process. An accepted fault spec is parsed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reqvisor/fault.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;
	struct run_opts o = { 0 };

	memcpy(copy, data, size);
	copy[size] = 0;
	argv[argc++] = "run";
	for (char *p = copy; p < copy + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	int rc = run_options_parse(argc, argv, &o);

	if (rc != 0 && rc != EXIT_USAGE && rc != RUN_HELP)
		abort();
	if (!rc && (o.cfg.nr_vcpus < 1 || o.cfg.nr_vcpus > 4096 || o.cfg.nr_pcpus < 1 ||
		    o.cfg.nr_pcpus > 1024))
		abort();
	if (!rc && o.cfg.faults) {
		static struct rv_faults f;
		char err[256];

		rv_faults_parse(&f, o.cfg.faults, o.cfg.seed, err, sizeof(err));
	}
	free(copy);
	return 0;
}
