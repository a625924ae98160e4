// SPDX-License-Identifier: GPL-2.0
#include "pbwire.h"

void pb_str_repair(struct pb_str *s)
{
	s->len = utf8_repaired_len(s->p, s->n, &s->repairs);
}

uint8_t *pb_put_str(uint8_t *d, unsigned int field, const struct pb_str *s,
		    unsigned int *repairs)
{
	d = pb_put_varint(pb_put_tag(d, field, PB_LEN), s->len);
	if (!s->repairs) {
		memcpy(d, s->p, s->n);
		return d + s->n;
	}
	*repairs += s->repairs;
	return utf8_put_repaired(d, s->p, s->n);
}

uint8_t *pb_close(uint8_t *body, uint8_t *end, unsigned int slot)
{
	size_t len = (size_t)(end - body);
	unsigned int n = pb_varint_len(len);
	ptrdiff_t shift = (ptrdiff_t)n - (ptrdiff_t)slot;

	if (shift) {
		memmove(body + shift, body, len);
		body += shift;
	}
	pb_put_varint(body - n, len);
	return body + len;
}

size_t pb_begin(struct sbuf *b, unsigned int field, unsigned int slot)
{
	uint8_t *d = sbuf_reserve(b, PB_FIELD_MAX);

	if (d)
		b->len = (size_t)(pb_open(d, field, slot) - b->p);
	return b->len;
}

void pb_end(struct sbuf *b, size_t body, unsigned int slot)
{
	/* A length takes at most 10 bytes: room to move the body up. */
	if (sbuf_failed(b) || !sbuf_reserve(b, 10))
		return;
	b->len = (size_t)(pb_close(b->p + body, b->p + b->len, slot) - b->p);
}
