/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench hyperv`: IPIs vs the Hyper-V flush hypercalls. */
#ifndef RV_BENCH_HYPERV_H
#define RV_BENCH_HYPERV_H

/* As bench_vendors(): @argv[0] is "hyperv". Returns 0, 1 or 2. */
int bench_hyperv(int argc, char **argv);

#endif
