// SPDX-License-Identifier: MIT
/*
 * Every corpus case on the host CPU: it must run to its end, or raise the
 * exception it was written to raise, never trip the runner; the registers
 * the generator worked out must come out as predicted; and a second pass,
 * in the opposite order, must give bit-identical results.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../helpers.h"
#include "corpus.h"
#include "native_ref.h"

#define MAX_REPORTED 40

static unsigned failures;

__attribute__((format(printf, 2, 3))) static void report(const struct snippet *s, const char *fmt,
							 ...)
{
	va_list ap;

	if (++failures > MAX_REPORTED)
		return;
	fprintf(stderr, "%s: ", s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *end_name(enum snippet_end end)
{
	static const char *const names[] = { "done", "exception", "error", "skipped" };

	return end <= SNIPPET_END_SKIPPED ? names[end] : "?";
}

/* Does the run end the way the case says it should? */
static void check_end(size_t i, const struct snippet *s, const struct snippet_result *r)
{
	int want = corpus_expect_vector(i);

	if (s->privileged) {
		if (r->end != SNIPPET_END_SKIPPED)
			report(s, "privileged but %s", end_name(r->end));
		return;
	}
	if (r->end == SNIPPET_END_ERROR) {
		report(s, "runner error: %s", r->message);
		return;
	}
	if (want < 0 && r->end != SNIPPET_END_DONE) {
		report(s,
		       "want done, got %s vector %d at rip %#" PRIx64 " (error code %#" PRIx64
		       ", cr2 %#" PRIx64 ")",
		       end_name(r->end), r->vector, r->out.rip, r->error_code, r->cr2);
		return;
	}
	if (want >= 0 && (r->end != SNIPPET_END_EXCEPTION || r->vector != want)) {
		report(s, "want vector %d, got %s vector %d", want, end_name(r->end), r->vector);
		return;
	}
	if (want < 0 && r->out.rip != SNIPPET_CODE + s->len)
		report(s, "done at rip %#" PRIx64 ", not at the terminator", r->out.rip);
}

static void check_expected_gprs(size_t i, const struct snippet *s, const struct snippet_result *r)
{
	int gpr[CORPUS_MAX_EXPECT];
	uint64_t val[CORPUS_MAX_EXPECT];
	int n = corpus_expect_gprs(i, gpr, val);

	if (r->end != SNIPPET_END_DONE)
		return;
	for (int k = 0; k < n; k++)
		if (r->out.gpr[gpr[k]] != val[k])
			report(s, "gpr %d is %#" PRIx64 ", the generator expected %#" PRIx64,
			       gpr[k], r->out.gpr[gpr[k]], val[k]);
}

static int same_result(const struct snippet_result *a, const struct snippet_result *b)
{
	return a->end == b->end && !memcmp(&a->out, &b->out, sizeof(a->out)) &&
	       a->vector == b->vector && a->error_code == b->error_code && a->cr2 == b->cr2 &&
	       !memcmp(a->data, b->data, sizeof(a->data)) && !strcmp(a->message, b->message);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(corpus_is_large_and_well_formed)
{
	size_t n = corpus_count();
	const char **names = calloc(n, sizeof(*names));
	static struct snippet s;

	ck_assert_uint_ge(n, 2000);
	ck_assert_ptr_nonnull(names);
	for (size_t i = 0; i < n; i++) {
		corpus_get(i, &s);
		ck_assert_msg(s.len > 0 && s.len <= SNIPPET_CODE_MAX, "%s: length %zu", s.name,
			      s.len);
		ck_assert_msg(s.in.gpr[RSP] >= SNIPPET_STACK - 0x10000 &&
				      s.in.gpr[RSP] < SNIPPET_STACK,
			      "%s: RSP outside the stack", s.name);
		ck_assert_msg(!(s.in.rflags & ~SNIPPET_FLAGS_DEFINED & ~2ull),
			      "%s: rflags %#" PRIx64, s.name, s.in.rflags);
		ck_assert_msg(!(s.undefined_flags & ~SNIPPET_FLAGS_DEFINED), "%s", s.name);
		names[i] = s.name;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(strcmp(names[i - 1], names[i]), "duplicate name %s", names[i]);
	free(names);
}
END_TEST

START_TEST(every_case_runs_natively_and_repeatably)
{
	char err[256] = "";
	struct native_ref *ref = native_ref_open(err, sizeof(err));
	size_t n = corpus_count();
	struct snippet_result *first = calloc(n, sizeof(*first));
	static struct snippet s;
	static struct snippet_result again;
	unsigned ended[SNIPPET_END_SKIPPED + 1] = { 0 };

	ck_assert_msg(ref, "%s", err);
	ck_assert_ptr_nonnull(first);
	for (size_t i = 0; i < n; i++) {
		corpus_get(i, &s);
		native_ref_run(ref, &s, &first[i]);
		check_end(i, &s, &first[i]);
		check_expected_gprs(i, &s, &first[i]);
		if (first[i].end <= SNIPPET_END_SKIPPED)
			ended[first[i].end]++;
	}
	/* Backwards, so nothing one case leaves behind can shape the next. */
	for (size_t i = n; i-- > 0;) {
		corpus_get(i, &s);
		native_ref_run(ref, &s, &again);
		if (!same_result(&first[i], &again))
			report(&s,
			       "second run differs (%s, rip %#" PRIx64 " then %s, rip %#" PRIx64
			       ")",
			       end_name(first[i].end), first[i].out.rip, end_name(again.end),
			       again.out.rip);
	}
	native_ref_close(ref);
	free(first);
	printf("native_corpus: %zu cases: %u done, %u exceptions, %u skipped, %u errors\n", n,
	       ended[SNIPPET_END_DONE], ended[SNIPPET_END_EXCEPTION], ended[SNIPPET_END_SKIPPED],
	       ended[SNIPPET_END_ERROR]);
	if (failures > MAX_REPORTED)
		fprintf(stderr, "... and %u more\n", failures - MAX_REPORTED);
	ck_assert_msg(failures == 0, "%u corpus failures (see stderr)", failures);
}
END_TEST

static Suite *corpus_suite(void)
{
	Suite *su = suite_create("native_corpus");
	TCase *tc = tcase_create("corpus");

	tcase_add_test(tc, corpus_is_large_and_well_formed);
	tcase_add_test(tc, every_case_runs_natively_and_repeatably);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return run_suite(corpus_suite());
}
