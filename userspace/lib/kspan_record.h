/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0 */
/*
 * kspan_record: build span records and parse them back, in the one format
 * of <linux/kspan.h>.
 */
#ifndef KSPAN_RECORD_H
#define KSPAN_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kspan.h>

/* Builds one span record into a caller's buffer; errors are sticky. */
struct kspan_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int error;		/* 0 or -EMSGSIZE / -EINVAL */
};

/* Starts a span record named @name (1..65535 bytes) in @buf. */
int kspan_build_begin(struct kspan_builder *b, void *buf, size_t cap,
		      const char *name, size_t name_len);
/* The span body, to set ids, times, kind, status and flags. */
struct kspan_span *kspan_build_span(struct kspan_builder *b);
int kspan_build_str(struct kspan_builder *b, const char *key, const char *val);
int kspan_build_bytes(struct kspan_builder *b, const char *key,
		      const void *val, size_t len);
int kspan_build_int(struct kspan_builder *b, const char *key, int64_t val);
int kspan_build_double(struct kspan_builder *b, const char *key, double val);
int kspan_build_bool(struct kspan_builder *b, const char *key, bool val);
/* Any attribute, the key's length known: @type is enum kspan_attr_type. */
int kspan_build_attr(struct kspan_builder *b, uint8_t type, const char *key,
		     size_t key_len, const void *val, size_t val_len);
/* Seals the record; returns its length (hdr.len) or the sticky -errno. */
long kspan_build_end(struct kspan_builder *b);

/* A parsed attribute; pointers into the record. */
struct kspan_attr_view {
	uint8_t type;
	const char *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
};

/* A parsed span record; pointers into the record. */
struct kspan_span_view {
	const struct kspan_record_header *hdr;
	const struct kspan_span *span;
	const char *name;
	size_t name_len;
	const uint8_t *attrs;
	size_t attrs_len;
	unsigned int attr_count;
};

/*
 * Checks a span record of @avail bytes by the module's rules and fills @v.
 * Returns 0 or -EINVAL / -EMSGSIZE.
 */
int kspan_span_parse(const void *rec, size_t avail, struct kspan_span_view *v);
/* Attribute @i (0-based) of a parsed span; -ENOENT past the last. */
int kspan_span_attr(const struct kspan_span_view *v, unsigned int i,
		    struct kspan_attr_view *a);
/*
 * The attribute at offset *@pos of a parsed span's attributes (start at 0),
 * moving *@pos past it: a walk over all of them in one pass. Returns 0, or
 * -ENOENT past the last.
 */
int kspan_span_attr_next(const struct kspan_span_view *v, size_t *pos,
			 struct kspan_attr_view *a);
int64_t kspan_attr_int(const struct kspan_attr_view *a);
double kspan_attr_double(const struct kspan_attr_view *a);

/* Bytes a record of @len takes in a ring or a batch. */
static inline size_t kspan_record_total(size_t len)
{
	return (len + KSPAN_RECORD_ALIGN - 1) & ~(size_t)(KSPAN_RECORD_ALIGN - 1);
}

#endif /* KSPAN_RECORD_H */
