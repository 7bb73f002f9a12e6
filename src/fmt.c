/*
 * fmt - see fmt.h.  An unknown conversion is copied out as is, so a
 * mistake shows in the log instead of crashing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "fmt.h"

struct out {
	char *d;
	size_t cap, n;
};

NS_IDLE static void
put(struct out *o, char c)
{
	if (o->n + 1 < o->cap)
		o->d[o->n] = c;
	o->n++;
}

NS_IDLE static void
pad(struct out *o, char c, int k)
{
	while (k-- > 0)
		put(o, c);
}

NS_IDLE static void
put_field(struct out *o, const char *s, size_t len, int width, bool left,
    char padc, const char *prefix)
{
	size_t plen = strlen(prefix), i;
	int fill = width - (int)(len + plen);

	if (!left && padc == ' ')
		pad(o, ' ', fill);
	for (i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (!left && padc == '0')
		pad(o, '0', fill);
	for (i = 0; i < len; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', fill);
}

NS_IDLE int
fmt_vsnprintf(char *dst, size_t cap, const char *f, va_list ap)
{
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";
	struct out o = { dst, cap, 0 };
	char num[24];

	for (; *f; f++) {
		int width = 0, prec = -1, lng = 0;
		bool left = false, neg = false;
		char padc = ' ', conv;
		const char *start = f;
		uintmax_t v = 0;
		unsigned base = 10;
		size_t k;

		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		for (f++; *f == '-' || *f == '0' || *f == ' ' || *f == '+' ||
		    *f == '#'; f++) {
			if (*f == '-')
				left = true;
			else if (*f == '0')
				padc = '0';
		}
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			f++;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			width = width * 10 + (*f - '0');
		if (*f == '.') {
			prec = 0;
			if (*++f == '*') {
				prec = va_arg(ap, int);
				f++;
			}
			for (; *f >= '0' && *f <= '9'; f++)
				prec = prec * 10 + (*f - '0');
		}
		for (;; f++) {
			if (*f == 'h')
				lng = lng > -2 ? lng - 1 : lng;
			else if (*f == 'l')
				lng++;
			else if (*f == 'j')
				lng = 2;
			else if (*f == 'z' || *f == 't')
				/* As wide as long: 32 bits on armhf. */
				lng = sizeof(size_t) == sizeof(long) ? 1 : 2;
			else
				break;
		}
		conv = *f;
		if (left)
			padc = ' ';
		switch (conv) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (s == NULL)
				s = "(null)";
			k = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			put_field(&o, s, k, width, left, ' ', "");
			continue;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			put_field(&o, num, 1, width, left, ' ', "");
			continue;
		case '%':
			put(&o, '%');
			continue;
		case 'd':
		case 'i': {
			intmax_t x = lng >= 2 ? va_arg(ap, long long) :
			    lng == 1 ? va_arg(ap, long) : va_arg(ap, int);

			if (lng == -1)
				x = (short)x;
			else if (lng == -2)
				x = (signed char)x;
			neg = x < 0;
			v = neg ? (uintmax_t)0 - (uintmax_t)x : (uintmax_t)x;
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			v = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng == 1 ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned);
			if (lng == -1)
				v = (unsigned short)v;
			else if (lng == -2)
				v = (unsigned char)v;
			base = conv == 'o' ? 8 : conv == 'u' ? 10 : 16;
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			base = 16;
			break;
		default:
			/* Not ours: show it verbatim. */
			for (; start <= f && *start; start++)
				put(&o, *start);
			if (*f == '\0')
				f--;
			continue;
		}
		k = sizeof(num);
		do {
			num[--k] = (conv == 'X' ? upper : lower)[v % base];
			v /= base;
		} while (v);
		while (prec > (int)(sizeof(num) - k) && k > 0)
			num[--k] = '0';
		put_field(&o, num + k, sizeof(num) - k, width, left,
		    prec >= 0 ? ' ' : padc, neg ? "-" : conv == 'p' ? "0x" :
		    "");
	}
	if (cap > 0)
		dst[o.n < cap ? o.n : cap - 1] = '\0';
	return (int)o.n;
}

#ifdef NS_OWN_PRINTF
NS_IDLE int
vsnprintf(char *dst, size_t cap, const char *fmt, va_list ap)
{
	return fmt_vsnprintf(dst, cap, fmt, ap);
}

NS_IDLE int
snprintf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return n;
}

NS_IDLE int
sprintf(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(dst, SIZE_MAX, fmt, ap);
	va_end(ap);
	return n;
}
#endif
