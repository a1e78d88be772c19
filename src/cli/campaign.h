/* SPDX-License-Identifier: MIT */
/*
 * reqvisor campaign (docs/campaign.md): many `reqvisor run` processes over
 * guests, configurations, fault specs and seeds, each judged against its
 * fault points' classes. What the campaign files share.
 */
#ifndef RV_CLI_CAMPAIGN_H
#define RV_CLI_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAMPAIGN_ARGS	  256 /* a run's configuration, as `reqvisor run` options */
#define CAMPAIGN_FAULT	  160 /* its fault spec; "none" for none */
#define CAMPAIGN_REPORT	  512 /* the first violation's report, shortened */
#define CAMPAIGN_PATH	  512
#define CAMPAIGN_REPLAY	  1280
#define CAMPAIGN_MAX_RUNS 1000000 /* each record takes about 2.3 KiB while it runs */

/* One run: a guest with its configuration, a fault spec and a seed. */
struct campaign_run {
	uint32_t index;		 /* its place in the whole campaign (sharding keys on it) */
	uint32_t total;		 /* the whole campaign's runs; 0 unknown (an older record) */
	uint32_t shard, nshards; /* the shard it ran in; nshards 0 unknown */
	char guest[64];		 /* a name in the guests directory, or a path */
	char args[CAMPAIGN_ARGS];
	char fault[CAMPAIGN_FAULT];
	uint64_t seed;
	/* The result. */
	int status; /* reqvisor run's exit status; -1 killed by the watchdog */
	uint64_t violations;
	char report[CAMPAIGN_REPORT];
	char replay[CAMPAIGN_REPLAY]; /* the command that replays it */
	double seconds;
};

enum campaign_outcome {
	OUTCOME_PASS,	   /* status 0 */
	OUTCOME_VIOLATION, /* status 3: the oracle caught something */
	OUTCOME_FAILED,	   /* status 1: the guest failed or triple-faulted */
	OUTCOME_HUNG,	   /* killed at the timeout */
	OUTCOME_NO_MEMORY, /* status 4: set-up ran out of host memory (alloc.fail) */
	OUTCOME_ERROR,	   /* status 2 or anything else: bad usage or input */
};

enum campaign_outcome campaign_outcome(const struct campaign_run *r);
const char *campaign_outcome_name(enum campaign_outcome o);

/* A growable list of runs. */
struct campaign_runs {
	struct campaign_run *v;
	size_t n, cap;
};

struct campaign_run *campaign_add(struct campaign_runs *rs);
void campaign_runs_free(struct campaign_runs *rs);

struct campaign_exec {
	const char *self;      /* this reqvisor, for the children */
	const char *guest_dir; /* where guest names resolve */
	unsigned jobs;	       /* children at once */
	unsigned timeout;      /* seconds a run may take */
	bool progress;	       /* a line per finished run on stderr */
	FILE *out;	       /* JSON lines as runs finish, or NULL */
};

/* Run @rs (those of shard @shard of @nshards), @jobs at a time. */
int campaign_execute(const struct campaign_exec *x, struct campaign_runs *rs);

/* How many options a run's args hold (a run may have at most 64). */
unsigned campaign_count_args(const char *args);

/* The path a run's guest resolves to. */
void campaign_guest_path(const char *guest_dir, const char *guest, char *out, size_t len);
/* Append @arg to the command line in @out (@len bytes, NUL-terminated),
 * after a space unless @out is empty, quoted for sh when it is not a plain
 * word: '...', a ' in it as '\''. Returns -1, leaving @out as it was, when
 * it does not fit. */
int campaign_shell_arg(char *out, size_t len, const char *arg);
/* The command that replays @r (deterministic executor, the same seed),
 * every argument quoted for sh by campaign_shell_arg. */
void campaign_replay(const char *self, const char *guest_dir, const struct campaign_run *r,
		     char *out, size_t len);

/* A campaign as a matrix: every guest x vendor x tdp x executor x vCPU
 * count x fault spec x seed, from flags or a campaign file. The lists point
 * into argv or into the file's lines, which the matrix owns. */
#define CAMPAIGN_MAX_LIST 32

struct campaign_matrix {
	char *guests[CAMPAIGN_MAX_LIST]; /* "name [run options]" */
	const char *vendors[CAMPAIGN_MAX_LIST], *tdp[CAMPAIGN_MAX_LIST];
	const char *executors[CAMPAIGN_MAX_LIST], *vcpus[CAMPAIGN_MAX_LIST];
	char *faults[CAMPAIGN_MAX_LIST];
	unsigned nguests, nvendors, ntdp, nexecutors, nvcpus, nfaults;
	uint64_t seed_lo, seed_hi;
	char *lines[256];
	unsigned nlines;
};

/* Each adds to one list, or prints why not and returns nonzero (-1 from
 * campaign_matrix_list: the list is full). */
int campaign_matrix_list(char *s, const char **out, unsigned *n);
int campaign_matrix_guest(struct campaign_matrix *m, char *spec, const char *where);
int campaign_matrix_fault(struct campaign_matrix *m, char *spec, const char *where);
int campaign_matrix_seeds(struct campaign_matrix *m, const char *s, const char *where);
/* Fill the lists left empty with their defaults. */
void campaign_matrix_defaults(struct campaign_matrix *m);
/* How many runs the matrix expands to, and the expansion. */
uint64_t campaign_matrix_size(const struct campaign_matrix *m);
int campaign_matrix_expand(const struct campaign_matrix *m, struct campaign_runs *rs);
void campaign_matrix_free(struct campaign_matrix *m);
/* A campaign file, read into @m. */
int campaign_file_parse(struct campaign_matrix *m, FILE *f, const char *name);
int campaign_file_read(struct campaign_matrix *m, const char *path);

/* JSON lines: one object per run, and back. */
void campaign_json_write(FILE *out, const struct campaign_run *r, const char *replay);
int campaign_json_read(const char *line, struct campaign_run *r);

/* The built-in campaigns: every breaking point with the runs that show
 * it caught; benign faults at random over @runs runs. */
void campaign_builtin_mutation(struct campaign_runs *rs);
void campaign_builtin_benign(struct campaign_runs *rs, uint32_t runs, uint64_t seed);

/* The verdicts, printed as a table: 0 when every one holds. With
 * @every_breaking, a breaking point no run arms is a failed verdict. */
int campaign_summary(FILE *out, const struct campaign_runs *rs, const char *self,
		     const char *guest_dir, bool every_breaking);

int cmd_campaign(int argc, char **argv);

#endif
