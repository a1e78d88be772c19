// SPDX-License-Identifier: MIT
/* The benchmark's clock, statistics, pinning and VM construction. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct bench_clock bench_clock;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin (not sleep) so the core stays at its working frequency. */
static double calibrate_ghz(uint64_t span_ns)
{
	uint64_t n0 = mono_ns();
	uint64_t t0 = __rdtsc();
	uint64_t n1;

	while ((n1 = mono_ns()) - n0 < span_ns)
		;
	uint64_t t1 = __rdtsc();

	return (double)(t1 - t0) / (double)(n1 - n0);
}

static double empty_bracket_ns(unsigned n)
{
	double *v = malloc(n * sizeof(*v));
	struct bench_stats s;

	if (!v)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_tsc_begin();
		uint64_t t1 = bench_tsc_end();

		v[i] = (double)(t1 - t0) / bench_clock.ghz;
	}
	bench_stats(v, n, &s);
	free(v);
	return s.median;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

#define TICK_READS 100000
#define TICK_HIST  1024

/*
 * The step the TSC moves in, which on some hosts is many ticks (so every
 * single-event sample is a multiple of it): the gcd of the differences
 * between back-to-back reads that are common (1% of reads or more), so that
 * the rare odd step of a resynchronising TSC does not count.
 */
static double tsc_tick_ns(void)
{
	static unsigned hist[TICK_HIST];
	uint64_t prev = __rdtsc(), step = 0;

	memset(hist, 0, sizeof(hist));
	for (unsigned i = 0; i < TICK_READS; i++) {
		uint64_t t = __rdtsc();

		if (t - prev < TICK_HIST)
			hist[t - prev]++;
		prev = t;
	}
	for (unsigned d = 1; d < TICK_HIST; d++)
		if (hist[d] >= TICK_READS / 100)
			step = gcd(step, d);
	return (double)(step ? step : 1) / bench_clock.ghz;
}

int bench_clock_init(bool quick)
{
	uint64_t span = quick ? 20000000 : 200000000;

	/* Twice: the first pass also warms the core up. */
	calibrate_ghz(span / 4);
	bench_clock.ghz = calibrate_ghz(span);
	if (!(bench_clock.ghz > 0.1 && bench_clock.ghz < 20)) {
		fprintf(stderr, "reqvisor-bench: implausible TSC rate %.3f GHz\n", bench_clock.ghz);
		return -1;
	}
	bench_clock.overhead_ns = empty_bracket_ns(quick ? 2000 : 20000);
	bench_clock.tick_ns = tsc_tick_ns();
	return 0;
}

double bench_ticks_ns(uint64_t ticks)
{
	return (double)ticks / bench_clock.ghz;
}

uint64_t bench_ns_ticks(double ns)
{
	return (uint64_t)(ns * bench_clock.ghz);
}

/* One event between a begin/end bracket, minus the bracket's own cost. */
double bench_sample_ns(uint64_t t0, uint64_t t1)
{
	double ns = bench_ticks_ns(t1 - t0) - bench_clock.overhead_ns;

	return ns > 0 ? ns : 0;
}

int bench_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least @pct percent of them at
 * or below it. */
static double percentile(const double *sorted, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return sorted[rank ? rank - 1 : 0];
}

void bench_stats(double *v, size_t n, struct bench_stats *s)
{
	double sum = 0;

	memset(s, 0, sizeof(*s));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->n = n;
	s->mean = sum / (double)n;
	s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s->p99 = percentile(v, n, 99);
	s->min = v[0];
	s->max = v[n - 1];
}

int bench_vm_create(struct bench_vm *b, const struct rv_vm_config *cfg, const char *script,
		    uint32_t rounds, const char *others)
{
	struct rv_vm_config c = *cfg;
	char err[256] = "";

	memset(b, 0, sizeof(*b));
	b->syn = rv_synthetic_create(script, rounds, c.seed, err, sizeof(err));
	if (!b->syn)
		goto fail;
	for (uint32_t i = 1; others && i < c.nr_vcpus; i++)
		if (rv_synthetic_set_script(b->syn, i, others, err, sizeof(err)))
			goto fail;
	c.backend = &rv_synthetic_backend;
	c.backend_ctx = b->syn;
	if (rv_vm_create(&c, &b->vm, err, sizeof(err)))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "reqvisor-bench: cannot build a %u-vCPU VM: %s\n", c.nr_vcpus,
		err[0] ? err : "out of memory");
	rv_synthetic_destroy(b->syn);
	b->syn = NULL;
	return -1;
}

void bench_vm_destroy(struct bench_vm *b)
{
	rv_vm_destroy(b->vm);
	rv_synthetic_destroy(b->syn);
	b->vm = NULL;
	b->syn = NULL;
}

int bench_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || n < lo || n > hi)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

int bench_bad_usage(const char *cmd, const char *msg, const char *arg)
{
	fprintf(stderr, "reqvisor-bench: %s: %s%s%s (see reqvisor-bench %s --help)\n", cmd, msg,
		arg ? " " : "", arg ? arg : "", cmd);
	return 2;
}

bool bench_asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}
