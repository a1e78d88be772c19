// SPDX-License-Identifier: MIT
/*
 * A campaign as a matrix (docs/campaign.md): the lists from flags or a
 * campaign file, checked as they arrive, and the runs they expand to.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"
#include "reqvisor/fault.h"

#define bad(...) cli_bad("reqvisor campaign", __VA_ARGS__)

void campaign_matrix_free(struct campaign_matrix *m)
{
	for (unsigned i = 0; i < m->nlines; i++)
		free(m->lines[i]);
	m->nlines = 0;
}

/* ---- the matrix ---- */

int campaign_matrix_list(char *s, const char **out, unsigned *n)
{
	for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
		if (*n == CAMPAIGN_MAX_LIST)
			return -1;
		out[(*n)++] = t;
	}
	return 0;
}

int campaign_matrix_guest(struct campaign_matrix *m, char *spec, const char *where)
{
	if (m->nguests == CAMPAIGN_MAX_LIST)
		return bad("%s: more than %d guests", where, CAMPAIGN_MAX_LIST);
	m->guests[m->nguests++] = spec;
	return 0;
}

int campaign_matrix_fault(struct campaign_matrix *m, char *spec, const char *where)
{
	struct rv_faults f;
	char err[160];

	if (m->nfaults == CAMPAIGN_MAX_LIST)
		return bad("%s: more than %d fault specs", where, CAMPAIGN_MAX_LIST);
	if (strcmp(spec, "none") && rv_faults_parse(&f, spec, 1, err, sizeof(err)))
		return bad("%s %s: %s", where, spec, err);
	if (strlen(spec) >= CAMPAIGN_FAULT)
		return bad("%s %s: too long", where, spec);
	m->faults[m->nfaults++] = spec;
	return 0;
}

int campaign_matrix_seeds(struct campaign_matrix *m, const char *s, const char *where)
{
	char *end;
	unsigned long long lo, hi;

	errno = 0;
	lo = strtoull(s, &end, 10);
	hi = lo;
	if (end == s || *s == '-' || (*end && *end != '-'))
		return bad("%s %s: want A or A-B", where, s);
	if (*end == '-') {
		const char *h = end + 1;

		if (*h < '0' || *h > '9')
			return bad("%s %s: want A or A-B", where, s);
		hi = strtoull(h, &end, 10);
		if (*end)
			return bad("%s %s: want A or A-B", where, s);
	}
	if (errno == ERANGE || hi == UINT64_MAX)
		return bad("%s %s: a seed past 2^64 - 2", where, s);
	if (hi < lo || hi - lo >= 1000000)
		return bad("%s %s: at most a million seeds, in order", where, s);
	m->seed_lo = lo;
	m->seed_hi = hi;
	return 0;
}

void campaign_matrix_defaults(struct campaign_matrix *m)
{
	static char none[] = "none";

	if (!m->nvendors)
		m->vendors[m->nvendors++] = "vmx";
	if (!m->ntdp)
		m->tdp[m->ntdp++] = "on";
	if (!m->nexecutors)
		m->executors[m->nexecutors++] = "deterministic";
	if (!m->nvcpus)
		m->vcpus[m->nvcpus++] = "2";
	if (!m->nfaults)
		m->faults[m->nfaults++] = none;
}

/* One run of the matrix: guest g, vendor v, tdp t, executor e, vCPUs c,
 * fault f, seed s. */
static int add_run(const struct campaign_matrix *m, struct campaign_runs *rs, const unsigned k[6],
		   uint64_t seed)
{
	struct campaign_run *r = campaign_add(rs);
	const char *gs = m->guests[k[0]], *sp = strchr(gs, ' ');
	size_t gl = sp ? (size_t)(sp - gs) : strlen(gs);
	int len;

	if (gl >= sizeof(r->guest))
		return bad("guest name too long: %s", gs);
	snprintf(r->guest, sizeof(r->guest), "%.*s", (int)gl, gs);
	len = snprintf(r->args, sizeof(r->args),
		       "--vendor %s --tdp %s --executor %s --vcpus %s%s%s", m->vendors[k[1]],
		       m->tdp[k[2]], m->executors[k[3]], m->vcpus[k[4]], sp ? " " : "",
		       sp ? sp + 1 : "");
	if (len < 0 || (size_t)len >= sizeof(r->args) || campaign_count_args(r->args) > 64)
		return bad("guest %s: its run options are too long (at most %d bytes, 64 options)",
			   gs, CAMPAIGN_ARGS - 1);
	snprintf(r->fault, sizeof(r->fault), "%s", m->faults[k[5]]);
	r->seed = seed;
	return 0;
}

uint64_t campaign_matrix_size(const struct campaign_matrix *m)
{
	const unsigned sizes[6] = { m->nguests,	   m->nvendors, m->ntdp,
				    m->nexecutors, m->nvcpus,	m->nfaults };
	uint64_t total = m->seed_hi - m->seed_lo + 1;

	for (int d = 0; d < 6; d++)
		total *= sizes[d];
	return total;
}

int campaign_matrix_expand(const struct campaign_matrix *m, struct campaign_runs *rs)
{
	const unsigned sizes[6] = { m->nguests,	   m->nvendors, m->ntdp,
				    m->nexecutors, m->nvcpus,	m->nfaults };
	uint64_t total = campaign_matrix_size(m);
	unsigned k[6] = { 0 };

	if (total > CAMPAIGN_MAX_RUNS)
		return bad("%" PRIu64 " runs: a campaign may have at most %d", total,
			   CAMPAIGN_MAX_RUNS);
	/* An odometer over the six lists, seeds innermost. */
	for (;;) {
		for (uint64_t s = m->seed_lo; s <= m->seed_hi; s++)
			if (add_run(m, rs, k, s))
				return EXIT_USAGE;
		int d = 5;

		while (d >= 0 && ++k[d] == sizes[d])
			k[d--] = 0;
		if (d < 0)
			return 0;
	}
}

/* ---- campaign files ---- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int file_line(struct campaign_matrix *m, char *key, char *value, const char *where)
{
	unsigned *n = NULL;
	const char **list = NULL;

	if (!strcmp(key, "guest"))
		return campaign_matrix_guest(m, value, where);
	if (!strcmp(key, "fault"))
		return campaign_matrix_fault(m, value, where);
	if (!strcmp(key, "seeds"))
		return campaign_matrix_seeds(m, value, where);
	if (!strcmp(key, "vendor"))
		list = m->vendors, n = &m->nvendors;
	else if (!strcmp(key, "tdp"))
		list = m->tdp, n = &m->ntdp;
	else if (!strcmp(key, "executor"))
		list = m->executors, n = &m->nexecutors;
	else if (!strcmp(key, "vcpus"))
		list = m->vcpus, n = &m->nvcpus;
	else
		return bad("%s: unknown key '%s'", where, key);
	for (char *t = strtok(value, " ,"); t; t = strtok(NULL, " ,")) {
		if (*n == CAMPAIGN_MAX_LIST)
			return bad("%s: more than %d values", where, CAMPAIGN_MAX_LIST);
		list[(*n)++] = t;
	}
	return 0;
}

/* Lines "key value..."; '#' starts a comment. The lines stay allocated:
 * the matrix points into them. @name names the file in messages. */
int campaign_file_parse(struct campaign_matrix *m, FILE *f, const char *name)
{
	char buf[512], where[CAMPAIGN_PATH + 16];
	unsigned lineno = 0;
	int rc = 0;

	while (!rc && fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#'), *line, *key, *value;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (!strchr(buf, '\n') && !feof(f))
			return bad("%s: line too long", where);
		if (hash)
			*hash = 0;
		line = trim(buf);
		if (!*line)
			continue;
		key = line;
		value = strpbrk(line, " \t");
		if (!value)
			return bad("%s: '%s' needs a value", where, key);
		*value++ = 0;
		if (m->nlines == sizeof(m->lines) / sizeof(m->lines[0]))
			return bad("%s: more than %zu lines with values", where,
				   sizeof(m->lines) / sizeof(m->lines[0]));
		value = strdup(trim(value));
		if (!value)
			return bad("out of memory");
		m->lines[m->nlines++] = value;
		rc = file_line(m, key, value, where);
	}
	return rc;
}

int campaign_file_read(struct campaign_matrix *m, const char *path)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return bad("cannot read %s", path);
	rc = campaign_file_parse(m, f, path);
	fclose(f);
	return rc;
}
