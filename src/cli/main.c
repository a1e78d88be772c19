// SPDX-License-Identifier: MIT
/*
 * The reqvisor command. Exit status: 0 the guest finished (or passed), 1 the
 * guest failed (for the synthetic guest: every vCPU halted with no wake to
 * come), 2 bad usage, configuration or input.
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
#include "summary.h"

#define EXIT_GUEST_FAILED 1
#define EXIT_USAGE	  2

struct run_opts {
	struct rv_vm_config cfg;
	const char *script;
	const char *stats_path;
	uint32_t rounds;
	bool quiet;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor run [--synthetic] [options]\n"
		"\n"
		"Runs a guest on software vCPUs. Until the software CPU lands, the guest is\n"
		"the synthetic one: a script per vCPU that posts flush requests to its peers.\n"
		"\n"
		"  --synthetic           run the synthetic guest (the default)\n"
		"  --vcpus N             vCPUs (1-4096, default 16)\n"
		"  --pcpus N             pCPUs (1-1024, default: host CPUs)\n"
		"  --topology NxM        declare N NUMA nodes of M pCPUs each\n"
		"  --executor E          threads (default) or deterministic\n"
		"  --seed S              seed for the deterministic executor, faults, scripts\n"
		"  --fault SPEC          e.g. kick.drop=0.01,request.spurious@5 (docs/faults.md)\n"
		"  --script TEXT         synthetic script (include/reqvisor/synthetic.h)\n"
		"  --rounds N            times each vCPU runs its script (default 1000)\n"
		"  --slice N             guest steps per time slice (default %d)\n"
		"  --no-pin              do not pin pCPU workers to host CPUs\n"
		"  --stats FILE.json     write statistics as JSON\n"
		"  --quiet               print no summary\n"
		"\n"
		"Exit status: 0 finished, 1 guest failed or hung, 2 bad usage or input.\n",
		RV_DEFAULT_SLICE);
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "reqvisor: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 0);

	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_u32_opt(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, max, &v) || v < min)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_topology(const char *s, struct rv_vm_config *cfg)
{
	uint32_t nodes, per;
	char extra;

	if (sscanf(s, "%ux%u%c", &nodes, &per, &extra) != 2 || nodes < 1 || per < 1 || nodes > 64 ||
	    per > 1024 || nodes * per > 1024)
		return -1;
	cfg->nr_nodes = nodes;
	cfg->nr_pcpus = nodes * per;
	return 0;
}

enum { OPT_SYNTHETIC = 256, OPT_NO_PIN, OPT_QUIET };

static const struct option long_opts[] = {
	{ "synthetic", no_argument, NULL, OPT_SYNTHETIC },
	{ "vcpus", required_argument, NULL, 'v' },
	{ "pcpus", required_argument, NULL, 'p' },
	{ "topology", required_argument, NULL, 't' },
	{ "executor", required_argument, NULL, 'e' },
	{ "seed", required_argument, NULL, 's' },
	{ "fault", required_argument, NULL, 'f' },
	{ "script", required_argument, NULL, 'S' },
	{ "rounds", required_argument, NULL, 'r' },
	{ "slice", required_argument, NULL, 'l' },
	{ "stats", required_argument, NULL, 'j' },
	{ "no-pin", no_argument, NULL, OPT_NO_PIN },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int parse_one(int c, const char *arg, struct run_opts *o)
{
	struct rv_vm_config *cfg = &o->cfg;

	switch (c) {
	case OPT_SYNTHETIC:
		return 0;
	case 'v':
		return parse_u32_opt(arg, 1, RV_MAX_VCPUS, &cfg->nr_vcpus)
			       ? bad("--vcpus takes 1 to 4096, not '%s'", arg)
			       : 0;
	case 'p':
		return parse_u32_opt(arg, 1, 1024, &cfg->nr_pcpus)
			       ? bad("--pcpus takes 1 to 1024, not '%s'", arg)
			       : 0;
	case 't':
		return parse_topology(arg, cfg)
			       ? bad("--topology takes NODESxPCPUS (at most 1024 pCPUs), not '%s'",
				     arg)
			       : 0;
	case 'e':
		if (!strcmp(arg, "threads"))
			cfg->executor = RV_EXEC_THREADS;
		else if (!strcmp(arg, "deterministic"))
			cfg->executor = RV_EXEC_DETERMINISTIC;
		else
			return bad("--executor takes threads or deterministic, not '%s'", arg);
		return 0;
	case 's':
		return parse_u64(arg, UINT64_MAX, &cfg->seed)
			       ? bad("--seed takes a number, not '%s'", arg)
			       : 0;
	case 'f':
		cfg->faults = arg;
		return 0;
	case 'S':
		o->script = arg;
		return 0;
	case 'r':
		return parse_u32_opt(arg, 1, 100000000, &o->rounds)
			       ? bad("--rounds takes 1 to 100000000, not '%s'", arg)
			       : 0;
	case 'l':
		return parse_u32_opt(arg, 1, 1u << 30, &cfg->slice)
			       ? bad("--slice takes a positive number of steps, not '%s'", arg)
			       : 0;
	case 'j':
		o->stats_path = arg;
		return 0;
	case OPT_NO_PIN:
		cfg->pin = false;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	o->cfg.nr_vcpus = 16;
	o->cfg.nr_pcpus = ncpu > 0 ? (uint32_t)(ncpu > 1024 ? 1024 : ncpu) : 1;
	o->cfg.seed = 1;
	o->cfg.pin = true;
	o->cfg.trace = true;
	o->cfg.backend = &rv_synthetic_backend;
	o->rounds = 1000;
	o->script = rv_synthetic_default_script;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == '?')
			return bad("unknown or incomplete option '%s' (see reqvisor run --help)",
				   argv[optind - 1]);
		int rc = parse_one(c, optarg, o);

		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad("guest images are not supported yet: '%s' (the software CPU lands in "
			   "a later release; use --synthetic)",
			   argv[optind]);
	return 0;
}

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

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	char err[256] = "";
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	struct rv_synthetic *syn =
		rv_synthetic_create(o.script, o.rounds, o.cfg.seed, err, sizeof(err));

	if (!syn)
		return bad("%s", err);
	o.cfg.backend_ctx = syn;
	struct rv_vm *vm;

	if (rv_vm_create(&o.cfg, &vm, err, sizeof(err))) {
		rv_synthetic_destroy(syn);
		return bad("%s", err);
	}
	struct run_summary sum;

	summary_start(&sum, vm);
	int result = rv_vm_run(vm);

	summary_stop(&sum, vm, result);
	if (!o.quiet)
		summary_print(&sum, vm, stdout);
	rc = result == 0 ? 0 : EXIT_GUEST_FAILED;
	if (result == -1)
		fprintf(stderr, "reqvisor: the guest hung: every live vCPU is halted and no "
				"wake can come\n");
	if (o.stats_path && write_stats(vm, o.stats_path))
		rc = EXIT_USAGE;
	rv_vm_destroy(vm);
	rv_synthetic_destroy(syn);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	fprintf(stderr, "reqvisor: unknown command '%s' (try: reqvisor run --synthetic)\n",
		argv[1]);
	return EXIT_USAGE;
}
