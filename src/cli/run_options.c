// SPDX-License-Identifier: MIT
/*
 * `reqvisor run`'s command line: its usage text and its options, each
 * checked against its documented range before anything runs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reqvisor/synthetic.h"
#include "reqvisor/vm.h"
#include "cli.h"
#include "machine/machine.h"

#define bad(...) cli_bad("reqvisor", __VA_ARGS__)

void run_usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor run [GUEST.elf | --synthetic] [options]\n"
		"       reqvisor campaign ... (fault-injection campaigns: reqvisor campaign "
		"--help)\n"
		"\n"
		"Runs a guest on software vCPUs: a static x86-64 ELF executable written\n"
		"to docs/guest-abi.md on the software CPU (without GUEST, the built-in\n"
		"shootdown guest: vCPUs remap shared pages, flush with INVLPG and IPIs,\n"
		"and check they never see stale contents), or with --synthetic the\n"
		"synthetic guest, a script per vCPU that posts flush requests to its peers.\n"
		"\n"
		"  --synthetic           run the synthetic guest (--script implies it)\n"
		"  --mem SIZE            guest RAM, e.g. 256M or 1G (default 256M; at least\n"
		"                        16M, a multiple of 2M)\n"
		"  --vendor V            vmx (GenuineIntel, VMCALL) or svm (AuthenticAMD,\n"
		"                        VMMCALL); default vmx (docs/vendors.md)\n"
		"  --tdp on|off          EPT/NPT second stage (default on), or shadow paging\n"
		"  --vpids N             VMX: VPIDs, 0 included (default 65536; past them\n"
		"                        vCPUs run with VPID 0)\n"
		"  --asids N             SVM: ASIDs per pCPU, 0 included (default 32768)\n"
		"  --svm-flush F         SVM: tlb-control (TLB_CONTROL 3, default) or\n"
		"                        new-asid (a CPU without flush-by-ASID)\n"
		"  --numa-migrate        move guest pages to the node of the vCPU that misses\n"
		"                        on them (each move: unmap, remote flush, copy)\n"
		"  --hyperv              Hyper-V enlightenments: CPUID 0x40000000-5, the guest\n"
		"                        OS ID, hypercall and VP index MSRs, and the TLB flush\n"
		"                        hypercalls (docs/hyperv.md)\n"
		"  --nested              nested virtualization: VMX or SVM for the guest, as\n"
		"                        --vendor says (docs/nested.md)\n"
		"  --nsvm-flush F        nested SVM's transition flushes: unconditional (Linux\n"
		"                        6.16, the default) or conditional (docs/nested.md)\n"
		"  --coalesce R          coalescing rules: improved (KVM's and reqvisor's C8,\n"
		"                        C9; the default) or kvm (KVM's alone): docs/requests.md\n"
		"  --console-prefix      prefix each console line with its vCPU index\n"
		"  --pages N             the guest's configuration block: pages (default 64)\n"
		"  --tlb SETSxWAYS       each pCPU's TLB (default 256x8)\n"
		"  --oracle MODE         off, sample (every 64th TLB hit checked, the default)\n"
		"                        or full (every hit): docs/oracle.md\n"
		"  --vcpus N             vCPUs (1-4096, default 16)\n"
		"  --pcpus N             pCPUs (1-1024, default: host CPUs)\n"
		"  --topology NxM        declare N NUMA nodes of M pCPUs each\n"
		"  --executor E          threads (default) or deterministic\n"
		"  --seed S              seed for the deterministic executor, faults, scripts\n"
		"  --fault SPEC          e.g. kick.drop=0.01,request.spurious@5 (docs/faults.md)\n"
		"  --script TEXT         synthetic script (include/reqvisor/synthetic.h)\n"
		"  --rounds N            rounds: of each vCPU's script (synthetic, default\n"
		"                        1000), or in the guest's configuration block\n"
		"  --slice N             guest steps per time slice (default %d)\n"
		"  --no-pin              do not pin pCPU workers to host CPUs\n"
		"  --stats FILE.json     write statistics as JSON\n"
		"  --quiet               print no summary\n"
		"  --watchdog S          a run not over after S seconds prints the\n"
		"                        oracle's violations so far and every vCPU's\n"
		"                        state, and ends with status 1\n"
		"\n"
		"Exit status: 0 the guest passed, 1 it failed, triple-faulted or hung,\n"
		"2 bad usage or input, 3 the oracle found a violation.\n",
		RV_DEFAULT_SLICE);
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

/* A size with an optional K, M or G suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || v == 0 || v > (1ull << 40) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static bool power_of_two(unsigned v)
{
	return v && !(v & (v - 1));
}

/* The per-pCPU TLB's geometry (src/core/mmu/tlb.h limits). */
static int parse_tlb(const char *s, struct run_opts *o)
{
	unsigned sets, ways;
	char extra;

	if (sscanf(s, "%ux%u%c", &sets, &ways, &extra) != 2 || !power_of_two(sets) ||
	    !power_of_two(ways) || sets > (1u << 20) || ways > 64 ||
	    (uint64_t)sets * ways > (1u << 22))
		return -1;
	o->tlb_sets = sets;
	o->tlb_ways = ways;
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

enum {
	OPT_SYNTHETIC = 256,
	OPT_NO_PIN,
	OPT_QUIET,
	OPT_MEM,
	OPT_VENDOR,
	OPT_PREFIX,
	OPT_PAGES,
	OPT_ORACLE,
	OPT_TLB,
	OPT_TDP,
	OPT_VPIDS,
	OPT_ASIDS,
	OPT_SVM_FLUSH,
	OPT_NUMA_MIGRATE,
	OPT_HYPERV,
	OPT_NESTED,
	OPT_NSVM_FLUSH,
	OPT_COALESCE,
	OPT_WATCHDOG
};

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
	{ "watchdog", required_argument, NULL, OPT_WATCHDOG },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "vendor", required_argument, NULL, OPT_VENDOR },
	{ "console-prefix", no_argument, NULL, OPT_PREFIX },
	{ "pages", required_argument, NULL, OPT_PAGES },
	{ "oracle", required_argument, NULL, OPT_ORACLE },
	{ "tlb", required_argument, NULL, OPT_TLB },
	{ "tdp", required_argument, NULL, OPT_TDP },
	{ "vpids", required_argument, NULL, OPT_VPIDS },
	{ "asids", required_argument, NULL, OPT_ASIDS },
	{ "svm-flush", required_argument, NULL, OPT_SVM_FLUSH },
	{ "numa-migrate", no_argument, NULL, OPT_NUMA_MIGRATE },
	{ "hyperv", no_argument, NULL, OPT_HYPERV },
	{ "nested", no_argument, NULL, OPT_NESTED },
	{ "nsvm-flush", required_argument, NULL, OPT_NSVM_FLUSH },
	{ "coalesce", required_argument, NULL, OPT_COALESCE },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int parse_one(int c, const char *arg, struct run_opts *o)
{
	struct rv_vm_config *cfg = &o->cfg;

	switch (c) {
	case OPT_SYNTHETIC:
		o->synthetic = true;
		return 0;
	case OPT_MEM:
		return parse_size(arg, &o->mem_size)
			       ? bad("--mem takes a size like 256M or 1G, not '%s'", arg)
			       : 0;
	case OPT_VENDOR:
		if (strcmp(arg, "vmx") && strcmp(arg, "svm"))
			return bad("--vendor takes vmx or svm, not '%s'", arg);
		o->vendor_amd = !strcmp(arg, "svm");
		return 0;
	case OPT_PREFIX:
		o->console_prefix = true;
		return 0;
	case OPT_HYPERV:
		o->hyperv = true;
		return 0;
	case OPT_NESTED:
		o->nested = true;
		return 0;
	case OPT_NSVM_FLUSH:
		if (strcmp(arg, "unconditional") && strcmp(arg, "conditional"))
			return bad("--nsvm-flush takes unconditional or conditional, not '%s'",
				   arg);
		o->nsvm_conditional = !strcmp(arg, "conditional");
		return 0;
	case OPT_COALESCE:
		if (strcmp(arg, "improved") && strcmp(arg, "kvm"))
			return bad("--coalesce takes improved or kvm, not '%s'", arg);
		cfg->coalesce = strcmp(arg, "kvm") ? RV_COALESCE_IMPROVED : RV_COALESCE_KVM;
		return 0;
	case OPT_NUMA_MIGRATE:
		o->numa_migrate = true;
		return 0;
	case OPT_TDP:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return bad("--tdp takes on or off, not '%s'", arg);
		o->shadow = !strcmp(arg, "off");
		return 0;
	case OPT_VPIDS:
		return parse_u32_opt(arg, 1, 65536, &o->vpids)
			       ? bad("--vpids takes 1 to 65536, not '%s'", arg)
			       : 0;
	case OPT_ASIDS:
		return parse_u32_opt(arg, 2, 65536, &o->asids)
			       ? bad("--asids takes 2 to 65536, not '%s'", arg)
			       : 0;
	case OPT_SVM_FLUSH:
		if (strcmp(arg, "tlb-control") && strcmp(arg, "new-asid"))
			return bad("--svm-flush takes tlb-control or new-asid, not '%s'", arg);
		o->svm_new_asid = !strcmp(arg, "new-asid");
		return 0;
	case OPT_TLB:
		return parse_tlb(arg, o)
			       ? bad("--tlb takes SETSxWAYS, powers of two with at most "
				     "1048576 sets, 64 ways and 4194304 entries, not '%s'",
				     arg)
			       : 0;
	case OPT_ORACLE:
		if (!strcmp(arg, "off"))
			o->oracle = RV_ORACLE_OFF;
		else if (!strcmp(arg, "sample"))
			o->oracle = RV_ORACLE_SAMPLE;
		else if (!strcmp(arg, "full"))
			o->oracle = RV_ORACLE_FULL;
		else
			return bad("--oracle takes off, sample or full, not '%s'", arg);
		return 0;
	case OPT_PAGES:
		o->pages_set = true;
		return parse_u64(arg, 1u << 20, &o->pages) || !o->pages
			       ? bad("--pages takes 1 to 1048576, not '%s'", arg)
			       : 0;
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
		o->seed_set = true;
		return parse_u64(arg, UINT64_MAX, &cfg->seed)
			       ? bad("--seed takes a number, not '%s'", arg)
			       : 0;
	case 'f':
		cfg->faults = arg;
		return 0;
	case 'S':
		o->synthetic = true;
		o->script = arg;
		return 0;
	case 'r':
		o->rounds_set = true;
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
	case OPT_WATCHDOG:
		return parse_u32_opt(arg, 1, 86400, &o->watchdog)
			       ? bad("--watchdog takes 1 to 86400 seconds, not '%s'", arg)
			       : 0;
	case 'h':
		return RUN_HELP;
	default:
		run_usage(stderr);
		return EXIT_USAGE;
	}
}

int run_options_parse(int argc, char **argv, struct run_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	o->cfg.nr_vcpus = 16;
	o->cfg.nr_pcpus = ncpu > 0 ? (uint32_t)(ncpu > 1024 ? 1024 : ncpu) : 1;
	o->cfg.seed = 1;
	o->cfg.pin = true;
	o->cfg.trace = true;
	o->cfg.backend = &rv_synthetic_backend;
	o->rounds = 1000;
	o->mem_size = 256ull << 20;
	o->pages = 64;
	o->oracle = RV_ORACLE_SAMPLE;
	o->script = rv_synthetic_default_script;
	int c;

	opterr = 0;
	optind = 0; /* 0, not 1: glibc then forgets a half-read option cluster */
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == '?')
			return bad("unknown or incomplete option '%s' (see reqvisor run --help)",
				   argv[optind - 1]);
		int rc = parse_one(c, optarg, o);

		if (rc)
			return rc;
	}
	if (optind < argc)
		o->guest_path = argv[optind++];
	if (optind < argc)
		return bad("one guest image at a time, not also '%s'", argv[optind]);
	if (o->guest_path && o->synthetic)
		return bad("--synthetic runs no guest image ('%s')", o->guest_path);
	return 0;
}
