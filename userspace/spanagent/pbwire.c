// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "pbwire.h"
#include "utf8.h"

static unsigned int varint_len(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *d, uint64_t v)
{
	while (v >= 0x80) {
		*d++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*d++ = (uint8_t)v;
	return d;
}

void pb_varint(struct sbuf *b, uint64_t v)
{
	uint8_t *d = sbuf_reserve(b, 10);

	if (d)
		b->len = (size_t)(put_varint(d, v) - b->p);
}

void pb_uint(struct sbuf *b, unsigned int field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, v);
}

void pb_int(struct sbuf *b, unsigned int field, int64_t v)
{
	/* int64: two's complement, ten bytes when negative. */
	pb_uint(b, field, (uint64_t)v);
}

void pb_bool(struct sbuf *b, unsigned int field, int v)
{
	pb_uint(b, field, v ? 1 : 0);
}

static void put_le(struct sbuf *b, uint64_t v, unsigned int n)
{
	uint8_t *d = sbuf_reserve(b, n);
	unsigned int i;

	if (!d)
		return;
	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	b->len += n;
}

void pb_fixed64(struct sbuf *b, unsigned int field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(b, field, PB_FIXED64);
	put_le(b, v, 8);
}

void pb_fixed32(struct sbuf *b, unsigned int field, uint32_t v)
{
	if (!v)
		return;
	pb_tag(b, field, PB_FIXED32);
	put_le(b, v, 4);
}

void pb_double(struct sbuf *b, unsigned int field, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	/* A oneof member: written even when it is 0.0. */
	pb_tag(b, field, PB_FIXED64);
	put_le(b, bits, 8);
}

void pb_bytes(struct sbuf *b, unsigned int field, const void *p, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	sbuf_add(b, p, n);
}

void pb_string(struct sbuf *b, unsigned int field, const void *p, size_t n,
	       unsigned int *repairs)
{
	unsigned int r;
	size_t len;

	if (utf8_valid_prefix(p, n) == n) {
		pb_bytes(b, field, p, n);
		return;
	}
	len = utf8_repaired_len(p, n, &r);
	pb_tag(b, field, PB_LEN);
	pb_varint(b, len);
	*repairs += utf8_append_repaired(b, p, n);
}

size_t pb_begin(struct sbuf *b, unsigned int field)
{
	pb_tag(b, field, PB_LEN);
	sbuf_addc(b, 0);
	return b->len;
}

void pb_end(struct sbuf *b, size_t mark)
{
	size_t len = b->len - mark;
	unsigned int extra;

	if (sbuf_failed(b))
		return;
	if (len < 0x80) {
		b->p[mark - 1] = (uint8_t)len;
		return;
	}
	extra = varint_len(len) - 1;
	if (!sbuf_reserve(b, extra))
		return;
	memmove(b->p + mark + extra, b->p + mark, len);
	put_varint(b->p + mark - 1, len);
	b->len += extra;
}
