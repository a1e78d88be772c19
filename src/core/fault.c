// SPDX-License-Identifier: MIT
/* The fault-point registry, the spec parser and the firing decision. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqvisor/fault.h"

struct fault_desc {
	const char *name;
	enum rv_fault_class cls;
	const char *meaning;
};

static const struct fault_desc registry[RV_NR_FAULTS] = {
#define RV_FAULT_POINT(id, name, cls, meaning) [RV_FAULT_##id] = { name, cls, meaning },
#include "reqvisor/faults.def"
#undef RV_FAULT_POINT
};

const char *rv_fault_name(enum rv_fault_id id)
{
	return registry[id].name;
}

enum rv_fault_class rv_fault_class(enum rv_fault_id id)
{
	return registry[id].cls;
}

int rv_fault_lookup(const char *name)
{
	for (int i = 0; i < RV_NR_FAULTS; i++)
		if (!strcmp(registry[i].name, name))
			return i;
	return -1;
}

/* splitmix64: the decision for hit n of a point depends on nothing else. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

bool rv_fault_fire(struct rv_faults *f, enum rv_fault_id id)
{
	const struct rv_fault_rule *r = &f->rule[id];
	uint64_t n = atomic_fetch_add_explicit(&f->hits[id], 1, memory_order_relaxed) + 1;
	bool fire = false;

	for (uint32_t i = 0; i < r->nr_hits && !fire; i++)
		fire = r->hits[i] == n;
	if (!fire && r->threshold)
		fire = r->threshold == UINT64_MAX || mix(f->seed ^ mix(id) ^ n) < r->threshold;
	if (fire)
		atomic_fetch_add_explicit(&f->fired[id], 1, memory_order_relaxed);
	return fire;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_probability(const char *s, uint64_t *threshold)
{
	char *end;

	errno = 0;
	double p = strtod(s, &end);

	if (errno || end == s || *end || !(p >= 0.0 && p <= 1.0))
		return -1;
	double t = p * 18446744073709551616.0;

	*threshold = t >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)t;
	return 0;
}

static int parse_hit(const char *s, uint64_t *hit)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);

	if (errno || *end || n == 0)
		return -1;
	*hit = n;
	return 0;
}

/* One item: "name", "name=P" or "name@N". */
static int parse_item(struct rv_faults *f, char *item, char *err, size_t len)
{
	char *arg = item + strcspn(item, "=@");
	char sep = *arg;

	*arg = '\0';
	int id = rv_fault_lookup(item);

	if (id < 0)
		return fail(err, len, "unknown fault point '%s' (see docs/faults.md)", item);
	struct rv_fault_rule *r = &f->rule[id];

	if (sep == '\0') {
		r->threshold = UINT64_MAX;
	} else if (sep == '=') {
		if (parse_probability(arg + 1, &r->threshold))
			return fail(err, len,
				    "fault '%s': probability must be a number from 0 to 1", item);
	} else {
		if (r->nr_hits == RV_FAULT_MAX_HITS)
			return fail(err, len, "fault '%s': at most 8 exact hits", item);
		if (parse_hit(arg + 1, &r->hits[r->nr_hits]))
			return fail(err, len, "fault '%s': @ takes a hit number from 1", item);
		r->nr_hits++;
	}
	f->armed |= 1ull << id;
	return 0;
}

int rv_faults_parse(struct rv_faults *f, const char *spec, uint64_t seed, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->seed = seed;
	if (!spec || !*spec)
		return 0;
	char *copy = strdup(spec);

	if (!copy)
		return fail(err, errlen, "%s", "out of memory");
	int rc = 0;
	char *save = NULL;
	const char *last = copy + strlen(copy) - 1;

	if (*copy == ',' || *last == ',' || strstr(copy, ",,"))
		rc = fail(err, errlen, "fault spec '%s' has an empty item", spec);
	for (char *item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save))
		rc = parse_item(f, item, err, errlen);
	free(copy);
	if (rc)
		memset(f, 0, sizeof(*f));
	return rc;
}
