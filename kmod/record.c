// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: validation of span records handed in by producers.
 *
 * Runs on the module's own copy of a record, never on user memory, so what
 * is checked is what gets written. Every length is checked against the
 * record's end before it is used; sums are done in 64 bits.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "kspan.h"

static bool kspan_all_zero(const u8 *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

static int kspan_attrs_validate(const u8 *p, u32 len, u16 count)
{
	const u8 *end = p + len;
	struct kspan_attr attr;
	u16 i;

	for (i = 0; i < count; i++) {
		if (end - p < (long)sizeof(attr))
			return -EINVAL;
		memcpy(&attr, p, sizeof(attr));
		p += sizeof(attr);
		if (!attr.key_len)
			return -EINVAL;
		if ((u64)attr.key_len + attr.value_len > (u64)(end - p))
			return -EINVAL;

		switch (attr.type) {
		case KSPAN_ATTR_STRING:
		case KSPAN_ATTR_BYTES:
			break;
		case KSPAN_ATTR_INT64:
		case KSPAN_ATTR_DOUBLE:
			if (attr.value_len != 8)
				return -EINVAL;
			break;
		case KSPAN_ATTR_BOOL:
			if (attr.value_len != 1 || p[attr.key_len] > 1)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		p += attr.key_len + attr.value_len;
	}
	/* The attributes fill attrs_len exactly: no trailing bytes. */
	return p == end ? 0 : -EINVAL;
}

/**
 * kspan_record_validate - check a span record from a producer
 * @rec: the record, in kernel memory
 * @len: bytes at @rec
 * @record_max: the module's record size bound
 *
 * Returns 0, -EMSGSIZE for a record longer than @record_max, or -EINVAL.
 * The identity fields are not checked: the module overwrites them.
 */
int kspan_record_validate(const void *rec, u32 len, u32 record_max)
{
	const struct kspan_record_header *hdr = rec;
	const struct kspan_span *span = rec + sizeof(*hdr);
	u64 body;

	if (len > record_max)
		return -EMSGSIZE;
	if (len < KSPAN_SPAN_MIN_LEN)
		return -EINVAL;
	if (hdr->len != len || hdr->type != KSPAN_RECORD_SPAN || hdr->flags)
		return -EINVAL;

	body = sizeof(*hdr) + sizeof(*span);
	if (!span->name_len ||
	    body + span->name_len + (u64)span->attrs_len != len)
		return -EINVAL;
	if (span->kind > KSPAN_KIND_CONSUMER ||
	    span->status > KSPAN_STATUS_ERROR ||
	    (span->flags & ~KSPAN_SPAN_FLAGS_ALL) || span->__reserved0)
		return -EINVAL;
	if (kspan_all_zero(span->trace_id, sizeof(span->trace_id)) ||
	    kspan_all_zero(span->span_id, sizeof(span->span_id)))
		return -EINVAL;
	if (span->end_time_ns < span->start_time_ns)
		return -EINVAL;

	return kspan_attrs_validate((const u8 *)rec + body + span->name_len,
				    span->attrs_len, span->attr_count);
}
