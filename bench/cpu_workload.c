// SPDX-License-Identifier: MIT
/*
 * Workload (c) of `reqvisor-bench cpu`: compiled C of the kind a guest
 * kernel runs, in miniature. A quicksort (median of three, insertion sort for
 * short ranges) of LCG-generated 64-bit keys, then an FNV-1a hash over the
 * sorted keys' bytes, @rounds times.
 *
 * Freestanding: gcc builds it at build time with no library, runtime or
 * startup files, and cpu_workload.ld places it at the snippet addresses
 * (tests/diff/snippet.h), the code in one page and all data in the data page,
 * so the same bytes run on every CPU the benchmark compares. The result is
 * returned in RAX and also left in the data page for that comparison.
 */
#include <stddef.h>
#include <stdint.h>

#define NR_KEYS	   256
#define SHORT	   12 /* ranges this short are insertion-sorted */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

uint64_t cpu_workload(uint64_t rounds);

/*
 * The entry, first in the code page: RDI holds the rounds. The CMP makes the
 * final flags a constant, as the last flag-setting instruction of the C code
 * may leave some of them architecturally undefined (an IMUL's SF and ZF);
 * then on to the end of the code, where each runner appends its terminator.
 */
__asm__(".section .text.entry, \"ax\", @progbits\n"
	".globl _start\n"
	"_start:\n"
	"	call	cpu_workload\n"
	"	cmp	%rax, %rax\n"
	"	jmp	cpu_workload_end\n"
	".previous\n");

static uint64_t keys[NR_KEYS];
static uint64_t seed = 0x853c49e6748fea9bull;
uint64_t cpu_workload_result;

/* Knuth's MMIX LCG; the xor-shift folds the better high bits into the low. */
static uint64_t lcg_next(void)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return seed ^ (seed >> 29);
}

static void swap(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

static void insertion_sort(uint64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t k = a[i];
		size_t j = i;

		while (j && a[j - 1] > k) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = k;
	}
}

static uint64_t median3(uint64_t x, uint64_t y, uint64_t z)
{
	if (x > y)
		swap(&x, &y);
	if (y > z)
		y = z;
	return x > y ? x : y;
}

/*
 * Hoare's partition around the median of the first, middle and last keys:
 * returns j with a[0..j] <= pivot <= a[j+1..n-1]. As the median is not the
 * range's unique maximum, j < n - 1 and both parts are non-empty.
 */
static size_t partition(uint64_t *a, size_t n)
{
	uint64_t pivot = median3(a[0], a[n / 2], a[n - 1]);
	size_t i = 0, j = n - 1;

	for (;;) {
		while (a[i] < pivot)
			i++;
		while (a[j] > pivot)
			j--;
		if (i >= j)
			return j;
		swap(&a[i++], &a[j--]);
	}
}

/* Recurse into the shorter part and loop on the longer: O(log n) stack. */
static void quicksort(uint64_t *a, size_t n)
{
	while (n > SHORT) {
		size_t left = partition(a, n) + 1;

		if (left < n - left) {
			quicksort(a, left);
			a += left;
			n -= left;
		} else {
			quicksort(a + left, n - left);
			n = left;
		}
	}
	insertion_sort(a, n);
}

static uint64_t fnv1a(uint64_t h, const uint64_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t k = a[i];

		for (unsigned b = 0; b < 8; b++) {
			h ^= (k >> (8 * b)) & 0xff;
			h *= FNV_PRIME;
		}
	}
	return h;
}

uint64_t cpu_workload(uint64_t rounds)
{
	uint64_t h = FNV_OFFSET;

	while (rounds--) {
		for (size_t i = 0; i < NR_KEYS; i++)
			keys[i] = lcg_next();
		quicksort(keys, NR_KEYS);
		h = fnv1a(h, keys, NR_KEYS);
	}
	cpu_workload_result = h;
	return h;
}
