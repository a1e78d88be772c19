// SPDX-License-Identifier: MIT
/*
 * The differential suite: every corpus case runs on reqvisor's software CPU
 * and on each reference that can run it (the host CPU in user mode for
 * unprivileged cases; real KVM where /dev/kvm is usable), and everything
 * architecturally defined must match: how the run ended, the vector, error
 * code and CR2 of an exception, RIP, all GPRs, the defined flags, and the
 * data page.
 *
 * The software CPU runs every case twice: modelling the host CPU's vendor
 * for the native comparison, and Intel for the KVM one, because this
 * machine's KVM emulates all CPL 0 code in software and its emulator follows
 * Intel where vendors differ (CMPXCHG writes the destination back on
 * failure).
 *
 * Known differences that are not the software CPU's to match:
 * - native page faults come from user mode, so their error code has U (4);
 * - KVM's emulator runs TZCNT/LZCNT as BSF/BSR, and commits the first part
 *   of a page-split store that faults on its second page (the host CPU
 *   writes nothing, as the architecture requires): such cases are not
 *   compared with KVM;
 * - KVM ends a snippet it cannot emulate as SKIPPED.
 */
#include <stdio.h>
#include <string.h>

#include "../helpers.h"
#include "corpus.h"
#include "cpu_ref.h"
#include "kvm_ref.h"
#include "native_ref.h"
#include "programs.h"

#define RV_PF_USER_BIT 4ull

static const char *const gpr_names[NR_GPRS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

static struct snippet s;
static struct snippet_result mine, ref;

/* The first field that differs, or NULL. */
static const char *first_difference(const struct snippet *sn, const struct snippet_result *a,
				    const struct snippet_result *b, uint64_t ec_ignore, char *buf,
				    size_t len)
{
	uint64_t fm = SNIPPET_FLAGS_DEFINED & ~sn->undefined_flags;

	if (a->end != b->end)
		return snprintf(buf, len, "end %d vs %d", a->end, b->end), buf;
	if (a->end == SNIPPET_END_EXCEPTION) {
		if (a->vector != b->vector)
			return snprintf(buf, len, "vector %d vs %d", a->vector, b->vector), buf;
		if ((a->error_code & ~ec_ignore) != (b->error_code & ~ec_ignore))
			return snprintf(buf, len, "error code %#llx vs %#llx",
					(unsigned long long)a->error_code,
					(unsigned long long)b->error_code),
			       buf;
		if (a->vector == 14 && a->cr2 != b->cr2)
			return snprintf(buf, len, "cr2 %#llx vs %#llx", (unsigned long long)a->cr2,
					(unsigned long long)b->cr2),
			       buf;
	}
	if (a->out.rip != b->out.rip)
		return snprintf(buf, len, "rip %#llx vs %#llx", (unsigned long long)a->out.rip,
				(unsigned long long)b->out.rip),
		       buf;
	for (int r = 0; r < NR_GPRS; r++)
		if (a->out.gpr[r] != b->out.gpr[r])
			return snprintf(buf, len, "%s %#llx vs %#llx", gpr_names[r],
					(unsigned long long)a->out.gpr[r],
					(unsigned long long)b->out.gpr[r]),
			       buf;
	if ((a->out.rflags ^ b->out.rflags) & fm)
		return snprintf(buf, len, "rflags %#llx vs %#llx (compared bits %#llx)",
				(unsigned long long)a->out.rflags,
				(unsigned long long)b->out.rflags, (unsigned long long)fm),
		       buf;
	for (int k = 0; k < SNIPPET_DATA_SIZE; k++)
		if (a->data[k] != b->data[k])
			return snprintf(buf, len, "data[%#x] %02x vs %02x", k, a->data[k],
					b->data[k]),
			       buf;
	return NULL;
}

static void print_regs(const char *who, const struct snippet_result *r)
{
	fprintf(stderr, "  %-8s end %d vector %d ec %#llx rip %#llx rflags %#llx %s\n", who, r->end,
		r->vector, (unsigned long long)r->error_code, (unsigned long long)r->out.rip,
		(unsigned long long)r->out.rflags, r->message);
	for (int k = 0; k < NR_GPRS; k++)
		fprintf(stderr, "%s%s=%#llx", k % 4 ? " " : "           ", gpr_names[k],
			(unsigned long long)r->out.gpr[k]);
	fprintf(stderr, "\n");
}

static void report(const char *ref_name, const char *diff)
{
	fprintf(stderr, "MISMATCH %s vs %s: %s\n  bytes:", s.name, ref_name, diff);
	for (size_t k = 0; k < s.len; k++)
		fprintf(stderr, " %02x", s.code[k]);
	fprintf(stderr, "\n");
	print_regs("reqvisor", &mine);
	print_regs(ref_name, &ref);
}

/* The corpus's page-split stores that fault on the second page. */
static bool split_store_fault(const struct snippet *sn)
{
	return !strncmp(sn->name, "exc.cross_store", 15) ||
	       !strncmp(sn->name, "exc.cross_movs", 14);
}

static bool host_is_amd(void)
{
	unsigned a, b, c, d;

	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	return b == 0x68747541; /* "Auth" */
}

static bool uses_bit_count(const struct snippet *sn)
{
	for (size_t k = 0; k + 1 < sn->len; k++)
		if (sn->code[k] == 0x0f && (sn->code[k + 1] == 0xbc || sn->code[k + 1] == 0xbd))
			for (size_t p = 0; p < k; p++)
				if (sn->code[p] == 0xf3)
					return true;
	return false;
}

struct tally {
	unsigned compared, skipped, mismatched;
};

static void compare(const char *name, uint64_t ec_ignore, struct tally *t)
{
	char buf[160];

	if (ref.end == SNIPPET_END_SKIPPED) {
		t->skipped++;
		return;
	}
	t->compared++;
	const char *d = ref.end == SNIPPET_END_ERROR
				? ref.message
				: first_difference(&s, &mine, &ref, ec_ignore, buf, sizeof(buf));

	if (d && t->mismatched++ < 40)
		report(name, d);
}

START_TEST(corpus_matches_every_reference)
{
	char err[256] = "";
	struct cpu_ref *cpu = cpu_ref_open(host_is_amd());
	struct cpu_ref *intel = cpu_ref_open(false);
	struct native_ref *nat = native_ref_open(err, sizeof(err));
	struct kvm_ref *kvm;
	struct tally tn = { 0 }, tk = { 0 };
	unsigned mine_errors = 0;

	ck_assert_ptr_nonnull(cpu);
	ck_assert_ptr_nonnull(intel);
	ck_assert_msg(nat, "native reference: %s", err);
	kvm = kvm_ref_open(err, sizeof(err));
	if (!kvm)
		fprintf(stderr, "diff: the KVM reference is skipped: %s\n", err);
	size_t n = corpus_count(), np = programs_count();

	ck_assert_uint_ge(n, 2000);
	ck_assert_uint_ge(np, 4);
	/* The generated corpus, then the gcc-built programs. */
	for (size_t c = 0; c < n + np; c++) {
		if (c < n)
			corpus_get(c, &s);
		else
			programs_get(c - n, &s);
		cpu_ref_run(cpu, &s, &mine);
		if (mine.end == SNIPPET_END_ERROR && mine_errors++ < 20)
			fprintf(stderr, "ERROR %s on reqvisor: %s\n", s.name, mine.message);
		native_ref_run(nat, &s, &ref);
		compare("native", RV_PF_USER_BIT, &tn);
		if (kvm && !uses_bit_count(&s) && !split_store_fault(&s)) {
			cpu_ref_run(intel, &s, &mine);
			kvm_ref_run(kvm, &s, &ref);
			compare("kvm", 0, &tk);
		}
	}
	fprintf(stderr,
		"diff: %zu cases and %zu programs; native: %u compared, %u skipped, %u mismatched; "
		"kvm: %u "
		"compared, %u skipped, %u mismatched\n",
		n, np, tn.compared, tn.skipped, tn.mismatched, tk.compared, tk.skipped,
		tk.mismatched);
	ck_assert_uint_eq(mine_errors, 0);
	ck_assert_uint_eq(tn.mismatched, 0);
	ck_assert_uint_eq(tk.mismatched, 0);
	ck_assert_uint_gt(tn.compared, n / 2);
	if (kvm)
		kvm_ref_close(kvm);
	native_ref_close(nat);
	cpu_ref_close(intel);
	cpu_ref_close(cpu);
}
END_TEST

static Suite *diff_suite(void)
{
	Suite *su = suite_create("diff");
	TCase *tc = tcase_create("corpus");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, corpus_matches_every_reference);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return run_suite(diff_suite());
}
