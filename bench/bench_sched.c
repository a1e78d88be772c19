// SPDX-License-Identifier: MIT
/*
 * `reqvisor-bench sched`: the scheduler's hot paths, each measured beside its
 * physical reference in the same run. Everything is measured first and
 * printed last, so no I/O runs between samples.
 *
 * The benchmark thread is pinned to host CPU 1 throughout: the live VMs of
 * table 4 put their only pCPU on host CPU 0, and the reference ping-pong runs
 * between the same two CPUs.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int check_host(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2) {
		fprintf(stderr, "reqvisor-bench: needs host CPUs 0 and 1 (found %ld CPU%s)\n", n,
			n == 1 ? "" : "s");
		return -1;
	}
	if (bench_pin_self(BENCH_HOST_CPU)) {
		fprintf(stderr, "reqvisor-bench: cannot pin to host CPU %d\n", BENCH_HOST_CPU);
		return -1;
	}
	return 0;
}

static int measure(const struct bench_opts *o, struct bench_post_result *post,
		   struct bench_bcast_result *bcast, struct bench_kick_result *kick)
{
	if (check_host() || bench_clock_init(o->quick))
		return -1;
	if (bench_post_run(o->quick, post))
		return -1;
	if (bench_bcast_run(o->quick, bcast))
		return -1;
	return bench_live_run(o->quick, kick, &bcast->wait);
}

static int write_json(FILE *f, const struct bench_opts *o, const struct bench_post_result *post,
		      const struct bench_bcast_result *bcast, const struct bench_kick_result *kick)
{
	bench_report_json(f, o, post, bcast, kick);
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "reqvisor-bench: cannot write '%s'\n", o->json_path);
		return -1;
	}
	return 0;
}

/* Returns 0 once every figure is measured, whether its targets pass or not. */
int bench_sched(const struct bench_opts *o)
{
	static struct bench_post_result post;
	static struct bench_bcast_result bcast;
	static struct bench_kick_result kick;
	FILE *json = NULL;

	/* Open it now: a bad path should not cost a whole run. */
	if (o->json_path && !(json = fopen(o->json_path, "w"))) {
		fprintf(stderr, "reqvisor-bench: cannot open '%s': %s\n", o->json_path,
			strerror(errno));
		return -1;
	}
	if (measure(o, &post, &bcast, &kick)) {
		/* No figures: leave no empty file that looks like a result. */
		if (json) {
			fclose(json);
			unlink(o->json_path);
		}
		return -1;
	}
	bench_report_tables(stdout, o, &post, &bcast, &kick);
	fflush(stdout);
	return json ? write_json(json, o, &post, &bcast, &kick) : 0;
}
