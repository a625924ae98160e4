/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sbuf: a growable byte buffer that is reused, batch after batch, so that
 * encoding allocates only while a buffer grows to its working size.
 * Errors are sticky: after a failed allocation every append is a no-op and
 * sbuf_failed() says so once, at the end.
 */
#ifndef SPANAGENT_SBUF_H
#define SPANAGENT_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool failed;
};

bool sbuf_grow(struct sbuf *b, size_t more);
void sbuf_free(struct sbuf *b);

static inline void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->failed = false;
}

static inline bool sbuf_failed(const struct sbuf *b)
{
	return b->failed;
}

/* Room for @more bytes at p + len, or NULL (the buffer is then failed). */
static inline uint8_t *sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->cap - b->len < more && !sbuf_grow(b, more))
		return NULL;
	return b->p + b->len;
}

static inline void sbuf_add(struct sbuf *b, const void *src, size_t n)
{
	uint8_t *d = sbuf_reserve(b, n);

	if (d) {
		memcpy(d, src, n);
		b->len += n;
	}
}

static inline void sbuf_addc(struct sbuf *b, char c)
{
	uint8_t *d = sbuf_reserve(b, 1);

	if (d) {
		*d = (uint8_t)c;
		b->len++;
	}
}

static inline void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

#endif /* SPANAGENT_SBUF_H */
