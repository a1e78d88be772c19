/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench numa`: NUMA placement: node-local vs interleaved memory, pinned vs floating
 * pCPUs, arenas. */
#ifndef RV_BENCH_NUMA_H
#define RV_BENCH_NUMA_H

/* As bench_vendors(): @argv[0] is "numa". Returns 0, 1 or 2. */
int bench_numa(int argc, char **argv);

#endif
