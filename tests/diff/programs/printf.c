// SPDX-License-Identifier: MIT
/*
 * A small snprintf for integers: %d %i %u %x %X with the l and ll length
 * modifiers, %c, %s and %%, a field width, and the '-' and '0' flags. It
 * formats a table of fixed cases (INT64_MIN and the other edges) and then
 * pseudo-random values of every magnitude through randomly chosen cases,
 * one line each, into the data page. The test replays every line through
 * the C library's snprintf.
 */
#include <stdarg.h>

#include "prog.h"

#define INT64_MIN_BITS 0x8000000000000000ull
#define LINE_ROOM      64 /* more than any case's longest line */

static PROG_RESULT struct printf_result result;

/*
 * Writable, and so in the data page rather than the code page, which it
 * would overflow; its format pointers are absolute addresses in the code
 * page, so the data page starts with link-time addresses a runner must load
 * as they are.
 */
struct printf_case printf_cases[] = {
	{ "%ld", PRINTF_LONG, INT64_MIN_BITS },
	{ "%lld", PRINTF_LLONG, INT64_MIN_BITS },
	{ "%lx", PRINTF_ULONG, INT64_MIN_BITS },
	{ "%022ld", PRINTF_LONG, INT64_MIN_BITS },
	{ "%-22ld|", PRINTF_LONG, INT64_MIN_BITS },
	{ "%ld", PRINTF_LONG, INT64_MIN_BITS - 1 },
	{ "%lu", PRINTF_ULONG, ~0ull },
	{ "%lu", PRINTF_ULONG, 10000000000000000000ull },
	{ "%d", PRINTF_INT, 0x80000000u },
	{ "%d", PRINTF_INT, 0xffffffffu },
	{ "%u", PRINTF_UINT, 0xffffffffu },
	{ "%x", PRINTF_UINT, 0 },
	{ "%d", PRINTF_INT, 0 },
	{ "[%5d]", PRINTF_INT, (uint64_t)-42 },
	{ "[%-5d]", PRINTF_INT, (uint64_t)-42 },
	{ "[%05d]", PRINTF_INT, (uint64_t)-42 },
	{ "[%-05d]", PRINTF_INT, 42 },
	{ "[%3d]", PRINTF_INT, 123456 },
	{ "0x%016lx", PRINTF_ULONG, 0xdeadbeef },
	{ "%08X", PRINTF_UINT, 0xabcdef },
	{ "%lX", PRINTF_ULONG, 0xfedcba9876543210ull },
	{ "%10u|", PRINTF_UINT, 4000000000u },
	{ "%5u%%", PRINTF_UINT, 99 },
	{ "%i", PRINTF_INT, 7 },
	{ "<%c>", PRINTF_CHAR, 'A' - ' ' },
	{ "[%6s]", PRINTF_STR, 1 },
	{ "[%-6s]", PRINTF_STR, 2 },
};

const size_t printf_nr_cases = sizeof(printf_cases) / sizeof(printf_cases[0]);

_Static_assert(sizeof(printf_cases) / sizeof(printf_cases[0]) <= PRINTF_LINES,
	       "every fixed case gets a line");

const char *const printf_words[PRINTF_NR_WORDS] = { "", "reqvisor", "kvm", "x86-64" };

/* Where the output goes: like snprintf, count everything, keep what fits. */
struct sink {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	int left, zero;
	unsigned width;
	unsigned longs; /* how many 'l's */
};

/* Out of line: inlined at each of its dozen callers it outgrows the code page. */
static __attribute__((noinline)) void put(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void pad(struct sink *s, char c, unsigned n)
{
	while (n--)
		put(s, c);
}

/* @n digits, least significant first, after @sign (0 for none) and padding. */
static void emit_number(struct sink *s, const struct spec *sp, char sign, const char *digits,
			unsigned n)
{
	unsigned len = n + (sign != 0);
	unsigned fill = sp->width > len ? sp->width - len : 0;

	if (!sp->left && !sp->zero)
		pad(s, ' ', fill);
	if (sign)
		put(s, sign);
	if (!sp->left && sp->zero)
		pad(s, '0', fill);
	while (n)
		put(s, digits[--n]);
	if (sp->left)
		pad(s, ' ', fill);
}

static void emit_text(struct sink *s, const struct spec *sp, const char *text, unsigned n)
{
	unsigned fill = sp->width > n ? sp->width - n : 0;

	if (!sp->left)
		pad(s, ' ', fill);
	for (unsigned i = 0; i < n; i++)
		put(s, text[i]);
	if (sp->left)
		pad(s, ' ', fill);
}

static unsigned decimal(char *d, uint64_t v)
{
	unsigned n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return n;
}

static unsigned hex(char *d, uint64_t v, int upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned n = 0;

	do {
		d[n++] = set[v & 15];
		v >>= 4;
	} while (v);
	return n;
}

static unsigned text_len(const char *t)
{
	unsigned n = 0;

	while (t[n])
		n++;
	return n;
}

static int64_t signed_arg(const struct spec *sp, va_list *ap)
{
	if (sp->longs > 1)
		return va_arg(*ap, long long);
	if (sp->longs)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static uint64_t unsigned_arg(const struct spec *sp, va_list *ap)
{
	if (sp->longs > 1)
		return va_arg(*ap, unsigned long long);
	if (sp->longs)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned);
}

/* One conversion, from just after its '%'; returns where the format goes on. */
static const char *conversion(struct sink *s, const char *f, va_list *ap)
{
	struct spec sp = { 0 };
	char d[24], c;
	const char *t;
	int64_t v;

	for (;; f++) {
		if (*f == '-')
			sp.left = 1;
		else if (*f == '0')
			sp.zero = 1;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp.width = sp.width * 10 + (unsigned)(*f++ - '0');
	while (*f == 'l') {
		sp.longs++;
		f++;
	}
	switch (*f) {
	case 'd':
	case 'i':
		v = signed_arg(&sp, ap);
		/* 0 - u, not -v: -INT64_MIN overflows. */
		emit_number(s, &sp, v < 0 ? '-' : 0, d,
			    decimal(d, v < 0 ? 0 - (uint64_t)v : (uint64_t)v));
		break;
	case 'u':
		emit_number(s, &sp, 0, d, decimal(d, unsigned_arg(&sp, ap)));
		break;
	case 'x':
	case 'X':
		emit_number(s, &sp, 0, d, hex(d, unsigned_arg(&sp, ap), *f == 'X'));
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		emit_text(s, &sp, &c, 1);
		break;
	case 's':
		t = va_arg(*ap, const char *);
		emit_text(s, &sp, t, text_len(t));
		break;
	case '\0':
		return f; /* a lone '%' at the end: nothing to convert */
	default:
		put(s, *f); /* "%%", and what this formatter does not know */
		break;
	}
	return f + 1;
}

/* snprintf for what this file needs: the length it wanted, NUL-terminated if @size. */
static size_t format(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { buf, size, 0 };
	va_list ap;

	va_start(ap, fmt);
	while (*fmt) {
		if (*fmt == '%')
			fmt = conversion(&s, fmt + 1, &ap);
		else
			put(&s, *fmt++);
	}
	va_end(ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return s.len;
}

/* Each kind of argument passes the value the way a caller of printf would. */
static size_t format_case(char *buf, size_t size, const struct printf_case *c, uint64_t v)
{
	switch (c->arg) {
	case PRINTF_INT:
		return format(buf, size, c->fmt, (int)(uint32_t)v);
	case PRINTF_UINT:
		return format(buf, size, c->fmt, (unsigned)v);
	case PRINTF_LONG:
		return format(buf, size, c->fmt, (long)v);
	case PRINTF_ULONG:
		return format(buf, size, c->fmt, (unsigned long)v);
	case PRINTF_LLONG:
		return format(buf, size, c->fmt, (long long)v);
	case PRINTF_CHAR:
		return format(buf, size, c->fmt, ' ' + (int)(v % 95));
	case PRINTF_STR:
		return format(buf, size, c->fmt, printf_words[v % PRINTF_NR_WORDS]);
	}
	return 0;
}

/*
 * Any number of digits, either sign. One draw per statement: the order in
 * which operands are evaluated is unspecified, and gcc and clang differ.
 */
static uint64_t random_value(uint64_t *state)
{
	uint64_t v = prog_rand64(state);

	v >>= prog_rand(state) % 64;

	return prog_rand(state) & 1 ? 0 - v : v;
}

static void reset(void)
{
	unsigned char *p = (unsigned char *)&result;

	for (size_t i = 0; i < sizeof(result); i++)
		p[i] = 0;
}

uint64_t printf_main(void)
{
	uint64_t state = 0x9f1, digest = 0;
	uint32_t pos = 0, k;

	reset();
	for (k = 0; k < PRINTF_LINES && PRINTF_TEXT - pos >= LINE_ROOM; k++) {
		uint32_t which = k < printf_nr_cases ? k : prog_rand(&state) % printf_nr_cases;
		uint64_t v = k < printf_nr_cases ? printf_cases[which].value : random_value(&state);

		pos += (uint32_t)format_case(result.text + pos, PRINTF_TEXT - pos,
					     &printf_cases[which], v);
		result.end[k] = (uint16_t)pos;
		result.text[pos++] = '\n';
		result.which[k] = (uint8_t)which;
		result.value[k] = v;
		digest = prog_fold(prog_fold(digest, v), pos);
	}
	result.lines = k;
	result.len = pos;
	/* INT64_MIN into 8 bytes: 7 kept, 20 reported. */
	result.truncated =
		(uint32_t)format(result.small, sizeof(result.small), "%ld", (long)INT64_MIN_BITS);
	return prog_fold(digest, result.truncated);
}

PROG_EXPORT(printf, result);
