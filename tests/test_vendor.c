// SPDX-License-Identifier: MIT
/* Vendor-table registration, run over every vendor table reqvisor has. */
#include <string.h>

#include "helpers.h"
#include "reqvisor/vendor.h"

static const struct rv_vendor_ops *const all_vendors[] = { &rv_null_vendor };

START_TEST(every_vendor_table_registers)
{
	for (unsigned i = 0; i < sizeof(all_vendors) / sizeof(all_vendors[0]); i++) {
		struct rv_vendor_ops ops = *all_vendors[i];
		const char *missing = NULL;

		ck_assert_msg(rv_vendor_register(&ops, &missing) == 0, "%s lacks %s", ops.name,
			      missing);
		ck_assert_ptr_nonnull(ops.vcpu_create);
		ck_assert_ptr_nonnull(ops.vcpu_free);
		ck_assert_ptr_nonnull(ops.vcpu_load);
		ck_assert_ptr_nonnull(ops.vcpu_put);
		ck_assert_ptr_nonnull(ops.prepare_entry);
	}
}
END_TEST

START_TEST(missing_mandatory_op_is_named)
{
	struct rv_vendor_ops ops = rv_null_vendor;
	const char *missing = NULL;

	ops.flush_tlb_guest = NULL;
	ck_assert_int_eq(rv_vendor_register(&ops, &missing), -1);
	ck_assert_str_eq(missing, "flush_tlb_guest");
}
END_TEST

START_TEST(vm_create_rejects_an_incomplete_vendor)
{
	struct rv_vendor_ops ops = rv_null_vendor;
	struct rv_vm_config cfg = test_config(2, 1, RV_EXEC_DETERMINISTIC, 1);
	struct rv_synthetic *syn;
	struct rv_vm *vm = NULL;
	char err[128] = "";

	ops.flush_tlb_all = NULL;
	cfg.vendor = &ops;
	syn = rv_synthetic_create("exit", 1, 1, err, sizeof(err));
	cfg.backend_ctx = syn;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), -1);
	ck_assert_ptr_null(vm);
	ck_assert_ptr_nonnull(strstr(err, "flush_tlb_all"));
	rv_synthetic_destroy(syn);
}
END_TEST

static Suite *vendor_suite(void)
{
	Suite *s = suite_create("vendor");
	TCase *tc = tcase_create("registration");

	tcase_add_test(tc, every_vendor_table_registers);
	tcase_add_test(tc, missing_mandatory_op_is_named);
	tcase_add_test(tc, vm_create_rejects_an_incomplete_vendor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(vendor_suite());
}
