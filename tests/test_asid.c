// SPDX-License-Identifier: MIT
/*
 * Per-pCPU ASID generations (APM vol. 2 §15.16, KVM's SVM allocator): the
 * order of allocation, wrap-around with its flush of every ASID, the fresh
 * ASID after migration, and a random schedule checked against the safety
 * rule: between two flushes of every ASID on a pCPU, an ASID tags one vCPU's
 * entries only, and a vCPU reuses its ASID only if it has not run elsewhere
 * in between.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "helpers.h"
#include "svm/asid.h"

START_TEST(the_first_run_flushes_all_then_asids_go_in_order)
{
	struct rv_asid_pcpu p;
	struct rv_asid_vcpu a, b;

	rv_asid_pcpu_init(&p, 16);
	rv_asid_vcpu_init(&a);
	rv_asid_vcpu_init(&b);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &a), RV_TLB_CONTROL_ALL_ASIDS);
	ck_assert_uint_eq(a.asid, 1);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &b), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(b.asid, 2);
	/* Staying on the pCPU keeps the ASID, with nothing to flush. */
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &a), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(a.asid, 1);
}
END_TEST

START_TEST(running_out_starts_a_generation_and_flushes_every_asid)
{
	struct rv_asid_pcpu p;
	struct rv_asid_vcpu v[4];

	rv_asid_pcpu_init(&p, 4); /* ASIDs 1..3 */
	for (int i = 0; i < 4; i++)
		rv_asid_vcpu_init(&v[i]);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &v[0]), RV_TLB_CONTROL_ALL_ASIDS);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &v[1]), RV_TLB_CONTROL_NOTHING);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &v[2]), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(v[2].asid, 3);
	uint64_t gen = p.generation;

	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &v[3]), RV_TLB_CONTROL_ALL_ASIDS);
	ck_assert_uint_eq(v[3].asid, 1);
	ck_assert_uint_eq(p.generation, gen + 1);
	/* The others belong to the old generation: new ASIDs, no more flushes. */
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &v[0]), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(v[0].asid, 2);
}
END_TEST

START_TEST(a_migrated_vcpu_gets_a_fresh_asid_even_back_home)
{
	struct rv_asid_pcpu p0, p1;
	struct rv_asid_vcpu a;

	rv_asid_pcpu_init(&p0, 64);
	rv_asid_pcpu_init(&p1, 64);
	rv_asid_vcpu_init(&a);
	rv_asid_prepare_run(&p0, 0, &a);
	ck_assert_uint_eq(a.asid, 1);
	rv_asid_prepare_run(&p1, 1, &a);
	ck_assert_uint_eq(a.asid, 1); /* pCPU 1's own first ASID */
	/* pCPU 0's generation has not moved, but its entries tagged 1 predate
	 * whatever a flushed on pCPU 1: a must not take ASID 1 again there. */
	ck_assert_int_eq(rv_asid_prepare_run(&p0, 0, &a), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(a.asid, 2);
}
END_TEST

START_TEST(invalidate_gives_a_fresh_asid_at_the_next_run)
{
	struct rv_asid_pcpu p;
	struct rv_asid_vcpu a;

	rv_asid_pcpu_init(&p, 64);
	rv_asid_vcpu_init(&a);
	rv_asid_prepare_run(&p, 0, &a);
	rv_asid_invalidate(&a);
	ck_assert_int_eq(rv_asid_prepare_run(&p, 0, &a), RV_TLB_CONTROL_NOTHING);
	ck_assert_uint_eq(a.asid, 2);
}
END_TEST

#define NR_PCPUS 3
#define NR_VCPUS 7
#define STEPS	 20000

/* Who each ASID on each pCPU may tag, since that pCPU's last flush-all. */
struct model {
	int owner[NR_PCPUS][64]; /* -1: nobody */
	int last_ran[NR_VCPUS];	 /* pCPU, -1 never */
};

static void check_run(struct model *m, int pcpu, int vcpu, uint32_t asid,
		      enum rv_svm_tlb_control ctl)
{
	if (ctl == RV_TLB_CONTROL_ALL_ASIDS)
		for (int a = 0; a < 64; a++)
			m->owner[pcpu][a] = -1;
	ck_assert_uint_ge(asid, 1);
	int prev = m->owner[pcpu][asid];

	ck_assert_msg(prev == -1 || prev == vcpu,
		      "pCPU %d: ASID %u given to vCPU %d while it may tag vCPU %d's entries", pcpu,
		      asid, vcpu, prev);
	ck_assert_msg(prev == -1 || m->last_ran[vcpu] == pcpu,
		      "pCPU %d: vCPU %d reuses ASID %u after running on pCPU %d", pcpu, vcpu, asid,
		      m->last_ran[vcpu]);
	m->owner[pcpu][asid] = vcpu;
	m->last_ran[vcpu] = pcpu;
}

static void random_schedule(uint32_t nr_asids, unsigned seed, bool invalidate)
{
	struct rv_asid_pcpu p[NR_PCPUS];
	struct rv_asid_vcpu v[NR_VCPUS];
	struct model m;
	uint64_t flushes = 0;

	for (int i = 0; i < NR_PCPUS; i++) {
		rv_asid_pcpu_init(&p[i], nr_asids);
		for (int a = 0; a < 64; a++)
			m.owner[i][a] = -1;
	}
	for (int i = 0; i < NR_VCPUS; i++) {
		rv_asid_vcpu_init(&v[i]);
		m.last_ran[i] = -1;
	}
	srand(seed);
	for (int step = 0; step < STEPS; step++) {
		int vcpu = rand() % NR_VCPUS;
		/* Mostly stay put, sometimes migrate. */
		int pcpu =
			m.last_ran[vcpu] >= 0 && rand() % 8 ? m.last_ran[vcpu] : rand() % NR_PCPUS;

		if (invalidate && rand() % 16 == 0)
			rv_asid_invalidate(&v[vcpu]);
		enum rv_svm_tlb_control ctl = rv_asid_prepare_run(&p[pcpu], pcpu, &v[vcpu]);

		ck_assert_uint_le(v[vcpu].asid, nr_asids - 1);
		flushes += ctl == RV_TLB_CONTROL_ALL_ASIDS;
		check_run(&m, pcpu, vcpu, v[vcpu].asid, ctl);
	}
	/* Few ASIDs must wrap; many must not need more than the first flushes. */
	if (nr_asids <= NR_VCPUS)
		ck_assert_uint_gt(flushes, NR_PCPUS);
}

START_TEST(random_schedules_never_share_an_asid_between_flushes)
{
	for (uint32_t nr = 2; nr <= 64; nr = nr * 2)
		for (unsigned seed = 1; seed <= 4; seed++)
			random_schedule(nr, seed, seed % 2);
}
END_TEST

static Suite *asid_suite(void)
{
	Suite *s = suite_create("asid");
	TCase *tc = tcase_create("generations");

	tcase_add_test(tc, the_first_run_flushes_all_then_asids_go_in_order);
	tcase_add_test(tc, running_out_starts_a_generation_and_flushes_every_asid);
	tcase_add_test(tc, a_migrated_vcpu_gets_a_fresh_asid_even_back_home);
	tcase_add_test(tc, invalidate_gives_a_fresh_asid_at_the_next_run);
	tcase_add_test(tc, random_schedules_never_share_an_asid_between_flushes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(asid_suite());
}
