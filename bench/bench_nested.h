/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench nested`: what nested transitions cost per configuration. */
#ifndef RV_BENCH_NESTED_H
#define RV_BENCH_NESTED_H

/* As bench_vendors(): @argv[0] is "nested". Returns 0, 1 or 2. */
int bench_nested(int argc, char **argv);

#endif
