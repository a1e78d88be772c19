// SPDX-License-Identifier: MIT
/*
 * A generic quicksort shaped like the C library's qsort(): element size and
 * comparison function are parameters, so elements move byte by byte and
 * every comparison is an indirect call. Median-of-three pivots, insertion
 * sort below a threshold, and recursion on the smaller side only (the stack
 * stays shallow). It sorts signed 32-bit keys with duplicates and a
 * descending run, then 8-byte records by three fields.
 */
#include "prog.h"

#define INSERTION_MAX 8

typedef int (*cmp_fn)(const void *a, const void *b);

static PROG_RESULT struct qsort_result result;

static int cmp_key(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	result.compares++;
	return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct qsort_rec *x = a, *y = b;

	result.compares++;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void swap(unsigned char *a, unsigned char *b, size_t size)
{
	result.swaps++;
	while (size--) {
		unsigned char t = *a;

		*a++ = *b;
		*b++ = t;
	}
}

static void insertion_sort(unsigned char *base, size_t n, size_t size, cmp_fn cmp)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp(base + (j - 1) * size, base + j * size) > 0; j--)
			swap(base + (j - 1) * size, base + j * size, size);
}

/*
 * Hoare partition of n > INSERTION_MAX elements; returns where the pivot
 * ends up. The median of three goes to the front as the pivot, and the
 * largest of the three stays last, so neither scan can run off the ends.
 */
static size_t partition(unsigned char *base, size_t n, size_t size, cmp_fn cmp)
{
	unsigned char *lo = base, *mid = base + n / 2 * size, *hi = base + (n - 1) * size;
	size_t i = 1, j = n - 1;

	if (cmp(mid, lo) < 0)
		swap(mid, lo, size);
	if (cmp(hi, mid) < 0) {
		swap(hi, mid, size);
		if (cmp(mid, lo) < 0)
			swap(mid, lo, size);
	}
	swap(lo, mid, size);
	for (;;) {
		while (cmp(base + i * size, lo) < 0)
			i++;
		while (cmp(lo, base + j * size) < 0)
			j--;
		if (i >= j)
			break;
		swap(base + i * size, base + j * size, size);
		i++;
		j--;
	}
	swap(lo, base + j * size, size);
	return j;
}

/* noinline: one real function with real indirect calls, whatever gcc's mood. */
static __attribute__((noinline)) void sort(void *vbase, size_t n, size_t size, cmp_fn cmp)
{
	unsigned char *base = vbase;

	while (n > INSERTION_MAX) {
		size_t p = partition(base, n, size, cmp);
		size_t right = n - p - 1;

		if (p < right) {
			sort(base, p, size, cmp);
			base += (p + 1) * size;
			n = right;
		} else {
			sort(base + (p + 1) * size, right, size, cmp);
			n = p;
		}
	}
	insertion_sort(base, n, size, cmp);
}

/* Keys of every magnitude and sign, some repeated, with a descending run. */
static void make_keys(uint64_t *state)
{
	for (uint32_t i = 0; i < QSORT_KEYS; i++) {
		uint32_t r = prog_rand(state);
		uint32_t v = r >> (prog_rand(state) % 32);

		if (i % 7 == 3)
			v = (uint32_t)result.keys[i / 2];
		else if (i >= 200 && i < 240)
			v = 5000u - i * 37u;
		else if (r & 1)
			v = 0u - v;
		result.keys[i] = (int32_t)v;
		result.key_sum += v;
	}
}

static void make_recs(uint64_t *state)
{
	for (uint32_t i = 0; i < QSORT_RECS; i++) {
		struct qsort_rec *r = &result.recs[i];

		r->key = prog_rand(state) % 50;
		r->id = (uint16_t)((i * 37) % QSORT_RECS);
		r->tag = (uint16_t)(prog_rand(state) % 5);
		result.rec_sum += (uint64_t)r->key * (r->id + 1u);
	}
}

uint64_t qsort_main(void)
{
	uint64_t state = 0x5eed, digest = 0;

	result.key_sum = result.rec_sum = 0;
	result.compares = result.swaps = 0;
	make_keys(&state);
	make_recs(&state);
	sort(result.keys, QSORT_KEYS, sizeof(result.keys[0]), cmp_key);
	sort(result.recs, QSORT_RECS, sizeof(result.recs[0]), cmp_rec);

	for (uint32_t i = 0; i < QSORT_KEYS; i++)
		digest = prog_fold(digest, (uint32_t)result.keys[i]);
	for (uint32_t i = 0; i < QSORT_RECS; i++)
		digest = prog_fold(digest, result.recs[i].id);
	return prog_fold(digest, result.compares << 32 | result.swaps);
}

PROG_EXPORT(qsort, result);
