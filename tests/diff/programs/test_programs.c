// SPDX-License-Identifier: MIT
/*
 * The test programs do what they claim, before any reference is compared
 * with another: each one runs on the native reference (the host CPU, in
 * user mode, at the snippet addresses) and must
 * - reach the terminator with RIP, RSP and the callee-saved registers as the
 *   ABI leaves them after its entry returns;
 * - leave in RAX and at the start of the data page exactly what the same
 *   source, compiled into this test natively, returns and writes;
 * - produce results that are right on their own terms: the published CRC
 *   check values, sorted output, consistent hash tables, and lines the C
 *   library's snprintf formats the same way.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../helpers.h"
#include "native_ref.h"
#include "prog.h"
#include "programs.h"

static const struct prog_native *const natives[] = {
	&prog_crc32,
	&prog_qsort,
	&prog_hash,
	&prog_printf,
};
#define NR_NATIVES (sizeof(natives) / sizeof(natives[0]))

static struct snippet s;
static struct snippet_result r;

static const struct prog_native *native_of(const char *name)
{
	for (size_t i = 0; i < NR_NATIVES; i++)
		if (!strcmp(natives[i]->name, name))
			return natives[i];
	return NULL;
}

/* Runs the program @name on the native reference into s and r. */
static void run_native(const char *name)
{
	char err[256] = "";
	struct native_ref *nat = native_ref_open(err, sizeof(err));
	size_t i;

	ck_assert_msg(nat, "native reference: %s", err);
	for (i = 0; i < programs_count(); i++) {
		programs_get(i, &s);
		if (!strcmp(s.name, name))
			break;
	}
	ck_assert_msg(i < programs_count(), "no program %s in the table", name);
	native_ref_run(nat, &s, &r);
	native_ref_close(nat);
	ck_assert_msg(r.end == SNIPPET_END_DONE, "%s ended with %d (vector %d at %#llx) %s", name,
		      r.end, r.vector, (unsigned long long)r.out.rip, r.message);
}

START_TEST(table_has_every_program)
{
	ck_assert_uint_eq(programs_count(), NR_NATIVES);
	for (size_t i = 0; i < programs_count(); i++) {
		programs_get(i, &s);
		ck_assert_ptr_nonnull(native_of(s.name));
		ck_assert_uint_gt(s.len, 0);
		ck_assert_uint_le(s.len, SNIPPET_CODE_MAX);
		ck_assert_int_eq(s.privileged, 0);
		ck_assert_uint_eq(s.in.gpr[RSP] % 16, 0);
	}
	programs_get(programs_count(), &s);
	ck_assert_ptr_null(s.name);
}
END_TEST

START_TEST(program_matches_its_native_build)
{
	static const int callee_saved[] = { RBX, RBP, R12, R13, R14, R15 };
	const struct prog_native *n;
	uint64_t digest;

	programs_get((size_t)_i, &s);
	n = native_of(s.name);
	ck_assert_ptr_nonnull(n);
	run_native(s.name);
	ck_assert_uint_eq(r.out.rip, SNIPPET_CODE + s.len);
	ck_assert_uint_eq(r.out.gpr[RSP], s.in.gpr[RSP]);
	for (size_t k = 0; k < sizeof(callee_saved) / sizeof(callee_saved[0]); k++)
		ck_assert_uint_eq(r.out.gpr[callee_saved[k]], 0);

	digest = n->main();
	ck_assert_msg(r.out.gpr[RAX] == digest, "%s: rax %#llx, native build %#llx", n->name,
		      (unsigned long long)r.out.gpr[RAX], (unsigned long long)digest);
	for (size_t k = 0; k < n->size; k++) {
		const uint8_t *want = n->result;

		ck_assert_msg(r.data[k] == want[k], "%s: data[%#zx] %02x, native build %02x",
			      n->name, k, r.data[k], want[k]);
	}
	/* A second native run sees the state the first left: it must not matter. */
	ck_assert_uint_eq(n->main(), digest);
}
END_TEST

/* The byte table, the slow way, for comparison. */
static uint32_t crc32_entry(uint32_t i)
{
	for (int k = 0; k < 8; k++)
		i = (i >> 1) ^ (i & 1 ? 0xedb88320u : 0);
	return i;
}

START_TEST(crc32_known_answers)
{
	struct crc32_result c;

	run_native("crc32");
	memcpy(&c, r.data, sizeof(c));
	ck_assert_uint_eq(c.check, CRC32_CHECK);
	ck_assert_uint_eq(c.check_c, CRC32C_CHECK);
	for (uint32_t i = 0; i < 256; i++)
		ck_assert_uint_eq(c.table[i], crc32_entry(i));
	ck_assert_uint_eq(c.nibble, c.bitwise);
	ck_assert_uint_eq(c.prefix[CRC32_PREFIXES - 1], c.bitwise);
	ck_assert_uint_eq(crc32_prefix_len(CRC32_PREFIXES - 1), CRC32_BUF_LEN);
	ck_assert_uint_eq(c.unaligned, c.unaligned_ref);
	for (uint32_t k = 1; k < CRC32_PREFIXES; k++)
		ck_assert_uint_ne(c.prefix[k], c.prefix[k - 1]);
}
END_TEST

static int rec_order(const struct qsort_rec *a, const struct qsort_rec *b)
{
	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

START_TEST(qsort_output_is_sorted)
{
	static struct qsort_result q;
	bool seen[QSORT_RECS] = { false };
	uint64_t sum = 0;

	run_native("qsort");
	memcpy(&q, r.data, sizeof(q));
	for (size_t i = 0; i < QSORT_KEYS; i++) {
		if (i)
			ck_assert_int_le(q.keys[i - 1], q.keys[i]);
		sum += (uint32_t)q.keys[i];
	}
	ck_assert_uint_eq(sum, q.key_sum);
	ck_assert_int_lt(q.keys[0], 0);
	ck_assert_int_gt(q.keys[QSORT_KEYS - 1], 0);

	sum = 0;
	for (size_t i = 0; i < QSORT_RECS; i++) {
		if (i)
			ck_assert_int_lt(rec_order(&q.recs[i - 1], &q.recs[i]), 0);
		ck_assert_uint_lt(q.recs[i].id, QSORT_RECS);
		ck_assert(!seen[q.recs[i].id]);
		seen[q.recs[i].id] = true;
		sum += (uint64_t)q.recs[i].key * (q.recs[i].id + 1u);
	}
	ck_assert_uint_eq(sum, q.rec_sum);
	ck_assert_uint_gt(q.compares, 0);
	ck_assert_uint_gt(q.swaps, 0);
}
END_TEST

static void check_int_table(const struct hash_result *h)
{
	uint32_t live = 0;

	for (size_t i = 0; i < HASH_SLOTS; i++) {
		uint32_t key = h->slots[i].key;

		if (!key) {
			ck_assert_uint_eq(h->slots[i].value, 0);
			continue;
		}
		live++;
		ck_assert_uint_le(key, HASH_KEY_RANGE);
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_ne(h->slots[j].key, key);
	}
	ck_assert_uint_eq(live, h->live);
	ck_assert_uint_eq(h->inserted - h->removed, h->live);
	ck_assert_uint_eq(h->inserted + h->updated, HASH_INSERTS);
	ck_assert_uint_eq(h->removed + h->absent, HASH_REMOVES);
	ck_assert_uint_eq(h->hits + h->misses, HASH_LOOKUPS);
	ck_assert_uint_gt(h->hits, 0);
	ck_assert_uint_gt(h->misses, 0);
	ck_assert_uint_gt(h->removed, 0);
	ck_assert_uint_gt(h->updated, 0);
}

static void check_word(const struct hash_word *w)
{
	ck_assert_uint_ge(w->len, 1);
	ck_assert_uint_le(w->len, HASH_WORD_MAX);
	ck_assert_uint_eq(w->text[w->len], '\0');
	for (uint32_t k = 0; k < w->len; k++)
		ck_assert(w->text[k] >= 'a' && w->text[k] <= 'c');
	ck_assert_uint_gt(w->count, 0);
}

static void check_word_table(const struct hash_result *h)
{
	uint32_t total = 0, top = 0, chained = 0;

	ck_assert_uint_le(h->nr_words, HASH_MAX_WORDS);
	for (uint32_t i = 0; i < h->nr_words; i++) {
		check_word(&h->words[i]);
		for (uint32_t j = 0; j < i; j++)
			ck_assert(strcmp(h->words[i].text, h->words[j].text));
		total += h->words[i].count;
		top = h->words[i].count > top ? h->words[i].count : top;
	}
	ck_assert_uint_eq(total, HASH_TEXT_WORDS);
	ck_assert_uint_eq(top, h->top_count);
	for (uint32_t b = 0; b < HASH_BUCKETS; b++)
		for (int16_t i = h->buckets[b]; i >= 0; i = h->words[i].next) {
			ck_assert_int_lt(i, (int)h->nr_words);
			ck_assert_uint_le(++chained, h->nr_words);
		}
	ck_assert_uint_eq(chained, h->nr_words);
}

START_TEST(hash_tables_are_consistent)
{
	static struct hash_result h;

	run_native("hash");
	memcpy(&h, r.data, sizeof(h));
	check_int_table(&h);
	check_word_table(&h);
}
END_TEST

/* What the C library makes of a case, passing the value as printf.c does. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int libc_case(char *buf, size_t size, const struct printf_case *c, uint64_t v)
{
	switch (c->arg) {
	case PRINTF_INT:
		return snprintf(buf, size, c->fmt, (int)(uint32_t)v);
	case PRINTF_UINT:
		return snprintf(buf, size, c->fmt, (unsigned)v);
	case PRINTF_LONG:
		return snprintf(buf, size, c->fmt, (long)v);
	case PRINTF_ULONG:
		return snprintf(buf, size, c->fmt, (unsigned long)v);
	case PRINTF_LLONG:
		return snprintf(buf, size, c->fmt, (long long)v);
	case PRINTF_CHAR:
		return snprintf(buf, size, c->fmt, ' ' + (int)(v % 95));
	case PRINTF_STR:
		return snprintf(buf, size, c->fmt, printf_words[v % PRINTF_NR_WORDS]);
	}
	return -1;
}
#pragma GCC diagnostic pop

START_TEST(printf_matches_libc)
{
	static struct printf_result p;
	char want[128];
	uint32_t start = 0;

	run_native("printf");
	memcpy(&p, r.data, sizeof(p));
	ck_assert_uint_eq(p.lines, PRINTF_LINES);
	for (uint32_t k = 0; k < p.lines; k++) {
		const struct printf_case *c;
		int n;

		ck_assert_uint_lt(p.which[k], printf_nr_cases);
		if (k < printf_nr_cases) {
			ck_assert_uint_eq(p.which[k], k);
			ck_assert_uint_eq(p.value[k], printf_cases[k].value);
		}
		c = &printf_cases[p.which[k]];
		n = libc_case(want, sizeof(want), c, p.value[k]);
		ck_assert_int_ge(n, 0);
		ck_assert_uint_eq(p.end[k], start + (uint32_t)n);
		ck_assert_msg(!memcmp(p.text + start, want, (size_t)n) && p.text[p.end[k]] == '\n',
			      "line %u (\"%s\"): got \"%.*s\", libc \"%s\"", k, c->fmt, n,
			      p.text + start, want);
		start = p.end[k] + 1u;
	}
	ck_assert_uint_eq(p.len, start);
	ck_assert(!memcmp(p.text, "-9223372036854775808\n", 21)); /* INT64_MIN by %ld */
	ck_assert_uint_eq(p.truncated, 20);
	ck_assert_str_eq(p.small, "-922337");
}
END_TEST

static Suite *programs_suite(void)
{
	Suite *su = suite_create("diff_programs");
	TCase *tc = tcase_create("native");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table_has_every_program);
	tcase_add_loop_test(tc, program_matches_its_native_build, 0, (int)NR_NATIVES);
	tcase_add_test(tc, crc32_known_answers);
	tcase_add_test(tc, qsort_output_is_sorted);
	tcase_add_test(tc, hash_tables_are_consistent);
	tcase_add_test(tc, printf_matches_libc);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return run_suite(programs_suite());
}
