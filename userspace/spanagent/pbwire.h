/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pbwire: a streaming protobuf writer into an sbuf. Only what OTLP needs:
 * varint, fixed32/64, length-delimited fields and nested messages, whose
 * length is patched in when they end: one byte is reserved for it, and
 * the body moves up only when it turns out to be 128 bytes or longer.
 */
#ifndef SPANAGENT_PBWIRE_H
#define SPANAGENT_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

enum pb_wire_type {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

void pb_varint(struct sbuf *b, uint64_t v);

static inline void pb_tag(struct sbuf *b, unsigned int field, enum pb_wire_type t)
{
	pb_varint(b, (uint64_t)field << 3 | t);
}

/* Scalars; proto3 leaves out a zero value. */
void pb_uint(struct sbuf *b, unsigned int field, uint64_t v);
void pb_int(struct sbuf *b, unsigned int field, int64_t v);
void pb_bool(struct sbuf *b, unsigned int field, int v);
void pb_fixed64(struct sbuf *b, unsigned int field, uint64_t v);
void pb_fixed32(struct sbuf *b, unsigned int field, uint32_t v);
void pb_double(struct sbuf *b, unsigned int field, double v);
/* Bytes as they are (written even when empty: a oneof member). */
void pb_bytes(struct sbuf *b, unsigned int field, const void *p, size_t n);
/*
 * A string field, repaired to valid UTF-8 (see utf8.h); adds the number of
 * replacements to *repairs.
 */
void pb_string(struct sbuf *b, unsigned int field, const void *p, size_t n,
	       unsigned int *repairs);

/* A nested message: pb_begin() returns a mark for its pb_end(). */
size_t pb_begin(struct sbuf *b, unsigned int field);
void pb_end(struct sbuf *b, size_t mark);

#endif /* SPANAGENT_PBWIRE_H */
