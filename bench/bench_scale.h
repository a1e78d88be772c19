/* SPDX-License-Identifier: MIT */
/*
 * `reqvisor-bench scale`: 1024-vCPU scale: memory per idle vCPU, 1024-vCPU
 * shootdown in both executors, broadcast cost vs the fraction in guest mode.
 */
#ifndef RV_BENCH_SCALE_H
#define RV_BENCH_SCALE_H

/* As bench_vendors(): @argv[0] is "scale". Returns 0, 1 or 2. */
int bench_scale(int argc, char **argv);

#endif
