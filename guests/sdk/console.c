// SPDX-License-Identifier: MIT
/*
 * The debug console (port 0xE9) and an integer printf. reqvisor buffers the
 * console per vCPU and writes whole lines, so lines from different vCPUs do
 * not interleave and nothing here needs a lock.
 */
#include "rv.h"

/* Where formatted characters go: the console, or a buffer. */
struct sink {
	char *buf; /* NULL: the console */
	size_t size;
	size_t len; /* characters produced, stored or not */
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		rv_outb(RV_PORT_CONSOLE, (u8)c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_n(struct sink *s, char c, int n)
{
	for (; n > 0; n--)
		emit(s, c);
}

struct spec {
	bool left, zero, alt;
	int width;
	int size; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
};

/* A formatted field: sign or prefix, zero padding, digits, with the spec's padding. */
static void emit_field(struct sink *s, const struct spec *sp, const char *prefix,
		       const char *digits, int ndigits)
{
	int plen = (int)rv_strlen(prefix), pad = sp->width - plen - ndigits;

	if (!sp->left && !sp->zero)
		emit_n(s, ' ', pad);
	for (const char *p = prefix; *p; p++)
		emit(s, *p);
	if (!sp->left && sp->zero)
		emit_n(s, '0', pad);
	for (int i = 0; i < ndigits; i++)
		emit(s, digits[i]);
	if (sp->left)
		emit_n(s, ' ', pad);
}

static void emit_number(struct sink *s, const struct spec *sp, u64 v, bool negative, unsigned base,
			bool upper)
{
	const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24], digits[24];
	int n = 0;

	do {
		tmp[n++] = xdigits[v % base];
		v /= base;
	} while (v);
	for (int i = 0; i < n; i++)
		digits[i] = tmp[n - 1 - i];
	emit_field(s, sp,
		   negative		     ? "-"
		   : (sp->alt && base == 16) ? (upper ? "0X" : "0x")
					     : "",
		   digits, n);
}

static u64 take_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->size) {
	case 2:
		return va_arg(*ap, unsigned long long);
	case 1:
		return va_arg(*ap, unsigned long);
	case -1:
		return (u16)va_arg(*ap, unsigned int);
	case -2:
		return (u8)va_arg(*ap, unsigned int);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static s64 take_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->size) {
	case 2:
		return va_arg(*ap, long long);
	case 1:
		return va_arg(*ap, long);
	case -1:
		return (short)va_arg(*ap, int);
	case -2:
		return (signed char)va_arg(*ap, int);
	default:
		return va_arg(*ap, int);
	}
}

/* Parse flags, width and size after a '%'; returns the conversion character's position. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ 0 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	}
	for (; *f >= '0' && *f <= '9'; f++)
		sp->width = sp->width * 10 + (*f - '0');
	for (;; f++) {
		if (*f == 'l' || *f == 'z')
			sp->size += sp->size >= 0 ? 1 : 0;
		else if (*f == 'h')
			sp->size -= 1;
		else
			break;
	}
	if (sp->size > 2)
		sp->size = 2;
	return f;
}

static void convert(struct sink *s, const struct spec *sp, char conv, va_list *ap)
{
	s64 sv;
	const char *str;
	char c;

	switch (conv) {
	case 'd':
	case 'i':
		sv = take_signed(sp, ap);
		emit_number(s, sp, sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10, false);
		break;
	case 'u':
		emit_number(s, sp, take_unsigned(sp, ap), false, 10, false);
		break;
	case 'x':
	case 'X':
		emit_number(s, sp, take_unsigned(sp, ap), false, 16, conv == 'X');
		break;
	case 'p': {
		struct spec p = *sp;

		p.alt = true;
		emit_number(s, &p, (u64)(uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	}
	case 's':
		str = va_arg(*ap, const char *);
		if (!str)
			str = "(null)";
		emit_field(s, sp, "", str, (int)rv_strlen(str));
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		emit_field(s, sp, "", &c, 1);
		break;
	case '%':
		emit(s, '%');
		break;
	default: /* unknown: print it as written, so the mistake shows */
		emit(s, '%');
		emit(s, conv);
		break;
	}
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	va_list args;
	struct spec sp;

	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			emit(s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &args);
		if (!*f)
			break;
		convert(s, &sp, *f, &args);
	}
	va_end(args);
	return (int)s->len;
}

void rv_putc(char c)
{
	rv_outb(RV_PORT_CONSOLE, (u8)c);
}

void rv_puts(const char *s)
{
	for (; *s; s++)
		rv_putc(*s);
}

int rv_vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	return format(&s, fmt, ap);
}

int rv_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rv_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int rv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };
	int n = format(&s, fmt, ap);

	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return n;
}

int rv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
