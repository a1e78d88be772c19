// SPDX-License-Identifier: MIT
/* The fault-spec parser and the firing decision. */
#include <string.h>

#include "helpers.h"
#include "reqvisor/fault.h"

static struct rv_faults f;
static char err[256];

static int parse(const char *spec)
{
	err[0] = '\0';
	return rv_faults_parse(&f, spec, 7, err, sizeof(err));
}

START_TEST(registry_names_every_point)
{
	static const char *const want[] = { "kick.drop", "kick.delay", "request.spurious",
					    "vcpu.preempt", "entry.no_recheck" };

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_int_ge(rv_fault_lookup(want[i]), 0);
	ck_assert_int_eq(rv_fault_class(RV_FAULT_ENTRY_NO_RECHECK), RV_FAULT_BREAKING);
	ck_assert_int_eq(rv_fault_class(RV_FAULT_KICK_DROP), RV_FAULT_BENIGN);
	ck_assert_int_eq(rv_fault_lookup("kick.nope"), -1);
}
END_TEST

START_TEST(empty_spec_arms_nothing)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(f.armed, 0);
	ck_assert_int_eq(rv_faults_parse(&f, NULL, 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.armed, 0);
}
END_TEST

START_TEST(spec_arms_named_points)
{
	ck_assert_int_eq(parse("kick.drop=0.5,request.spurious@5,vcpu.preempt"), 0);
	ck_assert_uint_eq(f.armed, (1ull << RV_FAULT_KICK_DROP) |
					   (1ull << RV_FAULT_REQUEST_SPURIOUS) |
					   (1ull << RV_FAULT_VCPU_PREEMPT));
	ck_assert_uint_eq(f.rule[RV_FAULT_REQUEST_SPURIOUS].nr_hits, 1);
	ck_assert_uint_eq(f.rule[RV_FAULT_VCPU_PREEMPT].threshold, UINT64_MAX);
}
END_TEST

START_TEST(bad_specs_are_rejected_with_a_message)
{
	static const char *const bad[] = {
		"kick.nope",
		"kick.drop=1.5",
		"kick.drop=-0.1",
		"kick.drop=abc",
		"kick.drop=",
		"kick.drop@0",
		"kick.drop@x",
		"kick.drop@",
		",kick.drop",
		"kick.drop,",
		"kick.drop,,vcpu.preempt",
		"kick.drop@1@2",
		"=0.5",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i]) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(strlen(err) > 0, "no message for '%s'", bad[i]);
		ck_assert_uint_eq(f.armed, 0);
	}
	parse("kick.drop=2");
	ck_assert_ptr_nonnull(strstr(err, "kick.drop"));
}
END_TEST

START_TEST(exact_hits_fire_exactly_there)
{
	ck_assert_int_eq(parse("kick.delay@3,kick.delay@5"), 0);
	for (int n = 1; n <= 10; n++)
		ck_assert_int_eq(RV_FAULT_HIT(&f, KICK_DELAY), n == 3 || n == 5);
	ck_assert_uint_eq(atomic_load(&f.fired[RV_FAULT_KICK_DELAY]), 2);
	ck_assert_uint_eq(atomic_load(&f.hits[RV_FAULT_KICK_DELAY]), 10);
}
END_TEST

START_TEST(unarmed_point_never_fires_nor_counts)
{
	ck_assert_int_eq(parse("kick.drop"), 0);
	for (int n = 0; n < 100; n++)
		ck_assert(!RV_FAULT_HIT(&f, KICK_DELAY));
	ck_assert_uint_eq(atomic_load(&f.hits[RV_FAULT_KICK_DELAY]), 0);
}
END_TEST

START_TEST(probability_is_close_and_replayable)
{
	bool first[4000];
	unsigned fired = 0;

	ck_assert_int_eq(parse("request.spurious=0.25"), 0);
	for (int n = 0; n < 4000; n++)
		fired += first[n] = RV_FAULT_HIT(&f, REQUEST_SPURIOUS);
	/* Binomial(4000, 0.25): sd ~27, so 850..1150 is over 5 sd. */
	ck_assert_uint_gt(fired, 850);
	ck_assert_uint_lt(fired, 1150);
	ck_assert_int_eq(parse("request.spurious=0.25"), 0);
	for (int n = 0; n < 4000; n++)
		ck_assert_int_eq(RV_FAULT_HIT(&f, REQUEST_SPURIOUS), first[n]);
	ck_assert_int_eq(rv_faults_parse(&f, "request.spurious=0.25", 8, err, sizeof(err)), 0);
	unsigned same = 0;

	for (int n = 0; n < 4000; n++)
		same += RV_FAULT_HIT(&f, REQUEST_SPURIOUS) == first[n];
	ck_assert_uint_lt(same, 4000);
}
END_TEST

START_TEST(probability_zero_and_one)
{
	ck_assert_int_eq(parse("kick.drop=0,kick.delay=1"), 0);
	for (int n = 0; n < 1000; n++) {
		ck_assert(!RV_FAULT_HIT(&f, KICK_DROP));
		ck_assert(RV_FAULT_HIT(&f, KICK_DELAY));
	}
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, registry_names_every_point);
	tcase_add_test(tc, empty_spec_arms_nothing);
	tcase_add_test(tc, spec_arms_named_points);
	tcase_add_test(tc, bad_specs_are_rejected_with_a_message);
	tcase_add_test(tc, exact_hits_fire_exactly_there);
	tcase_add_test(tc, unarmed_point_never_fires_nor_counts);
	tcase_add_test(tc, probability_is_close_and_replayable);
	tcase_add_test(tc, probability_zero_and_one);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(fault_suite());
}
