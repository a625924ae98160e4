/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pbwire: a protobuf writer for what OTLP needs: varint, fixed32/64 and
 * length-delimited fields, and nested messages. The pb_put_*() writers
 * store at a pointer into room the caller reserved in its sbuf beforehand
 * (one bound per span rather than a check per field) and return the end.
 *
 * A nested message's length is written ahead of its body, so either its
 * size is known first (the small leaf messages: pb_len_size()), or it gets
 * a slot of a guessed width, patched when the message ends; only a length
 * that turns out to need another width moves the body. Lengths are always
 * minimal varints: the encoding stays canonical.
 */
#ifndef SPANAGENT_PBWIRE_H
#define SPANAGENT_PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sbuf.h"
#include "utf8.h"

enum pb_wire_type {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

/* Most bytes a tag (field < 2048) and a length or varint value take. */
#define PB_FIELD_MAX	(2 + 10)

static inline unsigned int pb_varint_len(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *pb_put_varint(uint8_t *d, uint64_t v)
{
	while (v >= 0x80) {
		*d++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*d++ = (uint8_t)v;
	return d;
}

static inline uint8_t *pb_put_tag(uint8_t *d, unsigned int field,
				  enum pb_wire_type t)
{
	return pb_put_varint(d, (uint64_t)field << 3 | t);
}

static inline unsigned int pb_tag_len(unsigned int field)
{
	return pb_varint_len((uint64_t)field << 3);
}

/* Bytes of a length-delimited field with @len bytes of payload. */
static inline size_t pb_len_size(unsigned int field, size_t len)
{
	return pb_tag_len(field) + pb_varint_len(len) + len;
}

static inline uint8_t *pb_put_le(uint8_t *d, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	return d + n;
}

/* Scalars; proto3 leaves out a zero value. */
static inline uint8_t *pb_put_uint(uint8_t *d, unsigned int field, uint64_t v)
{
	if (!v)
		return d;
	return pb_put_varint(pb_put_tag(d, field, PB_VARINT), v);
}

static inline uint8_t *pb_put_fixed64(uint8_t *d, unsigned int field, uint64_t v)
{
	if (!v)
		return d;
	return pb_put_le(pb_put_tag(d, field, PB_FIXED64), v, 8);
}

static inline uint8_t *pb_put_fixed32(uint8_t *d, unsigned int field, uint32_t v)
{
	if (!v)
		return d;
	return pb_put_le(pb_put_tag(d, field, PB_FIXED32), v, 4);
}

/* Bytes as they are (written even when empty: a oneof member). */
static inline uint8_t *pb_put_bytes(uint8_t *d, unsigned int field,
				    const void *p, size_t n)
{
	d = pb_put_varint(pb_put_tag(d, field, PB_LEN), n);
	memcpy(d, p, n);
	return d + n;
}

/*
 * A string checked for UTF-8 before it is written, so that its encoded
 * length is known: @len bytes once repaired (see utf8.h) with @repairs
 * replacements; none: @p as it is.
 */
struct pb_str {
	const uint8_t *p;
	size_t n;
	size_t len;
	unsigned int repairs;
};

/* The length and replacements of a string that is not valid UTF-8. */
void pb_str_repair(struct pb_str *s);

static inline struct pb_str pb_str_check(const void *p, size_t n)
{
	struct pb_str s = { p, n, n, 0 };

	if (!utf8_valid(p, n))
		pb_str_repair(&s);
	return s;
}

/* A string known to be valid (ASCII literals). */
static inline struct pb_str pb_str_valid(const char *s, size_t n)
{
	return (struct pb_str){ (const uint8_t *)s, n, n, 0 };
}

/* Room a string of @n bytes may take, repaired: 3 bytes per bad byte. */
static inline size_t pb_str_bound(size_t n)
{
	return 3 * n;
}

/* Writes @s; adds its replacements to *@repairs. */
uint8_t *pb_put_str(uint8_t *d, unsigned int field, const struct pb_str *s,
		    unsigned int *repairs);

/*
 * A nested message of unknown size: pb_open() leaves @slot bytes for its
 * length and returns where the body starts; pb_close() patches the length
 * in and returns the new end. When the length needs more bytes than @slot,
 * the body moves up by as many: the caller's room must allow for it.
 */
static inline uint8_t *pb_open(uint8_t *d, unsigned int field, unsigned int slot)
{
	return pb_put_tag(d, field, PB_LEN) + slot;
}

uint8_t *pb_close(uint8_t *body, uint8_t *end, unsigned int slot);

/* The same for a large message that spans many reservations. */
size_t pb_begin(struct sbuf *b, unsigned int field, unsigned int slot);
void pb_end(struct sbuf *b, size_t body, unsigned int slot);

#endif /* SPANAGENT_PBWIRE_H */
