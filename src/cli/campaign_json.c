// SPDX-License-Identifier: MIT
/*
 * A campaign's JSON lines: one flat object per run, written as runs finish
 * and read back by `reqvisor campaign merge`. The reader takes only what
 * the writer makes (string and integer members, in any order).
 * "campaign_runs", "shard" and "shards" (the campaign's size and the shard
 * the run was in, for merge to find missing runs) are optional: records
 * written before them read with 0, unknown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"

static void put_string(FILE *out, const char *key, const char *s)
{
	fprintf(out, "\"%s\":\"", key);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

void campaign_json_write(FILE *out, const struct campaign_run *r, const char *replay)
{
	fprintf(out,
		"{\"index\":%" PRIu32 ",\"campaign_runs\":%" PRIu32 ",\"shard\":%" PRIu32
		",\"shards\":%" PRIu32 ",",
		r->index, r->total, r->shard, r->nshards);
	put_string(out, "guest", r->guest);
	fputc(',', out);
	put_string(out, "args", r->args);
	fputc(',', out);
	put_string(out, "fault", r->fault);
	fprintf(out, ",\"seed\":%" PRIu64 ",\"status\":%d,", r->seed, r->status);
	put_string(out, "outcome", campaign_outcome_name(campaign_outcome(r)));
	fprintf(out, ",\"violations\":%" PRIu64 ",\"seconds\":%.3f,", r->violations, r->seconds);
	put_string(out, "first_violation", r->report);
	fputc(',', out);
	put_string(out, "replay", replay);
	fputs("}\n", out);
}

/* The value of "key": in @line, after its colon, or NULL. */
static const char *member(const char *line, const char *key)
{
	char pat[40];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? p + strlen(pat) : NULL;
}

static int get_string(const char *line, const char *key, char *out, size_t len)
{
	const char *p = member(line, key);
	size_t n = 0;

	if (!p || *p++ != '"')
		return -1;
	for (; *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			if (*p == 'u') {
				unsigned v = 0;

				for (int i = 1; i <= 4; i++) {
					char h = p[i];

					if (!h)
						return -1;
					v = v * 16 +
					    (unsigned)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
				}
				p += 4;
				ch = (char)v;
			} else if (*p) {
				ch = *p;
			} else {
				return -1;
			}
		}
		if (n + 1 < len)
			out[n++] = ch;
	}
	out[n] = 0;
	return *p == '"' ? 0 : -1;
}

/* An unsigned member up to @max, or a signed one (@max 0: an int). A seed
 * takes all 64 bits, so unsigned members are read as unsigned. */
static int get_number(const char *line, const char *key, uint64_t max, int64_t *out)
{
	const char *p = member(line, key);
	char *end;

	if (!p)
		return -1;
	errno = 0;
	if (!max) {
		long long v = strtoll(p, &end, 10);

		if (end == p || errno || v < INT32_MIN || v > INT32_MAX)
			return -1;
		*out = v;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long v = strtoull(p, &end, 10);

	if (errno || v > max)
		return -1;
	*(uint64_t *)out = v;
	return 0;
}

/* An optional unsigned member up to @max: absent, 0. */
static int get_optional(const char *line, const char *key, uint64_t max, uint32_t *out)
{
	int64_t v = 0;

	if (member(line, key) && get_number(line, key, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int campaign_json_read(const char *line, struct campaign_run *r)
{
	int64_t index, seed, status, violations;

	memset(r, 0, sizeof(*r));
	if (get_number(line, "index", UINT32_MAX, &index) ||
	    get_number(line, "seed", UINT64_MAX, &seed) || get_number(line, "status", 0, &status) ||
	    get_number(line, "violations", UINT64_MAX, &violations) ||
	    get_string(line, "guest", r->guest, sizeof(r->guest)) ||
	    get_string(line, "args", r->args, sizeof(r->args)) ||
	    get_string(line, "fault", r->fault, sizeof(r->fault)) ||
	    get_string(line, "first_violation", r->report, sizeof(r->report)) ||
	    get_string(line, "replay", r->replay, sizeof(r->replay)))
		return -1;
	r->index = (uint32_t)index;
	/* The campaign's size and the shard: absent from older records, and
	 * when present, the run must be one of them. */
	if (get_optional(line, "campaign_runs", CAMPAIGN_MAX_RUNS, &r->total) ||
	    get_optional(line, "shard", UINT32_MAX, &r->shard) ||
	    get_optional(line, "shards", UINT32_MAX, &r->nshards) ||
	    (r->total && r->index >= r->total) || (!r->nshards && r->shard) ||
	    (r->nshards && r->index % r->nshards != r->shard))
		return -1;
	r->seed = (uint64_t)seed;
	r->status = (int)status;
	r->violations = (uint64_t)violations;
	{
		const char *p = member(line, "seconds");

		r->seconds = p ? strtod(p, NULL) : 0;
	}
	return 0;
}
