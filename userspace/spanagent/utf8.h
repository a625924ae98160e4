/* SPDX-License-Identifier: GPL-2.0 */
/*
 * utf8: the module does not check that names, keys and string values are
 * UTF-8, and an OTLP receiver refuses a whole request over one invalid
 * protobuf string. Strings are repaired as they are encoded: each maximal
 * invalid subpart becomes U+FFFD (the Unicode "substitution of maximal
 * subparts" practice, as WHATWG's decoder does).
 */
#ifndef SPANAGENT_UTF8_H
#define SPANAGENT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sbuf.h"

/*
 * Length of the valid sequence at @s (1..4, @n > 0), or 0 when it is not
 * valid; then *bad is the length of its maximal invalid subpart (>= 1).
 */
size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad);

/* U+FFFD in UTF-8. */
extern const uint8_t utf8_replacement[3];

/* Bytes at the start of @s that are valid UTF-8 (== @n when all are). */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

/* Bytes at the start of @s that are ASCII, checked eight at a time. */
static inline size_t utf8_ascii_prefix(const uint8_t *s, size_t n)
{
	const uint64_t high = 0x8080808080808080ull;
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, sizeof(w));
		if (w & high)
			break;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* Whether @s is valid UTF-8; inline for short ASCII names and keys. */
static inline bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = utf8_ascii_prefix(s, n);

	return i == n || utf8_valid_prefix(s + i, n - i) == n - i;
}

/* Length of @s once repaired, and how many replacements that takes. */
size_t utf8_repaired_len(const uint8_t *s, size_t n, unsigned int *repairs);

/*
 * Writes @s repaired at @d, which has room for utf8_repaired_len() bytes;
 * returns the end of what it wrote.
 */
uint8_t *utf8_put_repaired(uint8_t *d, const uint8_t *s, size_t n);

/* Appends @s to @b, repaired; returns the number of replacements. */
unsigned int utf8_append_repaired(struct sbuf *b, const uint8_t *s, size_t n);

#endif /* SPANAGENT_UTF8_H */
