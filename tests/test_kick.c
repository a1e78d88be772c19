// SPDX-License-Identifier: MIT
/* Kicks, wakes and waits, with vCPU modes set by hand (no executor runs). */
#include "helpers.h"
#include "kick.h"
#include "reqvisor/request.h"
#include "sched/pcpu.h"

static struct test_vm t;
static struct rv_vm *vm;

static void setup(void)
{
	t = test_vm_create(test_config(8, 2, RV_EXEC_THREADS, 1), "halt", 1);
	vm = t.vm;
}

static void teardown(void)
{
	test_vm_destroy(&t);
}

static struct rv_vcpu *vcpu(unsigned i)
{
	return rv_vm_vcpu(vm, i);
}

/* Put @v "in guest mode" on pCPU @p, with the pCPU's IPI word clear. */
static void enter(struct rv_vcpu *v, unsigned p)
{
	atomic_store(&v->pcpu, vm->pcpus[p]);
	atomic_store(&vm->pcpus[p]->ipi, 0);
	atomic_store(&v->mode, RV_IN_GUEST_MODE);
}

static void block(struct rv_vcpu *v)
{
	atomic_store(&v->run_state, RV_VCPU_BLOCKED);
	atomic_fetch_add(&vm->nr_blocked, 1);
}

START_TEST(kick_outside_guest_sends_no_ipi)
{
	ck_assert(!rv_make_request_and_kick(vcpu(0), RV_REQ_TLB_FLUSH));
	ck_assert(rv_test_request(vcpu(0), RV_REQ_BIT_TLB_FLUSH));
	ck_assert_int_eq(atomic_load(&vcpu(0)->mode), RV_OUTSIDE_GUEST_MODE);
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_kicks_avoided), 1);
}
END_TEST

START_TEST(kick_in_guest_flips_mode_and_sends_one_ipi)
{
	enter(vcpu(1), 1);
	ck_assert(rv_make_request_and_kick(vcpu(1), RV_REQ_TLB_FLUSH_CURRENT));
	ck_assert_int_eq(atomic_load(&vcpu(1)->mode), RV_EXITING_GUEST_MODE);
	ck_assert_uint_eq(atomic_load(&vm->pcpus[1]->ipi), 1);
	ck_assert_uint_eq(atomic_load(&vm->pcpus[0]->ipi), 0);
	/* A second kicker finds EXITING: no second IPI. */
	atomic_store(&vm->pcpus[1]->ipi, 0);
	ck_assert(!rv_make_request_and_kick(vcpu(1), RV_REQ_EVENT));
	ck_assert_uint_eq(atomic_load(&vm->pcpus[1]->ipi), 0);
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_kicks_sent), 1);
}
END_TEST

START_TEST(no_action_sets_no_bit_but_kicks)
{
	enter(vcpu(2), 0);
	rv_vcpu_kick(vcpu(2));
	ck_assert(!rv_request_pending(vcpu(2)));
	ck_assert_int_eq(atomic_load(&vcpu(2)->mode), RV_EXITING_GUEST_MODE);
	ck_assert_uint_eq(atomic_load(&vm->pcpus[0]->ipi), 1);
}
END_TEST

START_TEST(request_without_no_wakeup_wakes_a_halted_vcpu)
{
	block(vcpu(3));
	ck_assert(!rv_make_request_and_kick(vcpu(3), RV_REQ_EVENT));
	ck_assert_int_eq(atomic_load(&vcpu(3)->run_state), RV_VCPU_RUNNABLE);
	ck_assert_uint_eq(atomic_load(&vm->nr_blocked), 0);
	ck_assert(rv_sched_any_queued(vm));
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_wakes_sent), 1);
}
END_TEST

START_TEST(no_wakeup_request_leaves_a_halted_vcpu_asleep)
{
	block(vcpu(3));
	rv_make_request_and_kick(vcpu(3), RV_REQ_TLB_FLUSH);
	ck_assert_int_eq(atomic_load(&vcpu(3)->run_state), RV_VCPU_BLOCKED);
	ck_assert(rv_test_request(vcpu(3), RV_REQ_BIT_TLB_FLUSH));
	ck_assert(!rv_sched_any_queued(vm));
}
END_TEST

START_TEST(wake_is_won_once)
{
	block(vcpu(4));
	ck_assert(rv_vcpu_wake(vcpu(4)));
	ck_assert(!rv_vcpu_wake(vcpu(4)));
	ck_assert_uint_eq(atomic_load(&vm->pcpus[0]->rq.len) + atomic_load(&vm->pcpus[1]->rq.len),
			  1);
}
END_TEST

static struct rv_wait_entry entries[RV_MAX_VCPUS];

START_TEST(wait_broadcast_records_only_targets_not_outside)
{
	struct rv_waitset ws = { .entry = entries };
	struct rv_bcast_count c = { 0 };

	enter(vcpu(1), 0);
	atomic_store(&vcpu(2)->mode, RV_EXITING_GUEST_MODE);
	atomic_store(&vcpu(3)->mode, RV_READING_SHADOW_PAGE_TABLES);
	block(vcpu(5));
	rv_broadcast(vm, RV_REQ_TLB_FLUSH, NULL, NULL, &ws, &c);
	ck_assert_uint_eq(c.kicks, 1);
	ck_assert_uint_eq(c.avoided, 7);
	ck_assert_uint_eq(c.wakes, 0);
	ck_assert_uint_eq(ws.nr, 3);
	for (unsigned i = 0; i < 8; i++)
		ck_assert(rv_test_request(vcpu(i), RV_REQ_BIT_TLB_FLUSH));
	ck_assert(!rv_waitset_done(vm, &ws));
	/* vCPU 1 exits, 2 exits, 3 ends its walk: each moves its exit count. */
	atomic_store(&vcpu(1)->mode, RV_OUTSIDE_GUEST_MODE);
	atomic_fetch_add(&vcpu(1)->exits, 1);
	ck_assert(!rv_waitset_done(vm, &ws));
	ck_assert_uint_eq(ws.nr, 2);
	atomic_store(&vcpu(2)->mode, RV_OUTSIDE_GUEST_MODE);
	ck_assert(!rv_waitset_done(vm, &ws));
	/* Re-entered after exiting once: done although it is in guest again. */
	atomic_fetch_add(&vcpu(3)->exits, 1);
	ck_assert(rv_waitset_done(vm, &ws));
}
END_TEST

START_TEST(wait_without_no_wakeup_wakes_a_halted_vcpu_and_does_not_wait)
{
	struct rv_waitset ws = { .entry = entries };
	struct rv_bcast_count c = { 0 };
	struct rv_vcpu_mask m;

	rv_mask_zero(&m);
	rv_mask_set(&m, 5);
	block(vcpu(5));
	rv_broadcast(vm, RV_REQ_EVENT | RV_REQ_WAIT, &m, NULL, &ws, &c);
	ck_assert_uint_eq(c.wakes, 1);
	ck_assert_uint_eq(ws.nr, 0);
	ck_assert_int_eq(atomic_load(&vcpu(5)->run_state), RV_VCPU_RUNNABLE);
}
END_TEST

START_TEST(outside_guest_mode_request_kicks_and_waits_without_a_bit)
{
	struct rv_waitset ws = { .entry = entries };
	struct rv_bcast_count c = { 0 };

	enter(vcpu(4), 1);
	block(vcpu(6));
	rv_broadcast(vm, RV_REQ_OUTSIDE_GUEST_MODE, NULL, NULL, &ws, &c);
	ck_assert_uint_eq(c.kicks, 1);
	ck_assert_uint_eq(c.wakes, 0);
	ck_assert_uint_eq(ws.nr, 1);
	ck_assert_uint_eq(ws.entry[0].index, 4);
	for (unsigned i = 0; i < 8; i++)
		ck_assert(!rv_request_pending(vcpu(i)));
	ck_assert_int_eq(atomic_load(&vcpu(6)->run_state), RV_VCPU_BLOCKED);
}
END_TEST

START_TEST(broadcast_without_wait_waits_for_nobody)
{
	struct rv_waitset ws = { .entry = entries };
	struct rv_bcast_count c = { 0 };

	enter(vcpu(1), 0);
	atomic_store(&vcpu(2)->mode, RV_EXITING_GUEST_MODE);
	rv_broadcast(vm, RV_REQ_TLB_FLUSH_CURRENT, NULL, NULL, &ws, &c);
	ck_assert_uint_eq(c.kicks, 1);
	ck_assert_uint_eq(ws.nr, 0);
}
END_TEST

START_TEST(mask_broadcast_touches_only_the_mask)
{
	struct rv_vcpu_mask m;
	struct rv_bcast_count c = { 0 };

	rv_mask_zero(&m);
	rv_mask_set(&m, 2);
	rv_mask_set(&m, 6);
	rv_mask_set(&m, 4000); /* beyond the VM: ignored */
	enter(vcpu(6), 1);
	rv_broadcast(vm, RV_REQ_MMU_SYNC, &m, NULL, NULL, &c);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_int_eq(rv_test_request(vcpu(i), RV_REQ_BIT_MMU_SYNC), i == 2 || i == 6);
	ck_assert_uint_eq(c.kicks, 1);
	ck_assert_uint_eq(c.avoided, 1);
}
END_TEST

START_TEST(broadcast_skips_the_sender)
{
	struct rv_bcast_count c = { 0 };

	rv_broadcast(vm, RV_REQ_MMU_SYNC, NULL, vcpu(0), NULL, &c);
	ck_assert(!rv_request_pending(vcpu(0)));
	ck_assert(rv_request_pending(vcpu(7)));
}
END_TEST

START_TEST(host_wait_broadcast_returns_once_targets_exit)
{
	/* No target in guest mode: returns at once, reports no kick. */
	ck_assert(!rv_make_all_vcpus_request(vm, RV_REQ_TLB_FLUSH));
	for (unsigned i = 0; i < 8; i++)
		ck_assert(rv_test_request(vcpu(i), RV_REQ_BIT_TLB_FLUSH));
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_waits), 0);
}
END_TEST

START_TEST(kick_drop_fault_flips_mode_but_sends_nothing)
{
	struct rv_faults *f = &vm->faults;
	char err[128];

	ck_assert_int_eq(rv_faults_parse(f, "kick.drop", 1, err, sizeof(err)), 0);
	enter(vcpu(1), 1);
	ck_assert(rv_make_request_and_kick(vcpu(1), RV_REQ_EVENT));
	ck_assert_int_eq(atomic_load(&vcpu(1)->mode), RV_EXITING_GUEST_MODE);
	ck_assert_uint_eq(atomic_load(&vm->pcpus[1]->ipi), 0);
	ck_assert_uint_eq(rv_vm_stat(vm, RV_STAT_kicks_dropped), 1);
}
END_TEST

static Suite *kick_suite(void)
{
	Suite *s = suite_create("kick");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kick_outside_guest_sends_no_ipi);
	tcase_add_test(tc, kick_in_guest_flips_mode_and_sends_one_ipi);
	tcase_add_test(tc, no_action_sets_no_bit_but_kicks);
	tcase_add_test(tc, request_without_no_wakeup_wakes_a_halted_vcpu);
	tcase_add_test(tc, no_wakeup_request_leaves_a_halted_vcpu_asleep);
	tcase_add_test(tc, wake_is_won_once);
	tcase_add_test(tc, wait_broadcast_records_only_targets_not_outside);
	tcase_add_test(tc, wait_without_no_wakeup_wakes_a_halted_vcpu_and_does_not_wait);
	tcase_add_test(tc, outside_guest_mode_request_kicks_and_waits_without_a_bit);
	tcase_add_test(tc, broadcast_without_wait_waits_for_nobody);
	tcase_add_test(tc, mask_broadcast_touches_only_the_mask);
	tcase_add_test(tc, broadcast_skips_the_sender);
	tcase_add_test(tc, host_wait_broadcast_returns_once_targets_exit);
	tcase_add_test(tc, kick_drop_fault_flips_mode_but_sends_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(kick_suite());
}
