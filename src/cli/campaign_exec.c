// SPDX-License-Identifier: MIT
/*
 * The campaign's worker pool: each run is a child `reqvisor run` with the
 * oracle full, its output read through a pipe, killed at the timeout. A
 * child's report is on its stderr: "reqvisor: oracle: ... (N violations in
 * all)".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "cli.h"

#define MAX_JOBS   64
#define MAX_ARGV   64	 /* a run's options (checked by campaign_count_args) */
#define OUTPUT_CAP 65536 /* what is kept of a child's output */
#define KILL_GRACE 10	 /* seconds past the timeout before SIGKILL */

struct child {
	pid_t pid;
	int fd; /* its output, or -1 once the pipe has closed */
	struct campaign_run *run;
	double started;
	char *out;
	size_t len;
	bool killed;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void campaign_guest_path(const char *guest_dir, const char *guest, char *out, size_t len)
{
	if (strchr(guest, '/'))
		snprintf(out, len, "%s", guest);
	else
		snprintf(out, len, "%s/%s.elf", guest_dir, guest);
}

/* Split @s at spaces into @argv from @n; returns the new count. The
 * campaign refused runs with more than MAX_ARGV options. */
static int split(char *s, char **argv, int n)
{
	for (char *t = strtok(s, " "); t && n < MAX_ARGV + 6; t = strtok(NULL, " "))
		argv[n++] = t;
	return n;
}

unsigned campaign_count_args(const char *args)
{
	unsigned n = 0;

	for (const char *p = args; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static void exec_run(const struct campaign_exec *x, const struct campaign_run *r)
{
	static char path[CAMPAIGN_PATH], args[CAMPAIGN_ARGS], seed[24], fault[CAMPAIGN_FAULT],
		watchdog[16];
	char *argv[MAX_ARGV + 16]; /* the run's options and the ones added here */
	int n = 0;

	campaign_guest_path(x->guest_dir, r->guest, path, sizeof(path));
	snprintf(args, sizeof(args), "%s", r->args);
	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	snprintf(fault, sizeof(fault), "%s", r->fault);
	argv[n++] = (char *)x->self;
	argv[n++] = "run";
	argv[n++] = path;
	argv[n++] = "--quiet";
	argv[n++] = "--oracle";
	argv[n++] = "full";
	/* The run's own watchdog reports every vCPU's state at the timeout;
	 * the parent kills it only if that fails (KILL_GRACE later). */
	snprintf(watchdog, sizeof(watchdog), "%u", x->timeout);
	argv[n++] = "--watchdog";
	argv[n++] = watchdog;
	n = split(args, argv, n);
	argv[n++] = "--seed";
	argv[n++] = seed;
	if (strcmp(fault, "none")) {
		argv[n++] = "--fault";
		argv[n++] = fault;
	}
	argv[n] = NULL;
	execv(x->self, argv);
	fprintf(stderr, "reqvisor campaign: cannot run %s: %s\n", x->self, strerror(errno));
	_exit(2);
}

static int start(const struct campaign_exec *x, struct child *c, struct campaign_run *r)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC)) /* no child inherits another's pipe */
		return -1;
	c->pid = fork();
	if (c->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!c->pid) {
		dup2(p[1], 1); /* dup2 clears O_CLOEXEC on 1 and 2 */
		dup2(p[1], 2);
		exec_run(x, r);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	c->fd = p[0];
	c->run = r;
	c->started = now();
	c->len = 0;
	c->killed = false;
	return 0;
}

/* The first oracle report and the violation count in the child's output:
 * "reqvisor: oracle: REPORT (N violations in all)" at its end, or "(N
 * violations so far)" from its watchdog, before the vCPUs of a hung run. */
static void parse_output(struct campaign_run *r, const char *out)
{
	const char *p = strstr(out, "reqvisor: oracle: ");
	const char *end, *open;

	r->violations = 0;
	r->report[0] = 0;
	if (!p)
		return;
	p += strlen("reqvisor: ");
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	/* The count: the line's last parenthesis. */
	for (open = end; open > p && *open != '('; open--)
		;
	if (*open == '(' && end[-1] == ')' && open[1] >= '0' && open[1] <= '9') {
		char *after;
		unsigned long long n = strtoull(open + 1, &after, 10);

		if (!strncmp(after, " violations ", strlen(" violations "))) {
			r->violations = n;
			end = open > p && open[-1] == ' ' ? open - 1 : open;
		}
	}
	snprintf(r->report, sizeof(r->report), "%.*s", (int)(end - p), p);
}

/* Add @what to the run's report, after what it holds ("; " between). */
static void add_report(struct campaign_run *r, const char *what)
{
	size_t used = strlen(r->report);

	snprintf(r->report + used, sizeof(r->report) - used, "%s%s", used ? "; " : "", what);
}

static void finish(const struct campaign_exec *x, struct child *c, int wstatus)
{
	struct campaign_run *r = c->run;
	const char *dog;

	c->out[c->len] = 0;
	r->seconds = now() - c->started;
	if (c->killed)
		r->status = -1;
	else if (WIFEXITED(wstatus))
		r->status = WEXITSTATUS(wstatus);
	else
		r->status = 128 + WTERMSIG(wstatus); /* a crash of the run itself */
	/* The oracle's first report and count: at the end of a run, or in
	 * its watchdog's report of a hung one. */
	parse_output(r, c->out);
	dog = strstr(c->out, "reqvisor: watchdog: ");
	if (dog && !c->killed) { /* the run's own watchdog: hung, with its vCPUs */
		r->status = -1;
		add_report(r, dog + strlen("reqvisor: "));
		for (char *nl = r->report; (nl = strchr(nl, '\n'));)
			*nl = ' ';
	}
	if (!r->report[0] && campaign_outcome(r) != OUTCOME_PASS && !c->killed) {
		/* No oracle report: keep the run's last line (why it failed). */
		const char *last = c->out + c->len;

		while (last > c->out && last[-1] == '\n')
			last--;
		const char *line = last;

		while (line > c->out && line[-1] != '\n')
			line--;
		snprintf(r->report, sizeof(r->report), "%.*s", (int)(last - line), line);
	}
	if (c->killed) {
		char why[80];

		snprintf(why, sizeof(why), "killed after %u s (its watchdog did not report)",
			 x->timeout + KILL_GRACE);
		if (!r->violations)
			r->report[0] = 0;
		add_report(r, why);
	}
	c->pid = 0;
	campaign_replay(x->self, x->guest_dir, r, r->replay, sizeof(r->replay));
	if (x->out) {
		campaign_json_write(x->out, r, r->replay);
		fflush(x->out);
	}
	if (x->progress)
		fprintf(stderr, "run %u: %s (%s, seed %" PRIu64 ", %.1f s)\n", r->index,
			campaign_outcome_name(campaign_outcome(r)), r->fault, r->seed, r->seconds);
}

/* Keep the last OUTPUT_CAP bytes: the reports come at the end. */
static void keep(struct child *c, const char *buf, size_t n)
{
	if (n > OUTPUT_CAP) {
		buf += n - OUTPUT_CAP;
		n = OUTPUT_CAP;
	}
	if (c->len + n > OUTPUT_CAP) {
		size_t drop = c->len + n - OUTPUT_CAP;

		memmove(c->out, c->out + drop, c->len - drop);
		c->len -= drop;
	}
	memcpy(c->out + c->len, buf, n);
	c->len += n;
}

/* Read what the child wrote; at end of file close the pipe. */
static void drain(struct child *c)
{
	char buf[4096];
	ssize_t n;

	if (c->fd < 0)
		return;
	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		keep(c, buf, (size_t)n);
	if (!n || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Kill and reap every child still running (an error ends the campaign). */
static void abandon(struct child *kids, unsigned jobs)
{
	for (unsigned j = 0; j < jobs; j++) {
		if (!kids[j].pid)
			continue;
		kill(kids[j].pid, SIGKILL);
		waitpid(kids[j].pid, NULL, 0);
		if (kids[j].fd >= 0)
			close(kids[j].fd);
		kids[j].pid = 0;
	}
}

int campaign_execute(const struct campaign_exec *x, struct campaign_runs *rs)
{
	struct child kids[MAX_JOBS] = { 0 };
	unsigned jobs = x->jobs < 1 ? 1 : x->jobs > MAX_JOBS ? MAX_JOBS : x->jobs;
	size_t next = 0, running = 0;
	int rc = 0;

	/* Children must stay ours to reap, whatever SIGCHLD we inherited. */
	signal(SIGCHLD, SIG_DFL);
	for (unsigned j = 0; j < jobs; j++) {
		kids[j].out = malloc(OUTPUT_CAP + 1);
		if (!kids[j].out) {
			rc = -1;
			goto out;
		}
	}
	while (next < rs->n || running) {
		struct pollfd pf[MAX_JOBS];
		unsigned n = 0;

		for (unsigned j = 0; j < jobs && next < rs->n; j++) {
			if (kids[j].pid)
				continue;
			if (start(x, &kids[j], &rs->v[next])) {
				fprintf(stderr, "reqvisor campaign: cannot start a run: %s\n",
					strerror(errno));
				abandon(kids, jobs);
				rc = -1;
				goto out;
			}
			next++;
			running++;
		}
		for (unsigned j = 0; j < jobs; j++)
			if (kids[j].pid && kids[j].fd >= 0)
				pf[n++] = (struct pollfd){ .fd = kids[j].fd, .events = POLLIN };
		poll(pf, n, 100); /* with no pipe open, a 100 ms sleep */
		for (unsigned j = 0; j < jobs; j++) {
			struct child *c = &kids[j];
			int ws = 0;
			pid_t got;

			if (!c->pid)
				continue;
			drain(c);
			if (!c->killed && now() - c->started > x->timeout + KILL_GRACE) {
				kill(c->pid, SIGKILL);
				c->killed = true;
			}
			got = waitpid(c->pid, &ws, WNOHANG);
			if (got == 0)
				continue;
			if (got < 0) /* lost (reaped elsewhere): report it as an error */
				ws = EXIT_USAGE << 8;
			/* The rest of its output; a pipe another process still
			 * holds open is closed after a bounded wait. */
			for (int i = 0; c->fd >= 0 && i < 100; i++) {
				drain(c);
				if (c->fd >= 0)
					poll(&(struct pollfd){ .fd = c->fd, .events = POLLIN }, 1,
					     10);
			}
			if (c->fd >= 0) {
				close(c->fd);
				c->fd = -1;
			}
			finish(x, c, ws);
			running--;
		}
	}
out:
	for (unsigned j = 0; j < jobs; j++)
		free(kids[j].out);
	return rc;
}
