// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "utf8.h"

const uint8_t utf8_replacement[3] = { 0xef, 0xbf, 0xbd };

size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (c == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;		/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;		/* past U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

size_t utf8_valid_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0, len, bad;

	while (i < n) {
		/* ASCII runs are the common case. */
		i += utf8_ascii_prefix(s + i, n - i);
		if (i == n)
			break;
		len = utf8_seq(s + i, n - i, &bad);
		if (!len)
			break;
		i += len;
	}
	return i;
}

size_t utf8_repaired_len(const uint8_t *s, size_t n, unsigned int *repairs)
{
	size_t i = 0, out = 0, len, bad;

	*repairs = 0;
	while (i < n) {
		len = utf8_seq(s + i, n - i, &bad);
		if (len) {
			i += len;
			out += len;
		} else {
			i += bad;
			out += sizeof(utf8_replacement);
			(*repairs)++;
		}
	}
	return out;
}

uint8_t *utf8_put_repaired(uint8_t *d, const uint8_t *s, size_t n)
{
	size_t i = 0, ok, bad;

	while (i < n) {
		ok = utf8_valid_prefix(s + i, n - i);
		memcpy(d, s + i, ok);
		d += ok;
		i += ok;
		if (i == n)
			break;
		utf8_seq(s + i, n - i, &bad);
		memcpy(d, utf8_replacement, sizeof(utf8_replacement));
		d += sizeof(utf8_replacement);
		i += bad;
	}
	return d;
}

unsigned int utf8_append_repaired(struct sbuf *b, const uint8_t *s, size_t n)
{
	unsigned int repairs;
	size_t len = utf8_repaired_len(s, n, &repairs);
	uint8_t *d = sbuf_reserve(b, len);

	if (d)
		b->len = (size_t)(utf8_put_repaired(d, s, n) - b->p);
	return repairs;
}
