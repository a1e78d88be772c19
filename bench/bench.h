/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks' files share: the options, the cycle clock, sample
 * statistics, and for `sched` a helper to build synthetic VMs and the results
 * of its four tables, which are measured first and printed (and written as
 * JSON) last so that no I/O runs between samples. `cpu` has bench_cpu.h.
 */
#ifndef RV_BENCH_H
#define RV_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <x86intrin.h>

#include "reqvisor/synthetic.h"
#include "reqvisor/vm.h"

#define BENCH_NOINLINE __attribute__((noinline))

/* The host CPUs of the cross-core measurements (table 4 and the WAIT row). */
#define BENCH_GUEST_CPU 0
#define BENCH_HOST_CPU	1

struct bench_opts {
	const char *json_path;
	bool quick;
};

int bench_sched(const struct bench_opts *o);
/* 0 measured, 1 the CPUs computed different results, -1 could not run. */
int bench_cpu(const struct bench_opts *o);
/* reqvisor-bench soak ARGS: 0 clean, 1 not clean or could not run, 2 bad usage. */
int bench_soak(int argc, char **argv);

/*
 * The TSC, bracketed with lfence so that the read neither runs ahead of the
 * timed code nor lets it start early. bench_clock_init() converts ticks to
 * ns against CLOCK_MONOTONIC and measures the cost of an empty bracket, which
 * bench_sample_ns() subtracts from a single-event sample.
 */
static inline uint64_t bench_tsc_begin(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();

	_mm_lfence();
	return t;
}

static inline uint64_t bench_tsc_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}

struct bench_clock {
	double ghz;	    /* TSC ticks per ns */
	double overhead_ns; /* an empty begin/end bracket */
	double tick_ns;	    /* the TSC's granularity: it may step by more than 1 */
};

extern struct bench_clock bench_clock;

int bench_clock_init(bool quick);
double bench_ticks_ns(uint64_t ticks);
double bench_sample_ns(uint64_t t0, uint64_t t1);
uint64_t bench_ns_ticks(double ns);
int bench_pin_self(int cpu);
/* Whether any argument after argv[0] is --help or -h. */
bool bench_asks_help(int argc, char **argv);
/* A decimal number from @lo to @hi: 0, or -1. */
int bench_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v);
/* "reqvisor-bench CMD: MSG ARG (see ...)" on stderr; returns 2 (bad usage). */
int bench_bad_usage(const char *cmd, const char *msg, const char *arg);

struct bench_stats {
	size_t n;
	double median;
	double mean;
	double p99;
	double min;
	double max;
};

/* Sorts @v in place. */
void bench_stats(double *v, size_t n, struct bench_stats *s);

/* A synthetic VM that the benchmark builds and either runs or only inspects. */
struct bench_vm {
	struct rv_vm *vm;
	struct rv_synthetic *syn;
};

/* vCPU 0 runs @script, @rounds times; the others run @others (NULL: the
 * same). Returns 0, or -1 with a message on stderr. */
int bench_vm_create(struct bench_vm *b, const struct rv_vm_config *cfg, const char *script,
		    uint32_t rounds, const char *others);
void bench_vm_destroy(struct bench_vm *b);

/* One figure and its physical reference, both in ns per operation. */
struct bench_pair {
	double ns;
	double ref_ns;
	double ratio;
};

/* Tables 1 and 2 (bench_post.c). */
struct bench_post_result {
	struct bench_pair fresh;     /* post + clear vs fetch_or + fetch_and */
	struct bench_pair coalesced; /* post onto a set bit vs fetch_or */
	struct bench_pair idle;	     /* pending check vs relaxed load + branch */
	unsigned rounds;
	uint64_t post_iters;
	uint64_t idle_iters;
};

int bench_post_run(bool quick, struct bench_post_result *r);

/* Table 3 (bench_bcast.c and, for the WAIT row, bench_live.c). */
#define BENCH_BCAST_SIZES 5
#define BENCH_BCAST_ROWS  (BENCH_BCAST_SIZES * 3)

struct bench_bcast_row {
	uint32_t vcpus;
	uint32_t in_guest;
	uint32_t batch; /* broadcasts (to as many VMs) per sample */
	size_t samples;
	struct bench_stats ns;
	unsigned kicks_min;
	unsigned kicks_max;
	double kicks_mean;
	bool avoided_exact; /* every broadcast avoided exactly vcpus - in_guest */
};

struct bench_wait_row {
	uint32_t vcpus;
	uint32_t in_guest;
	size_t samples;
	struct bench_stats ns;
	double kicks_mean;
	double waits_mean; /* broadcasts that had to wait, per broadcast */
};

struct bench_bcast_result {
	unsigned nr_rows;
	struct bench_bcast_row row[BENCH_BCAST_ROWS];
	struct bench_wait_row wait;
};

int bench_bcast_run(bool quick, struct bench_bcast_result *r);
/*
 * Table 3's measurement for one size: rv_broadcast() to every vCPU of a VM
 * of @vcpus that is not run (to as many identical VMs, batched, when small),
 * one row per entry of @in_guest, with that many of the vCPUs put in guest
 * mode, spread evenly over the set. Returns 0, or -1 (out of memory, or an
 * entry above @vcpus).
 */
int bench_bcast_measure(uint32_t vcpus, const uint32_t *in_guest, unsigned nr_rows, bool quick,
			struct bench_bcast_row *rows);

/* Table 4 and the WAIT row of table 3 (bench_live.c). */
struct bench_kick_result {
	struct bench_stats kick;
	struct bench_stats pingpong;
	size_t discarded;     /* samples whose kick sent no IPI (the entry backed off) */
	uint64_t posts;	      /* kicks posted, warm-up and VM_DEAD included */
	uint64_t ipis;	      /* ... of which sent an IPI */
	uint64_t exits_kick;  /* the kick VM's exits by kick, read after the run */
	uint64_t backoffs;    /* ... entries backed off: the kick hit try_enter() */
	uint64_t exits_slice; /* ... and by slice end, which would spoil samples */
	double ratio;
	unsigned blocks; /* alternations of reference and kick samples */
	struct bench_stop {
		bool vm_dead; /* RV_REQ_VM_DEAD ended the run (else rv_vm_kill() did) */
		int run_rc;   /* what rv_vm_run() returned */
	} kick_stop, wait_stop;
};

int bench_live_run(bool quick, struct bench_kick_result *k, struct bench_wait_row *w);

/* Output (bench_report.c). */
void bench_report_tables(FILE *out, const struct bench_opts *o,
			 const struct bench_post_result *post,
			 const struct bench_bcast_result *bcast,
			 const struct bench_kick_result *kick);
void bench_report_json(FILE *out, const struct bench_opts *o, const struct bench_post_result *post,
		       const struct bench_bcast_result *bcast,
		       const struct bench_kick_result *kick);

#endif
