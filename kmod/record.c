// SPDX-License-Identifier: GPL-2.0
/*
 * kspan: validation of span records handed in by producers.
 *
 * Runs on the module's own copy of a record, never on user memory, so what
 * is checked is what gets written. The rules live in uapi/kspan_check.h,
 * shared with user space.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include "kspan.h"
#include <uapi/kspan_check.h>

/**
 * kspan_record_validate - check a span record from a producer
 * @rec: the record, in kernel memory
 * @len: bytes at @rec
 * @record_max: the module's record size bound
 *
 * Returns 0, -EMSGSIZE for a record longer than @record_max, or -EINVAL.
 */
int kspan_record_validate(const void *rec, u32 len, u32 record_max)
{
	return kspan_check_span(rec, len, record_max);
}
