// SPDX-License-Identifier: MIT
/*
 * `reqvisor campaign` (docs/campaign.md): the command line and campaign
 * files, the run matrix and its shards, `merge`, and the verdict of every
 * fault point. Exit status: 0 every verdict holds, 1 one does not, 2 bad
 * usage or input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "cli.h"
#include "reqvisor/fault.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: reqvisor campaign [FILE] [options]\n"
		     "       reqvisor campaign --builtin mutation|benign [options]\n"
		     "       reqvisor campaign merge [--mutation] SHARD.jsonl...\n"
		     "\n"
		     "Runs `reqvisor run` with the oracle full over guests, configurations,\n"
		     "fault specs and seeds, in parallel, and judges every fault point: a\n"
		     "breaking point must be caught by the oracle, a benign one must leave it\n"
		     "silent and the guest passing (docs/campaign.md).\n"
		     "\n"
		     "  FILE                  a campaign file (docs/campaign.md)\n"
		     "  --builtin NAME        mutation (every breaking point) or benign\n"
		     "  --runs N              benign: how many runs (default 10000)\n"
		     "  --guest 'NAME [OPTS]' a guest (in the guests directory, or a path)\n"
		     "                        with the run options it needs; repeatable\n"
		     "  --vendor LIST         vmx,svm  (default vmx)\n"
		     "  --tdp LIST            on,off   (default on)\n"
		     "  --executor LIST       deterministic,threads (default deterministic)\n"
		     "  --vcpus LIST          e.g. 2,4 (default 2)\n"
		     "  --fault SPEC          a fault spec, or none; repeatable (default none)\n"
		     "  --seeds A-B           seeds A to B (default 1-1)\n"
		     "  --guests DIR          where guest names resolve (default: guests/ beside\n"
		     "                        this reqvisor)\n"
		     "  --jobs N              runs at once (default: host CPUs)\n"
		     "  --timeout S           seconds a run may take (default 120)\n"
		     "  --shard I/N           run only shard I (0-based) of N\n"
		     "  --out FILE            JSON lines, one per run ('-': stdout)\n"
		     "  --progress            a line per finished run on stderr\n"
		     "\n"
		     "Exit status: 0 every verdict holds, 1 one does not, 2 bad usage or input.\n");
}

#define bad(...) cli_bad("reqvisor campaign", __VA_ARGS__)

struct campaign_run *campaign_add(struct campaign_runs *rs)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct campaign_run *v = realloc(rs->v, cap * sizeof(*v));

		if (!v) {
			fprintf(stderr, "reqvisor campaign: out of memory\n");
			exit(EXIT_USAGE);
		}
		rs->v = v;
		rs->cap = cap;
	}
	memset(&rs->v[rs->n], 0, sizeof(rs->v[0]));
	rs->v[rs->n].index = (uint32_t)rs->n;
	return &rs->v[rs->n++];
}

void campaign_runs_free(struct campaign_runs *rs)
{
	free(rs->v);
	*rs = (struct campaign_runs){ 0 };
}

enum campaign_outcome campaign_outcome(const struct campaign_run *r)
{
	switch (r->status) {
	case 0:
		return OUTCOME_PASS;
	case EXIT_ORACLE:
		return OUTCOME_VIOLATION;
	case EXIT_GUEST_FAILED:
		return OUTCOME_FAILED;
	case -1:
		return OUTCOME_HUNG;
	case EXIT_NO_MEMORY:
		return OUTCOME_NO_MEMORY;
	default:
		return OUTCOME_ERROR;
	}
}

const char *campaign_outcome_name(enum campaign_outcome o)
{
	static const char *const names[] = { "pass", "violation",     "guest-failed",
					     "hung", "out-of-memory", "error" };

	return names[o];
}

int campaign_shell_arg(char *out, size_t len, const char *arg)
{
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_@%+=:,./-";
	size_t used = strlen(out), need = used ? 1 : 0, i = used;
	bool quote = !*arg || arg[strspn(arg, plain)];

	for (const char *p = arg; *p; p++)
		need += *p == '\'' ? 4 : 1;
	if (quote)
		need += 2;
	if (used + need >= len)
		return -1;
	if (used)
		out[i++] = ' ';
	if (quote)
		out[i++] = '\'';
	for (const char *p = arg; *p; p++) {
		if (*p == '\'') { /* end the quotes, a quoted ', quote again */
			memcpy(out + i, "'\\''", 4);
			i += 4;
		} else {
			out[i++] = *p;
		}
	}
	if (quote)
		out[i++] = '\'';
	out[i] = 0;
	return 0;
}

void campaign_replay(const char *self, const char *guest_dir, const struct campaign_run *r,
		     char *out, size_t len)
{
	char path[CAMPAIGN_PATH], args[CAMPAIGN_ARGS], seed[24], *save = NULL;
	int rc = 0;

	campaign_guest_path(guest_dir, r->guest, path, sizeof(path));
	snprintf(args, sizeof(args), "%s", r->args);
	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	out[0] = 0;
	rc |= campaign_shell_arg(out, len, self);
	rc |= campaign_shell_arg(out, len, "run");
	rc |= campaign_shell_arg(out, len, path);
	rc |= campaign_shell_arg(out, len, "--oracle");
	rc |= campaign_shell_arg(out, len, "full");
	/* The configuration (split at spaces, as the run's were), its
	 * executor made the deterministic one. */
	for (char *t = strtok_r(args, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (!strcmp(t, "--executor")) {
			strtok_r(NULL, " ", &save);
			continue;
		}
		rc |= campaign_shell_arg(out, len, t);
	}
	rc |= campaign_shell_arg(out, len, "--executor");
	rc |= campaign_shell_arg(out, len, "deterministic");
	rc |= campaign_shell_arg(out, len, "--seed");
	rc |= campaign_shell_arg(out, len, seed);
	if (strcmp(r->fault, "none")) {
		rc |= campaign_shell_arg(out, len, "--fault");
		rc |= campaign_shell_arg(out, len, r->fault);
	}
	if (rc) /* a comment, not a command that is not this run's */
		snprintf(out, len, "# the replay command is longer than %zu bytes", len - 1);
}

/* ---- verdicts ---- */

struct point_tally {
	unsigned runs, violations, failures, first_caught;
	bool seen;
};

/* The points a spec arms, as bits of @ids. */
static unsigned spec_points(const char *spec, int *ids, unsigned max)
{
	char buf[CAMPAIGN_FAULT];
	unsigned n = 0;

	if (!strcmp(spec, "none"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok(buf, ","); t && n < max; t = strtok(NULL, ",")) {
		t[strcspn(t, "=@")] = 0;
		int id = rv_fault_lookup(t);

		if (id >= 0)
			ids[n++] = id;
	}
	return n;
}

static bool spec_breaking(const int *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (rv_fault_class((enum rv_fault_id)ids[i]) == RV_FAULT_BREAKING)
			return true;
	return false;
}

/* Whether a run behaved as its fault spec says it must: a run with a
 * breaking point may be caught (or not, this once); any other must pass,
 * or, when it fails allocations, may stop in set-up with status 4. */
static bool run_ok(const struct campaign_run *r, const int *ids, unsigned n, bool breaking)
{
	enum campaign_outcome o = campaign_outcome(r);
	bool alloc_fail = false;

	for (unsigned k = 0; k < n; k++)
		alloc_fail |= ids[k] == RV_FAULT_ALLOC_FAIL;
	return o == OUTCOME_PASS || (alloc_fail && o == OUTCOME_NO_MEMORY) ||
	       (breaking && (o == OUTCOME_VIOLATION || o == OUTCOME_FAILED));
}

int campaign_summary(FILE *out, const struct campaign_runs *rs, const char *self,
		     const char *guest_dir, bool every_breaking)
{
	struct point_tally t[RV_NR_FAULTS + 1] = { 0 }; /* the last: no fault */
	unsigned breaking = 0, caught = 0, bad_runs = 0, no_memory = 0;
	char replay[CAMPAIGN_REPLAY];
	int rc = 0;

	for (size_t i = 0; i < rs->n; i++) {
		const struct campaign_run *r = &rs->v[i];
		int ids[16];
		unsigned n = spec_points(r->fault, ids, 16);
		bool brk = spec_breaking(ids, n), ok = run_ok(r, ids, n, brk);

		no_memory += campaign_outcome(r) == OUTCOME_NO_MEMORY;
		if (!n)
			ids[n++] = RV_NR_FAULTS;
		for (unsigned k = 0; k < n; k++) {
			struct point_tally *p = &t[ids[k]];

			/* A benign point in a breaking spec is only along for the ride. */
			if (brk && ids[k] != RV_NR_FAULTS &&
			    rv_fault_class((enum rv_fault_id)ids[k]) == RV_FAULT_BENIGN)
				continue;
			p->seen = true;
			p->runs++;
			/* Caught: a violation, or one found before the run hung. */
			if ((campaign_outcome(r) == OUTCOME_VIOLATION || r->violations) &&
			    (!p->violations++ || r->index < p->first_caught))
				p->first_caught = r->index;
			if (!ok)
				p->failures++;
		}
		if (!ok) {
			bad_runs++;
			if (!r->replay[0])
				campaign_replay(self, guest_dir, r, replay, sizeof(replay));
			fprintf(out, "run %u %s: %s\n  %s\n  replay: %s\n", r->index,
				campaign_outcome_name(campaign_outcome(r)), r->fault, r->report,
				r->replay[0] ? r->replay : replay);
		}
	}
	fprintf(out, "%-32s %-9s %7s %10s  %s\n", "fault point", "class", "runs", "violations",
		"verdict");
	for (int id = 0; id <= RV_NR_FAULTS; id++) {
		const struct point_tally *p = &t[id];
		bool is_breaking = id < RV_NR_FAULTS &&
				   rv_fault_class((enum rv_fault_id)id) == RV_FAULT_BREAKING;
		const char *verdict;
		char why[64] = "";

		if (!p->seen && !(every_breaking && is_breaking))
			continue;
		if (!p->seen) {
			breaking++;
			verdict = "NOT RUN: no run of the campaign arms it";
			rc = 1;
		} else if (is_breaking) {
			breaking++;
			if (p->violations) {
				caught++;
				verdict = "caught";
				snprintf(why, sizeof(why), " (first at run %u)", p->first_caught);
			} else {
				verdict = "MISSED: the oracle never caught it";
				rc = 1;
			}
		} else if (p->failures) {
			verdict = "FAILED: runs that did not pass";
			rc = 1;
		} else {
			verdict = "clean";
		}
		fprintf(out, "%-32s %-9s %7u %10u  %s%s\n",
			id < RV_NR_FAULTS ? rv_fault_name((enum rv_fault_id)id) : "(no fault)",
			is_breaking ? "breaking" : "benign", p->runs, p->violations, verdict, why);
	}
	if (bad_runs)
		rc = 1;
	if (no_memory)
		fprintf(out,
			"%u runs stopped in set-up for want of host memory (alloc.fail, status "
			"4)\n",
			no_memory);
	fprintf(out, "%zu runs, %u that did not behave as their fault points' classes say\n", rs->n,
		bad_runs);
	if (breaking)
		fprintf(out, "mutation score: %u/%u breaking points caught = %.1f%%\n", caught,
			breaking, 100.0 * caught / breaking);
	return rc;
}

/* ---- the command ---- */

struct options {
	struct campaign_matrix m;
	const char *builtin, *file, *out_path, *guest_dir;
	uint32_t runs;
	unsigned jobs, timeout, shard, nshards;
	bool progress;
};

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	*v = strtoull(s, &end, 10);
	return *end || *v > max ? -1 : 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "builtin", required_argument, NULL, 'b' },
		{ "runs", required_argument, NULL, 'r' },
		{ "guest", required_argument, NULL, 'g' },
		{ "vendor", required_argument, NULL, 'V' },
		{ "tdp", required_argument, NULL, 't' },
		{ "executor", required_argument, NULL, 'e' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "fault", required_argument, NULL, 'f' },
		{ "seeds", required_argument, NULL, 's' },
		{ "guests", required_argument, NULL, 'G' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "shard", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long long v;
	int c, rc = 0;

	o->m.seed_lo = o->m.seed_hi = 1;
	o->runs = 10000;
	o->jobs = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	o->timeout = 120;
	o->nshards = 1;
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (strcmp(optarg, "mutation") && strcmp(optarg, "benign"))
				return bad("--builtin %s: want mutation or benign", optarg);
			o->builtin = optarg;
			break;
		case 'r':
			if (parse_uint(optarg, CAMPAIGN_MAX_RUNS, &v) || !v)
				return bad("--runs %s: want 1 to %d", optarg, CAMPAIGN_MAX_RUNS);
			o->runs = (uint32_t)v;
			break;
		case 'g':
			rc = campaign_matrix_guest(&o->m, optarg, "--guest");
			break;
		case 'V':
			rc = campaign_matrix_list(optarg, o->m.vendors, &o->m.nvendors);
			break;
		case 't':
			rc = campaign_matrix_list(optarg, o->m.tdp, &o->m.ntdp);
			break;
		case 'e':
			rc = campaign_matrix_list(optarg, o->m.executors, &o->m.nexecutors);
			break;
		case 'c':
			rc = campaign_matrix_list(optarg, o->m.vcpus, &o->m.nvcpus);
			break;
		case 'f':
			rc = campaign_matrix_fault(&o->m, optarg, "--fault");
			break;
		case 's':
			rc = campaign_matrix_seeds(&o->m, optarg, "--seeds");
			break;
		case 'G':
			o->guest_dir = optarg;
			break;
		case 'j':
			if (parse_uint(optarg, 64, &v) || !v)
				return bad("--jobs %s: want 1 to 64", optarg);
			o->jobs = (unsigned)v;
			break;
		case 'T':
			if (parse_uint(optarg, 86400, &v) || !v)
				return bad("--timeout %s: want 1 to 86400 seconds", optarg);
			o->timeout = (unsigned)v;
			break;
		case 'S': {
			unsigned i, n;
			char tail;

			if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || !n || i >= n)
				return bad("--shard %s: want I/N with 0 <= I < N", optarg);
			o->shard = i;
			o->nshards = n;
			break;
		}
		case 'o':
			o->out_path = optarg;
			break;
		case 'p':
			o->progress = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return bad("bad option '%s' (see reqvisor campaign --help)",
				   argv[optind - 1]);
		}
	}
	if (rc)
		return rc == -1 ? bad("too many values in a list (at most %d)", CAMPAIGN_MAX_LIST)
				: rc;
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	return 0;
}

/* The guests directory: guests/ beside this reqvisor, as in a build tree. */
static void default_guest_dir(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(out, len, "guests");
		return;
	}
	self[n] = 0;
	snprintf(out, len, "%s/guests", dirname(self));
}

static int by_index(const void *a, const void *b)
{
	const struct campaign_run *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* merge [--mutation] FILE...: the shards' records, one table. */

/* What the records say of their campaign. */
struct merge_info {
	uint32_t total;	  /* its runs (0 until a record says) */
	uint32_t nshards; /* its shards, as the first record that says */
	bool mixed;	  /* records of different shard counts */
	bool unknown;	  /* a record without them (an older reqvisor's) */
};

static int read_records(const char *path, struct campaign_runs *rs, struct merge_info *m)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (!f)
		return bad("cannot read %s", path);
	while (!rc && getline(&line, &cap, f) > 0) {
		struct campaign_run *r = campaign_add(rs);

		lineno++;
		if (campaign_json_read(line, r)) {
			rc = bad("%s:%u: not a campaign record", path, lineno);
			break;
		}
		if (!r->total)
			m->unknown = true;
		else if (m->total && r->total != m->total)
			rc = bad("%s:%u: a record of a campaign of %u runs, the records before "
				 "of one of %u: records of two campaigns?",
				 path, lineno, r->total, m->total);
		else
			m->total = r->total;
		if (r->nshards && !m->nshards)
			m->nshards = r->nshards;
		else if (r->nshards && r->nshards != m->nshards)
			m->mixed = true;
	}
	free(line);
	fclose(f);
	return rc;
}

/* "run A" or "runs A..B". */
static const char *run_range(char *buf, size_t len, uint32_t first, uint32_t last)
{
	if (first == last)
		snprintf(buf, len, "run %u", first);
	else
		snprintf(buf, len, "runs %u..%u", first, last);
	return buf;
}

#define MISSING_LINES 10 /* lines naming missing runs; then how many more */

/* The campaign's runs that no record holds (@seen by index): a line per
 * shard with runs missing when every record says the same shard count, a
 * line per range of them otherwise. Status 2 when any is missing. */
static int report_missing(const bool *seen, const struct merge_info *m)
{
	uint32_t missing = 0, lines = 0, n = m->mixed ? 1 : m->nshards;
	char what[48];

	if (n > 1) {
		for (uint32_t s = 0; s < n && s < m->total; s++) {
			uint32_t first = 0, last = 0, gone = 0, of = 0;

			for (uint64_t k = s; k < m->total; k += n) {
				of++;
				if (seen[k])
					continue;
				if (!gone++)
					first = (uint32_t)k;
				last = (uint32_t)k;
			}
			if (!gone)
				continue;
			missing += gone;
			if (lines++ >= MISSING_LINES)
				continue;
			run_range(what, sizeof(what), first, last);
			if (gone == of)
				bad("%s missing (shard %u/%u not given?)", what, s, n);
			else
				bad("%s missing: %u of shard %u/%u's %u runs (its file cut short?)",
				    what, gone, s, n, of);
		}
	} else {
		for (uint32_t k = 0; k < m->total;) {
			uint32_t first = k;

			if (seen[k]) {
				k++;
				continue;
			}
			while (k < m->total && !seen[k])
				k++;
			missing += k - first;
			if (lines++ < MISSING_LINES)
				bad("%s missing%s", run_range(what, sizeof(what), first, k - 1),
				    m->mixed ? "" : " (the file cut short?)");
		}
	}
	if (!missing)
		return 0;
	if (lines > MISSING_LINES)
		bad("... and %u more such lines", lines - MISSING_LINES);
	return bad("%u of the campaign's %u runs missing", missing, m->total);
}

/* Every run once: none twice (a shard given twice), none missing. */
static int check_runs(const struct campaign_runs *rs, const struct merge_info *m)
{
	bool *seen;
	int rc;

	for (size_t i = 1; i < rs->n; i++)
		if (rs->v[i].index == rs->v[i - 1].index)
			return bad("run %u appears twice: a shard given twice?", rs->v[i].index);
	if (m->unknown) {
		fprintf(stderr, "reqvisor campaign: warning: records without the campaign's run "
				"count (an older reqvisor's): missing runs cannot be found\n");
		return 0;
	}
	seen = calloc(m->total ? m->total : 1, sizeof(*seen));
	if (!seen)
		return bad("out of memory");
	for (size_t i = 0; i < rs->n; i++)
		seen[rs->v[i].index] = true; /* below total: campaign_json_read checked */
	rc = report_missing(seen, m);
	free(seen);
	return rc;
}

static int merge(int argc, char **argv)
{
	struct campaign_runs rs = { 0 };
	struct merge_info m = { 0 };
	char dir[PATH_MAX], self[PATH_MAX];
	bool every_breaking = argc > 1 && !strcmp(argv[1], "--mutation");
	int first = every_breaking ? 2 : 1, rc = 0;

	if (argc <= first)
		return bad("merge needs the shards' JSON-lines files");
	for (int i = first; !rc && i < argc; i++)
		rc = read_records(argv[i], &rs, &m);
	if (!rc) {
		qsort(rs.v, rs.n, sizeof(rs.v[0]), by_index);
		rc = check_runs(&rs, &m);
	}
	if (!rc) {
		default_guest_dir(dir, sizeof(dir));
		if (!realpath("/proc/self/exe", self))
			snprintf(self, sizeof(self), "reqvisor");
		rc = campaign_summary(stdout, &rs, self, dir, every_breaking);
	}
	campaign_runs_free(&rs);
	return rc;
}

static int make_runs(struct options *o, struct campaign_runs *all)
{
	if (o->builtin && (o->file || o->m.nguests))
		return bad("--builtin takes no campaign file or --guest");
	if (!o->builtin && !o->m.nguests)
		return bad("no guest: give a campaign file, --guest, or --builtin");
	if (o->builtin && !strcmp(o->builtin, "mutation")) {
		campaign_builtin_mutation(all);
		return 0;
	}
	if (o->builtin) {
		campaign_builtin_benign(all, o->runs, o->m.seed_lo);
		return 0;
	}
	campaign_matrix_defaults(&o->m);
	return campaign_matrix_expand(&o->m, all);
}

int cmd_campaign(int argc, char **argv)
{
	struct options o = { 0 };
	struct campaign_runs all = { 0 }, mine = { 0 };
	char dir[PATH_MAX], self[PATH_MAX];
	struct campaign_exec x = { 0 };
	int rc;

	if (argc > 1 && !strcmp(argv[1], "merge"))
		return merge(argc - 1, argv + 1);
	rc = parse_options(argc, argv, &o);
	if (!rc && o.file)
		rc = campaign_file_read(&o.m, o.file);
	if (!rc)
		rc = make_runs(&o, &all);
	if (rc) {
		campaign_matrix_free(&o.m);
		campaign_runs_free(&all);
		return rc;
	}
	for (size_t i = 0; i < all.n; i++) {
		if (all.v[i].index % o.nshards != o.shard)
			continue;
		struct campaign_run *r = campaign_add(&mine);

		*r = all.v[i];
		/* Its record says which campaign and shard, for merge. */
		r->total = (uint32_t)all.n;
		r->shard = o.shard;
		r->nshards = o.nshards;
	}
	if (o.guest_dir)
		snprintf(dir, sizeof(dir), "%s", o.guest_dir);
	else
		default_guest_dir(dir, sizeof(dir));
	if (!realpath("/proc/self/exe", self)) {
		rc = bad("cannot find this reqvisor");
		goto out;
	}
	x.self = self;
	x.guest_dir = dir;
	x.jobs = o.jobs;
	x.timeout = o.timeout;
	x.progress = o.progress;
	if (o.out_path) {
		x.out = strcmp(o.out_path, "-") ? fopen(o.out_path, "w") : stdout;
		if (!x.out) {
			rc = bad("cannot write %s", o.out_path);
			goto out;
		}
	}
	fprintf(stderr, "reqvisor campaign: %zu runs (shard %u/%u of %zu), %u at a time\n", mine.n,
		o.shard, o.nshards, all.n, x.jobs);
	if (campaign_execute(&x, &mine)) {
		rc = EXIT_USAGE;
	} else {
		/* With the JSON lines on stdout, the table goes to stderr. */
		rc = campaign_summary(x.out == stdout ? stderr : stdout, &mine, self, dir,
				      o.builtin && !strcmp(o.builtin, "mutation") &&
					      o.nshards == 1);
	}
	if (x.out && x.out != stdout)
		fclose(x.out);
out:
	campaign_runs_free(&all);
	campaign_runs_free(&mine);
	campaign_matrix_free(&o.m);
	return rc;
}
