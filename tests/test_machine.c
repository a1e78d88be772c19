// SPDX-License-Identifier: MIT
/*
 * The machine end to end: an ELF guest booted per the guest ABI on the
 * software CPU, in both executors, with its console and exit status.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "machine/machine.h"
#include "machine/machine_impl.h"
#include "service.h"
#include "vm_impl.h"

static const char *mini_path;
static uint8_t *image;
static size_t image_len;

static void read_image(void)
{
	FILE *f = fopen(mini_path, "rb");

	ck_assert_msg(f, "cannot open %s", mini_path);
	fseek(f, 0, SEEK_END);
	image_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	image = malloc(image_len);
	ck_assert_uint_eq(fread(image, 1, image_len, f), image_len);
	fclose(f);
}

struct run {
	int rc;
	bool exited;
	uint32_t status;
	char *out;
};

static struct run boot(uint32_t vcpus, enum rv_executor exec, const uint8_t *img, size_t len)
{
	struct run r = { 0 };
	size_t out_len = 0;
	FILE *console = open_memstream(&r.out, &out_len);
	struct rv_machine_config mc = {
		.image = img,
		.image_len = len,
		.mem_size = 32 << 20,
		.nr_vcpus = vcpus,
		.console = console,
	};
	char err[256];
	struct rv_machine *m = rv_machine_create(&mc, err, sizeof(err));

	ck_assert_msg(m, "%s", err);
	struct rv_vm_config cfg = test_config(vcpus, 2, exec, 3);
	struct rv_vm *vm;

	cfg.backend = &rv_machine_backend;
	cfg.backend_ctx = m;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), 0);
	r.rc = rv_vm_run(vm);
	rv_machine_flush_console(vm);
	r.exited = rv_machine_exited(m, &r.status);
	rv_vm_destroy(vm);
	rv_machine_destroy(m);
	fclose(console);
	return r;
}

static void check_mini(uint32_t vcpus, enum rv_executor exec)
{
	struct run r = boot(vcpus, exec, image, image_len);
	char want[64];

	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.exited);
	ck_assert_uint_eq(r.status, 0);
	for (uint32_t i = 0; i < vcpus; i++) {
		snprintf(want, sizeof(want), "vcpu %u\n", i);
		ck_assert_msg(strstr(r.out, want), "no \"vcpu %u\" in:\n%s", i, r.out);
	}
	snprintf(want, sizeof(want), "all %u\n", vcpus);
	ck_assert_msg(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
	free(r.out);
}

START_TEST(mini_guest_boots_on_every_vcpu_and_exits_zero)
{
	static const uint32_t counts[] = { 1, 2, 8 };

	read_image();
	for (unsigned k = 0; k < 3; k++) {
		check_mini(counts[k], RV_EXEC_THREADS);
		check_mini(counts[k], RV_EXEC_DETERMINISTIC);
	}
	free(image);
}
END_TEST

START_TEST(bad_image_is_refused_with_a_message)
{
	static const uint8_t junk[64] = "not an elf";
	struct rv_machine_config mc = {
		.image = junk, .image_len = sizeof(junk), .mem_size = 32 << 20, .nr_vcpus = 1
	};
	char err[256] = "";

	ck_assert_ptr_null(rv_machine_create(&mc, err, sizeof(err)));
	ck_assert_uint_gt(strlen(err), 0);
	mc.mem_size = (32 << 20) + 4096;
	ck_assert_ptr_null(rv_machine_create(&mc, err, sizeof(err)));
}
END_TEST

/* A machine with vCPU 0 loaded on pCPU 0 and entered once, not running. */
struct loaded {
	struct rv_machine *m;
	struct rv_vm *vm;
	struct rv_vcpu *v;
	const struct rv_vendor_ops *ops;
};

static struct loaded load_with(bool svm, bool tdp, uint32_t vcpus, enum rv_coalesce coalesce)
{
	struct rv_machine_config mc = {
		.image = image,
		.image_len = image_len,
		.mem_size = 32 << 20,
		.nr_vcpus = vcpus,
		.vendor_amd = svm,
		.shadow = !tdp,
		.hyperv = true,
	};
	struct rv_vm_config cfg = test_config(vcpus, 1, RV_EXEC_DETERMINISTIC, 1);
	struct loaded l;
	char err[256];

	l.m = rv_machine_create(&mc, err, sizeof(err));
	ck_assert_msg(l.m, "%s", err);
	cfg.backend = &rv_machine_backend;
	cfg.backend_ctx = l.m;
	cfg.vendor = l.ops = rv_machine_vendor(l.m);
	cfg.shadow_paging = !tdp;
	cfg.coalesce = coalesce;
	ck_assert_int_eq(rv_vm_create(&cfg, &l.vm, err, sizeof(err)), 0);
	l.v = rv_vm_vcpu(l.vm, 0);
	atomic_store(&l.v->pcpu, l.vm->pcpus[0]);
	l.ops->vcpu_load(l.v, l.vm->pcpus[0], NULL);
	l.ops->prepare_entry(l.v);
	return l;
}

static struct loaded load_n(bool svm, bool tdp, uint32_t vcpus)
{
	return load_with(svm, tdp, vcpus, RV_COALESCE_IMPROVED);
}

static struct loaded load(bool svm, bool tdp)
{
	return load_n(svm, tdp, 1);
}

/* Three pages in the FIFO with HV_TLB_FLUSH, and a FLUSH_CURRENT, then the
 * next entry: the pCPU TLB's flush operations that ran. */
static void current_with_hv_pending(struct loaded *l, struct rv_machine_totals *d)
{
	static const uint64_t pages[3] = { 0x1000, 0x5000, 0x9000 };
	struct rv_machine_totals before;

	rv_machine_totals(l->m, l->vm, &before);
	rv_hv_fifo_push(&l->v->hv_fifo[RV_HV_L1], pages, 3);
	rv_make_request(l->v, RV_REQ_HV_TLB_FLUSH);
	rv_make_request(l->v, RV_REQ_TLB_FLUSH_CURRENT);
	ck_assert(rv_service_requests(l->v));
	l->ops->prepare_entry(l->v);
	rv_machine_totals(l->m, l->vm, d);
	for (int op = 0; op < RV_TLB_NR_FLUSH_OPS; op++)
		d->flush_calls[op] -= before.flush_calls[op];
	ck_assert_uint_eq(l->v->hv_fifo[RV_HV_L1].count, 0);
	ck_assert(!rv_request_pending_mask(l->v, ~0ull));
}

static void unload(struct loaded *l)
{
	rv_vm_destroy(l->vm);
	rv_machine_destroy(l->m);
}

/* SVM with NPT: the ASID flush is a superset, so the FIFO is purged and
 * the entry runs one flush of the ASID (TLB_CONTROL 3) and no INVLPGA.
 * With shadow paging it is not (the Hyper-V flush must also sync the
 * shadow pages): the FIFO is drained as a guest flush, and the entry still
 * runs one ASID flush, the two coalesced in TLB_CONTROL. */
START_TEST(svm_flush_current_purges_a_pending_hv_flush_only_with_npt)
{
	read_image();
	for (int tdp = 0; tdp < 2; tdp++) {
		struct loaded l = load(true, tdp);
		struct rv_machine_totals d;

		current_with_hv_pending(&l, &d);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_TAG], 1);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_ADDR], 0);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_ALL], 0);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_current], 1);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_gva], 0);
		ck_assert_uint_eq(l.v->stat[RV_STAT_hv_purges], tdp ? 1 : 0);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_guest], tdp ? 0 : 1);
		ck_assert_uint_eq(l.v->stat[RV_STAT_hv_flushes], tdp ? 0 : 1);
		unload(&l);
	}
	free(image);
}
END_TEST

/* VMX purges nothing: the FIFO is drained after the current flush. With
 * EPT that is an INVEPT, then an INVVPID for each of the three pages; with
 * shadow paging an INVVPID of the VPID, then the drain's guest flush, a
 * second one. */
START_TEST(vmx_flush_current_leaves_the_hv_fifo_to_drain)
{
	read_image();
	struct loaded l = load(false, true);
	struct rv_machine_totals d;

	current_with_hv_pending(&l, &d);
	ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_EPTRTA], 1);
	ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_ADDR], 3);
	ck_assert_uint_eq(l.v->stat[RV_STAT_hv_purges], 0);
	ck_assert_uint_eq(l.v->stat[RV_STAT_hv_flushes], 1);
	unload(&l);

	/* Shadow paging: KVM runs the INVVPID twice; by C9 the second is
	 * covered by the first (the drain's sync still runs). */
	for (int kvm = 0; kvm < 2; kvm++) {
		l = load_with(false, false, 1, kvm ? RV_COALESCE_KVM : RV_COALESCE_IMPROVED);
		current_with_hv_pending(&l, &d);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_TAG], kvm ? 2 : 1);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_ADDR], 0);
		ck_assert_uint_eq(l.v->stat[RV_STAT_hv_purges], 0);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_guest], 1);
		unload(&l);
	}
	free(image);
}
END_TEST

/* Service the pending requests and enter: the flush operations that ran. */
static void service_and_enter(struct loaded *l, struct rv_machine_totals *d)
{
	struct rv_machine_totals before;

	rv_machine_totals(l->m, l->vm, &before);
	ck_assert(rv_service_requests(l->v));
	l->ops->prepare_entry(l->v);
	rv_machine_totals(l->m, l->vm, d);
	for (int op = 0; op < RV_TLB_NR_FLUSH_OPS; op++)
		d->flush_calls[op] -= before.flush_calls[op];
}

/* C8: overlapping and repeated pages in the FIFO: pages 1-3, 2, 3-4, 2
 * again and a non-canonical one. KVM flushes 1+1+1+1+1+1+1 = 7 times (the
 * non-canonical page skipped), reqvisor each of pages 1-4 once. */
START_TEST(hv_drain_flushes_each_page_once)
{
	static const uint64_t e[] = { 0x1000 | 2, 0x2000, 0x3000 | 1, 0x2000, 0x800000000000ull };

	read_image();
	for (int kvm = 0; kvm < 2; kvm++) {
		struct loaded l =
			load_with(false, true, 1, kvm ? RV_COALESCE_KVM : RV_COALESCE_IMPROVED);
		struct rv_machine_totals d;

		rv_hv_fifo_push(&l.v->hv_fifo[RV_HV_L1], e, 5);
		rv_make_request(l.v, RV_REQ_HV_TLB_FLUSH);
		service_and_enter(&l, &d);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_ADDR], kvm ? 7 : 4);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_gva], kvm ? 7 : 4);
		unload(&l);
	}
	free(image);
}
END_TEST

/* C9 on VMX with shadow paging: TLB_FLUSH (INVVPID all-context), then
 * TLB_FLUSH_GUEST (its sync, and an INVVPID single-context the first
 * covers). With EPT nothing is covered: INVEPT leaves linear entries. The
 * pass ends at the entry: the next pass flushes again. */
START_TEST(a_context_flush_covers_the_rest_of_its_pass)
{
	read_image();
	for (int kvm = 0; kvm < 2; kvm++) {
		enum rv_coalesce c = kvm ? RV_COALESCE_KVM : RV_COALESCE_IMPROVED;
		struct loaded l = load_with(false, false, 1, c);
		struct rv_machine_totals d;
		uint64_t ops;

		rv_make_request(l.v, RV_REQ_TLB_FLUSH);
		rv_make_request(l.v, RV_REQ_TLB_FLUSH_GUEST);
		service_and_enter(&l, &d);
		ops = d.flush_calls[RV_TLB_FLUSH_IF] + d.flush_calls[RV_TLB_FLUSH_TAG];
		ck_assert_uint_eq(ops, kvm ? 2 : 1);
		ck_assert_uint_eq(l.v->stat[RV_STAT_flush_guest], 1);
		rv_make_request(l.v, RV_REQ_TLB_FLUSH_GUEST);
		service_and_enter(&l, &d);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_TAG], 1);
		unload(&l);

		l = load_with(false, true, 1, c);
		rv_make_request(l.v, RV_REQ_TLB_FLUSH);
		rv_make_request(l.v, RV_REQ_TLB_FLUSH_GUEST);
		service_and_enter(&l, &d);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_EPTRTA], 1);
		ck_assert_uint_eq(d.flush_calls[RV_TLB_FLUSH_TAG], 1);
		unload(&l);
	}
	free(image);
}
END_TEST

/* A 4 KiB non-global entry for @gva in PCID 0, inserted at clock tick @tick. */
static struct rv_tlb_info entry_at(uint64_t gva, uint64_t tick)
{
	struct rv_tlb_info e = { .in = gva };

	e.fill.time = tick << RV_TIME_OWNER_BITS | 1;
	e.fill.size = RV_TLB_4K;
	return e;
}

static bool covered(struct machine_vcpu *t, const struct rv_tlb_info *e, uint32_t *by)
{
	struct rv_inval i;

	return rv_oracle_remote_covering(t, e, &i, by);
}

/* The oracle's record of a flush hypercall on its target covers what the
 * TLFS promises and no more: the listed pages (low bits count more), entries
 * older than the call, the named address space unless all are flushed,
 * globals unless the call was for non-global mappings only. */
START_TEST(remote_records_cover_what_the_call_promises)
{
	read_image();
	struct loaded l = load_n(false, true, 2);
	struct machine_vcpu *caller = rv_vm_vcpu(l.vm, 0)->backend_data;
	struct machine_vcpu *t = rv_vm_vcpu(l.vm, 1)->backend_data;
	struct rv_hv_flush f = { .nr_listed = 1, .entries = { 0x10000 | 1 } };
	struct rv_tlb_info e = entry_at(0x11000, 50);
	uint32_t by = 99;

	rv_mask_set(&f.targets, 1);
	f.address_space = 0x5000;
	t->cpu.cr3 = 0x6000; /* not the named address space */
	rv_oracle_log_hv(caller, &f, 100ull << RV_TIME_OWNER_BITS);
	ck_assert(!covered(t, &e, &by));
	e.fill.global = true; /* globals are in every address space */
	ck_assert(covered(t, &e, &by));
	ck_assert_uint_eq(by, 0);
	e.fill.global = false;
	t->cpu.cr3 = 0x5000;
	ck_assert(covered(t, &e, &by));
	e = entry_at(0x12000, 50); /* past the entry's two pages */
	ck_assert(!covered(t, &e, &by));
	e = entry_at(0x10000, 150); /* inserted after the call began */
	ck_assert(!covered(t, &e, &by));
	ck_assert(!covered(caller, &e, &by)); /* the caller was not a target */

	/* Non-global only, every address space: globals stay. */
	f.entries[0] = 0x20000;
	f.flags = RV_HV_FLUSH_ALL_ADDRESS_SPACES | RV_HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
	t->cpu.cr3 = 0x7000;
	rv_oracle_log_hv(caller, &f, 200ull << RV_TIME_OWNER_BITS);
	e = entry_at(0x20000, 150);
	ck_assert(covered(t, &e, &by));
	e.fill.global = true;
	ck_assert(!covered(t, &e, &by));

	/* A Space call covers every page. */
	f = (struct rv_hv_flush){ .space = true, .flags = RV_HV_FLUSH_ALL_ADDRESS_SPACES };
	rv_mask_set(&f.targets, 1);
	rv_oracle_log_hv(caller, &f, 300ull << RV_TIME_OWNER_BITS);
	e = entry_at(0x7fff0000, 250);
	ck_assert(covered(t, &e, &by));
	unload(&l);
	free(image);
}
END_TEST

static Suite *machine_suite(void)
{
	Suite *s = suite_create("machine");
	TCase *tc = tcase_create("boot");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mini_guest_boots_on_every_vcpu_and_exits_zero);
	tcase_add_test(tc, bad_image_is_refused_with_a_message);
	suite_add_tcase(s, tc);
	tc = tcase_create("hyperv");
	tcase_add_test(tc, svm_flush_current_purges_a_pending_hv_flush_only_with_npt);
	tcase_add_test(tc, vmx_flush_current_leaves_the_hv_fifo_to_drain);
	tcase_add_test(tc, hv_drain_flushes_each_page_once);
	tcase_add_test(tc, a_context_flush_covers_the_rest_of_its_pass);
	tcase_add_test(tc, remote_records_cover_what_the_call_promises);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_machine MINI.ELF\n");
		return 2;
	}
	mini_path = argv[1];
	return run_suite(machine_suite());
}
