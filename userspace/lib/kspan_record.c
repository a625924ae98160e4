// SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0
/*
 * kspan_record: build and parse span records. The parser applies the
 * module's own rules (uapi/kspan_check.h), so what it accepts the module
 * does.
 */
#include <errno.h>
#include <string.h>

#include "kspan_record.h"
#include "kspan_check.h"

#define HDR_LEN sizeof(struct kspan_record_header)
#define BODY_LEN (HDR_LEN + sizeof(struct kspan_span))

static struct kspan_record_header *hdr_of(struct kspan_builder *b)
{
	return (struct kspan_record_header *)b->buf;
}

int kspan_build_begin(struct kspan_builder *b, void *buf, size_t cap,
		      const char *name, size_t name_len)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->error = 0;
	if (!name_len || name_len > UINT16_MAX)
		return b->error = -EINVAL;
	if (cap < BODY_LEN + name_len)
		return b->error = -EMSGSIZE;
	memset(buf, 0, BODY_LEN);
	hdr_of(b)->type = KSPAN_RECORD_SPAN;
	memcpy(b->buf + BODY_LEN, name, name_len);
	kspan_build_span(b)->name_len = (uint16_t)name_len;
	b->len = BODY_LEN + name_len;
	return 0;
}

struct kspan_span *kspan_build_span(struct kspan_builder *b)
{
	return (struct kspan_span *)(b->buf + HDR_LEN);
}

static int add_attr(struct kspan_builder *b, uint8_t type, const char *key,
		    const void *val, size_t val_len)
{
	return kspan_build_attr(b, type, key, strlen(key), val, val_len);
}

int kspan_build_attr(struct kspan_builder *b, uint8_t type, const char *key,
		     size_t key_len, const void *val, size_t val_len)
{
	struct kspan_span *span;
	struct kspan_attr attr;

	if (b->error)
		return b->error;
	if (!key_len || key_len > UINT8_MAX || val_len > UINT16_MAX)
		return b->error = -EINVAL;
	span = kspan_build_span(b);
	if (span->attr_count == UINT16_MAX)
		return b->error = -EINVAL;
	if (b->cap - b->len < sizeof(attr) + key_len + val_len)
		return b->error = -EMSGSIZE;

	attr.type = type;
	attr.key_len = (uint8_t)key_len;
	attr.value_len = (uint16_t)val_len;
	memcpy(b->buf + b->len, &attr, sizeof(attr));
	memcpy(b->buf + b->len + sizeof(attr), key, key_len);
	if (val_len)
		memcpy(b->buf + b->len + sizeof(attr) + key_len, val, val_len);
	b->len += sizeof(attr) + key_len + val_len;
	span->attr_count++;
	return 0;
}

int kspan_build_str(struct kspan_builder *b, const char *key, const char *val)
{
	return add_attr(b, KSPAN_ATTR_STRING, key, val, strlen(val));
}

int kspan_build_bytes(struct kspan_builder *b, const char *key,
		      const void *val, size_t len)
{
	return add_attr(b, KSPAN_ATTR_BYTES, key, val, len);
}

int kspan_build_int(struct kspan_builder *b, const char *key, int64_t val)
{
	return add_attr(b, KSPAN_ATTR_INT64, key, &val, sizeof(val));
}

int kspan_build_double(struct kspan_builder *b, const char *key, double val)
{
	return add_attr(b, KSPAN_ATTR_DOUBLE, key, &val, sizeof(val));
}

int kspan_build_bool(struct kspan_builder *b, const char *key, bool val)
{
	uint8_t v = val;

	return add_attr(b, KSPAN_ATTR_BOOL, key, &v, 1);
}

long kspan_build_end(struct kspan_builder *b)
{
	struct kspan_span *span;

	if (b->error)
		return b->error;
	if (b->len > UINT32_MAX)
		return b->error = -EMSGSIZE;
	span = kspan_build_span(b);
	span->attrs_len = (uint32_t)(b->len - BODY_LEN - span->name_len);
	hdr_of(b)->len = (uint32_t)b->len;
	return (long)b->len;
}

int kspan_span_parse(const void *rec, size_t avail, struct kspan_span_view *v)
{
	const struct kspan_record_header *hdr = rec;
	const struct kspan_span *span;
	int ret;

	if (avail < sizeof(*hdr))
		return -EINVAL;
	if (hdr->len > avail)
		return -EMSGSIZE;
	ret = kspan_check_span(rec, hdr->len, UINT32_MAX);
	if (ret)
		return ret;

	span = (const struct kspan_span *)(hdr + 1);
	v->hdr = hdr;
	v->span = span;
	v->name = (const char *)rec + BODY_LEN;
	v->name_len = span->name_len;
	v->attrs = (const uint8_t *)rec + BODY_LEN + span->name_len;
	v->attrs_len = span->attrs_len;
	v->attr_count = span->attr_count;
	return 0;
}

int kspan_span_attr_next(const struct kspan_span_view *v, size_t *pos,
			 struct kspan_attr_view *a)
{
	const uint8_t *p = v->attrs + *pos;
	struct kspan_attr attr;
	long used;

	if (*pos >= v->attrs_len)
		return -ENOENT;
	used = kspan_check_attr(p, v->attrs + v->attrs_len, &attr);
	if (used < 0)
		return (int)used;
	a->type = attr.type;
	a->key = (const char *)p + sizeof(attr);
	a->key_len = attr.key_len;
	a->val = p + sizeof(attr) + attr.key_len;
	a->val_len = attr.value_len;
	*pos += (size_t)used;
	return 0;
}

int kspan_span_attr(const struct kspan_span_view *v, unsigned int i,
		    struct kspan_attr_view *a)
{
	size_t pos = 0;
	unsigned int n;
	int ret;

	if (i >= v->attr_count)
		return -ENOENT;
	for (n = 0;; n++) {
		ret = kspan_span_attr_next(v, &pos, a);
		if (ret || n == i)
			return ret;
	}
}

int64_t kspan_attr_int(const struct kspan_attr_view *a)
{
	int64_t v;

	memcpy(&v, a->val, sizeof(v));
	return v;
}

double kspan_attr_double(const struct kspan_attr_view *a)
{
	double v;

	memcpy(&v, a->val, sizeof(v));
	return v;
}
