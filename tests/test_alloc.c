// SPDX-License-Identifier: MIT
/* Host objects come from their NUMA node: the pages of a node's arena are
 * bound to that node. */
#include <numaif.h>

#include "helpers.h"
#include "vm_impl.h"

START_TEST(vcpu_objects_live_on_pages_bound_to_their_node)
{
	struct rv_vm_config cfg = test_config(4, 2, RV_EXEC_THREADS, 1);
	struct test_vm t;
	int mode = -1;

	if (!rv_node_pages_bound()) {
		fprintf(stderr, "alloc: this build uses the libc allocator (sanitizers): "
				"nothing to check\n");
		return;
	}
	cfg.nr_nodes = 2;
	t = test_vm_create(cfg, "exit", 1);
	for (uint32_t i = 0; i < 4; i++) {
		struct rv_vcpu *v = rv_vm_vcpu(t.vm, i);

		ck_assert_int_eq(get_mempolicy(&mode, NULL, 0, v, MPOL_F_ADDR), 0);
		ck_assert_msg(mode == MPOL_BIND, "vCPU %u's page has policy %d", i, mode);
	}
	test_vm_destroy(&t);
}
END_TEST

static Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("numa");

	tcase_add_test(tc, vcpu_objects_live_on_pages_bound_to_their_node);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(alloc_suite());
}
