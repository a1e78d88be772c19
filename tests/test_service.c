// SPDX-License-Identifier: MIT
/* Service order and the coalescing rules of the dispatch loop. */
#include <string.h>

#include "helpers.h"
#include "reqvisor/request.h"
#include "service.h"
#include "vm_impl.h"

/* A vendor that logs which flush ran, in order. */
static char log_buf[64];
static unsigned log_len;

static void log_op(char c)
{
	if (log_len < sizeof(log_buf) - 1)
		log_buf[log_len++] = c;
	log_buf[log_len] = '\0';
}

static void rec_all(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	log_op('A');
}

static void rec_current(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	log_op('C');
}

static void rec_gva(struct rv_vcpu *vcpu, uint64_t gva)
{
	(void)vcpu, (void)gva;
	log_op('V');
}

static void rec_guest(struct rv_vcpu *vcpu)
{
	(void)vcpu;
	log_op('G');
}

static const struct rv_vendor_ops recording_vendor = {
	.name = "recording",
	.flush_tlb_all = rec_all,
	.flush_tlb_current = rec_current,
	.flush_tlb_gva = rec_gva,
	.flush_tlb_guest = rec_guest,
};

static struct test_vm t;
static struct rv_vcpu *v;

static void setup(void)
{
	struct rv_vm_config cfg = test_config(2, 1, RV_EXEC_DETERMINISTIC, 1);

	cfg.vendor = &recording_vendor;
	t = test_vm_create(cfg, "exit", 1);
	v = rv_vm_vcpu(t.vm, 0);
	log_len = 0;
	log_buf[0] = '\0';
}

static void teardown(void)
{
	test_vm_destroy(&t);
}

static void post(uint32_t req)
{
	rv_make_request(v, req);
}

START_TEST(tlb_flush_covers_pending_flush_current)
{
	post(RV_REQ_TLB_FLUSH_CURRENT);
	post(RV_REQ_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "A");
	ck_assert_uint_eq(v->covered[RV_REQ_BIT_TLB_FLUSH_CURRENT], 1);
	ck_assert_uint_eq(v->serviced[RV_REQ_BIT_TLB_FLUSH_CURRENT], 0);
	ck_assert(!rv_request_pending(v));
}
END_TEST

START_TEST(tlb_flush_keeps_pending_flush_guest)
{
	post(RV_REQ_TLB_FLUSH_GUEST);
	post(RV_REQ_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "AG");
	ck_assert_uint_eq(v->serviced[RV_REQ_BIT_TLB_FLUSH_GUEST], 1);
}
END_TEST

START_TEST(flush_current_runs_before_flush_guest)
{
	post(RV_REQ_TLB_FLUSH_GUEST);
	post(RV_REQ_TLB_FLUSH_CURRENT);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "CG");
}
END_TEST

START_TEST(guest_flush_purges_pending_hv_flush)
{
	post(RV_REQ_HV_TLB_FLUSH);
	post(RV_REQ_TLB_FLUSH_GUEST);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
	ck_assert_uint_eq(v->stat[RV_STAT_hv_purges], 1);
	ck_assert_uint_eq(v->stat[RV_STAT_hv_flushes], 0);
	ck_assert_uint_eq(v->covered[RV_REQ_BIT_HV_TLB_FLUSH], 1);
}
END_TEST

static void hv_push(const uint64_t *e, unsigned n)
{
	rv_hv_fifo_push(&v->hv_fifo[RV_HV_L1], e, n);
}

START_TEST(hv_flush_drains_the_fifo_page_by_page)
{
	/* One page, then a page and two more (low 12 bits), then a
	 * non-canonical address, which is skipped. */
	const uint64_t e[] = { 0x1000, 0x5000 | 2, 0x800000000000ull };

	hv_push(e, 3);
	post(RV_REQ_HV_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "VVVV");
	ck_assert_uint_eq(v->stat[RV_STAT_hv_flushes], 1);
	ck_assert_uint_eq(v->hv_fifo[RV_HV_L1].count, 0);
}
END_TEST

START_TEST(hv_flush_all_entry_is_one_guest_flush)
{
	const uint64_t e[] = { 0x1000 };

	hv_push(e, 1);
	hv_push(NULL, 0); /* a Space call */
	hv_push(e, 1);
	post(RV_REQ_HV_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
}
END_TEST

START_TEST(hv_flush_with_shadow_paging_is_one_guest_flush)
{
	const uint64_t e[] = { 0x1000, 0x2000 };

	t.vm->cfg.shadow_paging = true;
	hv_push(e, 2);
	post(RV_REQ_HV_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
}
END_TEST

START_TEST(hv_fifo_takes_a_batch_only_with_a_slot_to_spare)
{
	uint64_t e[RV_HV_FIFO_SIZE], out[RV_HV_FIFO_SIZE];
	struct rv_hv_fifo *f = &v->hv_fifo[RV_HV_L1];

	for (unsigned i = 0; i < RV_HV_FIFO_SIZE; i++)
		e[i] = (i + 1) * 0x1000ull;
	ck_assert(rv_hv_fifo_push(f, e, 10));
	ck_assert(rv_hv_fifo_push(f, e, 5));  /* 15: one slot left */
	ck_assert(!rv_hv_fifo_push(f, e, 1)); /* no spare: flush-all */
	ck_assert_uint_eq(f->count, RV_HV_FIFO_SIZE);
	ck_assert(!rv_hv_fifo_push(f, e, 1)); /* full, and ends in flush-all */
	ck_assert_uint_eq(rv_hv_fifo_take(f, out), RV_HV_FIFO_SIZE);
	ck_assert_uint_eq(out[RV_HV_FIFO_SIZE - 1], RV_HV_FLUSH_ALL_ENTRY);
	ck_assert_uint_eq(out[14], 5 * 0x1000ull);
	ck_assert(!rv_hv_fifo_push(f, e, 16)); /* never whole: no slot would stay */
	ck_assert_uint_eq(f->count, 1);
}
END_TEST

START_TEST(guest_flush_purges_the_fifo_too)
{
	const uint64_t e[] = { 0x1000 };

	hv_push(e, 1);
	post(RV_REQ_HV_TLB_FLUSH);
	post(RV_REQ_TLB_FLUSH_GUEST);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
	ck_assert_uint_eq(v->hv_fifo[RV_HV_L1].count, 0);
	ck_assert_uint_eq(v->stat[RV_STAT_hv_purges], 1);
}
END_TEST

START_TEST(a_purge_without_a_request_still_empties_the_fifo)
{
	const uint64_t e[] = { 0x1000 };

	hv_push(e, 1); /* pushed; its request not posted yet */
	post(RV_REQ_TLB_FLUSH_GUEST);
	ck_assert(rv_service_requests(v));
	ck_assert_uint_eq(v->hv_fifo[RV_HV_L1].count, 0);
	post(RV_REQ_HV_TLB_FLUSH); /* the late request finds nothing */
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
}
END_TEST

START_TEST(the_l2_fifo_is_drained_only_in_l2)
{
	const uint64_t e[] = { 0x1000 };

	rv_hv_fifo_push(&v->hv_fifo[RV_HV_L2], e, 1);
	post(RV_REQ_HV_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "");
	v->hv_mode = RV_HV_L2;
	post(RV_REQ_HV_TLB_FLUSH);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "V");
}
END_TEST

START_TEST(service_order_is_bit_order)
{
	/* Post in reverse; the service order must not depend on it. */
	post(RV_REQ_HV_TLB_FLUSH);
	post(RV_REQ_TLB_FLUSH_GUEST);
	post(RV_REQ_TLB_FLUSH_CURRENT);
	post(RV_REQ_MMU_SYNC);
	ck_assert(rv_service_requests(v));
	/* MMU_SYNC logs nothing; C then G; HV purged by G. */
	ck_assert_str_eq(log_buf, "CG");
	ck_assert_uint_eq(v->stat[RV_STAT_mmu_syncs], 1);
	ck_assert(!rv_request_pending(v));
}
END_TEST

START_TEST(tlb_family_service_leaves_other_requests)
{
	post(RV_REQ_MMU_SYNC);
	post(RV_REQ_EVENT);
	post(RV_REQ_TLB_FLUSH);
	rv_service_tlb_requests(v);
	ck_assert_str_eq(log_buf, "A");
	ck_assert(rv_test_request(v, RV_REQ_BIT_MMU_SYNC));
	ck_assert(rv_test_request(v, RV_REQ_BIT_EVENT));
}
END_TEST

START_TEST(vm_dead_stops_the_vcpu_before_later_requests)
{
	post(RV_REQ_TLB_FLUSH);
	post(RV_REQ_VM_DEAD);
	ck_assert(!rv_service_requests(v));
	ck_assert_str_eq(log_buf, "");
	ck_assert(rv_test_request(v, RV_REQ_BIT_TLB_FLUSH));
}
END_TEST

START_TEST(every_request_has_a_handler)
{
	for (unsigned nr = RV_REQ_BIT_VM_DEAD + 1; nr < RV_NR_REQUESTS; nr++) {
		rv_make_request(v, nr);
		ck_assert(rv_service_requests(v));
		ck_assert_uint_eq(v->serviced[nr], 1);
	}
}
END_TEST

START_TEST(posting_while_pending_coalesces_into_one_service)
{
	for (int i = 0; i < 5; i++)
		post(RV_REQ_TLB_FLUSH_GUEST);
	ck_assert(rv_service_requests(v));
	ck_assert_str_eq(log_buf, "G");
	ck_assert_uint_eq(rv_vm_requests_coalesced(t.vm, RV_REQ_BIT_TLB_FLUSH_GUEST), 4);
	ck_assert_uint_eq(rv_vm_requests_posted(t.vm, RV_REQ_BIT_TLB_FLUSH_GUEST), 5);
	ck_assert_uint_eq(rv_vm_requests_serviced(t.vm, RV_REQ_BIT_TLB_FLUSH_GUEST), 1);
}
END_TEST

static Suite *service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc = tcase_create("order");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tlb_flush_covers_pending_flush_current);
	tcase_add_test(tc, tlb_flush_keeps_pending_flush_guest);
	tcase_add_test(tc, flush_current_runs_before_flush_guest);
	tcase_add_test(tc, guest_flush_purges_pending_hv_flush);
	tcase_add_test(tc, hv_flush_drains_the_fifo_page_by_page);
	tcase_add_test(tc, hv_flush_all_entry_is_one_guest_flush);
	tcase_add_test(tc, hv_flush_with_shadow_paging_is_one_guest_flush);
	tcase_add_test(tc, hv_fifo_takes_a_batch_only_with_a_slot_to_spare);
	tcase_add_test(tc, guest_flush_purges_the_fifo_too);
	tcase_add_test(tc, a_purge_without_a_request_still_empties_the_fifo);
	tcase_add_test(tc, the_l2_fifo_is_drained_only_in_l2);
	tcase_add_test(tc, service_order_is_bit_order);
	tcase_add_test(tc, tlb_family_service_leaves_other_requests);
	tcase_add_test(tc, vm_dead_stops_the_vcpu_before_later_requests);
	tcase_add_test(tc, every_request_has_a_handler);
	tcase_add_test(tc, posting_while_pending_coalesces_into_one_service);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(service_suite());
}
