/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench tlb`: the software TLB's lookup, insert and flushes. */
#ifndef RV_BENCH_TLB_H
#define RV_BENCH_TLB_H

/*
 * @argv[0] is the command's name ("tlb"), the options follow, as for main().
 * Returns the exit status: 0 measured, 1 could not run, 2 bad usage.
 */
int bench_tlb(int argc, char **argv);

#endif
