/*
 * json - a recursive-descent skipper.  Depth is bounded so a hostile
 * config.json cannot exhaust the stack.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

#define JSON_DEPTH 64

const char *
json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *
json_skip_str(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *
json_skip_depth(const char *p, const char *end, int depth)
{
	char close;

	p = json_ws(p, end);
	if (p >= end || depth > JSON_DEPTH)
		return NULL;
	if (*p == '"')
		return json_skip_str(p, end);
	if (*p != '{' && *p != '[') {
		const char *s = p;

		while (p < end && *p != ',' && *p != '}' && *p != ']' &&
		    *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
			p++;
		return p > s ? p : NULL;
	}
	close = *p == '{' ? '}' : ']';
	p = json_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = json_ws(p, end);
			if (p >= end || *p != '"')
				return NULL;
			p = json_skip_str(p, end);
			if (p == NULL)
				return NULL;
			p = json_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p++;
		}
		p = json_skip_depth(p, end, depth + 1);
		if (p == NULL)
			return NULL;
		p = json_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

const char *
json_skip(const char *p, const char *end)
{
	return json_skip_depth(p, end, 0);
}

const char *
json_get(const char *obj, const char *end, const char *key,
    const char **key_at)
{
	size_t klen = strlen(key);
	const char *p = json_ws(obj, end);

	if (p >= end || *p != '{')
		return NULL;
	p = json_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *k = p, *ke = json_skip_str(p, end), *v;

		if (ke == NULL)
			return NULL;
		p = json_ws(ke, end);
		if (p >= end || *p != ':')
			return NULL;
		v = json_ws(p + 1, end);
		if ((size_t)(ke - k) == klen + 2 &&
		    memcmp(k + 1, key, klen) == 0) {
			if (key_at)
				*key_at = k;
			return v;
		}
		p = json_skip(v, end);
		if (p == NULL)
			return NULL;
		p = json_ws(p, end);
		if (p < end && *p == ',')
			p = json_ws(p + 1, end);
		else
			break;
	}
	return NULL;
}

static int
json_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Append code point u as UTF-8 if it fits. */
static size_t
json_utf8(char *dst, size_t n, size_t cap, unsigned u)
{
	char b[4];
	size_t k;

	if (u < 0x80) {
		b[0] = (char)u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (char)(0xc0 | (u >> 6));
		b[1] = (char)(0x80 | (u & 0x3f));
		k = 2;
	} else if (u < 0x10000) {
		b[0] = (char)(0xe0 | (u >> 12));
		b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		b[2] = (char)(0x80 | (u & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (u >> 18));
		b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((u >> 6) & 0x3f));
		b[3] = (char)(0x80 | (u & 0x3f));
		k = 4;
	}
	if (n + k >= cap)
		return n;
	memcpy(dst + n, b, k);
	return n + k;
}

int
json_str(const char *v, const char *end, char *dst, size_t cap)
{
	const char *p = v;
	size_t n = 0, k;
	bool full = false;

	if (cap == 0 || p >= end || *p != '"')
		return -EINVAL;
	for (p++; p < end && *p != '"'; p++) {
		char c = *p;

		if (c == '\\' && p + 1 < end) {
			unsigned u;

			c = *++p;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				if (end - p < 5 || json_hex4(p + 1, &u) < 0)
					return -EINVAL;
				p += 4;
				if (u >= 0xd800 && u < 0xdc00 && end - p > 6 &&
				    p[1] == '\\' && p[2] == 'u') {
					unsigned lo;

					if (json_hex4(p + 3, &lo) == 0 &&
					    lo >= 0xdc00 && lo < 0xe000) {
						u = 0x10000 + ((u - 0xd800) << 10) +
						    (lo - 0xdc00);
						p += 6;
					}
				}
				/* A surrogate left alone is U+FFFD, as in Go. */
				if (u >= 0xd800 && u < 0xe000)
					u = 0xfffd;
				if (full)
					continue;
				k = json_utf8(dst, n, cap, u);
				/* Truncated: nothing more goes after a cut. */
				if (k == n)
					full = true;
				n = k;
				continue;
			default:
				break;
			}
		}
		if (n + 1 < cap && !full)
			dst[n++] = c;
		else
			full = true;
	}
	dst[n] = '\0';
	return p < end ? 0 : -EINVAL;
}

bool
json_str_eq(const char *v, const char *end, const char *s)
{
	size_t n = strlen(s);

	/* Exact bytes only: the keys and values we compare have no escapes. */
	return v < end && *v == '"' && (size_t)(end - v) > n + 1 &&
	    memcmp(v + 1, s, n) == 0 && v[n + 1] == '"';
}

const char *
json_next(const char *arr, const char *end, const char **it)
{
	const char *p;

	if (*it == NULL) {
		p = json_ws(arr, end);
		if (p >= end || *p != '[')
			return NULL;
		p = json_ws(p + 1, end);
		if (p < end && *p == ']')
			return NULL;
	} else {
		p = json_skip(*it, end);
		if (p == NULL)
			return NULL;
		p = json_ws(p, end);
		if (p >= end || *p != ',')
			return NULL;
		p = json_ws(p + 1, end);
	}
	/* "[1,]" and "[1,,2]" have no element there: malformed. */
	if (p >= end || *p == ',' || *p == ']')
		return NULL;
	*it = p;
	return p;
}

int
json_int(const char *v, const char *end, long long *out)
{
	unsigned long long x = 0, lim;
	bool neg = false;
	const char *p = v;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	lim = neg ? (unsigned long long)INT64_MAX + 1 : INT64_MAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (lim - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	/* An integer ends here: "1.5" or "1e3" is not one. */
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return -EINVAL;
	*out = neg ? (long long)(0 - x) : (long long)x;
	return 0;
}

size_t
json_quote(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (cap < 3)
		return 0;
	dst[n++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		size_t need = ch == '"' || ch == '\\' ? 2 : ch < 0x20 ? 6 : 1;

		/* Room for this, the closing quote and the NUL. */
		if (n + need + 2 > cap)
			return 0;
		if (ch == '"' || ch == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(dst + n, "\\u00", 4);
			dst[n + 4] = hex[ch >> 4];
			dst[n + 5] = hex[ch & 15];
			n += 6;
		} else {
			dst[n++] = (char)ch;
		}
	}
	dst[n++] = '"';
	dst[n] = '\0';
	return n;
}
