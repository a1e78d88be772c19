// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench soak: VM after VM of 1024 vCPUs on this host's cores, each
 * running shootdown or hv-shootdown under random benign faults with the
 * oracle sampling, for a given time. Every run must finish with the guest
 * passing and no violation, within a watchdog that prints every vCPU's
 * state and exits 1 if one sticks; the process's resident memory after
 * each teardown (the allocator's free pages returned first) must stay flat. Under LeakSanitizer the
 * whole soak is also checked for leaks at exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "alloc.h"
#include "bench_guest.h"
#include "reqvisor/fault.h"

extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;
extern const unsigned char rv_hv_shootdown_guest[];
extern const size_t rv_hv_shootdown_guest_len;

/* ASan's quarantine keeps freed memory resident, so RSS says nothing there;
 * LeakSanitizer judges the soak at exit instead. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_JUDGED false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_JUDGED false
#endif
#endif
#ifndef RSS_JUDGED
#define RSS_JUDGED true
#endif

#define WARMUP_RUNS	 2	    /* allocator caches settle in these */
#define FLAT_BYTES	 (4u << 20) /* RSS growth after warm-up still called flat */
#define RUN_WATCHDOG_S	 300	    /* one run of 1024 vCPUs takes seconds */
#define SOAK_MAX_FAULTS	 3
#define SOAK_FAULT_CHARS 160

struct soak_opts {
	uint32_t seconds, vcpus, rounds;
	uint64_t seed;
	const char *json_path;
};

struct soak_totals {
	unsigned runs, failed, violations_runs;
	uint64_t violations, checks;
	double first_rss, last_rss, max_rss, warm_rss, run_seconds;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The process's peak resident memory (VmHWM), in bytes. */
static double peak_rss_bytes(void)
{
	char line[128];
	double kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

static double rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : 0;
}

/* One to three benign points at 0.001 or 0.01 (host page moves and zaps at
 * 0.001). alloc.fail is left out: it is armed for the whole process, and
 * test_alloc_fail covers it. */
static void pick_faults(uint64_t *s, char *out, size_t len)
{
	int ids[RV_NR_FAULTS], n = 0;
	size_t used = 0;

	for (int id = 0; id < RV_NR_FAULTS; id++)
		if (rv_fault_class((enum rv_fault_id)id) == RV_FAULT_BENIGN &&
		    id != RV_FAULT_ALLOC_FAIL)
			ids[n++] = id;
	out[0] = 0;
	for (unsigned k = 1 + next(s) % SOAK_MAX_FAULTS; k; k--) {
		const char *name = rv_fault_name((enum rv_fault_id)ids[next(s) % (unsigned)n]);

		if (strstr(out, name))
			continue;
		/* A host page move or zap flushes every vCPU, and comes per TLB
		 * miss: at 0.01 and 1024 vCPUs under shadow paging the misses it
		 * causes make more of it, and a run takes minutes. */
		bool per_miss = !strncmp(name, "hostmem.", 8);

		used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? "," : "", name,
					 next(s) % 2 && !per_miss ? "0.01" : "0.001");
	}
}

static int soak_run(const struct soak_opts *o, unsigned i, uint64_t *s, struct soak_totals *t)
{
	bool hv = i % 2, svm = next(s) % 2, shadow = next(s) % 2;
	char faults[SOAK_FAULT_CHARS];
	struct rv_machine_config mc = {
		.mem_size = 64ull << 20,
		.nr_vcpus = o->vcpus,
		.vendor_amd = svm,
		.shadow = shadow,
		.hyperv = hv,
		.oracle = RV_ORACLE_SAMPLE,
		.set_rounds = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = o->rounds },
	};
	struct rv_vm_config vc = {
		.nr_vcpus = o->vcpus,
		.nr_pcpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN),
		.executor = RV_EXEC_THREADS,
		.seed = next(s) % 1000000 + 1,
		.pin = true,
	};
	struct bench_guest_result g;
	double rss;

	pick_faults(s, faults, sizeof(faults));
	vc.faults = faults;
	mc.config.seed = vc.seed;
	mc.image = hv ? rv_hv_shootdown_guest : rv_default_guest;
	mc.image_len = hv ? rv_hv_shootdown_guest_len : rv_default_guest_len;
	/* The configuration first: if the watchdog ends the process, the
	 * run it names is this one. */
	printf("%5u  %-13s %-4s %-4s %8" PRIu64 "  %-52s", i + 1, hv ? "hv-shootdown" : "shootdown",
	       svm ? "svm" : "vmx", shadow ? "off" : "on", vc.seed, faults);
	fflush(stdout);
	if (bench_run_guest_watched("soak", mc, vc, NULL, NULL, RUN_WATCHDOG_S, &g))
		return -1;
	free(g.console);
	rv_host_memory_trim();
	rss = rss_bytes();
	t->runs++;
	t->run_seconds += g.seconds;
	t->checks += g.t.oracle_checks;
	t->violations += g.t.violations;
	t->violations_runs += g.t.violations != 0;
	t->failed += g.status != 0;
	if (i == 0)
		t->first_rss = rss;
	if (i + 1 == WARMUP_RUNS)
		t->warm_rss = rss;
	if (i + 1 >= WARMUP_RUNS && rss > t->max_rss)
		t->max_rss = rss;
	t->last_rss = rss;
	printf(" %6.1f  %6s %9" PRIu64 " %10" PRIu64 " %8.1f\n", g.seconds,
	       g.status ? "FAILED" : "pass", g.t.oracle_checks, g.t.violations, rss / (1 << 20));
	fflush(stdout);
	return 0;
}

static int soak_parse(int argc, char **argv, struct soak_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t x;

		if (!strcmp(a, "--json") && v) {
			o->json_path = argv[++i];
		} else if (!strcmp(a, "--seconds")) {
			if (!v || bench_parse_u32(v, 1, 86400, &o->seconds))
				return bench_bad_usage("soak", "--seconds takes 1 to 86400, not",
						       v ? v : "nothing");
			i++;
		} else if (!strcmp(a, "--vcpus")) {
			if (!v || bench_parse_u32(v, 2, 4096, &o->vcpus))
				return bench_bad_usage("soak", "--vcpus takes 2 to 4096, not",
						       v ? v : "nothing");
			i++;
		} else if (!strcmp(a, "--rounds")) {
			if (!v || bench_parse_u32(v, 1, 1000, &o->rounds))
				return bench_bad_usage("soak", "--rounds takes 1 to 1000, not",
						       v ? v : "nothing");
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (!v || bench_parse_u32(v, 0, UINT32_MAX, &x))
				return bench_bad_usage("soak", "--seed takes a number, not",
						       v ? v : "nothing");
			o->seed = x;
			i++;
		} else {
			return bench_bad_usage("soak", "unknown option", a);
		}
	}
	return 0;
}

static void soak_json(const struct soak_opts *o, const struct soak_totals *t, double seconds,
		      bool flat)
{
	FILE *f = fopen(o->json_path, "w");

	if (!f) {
		fprintf(stderr, "reqvisor-bench: soak: cannot write %s\n", o->json_path);
		return;
	}
	fprintf(f,
		"{\"vcpus\": %u, \"seconds\": %.1f, \"runs\": %u, \"failed\": %u, "
		"\"violations\": %" PRIu64 ", \"oracle_checks\": %" PRIu64 ", "
		"\"rss_first\": %.0f, \"rss_warm\": %.0f, \"rss_max_after_warm\": %.0f, "
		"\"rss_last\": %.0f, \"flat\": %s}\n",
		o->vcpus, seconds, t->runs, t->failed, t->violations, t->checks, t->first_rss,
		t->warm_rss, t->max_rss, t->last_rss, flat ? "true" : "false");
	fclose(f);
}

int bench_soak(int argc, char **argv)
{
	struct soak_opts o = { .seconds = 600, .vcpus = 1024, .rounds = 2, .seed = 1 };
	struct soak_totals t = { 0 };
	double start, elapsed;
	uint64_t s;
	bool flat, clean;
	int rc = soak_parse(argc, argv, &o);

	if (rc)
		return rc;
	s = 0x9e3779b97f4a7c15ull ^ o.seed;
	printf("soak: %u vCPUs per VM on %ld host CPUs, threads executor, oracle sampling, "
	       "%u s, seed %" PRIu64 "\n",
	       o.vcpus, sysconf(_SC_NPROCESSORS_ONLN), o.seconds, o.seed);
	printf("%5s  %-13s %-4s %-4s %8s  %-52s %6s  %6s %9s %10s %8s\n", "run", "guest", "cpu",
	       "tdp", "seed", "benign faults", "sec", "guest", "checks", "violations", "RSS MiB");
	start = bench_mono_s();
	for (unsigned i = 0; i == 0 || bench_mono_s() - start < o.seconds; i++)
		if (soak_run(&o, i, &s, &t))
			return 1;
	elapsed = bench_mono_s() - start;
	/* One run is all warm-up: flatness needs a second one to compare. */
	flat = !RSS_JUDGED || t.runs < WARMUP_RUNS + 1 || t.max_rss <= t.warm_rss + FLAT_BYTES;
	clean = !t.failed && !t.violations && flat;
	printf("soak: %u runs of %u vCPUs in %.0f s: %u failed, %" PRIu64 " violations in %" PRIu64
	       " oracle checks, no vCPU stuck past %u s\n",
	       t.runs, o.vcpus, elapsed, t.failed, t.violations, t.checks, RUN_WATCHDOG_S);
	printf("soak: host RSS after each teardown: first %.1f MiB, after warm-up (run %u) "
	       "%.1f MiB, highest since %.1f MiB, last %.1f MiB: %s (limit +%u MiB)\n",
	       t.first_rss / (1 << 20), WARMUP_RUNS, t.warm_rss / (1 << 20), t.max_rss / (1 << 20),
	       t.last_rss / (1 << 20),
	       !RSS_JUDGED		  ? "not judged under ASan (LeakSanitizer checks at exit)"
	       : t.runs < WARMUP_RUNS + 1 ? "too few runs to tell"
	       : flat			  ? "flat"
					  : "GROWING",
	       FLAT_BYTES >> 20);
	printf("soak: peak RSS during the runs %.1f MiB (guest RAM 64 MiB per VM included)\n",
	       peak_rss_bytes() / (1 << 20));
	printf("soak: %s\n", clean ? "clean" : "NOT CLEAN");
	if (o.json_path)
		soak_json(&o, &t, elapsed, flat);
	return clean ? 0 : 1;
}
