/* SPDX-License-Identifier: MIT */
/*
 * `reqvisor-bench cpu`: what its files share. A workload is a snippet
 * (tests/diff/snippet.h: code at SNIPPET_CODE, a data page, a stack) whose
 * loop count sits in one register; each of three CPUs runs it to its
 * terminator: reqvisor's software CPU, the host CPU natively in user mode,
 * and real KVM. Everything is measured first and printed last.
 */
#ifndef RV_BENCH_CPU_H
#define RV_BENCH_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "snippet.h"

/* Workloads (a) and (b), assembled from cpu_loops.S into the benchmark. */
extern const uint8_t bench_cpu_alu_code[], bench_cpu_alu_end[];
extern const uint8_t bench_cpu_mem_code[], bench_cpu_mem_end[];

/* Workload (c), compiled from cpu_workload.c; cpu_embed.py generates these. */
extern const uint8_t bench_cpu_c_code[], bench_cpu_c_data[];
extern const size_t bench_cpu_c_code_len, bench_cpu_c_data_len;

struct bench_cpu_workload {
	const char *key;  /* in the JSON */
	const char *name; /* in the tables */
	const char *what;
	enum snippet_gpr count_reg; /* holds the iteration count at entry */
	uint64_t probe;		    /* iterations of the first calibration run */
	/* Sets the code and the starting state (registers, data page) on top
	 * of a zeroed snippet with RSP at SNIPPET_STACK. */
	void (*init)(struct snippet *s);
	bool has_target; /* the software CPU's instructions/s target applies */
};

#define BENCH_CPU_WORKLOADS 3

extern const struct bench_cpu_workload bench_cpu_workloads[BENCH_CPU_WORKLOADS];

/* The software CPU as a snippet runner without a budget (bench_cpu_soft.c). */
struct bench_soft;

struct bench_soft_run {
	uint64_t instructions; /* retired, the terminator not counted */
	uint64_t icache_hits;
	uint64_t icache_misses;
	double ns; /* inside rv_cpu_run() */
};

struct bench_soft *bench_soft_open(void);
void bench_soft_close(struct bench_soft *b);
void bench_soft_run(struct bench_soft *b, const struct snippet *s, struct snippet_result *r,
		    struct bench_soft_run *run);

/* The three CPUs. */
enum bench_cpu_engine { ENGINE_SOFT, ENGINE_NATIVE, ENGINE_KVM, NR_ENGINES };

/* One workload on one CPU. */
struct bench_cpu_side {
	bool available; /* else @reason says why */
	char reason[192];
	uint64_t iterations;
	uint64_t instructions; /* per run, the software CPU's count */
	unsigned runs;
	struct bench_stats ns; /* per run */
	double ips;	       /* instructions / median ns */
	bool match;	       /* its results equal the software CPU's */
	char mismatch[192];    /* the first difference */
};

struct bench_cpu_row {
	const struct bench_cpu_workload *w;
	struct bench_cpu_side side[NR_ENGINES];
	uint64_t icache_hits, icache_misses; /* over the timed software runs */
};

struct bench_cpu_result {
	int host_cpu;
	bool quick;
	/* How busy the other host CPUs were while this one measured (-1: not
	 * known): on a host whose CPUs share cores, their load slows this one. */
	double others_busy;
	double overhead_ns[NR_ENGINES]; /* an empty snippet's run, subtracted */
	struct bench_cpu_row row[BENCH_CPU_WORKLOADS];
};

int bench_cpu_measure(const struct bench_opts *o, struct bench_cpu_result *r);

/* Output (bench_cpu_report.c); both return whether every result matched. */
bool bench_cpu_report(FILE *out, const struct bench_cpu_result *r);
bool bench_cpu_report_json(FILE *out, const struct bench_cpu_result *r);

#endif
