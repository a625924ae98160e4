// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "sbuf.h"

bool sbuf_grow(struct sbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->failed)
		return false;
	if (more > SIZE_MAX / 2 - b->len)
		goto fail;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){ 0 };
}
