// SPDX-License-Identifier: MIT
/*
 * The KVM reference CPU on known snippets: results, exceptions with their
 * frames, the timeout, and isolation between runs. Skips (exit 77) where
 * /dev/kvm is missing or unusable.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../helpers.h"
#include "kvm_ref.h"

#define FL_CF 0x001ull
#define FL_PF 0x004ull
#define FL_AF 0x010ull
#define FL_ZF 0x040ull
#define FL_SF 0x080ull
#define FL_DF 0x400ull
#define FL_OF 0x800ull

#define UNMAPPED     0x40000000000ull /* canonical, beyond the guest's 4 MiB */
#define NONCANONICAL 0x8000000000000000ull

static struct kvm_ref *k;
static struct snippet s;
static struct snippet_result r;

static void setup(void)
{
	char err[256] = "";

	k = kvm_ref_open(err, sizeof(err));
	ck_assert_msg(k, "kvm_ref_open: %s", err);
	memset(&s, 0, sizeof(s));
	s.in.gpr[RSP] = SNIPPET_STACK;
	s.in.rflags = 0x2;
}

static void teardown(void)
{
	kvm_ref_close(k);
}

static void run(const uint8_t *code, size_t len)
{
	s.code = code;
	s.len = len;
	kvm_ref_run(k, &s, &r);
}

/* RUN(0x48, 0x01, 0xd8): run these bytes as the snippet. */
#define RUN(...) run((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void expect_done(size_t len)
{
	ck_assert_msg(r.end == SNIPPET_END_DONE, "end %d: %s", r.end, r.message);
	ck_assert_uint_eq(r.out.rip, SNIPPET_CODE + len);
}

static void expect_exception(int vector, uint64_t error_code, uint64_t rip)
{
	ck_assert_msg(r.end == SNIPPET_END_EXCEPTION, "end %d: %s", r.end, r.message);
	ck_assert_int_eq(r.vector, vector);
	ck_assert_uint_eq(r.error_code, error_code);
	ck_assert_uint_eq(r.out.rip, rip);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static const struct add_case {
	uint64_t a, b, sum, flags;
} add_cases[] = {
	{ 1, 2, 3, FL_PF },
	{ 1, 0, 1, 0 },
	{ 0x0f, 0x01, 0x10, FL_AF },
	{ ~0ull, 1, 0, FL_CF | FL_PF | FL_AF | FL_ZF },
	{ 0x7fffffffffffffff, 1, NONCANONICAL, FL_PF | FL_AF | FL_SF | FL_OF },
	{ NONCANONICAL, NONCANONICAL, 0, FL_CF | FL_PF | FL_ZF | FL_OF },
	{ 0xfffffffffffffff0, 0x0f, ~0ull, FL_PF | FL_SF },
};

/* Each case twice: from all status flags clear, and all set (DF must survive). */
START_TEST(add_sets_sum_and_flags)
{
	const struct add_case *c = &add_cases[_i / 2];
	uint64_t in_flags = _i % 2 ? SNIPPET_FLAGS_DEFINED : 0;

	s.in.gpr[RAX] = c->a;
	s.in.gpr[RBX] = c->b;
	s.in.rflags = 0x2 | in_flags;
	RUN(0x48, 0x01, 0xd8); /* add %rbx, %rax */
	expect_done(3);
	ck_assert_uint_eq(r.out.gpr[RAX], c->sum);
	ck_assert_uint_eq(r.out.gpr[RBX], c->b);
	ck_assert_uint_eq(r.out.rflags & SNIPPET_FLAGS_DEFINED, c->flags | (in_flags & FL_DF));
}
END_TEST

START_TEST(empty_snippet_reaches_terminator_with_registers_untouched)
{
	for (int i = 0; i < NR_GPRS; i++)
		s.in.gpr[i] = 0x1111111111111111ull * (i + 1);
	s.in.gpr[RSP] = SNIPPET_STACK - 0x100;
	/* Twice: a completion of the first run's `out` must not leak into the second. */
	for (int round = 0; round < 2; round++) {
		run(NULL, 0);
		expect_done(0);
		ck_assert_mem_eq(r.out.gpr, s.in.gpr, sizeof(s.in.gpr));
		ck_assert_uint_eq(r.out.rflags, 0x2);
	}
}
END_TEST

START_TEST(load_and_store_use_the_data_page)
{
	uint64_t stored, loaded;

	for (int i = 0; i < SNIPPET_DATA_SIZE; i++)
		s.data[i] = i * 7 + 3;
	memcpy(&loaded, s.data, sizeof(loaded));
	s.in.gpr[RDI] = SNIPPET_DATA;
	s.in.gpr[RAX] = 0x1122334455667788ull;
	RUN(0x48, 0x8b, 0x1f,	     /* mov (%rdi), %rbx */
	    0x48, 0x89, 0x47, 0x08); /* mov %rax, 8(%rdi) */
	expect_done(7);
	ck_assert_uint_eq(r.out.gpr[RBX], loaded);
	memcpy(&stored, r.data + 8, sizeof(stored));
	ck_assert_uint_eq(stored, 0x1122334455667788ull);
	ck_assert_mem_eq(r.data, s.data, 8);
	ck_assert_mem_eq(r.data + 16, s.data + 16, SNIPPET_DATA_SIZE - 16);
}
END_TEST

START_TEST(div_by_zero_raises_de_at_the_div)
{
	s.in.gpr[RCX] = 0;
	RUN(0xb8, 0x05, 0x00, 0x00, 0x00, /* mov $5, %eax */
	    0x48, 0xf7, 0xf1);		  /* div %rcx */
	expect_exception(0, 0, SNIPPET_CODE + 5);
	ck_assert_uint_eq(r.out.gpr[RAX], 5); /* the state at the fault, after the mov */
	ck_assert_uint_eq(r.out.gpr[RSP], SNIPPET_STACK);
}
END_TEST

START_TEST(ud2_raises_ud)
{
	RUN(0x90,	 /* nop */
	    0x0f, 0x0b); /* ud2 */
	expect_exception(6, 0, SNIPPET_CODE + 1);
}
END_TEST

/* The stubs must report the snippet's registers and flags, not their own. */
START_TEST(exception_reports_the_snippet_state_unchanged)
{
	for (int i = 0; i < NR_GPRS; i++)
		s.in.gpr[i] = 0x0101010101010101ull * (i + 1);
	s.in.gpr[RSP] = SNIPPET_STACK - 0x800;
	s.in.rflags = 0x2 | FL_CF | FL_ZF | FL_OF | FL_DF;
	RUN(0x0f, 0x0b); /* ud2 */
	expect_exception(6, 0, SNIPPET_CODE);
	ck_assert_mem_eq(r.out.gpr, s.in.gpr, sizeof(s.in.gpr));
	ck_assert_uint_eq(r.out.rflags & SNIPPET_FLAGS_DEFINED, FL_CF | FL_ZF | FL_OF | FL_DF);
}
END_TEST

/* Error code 0: not present, read, supervisor, data access. */
START_TEST(read_of_unmapped_address_raises_pf)
{
	s.in.gpr[RAX] = UNMAPPED;
	RUN(0x48, 0x8b, 0x18); /* mov (%rax), %rbx */
	expect_exception(14, 0x0, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, UNMAPPED);
}
END_TEST

START_TEST(write_to_unmapped_address_raises_pf_with_w)
{
	s.in.gpr[RAX] = UNMAPPED + 0x18;
	RUN(0x48, 0x89, 0x18); /* mov %rbx, (%rax) */
	expect_exception(14, 0x2, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, UNMAPPED + 0x18);
}
END_TEST

/* With EFER.NXE set the error code says "instruction fetch" (bit 4). */
START_TEST(jump_to_unmapped_address_raises_pf_with_id_at_the_target)
{
	s.in.gpr[RAX] = UNMAPPED;
	RUN(0xff, 0xe0); /* jmp *%rax */
	expect_exception(14, 0x10, UNMAPPED);
	ck_assert_uint_eq(r.cr2, UNMAPPED);
}
END_TEST

START_TEST(noncanonical_load_raises_gp_0)
{
	s.in.gpr[RAX] = NONCANONICAL;
	RUN(0x48, 0x8b, 0x18); /* mov (%rax), %rbx */
	expect_exception(13, 0, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, 0);
}
END_TEST

/* The frame goes to the runner's IST stack, so a wild RSP is still reported. */
START_TEST(push_with_noncanonical_rsp_raises_ss_0)
{
	s.in.gpr[RSP] = NONCANONICAL;
	RUN(0x50); /* push %rax */
	expect_exception(12, 0, SNIPPET_CODE);
	ck_assert_uint_eq(r.out.gpr[RSP], NONCANONICAL);
}
END_TEST

START_TEST(push_and_pop_go_through_the_stack)
{
	s.in.gpr[RAX] = 0xfeedfacecafebeefull;
	RUN(0x50,	      /* push %rax */
	    0x48, 0x89, 0xe1, /* mov %rsp, %rcx */
	    0x5b);	      /* pop %rbx */
	expect_done(5);
	ck_assert_uint_eq(r.out.gpr[RBX], 0xfeedfacecafebeefull);
	ck_assert_uint_eq(r.out.gpr[RCX], SNIPPET_STACK - 8);
	ck_assert_uint_eq(r.out.gpr[RSP], SNIPPET_STACK);
}
END_TEST

START_TEST(call_pushes_the_return_address_and_ret_uses_it)
{
	RUN(0xe8, 0x02, 0x00, 0x00, 0x00, /*  0: call 7 */
	    0xeb, 0x05,			  /*  5: jmp 12 */
	    0x48, 0x8b, 0x14, 0x24,	  /*  7: mov (%rsp), %rdx */
	    0xc3);			  /* 11: ret */
	expect_done(12);
	ck_assert_uint_eq(r.out.gpr[RDX], SNIPPET_CODE + 5);
	ck_assert_uint_eq(r.out.gpr[RSP], SNIPPET_STACK);
}
END_TEST

START_TEST(endless_loop_times_out_and_the_next_run_works)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	RUN(0xeb, 0xfe); /* jmp . */
	ck_assert_msg(r.end == SNIPPET_END_ERROR, "end %d", r.end);
	ck_assert_msg(strstr(r.message, "no terminator"), "message: %s", r.message);
	ck_assert_double_lt(seconds_since(&t0), 5.0);

	s.in.gpr[RAX] = 40;
	s.in.gpr[RBX] = 2;
	RUN(0x48, 0x01, 0xd8); /* add %rbx, %rax */
	expect_done(3);
	ck_assert_uint_eq(r.out.gpr[RAX], 42);
}
END_TEST

START_TEST(triple_fault_is_an_error_and_the_next_run_works)
{
	s.in.gpr[RDI] = SNIPPET_DATA; /* zeroed: an IDT with limit 0 */
	RUN(0x0f, 0x01, 0x1f,	      /* lidt (%rdi) */
	    0x0f, 0x0b);	      /* ud2 */
	ck_assert_msg(r.end == SNIPPET_END_ERROR, "end %d", r.end);
	ck_assert_msg(strstr(r.message, "triple fault"), "message: %s", r.message);

	RUN(0x0f, 0x0b); /* ud2: the IDT is back */
	expect_exception(6, 0, SNIPPET_CODE);
}
END_TEST

/* Stack, data page and an MSR written by one run read as reset in the next. */
START_TEST(runs_do_not_see_earlier_writes)
{
	s.in.gpr[RAX] = 0x5555;
	s.in.gpr[RBX] = SNIPPET_DATA + 0x800;
	RUN(0x48, 0x89, 0x44, 0x24, 0xf8, /* mov %rax, -8(%rsp) */
	    0x48, 0x89, 0x03,		  /* mov %rax, (%rbx) */
	    0xb9, 0x02, 0x01, 0x00, 0xc0, /* mov $0xc0000102, %ecx (KERNEL_GS_BASE) */
	    0x31, 0xd2,			  /* xor %edx, %edx */
	    0x0f, 0x30);		  /* wrmsr */
	expect_done(17);

	RUN(0x48, 0x8b, 0x74, 0x24, 0xf8, /* mov -8(%rsp), %rsi */
	    0x48, 0x8b, 0x3b,		  /* mov (%rbx), %rdi */
	    0xb9, 0x02, 0x01, 0x00, 0xc0, /* mov $0xc0000102, %ecx */
	    0x0f, 0x32);		  /* rdmsr */
	expect_done(15);
	ck_assert_uint_eq(r.out.gpr[RSI], 0);
	ck_assert_uint_eq(r.out.gpr[RDI], 0);
	ck_assert_uint_eq(r.out.gpr[RAX], 0);
}
END_TEST

/*
 * A snippet that maps [4 MiB, 6 MiB) through the page tables and reads there;
 * the next run must fault on that address again, not use what KVM derived
 * from the changed tables.
 */
START_TEST(page_table_changes_do_not_outlive_the_run)
{
	s.in.gpr[RCX] = 0x77;
	RUN(0x0f, 0x20, 0xd8,				     /* mov %cr3, %rax */
	    0x48, 0x8b, 0x00,				     /* mov (%rax), %rax: PML4[0] */
	    0x48, 0x25, 0x00, 0xf0, 0xff, 0xff,		     /* and $~0xfff, %rax */
	    0x48, 0x8b, 0x00,				     /* mov (%rax), %rax: PDPT[0] */
	    0x48, 0x25, 0x00, 0xf0, 0xff, 0xff,		     /* and $~0xfff, %rax */
	    0x48, 0x8b, 0x58, 0x08,			     /* mov 8(%rax), %rbx: PD[1] */
	    0x48, 0x89, 0x58, 0x10,			     /* mov %rbx, 16(%rax): PD[2] = PD[1] */
	    0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x40, 0x00); /* mov 0x400000, %rcx */
	expect_done(37);
	ck_assert_uint_eq(r.out.gpr[RCX], 0); /* the zeroed snippet stack's first page */

	RUN(0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x40, 0x00); /* mov 0x400000, %rcx */
	expect_exception(14, 0, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, 0x400000);
}
END_TEST

/* Real hardware runs POPCNT; an emulating KVM (e.g. PVM) may not: then it is skipped. */
START_TEST(unemulated_instruction_is_done_or_skipped)
{
	s.in.gpr[RAX] = 0xff;
	RUN(0xf3, 0x0f, 0xb8, 0xd8); /* popcnt %eax, %ebx */
	if (r.end == SNIPPET_END_SKIPPED) {
		ck_assert_msg(strstr(r.message, "cannot emulate"), "message: %s", r.message);
		return;
	}
	expect_done(4);
	ck_assert_uint_eq(r.out.gpr[RBX], 8);
}
END_TEST

START_TEST(thousand_short_runs)
{
	struct timespec t0;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000; i++) {
		s.in.gpr[RAX] = i;
		s.in.gpr[RBX] = 1;
		RUN(0x48, 0x01, 0xd8); /* add %rbx, %rax */
		ck_assert_msg(r.end == SNIPPET_END_DONE, "run %d: %s", i, r.message);
		ck_assert_uint_eq(r.out.gpr[RAX], i + 1);
	}
	took = seconds_since(&t0);
	printf("kvm_ref: 1000 runs of a 3-byte snippet took %.3f s (%.0f us each)\n", took,
	       took * 1000);
	fflush(stdout);
}
END_TEST

static Suite *kvm_ref_suite(void)
{
	Suite *suite = suite_create("kvm_ref");
	TCase *tc = tcase_create("run");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, add_sets_sum_and_flags, 0,
			    2 * sizeof(add_cases) / sizeof(add_cases[0]));
	tcase_add_test(tc, empty_snippet_reaches_terminator_with_registers_untouched);
	tcase_add_test(tc, load_and_store_use_the_data_page);
	tcase_add_test(tc, div_by_zero_raises_de_at_the_div);
	tcase_add_test(tc, ud2_raises_ud);
	tcase_add_test(tc, exception_reports_the_snippet_state_unchanged);
	tcase_add_test(tc, read_of_unmapped_address_raises_pf);
	tcase_add_test(tc, write_to_unmapped_address_raises_pf_with_w);
	tcase_add_test(tc, jump_to_unmapped_address_raises_pf_with_id_at_the_target);
	tcase_add_test(tc, noncanonical_load_raises_gp_0);
	tcase_add_test(tc, push_with_noncanonical_rsp_raises_ss_0);
	tcase_add_test(tc, push_and_pop_go_through_the_stack);
	tcase_add_test(tc, call_pushes_the_return_address_and_ret_uses_it);
	tcase_add_test(tc, endless_loop_times_out_and_the_next_run_works);
	tcase_add_test(tc, triple_fault_is_an_error_and_the_next_run_works);
	tcase_add_test(tc, runs_do_not_see_earlier_writes);
	tcase_add_test(tc, page_table_changes_do_not_outlive_the_run);
	tcase_add_test(tc, unemulated_instruction_is_done_or_skipped);
	tcase_add_test(tc, thousand_short_runs);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	char err[256] = "";
	struct kvm_ref *probe = kvm_ref_open(err, sizeof(err));

	if (!probe) {
		printf("kvm_ref: skipped: %s\n", err);
		return 77;
	}
	kvm_ref_close(probe);
	return run_suite(kvm_ref_suite());
}
