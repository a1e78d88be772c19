// SPDX-License-Identifier: MIT
/*
 * The native reference on hand-assembled snippets: registers and flags in
 * and out, the data page, faults with their vector, RIP and CR2, the snippet
 * stack, the loop guard, and the harness's own state (DF) after a run.
 */
#include <string.h>
#include <sys/mman.h>

#include "../../helpers.h"
#include "native_ref.h"

/*
 * TSan holds back asynchronous signals, timer ticks included, until the
 * thread next enters its runtime; a snippet spinning in a loop never does,
 * so under TSan the loop guard cannot fire.
 */
#ifdef __SANITIZE_THREAD__
#define LOOP_GUARD_WORKS 0
#else
#define LOOP_GUARD_WORKS 1
#endif

#define RFLAGS_CF 0x001ull
#define RFLAGS_PF 0x004ull
#define RFLAGS_AF 0x010ull
#define RFLAGS_ZF 0x040ull
#define RFLAGS_SF 0x080ull
#define RFLAGS_TF 0x100ull
#define RFLAGS_DF 0x400ull
#define RFLAGS_OF 0x800ull
#define ARITH	  (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

#define STACK_TOP (SNIPPET_STACK - 0x100)

static struct native_ref *ref;
static struct snippet s;
static struct snippet_result r;

/* Runs @code (a brace list of bytes) from the register file in s.in. */
#define RUN(...)                                                \
	do {                                                    \
		static const uint8_t code_[] = { __VA_ARGS__ }; \
		run(code_, sizeof(code_));                      \
	} while (0)

static void open_ref(void)
{
	char err[256] = "";

	ref = native_ref_open(err, sizeof(err));
	ck_assert_msg(ref, "%s", err);
}

static void close_ref(void)
{
	native_ref_close(ref);
	ref = NULL;
}

/* Distinct values in every register and data byte, so a mix-up shows. */
static void reset(void)
{
	memset(&s, 0, sizeof(s));
	s.name = "test";
	for (int i = 0; i < NR_GPRS; i++)
		s.in.gpr[i] = 0x0101010101010101ull * (uint64_t)(i + 1) ^ 0x8000000000000000ull;
	s.in.gpr[RSP] = STACK_TOP;
	s.in.rflags = 0x2;
	for (int i = 0; i < SNIPPET_DATA_SIZE; i++)
		s.data[i] = (uint8_t)(i * 7 + 3);
}

static void run(const uint8_t *code, size_t len)
{
	s.code = code;
	s.len = len;
	native_ref_run(ref, &s, &r);
}

static void assert_done(size_t len)
{
	ck_assert_msg(r.end == SNIPPET_END_DONE, "end %d vector %d: %s", r.end, r.vector,
		      r.message);
	ck_assert_uint_eq(r.out.rip, SNIPPET_CODE + len);
}

static void assert_exception(int vector, uint64_t rip)
{
	ck_assert_msg(r.end == SNIPPET_END_EXCEPTION, "end %d: %s", r.end, r.message);
	ck_assert_int_eq(r.vector, vector);
	ck_assert_uint_eq(r.out.rip, rip);
}

static void assert_gprs_unchanged_except(int a, int b)
{
	for (int i = 0; i < NR_GPRS; i++)
		if (i != a && i != b)
			ck_assert_msg(r.out.gpr[i] == s.in.gpr[i], "gpr %d changed", i);
}

static uint64_t host_rflags(void)
{
	uint64_t f;

	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

START_TEST(registers_pass_through)
{
	s.in.rflags = ~0ull; /* TF, IF, AC, ... must be dropped, not loaded */
	RUN(0x90);	     /* nop */
	assert_done(1);
	assert_gprs_unchanged_except(-1, -1);
	ck_assert_uint_eq(r.out.rflags & (ARITH | RFLAGS_DF), ARITH | RFLAGS_DF);
	ck_assert_uint_eq(r.out.rflags & RFLAGS_TF, 0);
	ck_assert(!memcmp(r.data, s.data, SNIPPET_DATA_SIZE));
}
END_TEST

START_TEST(add_sets_flags)
{
	s.in.gpr[RAX] = 0x7fffffffffffffffull;
	s.in.gpr[RBX] = 1;
	s.in.rflags = 0x2 | RFLAGS_CF | RFLAGS_ZF;
	RUN(0x48, 0x01, 0xd8); /* add %rbx, %rax */
	assert_done(3);
	ck_assert_uint_eq(r.out.gpr[RAX], 0x8000000000000000ull);
	assert_gprs_unchanged_except(RAX, -1);
	/* Signed overflow, negative, carry out of bit 3, even parity of 0x00. */
	ck_assert_uint_eq(r.out.rflags & ARITH, RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
}
END_TEST

START_TEST(store_to_data_page)
{
	s.in.gpr[RAX] = 0x1122334455667788ull;
	s.in.gpr[RBX] = SNIPPET_DATA;
	RUN(0x48, 0x89, 0x43, 0x08); /* mov %rax, 8(%rbx) */
	assert_done(4);
	uint64_t stored;

	memcpy(&stored, r.data + 8, sizeof(stored));
	ck_assert_uint_eq(stored, 0x1122334455667788ull);
	ck_assert(!memcmp(r.data, s.data, 8));
	ck_assert(!memcmp(r.data + 16, s.data + 16, SNIPPET_DATA_SIZE - 16));
}
END_TEST

START_TEST(divide_by_zero_is_de_at_the_div)
{
	s.in.gpr[RCX] = 0xffffffff00000000ull; /* ECX = 0 */
	RUN(0x31, 0xd2, 0xf7, 0xf1);	       /* xor %edx, %edx; div %ecx */
	assert_exception(0, SNIPPET_CODE + 2);
	ck_assert_uint_eq(r.out.gpr[RDX], 0); /* the xor before it did run */
	assert_gprs_unchanged_except(RDX, -1);
}
END_TEST

START_TEST(ud2_is_ud)
{
	RUN(0x90, 0x0f, 0x0b); /* nop; ud2 */
	assert_exception(6, SNIPPET_CODE + 1);
	ck_assert_uint_eq(r.error_code, 0);
	assert_gprs_unchanged_except(-1, -1);
}
END_TEST

START_TEST(load_from_unmapped_page_is_pf)
{
	s.in.gpr[RAX] = SNIPPET_DATA + SNIPPET_DATA_SIZE + 0x18;
	RUN(0x48, 0x8b, 0x08); /* mov (%rax), %rcx */
	assert_exception(14, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, SNIPPET_DATA + SNIPPET_DATA_SIZE + 0x18);
	/* Not present, a read, from user mode. */
	ck_assert_uint_eq(r.error_code & 7, 4);
	assert_gprs_unchanged_except(-1, -1);
}
END_TEST

START_TEST(store_to_unmapped_page_is_pf_write)
{
	s.in.gpr[RAX] = 0x10;  /* the zero page, below mmap_min_addr */
	RUN(0x48, 0x89, 0x08); /* mov %rcx, (%rax) */
	assert_exception(14, SNIPPET_CODE);
	ck_assert_uint_eq(r.cr2, 0x10);
	ck_assert_uint_eq(r.error_code & 7, 6);
}
END_TEST

START_TEST(push_pop_on_snippet_stack)
{
	RUN(0x50, 0x5b); /* push %rax; pop %rbx */
	assert_done(2);
	ck_assert_uint_eq(r.out.gpr[RBX], s.in.gpr[RAX]);
	ck_assert_uint_eq(r.out.gpr[RSP], STACK_TOP);
	assert_gprs_unchanged_except(RBX, -1);
}
END_TEST

START_TEST(call_pushes_the_return_address)
{
	RUN(0xe8, 0x00, 0x00, 0x00, 0x00, 0x58); /* call 1f; 1: pop %rax */
	assert_done(6);
	ck_assert_uint_eq(r.out.gpr[RAX], SNIPPET_CODE + 5);
	ck_assert_uint_eq(r.out.gpr[RSP], STACK_TOP);
}
END_TEST

START_TEST(call_and_ret)
{
	/* call 1f; jmp 2f; 1: ret; 2: */
	RUN(0xe8, 0x02, 0x00, 0x00, 0x00, 0xeb, 0x01, 0xc3);
	assert_done(8);
	assert_gprs_unchanged_except(-1, -1);
}
END_TEST

START_TEST(infinite_loop_is_stopped_and_the_next_run_works)
{
	RUN(0x90, 0xeb, 0xfe); /* nop; 1: jmp 1b */
	ck_assert_int_eq(r.end, SNIPPET_END_ERROR);
	ck_assert_uint_eq(r.out.rip, SNIPPET_CODE + 1);
	ck_assert(strstr(r.message, "still running"));

	reset();
	s.in.gpr[RAX] = 40;
	s.in.gpr[RBX] = 2;
	RUN(0x48, 0x01, 0xd8); /* add %rbx, %rax */
	assert_done(3);
	ck_assert_uint_eq(r.out.gpr[RAX], 42);
}
END_TEST

START_TEST(df_does_not_leak_into_the_harness)
{
	RUN(0xfd); /* std */
	assert_done(1);
	ck_assert_uint_eq(r.out.rflags & RFLAGS_DF, RFLAGS_DF);
	ck_assert_uint_eq(host_rflags() & RFLAGS_DF, 0);

	RUN(0xfd, 0x0f, 0x0b); /* std; ud2: the signal path */
	assert_exception(6, SNIPPET_CODE + 1);
	ck_assert_uint_eq(r.out.rflags & RFLAGS_DF, RFLAGS_DF);
	ck_assert_uint_eq(host_rflags() & RFLAGS_DF, 0);

	/* DF=1 loaded from in.rflags, then a plain exit. */
	s.in.rflags |= RFLAGS_DF;
	RUN(0x90);
	assert_done(1);
	ck_assert_uint_eq(host_rflags() & RFLAGS_DF, 0);
}
END_TEST

START_TEST(privileged_is_skipped)
{
	s.privileged = 1;
	RUN(0xfa); /* cli */
	ck_assert_int_eq(r.end, SNIPPET_END_SKIPPED);
}
END_TEST

START_TEST(second_open_fails_and_reopen_works)
{
	char err[256] = "";

	ck_assert_ptr_null(native_ref_open(err, sizeof(err)));
	ck_assert(strstr(err, "already open"));
	close_ref();
	open_ref();
	RUN(0x90);
	assert_done(1);
}
END_TEST

START_TEST(open_fails_when_an_address_is_taken)
{
	char err[256] = "";
	void *p;

	close_ref();
	p = mmap((void *)(uintptr_t)SNIPPET_DATA, 4096, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_ptr_null(native_ref_open(err, sizeof(err)));
	ck_assert_msg(strstr(err, "data region at 0x200000") && strstr(err, "already mapped"), "%s",
		      err);
	munmap(p, 4096);
	open_ref();
}
END_TEST

static void setup(void)
{
	open_ref();
	reset();
}

static Suite *native_suite(void)
{
	Suite *su = suite_create("native_ref");
	TCase *tc = tcase_create("run");

	tcase_add_checked_fixture(tc, setup, close_ref);
	tcase_add_test(tc, registers_pass_through);
	tcase_add_test(tc, add_sets_flags);
	tcase_add_test(tc, store_to_data_page);
	tcase_add_test(tc, divide_by_zero_is_de_at_the_div);
	tcase_add_test(tc, ud2_is_ud);
	tcase_add_test(tc, load_from_unmapped_page_is_pf);
	tcase_add_test(tc, store_to_unmapped_page_is_pf_write);
	tcase_add_test(tc, push_pop_on_snippet_stack);
	tcase_add_test(tc, call_pushes_the_return_address);
	tcase_add_test(tc, call_and_ret);
	if (LOOP_GUARD_WORKS)
		tcase_add_test(tc, infinite_loop_is_stopped_and_the_next_run_works);
	tcase_add_test(tc, df_does_not_leak_into_the_harness);
	tcase_add_test(tc, privileged_is_skipped);
	tcase_add_test(tc, second_open_fails_and_reopen_works);
	tcase_add_test(tc, open_fails_when_an_address_is_taken);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return run_suite(native_suite());
}
