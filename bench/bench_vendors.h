/* SPDX-License-Identifier: MIT */
/* `reqvisor-bench vendors`: the shootdown guest on every vendor backend. */
#ifndef RV_BENCH_VENDORS_H
#define RV_BENCH_VENDORS_H

/*
 * @argv[0] is the command's name ("vendors"), the options follow, as for
 * main(). Returns the exit status: 0 measured, 1 could not run, 2 bad usage.
 */
int bench_vendors(int argc, char **argv);

#endif
