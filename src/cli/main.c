// SPDX-License-Identifier: MIT
/*
 * The reqvisor command. Exit status: 0 the guest passed (exited with status 0,
 * or the synthetic guest finished), 1 the guest failed (a nonzero exit status,
 * a triple fault, or every vCPU halted with no wake to come), 2 bad usage,
 * configuration or input, 3 an oracle violation, 4 out of host memory while
 * setting up the VM (docs/faults.md, alloc.fail).
 */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reqvisor/fault.h"
#include "reqvisor/request.h"
#include "reqvisor/synthetic.h"
#include "reqvisor/vm.h"
#include "campaign.h"
#include "cli.h"
#include "progress.h"
#include "machine/machine.h"
#include "summary.h"
#include "watchdog.h"

#define bad(...) cli_bad("reqvisor", __VA_ARGS__)

static int write_stats(struct rv_vm *vm, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "reqvisor: cannot write stats to '%s'\n", path);
		return -1;
	}
	rv_vm_stats_json(vm, f);
	return fclose(f) ? -1 : 0;
}

/* Run the VM, print the summary, write the stats: what every guest shares.
 * @machine (NULL for the synthetic guest) has the oracle, for the watchdog. */
static int run_vm(struct run_opts *o, struct rv_vm *vm, const struct rv_machine *machine,
		  int (*verdict)(void *, struct rv_vm *, int), void *ctx)
{
	struct run_summary sum;
	struct progress prog;
	struct watchdog dog;
	int result, rc;

	summary_start(&sum, vm);
	progress_start(&prog, vm, !o->quiet);
	watchdog_start_oracle(&dog, vm, machine, o->watchdog);
	result = rv_vm_run(vm);
	watchdog_stop(&dog);
	progress_stop(&prog);
	summary_stop(&sum, vm, result);
	rc = verdict(ctx, vm, result);
	if (!o->quiet)
		summary_print(&sum, vm, stdout);
	if (o->stats_path && write_stats(vm, o->stats_path))
		rc = EXIT_USAGE;
	return rc;
}

/* A set-up step failed: exit status 4 when the host ran out of memory
 * (really, or by alloc.fail), 2 otherwise. */
static int setup_failed(const char *err)
{
	if (!rv_alloc_failures())
		return bad("%s", err);
	fprintf(stderr, "reqvisor: out of host memory: %s\n", err);
	return EXIT_NO_MEMORY;
}

static int synthetic_verdict(void *ctx, struct rv_vm *vm, int result)
{
	(void)ctx, (void)vm;
	if (result == -1)
		fprintf(stderr, "reqvisor: the guest hung: every live vCPU is halted and no "
				"wake can come\n");
	return result == 0 ? 0 : EXIT_GUEST_FAILED;
}

static int run_synthetic(struct run_opts *o)
{
	char err[256] = "";
	struct rv_synthetic *syn =
		rv_synthetic_create(o->script, o->rounds, o->cfg.seed, err, sizeof(err));
	struct rv_vm *vm;

	if (!syn)
		return setup_failed(err);
	o->cfg.backend_ctx = syn;
	if (rv_vm_create(&o->cfg, &vm, err, sizeof(err))) {
		rv_synthetic_destroy(syn);
		return setup_failed(err);
	}
	int rc = run_vm(o, vm, NULL, synthetic_verdict, NULL);

	rv_vm_destroy(vm);
	rv_synthetic_destroy(syn);
	return rc;
}

static int run_guest(struct run_opts *o)
{
	char err[256] = "";
	struct guest_run g;
	struct rv_vm *vm;

	if (guest_prepare(o, &g, err, sizeof(err)))
		return setup_failed(err);
	if (rv_vm_create(&o->cfg, &vm, err, sizeof(err))) {
		guest_release(&g);
		return setup_failed(err);
	}
	int rc = run_vm(o, vm, g.machine, guest_verdict, &g);

	if (!o->quiet)
		guest_summary(&g, vm);
	rv_vm_destroy(vm);
	guest_release(&g);
	return rc;
}

/*
 * alloc.fail counts every allocation of the run, the machine's included, so
 * it is armed before anything is allocated; the VM keeps its own copy of
 * the other points.
 */
static struct rv_faults alloc_faults;

static int arm_alloc_faults(const struct run_opts *o)
{
	char err[200];

	if (!o->cfg.faults)
		return 0;
	if (rv_faults_parse(&alloc_faults, o->cfg.faults, o->cfg.seed, err, sizeof(err)))
		return bad("%s", err);
	if (alloc_faults.armed & (1ull << RV_FAULT_ALLOC_FAIL))
		rv_alloc_faults_arm(&alloc_faults);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int rc = run_options_parse(argc, argv, &o);

	if (rc == RUN_HELP) {
		run_usage(stdout);
		return 0;
	}
	if (rc)
		return rc;
	rc = arm_alloc_faults(&o);
	if (rc)
		return rc;
	/* The synthetic guest on request; otherwise an ELF guest, the
	 * embedded shootdown when none is named. */
	rc = o.synthetic ? run_synthetic(&o) : run_guest(&o);
	rv_alloc_faults_arm(NULL);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		run_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		run_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "campaign"))
		return cmd_campaign(argc - 1, argv + 1);
	fprintf(stderr,
		"reqvisor: unknown command '%s' (try: reqvisor run --synthetic, or reqvisor "
		"campaign --help)\n",
		argv[1]);
	return EXIT_USAGE;
}
