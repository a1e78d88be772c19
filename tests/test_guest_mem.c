// SPDX-License-Identifier: MIT
/* Guest memory: memslot over NUMA-local frames, and moving pages. */
#include <string.h>

#include "helpers.h"
#include "mem/guest_mem.h"

static struct rv_guest_mem *m;
static char err[128];

static void setup(void)
{
	struct rv_guest_mem_config c = { 16 << 20, 4, 8 };

	m = rv_guest_mem_create(&c, err, sizeof(err));
	ck_assert_msg(m, "%s", err);
}

static void teardown(void)
{
	rv_guest_mem_destroy(m);
}

START_TEST(bad_sizes_are_rejected_with_a_message)
{
	struct rv_guest_mem_config c = { (16 << 20) + 4096, 1, 0 };

	ck_assert_ptr_null(rv_guest_mem_create(&c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "2 MiB"));
	c.size = 0;
	ck_assert_ptr_null(rv_guest_mem_create(&c, err, sizeof(err)));
	c.size = 4 << 20;
	c.nr_nodes = 0;
	ck_assert_ptr_null(rv_guest_mem_create(&c, err, sizeof(err)));
}
END_TEST

START_TEST(ram_is_split_evenly_across_nodes)
{
	ck_assert_uint_eq(rv_gpa_home_node(m, 0), 0);
	ck_assert_uint_eq(rv_gpa_home_node(m, (4 << 20) - 1), 0);
	ck_assert_uint_eq(rv_gpa_home_node(m, 4 << 20), 1);
	ck_assert_uint_eq(rv_gpa_home_node(m, (16 << 20) - 1), 3);
	for (uint64_t gpa = 0; gpa < (16u << 20); gpa += 1 << 20)
		ck_assert_uint_eq(rv_frame_node(m, rv_gpa_frame(m, gpa)), rv_gpa_home_node(m, gpa));
	ck_assert_uint_eq(rv_gpa_frame(m, 16 << 20), RV_NO_FRAME);
	ck_assert_ptr_null(rv_gpa_hva(m, 16 << 20));
}
END_TEST

START_TEST(writes_and_reads_cross_pages_and_nodes)
{
	uint8_t in[10000], out[10000];

	for (unsigned k = 0; k < sizeof(in); k++)
		in[k] = (uint8_t)(k * 7);
	ck_assert_int_eq(rv_guest_mem_write(m, (4 << 20) - 5000, in, sizeof(in)), 0);
	ck_assert_int_eq(rv_guest_mem_read(m, (4 << 20) - 5000, out, sizeof(out)), 0);
	ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
	ck_assert_int_eq(rv_guest_mem_write(m, (16 << 20) - 10, in, 11), -1);
}
END_TEST

START_TEST(moving_a_page_keeps_its_contents_on_a_new_frame)
{
	uint64_t gpa = 0x3000;
	uint32_t before = rv_gpa_frame(m, gpa), free3 = rv_guest_mem_free_frames(m, 3);

	ck_assert_int_eq(rv_guest_mem_write(m, gpa, "frame", 6), 0);
	uint32_t old = rv_guest_mem_move_page(m, gpa, 3);

	ck_assert_uint_eq(old, before);
	ck_assert_uint_ne(rv_gpa_frame(m, gpa), before);
	ck_assert_uint_eq(rv_frame_node(m, rv_gpa_frame(m, gpa)), 3);
	ck_assert_str_eq((char *)rv_gpa_hva(m, gpa), "frame");
	ck_assert_uint_eq(rv_guest_mem_free_frames(m, 3), free3 - 1);
	/* The old frame still holds the old contents until it is freed. */
	ck_assert_str_eq((char *)rv_frame_hva(m, old), "frame");
	rv_guest_mem_free_frame(m, old);
	ck_assert_uint_eq(rv_guest_mem_free_frames(m, 0), 9);
}
END_TEST

START_TEST(moves_stop_when_a_node_has_no_free_frame)
{
	for (int k = 0; k < 8; k++)
		ck_assert_uint_ne(rv_guest_mem_move_page(m, (uint64_t)k << 12, 2), RV_NO_FRAME);
	ck_assert_uint_eq(rv_guest_mem_move_page(m, 0x9000, 2), RV_NO_FRAME);
	ck_assert_uint_eq(rv_guest_mem_move_page(m, 16 << 20, 1), RV_NO_FRAME);
}
END_TEST

static Suite *mem_suite(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("frames");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_sizes_are_rejected_with_a_message);
	tcase_add_test(tc, ram_is_split_evenly_across_nodes);
	tcase_add_test(tc, writes_and_reads_cross_pages_and_nodes);
	tcase_add_test(tc, moving_a_page_keeps_its_contents_on_a_new_frame);
	tcase_add_test(tc, moves_stop_when_a_node_has_no_free_frame);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(mem_suite());
}
