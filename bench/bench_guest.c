// SPDX-License-Identifier: MIT
/* One guest run for a benchmark: machine, VM, run, figures, teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_guest.h"
#include "vm_impl.h"
#include "watchdog.h"

double bench_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bench_run_guest(const char *what, struct rv_machine_config mc, struct rv_vm_config vc,
		    void (*with)(struct rv_vm *vm, void *ctx), void *ctx,
		    struct bench_guest_result *out)
{
	return bench_run_guest_watched(what, mc, vc, with, ctx, 0, out);
}

int bench_run_guest_watched(const char *what, struct rv_machine_config mc, struct rv_vm_config vc,
			    void (*with)(struct rv_vm *vm, void *ctx), void *ctx, unsigned watchdog,
			    struct bench_guest_result *out)
{
	struct watchdog dog;
	size_t len = 0;
	FILE *console = open_memstream(&out->console, &len);
	char err[256];
	struct rv_machine *m;
	struct rv_vm *vm;
	uint32_t status;
	double t0;
	int rc;

	if (!console) {
		fprintf(stderr, "reqvisor-bench: %s: out of memory\n", what);
		return -1;
	}
	mc.console = console;
	m = rv_machine_create(&mc, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "reqvisor-bench: %s: %s\n", what, err);
		fclose(console);
		free(out->console);
		return -1;
	}
	vc.backend = &rv_machine_backend;
	vc.backend_ctx = m;
	vc.vendor = rv_machine_vendor(m);
	vc.shadow_paging = mc.shadow;
	if (rv_vm_create(&vc, &vm, err, sizeof(err))) {
		fprintf(stderr, "reqvisor-bench: %s: %s\n", what, err);
		rv_machine_destroy(m);
		fclose(console);
		free(out->console);
		return -1;
	}
	t0 = bench_mono_s();
	watchdog_start(&dog, vm, watchdog);
	rc = rv_vm_run(vm);
	watchdog_stop(&dog);
	out->seconds = bench_mono_s() - t0;
	out->det_steps = vc.executor == RV_EXEC_DETERMINISTIC ? vm->det_step : 0;
	rv_machine_flush_console(vm);
	out->status = rc == 0 && rv_machine_exited(m, &status) ? (int)status : -1;
	rv_machine_totals(m, vm, &out->t);
	if (with)
		with(vm, ctx);
	rv_vm_destroy(vm);
	rv_machine_destroy(m);
	fclose(console);
	return 0;
}

int bench_guest_opt(int argc, char **argv, int *i, struct bench_guest_opts *o)
{
	const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (!strcmp(a, "--quick")) {
		o->quick = true;
		return 1;
	}
	if (!strcmp(a, "--json")) {
		if (!next || !next[0])
			return bench_bad_usage(o->cmd, "--json needs a file name", NULL);
		o->json_path = argv[++*i];
		return 1;
	}
	if (strcmp(a, "--rounds"))
		return 0;
	if (!next || bench_parse_u32(next, 1, 100000, &o->rounds))
		return bench_bad_usage(o->cmd, "--rounds needs a number from 1 to 100000, not",
				       next ? next : "nothing");
	o->rounds_set = true;
	++*i;
	return 1;
}
