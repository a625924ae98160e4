/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The rules a span record must meet, in one place for the module
 * (kmod/kspan.h) and user space (userspace/lib/kspan_record.c), so that
 * both accept exactly the same records. Not installed.
 *
 * Include after <linux/kspan.h>, with memcpy() and the E* error numbers of
 * the including side declared. Every length is checked against the end of
 * the record before it is used; sums are done in 64 bits.
 */
#ifndef _KSPAN_CHECK_H
#define _KSPAN_CHECK_H

#define KSPAN_CHECK_BODY \
	(sizeof(struct kspan_record_header) + sizeof(struct kspan_span))

/* Whether the @n bytes at @p (a multiple of 8: an id) are all zero. */
static inline int kspan_check_all_zero(const __u8 *p, unsigned int n)
{
	__u64 any = 0, word;
	unsigned int i;

	for (i = 0; i < n; i += sizeof(word)) {
		memcpy(&word, p + i, sizeof(word));
		any |= word;
	}
	return !any;
}

/*
 * One attribute at @p, before @end: fills @attr and returns the bytes it
 * takes, or -EINVAL.
 */
static inline long kspan_check_attr(const __u8 *p, const __u8 *end,
				    struct kspan_attr *attr)
{
	if (end - p < (long)sizeof(*attr))
		return -EINVAL;
	memcpy(attr, p, sizeof(*attr));
	p += sizeof(*attr);
	if (!attr->key_len ||
	    (__u64)attr->key_len + attr->value_len > (__u64)(end - p))
		return -EINVAL;

	switch (attr->type) {
	case KSPAN_ATTR_STRING:
	case KSPAN_ATTR_BYTES:
		break;
	case KSPAN_ATTR_INT64:
	case KSPAN_ATTR_DOUBLE:
		if (attr->value_len != 8)
			return -EINVAL;
		break;
	case KSPAN_ATTR_BOOL:
		if (attr->value_len != 1 || p[attr->key_len] > 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return sizeof(*attr) + attr->key_len + attr->value_len;
}

/*
 * A span record of @len bytes at @rec: 0, -EMSGSIZE when longer than
 * @record_max, or -EINVAL. The identity is not checked: the module
 * overwrites it.
 */
static inline int kspan_check_span(const void *rec, __u32 len, __u32 record_max)
{
	const struct kspan_record_header *hdr = rec;
	const struct kspan_span *span = (const void *)(hdr + 1);
	const __u8 *p, *end = (const __u8 *)rec + len;
	struct kspan_attr attr;
	unsigned int i;
	long used;

	if (len > record_max)
		return -EMSGSIZE;
	if (len < KSPAN_CHECK_BODY + 1)
		return -EINVAL;
	if (hdr->len != len || hdr->type != KSPAN_RECORD_SPAN || hdr->flags)
		return -EINVAL;
	if (!span->name_len ||
	    KSPAN_CHECK_BODY + span->name_len + (__u64)span->attrs_len != len)
		return -EINVAL;
	if (span->kind > KSPAN_KIND_CONSUMER ||
	    span->status > KSPAN_STATUS_ERROR ||
	    (span->flags & ~KSPAN_SPAN_FLAGS_ALL) || span->__reserved0)
		return -EINVAL;
	if (kspan_check_all_zero(span->trace_id, sizeof(span->trace_id)) ||
	    kspan_check_all_zero(span->span_id, sizeof(span->span_id)))
		return -EINVAL;
	if (span->end_time_ns < span->start_time_ns)
		return -EINVAL;

	p = (const __u8 *)rec + KSPAN_CHECK_BODY + span->name_len;
	for (i = 0; i < span->attr_count; i++) {
		used = kspan_check_attr(p, end, &attr);
		if (used < 0)
			return used;
		p += used;
	}
	/* The attributes fill attrs_len exactly: no trailing bytes. */
	return p == end ? 0 : -EINVAL;
}

#endif /* _KSPAN_CHECK_H */
