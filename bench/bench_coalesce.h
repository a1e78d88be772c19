/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench coalesce`: flush coalescing: hardware flushes vs an offline minimum, three
 * strategies. */
#ifndef RV_BENCH_COALESCE_H
#define RV_BENCH_COALESCE_H

/* As bench_vendors(): @argv[0] is "coalesce". Returns 0, 1 or 2. */
int bench_coalesce(int argc, char **argv);

#endif
